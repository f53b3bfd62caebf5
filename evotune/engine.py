"""``Evolution``: the ask/tell state machine.

It keeps the state every strategy shares (the space, the random state, the
population, every evaluation, the hall of fame and Pareto front, the
logbook, the keys already seen) and hands the rest to its strategy
(:mod:`evotune.strategies`): what to ask, what to do with told evaluations,
when a generation ends. It knows strategies, never backends, the journal or
scikit-learn; :func:`evotune.evolve` (in :mod:`evotune.run`) assembles a run
around it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Any

import numpy as np
from deap import tools

from evotune._pareto import FitnessMulti, Objectives, fitness_values
from evotune._seeds import encode_seeds
from evotune._validation import InvalidParameterError, check_int, check_random_state
from evotune.genome import Genome, make_hall_of_fame, make_logbook, make_statistics
from evotune.records import Candidate, Evaluation
from evotune.settings import SearchSettings
from evotune.space import Space
from evotune.strategies import make_strategy
from evotune.strategies.base import candidate_of

__all__ = ["Evolution"]


def _rng(random_state: Any) -> np.random.Generator:
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(int(random_state.randint(0, 2**31 - 1)))
    return check_random_state(random_state)


class Evolution:
    """Evolutionary search as an ask/tell state machine.

    Parameters
    ----------
    space : Space or dict
        The search space (a dict is converted with :class:`Space`).
    budget : int, optional
        The most evaluations the run may make (for callbacks such as a progress bar).
    run_dir : path, optional
        The run directory, when the run has one (for callbacks).
    **settings
        The search settings, declared with their defaults and checks in
        :class:`evotune.settings.SearchSettings`: ``population_size``,
        ``strategy`` (a name of :data:`evotune.strategies.STRATEGY_NAMES` or a
        strategy object), ``crossover_prob``, ``mutation_prob``, ``elitism``,
        ``tournament_size``, ``direction``, ``random_state``,
        ``initial_sampling``, ``initial_population``, ``hall_of_fame_size``,
        ``mutation_sigma``, ``max_novelty_tries``, ``screening``,
        ``in_flight``, ``objectives``. See :func:`evotune.evolve` for their
        meaning.

    Attributes
    ----------
    settings : SearchSettings
        The settings in force (a strategy object's parameters included).
    strategy : Strategy
        The run's own strategy object.

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
        budget: int | None = None,
        run_dir: os.PathLike[str] | None = None,
        **settings: Any,
    ) -> None:
        flat = SearchSettings(**settings)
        self.space = space if isinstance(space, Space) else Space(space)
        self.population_size = flat.population_size
        self.direction = flat.direction
        self.initial_sampling = flat.initial_sampling
        self.rng = _rng(flat.random_state)
        objectives = flat.objectives
        if objectives is not None and not isinstance(objectives, Objectives):
            objectives = Objectives.parse(objectives)
        self.objectives: Objectives | None = objectives
        self.strategy = make_strategy(flat.strategy, flat)
        self.seeds = (
            encode_seeds(flat.initial_population, self.space, self.rng)
            if flat.initial_population is not None
            else np.empty((0, self.space.n_genes))
        )
        self.budget = budget
        self.run_dir = run_dir
        self.generation = 0
        self.population: list[Genome] = []
        self.evaluations: list[Evaluation] = []
        self.hall_of_fame = make_hall_of_fame(flat.hall_of_fame_size)
        # every non-dominated evaluation (several objectives only)
        self.pareto_front: tools.ParetoFront | None = (
            tools.ParetoFront(similar=lambda a, b: a.key == b.key) if objectives else None
        )
        self.logbook = make_logbook()
        self._stats = make_statistics(self.direction)
        self.seen: dict[str, Genome] = {}
        self._cost: dict[int, float] = {}
        # every evaluated genome and its fitness, in order: the surrogate's data
        self.history_genes: list[np.ndarray] = []
        self.history_fitness: list[float] = []
        self._next_id = 0
        #: generation ends not yet taken by the run loop, in order
        self.boundaries: list[dict[str, Any]] = []
        self._clock = time.perf_counter()
        self.strategy.start(self)
        self.settings = self._in_force(flat)

    def _in_force(self, flat: SearchSettings) -> SearchSettings:
        """``flat`` with the strategy's own parameters (an object's, or those
        a name resolved to, such as NSGA-II's elitism of 0)."""
        params = self.strategy.params()
        names = {f.name for f in fields(SearchSettings)}
        own = {k: v for k, v in params.items() if k in names and k != "in_flight"}
        if not isinstance(flat.strategy, str):
            defaults = SearchSettings()
            for k, v in own.items():
                given = getattr(flat, k)
                if given != getattr(defaults, k) and given != v:
                    raise InvalidParameterError(
                        f"{k!r} is given twice, as {given!r} and as {v!r} by strategy="
                        f"{flat.strategy!r}: set it on the strategy object only"
                    )
        # in_flight means something to an asynchronous strategy only
        in_flight = None
        if self.strategy.asynchronous:
            in_force = getattr(self.strategy, "in_flight_in_force", None)
            in_flight = params.get("in_flight")
            if in_force is not None:
                in_flight = in_force(self.population_size)
            elif in_flight is None:
                in_flight = self.population_size
        strategy = flat.strategy if isinstance(flat.strategy, str) else self.strategy.name
        return replace(flat, **own, strategy=strategy, in_flight=in_flight)

    # ---------------------------------------------------- the shared state
    def new_genome(
        self,
        row: np.ndarray,
        key: str,
        origin: str,
        parents: tuple[int, ...],
        sigma: float,
        generation: int,
    ) -> Genome:
        """A genome of ``row`` with its own seed, not yet numbered."""
        return Genome(
            row,
            key=key,
            params=self.space.decode(row),
            direction=self.direction,
            generation=generation,
            origin=origin,
            parents=parents,
            seed=int(self.rng.integers(0, 2**31 - 1)),
            sigma=float(sigma),
        )

    def number(self, genome: Genome) -> None:
        """Give ``genome`` the next candidate id."""
        genome.id = self._next_id
        self._next_id += 1

    def record(self, genome: Genome, told: Evaluation) -> None:
        """Take ``told`` as ``genome``'s evaluation: its fitness, and the history."""
        genome.set_score(told.mean_score if told.status == "ok" else math.nan)
        if self.objectives is not None:
            genome.fitness = FitnessMulti(
                self.objectives.weights,
                fitness_values(self.objectives.values(told), self.objectives.weights),
            )
        self.seen[genome.key] = genome
        self.history_genes.append(genome.genes)
        self.history_fitness.append(genome.selection_value())
        self._cost[genome.id] = told.fit_time + told.score_time
        self.evaluations.append(told)

    def close_generation(self, n_evaluations: int, n_failed: int, extra: dict[str, Any]) -> None:
        """Log the generation that ends, and queue its end for the run loop."""
        record = {
            "generation": self.generation,
            "evaluations": n_evaluations,
            "failed": n_failed,
            **self._stats.compile(self.population),
            "elapsed": time.perf_counter() - self._clock,
            **extra,
        }
        if len(self.hall_of_fame):
            record["best"] = float(self.hall_of_fame[0].score)
        self.logbook.record(**record)
        self.boundaries.append(
            {
                "generation": self.generation,
                "rng": dict(self.rng.bit_generator.state),
                "n_evaluations": len(self.evaluations),
                "record": dict(record),
                "best": self.best,
            }
        )
        self.generation += 1

    # ----------------------------------------------------------- ask / tell
    def ask(self, limit: int | None = None) -> list[Candidate]:
        """The candidates to evaluate next (at most ``limit``).

        A generational strategy asks a whole generation and wants it told
        before the next ask; an asynchronous one (``"steady_state"``) asks
        the children born and not yet asked, and may be asked again at any time.
        """
        if limit is not None:
            check_int("limit", limit, low=0)
        new = self.strategy.ask(self, limit)
        if self.strategy.asynchronous:
            return [candidate_of(g) for g in new]
        return [candidate_of(g, self._expected(g)) for g in new]

    def _expected(self, g: Genome) -> float:
        """A child's expected evaluation time: its parents' mean (NaN if unknown)."""
        known = [self._cost[p] for p in g.parents if p in self._cost]
        return float(np.mean(known)) if known else math.nan

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
        """Record the evaluations of asked candidates.

        A generational strategy then forms the next population (asked
        candidates left out are dropped); an asynchronous one takes any asked
        candidates, in any order, and applies each when all those born before
        it have been.
        """
        self.strategy.tell(self, list(evaluations))

    def finish(self) -> None:
        """The run stops: the strategy closes a generation it left open."""
        self.strategy.finish(self)

    # -------------------------------------------------------------- queries
    @property
    def best(self) -> Genome | None:
        """The best genome evaluated so far (None before any finite score)."""
        return self.hall_of_fame[0] if len(self.hall_of_fame) else None

    @property
    def n_evaluations(self) -> int:
        return len(self.evaluations)
