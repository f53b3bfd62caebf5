"""The strategy protocol, and the state every strategy reads and updates.

An :class:`evotune.Evolution` keeps the state all strategies share (the
space, the random state, the population, every evaluation, the hall of fame,
the logbook, the keys already seen) and hands its ``ask`` and ``tell`` to its
strategy. A strategy says what to ask, what to do with told evaluations,
when a generation ends (by calling :meth:`SearchState.close_generation`) and
whether it is asynchronous (its results may be told one at a time, in any
order, while others are still out).

A strategy object carries its parameters; an ``Evolution`` works on its own
copy, so one object can configure several runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from evotune.genome import Genome
from evotune.records import Candidate, Evaluation
from evotune.space import Space

__all__ = ["SearchState", "Strategy", "candidate_of"]


class SearchState(Protocol):
    """What a strategy may read and call on the :class:`evotune.Evolution`."""

    space: Space
    rng: np.random.Generator
    direction: str
    population_size: int
    initial_sampling: str
    seeds: np.ndarray
    generation: int
    population: list[Genome]
    evaluations: list[Evaluation]
    hall_of_fame: Any
    pareto_front: Any
    logbook: Any
    seen: dict[str, Genome]
    history_genes: list[np.ndarray]
    history_fitness: list[float]

    def new_genome(
        self,
        row: np.ndarray,
        key: str,
        origin: str,
        parents: tuple[int, ...],
        sigma: float,
        generation: int,
    ) -> Genome: ...

    def number(self, genome: Genome) -> None: ...

    def record(self, genome: Genome, evaluation: Evaluation) -> None: ...

    def close_generation(
        self, n_evaluations: int, n_failed: int, extra: dict[str, Any]
    ) -> None: ...


@runtime_checkable
class Strategy(Protocol):
    """A search strategy (see the module's docstring)."""

    name: ClassVar[str]
    asynchronous: ClassVar[bool]
    #: it ranks several objectives (NSGA-II); others take one
    multi_objective: ClassVar[bool]

    def start(self, state: SearchState) -> None:
        """Check the strategy against the run (population size, objectives)."""

    def ask(self, state: SearchState, limit: int | None) -> list[Genome]:
        """New genomes to evaluate (numbered with ``state.number``), at most ``limit``."""

    def tell(self, state: SearchState, evaluations: Sequence[Evaluation]) -> None:
        """Take the evaluations of asked genomes."""

    def finish(self, state: SearchState) -> None:
        """The run stops: close a generation left open."""

    def params(self) -> dict[str, Any]:
        """The strategy's parameters (for ``meta.json`` and tracking)."""


def candidate_of(g: Genome, expected_cost: float = float("nan")) -> Candidate:
    """The :class:`Candidate` record the evaluator gets for genome ``g``."""
    return Candidate(
        g.id,
        g.generation,
        g.origin,
        g.key,
        dict(g.params),
        g.seed,
        expected_cost,
        g.budget,
        g.checkpoint,
        g.partial,
    )
