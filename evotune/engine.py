"""``Evolution``, the ask/tell state machine, and ``evolve``, which runs it.

``evolve`` checks its arguments, sets up the backend and the run directory,
and hands the generations to the run loop in :mod:`evotune._loop`.

One generation: select parents, cross and mutate them in the space's unit
encoding, re-mutate any offspring equal to a genome already evaluated or
already in the batch (a bounded number of times), hand the new ones out with
``ask``, take their evaluations with ``tell``, set fitness, update the hall of
fame and the logbook. The engine knows operators, the evaluator and the
backends, never scikit-learn.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from deap import tools

from evotune._loop import AllFailedError, GenerationState, _check_callbacks, _Loop
from evotune._pareto import FitnessMulti, MultiObjective, Objectives, fitness_values
from evotune._racing import check_racing
from evotune._seeds import encode_seeds, known_results, seeds_fingerprint
from evotune._steady import SteadyState
from evotune._surrogate import predict_nearest, reference_indices
from evotune._validation import (
    check_choice,
    check_int,
    check_random_state,
    check_real,
)
from evotune.backends.factory import get_backend
from evotune.backends.process import check_picklable
from evotune.evaluation import as_objective
from evotune.genome import (
    DIRECTIONS,
    Genome,
    make_hall_of_fame,
    make_logbook,
    make_statistics,
)
from evotune.journal import RunDirectory, build_meta, peek_meta
from evotune.records import Candidate, Evaluation
from evotune.result import Result
from evotune.space import Space
from operators import (
    crossover_sbx,
    mutate_gaussian,
    select_best,
    select_tournament,
)

__all__ = ["STRATEGIES", "AllFailedError", "Evolution", "GenerationState", "evolve"]

logger = logging.getLogger("evotune")

STRATEGIES = ("ga", "mu_plus_lambda", "mu_comma_lambda", "steady_state")
SAMPLINGS = ("lhs", "sobol", "random")
SIGMA_MIN, SIGMA_MAX = 0.005, 0.5


class Evolution(SteadyState, MultiObjective):
    """Evolutionary search as an ask/tell state machine.

    Parameters
    ----------
    space : Space or dict
        The search space (a dict is converted with :class:`Space`).
    population_size : int, default=20
        Genomes per generation (``mu`` and ``lambda`` for the ``mu_*`` strategies).
    strategy : {"ga", "mu_plus_lambda", "mu_comma_lambda", "steady_state"}, default="ga"
        ``"ga"``: generational, the best ``elitism`` parents survive, the rest
        are tournament-selected offspring (crossover then mutation, each with
        its probability). ``"mu_plus_lambda"`` / ``"mu_comma_lambda"``: each
        offspring comes from crossover, mutation or reproduction (DEAP's
        ``varOr``); the next parents are the best of parents and offspring, or
        of the offspring alone. ``"steady_state"``: asynchronous, a child is
        bred as each result is told, so no worker waits for the slowest fit
        of a generation; results are applied in birth order, so the history is
        the same at every ``n_jobs`` (see :mod:`evotune._steady`).
    crossover_prob, mutation_prob : float
        Probabilities of crossover and mutation.
    elitism : int, default=1
        Parents carried over unchanged (``"ga"`` only).
    tournament_size : int, default=3
    direction : {"maximize", "minimize"}, default="maximize"
    random_state : int, numpy.random.Generator or None
        The one seed of the run: the same seed, space and scores give the
        same candidates.
    initial_sampling : {"lhs", "sobol", "random"}, default="lhs"
        How generation 0 covers the space.
    initial_population : list of dict, DataFrame, cv_results_ dict or path, optional
        Known parameter sets to start from (a warm start): they open
        generation 0 (origin ``"seeded"``, at most ``population_size`` of
        them) and sampling fills the rest. A path is a run directory, whose
        evaluations are taken best first.
    hall_of_fame_size : int, default=10
    mutation_sigma : float, default=0.15
        Initial Gaussian step in unit space (each genome then adapts its own).
    in_flight : int, optional
        ``"steady_state"`` only: candidates being evaluated at once (default
        ``population_size``). Results are applied in birth order, so a slow
        candidate holds back the breeding of the children due after it once
        the ``in_flight - 1`` born after it are done: give at least a few
        candidates per worker, more when fit times vary a lot. It is a setting
        of the run, not of the machine, so the history does not depend on
        ``n_jobs``.
    objectives : dict, optional
        Several objectives (see :mod:`evotune._pareto`): ``{"score":
        "maximize", "fit_time": "minimize"}``. The search is then NSGA-II: the
        survivors are the best of parents and offspring by non-domination
        rank and crowding distance (``deap.tools.selNSGA2``), parents are
        drawn by tournament on the same order, :attr:`pareto_front` holds
        every non-dominated evaluation and the logbook records the front's
        size and hypervolume. The first objective is the primary one (the hall
        of fame and ``best``).
    screening : int, default=4
        Surrogate screening: breed this many times the offspring a generation
        needs and evaluate those a nearest-neighbour model of the history rates
        best (a quarter drawn at random from the pool, to keep exploring).
        1 turns it off. It changes which candidates are asked, never how many.

    Examples
    --------
    >>> from evotune import Float
    >>> evo = Evolution({"x": Float(-1, 1)}, population_size=4, random_state=0)
    >>> cands = evo.ask()
    >>> evo.tell([evo.evaluation_of(c, -c.params["x"] ** 2) for c in cands])
    >>> evo.generation
    1
    """

    def __init__(
        self,
        space: Space | Mapping[str, Any],
        *,
        population_size: int = 20,
        strategy: str = "ga",
        crossover_prob: float = 0.7,
        mutation_prob: float = 0.3,
        elitism: int = 1,
        tournament_size: int = 4,
        direction: str = "maximize",
        random_state: Any = None,
        initial_sampling: str = "lhs",
        initial_population: Any = None,
        hall_of_fame_size: int = 10,
        mutation_sigma: float = 0.15,
        max_novelty_tries: int = 20,
        screening: int = 4,
        in_flight: int | None = None,
        objectives: Objectives | Mapping[str, Any] | None = None,
    ) -> None:
        self.space = space if isinstance(space, Space) else Space(space)
        self.population_size = check_int("population_size", population_size, low=2)
        self.strategy = check_choice("strategy", strategy, STRATEGIES)
        self.crossover_prob = check_real("crossover_prob", crossover_prob, low=0, high=1)
        self.mutation_prob = check_real("mutation_prob", mutation_prob, low=0, high=1)
        if self.strategy != "ga" and self.crossover_prob + self.mutation_prob > 1.0 + 1e-12:
            raise ValueError(
                f"strategy={strategy!r} draws crossover, mutation or reproduction for each "
                f"offspring, so 'crossover_prob' + 'mutation_prob' must be <= 1, got "
                f"{crossover_prob!r} + {mutation_prob!r}"
            )
        self.elitism = check_int("elitism", elitism, low=0, high=self.population_size - 1)
        self.tournament_size = check_int("tournament_size", tournament_size, low=1)
        self.direction = check_choice("direction", direction, DIRECTIONS)
        self.initial_sampling = check_choice("initial_sampling", initial_sampling, SAMPLINGS)
        self.hall_of_fame_size = check_int("hall_of_fame_size", hall_of_fame_size, low=1)
        self.mutation_sigma = check_real("mutation_sigma", mutation_sigma, low=0, low_open=True)
        self.max_novelty_tries = check_int("max_novelty_tries", max_novelty_tries, low=0)
        self.screening = check_int("screening", screening, low=1)
        self.in_flight = check_int(
            "in_flight",
            self.population_size if in_flight is None else in_flight,
            low=1,
        )
        self.rng = check_random_state(random_state)
        if objectives is not None and not isinstance(objectives, Objectives):
            objectives = Objectives.parse(objectives)
        self.objectives: Objectives | None = objectives
        if objectives is not None and self.strategy != "ga":
            raise ValueError(
                "with several 'objectives' the search is NSGA-II, which breeds as the 'ga' "
                f"strategy does: leave 'strategy' at 'ga', got {strategy!r}"
            )
        if objectives is not None:
            self.elitism = 0  # NSGA-II's survival keeps the best of parents and offspring
        self._seeds = (
            encode_seeds(initial_population, self.space, self.rng)
            if initial_population is not None
            else np.empty((0, self.space.n_genes))
        )

        self.generation = 0
        self.population: list[Genome] = []
        self.evaluations: list[Evaluation] = []
        self.hall_of_fame = make_hall_of_fame(self.hall_of_fame_size)
        # every non-dominated evaluation (several objectives only)
        self.pareto_front: tools.ParetoFront | None = (
            tools.ParetoFront(similar=lambda a, b: a.key == b.key) if objectives else None
        )
        self._hv_reference: np.ndarray | None = None
        self.logbook = make_logbook()
        self._stats = make_statistics(self.direction)
        self._seen: dict[str, Genome] = {}
        self._cost: dict[int, float] = {}
        # every evaluated genome and its fitness, in order: the surrogate's data
        self._hist_genes: list[np.ndarray] = []
        self._hist_fit: list[float] = []
        self._pending: dict[int, Genome] = {}
        self._carried: list[Genome] = []
        self._elites: list[Genome] = []
        self._next_id = 0
        self.budget: int | None = None  # set by evolve: the most evaluations the run may make
        # set by evolve: the run directory (checkpoint=), for callbacks
        self.run_dir: os.PathLike[str] | None = None
        self._clock = time.perf_counter()
        self._steady_init()

    # ------------------------------------------------------------------ ask
    def ask(self, limit: int | None = None) -> list[Candidate]:
        """The new candidates of the next generation (at most ``limit``).

        Offspring equal to a genome already evaluated keep its known fitness
        and are not asked again. With ``strategy="steady_state"``: the
        candidates born and not yet asked (the whole initial population first,
        then one child per told result).
        """
        if self.strategy == "steady_state":
            if limit is not None:
                check_int("limit", limit, low=0)
            return self._ask_steady(limit)
        if self._pending:
            raise RuntimeError(
                f"generation {self.generation} was asked and not told: call tell() with its "
                "evaluations before asking again"
            )
        if limit is not None:
            check_int("limit", limit, low=0)
        space = self.space
        # no population to breed from (the start, or every candidate was left
        # out of tell): sample afresh
        fresh = self.generation == 0 or not self.population
        if fresh:
            seeds = self._seeds[: self.population_size] if self.generation == 0 else self._seeds[:0]
            rest = space.sample(self.population_size - len(seeds), self.rng, self.initial_sampling)
            genes = np.vstack([seeds, rest])
            origins = ["seeded"] * len(seeds) + ["initial"] * len(rest)
            parents: list[tuple[int, ...]] = [()] * len(genes)
            sigmas = np.full(len(genes), self.mutation_sigma)
            self._carried = []
        else:
            genes, origins, parents, sigmas = self._breed()
            if self.screening > 1:
                genes, origins, parents, sigmas = self._screen(genes, origins, parents, sigmas)

        batch: set[str] = set()
        new: list[Genome] = []
        carried = list(self._carried)
        for i in range(genes.shape[0]):
            row, origin, key = self._novel(
                genes[i], origins[i], float(sigmas[i]), fresh, lambda k: k in batch
            )
            if key in self._seen:
                carried.append(self._seen[key])
                continue
            if key in batch:
                continue
            batch.add(key)
            new.append(
                Genome(
                    row,
                    key=key,
                    params=space.decode(row),
                    direction=self.direction,
                    generation=self.generation,
                    origin=origin,
                    parents=parents[i],
                    seed=int(self.rng.integers(0, 2**31 - 1)),
                    sigma=float(sigmas[i]),
                )
            )
        if limit is not None:
            new = new[:limit]
        for g in new:
            g.id = self._next_id
            self._next_id += 1
            self._pending[g.id] = g
        self._carried = carried
        return [
            Candidate(
                g.id, g.generation, g.origin, g.key, dict(g.params), g.seed, self._expected(g)
            )
            for g in new
        ]

    def _novel(
        self, row: np.ndarray, origin: str, sigma: float, fresh: bool, taken: Any
    ) -> tuple[np.ndarray, str, str]:
        """``row``, re-drawn until its key is neither evaluated nor ``taken``
        (at most ``max_novelty_tries`` times): resampled when ``fresh``, else
        mutated with a wider step each try, so a crowded region is left."""
        space = self.space
        key = space.key(row)
        tries = 0
        while (key in self._seen or taken(key)) and tries < self.max_novelty_tries:
            tries += 1
            if fresh:
                row = space.sample(1, self.rng, "random")[0]
            else:
                step = max(sigma, 0.5 * self.mutation_sigma) * (1.0 + tries)
                row = mutate_gaussian(row[None, :], space.schema, self.rng, sigma=step)[0]
                origin = "mutation"
            key = space.key(row)
        return row, origin, key

    def _expected(self, g: Genome) -> float:
        """A child's expected evaluation time: its parents' mean (NaN if unknown)."""
        known = [self._cost[p] for p in g.parents if p in self._cost]
        return float(np.mean(known)) if known else math.nan

    def _adapt(self, sigma: np.ndarray) -> np.ndarray:
        """Self-adaptive step sizes: each mutant perturbs its inherited step
        log-normally, and selection keeps the steps that produce good offspring."""
        tau = 1.0 / math.sqrt(2.0 * self.space.n_genes)
        out = sigma * np.exp(tau * self.rng.normal(size=sigma.shape))
        return np.clip(out, SIGMA_MIN, SIGMA_MAX)

    def _screen(
        self,
        genes: np.ndarray,
        origins: list[str],
        parents: list[tuple[int, ...]],
        sigmas: np.ndarray,
    ) -> tuple[np.ndarray, list[str], list[tuple[int, ...]], np.ndarray]:
        """Surrogate screening: breed ``screening`` times the offspring needed
        and keep those a nearest-neighbour model of the history rates best.

        The model is :func:`evotune._surrogate.predict_nearest`. A quarter of
        the kept offspring are drawn at random from the pool, so the model
        cannot lock the search in.
        """
        n = len(genes)
        all_fit = np.asarray(self._hist_fit)
        if np.isfinite(all_fit).sum() < max(8, 2 * self.space.n_genes):
            return genes, origins, parents, sigmas
        pool = [(genes, origins, parents, sigmas)]
        for _ in range(self.screening - 1):
            pool.append(self._breed())
        all_genes = np.vstack([p[0] for p in pool])
        all_origins = [o for p in pool for o in p[1]]
        all_parents = [q for p in pool for q in p[2]]
        all_sigmas = np.concatenate([p[3] for p in pool])
        ref = reference_indices(all_fit)
        pred = predict_nearest(
            all_genes,
            np.stack([self._hist_genes[i] for i in ref]),
            all_fit[ref],
            self.space.schema.categorical,
        )
        n_model = n - n // 4
        order = np.argsort(-pred, kind="stable")
        chosen = list(order[:n_model])
        rest = np.setdiff1d(np.arange(len(all_genes)), chosen)
        chosen += list(self.rng.choice(rest, size=n - n_model, replace=False))
        idx = np.array(chosen)
        return (
            all_genes[idx],
            [all_origins[i] for i in idx],
            [all_parents[i] for i in idx],
            all_sigmas[idx],
        )

    def _breed(self) -> tuple[np.ndarray, list[str], list[tuple[int, ...]], np.ndarray]:
        pop = self.population
        schema = self.space.schema
        genes = np.stack([g.genes for g in pop])
        if self.objectives is not None:
            fit = self._crowded(pop)
        else:
            fit = np.array([g.selection_value() for g in pop])
        sig = np.array([g.sigma for g in pop])
        rng = self.rng
        if self.strategy == "ga":
            elite_idx = select_best(fit, min(self.elitism, len(pop)))
            self._elites = [pop[i] for i in elite_idx]
            n_off = self.population_size - len(self._elites)
            n_sel = n_off + (n_off % 2)
            idx = select_tournament(fit, n_sel, rng, tournsize=self.tournament_size)
            a, b = genes[idx[0::2]], genes[idx[1::2]]
            c1, c2 = crossover_sbx(a, b, schema, rng)
            crossed = rng.random(len(a)) < self.crossover_prob
            kids = np.empty((n_sel, genes.shape[1]))
            kids[0::2] = np.where(crossed[:, None], c1, a)
            kids[1::2] = np.where(crossed[:, None], c2, b)
            was_crossed = np.repeat(crossed, 2)
            pa = np.repeat(idx[0::2], 2)
            pb = np.repeat(idx[1::2], 2)
            kids, was_crossed, pa, pb = kids[:n_off], was_crossed[:n_off], pa[:n_off], pb[:n_off]
            kid_sigma = np.where(was_crossed, np.sqrt(sig[pa] * sig[pb]), sig[pa])
            mutated = rng.random(n_off) < self.mutation_prob
            new_sigma = self._adapt(kid_sigma)
            m = mutate_gaussian(kids, schema, rng, sigma=new_sigma[:, None])
            kids = np.where(mutated[:, None], m, kids)
            kid_sigma = np.where(mutated, new_sigma, kid_sigma)
            origins = [
                "crossover" if c else ("mutation" if mu else "clone")
                for c, mu in zip(was_crossed, mutated)
            ]
            par: list[tuple[int, ...]] = [
                (pop[i].id, pop[j].id) if c else (pop[i].id,)
                for i, j, c in zip(pa, pb, was_crossed)
            ]
            return kids, origins, par, kid_sigma
        # mu_plus_lambda / mu_comma_lambda: DEAP's varOr
        lam = self.population_size
        mu = len(pop)
        p1 = rng.integers(0, mu, size=lam)
        p2 = (p1 + rng.integers(1, max(mu, 2), size=lam)) % mu
        c1, _ = crossover_sbx(genes[p1], genes[p2], schema, rng)
        new_sigma = self._adapt(sig[p1])
        m = mutate_gaussian(genes[p1], schema, rng, sigma=new_sigma[:, None])
        r = rng.random(lam)
        is_cx = r < self.crossover_prob
        is_mut = ~is_cx & (r < self.crossover_prob + self.mutation_prob)
        kids = np.where(is_cx[:, None], c1, np.where(is_mut[:, None], m, genes[p1]))
        kid_sigma = np.where(
            is_cx, np.sqrt(sig[p1] * sig[p2]), np.where(is_mut, new_sigma, sig[p1])
        )
        origins = [
            "crossover" if c else ("mutation" if mu_ else "clone") for c, mu_ in zip(is_cx, is_mut)
        ]
        par = [(pop[i].id, pop[j].id) if c else (pop[i].id,) for i, j, c in zip(p1, p2, is_cx)]
        return kids, origins, par, kid_sigma

    # ----------------------------------------------------------------- tell
    def evaluation_of(self, candidate: Candidate, score: float) -> Evaluation:
        """A plain :class:`Evaluation` for ``candidate`` with one ``score``
        (for ask/tell use without an :class:`Evaluator`)."""
        s = float(score)
        return Evaluation(
            candidate_id=candidate.id,
            generation=candidate.generation,
            origin=candidate.origin,
            key=candidate.key,
            params=dict(candidate.params),
            fold_scores=[s],
            mean_score=s,
            std_score=0.0,
            fit_time=0.0,
            score_time=0.0,
        )

    def tell(self, evaluations: Sequence[Evaluation]) -> None:
        """Record the evaluations of the asked candidates and form the next
        population. Asked candidates left out are dropped.

        With ``strategy="steady_state"`` any asked candidates may be told, in
        any order and any number at a time; each is applied when all those
        born before it have been.
        """
        if self.strategy == "steady_state":
            self._tell_steady(list(evaluations))
            return
        by_id: dict[int, Evaluation] = {}
        for e in evaluations:
            if e.candidate_id not in self._pending:
                raise ValueError(
                    f"tell() got an evaluation for candidate {e.candidate_id}, which was not "
                    f"asked in generation {self.generation}"
                )
            by_id[e.candidate_id] = e
        offspring: list[Genome] = []
        for cid, g in self._pending.items():
            told = by_id.get(cid)
            if told is None:
                continue
            g.set_score(told.mean_score if told.status == "ok" else math.nan)
            if self.objectives is not None:
                g.fitness = FitnessMulti(
                    self.objectives.weights,
                    fitness_values(self.objectives.values(told), self.objectives.weights),
                )
            self._seen[g.key] = g
            self._hist_genes.append(g.genes)
            self._hist_fit.append(g.selection_value())
            self._cost[g.id] = told.fit_time + told.score_time
            self.evaluations.append(told)
            offspring.append(g)
        self._pending = {}
        members = offspring + self._carried
        mu = self.population_size
        if self.generation == 0 or not self.population:
            self.population = members
        elif self.objectives is not None:
            self.population = self._nsga2(self.population + members, mu)
        elif self.strategy == "ga":
            self.population = list(self._elites) + members
        elif self.strategy == "mu_plus_lambda":
            self.population = self._best(self.population + members, mu)
        else:
            chosen = self._best(members, mu)
            if len(chosen) < mu:  # too few new offspring: keep the best parents
                rest = [g for g in self.population if g not in chosen]
                chosen += self._best(rest, mu - len(chosen))
            self.population = chosen
        self._carried = []
        self.hall_of_fame.update([g for g in offspring if math.isfinite(g.score)])
        extra = self._update_front(offspring) if self.pareto_front is not None else {}
        record = {
            "generation": self.generation,
            "evaluations": len(offspring),
            "failed": sum(1 for g in offspring if not math.isfinite(g.score)),
            **self._stats.compile(self.population),
            "elapsed": time.perf_counter() - self._clock,
            **extra,
        }
        if len(self.hall_of_fame):
            record["best"] = float(self.hall_of_fame[0].score)
        self.logbook.record(**record)
        self.generation += 1

    @staticmethod
    def _best(genomes: list[Genome], k: int) -> list[Genome]:
        if not genomes or k <= 0:
            return []
        fit = np.array([g.selection_value() for g in genomes])
        return [genomes[i] for i in select_best(fit, min(k, len(genomes)))]

    # -------------------------------------------------------------- queries
    @property
    def best(self) -> Genome | None:
        """The best genome evaluated so far (None before any finite score)."""
        return self.hall_of_fame[0] if len(self.hall_of_fame) else None

    @property
    def n_evaluations(self) -> int:
        return len(self.evaluations)


def _fingerprint(objective: Any) -> dict[str, Any]:
    fp = getattr(objective, "fingerprint", None)
    if callable(fp):
        return dict(fp())
    return {"objective": type(objective).__qualname__}


def evolve(
    objective: Any,
    space: Space | Mapping[str, Any],
    *,
    population_size: int = 20,
    generations: int = 10,
    strategy: str = "ga",
    crossover_prob: float = 0.7,
    mutation_prob: float = 0.3,
    elitism: int = 1,
    tournament_size: int = 4,
    max_evaluations: int | None = None,
    time_budget: float | None = None,
    patience: int | None = None,
    direction: str = "maximize",
    n_jobs: int | None = 1,
    random_state: Any = None,
    callbacks: Iterable[Any] = (),
    initial_sampling: str = "lhs",
    initial_population: Any = None,
    screening: int = 4,
    racing: bool | int = False,
    in_flight: int | None = None,
    objectives: Mapping[str, Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    timeout: float | None = None,
    backend: Any = None,
) -> Result:
    """Tune ``space`` for ``objective`` by evolution and return a :class:`Result`.

    Parameters
    ----------
    objective : CrossValScore or callable
        A :class:`~evotune.CrossValScore`, or any ``callable(params) -> float``.
    space : Space or dict
        The search space, or a scikit-learn ``param_distributions`` dict.
    population_size : int, default=20
    generations : int, default=10
        Counts the initial population as the first generation, so a run
        evaluates at most ``population_size * generations`` candidates.
    strategy, crossover_prob, mutation_prob, elitism, tournament_size
        See :class:`Evolution`.
    max_evaluations : int, optional
        Exact cap on the number of evaluations.
    time_budget : float, optional
        Seconds; no generation starts after it is spent.
    patience : int, optional
        Stop after this many generations without a better best score.
    direction : {"maximize", "minimize"}, default="maximize"
        scikit-learn scorers are all "higher is better".
    n_jobs : int, default=1
        Worker processes (-1 for all cores). Any value but 1 runs the tasks
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
    in_flight : int, optional
        ``strategy="steady_state"`` only: candidates evaluated at once (see
        :class:`Evolution`).
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
    backend : Backend or {"serial", "process", "dask"}, optional
        Where tasks run; by default serial for ``n_jobs=1``, else a process pool.
        ``"dask"`` starts a local Dask cluster of ``n_jobs`` workers; a
        :class:`~evotune.DaskBackend` (``DaskBackend("tcp://host:8786")``)
        runs on an existing cluster. The history is the same on every backend.

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
    check_int("generations", generations, low=1)
    check_int("max_evaluations", max_evaluations, low=1, allow_none=True)
    check_real("time_budget", time_budget, low=0, low_open=True, allow_none=True)
    check_int("patience", patience, low=1, allow_none=True)
    check_real("timeout", timeout, low=0, low_open=True, allow_none=True)
    if not isinstance(resume, (bool, np.bool_)):
        raise TypeError(f"'resume' must be True or False, got {resume!r}")
    if resume and checkpoint is None:
        raise ValueError("'resume=True' needs 'checkpoint', the run directory to continue")
    callback_list = _check_callbacks(callbacks)
    obj = as_objective(objective)
    space = space if isinstance(space, Space) else Space(space)
    parsed = None
    if objectives is not None:
        parsed = Objectives.parse(objectives, getattr(obj, "metric_names_", ()))
        if parsed.measures:
            if not hasattr(obj, "measures"):
                raise ValueError(
                    "objectives: a measure of the fitted estimator needs a CrossValScore "
                    f"objective, got {obj!r}"
                )
            obj.measures = {**obj.measures, **dict(parsed.measures)}

    run: RunDirectory | None = None
    if checkpoint is not None:
        if isinstance(random_state, np.random.Generator):
            raise ValueError(
                "with 'checkpoint', 'random_state' must be an int or None (a Generator's "
                "seed cannot be recorded for an exact resume)"
            )
        if random_state is None:
            old = peek_meta(checkpoint) if resume else None
            seed = (old or {}).get("settings", {}).get("random_state")
            random_state = seed if seed is not None else secrets.randbits(63)
        check_random_state(random_state)
    evo = Evolution(
        space,
        population_size=population_size,
        strategy=strategy,
        crossover_prob=crossover_prob,
        mutation_prob=mutation_prob,
        elitism=elitism,
        tournament_size=tournament_size,
        direction=direction,
        random_state=random_state,
        initial_sampling=initial_sampling,
        initial_population=initial_population,
        screening=screening,
        in_flight=in_flight,
        objectives=parsed,
    )
    racing = check_racing(racing)
    runner = get_backend(backend, n_jobs, timeout=timeout)
    if getattr(runner, "needs_pickle", False):
        check_picklable(obj)  # a clear error now, before any work or any file
    if checkpoint is not None:
        settings = {
            "population_size": evo.population_size,
            "strategy": evo.strategy,
            "crossover_prob": evo.crossover_prob,
            "mutation_prob": evo.mutation_prob,
            "elitism": evo.elitism,
            "tournament_size": evo.tournament_size,
            "direction": evo.direction,
            "random_state": int(random_state),
            "initial_sampling": evo.initial_sampling,
            "initial_population": seeds_fingerprint(initial_population),
            "screening": evo.screening,
            "racing": racing,
            "in_flight": evo.in_flight if evo.strategy == "steady_state" else None,
            "objectives": parsed.to_dict() if parsed is not None else None,
            "generations": generations,
            "max_evaluations": max_evaluations,
            "time_budget": time_budget,
            "patience": patience,
            "timeout": timeout,
            "n_jobs": n_jobs,
        }
        meta = build_meta(space.to_dict(), settings, _fingerprint(obj))
        run = RunDirectory.open(checkpoint, meta, resume=resume)
    known = known_results(initial_population, space, obj, _fingerprint(obj))
    return _Loop(evo, obj, runner, run, callback_list, racing=racing, known=known).run(
        generations=generations,
        max_evaluations=max_evaluations,
        time_budget=time_budget,
        patience=patience,
        resumed=bool(resume),
    )
