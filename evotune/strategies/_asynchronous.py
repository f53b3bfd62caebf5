"""The asynchronous template: one child born per told result, results applied
in birth order.

A generational strategy waits at the end of every generation for its slowest
fit. An asynchronous one breeds a new candidate each time a result is told,
so ``in_flight`` candidates are always being evaluated and no worker waits.

To keep the run's history the same at every ``n_jobs`` (and a resume exact),
results are *applied* in the order the candidates were born, whatever order
they finish in: applying the ``n``-th result inserts it into the population
(it replaces the worst member if it is better, a (mu + 1) replacement) and
breeds the child born ``in_flight`` places later. What a child is thus
depends only on the results before it, never on timing. Every
``population_size`` births make one "generation" for the logbook, the
journal, callbacks and stops.

A strategy on this template says how a child is made (:meth:`_child`) and,
if it wants, how many genomes the initial design has (:meth:`_n_initial`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import fields
from typing import Any, ClassVar

import numpy as np

from evotune._validation import check_int
from evotune.genome import Genome
from evotune.records import FAILED_STATUSES, Evaluation
from evotune.strategies._breeder import novel
from evotune.strategies.base import SearchState

__all__ = ["Asynchronous"]


class Asynchronous:
    """Births, birth-order application and generation blocks (see the
    module's docstring). Subclasses are dataclasses that declare the fields
    ``in_flight``, ``mutation_sigma`` and ``max_novelty_tries``."""

    name: ClassVar[str]
    multi_objective: ClassVar[bool] = False
    asynchronous: ClassVar[bool] = True
    in_flight: int | None
    mutation_sigma: float
    max_novelty_tries: int

    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def in_flight_in_force(self, population_size: int) -> int:
        """Candidates evaluated at once: ``in_flight``, or the strategy's
        default when it is None (``population_size`` here)."""
        return population_size if self.in_flight is None else self.in_flight

    def start(self, state: SearchState) -> None:
        self._in_flight = check_int(
            "in_flight", self.in_flight_in_force(state.population_size), low=1
        )
        self._pending: dict[int, Genome] = {}
        self._ready: list[Genome] = []  # born, not yet asked
        self._inbox: dict[int, Evaluation] = {}  # told, waiting for their turn
        self._order: list[int] = []  # ids in birth order, not yet applied
        self._births = 0
        self._applied = 0

    # hooks -----------------------------------------------------------------
    def _n_initial(self, state: SearchState) -> int:
        """Genomes of the initial design."""
        return state.population_size

    def _child(self, state: SearchState) -> None:
        """Make one child (with :meth:`_born`) from the results applied so far."""
        raise NotImplementedError

    # ------------------------------------------------------------------ ask
    def ask(self, state: SearchState, limit: int | None) -> list[Genome]:
        if self._births == 0:
            n0 = self._n_initial(state)
            seeds = state.seeds[:n0]
            rest = state.space.sample(n0 - len(seeds), state.rng, state.initial_sampling)
            genes = np.vstack([seeds, rest])
            origins = ["seeded"] * len(seeds) + ["initial"] * len(rest)
            for row, origin in zip(genes, origins):
                self._born(state, row, origin, (), self.mutation_sigma, fresh=True)
            self._schedule(state)
        n = len(self._ready) if limit is None else min(limit, len(self._ready))
        asked, self._ready = self._ready[:n], self._ready[n:]
        for g in asked:
            self._pending[g.id] = g
        return asked

    def _in_play(self) -> list[Genome]:
        """Genomes born and not yet applied (asked or about to be)."""
        return [*self._pending.values(), *self._ready]

    def _born(
        self,
        state: SearchState,
        row: np.ndarray,
        origin: str,
        parents: tuple[int, ...],
        sigma: float,
        fresh: bool,
    ) -> None:
        """Make a genome of ``row`` (re-drawn until it is new) and queue it."""
        in_play = {g.key for g in self._in_play()}
        row, origin, key = novel(
            state,
            row,
            origin,
            sigma,
            fresh=fresh,
            taken=in_play.__contains__,
            mutation_sigma=self.mutation_sigma,
            max_tries=self.max_novelty_tries,
        )
        generation = self._births // state.population_size
        self._births += 1
        if key in state.seen or key in in_play:
            return  # the space is crowded here: this birth is skipped
        g = state.new_genome(row, key, origin, parents, float(sigma), generation)
        state.number(g)
        self._ready.append(g)
        self._order.append(g.id)

    # ----------------------------------------------------------------- tell
    def tell(self, state: SearchState, evaluations: Sequence[Evaluation]) -> None:
        for e in evaluations:
            if e.candidate_id not in self._pending:
                raise ValueError(
                    f"tell() got an evaluation for candidate {e.candidate_id}, which was "
                    "not asked or was already told"
                )
            self._inbox[e.candidate_id] = e
        while self._order and self._order[0] in self._inbox:
            self._apply(state, self._order.pop(0))

    def _apply(self, state: SearchState, cid: int) -> None:
        told = self._inbox.pop(cid)
        g = self._pending.pop(cid)
        state.record(g, told)
        if math.isfinite(g.score):
            state.hall_of_fame.update([g])
        pop = state.population
        if len(pop) < state.population_size:
            pop.append(g)
        else:
            worst = min(range(len(pop)), key=lambda k: (pop[k].selection_value(), -k))
            if g.selection_value() > pop[worst].selection_value():
                pop[worst] = g
        self._applied += 1
        if self._applied % state.population_size == 0:
            self._close(state)
        self._schedule(state)

    def _schedule(self, state: SearchState) -> None:
        """Make the children due: the child born ``in_flight`` places after
        each applied result. Those due before any result exists (``in_flight``
        above the initial design) are sampled, as the initial design is."""
        mu = self._n_initial(state)
        due = mu + max(0, self._applied + self._in_flight - mu)
        while self._births < due:
            if state.population:
                self._child(state)
            else:
                row = state.space.sample(1, state.rng, "random")[0]
                self._born(state, row, "initial", (), self.mutation_sigma, fresh=True)

    def _close(self, state: SearchState) -> None:
        block = state.evaluations[-state.population_size :]
        failed = sum(1 for e in block if e.status in FAILED_STATUSES)
        state.close_generation(len(block), failed, {})

    def finish(self, state: SearchState) -> None:
        """Close the last, partial generation (the run stopped inside it)."""
        if self._applied % state.population_size:
            self._close(state)
