"""Evaluation records and the Evaluator (cache, task fan-out, assembly).

The engine hands the evaluator :class:`Candidate` objects; the evaluator cuts
each into tasks (one per cross-validation fold for a :class:`CrossValScore`,
one per candidate for a plain callable), sends them to a backend, matches the
results back by task id (never by arrival order, so the outcome does not
depend on which worker finished first) and assembles one :class:`Evaluation`
per candidate.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from evotune.backends.base import Backend

__all__ = [
    "STATUSES",
    "Candidate",
    "Evaluation",
    "Evaluator",
    "FoldResult",
    "FunctionObjective",
    "Objective",
    "Task",
    "as_objective",
]

STATUSES = ("ok", "failed", "timeout", "crashed")


@dataclass(frozen=True)
class Candidate:
    """A genome the engine asks to be evaluated, in external form."""

    id: int
    generation: int
    origin: str
    key: str
    params: dict[str, Any]
    seed: int = 0
    # seconds its evaluation is expected to take (NaN when unknown); only
    # the order of dispatch depends on it, never a result
    expected_cost: float = math.nan


@dataclass(frozen=True)
class Task:
    """One unit of work for a backend: a candidate's parameters and a fold."""

    task_id: str
    candidate_id: int
    params: dict[str, Any]
    fold: int
    seed: int


@dataclass
class FoldResult:
    """What a worker returns for one task."""

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


@dataclass
class Evaluation:
    """The outcome of one candidate: one row of the history."""

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

    @property
    def ok(self) -> bool:
        return self.status == "ok" and math.isfinite(self.mean_score)


@runtime_checkable
class Objective(Protocol):
    """What the evaluator runs: ``n_tasks`` tasks per candidate.

    :class:`evotune.CrossValScore` has one task per fold; a plain callable is
    wrapped in :class:`FunctionObjective` with one task.
    """

    n_tasks: int

    def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult: ...


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class FunctionObjective:
    """Wrap ``callable(params) -> float`` as an objective of one task.

    An exception, or a return value that is not a real number, makes the
    evaluation ``failed`` with the error text; the run goes on.

    Examples
    --------
    >>> obj = FunctionObjective(lambda p: -p["x"] ** 2)
    >>> obj.run({"x": 2.0}, 0, 0).score
    -4.0
    """

    n_tasks = 1

    def __init__(self, function: Callable[[dict[str, Any]], float]) -> None:
        if not callable(function):
            raise TypeError(f"objective must be callable, got {function!r}")
        self.function = function

    def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult:
        start = time.perf_counter()
        try:
            value = self.function(dict(params))
            if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ):
                raise TypeError(
                    f"the objective must return a real number, got {value!r} "
                    f"({type(value).__name__})"
                )
            score = float(value)
        except Exception as exc:
            return FoldResult(
                score=math.nan,
                fit_time=time.perf_counter() - start,
                status="failed",
                error=_error_text(exc),
            )
        return FoldResult(score=score, fit_time=time.perf_counter() - start)

    def fingerprint(self) -> dict[str, Any]:
        fn = self.function
        name = getattr(fn, "__qualname__", type(fn).__qualname__)
        return {"objective": f"{getattr(fn, '__module__', '?')}.{name}"}

    def __repr__(self) -> str:
        return f"FunctionObjective({self.function!r})"


def as_objective(objective: Any) -> Objective:
    """Accept an :class:`Objective` or any ``callable(params) -> float``."""
    if isinstance(objective, Objective):
        return objective
    if callable(objective):
        return FunctionObjective(objective)
    raise TypeError(
        "objective must be a CrossValScore, an object with n_tasks and run(), or a "
        f"callable(params) -> float; got {objective!r} ({type(objective).__name__})"
    )


def assemble(candidate: Candidate, folds: Sequence[FoldResult]) -> Evaluation:
    """One evaluation from a candidate's fold results (in fold order)."""
    scores = [float(f.score) for f in folds]
    bad = [f for f in folds if f.status != "ok"]
    status = bad[0].status if bad else "ok"
    error = next((f.error for f in bad if f.error), None)
    arr = np.asarray(scores, dtype=float)
    if arr.size and np.isfinite(arr).all():
        mean, std = float(arr.mean()), float(arr.std())
    else:
        mean = float(arr.mean()) if arr.size else math.nan
        std = float(arr.std()) if arr.size and np.isfinite(mean) else math.nan
    return Evaluation(
        candidate_id=candidate.id,
        generation=candidate.generation,
        origin=candidate.origin,
        key=candidate.key,
        params=dict(candidate.params),
        fold_scores=scores,
        mean_score=mean,
        std_score=std,
        fit_time=float(sum(f.fit_time for f in folds)),
        score_time=float(sum(f.score_time for f in folds)),
        status=status,
        error=error,
        metrics=[dict(f.metrics) for f in folds],
        fold_fit_times=[float(f.fit_time) for f in folds],
        fold_score_times=[float(f.score_time) for f in folds],
    )


class Evaluator:
    """Evaluate candidates on a backend, with a cache keyed by canonical genome key.

    Parameters
    ----------
    objective : Objective
    backend : Backend
        Started on first use, with the objective, so a worker receives the
        objective and its data once.
    fold_cache : dict, optional
        ``(key, fold) -> FoldResult`` known before the run (a resumed journal):
        those tasks are never sent again.
    on_fold : callable, optional
        ``on_fold(key, fold, candidate_id, result)`` as each task finishes.
    on_idle : callable, optional
        Called about once a second while waiting (the journal's fsync tick).

    Examples
    --------
    >>> from evotune.backends import SerialBackend
    >>> ev = Evaluator(FunctionObjective(lambda p: p["x"]), SerialBackend())
    >>> [e.mean_score for e in ev.evaluate([Candidate(0, 0, "initial", "k", {"x": 1.0})])]
    [1.0]
    >>> ev.close()
    """

    def __init__(
        self,
        objective: Objective,
        backend: Backend,
        *,
        fold_cache: dict[tuple[str, int], FoldResult] | None = None,
        on_fold: Callable[[str, int, int, FoldResult], None] | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.objective = objective
        self.backend = backend
        self.cache: dict[str, Evaluation] = {}
        self.fold_cache: dict[tuple[str, int], FoldResult] = dict(fold_cache or {})
        self.on_fold = on_fold
        self.on_idle = on_idle
        self.n_dispatched = 0
        self._started = False
        error_score = getattr(objective, "error_score", math.nan)
        self._error_score = (
            float(error_score) if isinstance(error_score, (int, float)) else math.nan
        )

    def _start(self) -> None:
        if not self._started:
            self.backend.start(self.objective)
            self._started = True

    def _complete(self, c: Candidate, got: dict[int, FoldResult], n_tasks: int) -> Evaluation:
        timed_out = next((r for r in got.values() if r.status == "timeout"), None)
        if timed_out is not None:
            # A candidate that hung is given up whole: which of its other folds
            # had finished depends on timing, so none of them is kept.
            folds = [
                FoldResult(
                    score=self._error_score,
                    fit_time=r.fit_time if (r := got.get(k)) is not None else 0.0,
                    status="timeout",
                    error=timed_out.error,
                    metrics=dict(timed_out.metrics),
                )
                for k in range(n_tasks)
            ]
        else:
            folds = [got[k] for k in range(n_tasks)]
        return assemble(c, folds)

    def evaluate(
        self,
        candidates: Sequence[Candidate],
        on_result: Callable[[Evaluation], None] | None = None,
    ) -> list[Evaluation]:
        """Evaluate ``candidates`` and return their evaluations in the same order.

        A candidate whose key is in the cache is not sent again; nor is any
        (candidate, fold) task in ``fold_cache``. ``on_result`` is called as
        each evaluation completes.
        """
        out: dict[int, Evaluation] = {}
        n_tasks = int(self.objective.n_tasks)
        folds: dict[int, dict[int, FoldResult]] = {}
        by_id: dict[int, Candidate] = {}
        to_send: list[Task] = []

        def finish(c: Candidate) -> None:
            ev = self._complete(c, folds[c.id], n_tasks)
            self.cache[c.key] = ev
            out[c.id] = ev
            if on_result is not None:
                on_result(ev)

        aliases: list[tuple[Candidate, Candidate]] = []
        first_of_key: dict[str, Candidate] = {}
        for c in candidates:
            hit = self.cache.get(c.key)
            if hit is not None:
                out[c.id] = hit
                continue
            if c.key in first_of_key:  # the same genome twice in one batch: run it once
                aliases.append((c, first_of_key[c.key]))
                continue
            first_of_key[c.key] = c
            known = {k: r for k in range(n_tasks) if (r := self.fold_cache.get((c.key, k)))}
            folds[c.id] = known
            by_id[c.id] = c
            if len(known) == n_tasks or any(r.status == "timeout" for r in known.values()):
                finish(c)
                continue
            to_send.extend(
                Task(f"{c.id}:{k}", c.id, dict(c.params), k, c.seed)
                for k in range(n_tasks)
                if k not in known
            )
        if to_send:
            # longest expected first, so no worker is left with a long task at
            # the end of the batch while the others wait (stable for ties)
            cost = {c.id: c.expected_cost for c in candidates}
            to_send.sort(key=lambda t: -cost[t.candidate_id] if cost[t.candidate_id] > 0 else 0.0)
            self._start()
            for task in to_send:
                self.backend.submit(task)
            self.n_dispatched += len(to_send)
        remaining = len(to_send)
        open_ids = {t.candidate_id for t in to_send}
        while remaining:
            finished = self.backend.wait(timeout=1.0)
            if not finished:
                if self.on_idle is not None:
                    self.on_idle()
                if getattr(self.backend, "n_pending", 1) == 0:
                    raise RuntimeError(f"the backend lost {remaining} task(s)")
                continue
            for task, result in finished:
                remaining -= 1
                cid = task.candidate_id
                if cid not in open_ids:
                    continue  # its candidate was already given up (a timeout)
                c = by_id[cid]
                if result.status in ("crashed", "timeout") and math.isnan(result.score):
                    result.score = self._error_score
                if result.status != "ok" and not result.metrics:
                    filler = getattr(self.objective, "error_metrics", None)
                    if callable(filler):
                        result.metrics = filler(result.score)
                self.fold_cache[(c.key, task.fold)] = result
                if self.on_fold is not None:
                    self.on_fold(c.key, task.fold, cid, result)
                got = folds[cid]
                got[task.fold] = result
                if result.status == "timeout" and len(got) < n_tasks:
                    cancel = getattr(self.backend, "cancel", None)
                    if cancel is not None:
                        ids = {f"{cid}:{k}" for k in range(n_tasks) if k not in got}
                        remaining -= len(cancel(ids))
                if len(got) == n_tasks or result.status == "timeout":
                    open_ids.discard(cid)
                    finish(c)
        for alias, original in aliases:
            out[alias.id] = out[original.id]
        return [out[c.id] for c in candidates]

    def close(self) -> None:
        if self._started:
            self.backend.shutdown()
            self._started = False


def summarise_failures(evaluations: Sequence[Evaluation], limit: int = 3) -> str:
    """The distinct error texts of failed evaluations, most frequent first."""
    tally: dict[str, int] = {}
    for e in evaluations:
        if e.status != "ok" or not math.isfinite(e.mean_score):
            text = e.error or (e.status if e.status != "ok" else f"a score of {e.mean_score}")
            tally[text] = tally.get(text, 0) + 1
    items = sorted(tally.items(), key=lambda kv: -kv[1])[:limit]
    return "\n".join(f"{n} evaluation(s) failed with: {text}" for text, n in items)
