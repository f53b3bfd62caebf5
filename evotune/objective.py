"""``CrossValScore``: the cross-validated score of an estimator as an objective.

Built only on public scikit-learn API. The folds are split once, when the
objective is made, so every candidate is scored on the same folds and a worker
process needs nothing but this object to score any (candidate, fold) task.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing

from evotune.evaluation import FoldResult, _error_text

__all__ = ["CrossValScore"]


def _index_fit_param(value: Any, indices: np.ndarray, n_samples: int) -> Any:
    # Per-sample arrays (sample_weight and the like) follow the fold; anything
    # else is passed unchanged, as scikit-learn's cross_validate does.
    if hasattr(value, "__len__") and not isinstance(value, (str, bytes, Mapping)):
        try:
            if len(value) == n_samples:
                return _safe_indexing(value, indices)
        except TypeError:
            pass
    return value


class CrossValScore:
    """The mean cross-validated score of ``estimator`` with a parameter set.

    Parameters
    ----------
    estimator : estimator object
        Cloned for every fold; the candidate's parameters are set on the clone
        with ``set_params``, so nested names such as ``svc__C`` work.
    X : array-like or DataFrame of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), optional
    cv : int, cross-validation generator or iterable, default=5
        As in :func:`sklearn.model_selection.cross_val_score`; stratified for
        classifiers when an int.
    scoring : str or callable, optional
        A scorer name or ``scorer(estimator, X, y)``; default the estimator's
        ``score``. Higher is better, as everywhere in scikit-learn.
    groups : array-like, optional
        Group labels for group-aware splitters.
    fit_params : dict, optional
        Passed to ``fit``; per-sample arrays are split with the folds.
    error_score : 'raise' or float, default=np.nan
        Score of a fold whose fit or scoring raises. With ``'raise'`` the error
        stops the run.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> obj = CrossValScore(LogisticRegression(max_iter=200), X, y, cv=3)
    >>> obj.n_tasks
    3
    >>> round(obj.run({"C": 1.0}, 0, 0).score, 2) > 0.9
    True
    """

    def __init__(
        self,
        estimator: Any,
        X: Any,
        y: Any = None,
        *,
        cv: Any = 5,
        scoring: Any = None,
        groups: Any = None,
        fit_params: Mapping[str, Any] | None = None,
        error_score: Any = np.nan,
    ) -> None:
        if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
            raise TypeError(
                f"CrossValScore: 'estimator' must be a scikit-learn estimator with fit and "
                f"get_params, got {estimator!r}"
            )
        if not (
            (isinstance(error_score, str) and error_score == "raise")
            or (isinstance(error_score, numbers.Real) and not isinstance(error_score, bool))
        ):
            raise ValueError(
                f"CrossValScore: 'error_score' must be 'raise' or a number, got {error_score!r}"
            )
        if fit_params is not None and not isinstance(fit_params, Mapping):
            raise TypeError(
                f"CrossValScore: 'fit_params' must be a dict, got {type(fit_params).__name__}"
            )
        n_samples: int = int(X.shape[0]) if hasattr(X, "shape") else len(X)
        if y is not None and len(y) != n_samples:
            raise ValueError(
                f"CrossValScore: 'X' and 'y' have different numbers of samples: "
                f"{n_samples} and {len(y)}"
            )
        self.estimator = estimator
        self.X = X
        self.y = y
        self.cv = cv
        self.scoring = scoring
        self.groups = groups
        self.fit_params = dict(fit_params or {})
        self.error_score = error_score
        if groups is not None and len(groups) != n_samples:
            raise ValueError(
                f"CrossValScore: 'groups' must have one label per sample ({n_samples}), "
                f"got {len(groups)}"
            )
        self.scorer_ = check_scoring(estimator, scoring=scoring)
        try:
            splitter = check_cv(cv, y, classifier=is_classifier(estimator))
            self.splits_: list[tuple[np.ndarray, np.ndarray]] = [
                (np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, y, groups)
            ]
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"CrossValScore: 'cv' cannot split the data ({cv!r}): {exc}") from None
        if not self.splits_:
            raise ValueError(f"CrossValScore: 'cv' gave no train/test split ({cv!r})")
        self.n_samples_ = int(n_samples)

    def fingerprint(self) -> dict[str, Any]:
        """Shape and hash of the data, folds and estimator: what must not
        change between a run and its resume."""
        import joblib

        shape = list(getattr(self.X, "shape", (self.n_samples_,)))
        return {
            "objective": "CrossValScore",
            "X_shape": [int(v) for v in shape],
            "y_shape": None if self.y is None else [len(self.y)],
            "data_hash": joblib.hash((self.X, self.y, self.groups)),
            "folds_hash": joblib.hash(self.splits_),
            "fit_params_hash": joblib.hash(self.fit_params),
            "estimator": repr(self.estimator),
            "scoring": repr(self.scoring),
            "n_folds": self.n_tasks,
        }

    @property
    def n_tasks(self) -> int:
        """One task per fold."""
        return len(self.splits_)

    def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult:
        """Fit on fold ``task``'s training part and score its test part."""
        train, test = self.splits_[task]
        X_train, X_test = _safe_indexing(self.X, train), _safe_indexing(self.X, test)
        y_train = None if self.y is None else _safe_indexing(self.y, train)
        y_test = None if self.y is None else _safe_indexing(self.y, test)
        fit_params = {
            k: _index_fit_param(v, train, self.n_samples_) for k, v in self.fit_params.items()
        }
        start = time.perf_counter()
        fit_time = score_time = 0.0
        try:
            model = clone(self.estimator).set_params(**params)
            model.fit(X_train, y_train, **fit_params)
            fit_time = time.perf_counter() - start
            start = time.perf_counter()
            score = self.scorer_(model, X_test, y_test)
            score_time = time.perf_counter() - start
            if isinstance(score, Mapping):
                raise TypeError("multi-metric scoring is not supported by CrossValScore")
            score = float(score)
        except Exception as exc:
            if isinstance(self.error_score, str):
                raise
            elapsed = time.perf_counter() - start
            if fit_time == 0.0:
                fit_time = elapsed
            else:
                score_time = elapsed
            return FoldResult(
                score=float(self.error_score),
                fit_time=fit_time,
                score_time=score_time,
                status="failed",
                error=_error_text(exc),
            )
        return FoldResult(score=score, fit_time=fit_time, score_time=score_time)

    def __repr__(self) -> str:
        return (
            f"CrossValScore({self.estimator!r}, cv={self.n_tasks} folds, scoring={self.scoring!r})"
        )
