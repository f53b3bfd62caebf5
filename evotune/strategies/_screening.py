"""Surrogate screening, shared by the evolutionary strategies: a
nearest-neighbour model of the history rates bred offspring before any is
evaluated.

An offspring's fitness is predicted as the distance-weighted mean fitness of
its ``k`` nearest evaluated genomes, measured in the unit encoding (a
categorical mismatch counts 0.5 in distance). It is cheap, needs no fitting,
and works for any mix of parameter types.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evotune.strategies._breeder import Offspring
from evotune.strategies.base import SearchState

__all__ = ["pick_one", "predict_nearest", "reference_indices", "screen"]

REFERENCE_LIMIT = 2000
_BLOCK = 256


def reference_indices(fitness: np.ndarray, limit: int = REFERENCE_LIMIT) -> np.ndarray:
    """Indices of the finite-fitness genomes the model uses: the best ``limit``
    of them, in history order (bounded, so a long run does not slow down)."""
    finite = np.flatnonzero(np.isfinite(fitness))
    if len(finite) > limit:
        top = np.argpartition(-fitness[finite], limit - 1)[:limit]
        finite = np.sort(finite[top])
    return finite


def predict_nearest(
    pool: np.ndarray,
    reference: np.ndarray,
    fitness: np.ndarray,
    categorical: np.ndarray,
    k: int = 5,
) -> np.ndarray:
    """Predicted fitness of each row of ``pool`` from the ``reference`` genomes.

    Examples
    --------
    >>> ref = np.array([[0.0], [1.0]])
    >>> predict_nearest(np.array([[0.1]]), ref, np.array([1.0, 0.0]), np.array([False]), k=1)
    array([1.])
    """
    k = min(k, len(reference))
    numeric = ~categorical
    out = np.empty(len(pool))
    for lo in range(0, len(pool), _BLOCK):  # in blocks: memory stays bounded
        block = pool[lo : lo + _BLOCK]
        d2 = np.zeros((len(block), len(reference)))
        if numeric.any():
            d2 += ((block[:, None, numeric] - reference[None, :, numeric]) ** 2).sum(axis=2)
        if categorical.any():
            d2 += 0.25 * (block[:, None, categorical] != reference[None, :, categorical]).sum(
                axis=2
            )
        near = np.argpartition(d2, k - 1, axis=1)[:, :k]
        w = 1.0 / (np.sqrt(np.take_along_axis(d2, near, axis=1)) + 1e-9)
        out[lo : lo + _BLOCK] = (w * fitness[near]).sum(axis=1) / w.sum(axis=1)
    return out


def _ready(state: SearchState) -> bool:
    """Enough finite scores for the model to say something."""
    fit = np.asarray(state.history_fitness)
    return bool(np.isfinite(fit).sum() >= max(8, 2 * state.space.n_genes))


def _predict(state: SearchState, genes: np.ndarray) -> np.ndarray:
    fit = np.asarray(state.history_fitness)
    ref = reference_indices(fit)
    return predict_nearest(
        genes,
        np.stack([state.history_genes[i] for i in ref]),
        fit[ref],
        state.space.schema.categorical,
    )


def screen(
    state: SearchState, first: Offspring, breed: Callable[[], Offspring], screening: int
) -> Offspring:
    """Surrogate screening of a batch: breed ``screening`` times the offspring
    needed (``first`` and ``screening - 1`` more calls of ``breed``) and keep
    those the model rates best, but a quarter drawn at random from the pool,
    so the model cannot lock the search in."""
    n = len(first)
    if screening <= 1 or not _ready(state):
        return first
    pool = Offspring.join([first, *(breed() for _ in range(screening - 1))])
    pred = _predict(state, pool.genes)
    n_model = n - n // 4
    order = np.argsort(-pred, kind="stable")
    chosen = list(order[:n_model])
    rest = np.setdiff1d(np.arange(len(pool)), chosen)
    chosen += list(state.rng.choice(rest, size=n - n_model, replace=False))
    return pool.take(np.array(chosen))


def pick_one(state: SearchState, options: list[Offspring]) -> Offspring:
    """Surrogate screening of one child: the option the model rates best, or
    (a quarter of the time) one at random."""
    if len(options) <= 1 or not _ready(state):
        return options[0]
    if state.rng.random() < 0.25:
        return options[int(state.rng.integers(0, len(options)))]
    pred = _predict(state, np.vstack([o.genes for o in options]))
    return options[int(np.argmax(pred))]
