"""``strategy="steady_state"``: the asynchronous steady-state strategy.

A new candidate is bred each time a result is told (the asynchronous
template, :mod:`evotune.strategies._asynchronous`: results applied in birth
order, so the history is the same at every ``n_jobs``). A child is bred from
two tournament-selected parents (crossover with ``crossover_prob``, then
mutation with ``mutation_prob``, always mutation when crossover did not
happen, so it is never a copy), screened by the surrogate as in the
generational strategies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from evotune.settings import check
from evotune.strategies._asynchronous import Asynchronous
from evotune.strategies._breeder import breed_one, check_or_probabilities
from evotune.strategies._generational import default
from evotune.strategies._screening import pick_one
from evotune.strategies.base import SearchState

__all__ = ["SteadyState"]


@dataclass
class SteadyState(Asynchronous):
    """The asynchronous steady-state strategy (see the module's docstring).

    ``in_flight`` (default ``population_size``) is the number of candidates
    being evaluated at once. A slow candidate holds back the breeding of the
    children due after it once the ``in_flight - 1`` born after it are done:
    give at least a few candidates per worker. It is a setting of the run, not
    of the machine, so the history does not depend on ``n_jobs``.

    Examples
    --------
    >>> SteadyState(in_flight=4).asynchronous
    True
    """

    name: ClassVar[str] = "steady_state"
    crossover_prob: float = field(default=default("crossover_prob"))
    mutation_prob: float = field(default=default("mutation_prob"))
    tournament_size: int = field(default=default("tournament_size"))
    screening: int = field(default=default("screening"))
    in_flight: int | None = field(default=default("in_flight"))
    mutation_sigma: float = field(default=default("mutation_sigma"))
    max_novelty_tries: int = field(default=default("max_novelty_tries"))

    def __post_init__(self) -> None:
        for name, value in self.params().items():
            setattr(self, name, check(name, value))
        check_or_probabilities(self.name, self.crossover_prob, self.mutation_prob)

    def _child(self, state: SearchState) -> None:
        options = [
            breed_one(state, self.tournament_size, self.crossover_prob, self.mutation_prob)
            for _ in range(self.screening)
        ]
        child = pick_one(state, options)
        row, origin, parents, sigma = (
            child.genes[0],
            child.origins[0],
            child.parents[0],
            float(child.sigmas[0]),
        )
        self._born(state, row, origin, parents, sigma, fresh=False)
