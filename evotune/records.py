"""The plain records that pass between the engine, the evaluator and the backends.

:class:`Candidate` (a genome asked to be evaluated), :class:`Task` (one unit of
work for a backend), :class:`FoldResult` (what a worker returns for a task) and
:class:`Evaluation` (one candidate's outcome, one row of the history).

This module imports nothing of evotune, so every layer can use the records
without depending on another, and a worker process that only needs them pays
for nothing else.

Examples
--------
>>> from dataclasses import asdict
>>> r = FoldResult(score=0.9, fit_time=0.5, metrics={"test_score": 0.9})
>>> FoldResult(**asdict(r)) == r
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAILED_STATUSES", "STATUSES", "Candidate", "Evaluation", "FoldResult", "Task"]

# what a fold or an evaluation can end as; "raced" and "pruned" are stopped on purpose;
# "nan" is an evaluation whose folds all ran but whose mean score is NaN (a
# scorer that returned NaN): a score, not a failure, as in scikit-learn
STATUSES = ("ok", "failed", "timeout", "crashed", "raced", "nan", "pruned")
# the statuses of an evaluation that failed (a failed fit, in scikit-learn's words)
FAILED_STATUSES = ("failed", "timeout", "crashed")


@dataclass(frozen=True)
class Candidate:
    """A genome the engine asks to be evaluated, in external form.

    Examples
    --------
    >>> Candidate(0, 0, "initial", "x=1", {"x": 1.0}).params
    {'x': 1.0}
    """

    id: int
    generation: int
    origin: str
    key: str
    params: dict[str, Any]
    seed: int = 0
    # seconds its evaluation is expected to take (NaN when unknown); only
    # the order of dispatch depends on it, never a result
    expected_cost: float = math.nan
    # the steps it may train for in this evaluation (report_step calls, or a
    # Trainable's step() calls), or None: until the objective ends
    budget: int | None = None
    # the content hash of the checkpoint it continues from (strategy="pbt"), or None
    checkpoint: str | None = None
    # its training stops short of the full one (a lower rung of strategy="hyperband"):
    # its score is that of a partial training, never a complete evaluation
    partial: bool = False


@dataclass(frozen=True)
class Task:
    """One unit of work for a backend: a candidate's parameters and a fold.

    Examples
    --------
    >>> Task("3:1", 3, {"x": 1.0}, fold=1, seed=7).task_id
    '3:1'
    """

    task_id: str
    candidate_id: int
    params: dict[str, Any]
    fold: int
    seed: int
    # what the fold's reports must reach (evotune.pruning.Bounds), or None
    bounds: Any = field(default=None, compare=False)


@dataclass
class FoldResult:
    """What a worker returns for one task.

    Examples
    --------
    >>> FoldResult(score=0.5).status
    'ok'
    """

    score: float
    fit_time: float = 0.0
    score_time: float = 0.0
    status: str = "ok"
    error: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    # where and when it ran (wall clock, seconds since the epoch): stamped by
    # the backend, for the report's timeline of the workers
    worker: int = 0
    started: float = math.nan
    finished: float = math.nan
    # (step, value) pairs the objective reported with evotune.report_step
    reports: list[tuple[int, float]] = field(default_factory=list)
    # the content hash of the checkpoint the task saved (a Trainable), or None
    checkpoint: str | None = None


@dataclass
class Evaluation:
    """The outcome of one candidate: one row of the history.

    Examples
    --------
    >>> ev = Evaluation(0, 0, "initial", "k", {"x": 1.0}, [0.8, 1.0], 0.9, 0.1, 0.2, 0.1)
    >>> ev.ok
    True
    """

    candidate_id: int
    generation: int
    origin: str
    key: str
    params: dict[str, Any]
    fold_scores: list[float]
    mean_score: float
    std_score: float
    fit_time: float
    score_time: float
    status: str = "ok"
    error: str | None = None
    metrics: list[dict[str, float]] = field(default_factory=list)
    fold_fit_times: list[float] = field(default_factory=list)
    fold_score_times: list[float] = field(default_factory=list)
    # per fold, the (step, value) pairs reported (evotune.report_step)
    reports: list[list[tuple[int, float]]] = field(default_factory=list)
    # the checkpoint its training saved (strategy="pbt"), or None
    checkpoint: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the evaluation finished with a finite score."""
        return self.status == "ok" and math.isfinite(self.mean_score)
