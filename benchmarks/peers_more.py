"""The model-based peers of the public suite, and evotune's strategy variants.

Each runner has the signature of :mod:`benchmarks.peers`' runners and returns
a :class:`~benchmarks.peers.SearchOutput` (scores in evaluation order, so the
best-so-far curves can be drawn); each uses the case's own folds
(``case.cv()``), scoring and estimator. The tools are imported inside their
runners. :data:`benchmarks.peers.TOOLS` and ``VARIANTS`` reach them lazily.

=================  ===========================================================
tool               how
=================  ===========================================================
``BayesSearchCV``  scikit-optimize, ``n_iter`` = budget, ``n_points=1``,
                   ``random_state`` = seed, its defaults (GP, ``gp_hedge``, 10
                   random initial points); ``Integer`` / ``Real`` (log-uniform
                   where the parameter is log) / ``Categorical``; no conditions:
                   the flat product (an inactive parameter is set, unused)
``hyperopt``       ``fmin(tpe.suggest, max_evals=budget, rstate=
                   np.random.default_rng(seed))``; conditional parameters are
                   nested under an ``hp.choice`` of their parent's values, so
                   TPE models each branch apart; a failed fit is
                   ``STATUS_FAIL``
``SMAC``           SMAC3 ``HyperparameterOptimizationFacade`` (random-forest
                   BO), ``n_trials`` = budget, ``deterministic=True``, ``seed``;
                   a ConfigSpace with an ``InCondition`` where ``Param.when`` is
                   set; output in a temporary directory; logging at ERROR;
                   a failed fit raises, so SMAC records a crashed trial
``OptunaCMAES``    Optuna ``CmaEsSampler(seed=seed, warn_independent_sampling=
                   False)``, ``n_trials`` = budget; CMA-ES models the numeric
                   parameters present in every trial; categorical and
                   conditional ones are sampled independently (at random)
=================  ===========================================================
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from benchmarks.cases import Case
from benchmarks.peers import (
    Data,
    SearchOutput,
    _best_params,
    _distinct,
    _finite_max,
    _run_optuna,
    _sklearn_output,
)
from benchmarks.spaces import configspace, flatten_hyperopt, hyperopt_space, skopt_space

__all__ = ["run_cmaes", "run_hyperopt", "run_skopt", "run_smac"]


class _Recorder:
    """Cross-validate a configuration and remember each evaluation in order.

    For the tools that call a function per configuration (hyperopt, SMAC):
    the score, the parameters, the completion time and the fit cost.
    """

    def __init__(self, case: Case, data: Data) -> None:
        self.case = case
        self.X, self.y = data
        self.estimator = case.make_estimator()
        self.cv = case.cv()
        self.start = time.perf_counter()
        self.scores: list[float] = []
        self.params: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.cost = 0.0

    def __call__(self, params: Mapping[str, Any]) -> float:
        from sklearn.base import clone
        from sklearn.model_selection import cross_validate

        params = {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}
        model = clone(self.estimator).set_params(**params)
        res = cross_validate(
            model, self.X, self.y, cv=self.cv, scoring=self.case.scoring, error_score=np.nan
        )
        score = float(np.mean(res["test_score"]))
        self.cost += float(np.sum(res["fit_time"]) + np.sum(res["score_time"]))
        self.scores.append(score if math.isfinite(score) else math.nan)
        self.params.append(params)
        self.times.append(time.perf_counter() - self.start)
        return score

    def output(self, n_jobs: int, **extra: Any) -> SearchOutput:
        return SearchOutput(
            best_score=_finite_max(self.scores),
            wall=time.perf_counter() - self.start,
            scores=self.scores,
            times=self.times,
            time_source="measured",
            n_requested=len(self.scores),
            n_distinct=_distinct(self.params, self.case.params),
            fit_score_time=self.cost,
            workers=n_jobs,
            best_params=_best_params(self.params, self.scores),
            extra=extra,
        )


def run_skopt(
    case: Case, data: Data, seed: int, n_jobs: int, budget: int, pop: int
) -> SearchOutput:
    """scikit-optimize ``BayesSearchCV``, ``n_iter`` = budget (see the module docstring)."""
    from skopt import BayesSearchCV

    X, y = data
    start = time.perf_counter()
    search = BayesSearchCV(
        case.make_estimator(),
        skopt_space(case),
        n_iter=budget,
        scoring=case.scoring,
        cv=case.cv(),
        n_jobs=n_jobs,
        n_points=1,
        random_state=seed,
        refit=False,
        error_score=np.nan,
    )
    search.fit(X, y)
    return _sklearn_output(search, time.perf_counter() - start, case, n_jobs)


def run_hyperopt(
    case: Case, data: Data, seed: int, n_jobs: int, budget: int, pop: int
) -> SearchOutput:
    """hyperopt ``fmin(tpe.suggest)``, ``max_evals`` = budget (serial: ``n_jobs`` unused)."""
    from hyperopt import STATUS_FAIL, STATUS_OK, Trials, fmin, tpe

    evaluate = _Recorder(case, data)

    def objective(point: Mapping[str, Any]) -> dict[str, Any]:
        score = evaluate(flatten_hyperopt(point))
        if not math.isfinite(score):
            return {"status": STATUS_FAIL}
        return {"loss": -score, "status": STATUS_OK}

    fmin(
        objective,
        hyperopt_space(case),
        algo=tpe.suggest,
        max_evals=budget,
        trials=Trials(),
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
        verbose=False,
    )
    return evaluate.output(1)


def run_smac(case: Case, data: Data, seed: int, n_jobs: int, budget: int, pop: int) -> SearchOutput:
    """SMAC3 ``HyperparameterOptimizationFacade``, ``n_trials`` = budget (serial)."""
    import logging

    from smac import HyperparameterOptimizationFacade, Scenario

    evaluate = _Recorder(case, data)

    def train(config: Any, seed: int = 0) -> float:
        score = evaluate(dict(config))
        if not math.isfinite(score):  # SMAC's way: a crashed trial (its crash_cost)
            raise RuntimeError("the cross-validation failed")
        return -score  # SMAC minimises

    with tempfile.TemporaryDirectory(prefix="smac-bench-") as tmp:
        scenario = Scenario(
            configspace(case, seed),
            deterministic=True,
            n_trials=budget,
            seed=seed,
            output_directory=tmp,
        )
        smac = HyperparameterOptimizationFacade(
            scenario, train, overwrite=True, logging_level=logging.ERROR
        )
        smac.optimize()
    return evaluate.output(1)


def run_cmaes(
    case: Case, data: Data, seed: int, n_jobs: int, budget: int, pop: int
) -> SearchOutput:
    """Optuna ``CmaEsSampler``, ``n_trials`` = budget (see the module docstring)."""
    import optuna

    def sampler() -> Any:
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)

    return _run_optuna(case, data, n_jobs, budget, sampler)


RUNNERS: dict[str, Callable[..., SearchOutput]] = {
    "run_skopt": run_skopt,
    "run_hyperopt": run_hyperopt,
    "run_smac": run_smac,
    "run_cmaes": run_cmaes,
}
