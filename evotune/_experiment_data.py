"""An experiment file's ``[data]``: where the data come from, checked at load.

Relative paths are resolved once, when the file is loaded, against the
directory given (the file's own, or the data directory a run recorded), so a
resumed run reads the same file the run started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evotune._experiment_errors import as_table, fail, import_object, unknown

__all__ = ["DataSpec", "check_data"]

_DATA = {"loader", "csv", "parquet", "target", "params"}


@dataclass
class DataSpec:
    """Where the data come from; loaded only when a run starts."""

    loader: str | None = None
    csv: Path | None = None
    parquet: Path | None = None
    target: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def load(self) -> tuple[Any, Any]:
        if self.loader is not None:
            fn = import_object(self.loader, "data.loader")
            if not callable(fn):
                raise fail("data.loader", f"{self.loader!r} is not callable")
            try:
                out = fn(return_X_y=True, **self.params)
            except TypeError:
                out = fn(**self.params)
            if isinstance(out, tuple) and len(out) >= 2:
                return out[0], out[1]
            if hasattr(out, "data") and hasattr(out, "target"):
                return out.data, out.target
            raise fail("data.loader", "must return (X, y) or a Bunch with data and target")
        import pandas as pd

        path = self.csv if self.csv is not None else self.parquet
        assert path is not None
        key = "data.csv" if self.csv is not None else "data.parquet"
        if not path.exists():
            raise fail(key, f"file {str(path)!r} does not exist")
        try:
            frame = pd.read_csv(path, **self.params) if self.csv else pd.read_parquet(path)
        except Exception as exc:
            raise fail(key, f"cannot read {str(path)!r}: {exc}") from None
        if self.target not in frame.columns:
            raise fail(
                "data.target",
                f"column {self.target!r} is not in {str(path)!r}; columns: {list(frame.columns)}",
            )
        return frame.drop(columns=[self.target]), frame[self.target].to_numpy()


def check_data(data: Any, base: Path) -> DataSpec:
    table = as_table(data, "data")
    unknown(table, _DATA, "data")
    sources = [k for k in ("loader", "csv", "parquet") if k in table]
    if len(sources) != 1:
        raise fail("data", "give exactly one of 'loader', 'csv' or 'parquet'")
    params = as_table(table.get("params", {}), "data.params")
    src = sources[0]
    value = table[src]
    if not isinstance(value, str) or not value:
        raise fail(f"data.{src}", f"must be a non-empty string, got {value!r}")
    if src == "loader":
        if "target" in table:
            raise fail("data.target", "only for csv or parquet data")
        fn = import_object(value, "data.loader")
        if not callable(fn):
            raise fail("data.loader", f"{value!r} is not callable")
        return DataSpec(loader=value, params=params)
    target = table.get("target")
    if not isinstance(target, str) or not target:
        raise fail("data.target", f"missing; name the column to predict in the {src} file")
    path = Path(value)
    path = path if path.is_absolute() else base / path
    if not path.exists():
        raise fail(f"data.{src}", f"file {str(path)!r} does not exist")
    return DataSpec(**{src: path}, target=target, params=params)  # type: ignore[arg-type]
