"""``CrossValScore``: the cross-validated score of an estimator as an objective.

Built only on public scikit-learn API. The folds are split once, when the
objective is made, so every candidate is scored on the same folds and a worker
process needs nothing but this object to score any (candidate, fold) task.
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, get_tags

from evotune._objective import BaseObjective, error_text
from evotune._stepwise import check_stepwise, fit_stepwise
from evotune.pruning import Pruned
from evotune.records import FoldResult

__all__ = ["CrossValScore", "MetricNotReturned"]


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


def _hash(value: Any) -> str:
    """A hash of ``value`` for the fingerprint, whatever it holds.

    What pickles is hashed; a dict, list or tuple that does not is hashed part
    by part; a part that cannot be pickled at all (a lambda passed to ``fit``)
    is named by its type and qualified name. A fingerprint never fails a run.

    Examples
    --------
    >>> _hash({"w": [1, 2]}) == _hash({"w": [1, 2]})
    True
    >>> _hash({"callback": lambda m: None}) == _hash({"callback": lambda m: None})
    True
    """
    import joblib

    try:
        return str(joblib.hash(value))
    except Exception:  # something in it cannot be pickled
        pass
    if isinstance(value, Mapping):
        return str(joblib.hash(sorted((repr(k), _hash(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return str(joblib.hash([type(value).__name__, *(_hash(v) for v in value)]))
    kind = type(value)
    name = getattr(value, "__qualname__", None)
    return f"unpicklable {kind.__module__}.{kind.__qualname__}" + (f" {name}" if name else "")


def _pairwise(estimator: Any) -> bool:
    """Whether ``estimator`` takes a precomputed kernel or distance matrix as X."""
    try:
        return bool(get_tags(estimator).input_tags.pairwise)
    except Exception:  # an estimator without tags (not a BaseEstimator)
        return False


def _split_x(X: Any, rows: np.ndarray, train: np.ndarray, pairwise: bool) -> Any:
    """The rows of X for one side of a fold; for a pairwise estimator also the
    training columns only, as scikit-learn's ``_safe_split`` slices them."""
    if not pairwise:
        return _safe_indexing(X, rows)
    if not hasattr(X, "shape"):
        raise ValueError(
            "Precomputed kernels or affinity matrices have to be passed as arrays or "
            "sparse matrices."
        )
    if X.shape[0] != X.shape[1]:
        raise ValueError("X should be a square kernel matrix")
    return _safe_indexing(_safe_indexing(X, rows), train, axis=1)


def _split(
    cv: Any, estimator: Any, X: Any, y: Any, groups: Any
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds, split once; a splitter that gives none, or not as many as
    its ``get_n_splits`` says, is refused as scikit-learn's searches refuse it."""
    try:
        splitter = check_cv(cv, y, classifier=is_classifier(estimator))
        splits = [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, y, groups)]
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"CrossValScore: 'cv' cannot split the data ({cv!r}): {exc}") from None
    if not splits:
        raise ValueError(f"CrossValScore: 'cv' gave no train/test split ({cv!r})")
    expected = splitter.get_n_splits(X, y, groups)
    if expected != len(splits):
        raise ValueError(
            f"CrossValScore: 'cv' ({cv!r}): cv.split and cv.get_n_splits return "
            f"inconsistent results. Expected {expected} splits, got {len(splits)}"
        )
    return splits


class MetricNotReturned(ValueError):
    """The scorer returned a dict of metrics without the metric that is the
    fitness: a mistake in the search's set-up, not a failure of a candidate."""


def _check_measures(measures: Any) -> dict[str, Callable[[Any], float]]:
    if not isinstance(measures, Mapping) or not all(callable(f) for f in measures.values()):
        raise TypeError(
            "CrossValScore: 'measures' must be a dict of name -> callable(fitted estimator) "
            f"-> float, got {measures!r}"
        )
    return dict(measures)


def _metric_names(scoring: Any) -> list[str]:
    """Names of the scorers, as scikit-learn names them in ``cv_results_``."""
    if scoring is None or isinstance(scoring, str) or callable(scoring):
        return ["score"]
    if isinstance(scoring, Mapping):
        return [str(k) for k in scoring]
    if isinstance(scoring, (list, tuple, set, frozenset)):
        return [str(k) for k in scoring]
    raise TypeError(
        f"CrossValScore: 'scoring' must be None, a scorer name, a callable, a list or a "
        f"dict, got {scoring!r}"
    )


class CrossValScore(BaseObjective):
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
    scoring : str, callable, list or dict, optional
        A scorer name or ``scorer(estimator, X, y)`` (``scorer(estimator, X)``
        when ``y`` is None); default the estimator's ``score``. Higher is
        better, as everywhere in scikit-learn. A list or dict scores several
        metrics, and so does a callable that returns a dict ``{name: value}``;
        ``metric`` names the one that is the fitness (default: the first). A
        pairwise estimator (``SVC(kernel="precomputed")``) gets the fold's
        rows and its training columns of ``X``, as in scikit-learn.
    groups : array-like, optional
        Group labels for group-aware splitters.
    fit_params : dict, optional
        Passed to ``fit``; per-sample arrays are split with the folds.
    score_params : dict, optional
        Passed to the scorer (e.g. ``sample_weight``); per-sample arrays are
        split with the folds.
    error_score : 'raise' or float, default=np.nan
        Score of a fold whose fit or scoring raises. With ``'raise'`` the error
        stops the run.
    return_train_score : bool, default=False
        Also score the training part of each fold.
    metric : str, optional
        With multi-metric ``scoring``, the scorer whose mean is the fitness.
    measures : dict, optional
        ``name -> measure(fitted_estimator) -> float``, computed on each
        fold's fitted model (e.g. a tree's number of leaves) and kept in the
        fold's metrics as ``measure_<name>``; an objective of a
        multi-objective run can name it.
    max_steps : int, optional
        Train each fold in this many steps (``partial_fit`` calls, or a
        warm-started ``n_estimators`` / ``max_iter`` grown in equal parts),
        the fold's validation score reported after each with
        :func:`~evotune.report_step`, so that ``evolve(..., prune=...)`` can
        stop a hopeless training (see :mod:`evotune.pruning`).

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

    # failed fits warn in scikit-learn's category
    failure_warning: type[Warning] = FitFailedWarning

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
        score_params: Mapping[str, Any] | None = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        metric: str | None = None,
        measures: Mapping[str, Callable[[Any], float]] | None = None,
        max_steps: int | None = None,
    ) -> None:
        checked_measures = _check_measures(measures) if measures is not None else {}
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
        for name, value in (("fit_params", fit_params), ("score_params", score_params)):
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(
                    f"CrossValScore: '{name}' must be a dict, got {type(value).__name__}"
                )
        n_samples: int = int(X.shape[0]) if hasattr(X, "shape") else len(X)
        if y is not None and len(y) != n_samples:
            raise ValueError(
                f"CrossValScore: 'X' and 'y' have different numbers of samples: "
                f"{n_samples} and {len(y)}"
            )
        if groups is not None and len(groups) != n_samples:
            raise ValueError(
                f"CrossValScore: 'groups' must have one label per sample ({n_samples}), "
                f"got {len(groups)}"
            )
        self.estimator = estimator
        self.X = X
        self.y = y
        self.cv = cv
        self.scoring = scoring
        self.groups = groups
        self.fit_params = dict(fit_params or {})
        self.score_params = dict(score_params or {})
        self.error_score = error_score if isinstance(error_score, str) else float(error_score)
        self.return_train_score = bool(return_train_score)
        self.measures = checked_measures
        self.max_steps = check_stepwise(estimator, max_steps)
        self._template: tuple[dict[str, Any], Any] | None = None
        self.scorer_ = check_scoring(estimator, scoring=scoring)
        self.metric_names_ = _metric_names(scoring)
        if len(self.metric_names_) > 1 or (metric is not None and self.metric_names_ != ["score"]):
            if metric is None:
                metric = self.metric_names_[0]
            if metric not in self.metric_names_:
                raise ValueError(
                    f"CrossValScore: 'metric' must name one of the scorers "
                    f"{self.metric_names_}, got {metric!r}"
                )
        self.metric = metric if metric is not None else self.metric_names_[0]
        # a callable scorer may return a dict of metrics: the fitness is then
        # ``metric`` when one was named, else the dict's first metric
        self._metric_given = metric is not None
        self.splits_: list[tuple[np.ndarray, np.ndarray]] = _split(cv, estimator, X, y, groups)
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
            "data_hash": _hash((self.X, self.y, self.groups)),
            "folds_hash": joblib.hash(self.splits_),
            "fit_params_hash": _hash((self.fit_params, self.score_params)),
            "estimator": repr(self.estimator),
            "scoring": repr(self.scoring),
            "metric": self.metric,
            "return_train_score": self.return_train_score,
            "n_folds": self.n_tasks,
            **({"max_steps": self.max_steps} if self.max_steps is not None else {}),
            **({"measures": sorted(self.measures)} if self.measures else {}),
        }

    @property
    def n_tasks(self) -> int:
        """One task per fold."""
        return len(self.splits_)

    def _scores(self, model: Any, X: Any, y: Any, params: Mapping[str, Any]) -> dict[str, float]:
        # without targets (an unsupervised search) the scorer is called as
        # scorer(estimator, X), as scikit-learn calls it, so that a scorer
        # written with two arguments works
        args = (model, X) if y is None else (model, X, y)
        raw = self.scorer_(*args, **params)
        if isinstance(raw, Mapping):
            scores = {str(k): float(v) for k, v in raw.items()}
            if self.metric not in scores and getattr(self, "_metric_given", True):
                raise MetricNotReturned(
                    f"the scorer returned the metrics {sorted(scores)}, without "
                    f"{self.metric!r}, the metric that is the fitness"
                )
            return scores
        return {self.metric_names_[0]: float(raw)}

    def _fitness(self, scores: Mapping[str, float]) -> float:
        return scores.get(self.metric, next(iter(scores.values()), math.nan))

    def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult:
        """Fit on fold ``task``'s training part and score its test part.

        ``metrics`` of the result holds ``test_<name>`` (and ``train_<name>``
        with ``return_train_score``) for every scorer; ``score`` is the
        ``metric`` one, the fitness.
        """
        train, test = self.splits_[task]
        n = self.n_samples_
        fit_time = score_time = 0.0
        start = time.perf_counter()
        try:
            model = self._fresh_model(params)
            # times as scikit-learn's cross_validate counts them: the fit time
            # includes splitting the data, not cloning and setting parameters
            start = time.perf_counter()
            pairwise = _pairwise(model)
            X_train = _split_x(self.X, train, train, pairwise)
            X_test = _split_x(self.X, test, train, pairwise)
            y_train = None if self.y is None else _safe_indexing(self.y, train)
            y_test = None if self.y is None else _safe_indexing(self.y, test)
            fit_params = {k: _index_fit_param(v, train, n) for k, v in self.fit_params.items()}
            test_params = {k: _index_fit_param(v, test, n) for k, v in self.score_params.items()}
            if self.max_steps is not None:
                fit_stepwise(
                    model,
                    X_train,
                    y_train,
                    fit_params,
                    self.max_steps,
                    lambda m: self._fitness(self._scores(m, X_test, y_test, test_params)),
                    classes=np.unique(self.y) if is_classifier(model) else None,
                )
            elif y_train is None:
                model.fit(X_train, **fit_params)
            else:
                model.fit(X_train, y_train, **fit_params)
            fit_time = time.perf_counter() - start
            start = time.perf_counter()
            test_scores = self._scores(model, X_test, y_test, test_params)
            metrics = {f"test_{k}": v for k, v in test_scores.items()}
            if self.return_train_score:
                train_params = {
                    k: _index_fit_param(v, train, n) for k, v in self.score_params.items()
                }
                train_scores = self._scores(model, X_train, y_train, train_params)
                metrics.update({f"train_{k}": v for k, v in train_scores.items()})
            score_time = time.perf_counter() - start
            for name, measure in self.measures.items():
                metrics[f"measure_{name}"] = float(measure(model))
            score = self._fitness(test_scores)
        except Exception as exc:
            if isinstance(self.error_score, str) or isinstance(exc, (MetricNotReturned, Pruned)):
                raise
            elapsed = time.perf_counter() - start
            if fit_time == 0.0:
                fit_time = elapsed
            else:
                score_time = elapsed
            value = float(self.error_score)
            return FoldResult(
                score=value,
                fit_time=fit_time,
                score_time=score_time,
                status="failed",
                error=error_text(exc),
                metrics=self.error_metrics(value),
            )
        return FoldResult(score=score, fit_time=fit_time, score_time=score_time, metrics=metrics)

    def _fresh_model(self, params: dict[str, Any]) -> Any:
        """An unfitted estimator with ``params``.

        The parameter values are cloned too: an estimator among a categorical's
        choices must not be fitted in place and shared. The configured
        estimator of the last candidate is kept and deep-copied for its other
        folds: a copy costs a tenth of scikit-learn's clone and set_params (both
        introspect the constructor's signature), which on fits of milliseconds
        is most of the search's own overhead.
        """
        last = self._template
        if last is not None:
            try:
                same = bool(last[0] == params)
            except Exception:  # values whose == is not a bool (arrays)
                same = False
            if same:
                return copy.deepcopy(last[1])
        template = clone(self.estimator).set_params(**clone(params, safe=False))
        self._template = (dict(params), template)
        return copy.deepcopy(template)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_template"] = None  # a per-process cache, not part of the objective
        return state

    def with_measures(self, measures: Mapping[str, Callable[[Any], float]]) -> CrossValScore:
        """A copy that also computes ``measures`` on every fold's fitted model.

        ``measures`` (``name -> measure(fitted_estimator) -> float``) are added
        to this objective's own; this objective is not changed, and the copy
        shares its data, folds and estimator (which no fold changes).

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.tree import DecisionTreeClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> obj = CrossValScore(DecisionTreeClassifier(random_state=0), X, y, cv=2)
        >>> leaves = obj.with_measures({"leaves": lambda tree: tree.get_n_leaves()})
        >>> sorted(leaves.run({}, 0, 0).metrics), obj.measures
        (['measure_leaves', 'test_score'], {})
        """
        new = copy.copy(self)  # through __getstate__: without the estimator cache
        new.measures = {**self.measures, **_check_measures(measures)}
        new._template = None
        return new

    def pickle_parts(self) -> dict[str, Any]:
        """The estimator, data, scoring and parameters sent to the workers."""
        # one part per fit parameter, so that the error names the one that
        # cannot be sent (a lambda is fine: the workers receive it by value)
        return {
            "estimator": self.estimator,
            "X": self.X,
            "y": self.y,
            "groups": self.groups,
            "scoring": self.scoring,
            **{f"fit_params[{k!r}]": v for k, v in self.fit_params.items()},
            **{f"score_params[{k!r}]": v for k, v in self.score_params.items()},
            **{f"measures[{k!r}]": v for k, v in self.measures.items()},
        }

    def error_metrics(self, value: float) -> dict[str, float]:
        """The metrics of a fold that failed: ``value`` for every scorer."""
        out = {f"test_{k}": value for k in self.metric_names_}
        if self.return_train_score:
            out.update({f"train_{k}": value for k in self.metric_names_})
        out.update({f"measure_{k}": math.nan for k in self.measures})
        return out

    def __repr__(self) -> str:
        return (
            f"CrossValScore({self.estimator!r}, cv={self.n_tasks} folds, scoring={self.scoring!r})"
        )
