"""What the experiment trackers (MLflow, Weights & Biases) log of one
evaluation, written once: its numbers, and the rule that a value without a
finite number is not logged."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["as_finite", "evaluation_metrics"]


def as_finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite real number, else None.

    Trackers store NaN and infinities unevenly (some of MLflow's stores reject
    them), so a value without a number is not logged: a failed candidate's
    score, the unrun folds of a raced one.

    Examples
    --------
    >>> as_finite(2), as_finite(float("nan")), as_finite(True), as_finite("x")
    (2.0, None, None, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def evaluation_metrics(ev: Any) -> dict[str, Any]:
    """An evaluation's numbers: mean and std score, fit and score time, each
    fold's score (``split<k>_score``) and the mean over folds of each extra
    metric (``mean_<name>``, from its finite values; absent when it has none).
    The scores and times are as recorded: NaN stays NaN, for the caller to drop.
    """
    metrics: dict[str, Any] = {
        "mean_score": ev.mean_score,
        "std_score": ev.std_score,
        "fit_time": ev.fit_time,
        "score_time": ev.score_time,
    }
    for k, score in enumerate(ev.fold_scores):
        metrics[f"split{k}_score"] = score
    for name in sorted({name for fold in ev.metrics for name in fold}):
        values = [as_finite(fold.get(name)) for fold in ev.metrics]
        finite = [v for v in values if v is not None]
        if finite:
            metrics[f"mean_{name}"] = sum(finite) / len(finite)
    return metrics
