"""``EvolutionaryFeatureSelector``: genetic feature selection as a scikit-learn selector.

The genome is a :class:`~evotune.FeatureMask` (one bit per column, with a bound
on the number kept) and, with ``param_distributions``, the estimator's hyperparameters
next to it, so the mask and the parameters evolve together. Each candidate is
scored by cross-validation of a two-step :class:`~sklearn.pipeline.Pipeline`,
a column-selecting step that takes the mask, then the estimator. That one
picklable :class:`~evotune.CrossValScore` objective serves every candidate, so
the process pool, the Dask backend, the journal and resume work as for any run.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    TransformerMixin,
    _fit_context,
    clone,
    is_classifier,
)
from sklearn.feature_selection import SelectorMixin
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _estimator_has, check_is_fitted, validate_data

from evotune._faces import (
    check_settings,
    evolve_settings,
    param_distributions_of,
    settings_constraints,
)
from evotune.objective import CrossValScore
from evotune.records import FoldResult
from evotune.result import Result
from evotune.run import evolve
from evotune.space import FeatureMask, Space

__all__ = ["EvolutionaryFeatureSelector"]

#: the name of the mask in the genome, the history and ``best_params``
MASK = "mask"
_STEP, _MODEL = "select", "estimator"


class _ColumnMask(TransformerMixin, BaseEstimator):
    """Keep the columns where ``mask`` is True (every column when None)."""

    def __init__(self, mask: Sequence[bool] | None = None) -> None:
        self.mask = mask

    def fit(self, X: Any, y: Any = None) -> _ColumnMask:
        n = int(X.shape[1])
        if self.mask is not None and len(self.mask) != n:
            raise ValueError(f"the feature mask has {len(self.mask)} entries, the data {n} columns")
        self.n_features_in_ = n
        return self

    def transform(self, X: Any) -> Any:
        if self.mask is None:
            return X
        return _safe_indexing(X, np.flatnonzero(np.asarray(self.mask, dtype=bool)), axis=1)


def _route(params: Mapping[str, Any]) -> dict[str, Any]:
    """The space's names as the pipeline's: the mask to its step, the rest to
    the estimator."""
    return {
        (f"{_STEP}__mask" if name == MASK else f"{_MODEL}__{name}"): value
        for name, value in params.items()
    }


class _SelectionObjective(CrossValScore):
    """:class:`CrossValScore` of ``Pipeline([select, estimator])`` that takes
    the parameters by the space's names (``mask``, the estimator's own)."""

    def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult:
        return super().run(_route(params), task, seed)


def _n_features_kept(model: Any) -> float:
    """The number of columns a fitted selection pipeline keeps (the measure
    behind the ``"n_features"`` objective)."""
    mask = model.named_steps[_STEP].mask
    if mask is None:
        return float(model.named_steps[_STEP].n_features_in_)
    return float(np.count_nonzero(mask))


class _OnEstimator:
    """A user's ``measure(fitted_estimator)`` applied to the pipeline's estimator."""

    def __init__(self, measure: Callable[[Any], float]) -> None:
        self.measure = measure

    def __call__(self, model: Any) -> float:
        return float(self.measure(model.named_steps[_MODEL]))


_COUNT = [
    Interval(numbers.Integral, 1, None, closed="left"),
    Interval(RealNotInt, 0, 1, closed="right"),
]


class EvolutionaryFeatureSelector(SelectorMixin, MetaEstimatorMixin, BaseEstimator):
    """Feature selection by evolution: a genetic search over column masks.

    Each candidate is a :class:`~evotune.FeatureMask` (one bit per column,
    between ``min_features`` and ``max_features`` set), scored by the
    cross-validated score of ``estimator`` on the columns it keeps. Offspring
    come from uniform crossover and bit-flip mutation, and are repaired back
    within the bounds. With ``param_distributions``, the estimator's hyperparameters
    are genes of the same genome, so mask and parameters evolve together.
    The best mask is then refitted on all the data.

    Parameters
    ----------
    estimator : estimator object
        Has ``fit``; cloned for every (candidate, fold) and for the refit.
    cv : int, cross-validation generator or iterable, default=5
        As in :func:`sklearn.model_selection.cross_val_score` (stratified for
        classifiers when an int). Every candidate is scored on the same folds.
    scoring : str or callable, optional
        A scorer name or ``scorer(estimator, X, y)``; default the estimator's
        ``score``. Higher is better.
    min_features, max_features : int or float, default=1 and None
        The fewest and the most columns kept; a float in (0, 1] is a fraction
        of the columns (at least one). ``max_features=None`` allows all.
    n_iter : int, default=None
        The number of candidates evaluated (an exact cap), with
        ``population_size`` and ``generations`` chosen from it unless set, as
        in :class:`~evotune.EvolutionarySearchCV`; None: the budget is
        ``population_size * generations`` (20 * 10 unless set: unlike the
        search, which takes scikit-learn's 10, a mask of many bits needs more).
    population_size : int, default=None
        Genomes per generation (None: 20, or chosen from ``n_iter``).
    generations : int, default=None
        The initial population counts as the first, so at most
        ``population_size * generations`` candidates are evaluated (None: 10,
        or as many as ``n_iter`` needs).
    n_jobs : int, default=None
        Worker processes (-1 for all cores; None means 1); the history is the
        same for every value.
    random_state : int, RandomState or None
        The one seed of the search (not of ``estimator`` or of an unseeded
        ``cv`` splitter: seed those for a search that repeats exactly).
    param_distributions : dict or Space, optional
        The estimator's hyperparameters to evolve with the mask, as for
        :class:`~evotune.EvolutionarySearchCV` (names as ``estimator``'s
        ``set_params`` takes them; ``"mask"`` is taken).
    param_space : deprecated
        The old name of ``param_distributions`` (a ``FutureWarning``; removed
        in evotune 0.4).
    objectives : dict, optional
        Several objectives for an NSGA-II search, the first the primary one:
        ``{"score": "maximize", "n_features": "minimize"}`` trades the score
        against the number of columns kept. Other names: ``"fit_time"``,
        ``"score_time"``, or ``name: (direction, measure)`` with
        ``measure(fitted_estimator) -> float``. ``pareto_front_`` then holds
        the non-dominated candidates; ``support_`` is still the mask of the
        best score.
    strategy, crossover_prob, mutation_prob, elitism, tournament_size, \
initial_sampling, initial_population, screening, racing, prune, in_flight, max_evaluations, \
time_budget, patience, checkpoint, resume, timeout, max_tasks_per_worker, \
worker_memory_limit, backend, callbacks
        As in :func:`evotune.evolve`.
    error_score : 'raise' or float, default=np.nan
        Score of a fold whose fit fails; such a candidate is never the best.
    verbose : int, default=0
        Print a line per generation when > 0.

    Attributes
    ----------
    support_ : ndarray of bool, shape (n_features_in_,)
        The columns kept (also :meth:`get_support`).
    n_features_ : int
        The number of columns kept.
    estimator_ : estimator object
        ``estimator`` with ``best_params_``, fitted on the kept columns of all
        the data.
    best_score_ : float
        The mean cross-validated score of the best candidate.
    best_params_ : dict
        The best candidate's hyperparameters (empty without ``param_distributions``).
    history_ : DataFrame
        One row per evaluated candidate: ``param_mask`` (a tuple of booleans),
        the hyperparameters, the fold scores, times, status.
    hall_of_fame_, logbook_ : DataFrame
        As :class:`~evotune.Result`'s ``hall_of_fame`` and ``logbook``.
    pareto_front_ : DataFrame
        With ``objectives``: the non-dominated candidates, with one
        ``objective_<name>`` column per objective.
    result_ : Result
        The search's :class:`~evotune.Result`.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When ``X`` is a DataFrame with string column names.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(n_samples=120, n_features=8, n_informative=3,
    ...                            n_redundant=0, shuffle=False, random_state=0)
    >>> selector = EvolutionaryFeatureSelector(LogisticRegression(), cv=3, max_features=4,
    ...                                        population_size=6, generations=3,
    ...                                        random_state=0).fit(X, y)
    >>> 1 <= selector.n_features_ <= 4
    True
    >>> selector.transform(X).shape == (120, selector.n_features_)
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "estimator": [HasMethods(["fit"])],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
        "min_features": _COUNT,
        "max_features": [*_COUNT, None],
        "param_distributions": [dict, Space, None],
        "param_space": [dict, Space, StrOptions({"deprecated"})],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "error_score": [StrOptions({"raise"}), numbers.Real],
        "verbose": ["verbose"],
        **settings_constraints(),
    }

    def __init__(
        self,
        estimator: Any,
        *,
        cv: Any = 5,
        scoring: Any = None,
        min_features: float = 1,
        max_features: float | None = None,
        n_iter: int | None = None,
        population_size: int | None = None,
        generations: int | None = None,
        n_jobs: int | None = None,
        random_state: Any = None,
        param_distributions: Any = None,
        objectives: Mapping[str, Any] | None = None,
        strategy: Any = "model_based",
        crossover_prob: float = 0.7,
        mutation_prob: float = 0.3,
        elitism: int = 1,
        tournament_size: int = 4,
        initial_sampling: str = "lhs",
        initial_population: Any = None,
        screening: int = 4,
        racing: bool | int = False,
        prune: Any = None,
        in_flight: int | None = None,
        max_evaluations: int | None = None,
        time_budget: float | None = None,
        patience: int | None = None,
        error_score: Any = np.nan,
        checkpoint: Any = None,
        resume: bool = False,
        timeout: float | None = None,
        max_tasks_per_worker: int | None = None,
        worker_memory_limit: int | str | None = None,
        backend: Any = None,
        callbacks: Sequence[Any] = (),
        verbose: int = 0,
        param_space: Any = "deprecated",
    ) -> None:
        # scikit-learn stores every parameter as given, under its own name
        self.__dict__.update({k: v for k, v in locals().items() if k != "self"})

    def _validate_params(self) -> None:
        check_settings(self)  # evolve's message for a bad setting, before scikit-learn's
        super()._validate_params()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        sub = get_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = copy.deepcopy(sub.classifier_tags)
        tags.regressor_tags = copy.deepcopy(sub.regressor_tags)
        tags.target_tags.required = True
        tags.target_tags.multi_output = sub.target_tags.multi_output
        tags.input_tags.sparse = sub.input_tags.sparse
        tags.input_tags.allow_nan = sub.input_tags.allow_nan
        return tags

    # ----------------------------------------------------------------- fit
    def _bounds(self, n_features: int) -> tuple[int, int]:
        def count(name: str, value: Any) -> int:
            if isinstance(value, numbers.Integral):
                v = int(value)
            else:
                v = max(1, int(float(value) * n_features))
            if v > n_features:
                raise ValueError(
                    f"EvolutionaryFeatureSelector: '{name}' must be at most the number of "
                    f"features, {n_features}, got {name}={value!r}"
                )
            return v

        low = count("min_features", self.min_features)
        high = n_features if self.max_features is None else count("max_features", self.max_features)
        if low > high:
            raise ValueError(
                "EvolutionaryFeatureSelector: 'min_features' must be <= 'max_features', got "
                f"min_features={self.min_features!r} ({low} columns) and "
                f"max_features={self.max_features!r} ({high} columns)"
            )
        return low, high

    def _space(self, n_features: int) -> Space:
        low, high = self._bounds(n_features)
        given: dict[str, Any] = {}
        distributions = param_distributions_of(self, required=False)
        if distributions:  # {}, as None, tunes no hyperparameter
            given = dict(Space(distributions).items())
        if MASK in given:
            raise ValueError(
                f"EvolutionaryFeatureSelector: 'param_distributions' must not name {MASK!r}, "
                f"the name of the feature mask, got the names {list(given)}"
            )
        known = self.estimator.get_params(deep=True)
        unknown = [name for name in given if name not in known]
        if unknown:
            raise ValueError(
                f"EvolutionaryFeatureSelector: 'param_distributions' names {unknown[0]!r}, which "
                f"is not a parameter of {type(self.estimator).__name__}; its parameters are "
                f"{sorted(known)}"
            )
        mask = FeatureMask(n_features, min_features=low, max_features=high)
        return Space({MASK: mask, **given})

    def _objectives(self) -> dict[str, Any] | None:
        if self.objectives is None:
            return None
        out: dict[str, Any] = {}
        for name, spec in self.objectives.items():
            if name == "n_features" and isinstance(spec, str):
                out[name] = (spec, _n_features_kept)
            elif isinstance(spec, tuple) and len(spec) == 2 and callable(spec[1]):
                out[name] = (spec[0], _OnEstimator(spec[1]))
            else:
                out[name] = spec
        return out

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(
        self, X: Any, y: Any, *, groups: Any = None, **fit_params: Any
    ) -> EvolutionaryFeatureSelector:
        """Evolve the feature mask (and ``param_distributions``), then refit the best.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        groups : array-like of shape (n_samples,), optional
            Group labels for a group-aware ``cv`` splitter.
        **fit_params : dict
            Passed to the estimator's ``fit`` (per-sample arrays split with
            the folds).

        Returns
        -------
        self
        """
        X_in = X
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            # NaN only for an estimator that takes it: else a mask that leaves
            # out the NaN column would hide bad data
            ensure_all_finite=not get_tags(self).input_tags.allow_nan,
            multi_output=True,
        )
        space = self._space(int(X.shape[1]))
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        pipeline = Pipeline([(_STEP, _ColumnMask()), (_MODEL, self.estimator)])
        objective = _SelectionObjective(
            pipeline,
            X,
            y,
            cv=cv,
            scoring=self.scoring,
            groups=groups,
            fit_params={f"{_MODEL}__{k}": v for k, v in fit_params.items()},
            error_score=self.error_score,
        )
        settings = evolve_settings(self, objectives=self._objectives())
        result: Result = evolve(objective, space, direction="maximize", **settings)
        best = result.best_params
        if best is None:
            raise ValueError(
                "EvolutionaryFeatureSelector: no candidate got a finite score; see history_ "
                "for their errors"
            )
        self.result_ = result
        self.history_ = result.history
        self.hall_of_fame_ = result.hall_of_fame
        self.logbook_ = result.logbook
        if result.pareto_front is not None:
            self.pareto_front_ = result.pareto_front
        self.support_ = np.asarray(best[MASK], dtype=bool)
        self.n_features_ = int(self.support_.sum())
        self.best_params_ = {k: v for k, v in best.items() if k != MASK}
        self.best_score_ = float(result.best_score)
        self.estimator_ = clone(self.estimator).set_params(**clone(self.best_params_, safe=False))
        self.estimator_.fit(self.transform(X_in), y, **fit_params)
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self)
        return self.support_

    # ------------------------------------------------- delegated to estimator_
    @property
    def classes_(self) -> np.ndarray:
        """The classes of ``estimator_`` (a classifier)."""
        check_is_fitted(self)
        return self.estimator_.classes_

    @available_if(_estimator_has("predict"))
    def predict(self, X: Any) -> np.ndarray:
        """Predict with ``estimator_`` on the kept columns of ``X``."""
        check_is_fitted(self)
        return self.estimator_.predict(self.transform(X))

    @available_if(_estimator_has("score"))
    def score(self, X: Any, y: Any, **score_params: Any) -> float:
        """``estimator_``'s score on the kept columns of ``X``."""
        check_is_fitted(self)
        return float(self.estimator_.score(self.transform(X), y, **score_params))

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from ``estimator_`` on the kept columns of ``X``."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(self.transform(X))

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Class log-probabilities from ``estimator_`` on the kept columns of ``X``."""
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(self.transform(X))

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """``estimator_``'s decision function on the kept columns of ``X``."""
        check_is_fitted(self)
        return self.estimator_.decision_function(self.transform(X))
