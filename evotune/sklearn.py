"""``EvolutionarySearchCV``: a scikit-learn search estimator on evotune's engine.

A drop-in for :class:`~sklearn.model_selection.RandomizedSearchCV`: the same
constructor arguments where they mean the same, the same fitted attributes,
``cv_results_`` in scikit-learn's documented format. The search itself is
evotune's: the evolution, the evaluator and its cache, the process pool, the
journal and resume.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import get_tags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_method_params, indexable

from evotune._cv_results import (
    cv_results_from_evaluations,
    metric_names_of,
    multimetric_refit_message,
)
from evotune._faces import (
    check_settings,
    evolve_settings,
    param_distributions_of,
    settings_constraints,
)
from evotune.objective import CrossValScore, MetricNotReturned
from evotune.result import Result
from evotune.run import evolve
from evotune.space import Space

__all__ = ["EvolutionarySearchCV", "cv_results_from_evaluations"]


def _front_with_rows(result: Result) -> Any:
    """The Pareto front with each candidate's row of ``cv_results_``."""
    assert result.pareto_front is not None
    row_of = {int(i): k for k, i in enumerate(result.history["id"])}
    front = result.pareto_front.copy()
    front.insert(0, "cv_results_index", [row_of[int(i)] for i in front["id"]])
    return front


def _warn_if_exhausted(result: Result, n_iter: int | None) -> None:
    """scikit-learn's warning when the space holds fewer candidates than ``n_iter``."""
    if n_iter is not None and result.stop_reason == "exhausted" and result.n_evaluations < n_iter:
        warnings.warn(
            f"The total space of parameters {result.n_evaluations} is smaller than "
            f"n_iter={n_iter}. Running {result.n_evaluations} iterations. For exhaustive "
            "searches, use GridSearchCV.",
            UserWarning,
            stacklevel=3,
        )


class EvolutionarySearchCV(BaseSearchCV):
    """Evolutionary search over hyperparameters, a drop-in for ``RandomizedSearchCV``.

    Parameters
    ----------
    estimator : estimator object
        Fitted on every (candidate, fold) with the candidate's parameters set.
    param_distributions : dict, list of dicts or Space
        What ``RandomizedSearchCV`` takes: a dict of lists, ranges and frozen
        ``scipy.stats`` distributions (any, through their cdf and ppf), or a
        list of such dicts, a conditional space whose dicts may give one name
        different ranges (``cv_results_`` shows the public names only); or a
        :class:`~evotune.Space`. ``{}`` is one candidate, the estimator as given.
    n_iter : int, default=None
        The number of candidates evaluated, as in ``RandomizedSearchCV``: an
        exact cap, reached unless a stop rule (``patience``, ``time_budget``,
        a callback) ends the run first or the space holds fewer candidates.
        The search chooses ``population_size`` (half of ``n_iter``, between
        2 and 20) and ``generations`` from it unless they are set; a
        ``max_evaluations`` other than ``n_iter``, or ``population_size *
        generations`` below it, is an error. None: 10, as in scikit-learn,
        when none of ``population_size``, ``generations`` and
        ``max_evaluations`` is set; else they decide the budget (20 genomes,
        10 generations for the one left unset).
    scoring, n_jobs, refit, cv, verbose, error_score, return_train_score
        As in :class:`~sklearn.model_selection.RandomizedSearchCV`. With a
        multi-metric ``scoring``, the metric named by ``refit`` is the fitness
        (the first metric when ``refit`` is a callable or False); a callable
        ``scoring`` may return a dict of metrics, as in scikit-learn. Without
        ``y`` the scorer is called as ``scorer(estimator, X)``. A NaN score is
        a score (status ``nan`` in ``history_``, ranked last, with
        scikit-learn's "non-finite" warning); failed fits warn with
        ``FitFailedWarning``. ``n_jobs`` is the number of worker processes
        (``-1``: all cores); the search gives the same ``cv_results_`` for
        every value.
    pre_dispatch : int or str, default="2*n_jobs"
        Accepted for compatibility with scikit-learn's searches, and ignored:
        evotune's pool sends each worker one task at a time, so no task waits
        in memory beyond those running (``in_flight`` sets how many candidates
        an asynchronous strategy runs at once).
    max_steps : int, default=None
        Train each fold in this many steps (``partial_fit`` calls, or a
        warm-started ``n_estimators`` / ``max_iter`` grown in equal parts),
        its validation score reported after each, so that ``prune`` can stop
        a hopeless training: ``EvolutionarySearchCV(MLPClassifier(), ...,
        max_steps=30, prune=MedianPruner())``. See :class:`~evotune.CrossValScore`.
    random_state : int, RandomState or None
        The seed of the whole search: every candidate, fold order given to
        the workers and tie. It does not seed ``estimator`` or an unseeded
        ``cv`` splitter: give them their own ``random_state``, as in
        scikit-learn, for a search that repeats exactly.
    population_size : int, default=None
        Genomes per generation; None: chosen from ``n_iter`` (see above).
    generations : int, default=None
        Generations, the initial population counted; None: as many as
        ``n_iter`` needs (see above).
    max_evaluations : int, default=None
        The same cap as ``n_iter``, under evotune's name.
    param_space : deprecated
        The old name of ``param_distributions``; it still works, with a
        ``FutureWarning``, and will be removed in evotune 0.4.
    strategy, crossover_prob, mutation_prob, elitism, \
tournament_size, time_budget, patience, initial_sampling, \
initial_population, screening, racing, prune, in_flight
        As in :func:`evotune.evolve`; a raced or pruned candidate's unrun
        splits are NaN in ``cv_results_`` and it ranks last.
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
    backend : Backend or {"serial", "process", "dask", "ray"}, optional
        As in :func:`evotune.evolve`: ``"dask"`` starts a local Dask cluster of
        ``n_jobs`` workers, ``"ray"`` a local Ray; a :class:`~evotune.DaskBackend`
        or :class:`~evotune.RayBackend` runs on an existing one.
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
        Set even when ``fit`` is stopped by Ctrl-C: the evaluations that finished.
    result_ : Result
        The :class:`~evotune.Result` of the search (the partial one after
        Ctrl-C), with its plots: ``search.result_.plot_progress()``.
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
    ...                               param_distributions={"C": loguniform(1e-2, 1e2)},
    ...                               n_iter=8, cv=3, random_state=0)
    >>> search.fit(X, y).best_score_ > 0.9
    True
    >>> len(search.cv_results_["params"])
    8
    """

    refit: Any  # set in __init__ with every other parameter
    #: the budget when neither n_iter nor any of population_size, generations
    #: and max_evaluations is set: RandomizedSearchCV's default n_iter
    _default_n_iter: ClassVar[int | None] = 10

    _parameter_constraints: ClassVar[dict] = {
        **BaseSearchCV._parameter_constraints,
        "param_distributions": [dict, list, Space, None],
        "param_space": [dict, list, Space, StrOptions({"deprecated"})],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_steps": [Interval(numbers.Integral, 1, None, closed="left"), None],
        **settings_constraints(),
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any = None,
        *,
        n_iter: int | None = None,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        pre_dispatch: Any = "2*n_jobs",
        max_steps: int | None = None,
        population_size: int | None = None,
        generations: int | None = None,
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
        prune: Any = None,
        in_flight: int | None = None,
        objectives: Mapping[str, Any] | None = None,
        checkpoint: Any = None,
        resume: bool = False,
        timeout: float | None = None,
        max_tasks_per_worker: int | None = None,
        worker_memory_limit: int | str | None = None,
        backend: Any = None,
        callbacks: Sequence[Any] = (),
        param_space: Any = "deprecated",
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

    def _fitness_metric(self, multimetric: bool, refit_metric: Any) -> str | None:
        """The metric that is the fitness, for the objective: the refit metric of
        a multi-metric scoring; for a callable scoring (which may return a dict
        of metrics), the one ``refit`` names, or ``"score"`` with ``refit=True``
        (so that a dict is refused as scikit-learn refuses it); else None."""
        if multimetric:
            return refit_metric if isinstance(refit_metric, str) else None
        if callable(self.scoring):
            if isinstance(self.refit, str):
                return self.refit
            return "score" if self.refit is True else None
        return None

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

    def set_callbacks(self, *callbacks: Any) -> EvolutionarySearchCV:
        """Refused: scikit-learn's fit callbacks are not supported.

        Their hooks follow each fit of each candidate inside the search's
        process, which evotune's worker processes, cache and resume cannot
        honour. Pass evotune's own callbacks (``callbacks=``, called at each
        generation's end) instead. ``set_callbacks()`` without callbacks is
        accepted (there is nothing to set).

        Raises
        ------
        NotImplementedError
            When any callback is given.
        """
        if callbacks:
            raise NotImplementedError(
                "EvolutionarySearchCV does not support scikit-learn's set_callbacks "
                f"(got {len(callbacks)} callback(s)): the search runs its fits through "
                "evotune's engine and workers, not scikit-learn's fit tasks. Use the "
                "'callbacks' parameter (evotune callbacks, called at each generation's end)."
            )
        return self

    def _run_search(self, evaluate_candidates: Any, *, callback_ctx: Any = None) -> None:
        raise NotImplementedError("EvolutionarySearchCV runs evotune's engine in fit()")

    def _evolve(self, objective: CrossValScore, space: Space) -> Result:
        """The search itself; after Ctrl-C, what finished is kept as
        ``result_`` and ``history_`` before the KeyboardInterrupt goes on."""
        try:
            return evolve(objective, space, direction="maximize", **evolve_settings(self))
        except MetricNotReturned as exc:  # a callable scoring's dict without `refit`
            raise ValueError(multimetric_refit_message(self.refit) + f" ({exc})") from None
        except KeyboardInterrupt as exc:
            partial = getattr(exc, "result", None)
            if partial is not None:
                self.result_, self.history_ = partial, partial.history
            raise

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
        given = param_distributions_of(self, required=True)
        space = given if isinstance(given, Space) else Space(given)
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        if cv.get_n_splits(X, y, **routed.splitter.split) == 0:
            raise ValueError(
                "No fits were performed. Was the CV iterator empty? Were there no candidates?"
            )
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
            metric=self._fitness_metric(multimetric, refit_metric),
            max_steps=self.max_steps,
        )
        result = self._evolve(objective, space)
        _warn_if_exhausted(result, self.n_iter)
        error_score = float(self.error_score) if not isinstance(self.error_score, str) else np.nan
        metric_names = metric_names_of(result.evaluations, objective.metric_names_)
        if callable(self.scoring) and list(metric_names) != ["score"]:
            # a callable scoring that returned a dict: a multi-metric search,
            # as scikit-learn finds it from the first scores
            multimetric, refit_metric = True, self.refit
        results = cv_results_from_evaluations(
            result.evaluations,
            metric_names,
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
