"""The individual, and the one place that adapts DEAP.

DEAP's ``creator`` builds classes at run time; they are rebuilt on every
unpickle and so break identity across processes. Here every DEAP class is a
plain module-level subclass, importable by name in any process.
"""

from __future__ import annotations

import bisect
import copy
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from deap import base, tools

__all__ = [
    "FitnessMax",
    "FitnessMin",
    "Genome",
    "HallOfFame",
    "fitness_class",
    "make_hall_of_fame",
    "make_logbook",
    "make_statistics",
    "worst_value",
]

DIRECTIONS = ("maximize", "minimize")


class FitnessMax(base.Fitness):
    """Single-objective fitness, higher is better."""

    weights = (1.0,)


class FitnessMin(base.Fitness):
    """Single-objective fitness, lower is better."""

    weights = (-1.0,)


def fitness_class(direction: str) -> type[base.Fitness]:
    return FitnessMax if direction == "maximize" else FitnessMin


def worst_value(direction: str) -> float:
    """The fitness a failed or non-finite score gets: worse than any real score."""
    return -math.inf if direction == "maximize" else math.inf


class Genome:
    """One hyperparameter set: its encoded genes, canonical key and fitness.

    ``score`` is the objective's raw mean score (NaN when it failed);
    ``fitness`` is what DEAP ranks, with non-finite scores mapped to the worst
    value so that no NaN reaches selection or the hall of fame.

    Examples
    --------
    >>> g = Genome(np.array([0.5]), key="k", params={"x": 0.5}, direction="maximize")
    >>> g.set_score(float("nan")); g.fitness.values
    (-inf,)
    """

    __slots__ = (
        "budget",
        "checkpoint",
        "direction",
        "fitness",
        "generation",
        "genes",
        "id",
        "key",
        "origin",
        "params",
        "parents",
        "partial",
        "score",
        "seed",
        "sigma",
    )

    def __init__(
        self,
        genes: np.ndarray,
        *,
        key: str,
        params: dict[str, Any],
        direction: str,
        id: int = -1,
        generation: int = 0,
        origin: str = "initial",
        parents: Sequence[int] = (),
        seed: int = 0,
        sigma: float = 0.15,
    ) -> None:
        self.genes = np.asarray(genes, dtype=np.float64)
        self.sigma = float(sigma)  # its own mutation step, inherited and adapted
        self.key = key
        self.params = params
        self.direction = direction
        self.fitness = fitness_class(direction)()
        self.id = id
        self.generation = generation
        self.origin = origin
        self.parents = tuple(parents)
        self.seed = seed
        self.score = math.nan
        # the steps it may train for (a lower rung of strategy="hyperband"), None: all
        self.budget: int | None = None
        # the checkpoint its training continues from (strategy="pbt"), None: the start
        self.checkpoint: str | None = None
        # it trains short of a full training (a lower rung of strategy="hyperband")
        self.partial = False

    def set_score(self, score: float) -> None:
        self.score = float(score)
        value = self.score if math.isfinite(self.score) else worst_value(self.direction)
        self.fitness.values = (value,)

    @property
    def evaluated(self) -> bool:
        return bool(self.fitness.valid)

    def selection_value(self) -> float:
        """Fitness as 'higher is better', ``-inf`` for failures (for operators)."""
        return float(self.fitness.wvalues[0]) if self.fitness.valid else -math.inf

    def __repr__(self) -> str:
        return f"Genome(id={self.id}, params={self.params!r}, score={self.score!r})"


class HallOfFame(tools.HallOfFame):
    """DEAP's hall of fame, with ties kept in the order they were found.

    DEAP puts a newcomer ahead of the members it ties with; here the earlier
    one stays first, as scikit-learn's ``best_index_`` picks the first of tied
    candidates.
    """

    def insert(self, item: Any) -> None:
        item = copy.deepcopy(item)
        i = bisect.bisect_left(self.keys, item.fitness)
        self.items.insert(len(self) - i, item)
        self.keys.insert(i, item.fitness)


def make_hall_of_fame(maxsize: int) -> HallOfFame:
    """A hall of fame that tells genomes apart by canonical key."""
    return HallOfFame(maxsize, similar=lambda a, b: a.key == b.key)


def _quiet(fn: Any) -> Any:
    def wrapped(values: Iterable[float]) -> float:
        arr = np.asarray(list(values), dtype=float)
        arr = arr[np.isfinite(arr)]
        if arr.size == 0:
            return math.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(fn(arr))

    return wrapped


def make_statistics(direction: str) -> tools.Statistics:
    """Per-generation statistics over the finite scores of a population."""
    stats = tools.Statistics(key=lambda g: g.score)
    stats.register("best", _quiet(np.max if direction == "maximize" else np.min))
    stats.register("mean", _quiet(np.mean))
    stats.register("std", _quiet(np.std))
    return stats


def make_logbook() -> tools.Logbook:
    book = tools.Logbook()
    book.header = ["generation", "evaluations", "failed", "best", "mean", "std", "elapsed"]
    return book
