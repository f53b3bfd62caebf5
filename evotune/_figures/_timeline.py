"""How busy the workers were: one lane per worker, a bar per task."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from evotune._figures._run import Run, _as_float, _as_int


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
    >>> from pathlib import Path
    >>> from evotune.report import Run
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
