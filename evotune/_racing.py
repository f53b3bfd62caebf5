"""Racing over cross-validation folds: stop a candidate that cannot make the cut.

With racing on, a candidate's folds run one after another. After each fold
its scores so far are compared, fold by fold, with those of a *reference*: the
evaluation ranked ``top``-th among the complete evaluations known when the
candidate was asked (the boundary of the set it would have to enter). The
rule, after fold ``j`` of ``n`` (``j < n - 1``)::

    d = mean over folds i <= j of  sign * (score_i - reference_i)
    stop when  d < 0  and  d < -margin * std(reference's fold scores)

``sign`` is +1 when maximizing and -1 when minimizing; ``margin`` is 1. The
comparison is paired (the same folds of the same split), so the folds'
difficulty cancels out. A stopped candidate's row has status ``"raced"``, its
unrun folds are NaN and its mean is over the folds it ran; it ranks below
every complete evaluation and never becomes the best. The decision depends only
on the candidate's own fold scores and the reference, so the history is the
same at every ``n_jobs`` and a resumed run takes the same decisions.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MARGIN = 1.0


@dataclass(frozen=True)
class Race:
    """The reference a candidate races against."""

    reference: tuple[float, ...]
    sign: float
    margin: float = MARGIN

    @property
    def spread(self) -> float:
        return float(np.std(self.reference))

    def verdict(self, scores: Sequence[float]) -> str | None:
        """Why a candidate with these first fold scores stops, or None to go on."""
        j = len(scores)
        if j == 0 or j >= len(self.reference):
            return None
        if not all(math.isfinite(s) for s in scores):
            return None
        diffs = [self.sign * (s - r) for s, r in zip(scores, self.reference[:j])]
        d = float(np.mean(diffs))
        limit = -self.margin * self.spread
        if d < 0 and d < limit:
            return (
                f"raced: stopped after fold {j} of {len(self.reference)}: its scores trail "
                f"the reference's on the same folds by {abs(d):.6g} on average, more than "
                f"{self.margin:g} x the reference's fold spread ({self.spread:.6g})"
            )
        return None


def reference_for(
    evaluations: Sequence[Any], top: int, direction: str, n_folds: int
) -> Race | None:
    """The race for the next candidates: against the ``top``-th best complete
    evaluation, or None while fewer than ``top`` are complete (or one fold)."""
    if n_folds < 2 or top < 1:
        return None
    complete = [
        e
        for e in evaluations
        if e.status == "ok"
        and math.isfinite(e.mean_score)
        and len(e.fold_scores) == n_folds
        and all(math.isfinite(s) for s in e.fold_scores)
    ]
    if len(complete) < top:
        return None
    sign = 1.0 if direction == "maximize" else -1.0
    # stable sort: among equal means the earlier evaluation ranks first
    ranked = sorted(complete, key=lambda e: -sign * e.mean_score)
    ref = ranked[top - 1]
    return Race(tuple(float(s) for s in ref.fold_scores), sign)


def check_racing(value: Any) -> bool | int:
    """``racing`` as given to :func:`evotune.evolve`: a bool or an int >= 1."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) >= 1:
        return int(value)
    raise ValueError(
        "'racing' must be True, False or the size of the set a candidate must be able to "
        f"enter (an integer >= 1), got {value!r}"
    )


def resolve_top(racing: Any, population_size: int) -> int:
    """The size of the set a candidate must be able to enter: ``racing=True``
    is the better half of the population; an integer is taken as it is."""
    if racing is True:
        return max(1, population_size // 2)
    return int(racing)
