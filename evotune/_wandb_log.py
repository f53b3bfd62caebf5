"""What :class:`~evotune.wandb.WandbCallback` sends to Weights & Biases, built
from evotune's records: the run's config, an evaluation's config and summary,
the history as rows a ``wandb.Table`` accepts, the report's PNGs, the name of
the run directory's artifact; and the checks of the callback's arguments.

Nothing here imports ``wandb``: the callback does, and hands these plain
values over.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evotune._tracking import as_finite, evaluation_metrics
from evotune.journal import peek_meta
from evotune.settings import search_settings_json

# W&B's run modes (wandb.init's ``mode``); "dryrun" and "run" are its old aliases
MODES = ("online", "offline", "disabled", "shared")
# evaluation statuses whose run ends with a non-zero exit code (W&B shows it failed)
FAILED = ("failed", "timeout", "crashed")


def _text(name: str, value: Any, *, empty: bool = False) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or (not empty and not value.strip()):
        what = "a string" if empty else "a non-empty string"
        raise TypeError(f"WandbCallback: {name!r} must be {what} or None, got {value!r}")
    return value


def check_arguments(**values: Any) -> dict[str, Any]:
    """The callback's arguments, checked; a bad one is an error naming it.

    Examples
    --------
    >>> check_arguments(project="p", tags=("a",))["tags"]
    ['a']
    >>> check_arguments(mode="online-ish")
    Traceback (most recent call last):
    ...
    ValueError: WandbCallback: 'mode' must be one of 'online', 'offline', 'disabled', \
'shared' or None, got 'online-ish'
    """
    out = dict(values)
    for name in ("project", "entity", "name", "group"):
        if name in values:
            out[name] = _text(name, values[name])
    if "notes" in values:
        out["notes"] = _text("notes", values["notes"], empty=True)
    mode = values.get("mode")
    if mode is not None and mode not in MODES:
        allowed = ", ".join(repr(m) for m in MODES)
        raise ValueError(f"WandbCallback: 'mode' must be one of {allowed} or None, got {mode!r}")
    tags = values.get("tags")
    if tags is not None:
        if isinstance(tags, (str, bytes)) or not isinstance(tags, Sequence):
            raise TypeError(
                f"WandbCallback: 'tags' must be a list of non-empty strings or None, got {tags!r}"
            )
        if not all(isinstance(t, str) and t.strip() for t in tags):
            raise TypeError(
                f"WandbCallback: 'tags' must be a list of non-empty strings or None, got {tags!r}"
            )
        out["tags"] = list(tags)
    for name in ("log_evaluations", "log_report", "log_artifact"):
        if name in values and not isinstance(values[name], bool):
            raise TypeError(f"WandbCallback: {name!r} must be True or False, got {values[name]!r}")
    for name in ("dir", "run_dir"):
        path = values.get(name)
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"WandbCallback: {name!r} must be a path or None, got {path!r}")
    where = values.get("dir")
    if where is not None and Path(where).exists() and not Path(where).is_dir():
        raise ValueError(f"WandbCallback: 'dir' {str(where)!r} exists and is not a directory")
    return out


def check_with_wandb(wandb: Any, project: str | None, tags: list[str] | None) -> None:
    """``project`` and ``tags`` checked by W&B's own rules (``wandb.Settings``
    checks them: no ``/`` in a project name, tags of 1 to 64 characters, ...),
    so that a value ``wandb.init`` would refuse is an error now, naming it."""
    for name, key, value in (("project", "project", project), ("tags", "run_tags", tags)):
        if value is None:
            continue
        try:
            wandb.Settings(**{key: tuple(value) if key == "run_tags" else value})
        except Exception as exc:
            errors = getattr(exc, "errors", None)  # pydantic's, with one message each
            reason = errors()[0]["msg"] if callable(errors) else str(exc)
            reason = reason.removeprefix("Value error, ").splitlines()[0]
            raise ValueError(f"WandbCallback: {name!r} is refused by W&B: {reason}") from None


def _plain(value: Any) -> Any:
    """``value`` as W&B's config and tables store it: JSON numbers, strings,
    booleans and None as they are, anything else by its ``repr``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return repr(value)


def run_config(evolution: Any, run_dir: Path | None) -> dict[str, Any]:
    """The W&B config of an evolution's run: every search setting in its JSON
    form (with ``meta.json``'s when there is a run directory), the budget and
    the space (``space.<name>`` is the parameter's ``repr``)."""
    config: dict[str, Any] = {}
    for name, value in search_settings_json(evolution.settings).items():
        if value is not None:
            config[name] = value
    if evolution.budget is not None:
        config["budget"] = evolution.budget
    if run_dir is not None:
        try:
            meta = peek_meta(run_dir) or {}
        except Exception:
            meta = {}
        for name, value in dict(meta.get("settings", {})).items():
            if value is not None:
                config[name] = value
    config = json.loads(json.dumps(config, default=repr))  # plain JSON, as W&B keeps it
    space = getattr(evolution, "space", None)
    if isinstance(space, Mapping):
        config["space"] = {name: repr(param) for name, param in space.items()}
    return config


def plain_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Parameters as W&B keeps them: JSON scalars, other objects by ``repr``."""
    return {str(k): _plain(v) for k, v in (params or {}).items()}


def evaluation_config(ev: Any) -> dict[str, Any]:
    """An evaluation run's config: its parameters and where it came from."""
    config = plain_params(ev.params)
    config["evotune"] = {
        "candidate_id": int(ev.candidate_id),
        "generation": int(ev.generation),
        "origin": ev.origin,
    }
    return config


def evaluation_summary(ev: Any) -> dict[str, Any]:
    """An evaluation run's summary: scores (one per fold too), times, status
    and error. A score without a finite value (a failed candidate, a fold a
    race left unrun) is left out; the status says why."""
    summary: dict[str, Any] = {"status": ev.status}
    if ev.error:
        summary["error"] = ev.error
    values = evaluation_metrics(ev)
    for key, value in values.items():
        number = as_finite(value)
        if number is not None:
            summary[key] = number
    return summary


def logbook_row(record: Mapping[str, Any], n_evaluations: int) -> dict[str, Any]:
    """A generation's logbook row as W&B history values (without the generation,
    which is the row's step)."""
    row = {str(k): _plain(v) for k, v in record.items() if k != "generation"}
    row["n_evaluations"] = int(n_evaluations)
    return row


def table_rows(frame: Any) -> tuple[list[str], list[list[Any]]]:
    """A pandas table's columns and rows in values a ``wandb.Table`` takes:
    NaN kept as a float, objects that are not JSON scalars by their ``repr``."""
    columns = [str(c) for c in frame.columns]
    rows = [[_plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return columns, rows


def report_pngs(result: Any, run_dir: Path | None, out_dir: Path) -> list[Path]:
    """Write the report's PNGs into ``out_dir``, drawn from ``run_dir``'s
    journal (every session of a resumed run) or else from the result in
    memory; none when there is neither."""
    from evotune._figures import run_from_memory
    from evotune.report import load_run, write_plots

    data = getattr(result, "figure_data", None)
    if run_dir is None and data is None:
        return []
    run = (
        load_run(run_dir)
        if run_dir is not None
        else run_from_memory(result.evaluations, result.logbook, result.direction, data)
    )
    return sorted(write_plots(run, out_dir))


_BAD_NAME = re.compile(r"[^\w.-]")


def artifact_name(run_dir: Path) -> str:
    """The W&B artifact name of a run directory: ``evotune-<folder name>``
    (letters, digits, ``-``, ``_`` and ``.`` only), so that each session of a
    resumed run is a new version of the same artifact.

    Examples
    --------
    >>> artifact_name(Path("runs/svc 2"))
    'evotune-svc_2'
    """
    return "evotune-" + (_BAD_NAME.sub("_", run_dir.resolve().name) or "run")
