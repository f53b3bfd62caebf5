"""Training a scikit-learn estimator step by step, its validation score reported
after each step (``CrossValScore(..., max_steps=N)``), so that a pruning rule
can stop it early.

An estimator with ``partial_fit`` (``MLPClassifier``, ``SGDClassifier``, ...)
takes one ``partial_fit`` call per step: an epoch. One with ``warm_start`` and
``n_estimators`` (forests, boosting) or ``max_iter`` grows that count in
``max_steps`` equal parts, refitting warm each time, so its last step is the
estimator as configured.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from evotune._validation import check_int
from evotune.pruning import report_step

__all__ = ["check_stepwise", "fit_stepwise"]

_GROWN = ("n_estimators", "max_iter")


def _grown(estimator: Any) -> str | None:
    """The parameter a warm start grows, or None."""
    params = estimator.get_params(deep=False)
    if "warm_start" not in params:
        return None
    return next((name for name in _GROWN if isinstance(params.get(name), int)), None)


def check_stepwise(estimator: Any, max_steps: Any) -> int | None:
    """``max_steps`` as the run uses it, or a ValueError naming what is wrong."""
    steps = check_int("max_steps", max_steps, low=1, allow_none=True)
    if steps is None:
        return None
    if not hasattr(estimator, "partial_fit") and _grown(estimator) is None:
        raise ValueError(
            f"CrossValScore: 'max_steps' needs an estimator with partial_fit, or with "
            f"warm_start and n_estimators or max_iter; {type(estimator).__name__} has neither"
        )
    return steps


def fit_stepwise(
    model: Any,
    X: Any,
    y: Any,
    fit_params: dict[str, Any],
    max_steps: int,
    score: Callable[[Any], float],
    classes: Any = None,
) -> None:
    """Fit ``model`` in ``max_steps`` steps, reporting ``score(model)`` after each.

    ``classes``: every class of a classifier (``partial_fit`` needs them on
    its first call, when a fold's first batch may lack some).
    """
    if hasattr(model, "partial_fit"):
        extra: dict[str, Any] = {} if classes is None else {"classes": classes}
        for step in range(max_steps):
            args = (X,) if y is None else (X, y)
            model.partial_fit(*args, **extra, **fit_params)
            report_step(step, score(model))
        return
    name = _grown(model)
    assert name is not None  # checked when the objective was made
    total = int(model.get_params()[name])
    for step in range(max_steps):
        size = max(1, math.ceil(total * (step + 1) / max_steps))
        model.set_params(warm_start=True, **{name: size})
        if y is None:
            model.fit(X, **fit_params)
        else:
            model.fit(X, y, **fit_params)
        report_step(step, score(model))
