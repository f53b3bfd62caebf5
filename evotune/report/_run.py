"""Reading a run directory: its metadata and journal, as JSON only."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evotune._figures._run import Run, _as_float, _as_int
from evotune.journal import JOURNAL, META, JournalError, read_journal, read_meta

__all__ = ["ReportError", "Run", "load_run"]


class ReportError(ValueError):
    """A run directory that cannot be reported on (missing, or not a run)."""


# ---------------------------------------------------------------- reading
def load_run(path: str | os.PathLike[str]) -> Run:
    """Read a run directory: ``meta.json`` and ``journal.jsonl``, as JSON only.

    The files are read by the journal's one reader (the one a resume uses): a
    torn last journal line (the writer was killed mid-line, or is writing it
    now) is dropped with a warning; any other line that is not a record as
    evotune writes it is an error naming the file and the line.

    Parameters
    ----------
    path : path
        The run directory, as given to ``evolve(..., checkpoint=path)``.

    Returns
    -------
    Run

    Raises
    ------
    ReportError
        If the directory does not exist, or has no ``meta.json`` or no
        journal, or either file is not what evotune writes.

    Warns
    -----
    RuntimeWarning
        If the journal's last line is torn.

    Examples
    --------
    >>> run = load_run(example_run)
    >>> run.space["C"]
    {'type': 'float', 'low': 0.1, 'high': 10.0, 'log': False, 'when': {}}
    """
    root = Path(path)
    if not root.exists():
        raise ReportError(f"the run directory {str(root)!r} does not exist")
    if not root.is_dir():
        raise ReportError(f"{str(root)!r} is not a run directory (it is a file)")
    meta = _read_meta(root / META)
    journal = root / JOURNAL
    if not journal.is_file():
        raise ReportError(
            f"{str(root)!r} has no {JOURNAL}: it is not a run directory, or its run has not started"
        )
    try:
        records = read_journal(journal, keep=_REPORTED).records
    except JournalError as exc:
        raise ReportError(str(exc)) from None

    settings = meta.get("settings")
    direction = settings.get("direction", "maximize") if isinstance(settings, dict) else "maximize"
    if direction not in ("maximize", "minimize"):
        raise ReportError(
            f"{root / META}: settings.direction must be 'maximize' or 'minimize', got {direction!r}"
        )
    run = Run(path=root, meta=meta, direction=str(direction))
    _add_records(run, records)
    return run


# the record types a report shows ("ask" records add nothing to it)
_REPORTED = ("evaluation", "fold", "tell", "start", "stop")


def _add_records(run: Run, records: list[dict[str, Any]]) -> None:
    """Fill ``run``'s evaluations, folds, generations, starts and stop reason
    from the journal's records (checked by the reader: the fields used here
    without a default are there)."""
    evaluations: dict[Any, dict[str, Any]] = {}
    generations: dict[int, dict[str, Any]] = {}
    for record in records:
        kind = record["type"]
        if kind == "evaluation":
            # a resumed run may meet a genome again; the first record is the one
            # the history keeps, so the report keeps it too
            evaluations.setdefault(_hashable(record["key"]), record)
        elif kind == "fold":
            run.folds.append(record)
        elif kind == "tell":
            gen = int(record["generation"])
            book = record.get("logbook")
            row = dict(book) if isinstance(book, Mapping) else {}
            row.setdefault("generation", gen)
            generations.setdefault(gen, row)
        elif kind == "start":
            run.stopped = None  # a later session that has not stopped (yet)
            t = _as_float(record.get("time"))
            if math.isfinite(t):
                run.starts.append(t)
        elif kind == "stop":
            reason = record.get("reason")
            run.stopped = str(reason) if reason is not None else None
    run.evaluations = sorted(
        evaluations.values(),
        key=lambda ev: (_as_int(ev.get("candidate")) is None, _as_int(ev.get("candidate")) or 0),
    )
    run.generations = [generations[g] for g in sorted(generations)]
    run.starts.sort()


def _read_meta(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ReportError(
            f"{path} is missing: {str(path.parent)!r} is not a run directory written by "
            f"evotune (or its {META} was deleted)"
        )
    try:
        return read_meta(path)
    except JournalError as exc:
        raise ReportError(str(exc)) from None


# ------------------------------------------------------------ JSON values
def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    return value
