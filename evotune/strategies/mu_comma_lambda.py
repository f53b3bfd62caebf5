"""``strategy="mu_comma_lambda"``: (mu, lambda) selection.

Offspring are bred as in :mod:`~evotune.strategies.mu_plus_lambda`; the next
parents are the best offspring alone (the best parents fill in when too few
new offspring were evaluated).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from evotune.genome import Genome
from evotune.strategies._breeder import best
from evotune.strategies.base import SearchState
from evotune.strategies.mu_plus_lambda import MuPlusLambda

__all__ = ["MuCommaLambda"]


@dataclass
class MuCommaLambda(MuPlusLambda):
    """(mu, lambda): survivors are the best offspring.

    Examples
    --------
    >>> MuCommaLambda().name
    'mu_comma_lambda'
    """

    name: ClassVar[str] = "mu_comma_lambda"

    def survive(self, state: SearchState, members: list[Genome]) -> list[Genome]:
        mu = state.population_size
        chosen = best(members, mu)
        if len(chosen) < mu:  # too few new offspring: keep the best parents
            rest = [g for g in state.population if g not in chosen]
            chosen += best(rest, mu - len(chosen))
        return chosen
