"""``EvolutionarySearchCV``: a scikit-learn search estimator on evotune's engine.

A drop-in for :class:`~sklearn.model_selection.RandomizedSearchCV`: the same
constructor arguments where they mean the same, the same fitted attributes,
``cv_results_`` in scikit-learn's documented format. The search itself is
evotune's: the evolution, the evaluator and its cache, the process pool, the
journal and resume.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.ma import MaskedArray
from scipy.stats import rankdata
from sklearn.base import clone, is_classifier
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import get_tags
from sklearn.utils.validation import _check_method_params, indexable

from evotune._faces import check_settings, evolve_settings, settings_constraints
from evotune.objective import CrossValScore
from evotune.records import Evaluation
from evotune.result import Result
from evotune.run import evolve
from evotune.space import Space

__all__ = ["EvolutionarySearchCV", "cv_results_from_evaluations"]


def _masked_params(params: Sequence[Mapping[str, Any]]) -> dict[str, MaskedArray]:
    """One masked array per parameter, masked where it was inactive, with the
    dtype scikit-learn's searches give (numeric where all values are, else object)."""
    values: dict[str, dict[int, Any]] = {}
    for i, p in enumerate(params):
        for name, value in p.items():
            values.setdefault(f"param_{name}", {})[i] = value
    out: dict[str, MaskedArray] = {}
    for key, by_index in values.items():
        items = list(by_index.values())
        try:
            arr = np.array(items)
            dtype = arr.dtype if arr.dtype.kind != "U" and arr.ndim == 1 else np.dtype(object)
        except ValueError:
            dtype = np.dtype(object)
        ma = MaskedArray(np.empty(len(params), dtype=dtype), mask=True)
        for i, value in by_index.items():
            ma[i] = value
        out[key] = ma
    return out


def _store(
    results: dict[str, Any],
    name: str,
    array: np.ndarray,
    *,
    splits: bool,
    rank: np.ndarray | None = None,
) -> None:
    if splits:
        for k in range(array.shape[1]):
            results[f"split{k}_{name}"] = array[:, k]
    means = array.mean(axis=1) if array.size else np.zeros(array.shape[0])
    results[f"mean_{name}"] = means
    results[f"std_{name}"] = (
        np.sqrt(((array - means[:, None]) ** 2).mean(axis=1)) if array.size else means
    )
    if rank is not None:
        results[f"rank_{name}"] = rank


def _rank(means: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """Rank 1 is best; non-finite and failed candidates tie for last, so a
    failure never outranks a real score whatever ``error_score`` it got."""
    m = np.where(failed | ~np.isfinite(means), np.nan, means)
    if np.isnan(m).all():
        return np.ones(len(m), dtype=np.int32)
    m = np.where(np.isnan(m), np.nanmin(m) - 1.0, m)
    return np.asarray(rankdata(-m, method="min"), dtype=np.int32)


def cv_results_from_evaluations(
    evaluations: Sequence[Evaluation],
    metric_names: Sequence[str],
    *,
    return_train_score: bool,
    error_score: float = math.nan,
) -> dict[str, Any]:
    """``cv_results_`` in scikit-learn's format, one row per evaluation.

    Examples
    --------
    >>> from evotune.records import Evaluation
    >>> ev = Evaluation(0, 0, "initial", "k", {"C": 1.0}, [0.9, 0.8], 0.85, 0.05, 0.2, 0.1,
    ...                 metrics=[{"test_score": 0.9}, {"test_score": 0.8}],
    ...                 fold_fit_times=[0.1, 0.1], fold_score_times=[0.05, 0.05])
    >>> res = cv_results_from_evaluations([ev], ["score"], return_train_score=False)
    >>> round(float(res["mean_test_score"][0]), 6), int(res["rank_test_score"][0])
    (0.85, 1)
    """
    n = len(evaluations)
    n_splits = max((len(e.fold_scores) for e in evaluations), default=0)

    def folds(values: list[float]) -> list[float]:
        return list(values) + [math.nan] * (n_splits - len(values))

    results: dict[str, Any] = {}
    fit = np.array([folds(e.fold_fit_times) for e in evaluations], dtype=float).reshape(n, n_splits)
    score = np.array([folds(e.fold_score_times) for e in evaluations], dtype=float).reshape(
        n, n_splits
    )
    _store(results, "fit_time", fit, splits=False)
    _store(results, "score_time", score, splits=False)
    results.update(_masked_params([e.params for e in evaluations]))
    results["params"] = [dict(e.params) for e in evaluations]
    failed = np.array([e.status != "ok" for e in evaluations], dtype=bool)
    prefixes = ["test", "train"] if return_train_score else ["test"]
    for name in metric_names:
        for prefix in prefixes:
            key = f"{prefix}_{name}"
            arr = np.array(
                [
                    [
                        m.get(key, error_score) if k < len(e.metrics) else error_score
                        for k, m in enumerate(list(e.metrics) + [{}] * (n_splits - len(e.metrics)))
                    ]
                    for e in evaluations
                ],
                dtype=float,
            ).reshape(n, n_splits)
            rank = None
            if prefix == "test":
                means = arr.mean(axis=1) if arr.size else np.zeros(n)
                rank = _rank(means, failed)
            _store(results, key, arr, splits=True, rank=rank)
    return results


def _front_with_rows(result: Result) -> Any:
    """The Pareto front with each candidate's row of ``cv_results_``."""
    assert result.pareto_front is not None
    row_of = {int(i): k for k, i in enumerate(result.history["id"])}
    front = result.pareto_front.copy()
    front.insert(0, "cv_results_index", [row_of[int(i)] for i in front["id"]])
    return front


class EvolutionarySearchCV(BaseSearchCV):
    """Evolutionary search over hyperparameters, a drop-in for ``RandomizedSearchCV``.

    Parameters
    ----------
    estimator : estimator object
        Fitted on every (candidate, fold) with the candidate's parameters set.
    param_space : Space or dict
        A :class:`~evotune.Space`, or the dict ``RandomizedSearchCV`` takes
        (lists, ``scipy.stats`` ``randint``, ``uniform``, ``loguniform``).
    scoring, n_jobs, refit, cv, verbose, error_score, return_train_score
        As in :class:`~sklearn.model_selection.RandomizedSearchCV`. With a
        multi-metric ``scoring``, the metric named by ``refit`` is the fitness
        (the first metric when ``refit`` is a callable or False). ``n_jobs``
        is the number of worker processes (``-1``: all cores); the search
        gives the same ``cv_results_`` for every value.
    random_state : int, RandomState or None
        The seed of the whole search.
    population_size, generations, strategy, crossover_prob, mutation_prob, elitism, \
tournament_size, max_evaluations, time_budget, patience, initial_sampling, \
initial_population, screening, racing, in_flight
        As in :func:`evotune.evolve`; a raced candidate's unrun splits are NaN
        in ``cv_results_`` and it ranks last; the budget is at most
        ``population_size * generations`` candidates.
    objectives : dict, optional
        Several objectives for an NSGA-II search, e.g. ``{"accuracy":
        "maximize", "fit_time": "minimize"}``: scorer names of ``scoring``,
        ``"score"`` (the single scorer), ``"fit_time"``, ``"score_time"``, or
        ``name: (direction, measure)`` with ``measure(fitted_estimator) ->
        float`` (e.g. ``lambda m: m.get_n_leaves()``). ``pareto_front_`` then
        holds the non-dominated candidates. ``refit`` picks one of them:
        ``True`` or a scorer name, the best score of that scorer (on the front
        by definition); ``"knee"``, the front's knee point (after scaling each
        objective to [0, 1] over the front, the point farthest beyond the
        line through the extremes: the best trade-off); a callable, as in
        scikit-learn (it gets ``cv_results_`` and returns an index).
    checkpoint : path, optional
        A run directory that journals the search; with ``resume=True`` a
        killed search continues where it stopped and ends where it would have.
    resume : bool, default=False
    timeout : float, optional
        Seconds one fold may take; a candidate past it is given up.
    max_tasks_per_worker, worker_memory_limit : int, str or None
        Worker recycling, as in :func:`evotune.evolve`: a worker process is
        replaced after this many tasks, or when its memory passes the limit
        after a task; ``cv_results_`` is the same with or without it.
    backend : Backend or {"serial", "process", "dask"}, optional
        As in :func:`evotune.evolve`: ``"dask"`` starts a local Dask cluster of
        ``n_jobs`` workers; a :class:`~evotune.DaskBackend` runs on an existing one.
    callbacks : sequence
        As in :func:`evotune.evolve`.

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) ndarrays
        One entry per evaluated candidate, in scikit-learn's format.
    best_estimator_, best_score_, best_params_, best_index_, scorer_, n_splits_, \
refit_time_, multimetric_
        As in scikit-learn's searches. A failed candidate always ranks last.
    history_ : DataFrame
        evotune's history (status, error, generation, origin of every row).
    hall_of_fame_ : DataFrame
    logbook_ : DataFrame
    pareto_front_ : DataFrame
        With ``objectives``: the non-dominated candidates, best primary
        objective first, with their ``cv_results_index``, parameters and one
        ``objective_<name>`` column per objective.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> search = EvolutionarySearchCV(LogisticRegression(max_iter=500),
    ...                               {"C": loguniform(1e-2, 1e2)}, cv=3,
    ...                               population_size=4, generations=2, random_state=0)
    >>> search.fit(X, y).best_score_ > 0.9
    True
    """

    refit: Any  # set in __init__ with every other parameter

    _parameter_constraints: ClassVar[dict] = {
        **BaseSearchCV._parameter_constraints,
        "param_space": [dict, Space],
        **settings_constraints(),
    }
    _parameter_constraints.pop("pre_dispatch", None)

    def __init__(
        self,
        estimator: Any,
        param_space: Any,
        *,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        population_size: int = 20,
        generations: int = 10,
        strategy: str = "model_based",
        crossover_prob: float = 0.7,
        mutation_prob: float = 0.3,
        elitism: int = 1,
        tournament_size: int = 4,
        max_evaluations: int | None = None,
        time_budget: float | None = None,
        patience: int | None = None,
        initial_sampling: str = "lhs",
        initial_population: Any = None,
        screening: int = 4,
        racing: bool | int = False,
        in_flight: int | None = None,
        objectives: Mapping[str, Any] | None = None,
        checkpoint: Any = None,
        resume: bool = False,
        timeout: float | None = None,
        max_tasks_per_worker: int | None = None,
        worker_memory_limit: int | str | None = None,
        backend: Any = None,
        callbacks: Sequence[Any] = (),
    ) -> None:
        # scikit-learn stores every parameter as given, under its own name
        self.__dict__.update({k: v for k, v in locals().items() if k != "self"})

    def _validate_params(self) -> None:
        check_settings(self)  # evolve's message for a bad setting, before scikit-learn's
        super()._validate_params()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # a search takes the targets its estimator takes (BaseSearchCV does not
        # pass this on, so a search over Ridge would wrongly warn on 2-D y)
        sub = get_tags(self.estimator).target_tags
        tags.target_tags.multi_output = sub.multi_output
        tags.target_tags.single_output = sub.single_output
        # the search slices folds with numpy; it does not claim Array API inputs
        tags.array_api_support = False
        return tags

    def _knee_index(self, result: Result) -> int:
        """The ``cv_results_`` row of the front's knee (see evotune._pareto.knee_index)."""
        from evotune._pareto import knee_index

        front = self.pareto_front_
        specs = dict(self.objectives or {})
        weights = [
            1.0 if (d if isinstance(d, str) else d[0]) == "maximize" else -1.0
            for d in specs.values()
        ]
        cols = [f"objective_{n}" for n in specs]
        points = front[cols].to_numpy(dtype=float) * np.asarray(weights)
        return int(front["cv_results_index"].iloc[knee_index(points)])

    def _scorers_for(self, knee: bool) -> tuple[Any, Any]:
        """scikit-learn's scorers and refit metric. With ``refit="knee"``
        (which picks from the Pareto front) they are set up as for a refit on
        the primary objective, or the first scorer."""
        if not knee:
            return self._get_scorers()
        saved = self.refit
        names = list(self.objectives or {})
        scoring_names = list(self.scoring) if isinstance(self.scoring, (list, tuple, dict)) else []
        self.refit = next((n for n in names if n in scoring_names), True)
        if self.refit is True and scoring_names:
            self.refit = scoring_names[0]
        try:
            return self._get_scorers()
        finally:
            self.refit = saved

    def _choose_best(
        self, result: Result, results: dict[str, Any], refit_metric: Any, knee: bool
    ) -> None:
        """``best_index_``, ``best_score_`` and ``best_params_``, as scikit-learn
        sets them (the front's knee with ``refit="knee"``)."""
        if knee:
            self.best_index_ = self._knee_index(result)
            self.best_score_ = float(results[f"mean_test_{refit_metric}"][self.best_index_])
            self.best_params_ = results["params"][self.best_index_]
        elif self.refit or not self.multimetric_:
            self.best_index_ = int(self._select_best_index(self.refit, refit_metric, results))
            if not callable(self.refit):
                self.best_score_ = float(results[f"mean_test_{refit_metric}"][self.best_index_])
            self.best_params_ = results["params"][self.best_index_]

    def _refit(self, X: Any, y: Any, fit_params: dict[str, Any]) -> None:
        """``best_estimator_``: the estimator with ``best_params_``, fitted on all the data."""
        self.best_estimator_ = clone(self.estimator).set_params(
            **clone(self.best_params_, safe=False)
        )
        start = time.time()
        if y is not None:
            self.best_estimator_.fit(X, y, **fit_params)
        else:
            self.best_estimator_.fit(X, **fit_params)
        self.refit_time_ = time.time() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_

    def _run_search(self, evaluate_candidates: Any, *, callback_ctx: Any = None) -> None:
        raise NotImplementedError("EvolutionarySearchCV runs evotune's engine in fit()")

    def fit(self, X: Any, y: Any = None, **params: Any) -> EvolutionarySearchCV:
        """Run the evolutionary search, then refit the best candidate.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), optional
        **params : dict
            ``groups`` goes to the splitter; other parameters go to the
            estimator's ``fit`` (per-sample arrays split with the folds) and
            ``sample_weight`` also to scorers that accept it, as scikit-learn
            routes them (metadata routing is honoured when enabled).

        Returns
        -------
        self
        """
        self._validate_params()
        knee = self.objectives is not None and isinstance(self.refit, str) and self.refit == "knee"
        scorers, refit_metric = self._scorers_for(knee)
        space = self.param_space if isinstance(self.param_space, Space) else Space(self.param_space)
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        multimetric = not (
            self.scoring is None or isinstance(self.scoring, str) or callable(self.scoring)
        )
        objective = CrossValScore(
            self.estimator,
            X,
            y,
            cv=cv,
            scoring=self.scoring,
            groups=routed.splitter.split.get("groups"),
            fit_params=routed.estimator.fit,
            score_params=routed.scorer.score,
            error_score=self.error_score,
            return_train_score=self.return_train_score,
            metric=refit_metric if multimetric and isinstance(refit_metric, str) else None,
        )
        result: Result = evolve(objective, space, direction="maximize", **evolve_settings(self))
        error_score = float(self.error_score) if not isinstance(self.error_score, str) else np.nan
        results = cv_results_from_evaluations(
            result.evaluations,
            objective.metric_names_,
            return_train_score=self.return_train_score,
            error_score=error_score,
        )
        self.multimetric_ = multimetric
        self.n_splits_ = objective.n_tasks
        self.history_ = result.history
        self.hall_of_fame_ = result.hall_of_fame
        self.logbook_ = result.logbook
        self.result_ = result
        if result.pareto_front is not None:
            self.pareto_front_ = _front_with_rows(result)
        self._choose_best(result, results, refit_metric, knee)
        if self.refit:
            self._refit(X, y, routed.estimator.fit)
        self.scorer_ = getattr(scorers, "_scorers", scorers)
        self.cv_results_ = results
        return self
