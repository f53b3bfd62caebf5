"""The tools under comparison: evotune and its peers, each on its public API.

Every runner takes a :class:`~benchmarks.cases.Case`, a seed, ``n_jobs``, the
budget and the population size, runs one search and returns a
:class:`SearchOutput`. The peers (Optuna, sklearn-genetic-opt) are imported
inside their runners, so this module imports without them.

Wall time covers the search only (data are loaded before the clock starts);
``refit=False`` everywhere, since evotune's ``evolve`` does not refit either.
"""

from __future__ import annotations

import functools
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from benchmarks.cases import Case, Param, effective_key, evotune_space

# the spaces used to live here: still importable from this module
from benchmarks.spaces import ga_shape, grid_levels, sklearn_distributions, sklearn_grid

__all__ = [
    "SUITE_PEERS",
    "TOOLS",
    "VARIANTS",
    "SearchOutput",
    "ga_shape",
    "grid_levels",
    "run_tool",
    "sklearn_distributions",
    "sklearn_grid",
]


@dataclass
class SearchOutput:
    """What one search did, in the units the figures need.

    ``scores`` and ``times`` have one entry per evaluation the tool requested,
    in its order: the mean CV score (NaN if it failed) and the seconds since
    the search started at which that evaluation was done.
    """

    best_score: float
    wall: float
    scores: list[float]
    times: list[float]
    time_source: str  # "measured" or "estimated" (see README)
    n_requested: int
    n_distinct: int
    fit_score_time: float  # sum of fit and score seconds over every fit made
    workers: int
    best_params: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite_max(scores: Sequence[float]) -> float:
    finite = [s for s in scores if math.isfinite(s)]
    return max(finite) if finite else math.nan


def _best_params(params: Sequence[Mapping[str, Any]], scores: Sequence[float]) -> str:
    best = _finite_max(scores)
    for p, s in zip(params, scores):
        if s == best:
            return repr({k: (v.item() if hasattr(v, "item") else v) for k, v in p.items()})
    return ""


def _distinct(params: Sequence[Mapping[str, Any]], specs: Sequence[Param]) -> int:
    return len({effective_key(p, specs) for p in params})


def _estimated_times(costs: Sequence[float], wall: float) -> list[float]:
    """Completion times from cumulative fit cost scaled to the wall time.

    For searches that expose no per-candidate clock (scikit-learn's): the
    candidates are dispatched in order, so the i-th is done about when the
    first i candidates' share of the total compute has been spent.
    """
    total = float(sum(costs))
    if total <= 0:
        return [wall] * len(costs)
    return [wall * c / total for c in np.cumsum(costs)]


# ----------------------------------------------------------------- runners
Data = tuple[np.ndarray, np.ndarray]


def _sklearn_output(search: Any, wall: float, case: Case, workers: int) -> SearchOutput:
    res = search.cv_results_
    n_splits = int(search.n_splits_)
    scores = [float(s) for s in res["mean_test_score"]]
    costs = [
        (float(f) + float(s)) * n_splits
        for f, s in zip(res["mean_fit_time"], res["mean_score_time"])
    ]
    params = list(res["params"])
    return SearchOutput(
        best_score=_finite_max(scores),
        wall=wall,
        scores=scores,
        times=_estimated_times(costs, wall),
        time_source="estimated",
        n_requested=len(scores),
        n_distinct=_distinct(params, case.params),
        fit_score_time=float(sum(costs)),
        workers=workers,
        best_params=_best_params(params, scores),
    )


def run_random(
    case: Case, data: Data, seed: int, n_jobs: int, budget: int, pop: int
) -> SearchOutput:
    """scikit-learn ``RandomizedSearchCV`` with ``n_iter`` = budget."""
    from sklearn.model_selection import RandomizedSearchCV

    X, y = data
    start = time.perf_counter()
    search = RandomizedSearchCV(
        case.make_estimator(),
        sklearn_distributions(case),
        n_iter=budget,
        scoring=case.scoring,
        cv=case.cv(),
        n_jobs=n_jobs,
        random_state=seed,
        refit=False,
        error_score=np.nan,
    )
    search.fit(X, y)
    return _sklearn_output(search, time.perf_counter() - start, case, n_jobs)


def run_grid(case: Case, data: Data, seed: int, n_jobs: int, budget: int, pop: int) -> SearchOutput:
    """scikit-learn ``GridSearchCV`` on a coarse grid of about the budget's size."""
    from sklearn.model_selection import GridSearchCV

    X, y = data
    start = time.perf_counter()
    search = GridSearchCV(
        case.make_estimator(),
        sklearn_grid(case, budget),
        scoring=case.scoring,
        cv=case.cv(),
        n_jobs=n_jobs,
        refit=False,
        error_score=np.nan,
    )
    search.fit(X, y)
    return _sklearn_output(search, time.perf_counter() - start, case, n_jobs)


def run_gasearch(
    case: Case, data: Data, seed: int, n_jobs: int, budget: int, pop: int
) -> SearchOutput:
    """sklearn-genetic-opt ``GASearchCV``, population x (1 + 2 generations) ~ budget.

    It draws from the global ``random`` and ``numpy.random`` (and its
    ``Categorical`` reseeds ``random`` when made), so both are seeded after
    the space is built. It has no conditions: the flat product is searched.
    """
    from sklearn_genetic import GASearchCV
    from sklearn_genetic.space import Categorical, Continuous, Integer

    X, y = data
    p, g = ga_shape(budget, pop)
    start = time.perf_counter()
    grid: dict[str, Any] = {}
    for spec in case.params:
        if spec.kind == "cat":
            grid[spec.name] = Categorical(list(spec.choices))
        elif spec.kind == "int":
            grid[spec.name] = Integer(int(spec.low), int(spec.high))
        else:
            dist = "log-uniform" if spec.log else "uniform"
            grid[spec.name] = Continuous(spec.low, spec.high, distribution=dist)
    search = GASearchCV(
        case.make_estimator(),
        cv=case.cv(),
        param_grid=grid,
        scoring=case.scoring,
        population_size=p,
        generations=g,
        n_jobs=n_jobs,
        verbose=False,
        refit=False,
        error_score=np.nan,
    )
    random.seed(seed)
    np.random.seed(seed)
    search.fit(X, y)
    wall = time.perf_counter() - start
    res = search.cv_results_
    n_splits = int(search.n_splits_)
    scores = [float(s) for s in res["mean_test_score"]]
    params = list(res["params"])
    # a repeated individual is a cache hit (no fit): count each raw one once
    seen: set[tuple[Any, ...]] = set()
    costs = []
    for prm, f, s in zip(params, res["mean_fit_time"], res["mean_score_time"]):
        raw = tuple(sorted((k, repr(v)) for k, v in prm.items()))
        costs.append(0.0 if raw in seen else (float(f) + float(s)) * n_splits)
        seen.add(raw)
    return SearchOutput(
        best_score=_finite_max(scores),
        wall=wall,
        scores=scores,
        times=_estimated_times(costs, wall),
        time_source="estimated",
        n_requested=len(scores),
        n_distinct=_distinct(params, case.params),
        fit_score_time=float(sum(costs)),
        workers=n_jobs,
        best_params=_best_params(params, scores),
        extra={"population": p, "generations": g, "raw_distinct": len(seen)},
    )


def _suggest(trial: Any, case: Case) -> dict[str, Any]:
    """Define-by-run: a conditional parameter is suggested only where it is used."""
    params: dict[str, Any] = {}
    for p in sorted(case.params, key=lambda q: bool(q.when)):
        if not p.active(params):
            continue
        if p.kind == "cat":
            params[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        elif p.kind == "int":
            params[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
        else:
            params[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
    return params


def _run_optuna(
    case: Case, data: Data, n_jobs: int, budget: int, make_sampler: Callable[[], Any]
) -> SearchOutput:
    import optuna
    from sklearn.base import clone
    from sklearn.model_selection import cross_validate

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = data
    start = time.perf_counter()
    began = time.time()
    estimator = case.make_estimator()
    cv = case.cv()

    def objective(trial: Any) -> float:
        model = clone(estimator).set_params(**_suggest(trial, case))
        res = cross_validate(model, X, y, cv=cv, scoring=case.scoring, error_score=np.nan)
        trial.set_user_attr("cost", float(np.sum(res["fit_time"]) + np.sum(res["score_time"])))
        return float(np.mean(res["test_score"]))

    study = optuna.create_study(direction="maximize", sampler=make_sampler())
    # n_jobs runs trials on threads (Optuna's own parallelism)
    study.optimize(objective, n_trials=budget, n_jobs=n_jobs, catch=(Exception,))
    wall = time.perf_counter() - start
    trials = sorted(study.trials, key=lambda t: t.number)
    scores = [
        float(t.value) if t.value is not None and math.isfinite(t.value) else math.nan
        for t in trials
    ]
    times = [
        t.datetime_complete.timestamp() - began if t.datetime_complete is not None else wall
        for t in trials
    ]
    params = [dict(t.params) for t in trials]
    return SearchOutput(
        best_score=_finite_max(scores),
        wall=wall,
        scores=scores,
        times=times,
        time_source="measured",
        n_requested=len(trials),
        n_distinct=_distinct(params, case.params),
        fit_score_time=float(sum(t.user_attrs.get("cost", 0.0) for t in trials)),
        workers=n_jobs,
        best_params=_best_params(params, scores),
    )


def run_tpe(case: Case, data: Data, seed: int, n_jobs: int, budget: int, pop: int) -> SearchOutput:
    """Optuna ``TPESampler``, ``n_trials`` = budget, ``cross_validate`` in the objective."""
    import optuna

    return _run_optuna(case, data, n_jobs, budget, lambda: optuna.samplers.TPESampler(seed=seed))


def run_nsga2(
    case: Case, data: Data, seed: int, n_jobs: int, budget: int, pop: int
) -> SearchOutput:
    """Optuna ``NSGAIISampler`` with evotune's population size."""
    import optuna

    return _run_optuna(
        case,
        data,
        n_jobs,
        budget,
        lambda: optuna.samplers.NSGAIISampler(population_size=pop, seed=seed),
    )


def evotune_generations(budget: int, pop: int, elitism: int = 1) -> int:
    """Generations enough to spend the budget: elites are not evaluated again,
    so each generation after the first brings ``pop - elitism`` new candidates;
    ``max_evaluations`` then stops the run at exactly the budget."""
    return 1 + math.ceil(max(0, budget - pop) / max(1, pop - elitism)) + 1


def run_evotune(
    case: Case,
    data: Data,
    seed: int,
    n_jobs: int,
    budget: int,
    pop: int,
    checkpoint: str | None = None,
    **options: Any,
) -> SearchOutput:
    """``evotune.evolve`` on a ``CrossValScore``: population x generations ~ budget,
    capped at the budget by ``max_evaluations``; C5's space is conditional.
    ``options`` go to ``evolve`` (the technique variants: strategy, racing)."""
    from evotune import CrossValScore, evolve

    X, y = data
    stamps: dict[int, float] = {}

    class Stamp:
        """Clock each evaluation as it completes."""

        def on_evaluation(self, ev: Any) -> None:
            stamps[ev.candidate_id] = time.perf_counter()

    start = time.perf_counter()
    objective = CrossValScore(case.make_estimator(), X, y, cv=case.cv(), scoring=case.scoring)
    result = evolve(
        objective,
        evotune_space(case),
        population_size=pop,
        generations=evotune_generations(budget, pop),
        max_evaluations=budget,
        n_jobs=n_jobs,
        random_state=seed,
        callbacks=[Stamp()],
        checkpoint=checkpoint,
        **options,
    )
    wall = time.perf_counter() - start
    hist = result.history
    names = [p.name for p in case.params]
    params = [
        {n: row[f"param_{n}"] for n in names if row[f"param_{n}"] is not None}
        for row in hist.to_dict("records")
    ]
    scores = [float(s) if s is not None else math.nan for s in hist["mean_score"]]
    times = [stamps.get(int(i), start + wall) - start for i in hist["id"]]
    return SearchOutput(
        best_score=float(result.best_score),
        wall=wall,
        scores=scores,
        times=times,
        time_source="measured",
        n_requested=len(hist),
        n_distinct=_distinct(params, case.params),
        fit_score_time=float(hist["fit_time"].sum() + hist["score_time"].sum()),
        workers=n_jobs,
        best_params=repr(result.best_params),
        extra={
            "stop_reason": result.stop_reason,
            "folds_fitted": int(hist.filter(like="split").notna().to_numpy().sum()),
            "raced": int((hist["status"] == "raced").sum()),
        },
    )


Runner = Callable[[Case, Data, int, int, int, int], SearchOutput]


def _more(name: str) -> Runner:
    """A runner of :mod:`benchmarks.peers_more`, imported when it runs (no import cycle)."""

    def run(case: Case, data: Data, seed: int, n_jobs: int, budget: int, pop: int) -> SearchOutput:
        from benchmarks.peers_more import RUNNERS

        return RUNNERS[name](case, data, seed, n_jobs, budget, pop)

    run.__name__ = run.__qualname__ = name
    return run


TOOLS: dict[str, Runner] = {
    "RandomizedSearchCV": run_random,
    "GridSearchCV": run_grid,
    "GASearchCV": run_gasearch,
    "OptunaTPE": run_tpe,
    "OptunaNSGAII": run_nsga2,
    "evotune": run_evotune,
    # the model-based peers, added for the public suite (benchmarks.suite)
    "OptunaCMAES": _more("run_cmaes"),
    "BayesSearchCV": _more("run_skopt"),
    "hyperopt": _more("run_hyperopt"),
    "SMAC": _more("run_smac"),
}
# not run by default by ``python -m benchmarks`` (its cases and timings predate them)
SUITE_PEERS = ("OptunaCMAES", "BayesSearchCV", "hyperopt", "SMAC")

# evotune's techniques one by one (not peers: run them with --tools)
VARIANTS: dict[str, Runner] = {
    "evotune-steady": functools.partial(run_evotune, strategy="steady_state"),
    "evotune-racing": functools.partial(run_evotune, racing=True),
    "evotune-ga": functools.partial(run_evotune, strategy="ga"),
    "evotune-model": functools.partial(run_evotune, strategy="model_based"),
}


def run_tool(
    tool: str, case: Case, data: Data, seed: int, n_jobs: int, budget: int, pop: int
) -> SearchOutput:
    """Run ``tool`` (a key of :data:`TOOLS`) once."""
    try:
        runner = {**TOOLS, **VARIANTS}[tool]
    except KeyError:
        raise ValueError(
            f"unknown tool {tool!r}; the tools are {sorted(TOOLS) + sorted(VARIANTS)}"
        ) from None
    return runner(case, data, seed, n_jobs, budget, pop)
