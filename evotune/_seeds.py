"""Warm starts: turning a user's known-good parameter sets into genomes."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evotune.space import Categorical, Space


def _from_run_directory(path: Path) -> list[dict[str, Any]]:
    """The evaluated parameter sets of a run directory, best first (JSON only)."""
    journal = path / "journal.jsonl"
    meta_path = path / "meta.json"
    if not journal.exists() or not meta_path.exists():
        raise ValueError(
            f"'initial_population': {str(path)!r} is not a run directory (no journal.jsonl "
            "or meta.json)"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    sign = 1.0 if meta.get("settings", {}).get("direction", "maximize") == "maximize" else -1.0
    rows = []
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a torn last line
        if rec.get("type") == "evaluation" and rec.get("status") == "ok":
            score = rec.get("mean_score")
            if isinstance(score, (int, float)) and math.isfinite(score):
                rows.append((sign * score, rec["params"]))
    rows.sort(key=lambda r: -r[0])
    return [p for _, p in rows]


def _rows(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, (str, os.PathLike)):
        return _from_run_directory(Path(value))
    try:
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            frame = value
            cols = [c for c in frame.columns if str(c).startswith("param_")]
            if cols:
                frame = frame[cols].rename(columns=lambda c: str(c)[len("param_") :])
            out = []
            for rec in frame.to_dict("records"):
                out.append({str(k): v for k, v in rec.items() if not _missing(v)})
            return out
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, Mapping) and "params" in value:  # a cv_results_ dict
        return [dict(p) for p in value["params"]]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise TypeError(
                    f"'initial_population'[{i}] must be a dict of parameter values, got {item!r}"
                )
            out.append({str(k): v for k, v in item.items()})
        return out
    raise TypeError(
        "'initial_population' must be a list of parameter dicts, a DataFrame, a cv_results_ "
        f"dict or a run directory; got {type(value).__name__}"
    )


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(isinstance(v, float) and math.isnan(v))
    except TypeError:
        return False


def _restore(space: Space, name: str, value: Any) -> Any:
    """A value as the space holds it: JSON ``{"repr": ...}`` back to the choice
    with that repr, integral floats (from CSV or pandas) back to int."""
    p = space[name]
    if isinstance(p, Categorical):
        if isinstance(value, Mapping) and "repr" in value:
            for c in p.choices:
                if repr(c) == value["repr"]:
                    return c
        if not p.can_take(value):
            for c in p.choices:
                if repr(c) == repr(value) or str(c) == str(value):
                    return c
    if isinstance(value, np.generic):
        value = value.item()
    if type(p).__name__ == "Integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def encode_seeds(value: Any, space: Space, rng: np.random.Generator) -> np.ndarray:
    """Genomes of ``value``'s parameter sets; a missing (or inactive) parameter
    takes a random value."""
    rows = _rows(value)
    genes = []
    for i, params in enumerate(rows):
        unknown = [k for k in params if k not in space.names]
        if unknown:
            raise ValueError(
                f"'initial_population'[{i}]: unknown parameter {unknown[0]!r}; the space has "
                f"{list(space.names)}"
            )
        filler = space.sample(1, rng, "random")[0]
        row = filler.copy()
        for j, name in enumerate(space.names):
            if name in params:
                v = _restore(space, name, params[name])
                try:
                    row[j] = space[name].encode(v)
                except ValueError as exc:
                    raise ValueError(
                        f"'initial_population'[{i}]: parameter {name!r}: {exc}"
                    ) from None
        genes.append(row)
    if not genes:
        return np.empty((0, space.n_genes))
    from operators import repair

    return repair(np.stack(genes), space.schema)


def seeds_fingerprint(value: Any) -> Any:
    """A JSON-safe description of the seeds, checked on resume."""
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        return {"run_directory": str(value)}
    from evotune.journal import _json_safe

    return _json_safe(_rows(value))
