"""``evolve``: a run assembled from its settings.

It checks the settings (:mod:`evotune.settings`), builds the
:class:`~evotune.Evolution`, the backend, the run directory and the loop
(:mod:`evotune.loop`), and returns the :class:`~evotune.Result`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from evotune._objective import Objective, as_objective
from evotune._pareto import Objectives
from evotune._seeds import known_results, seeds_fingerprint
from evotune._validation import InvalidParameterError, check_random_state
from evotune.backends.factory import get_backend
from evotune.backends.process import check_picklable
from evotune.callbacks import as_callbacks
from evotune.engine import Evolution
from evotune.journal import RunDirectory, build_meta, peek_meta
from evotune.loop import _Loop
from evotune.result import Result
from evotune.settings import RunSettings, SearchSettings, settings_for
from evotune.space import Space
from evotune.strategies import for_objective
from evotune.trainable import TrainableObjective, is_trainable

__all__ = ["evolve"]


def evolve(
    objective: Any,
    space: Space | Mapping[str, Any],
    *,
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
    direction: str = "maximize",
    n_jobs: int | None = None,
    random_state: Any = None,
    callbacks: Iterable[Any] = (),
    initial_sampling: str = "lhs",
    initial_population: Any = None,
    screening: int = 4,
    racing: bool | int = False,
    prune: Any = None,
    in_flight: int | None = None,
    objectives: Mapping[str, Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    timeout: float | None = None,
    max_tasks_per_worker: int | None = None,
    worker_memory_limit: int | str | None = None,
    backend: Any = None,
) -> Result:
    """Tune ``space`` for ``objective`` by evolution and return a :class:`Result`.

    Parameters
    ----------
    objective : CrossValScore, callable or Trainable class
        A :class:`~evotune.CrossValScore`, any ``callable(params) -> float``,
        or a :class:`~evotune.Trainable` class (``strategy="pbt"`` or
        ``"hyperband"``: trainings continued from checkpoints).
    space : Space or dict
        The search space, or a scikit-learn ``param_distributions`` dict.
    population_size : int, default=20
    generations : int, default=10
        Counts the initial population as the first generation, so a run
        evaluates at most ``population_size * generations`` candidates.
    strategy : str or strategy object, default="model_based"
        A name of :data:`evotune.strategies.STRATEGY_NAMES`: ``"model_based"``
        (the default: Bayesian optimisation, asynchronous, a child proposed
        per told result by a Gaussian process of every evaluation so far; it
        takes ``in_flight`` but no GA parameter), ``"ga"``
        (generational, the best ``elitism`` parents survive, the rest are
        tournament-selected offspring), ``"mu_plus_lambda"`` /
        ``"mu_comma_lambda"`` (DEAP's varOr; survivors the best of parents and
        offspring, or of offspring alone), ``"steady_state"`` (asynchronous: a
        child bred per told result, applied in birth order), ``"nsga2"``,
        ``"random"`` (the space sampled with ``initial_sampling`` every
        generation), ``"grid"`` (every grid point, shuffled), ``"hyperband"``
        (successive-halving brackets over the steps an objective reports,
        each rung a generation) or ``"pbt"`` (population-based training of a
        Trainable, one segment a generation); or a strategy
        object such as ``evotune.strategies.GA(tournament_size=3)``, whose
        own parameters then apply.
    crossover_prob : float, default=0.7
    mutation_prob : float, default=0.3
    elitism : int, default=1
        Parents carried over unchanged (``"ga"`` only).
    tournament_size : int, default=4
    max_evaluations : int, optional
        Exact cap on the number of evaluations.
    time_budget : float, optional
        Seconds; no generation starts after it is spent.
    patience : int, optional
        Stop after this many generations without a better best score.
    direction : {"maximize", "minimize"}, default="maximize"
        scikit-learn scorers are all "higher is better".
    n_jobs : int, default=None
        Worker processes (-1 for all cores; None means 1). Any value but 1 runs the tasks
        on a supervised process pool; the history is the same for every value.
    random_state : int, Generator or None
        The one seed of the run. With ``checkpoint`` and no seed, a seed is
        drawn and stored in the run directory, so a resume is exact.
    callbacks : iterable
        Objects with ``on_generation_end(state)``, or callables taking the
        :class:`GenerationState`; returning True stops the run.
    initial_sampling : {"lhs", "sobol", "random"}, default="lhs"
    initial_population : list of dict, DataFrame, cv_results_ dict or path, optional
        A warm start: known parameter sets that open generation 0, best first
        (see :class:`Evolution`). Candidates whose scores the warm start
        already holds are taken as they are, never refitted: those of a run
        directory whose data fingerprint (data, folds, estimator, scoring)
        equals this run's, and those of a ``cv_results_`` dict with this
        objective's number of folds (seed it from a search on the same data
        and ``cv``: folds cannot be checked from ``cv_results_``).
    screening : int, default=4
        Surrogate screening of offspring (see :class:`Evolution`); 1 turns it off.
    racing : bool or int, default=False
        Racing over cross-validation folds: a candidate's folds run in order
        and it stops after a fold once its scores trail those of the
        ``racing``-th best complete evaluation (``True``: half the population)
        on the same folds by more than that reference's fold spread. Its row
        says ``raced``; it ranks below every complete evaluation and is never
        the best. Saves the fits of hopeless candidates; see
        :mod:`evotune._racing` for the rule.
    prune : MedianPruner or SuccessiveHalvingPruner, optional
        Pruning of trainings that report their progress with
        :func:`~evotune.report_step`: a candidate whose reports fall behind
        the bounds set by the evaluations finished before it is stopped; its
        row says ``pruned``, ranks below every complete evaluation and is
        never the best. See :mod:`evotune.pruning`.
    in_flight : int, optional
        Asynchronous strategies only (``"model_based"``, ``"steady_state"``):
        candidates evaluated at once (see :class:`Evolution`).
    objectives : dict, optional
        Several objectives, e.g. ``{"score": "maximize", "fit_time":
        "minimize"}``; a value may be ``(direction, measure)`` with
        ``measure(fitted_estimator) -> float`` (a :class:`CrossValScore`
        computes it on every fold). NSGA-II selection; the result's
        ``pareto_front`` holds the non-dominated evaluations (see
        :class:`Evolution`). Fit times vary from run to run, so a time
        objective makes the history depend on them (a resume still replays
        the journaled times exactly).
    checkpoint : path, optional
        A run directory: every asked generation and every finished fold is
        journaled there, and ``history.csv`` / ``hall_of_fame.csv`` are
        rewritten at a generation's end (at most once a second) and at the end.
    resume : bool, default=False
        Continue the run in ``checkpoint``: finished evaluations are taken
        from its journal, only the missing ones run. Raising ``generations``
        or ``max_evaluations`` extends a finished run.
    timeout : float, optional
        Seconds one task (one fold, or one call of a plain objective) may
        run; a task past it is killed and its candidate's row says
        ``timeout``. Runs tasks in worker processes even for ``n_jobs=1``.
    max_tasks_per_worker : int, optional
        Tasks a worker process runs before a fresh process replaces it (as
        ``multiprocessing``'s ``maxtasksperchild``), so memory that the
        objective leaks is given back. Runs tasks in worker processes even
        for ``n_jobs=1``; the history is the same with or without it. Not
        supported by ``backend="dask"``.
    worker_memory_limit : int or str, optional
        Bytes, or a string such as ``"2GB"`` or ``"512MiB"``: a worker process
        whose resident memory (RSS) exceeds it after a task is replaced by a
        fresh one before its next task (never mid-task, so no result is lost
        and the history is unchanged). Runs tasks in worker processes even
        for ``n_jobs=1``. With ``backend="dask"`` it is the local cluster's
        nanny ``memory_limit`` (Dask's own rule: a worker past it is
        restarted, mid-task if need be, and its task retried); an existing
        Dask cluster keeps its workers' own ``--memory-limit``.
    backend : Backend or {"serial", "process", "dask", "ray"}, optional
        Where tasks run; by default serial for ``n_jobs=1``, else a process pool.
        ``"dask"`` starts a local Dask cluster of ``n_jobs`` workers, ``"ray"``
        a local Ray of ``n_jobs`` CPUs; a :class:`~evotune.DaskBackend`
        (``DaskBackend("tcp://host:8786")``) or :class:`~evotune.RayBackend`
        (``RayBackend("auto")``) runs on an existing cluster. The history is
        the same on every backend.

    Returns
    -------
    Result

    Examples
    --------
    >>> from evotune import Float, Integer
    >>> res = evolve(lambda p: -(p["x"] - 0.3) ** 2 - (p["n"] - 4) ** 2,
    ...              {"x": Float(-1, 1), "n": Integer(0, 9)},
    ...              population_size=8, generations=5, random_state=0)
    >>> res.best_params["n"]
    4
    """
    values = dict(locals())
    del values["objective"], values["space"]
    search, run = settings_for(values)
    callback_list = as_callbacks(run.callbacks)
    obj, parsed = _objective_for(objective, search.objectives, run.checkpoint)
    search = replace(search, strategy=for_objective(search.strategy, search, obj, run.prune))
    space = space if isinstance(space, Space) else Space(space)
    evo = Evolution(
        space,
        budget=_budget(search.population_size, run),
        run_dir=Path(run.checkpoint) if run.checkpoint is not None else None,
        **{
            **vars(search),
            "random_state": _seed(search.random_state, run.checkpoint, run.resume),
            "objectives": parsed,
        },
    )
    runner = get_backend(
        run.backend,
        run.n_jobs,
        timeout=run.timeout,
        max_tasks_per_worker=run.max_tasks_per_worker,
        worker_memory_limit=run.worker_memory_limit,
    )
    if runner.needs_pickle:
        check_picklable(obj)  # a clear error now, before any work or any file
    directory = _run_directory(run, evo, search.initial_population, obj)
    known = known_results(search.initial_population, space, obj, obj.fingerprint())
    loop = _Loop(
        evo, obj, runner, directory, callback_list, racing=run.racing, known=known, prune=run.prune
    )
    try:
        return loop.run(
            generations=run.generations,
            max_evaluations=run.max_evaluations,
            time_budget=run.time_budget,
            patience=run.patience,
            resumed=run.resume,
        )
    finally:
        if isinstance(obj, TrainableObjective) and run.checkpoint is None:
            shutil.rmtree(str(obj.directory), ignore_errors=True)  # a temporary folder


def _objective_for(
    objective: Any, objectives: Any, checkpoint: Any = None
) -> tuple[Objective, Objectives | None]:
    """The run's objective and its parsed ``objectives``: a measure of the
    fitted estimator is added to a copy of the objective, never to the user's.
    A Trainable class saves its checkpoints in the run directory's
    ``checkpoints`` folder (without one, in a temporary folder removed at the end)."""
    if is_trainable(objective):
        folder = (
            Path(checkpoint) / "checkpoints"
            if checkpoint is not None
            else Path(tempfile.gettempdir()) / f"evotune-checkpoints-{uuid.uuid4().hex}"
        )
        obj: Objective = TrainableObjective(objective, folder)
    else:
        obj = as_objective(objective)
    if objectives is None:
        return obj, None
    parsed = Objectives.parse(objectives, obj.metric_names_)
    if parsed.measures:
        obj = obj.with_measures(dict(parsed.measures))
    return obj, parsed


def _budget(population_size: int, run: RunSettings) -> int:
    """The most evaluations the run may make (for callbacks such as a progress bar)."""
    budget = population_size * run.generations
    return budget if run.max_evaluations is None else min(budget, run.max_evaluations)


def _run_directory(
    run: RunSettings, evo: Evolution, initial_population: Any, obj: Objective
) -> RunDirectory | None:
    """The run directory of ``checkpoint`` (new, or the one to resume), its
    ``meta.json`` holding every setting in force."""
    if run.checkpoint is None:
        return None
    settings = {**evo.settings.to_json(), **run.to_json()}
    settings["initial_population"] = seeds_fingerprint(initial_population)
    own = _strategy_params(evo)
    if own:
        settings["strategy_params"] = own
    meta = build_meta(evo.space.to_dict(), settings, obj.fingerprint())
    return RunDirectory.open(run.checkpoint, meta, resume=run.resume)


def _strategy_params(evo: Evolution) -> dict[str, str]:
    """The strategy's own parameters that are not search settings (Hyperband's
    budgets, PBT's quantile), as text: a resume must not change them."""
    names = {f.name for f in fields(SearchSettings)}
    return {k: repr(v) for k, v in sorted(evo.strategy.params().items()) if k not in names}


def _seed(random_state: Any, checkpoint: Any, resume: bool) -> Any:
    """The run's seed. A run directory records it, so it must be an int: when
    none is given, it is the resumed run's, or a fresh one."""
    if checkpoint is None:
        return random_state
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        raise InvalidParameterError(
            "with 'checkpoint', 'random_state' must be an int or None (a Generator's "
            "seed cannot be recorded for an exact resume)"
        )
    if random_state is None:
        old = peek_meta(checkpoint) if resume else None
        seed = (old or {}).get("settings", {}).get("random_state")
        random_state = seed if seed is not None else secrets.randbits(63)
    check_random_state(random_state)
    return random_state
