"""Checks of an experiment file that need its data: its folds and its scorer.

:func:`evotune.experiment.load_experiment` checks what the file says without
reading the data; ``evotune run`` then loads the data and calls
:func:`check_objective` before any file is written, so a run never starts
with folds or a scorer that would fail every candidate.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["check_objective"]


def _value_error(key: str, message: str) -> Exception:
    return ValueError(f"{key}: {message}")


def check_objective(
    estimator: Any,
    search: Mapping[str, Any],
    X: Any,
    y: Any,
    fail: Callable[[str, str], Exception] = _value_error,
) -> None:
    """Check ``search``'s ``cv`` and ``scoring`` against ``estimator`` and the data.

    Raises
    ------
    Exception
        ``fail(key, message)``: one line naming the key (``search.cv`` or
        ``search.scoring``); :mod:`evotune.experiment` passes its own, which
        raises :class:`~evotune.experiment.ExperimentError`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.svm import SVC
    >>> X, y = np.zeros((20, 2)), np.array([0, 1] * 10)
    >>> check_objective(SVC(), {"cv": 3, "scoring": "accuracy"}, X, y)
    >>> check_objective(SVC(), {"scoring": "acuracy"}, X, y)
    Traceback (most recent call last):
    ...
    ValueError: search.scoring: 'acuracy' is not a scikit-learn scorer name; did you mean 'accuracy'? (the names: sklearn.metrics.get_scorer_names())
    """  # noqa: E501
    from sklearn.base import is_classifier
    from sklearn.metrics import check_scoring, get_scorer_names
    from sklearn.model_selection import check_cv

    cv = search.get("cv", 5)
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise fail("search.cv", f"must be an int >= 2 (the number of folds), got {cv!r}")
    try:
        splitter = check_cv(cv, y, classifier=is_classifier(estimator))
        next(iter(splitter.split(X, y)))
    except ValueError as exc:
        raise fail("search.cv", f"{cv} folds cannot split these data: {exc}") from None
    scoring = search.get("scoring")
    if isinstance(scoring, str):
        names: list[Any] = [scoring]
    elif isinstance(scoring, Mapping):
        names = list(scoring.values())
    else:
        names = list(scoring or [])
    known = get_scorer_names()
    for name in names:
        if not isinstance(name, str) or name not in known:
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise fail(
                "search.scoring",
                f"{name!r} is not a scikit-learn scorer name{hint} "
                "(the names: sklearn.metrics.get_scorer_names())",
            )
    try:
        check_scoring(estimator, scoring=scoring)
    except (TypeError, ValueError) as exc:
        raise fail("search.scoring", str(exc)) from None
