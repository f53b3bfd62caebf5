"""Typed crossover of parent pairs in the unit encoding.

Each function takes two parent arrays of the same shape ``(n, d)`` (row ``i`` of
``a`` mates with row ``i`` of ``b``) and returns two children arrays. Numeric
genes are recombined by the named rule; categorical and bit genes are always
exchanged gene by gene (uniform crossover), since a blend of category indices or
of bits has no meaning. A child whose bit group then holds too many or too few
set bits is repaired with the run's generator (see :func:`~operators.schema.repair`).
"""

from __future__ import annotations

import numpy as np

from operators.schema import GeneSchema, reflect, repair


def _check_pair(a: np.ndarray, b: np.ndarray, schema: GeneSchema) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != schema.n_genes:
        raise ValueError(
            f"parents must both have shape (n, {schema.n_genes}), got {a.shape} and {b.shape}"
        )
    return a, b


def _check_prob(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


def _swap(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.where(where, b, a), np.where(where, a, b)


def crossover_uniform(
    a: np.ndarray,
    b: np.ndarray,
    schema: GeneSchema,
    rng: np.random.Generator,
    *,
    indpb: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Exchange each gene between the parents with probability ``indpb``.

    Examples
    --------
    >>> s = GeneSchema.from_lists(["float", "float"])
    >>> c1, c2 = crossover_uniform(np.zeros((1, 2)), np.ones((1, 2)), s, np.random.default_rng(0))
    >>> bool(((c1 + c2) == 1).all())
    True
    """
    _check_prob("indpb", indpb)
    a, b = _check_pair(a, b, schema)
    c1, c2 = _swap(a, b, rng.random(a.shape) < indpb)
    return repair(c1, schema, rng), repair(c2, schema, rng)


def crossover_blend(
    a: np.ndarray,
    b: np.ndarray,
    schema: GeneSchema,
    rng: np.random.Generator,
    *,
    alpha: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """BLX-alpha for numeric genes, uniform exchange for categorical and bit ones.

    Examples
    --------
    >>> s = GeneSchema.from_lists(["float"])
    >>> c1, _ = crossover_blend(np.array([[0.2]]), np.array([[0.4]]), s, np.random.default_rng(0))
    >>> bool(0.0 <= c1[0, 0] <= 1.0)
    True
    """
    if not alpha >= 0:  # also rejects NaN
        raise ValueError(f"alpha must be >= 0, got {alpha!r}")
    a, b = _check_pair(a, b, schema)
    gamma = (1.0 + 2.0 * alpha) * rng.random(a.shape) - alpha
    n1 = reflect((1.0 - gamma) * a + gamma * b)
    n2 = reflect(gamma * a + (1.0 - gamma) * b)
    k1, k2 = _swap(a, b, rng.random(a.shape) < 0.5)
    num = schema.numeric[None, :]
    return repair(np.where(num, n1, k1), schema, rng), repair(np.where(num, n2, k2), schema, rng)


def crossover_sbx(
    a: np.ndarray,
    b: np.ndarray,
    schema: GeneSchema,
    rng: np.random.Generator,
    *,
    eta: float = 15.0,
    indpb: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounded simulated binary crossover (Deb) for numeric genes in ``[0, 1]``.

    Each numeric gene is recombined with probability ``indpb``; categorical
    and bit genes are exchanged with probability 0.5 (uniform crossover).

    Examples
    --------
    >>> s = GeneSchema.from_lists(["float"])
    >>> c1, c2 = crossover_sbx(np.array([[0.2]]), np.array([[0.6]]), s, np.random.default_rng(3))
    >>> c1.shape == c2.shape == (1, 1)
    True
    """
    if not eta > 0:  # also rejects NaN
        raise ValueError(f"eta must be > 0, got {eta!r}")
    _check_prob("indpb", indpb)
    a, b = _check_pair(a, b, schema)
    x1 = np.clip(np.minimum(a, b), 0.0, 1.0)
    x2 = np.clip(np.maximum(a, b), 0.0, 1.0)
    spread = x2 - x1
    safe = np.where(spread > 1e-14, spread, 1.0)
    u = rng.random(a.shape)

    def _betaq(beta: np.ndarray) -> np.ndarray:
        alpha = 2.0 - beta ** -(eta + 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            low = (u * alpha) ** (1.0 / (eta + 1.0))
            high = (1.0 / (2.0 - u * alpha)) ** (1.0 / (eta + 1.0))
        return np.where(u <= 1.0 / alpha, low, high)

    beta_lo = 1.0 + 2.0 * x1 / safe
    beta_hi = 1.0 + 2.0 * (1.0 - x2) / safe
    c_lo = 0.5 * (x1 + x2 - _betaq(beta_lo) * spread)
    c_hi = 0.5 * (x1 + x2 + _betaq(beta_hi) * spread)
    c_lo = np.clip(np.nan_to_num(c_lo, nan=0.0), 0.0, 1.0)
    c_hi = np.clip(np.nan_to_num(c_hi, nan=1.0), 0.0, 1.0)
    # which child gets the lower value is itself random, as in Deb's scheme
    flip = rng.random(a.shape) < 0.5
    n1, n2 = np.where(flip, c_hi, c_lo), np.where(flip, c_lo, c_hi)
    active = (rng.random(a.shape) < indpb) & (spread > 1e-14)
    n1, n2 = np.where(active, n1, a), np.where(active, n2, b)
    k1, k2 = _swap(a, b, rng.random(a.shape) < 0.5)
    num = schema.numeric[None, :]
    return repair(np.where(num, n1, k1), schema, rng), repair(np.where(num, n2, k2), schema, rng)
