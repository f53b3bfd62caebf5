"""``strategy="mu_plus_lambda"``: (mu + lambda) selection.

Each of the ``population_size`` offspring comes from crossover, mutation or
reproduction (DEAP's ``varOr``); the next parents are the best of parents and
offspring together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from evotune.genome import Genome
from evotune.strategies._breeder import Offspring, best, breed_var_or, check_or_probabilities
from evotune.strategies._generational import Bred
from evotune.strategies._screening import screen
from evotune.strategies.base import SearchState

__all__ = ["MuPlusLambda"]


@dataclass
class MuPlusLambda(Bred):
    """(mu + lambda): survivors are the best of parents and offspring.

    Examples
    --------
    >>> MuPlusLambda(crossover_prob=0.5, mutation_prob=0.5).name
    'mu_plus_lambda'
    """

    name: ClassVar[str] = "mu_plus_lambda"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_or_probabilities(self.name, self.crossover_prob, self.mutation_prob)

    def _breed(self, state: SearchState) -> Offspring:
        return breed_var_or(state, self.crossover_prob, self.mutation_prob)

    def propose(self, state: SearchState) -> Offspring:
        return screen(state, self._breed(state), lambda: self._breed(state), self.screening)

    def survive(self, state: SearchState, members: list[Genome]) -> list[Genome]:
        return best(state.population + members, state.population_size)
