"""``strategy="nsga2"`` (and ``"ga"`` with several ``objectives``): NSGA-II.

Parents are drawn by tournament on NSGA-II's crowded comparison (a lower
non-domination rank first, then a larger crowding distance); offspring are
bred as in the GA; the survivors are the best of parents and offspring by
``deap.tools.selNSGA2``. Every non-dominated evaluation joins the run's
Pareto front, and the logbook records its size and hypervolume (its
reference point fixed after generation 0: the worst finite value of each
objective then, less a tenth of its range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from deap import tools

from evotune._pareto import crowded_keys, hypervolume
from evotune._validation import InvalidParameterError
from evotune.genome import Genome
from evotune.strategies.base import SearchState
from evotune.strategies.ga import GA

__all__ = ["NSGA2"]


def _finite(g: Genome) -> bool:
    return all(math.isfinite(v) for v in g.fitness.wvalues)


@dataclass
class NSGA2(GA):
    """NSGA-II (see the module's docstring); it needs several ``objectives``.

    Examples
    --------
    >>> NSGA2(tournament_size=2).elitism
    0
    """

    name: ClassVar[str] = "nsga2"
    multi_objective: ClassVar[bool] = True
    elitism: int = field(default=0, init=False)  # survival keeps the best of both

    def start(self, state: SearchState) -> None:
        if state.pareto_front is None:
            raise InvalidParameterError(
                "strategy='nsga2' needs several 'objectives' (e.g. {'score': 'maximize', "
                "'fit_time': 'minimize'})"
            )
        super().start(state)
        self._hv_reference: np.ndarray | None = None

    def fitness(self, state: SearchState) -> np.ndarray:
        """NSGA-II's crowded comparison as one number per genome (failed: -inf)."""
        pop = state.population
        ok = [g for g in pop if _finite(g)]
        keys = dict(zip(map(id, ok), crowded_keys(ok)))
        return np.array([keys.get(id(g), -math.inf) for g in pop])

    def survive(self, state: SearchState, members: list[Genome]) -> list[Genome]:
        genomes, mu = state.population + members, state.population_size
        ok = [g for g in genomes if _finite(g)]
        chosen = tools.selNSGA2(ok, min(mu, len(ok))) if ok else []
        if len(chosen) < mu:  # too few real scores: fill with the failed
            chosen += [g for g in genomes if not _finite(g)][: mu - len(chosen)]
        return list(chosen)

    def log_extra(self, state: SearchState, offspring: list[Genome]) -> dict[str, Any]:
        """Add the generation to the Pareto front; its size and hypervolume."""
        state.pareto_front.update([g for g in offspring if _finite(g)])
        front = np.array([g.fitness.wvalues for g in state.pareto_front], dtype=float)
        if self._hv_reference is None:
            seen = np.array(
                [g.fitness.wvalues for g in state.seen.values() if _finite(g)], dtype=float
            )
            if len(seen):
                lo, hi = seen.min(axis=0), seen.max(axis=0)
                self._hv_reference = lo - 0.1 * np.where(hi > lo, hi - lo, 1.0)
        ref = self._hv_reference
        volume = hypervolume(front, ref) if ref is not None else 0.0
        return {"front": float(len(front)), "hypervolume": float(volume)}
