"""The asynchronous steady-state strategy of :class:`evotune.Evolution`.

A generational GA waits at the end of every generation for its slowest fit.
Here a new candidate is bred each time a result is told, so ``in_flight``
candidates are always being evaluated and no worker waits for a generation.

To keep the run's history the same at every ``n_jobs`` (and a resume exact),
results are *applied* in the order the candidates were born, whatever order
they finish in: applying the ``n``-th result inserts it into the population
(it replaces the worst member if it is better, a (mu + 1) replacement) and
breeds the child born ``in_flight`` places later. Which parents a child has
thus depends only on the results before it, never on timing. A child is bred
from two tournament-selected parents (crossover with ``crossover_prob``, then
mutation with ``mutation_prob``, always mutation when crossover did not
happen, so it is never a copy), screened by the surrogate as in the
generational strategies. Every ``population_size`` births make one
"generation" for the logbook, the journal, callbacks and stops.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from evotune._surrogate import predict_nearest, reference_indices
from evotune.genome import Genome
from evotune.records import Candidate, Evaluation
from operators import crossover_sbx, mutate_gaussian, select_tournament

if TYPE_CHECKING:
    from evotune.space import Space

__all__ = ["SteadyState"]


class SteadyState:
    """Ask/tell of the ``"steady_state"`` strategy (mixed into Evolution)."""

    # provided by Evolution
    space: Space
    population_size: int
    in_flight: int
    crossover_prob: float
    mutation_prob: float
    tournament_size: int
    mutation_sigma: float
    max_novelty_tries: int
    screening: int
    direction: str
    rng: np.random.Generator
    generation: int
    population: list[Genome]
    evaluations: list[Evaluation]
    hall_of_fame: Any
    logbook: Any
    _seen: dict[str, Genome]
    _cost: dict[int, float]
    _hist_genes: list[np.ndarray]
    _hist_fit: list[float]
    _pending: dict[int, Genome]
    _seeds: np.ndarray
    _next_id: int
    initial_sampling: str
    _stats: Any
    _clock: float
    _novel: Any  # Evolution._novel: a row re-drawn until its key is new

    def _steady_init(self) -> None:
        self._ready: list[Genome] = []  # born, not yet asked
        self._inbox: dict[int, Evaluation] = {}  # told, waiting for their turn
        self._order: list[int] = []  # ids in birth order, not yet applied
        self._births = 0
        self._applied = 0
        self.boundaries: list[dict[str, Any]] = []  # one per generation, drained by the loop

    # ------------------------------------------------------------------ ask
    def _ask_steady(self, limit: int | None) -> list[Candidate]:
        if self._births == 0:
            seeds = self._seeds[: self.population_size]
            rest = self.space.sample(
                self.population_size - len(seeds), self.rng, self.initial_sampling
            )
            genes = np.vstack([seeds, rest])
            origins = ["seeded"] * len(seeds) + ["initial"] * len(rest)
            for row, origin in zip(genes, origins):
                self._born(row, origin, (), self.mutation_sigma, fresh=True)
            self._schedule()
        n = len(self._ready) if limit is None else min(limit, len(self._ready))
        asked, self._ready = self._ready[:n], self._ready[n:]
        for g in asked:
            self._pending[g.id] = g
        return [
            Candidate(g.id, g.generation, g.origin, g.key, dict(g.params), g.seed) for g in asked
        ]

    def _in_play(self) -> set[str]:
        return {g.key for g in self._pending.values()} | {g.key for g in self._ready}

    def _born(
        self, row: np.ndarray, origin: str, parents: tuple[int, ...], sigma: float, fresh: bool
    ) -> None:
        """Make a genome of ``row`` (re-drawn until it is new) and queue it."""
        space = self.space
        in_play = self._in_play()
        row, origin, key = self._novel(row, origin, sigma, fresh, in_play.__contains__)
        generation = self._births // self.population_size
        self._births += 1
        if key in self._seen or key in in_play:
            return  # the space is crowded here: this birth is skipped
        g = Genome(
            row,
            key=key,
            params=space.decode(row),
            direction=self.direction,
            generation=generation,
            origin=origin,
            parents=parents,
            seed=int(self.rng.integers(0, 2**31 - 1)),
            sigma=float(sigma),
        )
        g.id = self._next_id
        self._next_id += 1
        self._ready.append(g)
        self._order.append(g.id)

    def _child(self) -> tuple[np.ndarray, str, tuple[int, ...], float]:
        pop = self.population
        schema = self.space.schema
        rng = self.rng
        fit = np.array([g.selection_value() for g in pop])
        i, j = select_tournament(fit, 2, rng, tournsize=min(self.tournament_size, len(pop)))
        a, b = pop[int(i)], pop[int(j)]
        row = a.genes.copy()
        origin, sigma = "mutation", a.sigma
        parents: tuple[int, ...] = (a.id,)
        if len(pop) > 1 and rng.random() < self.crossover_prob:
            c1, _ = crossover_sbx(a.genes[None, :], b.genes[None, :], schema, rng)
            row, origin, parents = c1[0], "crossover", (a.id, b.id)
            sigma = math.sqrt(a.sigma * b.sigma)
        if origin != "crossover" or rng.random() < self.mutation_prob:
            tau = 1.0 / math.sqrt(2.0 * self.space.n_genes)
            sigma = float(np.clip(sigma * math.exp(tau * rng.normal()), 0.005, 0.5))
            row = mutate_gaussian(row[None, :], schema, rng, sigma=sigma)[0]
        return row, origin, parents, sigma

    def _breed_one(self) -> None:
        options = [self._child() for _ in range(self.screening)]
        pick = 0
        fit = np.asarray(self._hist_fit)
        if len(options) > 1 and np.isfinite(fit).sum() >= max(8, 2 * self.space.n_genes):
            if self.rng.random() < 0.25:  # a quarter at random, to keep exploring
                pick = int(self.rng.integers(0, len(options)))
            else:
                ref = reference_indices(fit)
                pred = predict_nearest(
                    np.stack([o[0] for o in options]),
                    np.stack([self._hist_genes[k] for k in ref]),
                    fit[ref],
                    self.space.schema.categorical,
                )
                pick = int(np.argmax(pred))
        row, origin, parents, sigma = options[pick]
        self._born(row, origin, parents, sigma, fresh=False)

    # ----------------------------------------------------------------- tell
    def _tell_steady(self, evaluations: list[Evaluation]) -> None:
        for e in evaluations:
            if e.candidate_id not in self._pending:
                raise ValueError(
                    f"tell() got an evaluation for candidate {e.candidate_id}, which was "
                    "not asked or was already told"
                )
            self._inbox[e.candidate_id] = e
        while self._order and self._order[0] in self._inbox:
            self._apply(self._order.pop(0))

    def _apply(self, cid: int) -> None:
        told = self._inbox.pop(cid)
        g = self._pending.pop(cid)
        g.set_score(told.mean_score if told.status == "ok" else math.nan)
        self._seen[g.key] = g
        self._hist_genes.append(g.genes)
        self._hist_fit.append(g.selection_value())
        self._cost[g.id] = told.fit_time + told.score_time
        self.evaluations.append(told)
        if math.isfinite(g.score):
            self.hall_of_fame.update([g])
        pop = self.population
        if len(pop) < self.population_size:
            pop.append(g)
        else:
            worst = min(range(len(pop)), key=lambda k: (pop[k].selection_value(), -k))
            if g.selection_value() > pop[worst].selection_value():
                pop[worst] = g
        self._applied += 1
        if self._applied % self.population_size == 0:
            self._close_generation()
        self._schedule()

    def _schedule(self) -> None:
        """Breed the children due: the child born ``in_flight`` places after
        each applied result. Those due before any result exists (``in_flight``
        above ``population_size``) are sampled, as the initial population is."""
        due = self.population_size + max(0, self._applied + self.in_flight - self.population_size)
        while self._births < due:
            if self.population:
                self._breed_one()
            else:
                row = self.space.sample(1, self.rng, "random")[0]
                self._born(row, "initial", (), self.mutation_sigma, fresh=True)

    def _close_generation(self) -> None:
        block = self.evaluations[-self.population_size :]
        record = {
            "generation": self.generation,
            "evaluations": len(block),
            "failed": sum(1 for e in block if e.status != "ok" or not math.isfinite(e.mean_score)),
            **self._stats.compile(self.population),
            "elapsed": time.perf_counter() - self._clock,
        }
        if len(self.hall_of_fame):
            record["best"] = float(self.hall_of_fame[0].score)
        self.logbook.record(**record)
        best = self.hall_of_fame[0] if len(self.hall_of_fame) else None
        self.boundaries.append(
            {
                "generation": self.generation,
                "rng": dict(self.rng.bit_generator.state),
                "n_evaluations": len(self.evaluations),
                "record": dict(record),
                "best": best,
            }
        )
        self.generation += 1

    def _finish_steady(self) -> None:
        """Close the last, partial generation (the run stopped inside it)."""
        if self._applied % self.population_size:
            self._close_generation()
