"""``strategy="grid"``: grid search on the evolution's engine.

Every point of the grid, in an order shuffled by the run's random state: a
categorical parameter contributes all its choices; an integer one all its
values, or ``n_points`` of them spread over its range (on its log scale when
``log=True``) when it has more; a float one ``n_points`` values from its low
to its high end, likewise. Points that differ only in inactive conditional
parameters are one point. The run's budget caps it (``population_size *
generations`` or ``max_evaluations``); the run ends ("exhausted") when every
point was evaluated. Warm-start seeds come first.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from evotune._validation import InvalidParameterError, check_int
from evotune.space import Categorical, FeatureMask, Integer, Space
from evotune.strategies._breeder import Offspring
from evotune.strategies._generational import Generational, default
from evotune.strategies.base import SearchState

__all__ = ["GridSearch"]

#: the most grid points enumerated (a larger grid is a mistake to say early)
MAX_POINTS = 1_000_000


def _axis(space: Space, name: str, n_points: int) -> list[float]:
    """The unit-encoded values of parameter ``name`` on the grid."""
    p = space[name]
    if isinstance(p, FeatureMask):
        raise InvalidParameterError(
            f"strategy='grid' cannot enumerate the FeatureMask {name!r} (2**{p.n_features} "
            "masks); use an evolutionary strategy"
        )
    if isinstance(p, Categorical):
        return [float(i) for i in range(len(p.choices))]
    units = np.linspace(0.0, 1.0, n_points)
    if isinstance(p, Integer):
        values = sorted({p.decode(u) for u in units})
        return [float(p.encode(v)) for v in values]
    return [float(u) for u in units]


def grid_rows(space: Space, n_points: int) -> np.ndarray:
    """Every grid point of ``space`` as unit-encoded rows, in grid order.

    Examples
    --------
    >>> from evotune import Float
    >>> grid_rows(Space({"x": Float(0, 1), "k": Categorical(["a", "b"])}), 3).shape
    (6, 2)
    """
    axes = [_axis(space, name, n_points) for name in space.names]
    total = math.prod(len(a) for a in axes)
    if total > MAX_POINTS:
        raise InvalidParameterError(
            f"strategy='grid': the grid has {total} points, more than {MAX_POINTS}; lower "
            "'n_points' or search with another strategy"
        )
    rows = np.array(list(itertools.product(*axes)), dtype=float).reshape(total, space.n_genes)
    keys: set[str] = set()
    keep = []
    for i, row in enumerate(rows):
        key = space.key(row)
        if key not in keys:
            keys.add(key)
            keep.append(i)
    return rows[keep]


@dataclass
class GridSearch(Generational):
    """Grid search (see the module's docstring).

    Parameters
    ----------
    n_points : int, default=5
        Values per numeric parameter.

    Examples
    --------
    >>> from evotune import Categorical, Integer, evolve
    >>> res = evolve(lambda p: p["n"], {"n": Integer(1, 3), "k": Categorical(["a", "b"])},
    ...              strategy="grid", population_size=4, generations=5, random_state=0)
    >>> res.n_evaluations, res.stop_reason
    (6, 'exhausted')
    """

    name: ClassVar[str] = "grid"
    n_points: int = 5
    # a grid point is taken as it is, never re-drawn
    max_novelty_tries: int = field(default=0, init=False, repr=False)
    mutation_sigma: float = field(default=default("mutation_sigma"), init=False, repr=False)

    def __post_init__(self) -> None:
        self.n_points = check_int("n_points", self.n_points, low=2)

    def start(self, state: SearchState) -> None:
        super().start(state)
        rows = grid_rows(state.space, self.n_points)
        rows = rows[state.rng.permutation(len(rows))]
        self._rows = np.vstack([state.seeds, rows])
        self._next = 0

    def _chunk(self, state: SearchState) -> Offspring:
        picked: list[int] = []
        while self._next < len(self._rows) and len(picked) < state.population_size:
            if state.space.key(self._rows[self._next]) not in state.seen:
                picked.append(self._next)
            self._next += 1
        n = len(picked)
        origins = ["seeded" if i < len(state.seeds) else "initial" for i in picked]
        return Offspring(self._rows[picked], origins, [()] * n, np.full(n, self.mutation_sigma))

    def initial(self, state: SearchState) -> Offspring:
        return self._chunk(state)

    def propose(self, state: SearchState) -> Offspring:
        return self._chunk(state)
