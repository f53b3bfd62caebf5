"""``strategy="ga"``: the generational genetic algorithm.

The best ``elitism`` parents survive unchanged; the rest of the next
generation are offspring of tournament-selected pairs (SBX crossover with
``crossover_prob``, then Gaussian mutation with ``mutation_prob``), screened
by the surrogate when ``screening > 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from evotune._validation import check_int
from evotune.genome import Genome
from evotune.strategies._breeder import Offspring, breed_ga
from evotune.strategies._generational import Bred, default
from evotune.strategies._screening import screen
from evotune.strategies.base import SearchState
from operators import select_best

__all__ = ["GA"]


@dataclass
class GA(Bred):
    """The generational GA (see the module's docstring).

    Examples
    --------
    >>> from evotune import Float, evolve
    >>> res = evolve(lambda p: -p["x"] ** 2, {"x": Float(-1, 1)}, strategy=GA(tournament_size=3),
    ...              population_size=6, generations=3, random_state=0)
    >>> res.n_evaluations  # 6, then 5 offspring and the elite each generation
    16
    """

    name: ClassVar[str] = "ga"
    elitism: int = field(default=default("elitism"))
    tournament_size: int = field(default=default("tournament_size"))

    def start(self, state: SearchState) -> None:
        super().start(state)
        check_int("elitism", self.elitism, low=0, high=state.population_size - 1)
        self._elites: list[Genome] = []

    def fitness(self, state: SearchState) -> np.ndarray:
        """What parents are selected on."""
        return np.array([g.selection_value() for g in state.population])

    def _breed(self, state: SearchState) -> Offspring:
        fit = self.fitness(state)
        pop = state.population
        self._elites = [pop[i] for i in select_best(fit, min(self.elitism, len(pop)))]
        n_off = state.population_size - len(self._elites)
        return breed_ga(
            state, fit, n_off, self.tournament_size, self.crossover_prob, self.mutation_prob
        )

    def propose(self, state: SearchState) -> Offspring:
        return screen(state, self._breed(state), lambda: self._breed(state), self.screening)

    def survive(self, state: SearchState, members: list[Genome]) -> list[Genome]:
        return list(self._elites) + members
