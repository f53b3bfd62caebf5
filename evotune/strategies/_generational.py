"""The generational template: a whole generation is asked, then told.

Its strategies (``ga``, ``mu_plus_lambda``, ``mu_comma_lambda``, ``nsga2``,
``random``, ``grid``) differ in two steps only: how offspring are proposed
(:meth:`Generational.propose`) and which genomes survive
(:meth:`Generational.survive`). The rest is here once: offspring equal to a
genome already evaluated keep its known fitness and are not asked again; a
duplicate is re-drawn a bounded number of times (:func:`~._breeder.novel`);
the generation's end is logged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from evotune.genome import Genome
from evotune.records import FAILED_STATUSES, Evaluation
from evotune.settings import check, declared
from evotune.strategies._breeder import Offspring, novel
from evotune.strategies.base import SearchState

__all__ = [
    "Bred",
    "Generational",
    "default",
    "enlist",
    "matched",
    "refuse_if_pending",
    "sampled",
]


def default(name: str) -> Any:
    """The declared default of search setting ``name`` (declared once, in
    :mod:`evotune.settings`)."""
    return declared()[name][0]


def refuse_if_pending(pending: dict[int, Genome], generation: int) -> None:
    """A generation asked and not told may not be asked again."""
    if pending:
        raise RuntimeError(
            f"generation {generation} was asked and not told: call tell() with its "
            "evaluations before asking again"
        )


def enlist(
    state: SearchState, new: list[Genome], pending: dict[int, Genome], limit: int | None
) -> list[Genome]:
    """The first ``limit`` of ``new``, numbered and kept in ``pending``."""
    if limit is not None:
        new = new[:limit]
    for g in new:
        state.number(g)
        pending[g.id] = g
    return new


def matched(
    pending: dict[int, Genome], evaluations: Sequence[Evaluation], generation: int
) -> list[tuple[Genome, Evaluation]]:
    """The asked genomes that were told, in the order they were asked, each
    with its evaluation; an evaluation of a genome not asked is an error."""
    by_id: dict[int, Evaluation] = {}
    for e in evaluations:
        if e.candidate_id not in pending:
            raise ValueError(
                f"tell() got an evaluation for candidate {e.candidate_id}, which was not "
                f"asked in generation {generation}"
            )
        by_id[e.candidate_id] = e
    return [(g, by_id[cid]) for cid, g in pending.items() if cid in by_id]


def sampled(state: SearchState, size: int, sigma: float) -> Offspring:
    """``size`` rows to start from: the seeds (in generation 0 only), then the
    run's sampling, each with the mutation step ``sigma``."""
    seeds = state.seeds[:size] if state.generation == 0 else state.seeds[:0]
    rest = state.space.sample(size - len(seeds), state.rng, state.initial_sampling)
    genes = np.vstack([seeds, rest])
    origins = ["seeded"] * len(seeds) + ["initial"] * len(rest)
    return Offspring(genes, origins, [()] * len(genes), np.full(len(genes), sigma))


class Generational:
    """The ask/tell of a generational strategy (see the module's docstring)."""

    name: ClassVar[str] = ""
    multi_objective: ClassVar[bool] = False
    asynchronous: ClassVar[bool] = False
    #: offspring are sampled afresh (re-drawn, not mutated, when not new)
    fresh: ClassVar[bool] = False
    mutation_sigma: float
    max_novelty_tries: int

    def start(self, state: SearchState) -> None:
        self._pending: dict[int, Genome] = {}
        self._carried: list[Genome] = []

    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    # hooks ------------------------------------------------------------------
    def propose(self, state: SearchState) -> Offspring:
        """The next generation's offspring, before novelty checks."""
        raise NotImplementedError

    def survive(self, state: SearchState, members: list[Genome]) -> list[Genome]:
        """The next population from the current one and the new ``members``."""
        return members

    def log_extra(self, state: SearchState, offspring: list[Genome]) -> dict[str, Any]:
        """Extra logbook columns for this generation."""
        return {}

    # ask / tell -------------------------------------------------------------
    def initial(self, state: SearchState) -> Offspring:
        """Generation 0 (or a restart): the seeds, then the run's sampling."""
        return sampled(state, state.population_size, self.mutation_sigma)

    def ask(self, state: SearchState, limit: int | None) -> list[Genome]:
        refuse_if_pending(self._pending, state.generation)
        # no population to breed from (the start, or every candidate was left
        # out of tell): sample afresh
        fresh = state.generation == 0 or not state.population
        if fresh:
            off = self.initial(state)
            self._carried = []
        else:
            off = self.propose(state)
        fresh = fresh or self.fresh
        batch: set[str] = set()
        new: list[Genome] = []
        carried = list(self._carried)
        for i in range(len(off)):
            row, origin, key = novel(
                state,
                off.genes[i],
                off.origins[i],
                float(off.sigmas[i]),
                fresh=fresh,
                taken=batch.__contains__,
                mutation_sigma=self.mutation_sigma,
                max_tries=self.max_novelty_tries,
            )
            if key in state.seen:
                carried.append(state.seen[key])
                continue
            if key in batch:
                continue
            batch.add(key)
            new.append(
                state.new_genome(
                    row, key, origin, off.parents[i], float(off.sigmas[i]), state.generation
                )
            )
        self._carried = carried
        return enlist(state, new, self._pending, limit)

    def tell(self, state: SearchState, evaluations: Sequence[Evaluation]) -> None:
        told = matched(self._pending, evaluations, state.generation)
        for g, ev in told:
            state.record(g, ev)
        offspring = [g for g, _ in told]
        self._pending = {}
        members = offspring + self._carried
        if state.generation == 0 or not state.population:
            state.population = members
        else:
            state.population = self.survive(state, members)
        self._carried = []
        state.hall_of_fame.update([g for g in offspring if math.isfinite(g.score)])
        # failed fits only: a raced or pruned candidate was stopped on purpose
        failed = sum(1 for _, ev in told if ev.status in FAILED_STATUSES)
        state.close_generation(len(offspring), failed, self.log_extra(state, offspring))

    def finish(self, state: SearchState) -> None:
        """A generation is closed when it is told: nothing is left open."""


@dataclass
class Bred(Generational):
    """A generational strategy that breeds its offspring: the breeder's
    parameters, with their declared defaults and checks."""

    crossover_prob: float = field(default=default("crossover_prob"))
    mutation_prob: float = field(default=default("mutation_prob"))
    screening: int = field(default=default("screening"))
    mutation_sigma: float = field(default=default("mutation_sigma"))
    max_novelty_tries: int = field(default=default("max_novelty_tries"))

    def __post_init__(self) -> None:
        for name, value in self.params().items():
            setattr(self, name, check(name, value))
