"""The surrogate that screens offspring: a nearest-neighbour model of the history.

An offspring's fitness is predicted as the distance-weighted mean fitness of
its ``k`` nearest evaluated genomes, measured in the unit encoding (a
categorical mismatch counts 0.5 in distance). It is cheap, needs no fitting,
and works for any mix of parameter types.
"""

from __future__ import annotations

import numpy as np

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
