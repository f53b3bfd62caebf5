"""Reported progress and pruning: stop a hopeless training early, the same way at any ``n_jobs``.

An objective reports its progress with :func:`report_step` (say, the
validation score after each epoch). With a pruning rule passed as
``evolve(..., prune=MedianPruner())``, each candidate is sent with
*bounds*: for each step, the value its report must reach. They are computed
when the candidate is asked, from the reports of the evaluations finished
before it (for a generational strategy: before its generation), fold by fold,
and never change afterwards. The worker compares each report with its bound
and stops the candidate itself by raising :class:`Pruned`, so no message goes
to the driver per report.

A decision depends only on the candidate's own reports and bounds frozen when
it was asked, so the history (reports and prune decisions included) is the
same at any ``n_jobs``, on any backend and after a resume. When several folds
of a candidate run at once, the lowest fold that is pruned decides: the folds
before it run to their end, those after it are dropped (their scores are NaN
whether or not they had finished), so the row does not depend on timing.

A pruned row has status ``"pruned"``; its mean score is over the folds it
ran, the pruned fold counting its last reported value; it ranks below every
complete evaluation and is never the best. Generation 0 is never pruned.

Examples
--------
>>> from evotune import Float, evolve
>>> def train(p):
...     value = 0.0
...     for epoch in range(10):
...         value = p["lr"] * (epoch + 1)      # a learning curve
...         report_step(epoch, value)          # may raise Pruned: let it through
...     return value
>>> r = evolve(train, {"lr": Float(0.0, 1.0)}, population_size=6, generations=3,
...            random_state=0, prune=MedianPruner(n_min_evaluations=3))
>>> sorted(set(r.history["status"]))
['ok', 'pruned']
>>> report_step(0, 1.0)   # outside a run: does nothing
"""

from __future__ import annotations

import math
import numbers
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evotune._validation import check_int
from evotune.records import FoldResult

__all__ = [
    "PRUNERS",
    "MedianPruner",
    "Pruned",
    "PruningRule",
    "SuccessiveHalvingPruner",
    "pruner_from_table",
    "report_step",
]

_LOCAL = threading.local()


class Pruned(Exception):
    """Raised by :func:`report_step` inside an objective whose candidate is
    pruned; evotune catches it and records the fold as ``"pruned"``.

    An objective that catches exceptions itself should let it through
    (``except Pruned: raise`` before ``except Exception``).
    """

    def __init__(self, step: int, value: float, bound: float) -> None:
        super().__init__(
            f"pruned: at step {step} its best value so far, {value:.6g}, is worse than "
            f"the bound {bound:.6g} that the evaluations before it set for that step"
        )
        self.step, self.value, self.bound = step, value, bound


class _BudgetSpent(Pruned):
    """The fold reported its budget of steps: it ends there, with its last
    value (a :class:`Pruned`, so an objective that lets those through lets it through)."""

    def __init__(self, step: int, value: float) -> None:
        Exception.__init__(self, f"stopped at its budget, step {step}")
        self.step, self.value, self.bound = step, value, math.nan


@dataclass(frozen=True)
class Bounds:
    """What a fold's reports must reach: ``sign * value >= sign * bound``
    at each step that has a bound (sign +1 when maximizing, -1 when minimizing);
    with a ``budget``, the fold stops (not pruned) after that many reports,
    its score the last value reported (a rung of ``strategy="hyperband"``)."""

    sign: float
    steps: Mapping[int, float]
    budget: int | None = None
    # the checkpoint the task continues from (a Trainable under strategy="pbt")
    resume_from: str | None = None


class _Reporter:
    """The reports of the task running in this thread, checked against its bounds."""

    __slots__ = ("best", "bounds", "reports")

    def __init__(self, bounds: Bounds | None) -> None:
        self.bounds = bounds
        self.reports: list[tuple[int, float]] = []
        self.best = math.nan

    def add(self, step: Any, value: Any) -> None:
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"report_step(step={step!r}): the step must be an int >= 0")
        step = int(step)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise ValueError(
                f"report_step(step={step}, value={value!r}): the value must be a finite number"
            )
        if self.reports and step <= self.reports[-1][0]:
            raise ValueError(
                f"report_step(step={step}): steps must increase, and step "
                f"{self.reports[-1][0]} was reported before it"
            )
        self.reports.append((step, number))
        bounds = self.bounds
        if bounds is None:
            return
        if math.isnan(self.best) or bounds.sign * (number - self.best) > 0:
            self.best = number
        bound = bounds.steps.get(step)
        if bound is not None and bounds.sign * (self.best - bound) < 0:
            raise Pruned(step, self.best, bound)
        if bounds.budget is not None and len(self.reports) >= bounds.budget:
            raise _BudgetSpent(step, number)


def report_step(step: int, value: float) -> None:
    """Report the value (say, the validation score) a training reached at ``step``.

    Called from inside an objective (a plain callable, or the estimator a
    :class:`~evotune.CrossValScore` fits); the steps of one task must
    increase. Under a pruning rule it raises :class:`Pruned` when the
    candidate falls behind its bound for that step. Outside an evotune run
    it does nothing.

    Parameters
    ----------
    step : int
        The step reached (an epoch, a number of trees), >= 0.
    value : float
        The value there, in the direction of the run (higher is better when
        maximizing); finite.

    Examples
    --------
    >>> report_step(3, 0.91)   # not under evotune: nothing happens
    """
    reporter = getattr(_LOCAL, "reporter", None)
    if reporter is not None:
        reporter.add(step, value)


def task_checkpoint() -> str | None:
    """The checkpoint the task running in this thread continues from, or None."""
    bounds = _task_bounds()
    return bounds.resume_from if bounds is not None else None


def task_budget() -> int | None:
    """The steps the task running in this thread may train for, or None."""
    bounds = _task_bounds()
    return bounds.budget if bounds is not None else None


def _task_bounds() -> Bounds | None:
    reporter = getattr(_LOCAL, "reporter", None)
    return reporter.bounds if reporter is not None else None


def run_task(
    objective: Any, params: dict[str, Any], fold: int, seed: int, bounds: Bounds | None = None
) -> FoldResult:
    """Run one task with its reports collected (and checked against ``bounds``).

    What every backend's worker calls: a :class:`Pruned` raised by the
    objective becomes a fold result with status ``"pruned"``, its score the
    best value the fold reported.
    """
    reporter = _Reporter(bounds)
    outer = getattr(_LOCAL, "reporter", None)
    _LOCAL.reporter = reporter
    start = time.perf_counter()
    try:
        result: FoldResult = objective.run(params, fold, seed)
    except _BudgetSpent as spent:
        result = FoldResult(score=spent.value, fit_time=time.perf_counter() - start)
    except Pruned as exc:
        result = FoldResult(
            score=exc.value, fit_time=time.perf_counter() - start, status="pruned", error=str(exc)
        )
    finally:
        _LOCAL.reporter = outer
    result.reports = list(reporter.reports)
    return result


# ------------------------------------------------------------------ rules
class PruningRule:
    """The protocol of a pruning rule: the bounds of one fold, from the
    reports of that fold in the evaluations finished before the candidate.

    ``curves`` holds one ``{step: value}`` per reference evaluation and
    ``statuses`` their statuses; ``sign`` is +1 when maximizing, -1 when
    minimizing. Returns ``{step: bound}`` (empty: no pruning yet).
    """

    def bounds(
        self, curves: Sequence[Mapping[int, float]], statuses: Sequence[str], sign: float
    ) -> dict[int, float]:
        raise NotImplementedError


class MedianPruner(PruningRule):
    """Prune a candidate whose best value so far is worse than the median of
    the complete evaluations' values at the same step (on the same fold).

    Parameters
    ----------
    n_warmup_steps : int, default=0
        Steps below this are never judged.
    n_min_evaluations : int, default=4
        Complete evaluations that must have reached a step before it is judged.

    Examples
    --------
    >>> MedianPruner().bounds([{0: 1.0}, {0: 3.0}, {0: 2.0}, {0: 5.0}], ["ok"] * 4, 1.0)
    {0: 2.5}
    """

    def __init__(self, n_warmup_steps: int = 0, n_min_evaluations: int = 4) -> None:
        self.n_warmup_steps = check_int("n_warmup_steps", n_warmup_steps, low=0)
        self.n_min_evaluations = check_int("n_min_evaluations", n_min_evaluations, low=1)

    def bounds(
        self, curves: Sequence[Mapping[int, float]], statuses: Sequence[str], sign: float
    ) -> dict[int, float]:
        complete = [c for c, s in zip(curves, statuses) if s == "ok"]
        by_step: dict[int, list[float]] = {}
        for curve in complete:
            for step, value in curve.items():
                if step >= self.n_warmup_steps:
                    by_step.setdefault(step, []).append(value)
        return {
            step: float(np.median(values))
            for step, values in sorted(by_step.items())
            if len(values) >= self.n_min_evaluations
        }

    def __repr__(self) -> str:
        return (
            f"MedianPruner(n_warmup_steps={self.n_warmup_steps}, "
            f"n_min_evaluations={self.n_min_evaluations})"
        )


class SuccessiveHalvingPruner(PruningRule):
    """Successive halving: at the rungs ``min_resource * reduction_factor**k``
    (k >= ``min_early_stopping_rate``) a candidate goes on only if its best
    value so far is among the top ``1 / reduction_factor`` of the values the
    evaluations before it reached at that rung (complete or pruned there or later).

    Parameters
    ----------
    min_resource : int, default=1
        The step of the first rung.
    reduction_factor : int, default=3
        η: one in η goes on at each rung.
    min_early_stopping_rate : int, default=0
        Rungs skipped before the first that prunes.

    Examples
    --------
    >>> rule = SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    >>> rule.bounds([{1: 0.1, 2: 0.4}, {1: 0.3, 2: 0.5}, {1: 0.2}], ["ok", "ok", "pruned"], 1.0)
    {1: 0.3, 2: 0.5}
    """

    def __init__(
        self, min_resource: int = 1, reduction_factor: int = 3, min_early_stopping_rate: int = 0
    ) -> None:
        self.min_resource = check_int("min_resource", min_resource, low=1)
        self.reduction_factor = check_int("reduction_factor", reduction_factor, low=2)
        self.min_early_stopping_rate = check_int(
            "min_early_stopping_rate", min_early_stopping_rate, low=0
        )

    def rungs(self, last: int) -> list[int]:
        """The rung steps up to ``last``."""
        out, k = [], self.min_early_stopping_rate
        while (step := self.min_resource * self.reduction_factor**k) <= last:
            out.append(step)
            k += 1
        return out

    def bounds(
        self, curves: Sequence[Mapping[int, float]], statuses: Sequence[str], sign: float
    ) -> dict[int, float]:
        last = max((max(c) for c in curves if c), default=-1)
        out: dict[int, float] = {}
        for step in self.rungs(last):
            values = sorted((c[step] for c in curves if step in c), key=lambda v: -sign * v)
            if len(values) < self.reduction_factor:
                continue
            out[step] = float(values[max(1, len(values) // self.reduction_factor) - 1])
        return out

    def __repr__(self) -> str:
        return (
            f"SuccessiveHalvingPruner(min_resource={self.min_resource}, "
            f"reduction_factor={self.reduction_factor}, "
            f"min_early_stopping_rate={self.min_early_stopping_rate})"
        )


#: the rules an experiment file names (``[search.prune] rule = "median"``)
PRUNERS: dict[str, type[PruningRule]] = {
    "median": MedianPruner,
    "successive_halving": SuccessiveHalvingPruner,
}


def pruner_from_table(table: Mapping[str, Any]) -> PruningRule:
    """The rule of an experiment file's ``prune`` table: ``rule`` names it,
    the other keys are its parameters. Errors name the key.

    Examples
    --------
    >>> pruner_from_table({"rule": "median", "n_warmup_steps": 2})
    MedianPruner(n_warmup_steps=2, n_min_evaluations=4)
    """
    import inspect

    rule = table.get("rule")
    if rule not in PRUNERS:
        raise ValueError(f"prune.rule: must be one of {sorted(PRUNERS)}, got {rule!r}")
    cls = PRUNERS[rule]
    allowed = [n for n in inspect.signature(cls).parameters]
    params = {k: v for k, v in table.items() if k != "rule"}
    for k in params:
        if k not in allowed:
            raise ValueError(f"prune.{k}: unknown key for rule {rule!r}; allowed: {allowed}")
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"prune: {exc}") from None


def bounds_for(
    rule: PruningRule | None, evaluations: Sequence[Any], direction: str, n_folds: int
) -> list[Bounds] | None:
    """Each fold's bounds for the candidates asked now, from ``evaluations``
    (those finished so far), or None when nothing can be pruned yet."""
    if rule is None:
        return None
    sign = 1.0 if direction == "maximize" else -1.0
    statuses = [e.status for e in evaluations]
    out = []
    for fold in range(n_folds):
        curves = [dict(e.reports[fold]) if fold < len(e.reports) else {} for e in evaluations]
        out.append(Bounds(sign, rule.bounds(curves, statuses, sign)))
    if not any(b.steps for b in out):
        return None
    return out
