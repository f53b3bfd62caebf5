"""Selection on fitness arrays (higher is better).

Failed genomes must carry ``-inf`` before they get here: a NaN is rejected,
because neither a comparison nor DEAP's sort gives it a sound rank.
"""

from __future__ import annotations

import numpy as np


def _fitness(fitness: np.ndarray) -> np.ndarray:
    f = np.asarray(fitness, dtype=np.float64)
    if f.ndim != 1 or f.size == 0:
        raise ValueError(f"fitness must be a non-empty 1-D array, got shape {f.shape}")
    if np.isnan(f).any():
        raise ValueError("fitness contains NaN; map failed genomes to -inf first")
    return f


def select_best(fitness: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` fittest, best first; ties keep their original order.

    Examples
    --------
    >>> select_best(np.array([0.1, 0.9, 0.5]), 2)
    array([1, 2])
    """
    f = _fitness(fitness)
    if not 0 <= k <= f.size:
        raise ValueError(f"k must be in [0, {f.size}], got {k}")
    return np.argsort(-f, kind="stable")[:k]


def select_tournament(
    fitness: np.ndarray, k: int, rng: np.random.Generator, *, tournsize: int = 3
) -> np.ndarray:
    """Indices of ``k`` tournament winners; each tournament draws ``tournsize``
    contestants with replacement and keeps the fittest (the first drawn on a tie).

    Examples
    --------
    >>> idx = select_tournament(np.array([0.0, 1.0]), 4, np.random.default_rng(0), tournsize=2)
    >>> idx.shape
    (4,)
    """
    f = _fitness(fitness)
    if tournsize < 1:
        raise ValueError(f"tournsize must be >= 1, got {tournsize}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    draws = rng.integers(0, f.size, size=(k, tournsize))
    winner = np.argmax(f[draws], axis=1)
    return draws[np.arange(k), winner]
