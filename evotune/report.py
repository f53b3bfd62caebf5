"""Reports on a run directory: the leaderboard and three plots.

A run directory (written by ``evolve(..., checkpoint=DIR)``) is read from its
``meta.json`` and ``journal.jsonl`` alone, with the :mod:`json` module: no
pickle, no import of the estimators or objects it names, so a run directory
from someone else is safe to open. Objects among a categorical parameter's
choices are in the journal as ``{"repr": "..."}`` and are shown by that repr.

Examples
--------
>>> import tempfile
>>> from evotune import Float, evolve
>>> from evotune.report import leaderboard_json, load_run, write_plots
>>> where = tempfile.mkdtemp() + "/run"
>>> _ = evolve(lambda p: -(p["x"] - 1) ** 2, {"x": Float(-3, 3)},
...            population_size=6, generations=3, random_state=0, checkpoint=where)
>>> run = load_run(where)
>>> report = leaderboard_json(run, top=1)
>>> report["n_evaluations"] <= 18, list(report["best"]["params"])
(True, ['x'])
>>> [path.name for path in write_plots(run)]
['progress.png', 'parameters.png', 'timeline.png']
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evotune.journal import FORMAT_VERSION, JOURNAL, META

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ReportError",
    "Run",
    "Timeline",
    "format_leaderboard",
    "leaderboard",
    "leaderboard_json",
    "load_run",
    "worker_timeline",
    "write_plots",
]

# the leaderboard's own columns; a parameter with one of these names gets a
# ``param_`` prefix so that no column is silently shadowed
_FIXED_COLUMNS = ("rank", "id", "generation", "mean_score", "std_score", "fit_time", "status")

# Okabe-Ito colours: told apart by colour-blind readers and in greyscale print
STATUS_COLOURS = {
    "ok": "#0072B2",
    "failed": "#D55E00",
    "timeout": "#E69F00",
    "crashed": "#000000",
}
_OTHER_COLOUR = "#999999"
_DPI = 110


class ReportError(ValueError):
    """A run directory that cannot be reported on (missing, or not a run)."""


# ---------------------------------------------------------------- reading
@dataclass
class Run:
    """What a run directory holds, as plain JSON values.

    Attributes
    ----------
    path : Path
        The run directory.
    meta : dict
        ``meta.json``: format version, space, settings, fingerprint, versions.
    evaluations : list of dict
        The journal's ``evaluation`` records, in candidate-id order, one per
        genome key (the first one kept).
    folds : list of dict
        The journal's ``fold`` records (one finished (candidate, fold) task each).
    generations : list of dict
        The ``logbook`` row of each ``tell`` record, by generation: keys
        ``generation``, ``evaluations``, ``failed``, ``best``, ``mean``,
        ``std``, ``elapsed``.
    direction : str
        ``"maximize"`` or ``"minimize"``.
    stopped : str or None
        The reason of the last ``stop`` record, or None when the run is still
        going or was killed (no ``stop`` after its last ``start``).
    starts : list of float
        Wall-clock times of the ``start`` records (one per session: the first
        run and each resume), used to lay out the worker timeline.

    Examples
    --------
    >>> run = load_run(example_run)   # a run directory made by evolve(checkpoint=...)
    >>> run.direction, len(run.evaluations), run.stopped
    ('maximize', 11, 'generations')
    """

    path: Path
    meta: dict[str, Any]
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    folds: list[dict[str, Any]] = field(default_factory=list)
    generations: list[dict[str, Any]] = field(default_factory=list)
    direction: str = "maximize"
    stopped: str | None = None
    starts: list[float] = field(default_factory=list)

    @property
    def space(self) -> dict[str, Any]:
        """The space as ``Space.to_dict`` wrote it: name -> parameter description."""
        space = self.meta.get("space")
        return space if isinstance(space, dict) else {}

    @property
    def param_names(self) -> list[str]:
        """Parameter names, in the order of ``meta.json``'s space."""
        return list(self.space)

    @property
    def n_failed(self) -> int:
        """Evaluations without a finite score (failed, timed out or crashed)."""
        return sum(1 for ev in self.evaluations if not _is_ok(ev))

    @property
    def best(self) -> dict[str, Any] | None:
        """The best successful evaluation record, or None if none succeeded."""
        ranked = _ranked(self)
        return ranked[0] if ranked and _is_ok(ranked[0]) else None


def load_run(path: str | os.PathLike[str]) -> Run:
    """Read a run directory: ``meta.json`` and ``journal.jsonl``, as JSON only.

    A torn last journal line (the writer was killed mid-line) is skipped with
    a warning; a corrupt line elsewhere is an error.

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
    records = _read_journal(journal)

    settings = meta.get("settings")
    direction = settings.get("direction", "maximize") if isinstance(settings, dict) else "maximize"
    if direction not in ("maximize", "minimize"):
        raise ReportError(
            f"{root / META}: settings.direction must be 'maximize' or 'minimize', got {direction!r}"
        )

    evaluations: dict[Any, dict[str, Any]] = {}
    folds: list[dict[str, Any]] = []
    generations: dict[int, dict[str, Any]] = {}
    starts: list[float] = []
    stopped: str | None = None
    for record in records:
        kind = record["type"]
        if kind == "evaluation":
            # a resumed run may meet a genome again; the first record is the one
            # the history keeps, so the report keeps it too
            key = record.get("key", ("candidate", record.get("candidate")))
            evaluations.setdefault(_hashable(key), record)
        elif kind == "fold":
            folds.append(record)
        elif kind == "tell":
            gen = _as_int(record.get("generation"))
            book = record.get("logbook")
            row = dict(book) if isinstance(book, Mapping) else {}
            if gen is None:
                gen = _as_int(row.get("generation"))
            if gen is None:
                continue
            row.setdefault("generation", gen)
            generations.setdefault(gen, row)
        elif kind == "start":
            stopped = None  # a later session that has not stopped (yet)
            t = _as_float(record.get("time"))
            if math.isfinite(t):
                starts.append(t)
        elif kind == "stop":
            reason = record.get("reason")
            stopped = str(reason) if reason is not None else None
        # "ask" and unknown types (a newer writer) are not needed for a report

    ordered = sorted(
        evaluations.values(),
        key=lambda ev: (_as_int(ev.get("candidate")) is None, _as_int(ev.get("candidate")) or 0),
    )
    return Run(
        path=root,
        meta=meta,
        evaluations=ordered,
        folds=folds,
        generations=[generations[g] for g in sorted(generations)],
        direction=str(direction),
        stopped=stopped,
        starts=sorted(starts),
    )


def _read_meta(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ReportError(
            f"{path} is missing: {str(path.parent)!r} is not a run directory written by "
            "evotune (or its meta.json was deleted)"
        )
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path} must hold a JSON object, got {type(data).__name__}")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise ReportError(
            f"{path} has format_version {version!r}; this evotune reads version "
            f"{FORMAT_VERSION} only"
        )
    return data


def _read_journal(path: Path) -> list[dict[str, Any]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"{path} cannot be read: {exc}") from None
    # split bytes, not text: a line torn inside a multi-byte character must
    # not make the whole file undecodable
    lines = data.split(b"\n")
    last = max((i for i, raw in enumerate(lines) if raw.strip()), default=-1)
    records: list[dict[str, Any]] = []
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            if not isinstance(record, dict) or not isinstance(record.get("type"), str):
                raise ValueError("not a journal record")
        except ValueError as exc:
            if i == last:
                # the live run (or a killed one) was writing it; resume drops it too
                warnings.warn(
                    f"{path}: line {i + 1} is cut short (the writer was stopped while "
                    "writing it); it is skipped",
                    RuntimeWarning,
                    stacklevel=3,
                )
                break
            raise ReportError(
                f"{path}, line {i + 1}: not a valid journal record ({exc}); the journal is "
                "corrupted"
            ) from None
        records.append(record)
    return records


# ------------------------------------------------------------ JSON values
def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    return value


def _as_float(value: Any) -> float:
    """A JSON number as float; anything else (null, text, bool) is NaN."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return math.nan
    return float(value)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def _is_ok(ev: Mapping[str, Any]) -> bool:
    return ev.get("status", "ok") == "ok" and math.isfinite(_as_float(ev.get("mean_score")))


def _params(ev: Mapping[str, Any]) -> dict[str, Any]:
    params = ev.get("params")
    return params if isinstance(params, dict) else {}


def _is_repr(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"repr"} and isinstance(value["repr"], str)


def _display(value: Any) -> Any:
    """A value as a person reads it: an object stored as ``{"repr": r}`` is ``r``."""
    return value["repr"] if _is_repr(value) else value


def _clean_json(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None, numpy scalars plain numbers."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, Mapping):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


# ------------------------------------------------------------ leaderboard
def _ranked(run: Run) -> list[dict[str, Any]]:
    """Evaluations best first; those without a finite score last, by id."""
    sign = -1.0 if run.direction == "maximize" else 1.0

    def order(ev: dict[str, Any]) -> tuple[int, float, int]:
        ident = _as_int(ev.get("candidate"))
        ident = ident if ident is not None else 2**62
        if _is_ok(ev):
            return (0, sign * _as_float(ev.get("mean_score")), ident)
        return (1, 0.0, ident)

    return sorted(run.evaluations, key=order)


def _param_columns(run: Run) -> dict[str, str]:
    return {n: f"param_{n}" if n in _FIXED_COLUMNS else n for n in run.param_names}


def _check_top(top: int | None) -> None:
    if top is None:
        return
    if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1:
        raise ValueError(f"'top' must be a positive integer or None (all rows), got {top!r}")


def _rows(run: Run, top: int | None, *, display: bool) -> list[dict[str, Any]]:
    _check_top(top)
    ranked = _ranked(run)
    if top is not None:
        ranked = ranked[: int(top)]
    columns = _param_columns(run)
    rows = []
    for rank, ev in enumerate(ranked, start=1):
        params = _params(ev)
        row: dict[str, Any] = {
            "rank": rank,
            "id": _as_int(ev.get("candidate")),
            "generation": _as_int(ev.get("generation")),
            "mean_score": _as_float(ev.get("mean_score")),
            "std_score": _as_float(ev.get("std_score")),
        }
        for name, column in columns.items():
            value = params.get(name)  # None where the parameter was inactive
            if display and name in params:
                value = _display(_space_choice(run, ev, name, value))
            row[column] = value
        row["fit_time"] = _as_float(ev.get("fit_time"))
        row["status"] = str(ev.get("status", "ok"))
        rows.append(row)
    return rows


def _space_choice(run: Run, ev: Mapping[str, Any], name: str, value: Any) -> Any:
    """A categorical value as the space lists it: a dict or tuple choice is
    JSON in the params (keys made strings) but its repr in the space."""
    spec = run.space.get(name)
    if isinstance(spec, Mapping) and spec.get("type") == "categorical":
        choices = list(spec.get("choices") or [])
        index = _category_index(ev, name, choices)
        if index is not None:
            return choices[index]
    return value


def leaderboard(run: Run, top: int | None = 10) -> pd.DataFrame:
    """The best evaluations of a run, best first.

    Parameters
    ----------
    run : Run
        From :func:`load_run`.
    top : int or None, default=10
        Rows to keep; None keeps every evaluation.

    Returns
    -------
    DataFrame
        Columns ``rank``, ``id``, ``generation``, ``mean_score``,
        ``std_score``, one column per parameter (in the order of
        ``meta.json``; None where the parameter was inactive; objects shown by
        their repr; a parameter named like a fixed column is ``param_<name>``),
        ``fit_time`` (seconds, summed over folds) and ``status``. Evaluations
        without a finite score come last, whatever the direction.

    Examples
    --------
    >>> board = leaderboard(load_run(example_run), top=3)
    >>> list(board["rank"]), list(board.columns[:4])
    ([1, 2, 3], ['rank', 'id', 'generation', 'mean_score'])
    """
    rows = _rows(run, top, display=True)
    columns = list(_FIXED_COLUMNS[:5]) + list(_param_columns(run).values()) + ["fit_time", "status"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in _param_columns(run).values():
        # keep values as the model got them: no int -> float upcast, None stays None
        frame[column] = pd.Series([r[column] for r in rows], dtype=object, index=frame.index)
    return frame


def _fmt_score(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else "-"


def _fmt_cell(value: Any, *, active: bool, width: int = 28) -> str:
    if not active:
        return ""
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, numbers.Integral):
        text = str(int(value))
    elif isinstance(value, numbers.Real):
        text = f"{float(value):.5g}"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"), default=str)
    text = " ".join(text.split())  # a multi-line repr stays on one line
    return text if len(text) <= width else text[: width - 1] + "…"


def _fmt_seconds(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    if x < 0.001:
        return "<0.001"
    return f"{x:.0f}" if x >= 100 else f"{x:.3g}"


def _failure_summary(run: Run, limit: int = 3) -> list[str]:
    errors = Counter(
        str(ev.get("error") or ev.get("status", "failed")).strip().splitlines()[0][:100]
        for ev in run.evaluations
        if not _is_ok(ev)
    )
    return [f"{count} × {text}" for text, count in errors.most_common(limit)]


def format_leaderboard(run: Run, top: int | None = 10) -> str:
    """The leaderboard as a table for a terminal.

    The header says the run directory, the number of evaluations and of
    failures, the best score and why the run stopped.

    Parameters
    ----------
    run : Run
    top : int or None, default=10

    Returns
    -------
    str

    Examples
    --------
    >>> print(format_leaderboard(load_run(example_run), top=2))  # doctest: +ELLIPSIS
    run .../run (maximize mean_score)
    11 evaluations, 0 failed; best score ... stopped: generations
    rank  id  gen  mean_score  std_score  ...
    ...
    """
    rows = _rows(run, top, display=True)
    ranked = _ranked(run)[: len(rows)]
    best = run.best
    stopped = run.stopped or "- (no stop record: still running, or killed)"
    lines = [f"run {run.path} ({run.direction} mean_score)"]
    best_text = (
        f"best score {_fmt_score(_as_float(best.get('mean_score')))} "
        f"(id {_as_int(best.get('candidate'))})"
        if best is not None
        else "no successful evaluation"
    )
    lines.append(
        f"{len(run.evaluations)} evaluations, {run.n_failed} failed; {best_text}; "
        f"stopped: {stopped}"
    )
    if run.n_failed:
        lines.append("failures: " + "; ".join(_failure_summary(run)))
    if not rows:
        lines.append("(no evaluation in the journal yet)")
        return "\n".join(lines)

    columns = _param_columns(run)
    header = ["rank", "id", "gen", "mean_score", "std_score", *columns.values()]
    header += ["fit_time (s)", "status"]
    numeric = {"rank", "id", "gen", "mean_score", "std_score", "fit_time (s)", *columns.values()}
    table: list[list[str]] = []
    for row, ev in zip(rows, ranked):
        params = _params(ev)
        cells = [
            str(row["rank"]),
            "" if row["id"] is None else str(row["id"]),
            "" if row["generation"] is None else str(row["generation"]),
            _fmt_score(row["mean_score"]),
            _fmt_score(row["std_score"]),
        ]
        cells += [_fmt_cell(row[c], active=n in params) for n, c in columns.items()]
        fit = row["fit_time"]
        cells += [_fmt_seconds(fit), row["status"]]
        table.append(cells)
    # a column of numbers is right-aligned, so digits line up
    for cells in table:
        for i, name in enumerate(header):
            if name in columns.values() and cells[i] and not _is_number_text(cells[i]):
                numeric.discard(name)
    widths = [max(len(h), *(len(c[i]) for c in table)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        out = [c.rjust(w) if h in numeric else c.ljust(w) for c, w, h in zip(cells, widths, header)]
        return "  ".join(out).rstrip()

    lines.append(line(header))
    lines.append(line(["-" * w for w in widths]))
    lines.extend(line(c) for c in table)
    if len(rows) < len(run.evaluations):
        lines.append(f"(top {len(rows)} of {len(run.evaluations)})")
    return "\n".join(lines)


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def leaderboard_json(run: Run, top: int | None = 10) -> dict[str, Any]:
    """The leaderboard as JSON-safe values (``json.dumps`` works; NaN is None).

    Parameter values are as in the journal: an object among a categorical's
    choices is ``{"repr": "..."}``, an inactive parameter is None and is
    listed in the row's ``inactive``.

    Parameters
    ----------
    run : Run
    top : int or None, default=10

    Returns
    -------
    dict
        ``{"run", "direction", "n_evaluations", "n_failed", "stopped",
        "best": {"score", "params", "id"}, "leaderboard": [row, ...]}``; the
        rows have the columns of :func:`leaderboard` and ``inactive``.

    Examples
    --------
    >>> import json
    >>> data = json.loads(json.dumps(leaderboard_json(load_run(example_run), top=3)))
    >>> len(data["leaderboard"]), data["direction"]
    (3, 'maximize')
    """
    rows = _rows(run, top, display=False)
    ranked = _ranked(run)[: len(rows)]
    for row, ev in zip(rows, ranked):
        # a None value is ambiguous in JSON (inactive, or the choice None)
        row["inactive"] = [n for n in run.param_names if n not in _params(ev)]
    best = run.best
    return _clean_json(
        {
            "run": str(run.path),
            "direction": run.direction,
            "n_evaluations": len(run.evaluations),
            "n_failed": run.n_failed,
            "stopped": run.stopped,
            "best": {
                "score": _as_float(best.get("mean_score")) if best is not None else None,
                "params": dict(_params(best)) if best is not None else None,
                "id": _as_int(best.get("candidate")) if best is not None else None,
            },
            "leaderboard": rows,
        }
    )


# ---------------------------------------------------------------- timeline
@dataclass
class Timeline:
    """Where and when the fold tasks of a run ran: one lane per worker.

    Times are seconds on the plot's axis: since the run's first start, with
    the pauses between sessions (a run and its resumes) cut out.

    Attributes
    ----------
    lanes : list of int
        Worker ids seen in the fold records, sorted (the serial backend is 0).
    bars : list of (worker, start, end, status)
        One per fold task.
    busy : float
        Seconds the workers spent in tasks, summed over lanes.
    span : float
        Seconds the run was going (its sessions summed).
    work_span : float
        Seconds from each session's first task to its last, summed: ``span``
        without the start-up of the run (spawning workers, first sampling).
    resumes : list of float
        Axis positions where a resumed session starts.
    skipped : int
        Fold records without usable timestamps (not drawn, not counted).
    """

    lanes: list[int]
    bars: list[tuple[int, float, float, str]]
    busy: float
    span: float
    work_span: float = 0.0
    resumes: list[float] = field(default_factory=list)
    skipped: int = 0

    @property
    def busy_fraction(self) -> float:
        """``busy / (len(lanes) * span)``; NaN when nothing ran."""
        if not self.lanes or not self.span > 0:
            return math.nan
        return self.busy / (len(self.lanes) * self.span)

    @property
    def work_fraction(self) -> float:
        """``busy / (len(lanes) * work_span)``: how well the workers were kept
        fed once the tasks flowed; NaN when nothing ran."""
        if not self.lanes or not self.work_span > 0:
            return math.nan
        return self.busy / (len(self.lanes) * self.work_span)


def worker_timeline(run: Run) -> Timeline:
    """The worker lanes, task bars and busy fraction of a run's fold records.

    Parameters
    ----------
    run : Run

    Returns
    -------
    Timeline

    Examples
    --------
    >>> folds = [{"result": {"worker": 0, "started": 10.0, "finished": 12.0}},
    ...          {"result": {"worker": 1, "started": 10.0, "finished": 11.0}}]
    >>> tl = worker_timeline(Run(Path("run"), meta={}, folds=folds, starts=[10.0]))
    >>> tl.lanes, tl.span, tl.busy, tl.busy_fraction
    ([0, 1], 2.0, 3.0, 0.75)
    """
    tasks: list[tuple[int, float, float, str]] = []
    skipped = 0
    for record in run.folds:
        result = record.get("result")
        result = result if isinstance(result, Mapping) else {}
        started, finished = _as_float(result.get("started")), _as_float(result.get("finished"))
        # NaN (a task answered without running) and 0.0 (a backend's "unknown")
        # are not times of day
        if not (math.isfinite(started) and math.isfinite(finished)) or started <= 0:
            skipped += 1
            continue
        if finished < started:
            skipped += 1
            continue
        worker = _as_int(result.get("worker"))
        tasks.append((worker if worker is not None else 0, started, finished, _status(result)))
    if not tasks:
        return Timeline(lanes=[], bars=[], busy=0.0, span=0.0, skipped=skipped)

    # sessions: the first run and each resume; the time between them (the run
    # was not going) is cut out, or a resume a week later would squash the plot
    first_task = min(t[1] for t in tasks)
    starts = sorted(s for s in run.starts if s <= max(t[1] for t in tasks))
    if not starts or starts[0] > first_task:
        starts = [first_task, *[s for s in starts if s > first_task]]
    sessions: list[list[tuple[int, float, float, str]]] = [[] for _ in starts]
    for task in tasks:
        sessions[max(i for i, s in enumerate(starts) if s <= task[1])].append(task)
    bars: list[tuple[int, float, float, str]] = []
    resumes: list[float] = []
    offset = work_span = 0.0
    for begin, members in zip(starts, sessions):
        if not members:
            continue  # a resume that found everything done ran no task
        if bars:
            resumes.append(offset)
        end = max(t[2] for t in members)
        work_span += end - min(t[1] for t in members)
        bars.extend((w, offset + s - begin, offset + f - begin, st) for w, s, f, st in members)
        offset += end - begin
    lanes = sorted({b[0] for b in bars})
    busy = 0.0
    for lane in lanes:
        busy += _union_length([(b[1], b[2]) for b in bars if b[0] == lane])
    return Timeline(
        lanes=lanes,
        bars=bars,
        busy=busy,
        span=offset,
        work_span=work_span,
        resumes=resumes,
        skipped=skipped,
    )


def _status(result: Mapping[str, Any]) -> str:
    status = result.get("status", "ok")
    return status if isinstance(status, str) else "ok"


def _union_length(intervals: list[tuple[float, float]]) -> float:
    """Length covered by intervals, overlaps counted once (a lane cannot be
    busier than 100%, even if two records of a replaced worker overlap)."""
    total, end = 0.0, -math.inf
    for a, b in sorted(intervals):
        if a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


# ------------------------------------------------------------------- plots
def write_plots(run: Run, out_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Write ``progress.png``, ``parameters.png`` and ``timeline.png``.

    Drawn with matplotlib's Agg canvas directly (no pyplot), so the global
    backend of the calling program is left as it was.

    Parameters
    ----------
    run : Run
    out_dir : path, optional
        Where the PNGs go; by default ``run.path / "report"``.

    Returns
    -------
    list of Path
        The files written, in the order above.

    Examples
    --------
    >>> [p.name for p in write_plots(load_run(example_run))]
    ['progress.png', 'parameters.png', 'timeline.png']
    """
    try:
        from matplotlib.figure import Figure  # noqa: F401  (checks it is installed)
    except ImportError:  # pragma: no cover - matplotlib is optional for the package
        raise ImportError("evotune report plots need matplotlib: pip install matplotlib") from None
    out = Path(out_dir) if out_dir is not None else run.path / "report"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (
        ("progress.png", _plot_progress),
        ("parameters.png", _plot_parameters),
        ("timeline.png", _plot_timeline),
    ):
        fig = draw(run)
        path = out / name
        _save(fig, path)
        written.append(path)
    return written


def _save(fig: Figure, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # binds the figure to Agg; pyplot's backend is untouched
    # through a temporary file and a rename: a reader never sees half a PNG
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png", dpi=_DPI)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _score_label(run: Run) -> str:
    """'score (accuracy; higher is better)': the metric if the meta names it."""
    fp = run.meta.get("fingerprint")
    fp = fp if isinstance(fp, Mapping) else {}
    metric = fp.get("metric")
    name = None
    if isinstance(metric, str) and metric and metric != "score":
        name = metric
    else:
        scoring = fp.get("scoring")  # a repr: "'accuracy'" for a named scorer
        if isinstance(scoring, str) and len(scoring) > 2 and scoring[0] == scoring[-1] == "'":
            name = scoring[1:-1]
    better = "higher" if run.direction == "maximize" else "lower"
    return f"mean score ({name + '; ' if name else ''}{better} is better)"


def _message(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.35")


def _plot_progress(run: Run) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(8.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    gens = run.generations
    x = [_as_float(g.get("generation")) for g in gens]
    best = [_as_float(g.get("best")) for g in gens]
    mean = [_as_float(g.get("mean")) for g in gens]
    std = [_as_float(g.get("std")) for g in gens]
    std = [s if math.isfinite(s) else 0.0 for s in std]
    lo = [m - s for m, s in zip(mean, std)]
    hi = [m + s for m, s in zip(mean, std)]

    # every successful evaluation, faintly: the spread behind the summary lines
    # (and the only thing to show if no generation has finished yet)
    ok = [ev for ev in run.evaluations if _is_ok(ev) and _as_int(ev.get("generation")) is not None]
    ok_x = [float(_as_int(ev.get("generation")) or 0) for ev in ok]
    if ok:
        ax.scatter(
            ok_x,
            [_as_float(ev.get("mean_score")) for ev in ok],
            s=12,
            color="0.65",
            alpha=0.6,
            linewidths=0,
            label="one evaluation",
            zorder=1,
        )
    has_mean = any(math.isfinite(m) for m in mean)
    if has_mean and len(gens) == 1:
        # a band over one x is an invisible sliver: draw the spread as an error bar
        ax.errorbar(
            x,
            mean,
            yerr=std,
            color="#0072B2",
            marker="o",
            ms=5,
            capsize=8,
            lw=1.5,
            label="population mean ± std",
        )
    elif has_mean:
        ax.fill_between(x, lo, hi, color="#56B4E9", alpha=0.3, label="population mean ± std")
        ax.plot(x, mean, color="#0072B2", marker="o", ms=4, label="population mean")
    if any(math.isfinite(b) for b in best):
        ax.plot(x, best, color="#D55E00", marker="o", ms=6, lw=2, label="best so far")
    if not gens and not ok:
        _message(ax, "no generation has finished yet")
    elif not ok:
        _message(ax, "no successful evaluation: nothing to plot")
    n_gen = len(gens)
    failed = run.n_failed
    ax.set_title(
        f"Progress: {n_gen} generation{'s' if n_gen != 1 else ''}, "
        f"{len(run.evaluations)} evaluations ({failed} failed)"
    )
    ax.set_xlabel("generation (0 = initial population)")
    ax.set_ylabel(_score_label(run))
    all_x = [v for v in x if math.isfinite(v)] + ok_x
    distinct = sorted(set(all_x))
    if 0 < len(distinct) <= 12:
        ax.set_xticks(distinct)  # few generations: a tick on each, no fractions
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if all_x and max(all_x) == min(all_x):
        ax.set_xlim(min(all_x) - 0.5, max(all_x) + 0.5)  # one generation: not a 0-wide axis
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")
    return fig


def _category_index(ev: Mapping[str, Any], name: str, choices: list[Any]) -> int | None:
    """Which choice an evaluation took: from the genome key (which stores a
    category by its index), else by comparing JSON forms."""
    key = ev.get("key")
    if isinstance(key, str):
        try:
            parts = json.loads(key)
        except ValueError:
            parts = None
        if isinstance(parts, list):
            for part in parts:
                if isinstance(part, list) and len(part) == 2 and part[0] == name:
                    index = _as_int(part[1])
                    if index is not None and 0 <= index < len(choices):
                        return index
    params = _params(ev)
    if name not in params:
        return None
    # (a tuple or dict choice is a repr in the space but a JSON value in the
    # params, so only the key finds those)
    form = json.dumps(params[name], sort_keys=True)
    for i, c in enumerate(choices):
        if json.dumps(c, sort_keys=True) == form:
            return i
    return None


def _choice_label(choice: Any, width: int = 18) -> str:
    return _fmt_cell(_display(choice), active=True, width=width)


def _plot_parameters(run: Run) -> Figure:
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = run.param_names
    n = max(1, len(names))
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(4.4 * ncols + 0.9, 3.5 * nrows + 0.7), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    flat = [ax for row in axes for ax in row]
    for ax in flat[len(names) :]:
        ax.set_visible(False)

    ok = [ev for ev in run.evaluations if _is_ok(ev)]
    best = run.best
    gens = [_as_int(ev.get("generation")) or 0 for ev in ok]
    vmax = max(gens, default=0)
    rng = np.random.default_rng(0)  # fixed jitter: the same run draws the same plot
    colour_map = None
    score_label = _score_label(run)
    for i, (ax, name) in enumerate(zip(flat, names)):
        spec = run.space.get(name)
        spec = spec if isinstance(spec, Mapping) else {}
        kind = spec.get("type")
        n_failed = sum(1 for ev in run.evaluations if not _is_ok(ev) and name in _params(ev))
        n_inactive = sum(1 for ev in run.evaluations if name not in _params(ev))
        xs: list[float] = []
        ys: list[float] = []
        cs: list[int] = []
        best_xy: tuple[float, float] | None = None
        if kind == "categorical":
            choices = list(spec.get("choices") or [])
            for ev, g in zip(ok, gens):
                index = _category_index(ev, name, choices)
                if index is None:
                    continue
                x = index + float(rng.uniform(-0.22, 0.22))
                xs.append(x)
                ys.append(_as_float(ev.get("mean_score")))
                cs.append(g)
                if ev is best:
                    best_xy = (float(index), ys[-1])
            labels = [_choice_label(c) for c in choices]
            ax.set_xticks(range(len(choices)))
            long = sum(len(t) for t in labels) > 28 or any(len(t) > 8 for t in labels)
            ax.set_xticklabels(
                labels,
                rotation=25 if long else 0,
                ha="right" if long else "center",
                rotation_mode="anchor",  # a slanted label ends at its own tick
            )
            ax.set_xlim(-0.5, max(len(choices), 1) - 0.5)
            ax.set_xlabel(f"{name} (choice)")
        else:
            log = bool(spec.get("log", False))
            low, high = _as_float(spec.get("low")), _as_float(spec.get("high"))
            # a few integers: many points share an x, so spread them a little
            jitter = 0.12 if kind == "int" and not log and high - low <= 30 else 0.0
            for ev, g in zip(ok, gens):
                value = _params(ev).get(name)
                x = _as_float(value)
                if not math.isfinite(x) or (log and x <= 0):
                    continue
                if ev is best:
                    best_xy = (x, _as_float(ev.get("mean_score")))
                if jitter:
                    x += float(rng.uniform(-jitter, jitter))
                xs.append(x)
                ys.append(_as_float(ev.get("mean_score")))
                cs.append(g)
            if log and (low > 0 or xs):
                ax.set_xscale("log")
            if math.isfinite(low) and math.isfinite(high) and high > low:
                # the whole range, so a reader sees where in it the search went
                if log and low > 0:
                    pad = (high / low) ** 0.04
                    ax.set_xlim(low / pad, high * pad)
                else:
                    pad = 0.04 * (high - low)
                    if kind == "int":
                        pad = max(pad, 0.4)  # room for the jitter at the ends
                    ax.set_xlim(low - pad, high + pad)
            if kind == "int":
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            bounds = f"{low:g} to {high:g}" if math.isfinite(low) and math.isfinite(high) else ""
            scale = "log scale" if log else "linear"
            ax.set_xlabel(f"{name} ({bounds}, {scale})" if bounds else f"{name} ({scale})")
        if xs:
            colour_map = ax.scatter(
                xs,
                ys,
                c=cs,
                cmap="viridis",
                vmin=0,
                vmax=max(vmax, 1),
                s=22,
                alpha=0.85,
                edgecolors="none",
            )
        else:
            _message(ax, "no successful evaluation\nwith this parameter active")
        if best_xy is not None:
            ax.scatter(
                [best_xy[0]],
                [best_xy[1]],
                marker="*",
                s=220,
                color="#D55E00",
                edgecolors="black",
                linewidths=0.6,
                zorder=5,
                label="best",
            )
        notes = [f"{len(xs)} shown"]
        if n_failed:
            notes.append(f"{n_failed} failed (not shown)")
        if n_inactive:
            notes.append(f"{n_inactive} inactive")
        ax.set_title(f"{name}: " + ", ".join(notes), fontsize="medium")
        ax.grid(True, alpha=0.3)
        if i % ncols == 0:
            ax.set_ylabel(score_label)
    if not names:
        _message(flat[0], "the space in meta.json names no parameter")
    if colour_map is not None and vmax > 0:
        bar = fig.colorbar(
            colour_map, ax=[a for a in flat if a.get_visible()], shrink=0.8, aspect=30
        )
        bar.set_label("generation")
        bar.locator = MaxNLocator(integer=True)  # generations are whole numbers
        bar.update_ticks()
    for ax in flat:
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            # outside the axes: inside, it may hide the very star it explains
            fig.legend(handles, labels, loc="outside lower center", fontsize="small")
            break
    fig.suptitle(
        f"Score against each parameter ({len(ok)} successful of {len(run.evaluations)} evaluations)"
    )
    return fig


def _plot_timeline(run: Run) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    tl = worker_timeline(run)
    n_lanes = max(1, len(tl.lanes))
    height = min(2.2 + 0.42 * n_lanes, 14.0)
    fig = Figure(figsize=(10.0, height), layout="constrained")
    ax = fig.add_subplot()
    row_of = {w: i for i, w in enumerate(tl.lanes)}
    counts = Counter(b[3] for b in tl.bars)
    statuses = list(STATUS_COLOURS) + sorted(s for s in counts if s not in STATUS_COLOURS)
    for status in statuses:
        colour = STATUS_COLOURS.get(status, _OTHER_COLOUR)
        for worker in tl.lanes:
            spans = [(s, f - s) for w, s, f, st in tl.bars if w == worker and st == status]
            if spans:
                # an edge in the bar's own colour keeps very short tasks visible
                ax.broken_barh(
                    spans,
                    (row_of[worker] - 0.38, 0.76),
                    facecolors=colour,
                    edgecolors=colour,
                    linewidth=0.5,
                )
    for x in tl.resumes:
        ax.axvline(x, color="0.3", ls="--", lw=1)
    ax.set_yticks(range(len(tl.lanes)))
    ax.set_yticklabels([f"worker {w}" for w in tl.lanes])
    ax.set_ylim(n_lanes - 0.5, -0.5)  # worker 0 on top
    if tl.span > 0:
        ax.set_xlim(0, tl.span * 1.01)
    label = "seconds since start"
    if tl.resumes:
        label += " (pauses between sessions cut out; dashed line = resumed)"
    ax.set_xlabel(label)
    ax.set_ylabel("worker lane")
    ax.grid(True, axis="x", alpha=0.3)
    if tl.bars:
        frac = tl.busy_fraction
        lanes = f"{len(tl.lanes)} worker{'s' if len(tl.lanes) != 1 else ''}"
        fig.suptitle(f"Worker timeline: {len(tl.bars)} tasks on {lanes}, pool {frac:.0%} busy")
        ax.set_title(
            f"{tl.busy:.3g} s of work in {len(tl.lanes)} × {tl.span:.3g} s since start; "
            f"{tl.work_fraction:.0%} busy from the first task to the last",
            fontsize="medium",
            color="0.25",
        )
        handles = [
            Patch(color=STATUS_COLOURS.get(s, _OTHER_COLOUR), label=f"{s} ({counts.get(s, 0)})")
            for s in statuses
        ]
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=len(handles),
            fontsize="small",
            frameon=False,
            title="task status (count)",
            title_fontsize="small",
        )
    else:
        ax.set_title("Worker timeline: no timed tasks in the journal")
        _message(ax, "no fold record with start and end times")
    if tl.skipped:
        fig.text(
            0.99,
            0.01,
            f"{tl.skipped} task(s) without times not shown",
            ha="right",
            fontsize="small",
            color="0.35",
        )
    return fig
