"""The Evaluator: cache, task fan-out, timeouts, failures, racing.

The engine hands the evaluator :class:`Candidate` objects; the evaluator cuts
each into tasks (one per cross-validation fold for a :class:`CrossValScore`,
one per candidate for a plain callable), sends them to a backend, matches the
results back by task id (never by arrival order, so the outcome does not
depend on which worker finished first) and assembles one :class:`Evaluation`
per candidate.

The records (:mod:`evotune.records`) and the objective protocol
(:class:`Objective`, :class:`BaseObjective`, :class:`FunctionObjective`,
:func:`as_objective`) are defined apart and re-exported here, where users
have always imported them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from evotune._objective import (
    BaseObjective,
    FunctionObjective,
    Objective,
    as_objective,
)
from evotune.backends.base import Backend, as_backend
from evotune.pruning import Bounds
from evotune.records import FAILED_STATUSES, STATUSES, Candidate, Evaluation, FoldResult, Task

if TYPE_CHECKING:
    from evotune._racing import Race

__all__ = [
    "STATUSES",
    "BaseObjective",
    "Candidate",
    "Evaluation",
    "Evaluator",
    "FoldResult",
    "FunctionObjective",
    "Objective",
    "Task",
    "as_objective",
]


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
    if status == "ok" and math.isnan(mean):
        status = "nan"  # every fold ran, and a scorer said NaN: a score, not a failure
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
        reports=[list(f.reports) for f in folds],
        checkpoint=next((f.checkpoint for f in folds if f.checkpoint is not None), None),
    )


@dataclass
class _Open:
    """A candidate being evaluated: its folds so far and what was sent."""

    candidate: Candidate
    got: dict[int, FoldResult]
    race: Race | None
    on_result: Callable[[Evaluation], None] | None
    sent: set[int] = field(default_factory=set)
    bounds: Sequence[Bounds] | None = None  # per fold (evotune.pruning)

    def task(self, k: int) -> Task:
        c = self.candidate
        bounds = self.bounds[k] if self.bounds is not None else None
        if c.budget is not None:
            bounds = replace(bounds or Bounds(1.0, {}), budget=c.budget)
        if c.checkpoint is not None:
            bounds = replace(bounds or Bounds(1.0, {}), resume_from=c.checkpoint)
        return Task(f"{c.id}:{k}", c.id, dict(c.params), k, c.seed, bounds)


class Evaluator:
    """Evaluate candidates on a backend, with a cache keyed by canonical genome key.

    Parameters
    ----------
    objective : Objective
        Or anything :func:`as_objective` accepts.
    backend : Backend
        Or any object :func:`~evotune.backends.base.as_backend` accepts.
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
        self.objective = as_objective(objective)
        self.backend = as_backend(backend)
        self.cache: dict[str, Evaluation] = {}
        self.fold_cache: dict[tuple[str, int], FoldResult] = dict(fold_cache or {})
        self.on_fold = on_fold
        self.on_idle = on_idle
        self.n_dispatched = 0
        self._started = False
        self._n_tasks = int(self.objective.n_tasks)
        self._open: dict[int, _Open] = {}
        self._open_keys: dict[str, int] = {}
        self._aliases: dict[int, list[Candidate]] = {}
        self._finished: list[tuple[Candidate, Evaluation]] = []
        self._in_flight = 0
        error_score = self.objective.error_score  # a number, or "raise"
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
        ev = assemble(c, folds)
        # a lower rung that trained to its budget (or a Trainable's, which reports
        # no steps): a score at that budget, never a complete evaluation
        reached = not any(ev.reports) or any(len(r) >= (c.budget or 0) for r in ev.reports)
        if c.partial and ev.status == "ok" and reached:
            ev.status = "pruned"
            ev.error = f"trained for its budget of {c.budget} steps (a rung below the top)"
        return ev

    def _stopped(
        self, c: Candidate, ran: list[FoldResult], n_tasks: int, status: str, why: str
    ) -> Evaluation:
        """A candidate stopped on purpose (raced, pruned) after the folds
        ``ran``: the others are NaN with ``status``; the mean is over ``ran``."""
        unrun = [
            FoldResult(
                score=math.nan,
                status=status,
                error=why,
                metrics=self.objective.error_metrics(math.nan),
            )
            for _ in range(n_tasks - len(ran))
        ]
        ev = assemble(c, ran + unrun)
        scores = np.asarray(ev.fold_scores[: len(ran)], dtype=float)
        ev.mean_score, ev.std_score = float(scores.mean()), float(scores.std())
        return ev

    def _advance(self, st: _Open) -> list[Task]:
        """The tasks ``st`` needs next; finishes it when it needs none."""
        n_tasks = self._n_tasks
        c, got = st.candidate, st.got
        if any(r.status == "timeout" for r in got.values()):
            self._finish(st, self._complete(c, got, n_tasks))
            return []
        pruned = min((k for k, r in got.items() if r.status == "pruned"), default=None)
        if pruned is not None:
            # the lowest fold that is pruned decides: the folds before it run to
            # their end, those after it count for nothing, whether or not they ran
            before = [k for k in range(pruned) if k not in got and k not in st.sent]
            if not before and all(k in got for k in range(pruned)):
                ran = [got[k] for k in range(pruned + 1)]
                reason = got[pruned].error or "pruned"
                self._finish(st, self._stopped(c, ran, n_tasks, "pruned", reason))
            st.sent.update(before)
            return [st.task(k) for k in before]
        if st.race is None:
            missing = [k for k in range(n_tasks) if k not in got and k not in st.sent]
            if not missing and len(got) == n_tasks:
                self._finish(st, self._complete(c, got, n_tasks))
            st.sent.update(missing)
            return [st.task(k) for k in missing]
        # racing: folds in order, a verdict after each (a prefix already known,
        # from a journal, is judged fold by fold as a fresh run would have)
        k = next(i for i in range(n_tasks + 1) if i not in got)
        for j in range(1, k + 1):
            if j == n_tasks or any(got[i].status != "ok" for i in range(j)):
                break
            why = st.race.verdict([got[i].score for i in range(j)])
            if why is not None:
                ran = [got[i] for i in range(j)]
                self._finish(st, self._stopped(c, ran, n_tasks, "raced", why))
                return []
        if k == n_tasks:
            self._finish(st, self._complete(c, got, n_tasks))
            return []
        if k in st.sent:
            return []
        st.sent.add(k)
        return [st.task(k)]

    def _finish(self, st: _Open, ev: Evaluation) -> None:
        self._open.pop(st.candidate.id, None)
        self._open_keys.pop(st.candidate.key, None)
        self.cache[st.candidate.key] = ev
        self._finished.append((st.candidate, ev))
        if st.on_result is not None:
            st.on_result(ev)

    def submit(
        self,
        candidates: Sequence[Candidate],
        on_result: Callable[[Evaluation], None] | None = None,
        *,
        race: Race | None = None,
        prune: Sequence[Bounds] | None = None,
    ) -> None:
        """Start evaluating ``candidates``; :meth:`poll` returns them as they finish.

        A candidate whose key is in the cache is not sent again; nor is any
        (candidate, fold) task in ``fold_cache``. With ``race`` (see
        :mod:`evotune._racing`) a candidate's folds run in order and it stops
        once the race's rule says it cannot make the cut. With ``prune`` (one
        :class:`~evotune.pruning.Bounds` per fold) the candidates after
        generation 0 are sent with those bounds (see :mod:`evotune.pruning`).
        """
        self._n_tasks = n_tasks = int(self.objective.n_tasks)
        if n_tasks < 2:
            race = None
        to_send: list[Task] = []
        for c in candidates:
            hit = self.cache.get(c.key)
            if hit is not None:
                self._finished.append((c, hit))
                continue
            first = self._open_keys.get(c.key)
            if first is not None:  # the same genome twice at once: run it once
                self._aliases.setdefault(first, []).append(c)
                continue
            known = {k: r for k in range(n_tasks) if (r := self.fold_cache.get((c.key, k)))}
            st = _Open(c, known, race, on_result, bounds=prune if c.generation > 0 else None)
            self._open[c.id] = st
            self._open_keys[c.key] = c.id
            to_send.extend(self._advance(st))
        self._send(to_send)

    def _send(self, tasks: list[Task]) -> None:
        if not tasks:
            return
        # longest expected first, so no worker is left with a long task at
        # the end of the batch while the others wait (stable for ties)
        cost = {t.candidate_id: self._open[t.candidate_id].candidate.expected_cost for t in tasks}
        tasks.sort(key=lambda t: -cost[t.candidate_id] if cost[t.candidate_id] > 0 else 0.0)
        self._start()
        for task in tasks:
            self.backend.submit(task)
        self.n_dispatched += len(tasks)
        self._in_flight += len(tasks)

    @property
    def n_open(self) -> int:
        """Candidates submitted and not yet finished."""
        return len(self._open)

    def poll(self, timeout: float | None = 1.0) -> list[tuple[Candidate, Evaluation]]:
        """The candidates finished since the last call, waiting up to
        ``timeout`` seconds for one when none has."""
        if not self._finished and self._in_flight:
            self._receive(timeout)
        done, self._finished = self._finished, []
        out: list[tuple[Candidate, Evaluation]] = []
        for c, ev in done:
            out.append((c, ev))
            for alias in self._aliases.pop(c.id, []):
                out.append((alias, ev))
        return out

    def _receive(self, timeout: float | None) -> None:
        finished = self.backend.wait(timeout=timeout)
        if not finished:
            if self.on_idle is not None:
                self.on_idle()
            if self.backend.n_pending == 0:  # None: the backend does not say
                raise RuntimeError(f"the backend lost {self._in_flight} task(s)")
            return
        n_tasks = self._n_tasks
        more: list[Task] = []
        for task, result in finished:
            self._in_flight -= 1
            st = self._open.get(task.candidate_id)
            if st is None:
                continue  # its candidate was already given up (a timeout)
            c = st.candidate
            if result.status in ("crashed", "timeout") and math.isnan(result.score):
                result.score = self._error_score
            if result.status != "ok" and not result.metrics:
                result.metrics = self.objective.error_metrics(result.score)
            self.fold_cache[(c.key, task.fold)] = result
            if self.on_fold is not None:
                self.on_fold(c.key, task.fold, c.id, result)
            st.got[task.fold] = result
            if result.status in ("timeout", "pruned") and len(st.got) < n_tasks:
                # a timeout gives the candidate up whole; a pruned fold, the folds after it
                low = 0 if result.status == "timeout" else task.fold + 1
                ids = {f"{c.id}:{k}" for k in range(low, n_tasks) if k not in st.got}
                self._in_flight -= len(self.backend.cancel(ids))
            more.extend(self._advance(st))
        self._send(more)

    def evaluate(
        self,
        candidates: Sequence[Candidate],
        on_result: Callable[[Evaluation], None] | None = None,
        *,
        race: Race | None = None,
        prune: Sequence[Bounds] | None = None,
    ) -> list[Evaluation]:
        """Evaluate ``candidates`` and return their evaluations in the same order
        (:meth:`submit`, then :meth:`poll` until every one is back)."""
        self.submit(candidates, on_result, race=race, prune=prune)
        out: dict[int, Evaluation] = {}
        while len(out) < len(candidates):
            for c, ev in self.poll():
                out[c.id] = ev
        return [out[c.id] for c in candidates]

    def close(self) -> None:
        if self._started:
            self.backend.shutdown()
            self._started = False


def summarise_failures(evaluations: Sequence[Evaluation], limit: int = 3) -> str:
    """The distinct error texts of failed evaluations (status ``failed``,
    ``timeout`` or ``crashed``), most frequent first; the counts add up to the
    number of failed evaluations.

    Examples
    --------
    >>> ev = Evaluation(0, 0, "initial", "k", {}, [0.0], 0.0, 0.0, 0.1, 0.0,
    ...                 status="failed", error="ValueError: bad C")
    >>> print(summarise_failures([ev, ev]))
    2 evaluation(s) failed with: ValueError: bad C
    """
    tally: dict[str, int] = {}
    for e in evaluations:
        if e.status in FAILED_STATUSES:
            text = e.error or e.status
            tally[text] = tally.get(text, 0) + 1
    items = sorted(tally.items(), key=lambda kv: -kv[1])
    lines = [f"{n} evaluation(s) failed with: {text}" for text, n in items[:limit]]
    rest = sum(n for _, n in items[limit:])
    if rest:
        lines.append(f"{rest} evaluation(s) failed with other errors")
    return "\n".join(lines)
