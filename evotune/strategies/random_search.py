"""``strategy="random"``: random search on the evolution's engine.

Every generation is a fresh sample of the space with the run's
``initial_sampling`` (``"lhs"``, ``"sobol"`` or ``"random"``); nothing is
bred. A point already evaluated is re-drawn, so no candidate runs twice. It
gets the pool, the journal, resume and the report as every strategy does: a
baseline, or the coarse first pass before an evolutionary refinement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from evotune.settings import check
from evotune.strategies._breeder import Offspring
from evotune.strategies._generational import Generational, default
from evotune.strategies.base import SearchState

__all__ = ["RandomSearch"]


@dataclass
class RandomSearch(Generational):
    """Random search (see the module's docstring).

    Examples
    --------
    >>> from evotune import Float, evolve
    >>> res = evolve(lambda p: -p["x"] ** 2, {"x": Float(-1, 1)}, strategy="random",
    ...              population_size=5, generations=2, random_state=0)
    >>> sorted(set(res.history["origin"]))
    ['initial']
    """

    name: ClassVar[str] = "random"
    fresh: ClassVar[bool] = True
    max_novelty_tries: int = field(default=default("max_novelty_tries"))
    mutation_sigma: float = field(default=default("mutation_sigma"), init=False, repr=False)

    def __post_init__(self) -> None:
        self.max_novelty_tries = check("max_novelty_tries", self.max_novelty_tries)

    def propose(self, state: SearchState) -> Offspring:
        genes = state.space.sample(state.population_size, state.rng, state.initial_sampling)
        n = len(genes)
        return Offspring(genes, ["initial"] * n, [()] * n, np.full(n, self.mutation_sigma))
