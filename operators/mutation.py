"""Typed mutation in the unit encoding.

Numeric genes take a Gaussian or polynomial step in the unit interval (so a
log-scaled parameter moves in log space) and are folded back by reflection;
integer genes are then put back on their bin centre. A categorical gene that is
chosen for mutation is reset, with probability ``category_prob``, to one of its
*other* choices, so a chosen gene always changes. A bit gene that is chosen
flips; when that takes its group's count of set bits past a bound, another bit
of the group flips the other way (a swap), so the bound holds and the mutant
still differs from its parent. :func:`mutate_bitflip` flips bits only.
"""

from __future__ import annotations

import numpy as np

from operators.schema import (
    GeneSchema,
    _bound_bits,
    integer_to_unit,
    reflect,
    repair,
    unit_to_integer,
)


def _check_positive(name: str, value: float) -> None:
    if not value > 0:  # also rejects NaN
        raise ValueError(f"{name} must be > 0, got {value!r}")


def _nudge_integers(
    out: np.ndarray,
    before: np.ndarray,
    mask: np.ndarray,
    schema: GeneSchema,
    rng: np.random.Generator,
) -> np.ndarray:
    """A chosen integer gene whose step stayed inside its bin moves one integer,
    so a mutant is never a copy of its parent."""
    ints = schema.integer
    if not ints.any():
        return out
    stuck = mask & ints[None, :] & np.isclose(out, before, rtol=0.0, atol=1e-12)
    rows, cols = np.nonzero(stuck)
    if rows.size == 0:
        return out
    lo, hi, lg = schema.low[cols], schema.high[cols], schema.log[cols]
    value = unit_to_integer(before[rows, cols], lo, hi, lg)
    step = np.where(rng.random(rows.size) < 0.5, -1.0, 1.0)
    step = np.where(value + step < lo, 1.0, np.where(value + step > hi, -1.0, step))
    out = out.copy()
    out[rows, cols] = integer_to_unit(value + step, lo, hi, lg)
    return out


def _check(genes: np.ndarray, schema: GeneSchema) -> np.ndarray:
    arr = np.asarray(genes, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != schema.n_genes:
        raise ValueError(f"genes must have shape (n, {schema.n_genes}), got {arr.shape}")
    return arr.copy()


def _mutation_mask(n: int, d: int, indpb: float | None, rng: np.random.Generator) -> np.ndarray:
    """Genes chosen for mutation; at least one per genome, so a mutant is never
    a copy of its parent."""
    p = 1.0 / d if indpb is None else float(indpb)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"indpb must be in [0, 1], got {indpb!r}")
    mask = rng.random((n, d)) < p
    empty = ~mask.any(axis=1)
    if empty.any():
        mask[np.flatnonzero(empty), rng.integers(0, d, size=int(empty.sum()))] = True
    return mask


def _reset_categories(
    out: np.ndarray,
    mask: np.ndarray,
    schema: GeneSchema,
    rng: np.random.Generator,
    category_prob: float,
) -> None:
    cats = schema.categorical
    if not cats.any():
        return
    chosen = mask & cats[None, :] & (rng.random(out.shape) < category_prob)
    k = np.broadcast_to(schema.n_choices, out.shape)
    chosen &= k > 1
    rows, cols = np.nonzero(chosen)
    if rows.size == 0:
        return
    current = out[rows, cols].astype(np.int64)
    kk = k[rows, cols]
    # draw among the k - 1 other choices: shift past the current one
    draw = np.floor(rng.random(rows.size) * (kk - 1)).astype(np.int64)
    draw = np.where(draw >= current, draw + 1, draw)
    out[rows, cols] = draw


def _flip_bits(
    out: np.ndarray, mask: np.ndarray, schema: GeneSchema, rng: np.random.Generator
) -> np.ndarray:
    """Flip the chosen bit genes, then restore the groups' bounds without
    undoing a flip where another bit can change instead."""
    bits = schema.bit
    if not bits.any():
        return out
    flip = mask & bits[None, :]
    out = np.where(flip, 1.0 - np.where(out >= 0.5, 1.0, 0.0), out)
    if out.size and (schema.group >= 0).any():
        _bound_bits(out, schema, rng, keep=flip)
    return out


def mutate_bitflip(
    genes: np.ndarray,
    schema: GeneSchema,
    rng: np.random.Generator,
    *,
    indpb: float | None = None,
) -> np.ndarray:
    """Bit-flip mutation of the bit genes; every other gene is left as it is.

    Parameters
    ----------
    genes : ndarray, shape (n, d)
        Encoded genomes; not modified.
    schema : GeneSchema
    rng : numpy.random.Generator
    indpb : float, optional
        Probability that each bit flips; default one over the number of bit
        genes. At least one bit of every genome flips (none if the schema has
        no bit gene). A flip that takes a group past a bound of its count is
        paired with a flip of another bit of the group the other way.

    Returns
    -------
    ndarray, shape (n, d)

    Examples
    --------
    >>> s = GeneSchema.from_lists(["bit"] * 4, low=[2] * 4, high=[2] * 4, group=[0] * 4)
    >>> out = mutate_bitflip(np.array([[1.0, 1.0, 0.0, 0.0]]), s, np.random.default_rng(0))
    >>> int(out.sum()), bool((out != [1.0, 1.0, 0.0, 0.0]).any())
    (2, True)
    """
    out = _check(genes, schema)
    bits = np.flatnonzero(schema.bit)
    if indpb is not None and not 0.0 <= float(indpb) <= 1.0:  # also rejects NaN
        raise ValueError(f"indpb must be in [0, 1], got {indpb!r}")
    if bits.size == 0:
        return repair(out, schema, rng)
    n, d = out.shape
    mask = np.zeros((n, d), dtype=bool)
    mask[:, bits] = _mutation_mask(n, bits.size, indpb, rng)
    out = repair(out, schema, rng)
    return repair(_flip_bits(out, mask, schema, rng), schema, rng)


def mutate_gaussian(
    genes: np.ndarray,
    schema: GeneSchema,
    rng: np.random.Generator,
    *,
    sigma: float | np.ndarray = 0.1,
    indpb: float | None = None,
    category_prob: float = 1.0,
) -> np.ndarray:
    """Gaussian mutation in the unit interval (bit genes flip).

    Parameters
    ----------
    genes : ndarray, shape (n, d)
        Encoded genomes; not modified.
    schema : GeneSchema
    rng : numpy.random.Generator
    sigma : float or ndarray broadcastable to (n, d)
        Step size in unit space (a per-genome column or per-gene row works).
    indpb : float, optional
        Probability that each gene is chosen; default ``1 / d``. At least one
        gene of every genome is chosen.
    category_prob : float
        Probability that a chosen categorical gene is reset.

    Returns
    -------
    ndarray, shape (n, d)

    Examples
    --------
    >>> s = GeneSchema.from_lists(["float"])
    >>> mutate_gaussian(np.array([[0.5]]), s, np.random.default_rng(1)).shape
    (1, 1)
    """
    sig = np.asarray(sigma, dtype=np.float64)
    if not (sig >= 0).all():  # also rejects NaN
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")
    out = _check(genes, schema)
    before = repair(out, schema)
    n, d = out.shape
    mask = _mutation_mask(n, d, indpb, rng)
    num = mask & schema.numeric[None, :]
    step = rng.normal(0.0, 1.0, size=out.shape) * np.broadcast_to(sig, out.shape)
    out = np.where(num, reflect(out + step), out)
    _reset_categories(out, mask, schema, rng, category_prob)
    out = _flip_bits(out, mask, schema, rng)
    return _nudge_integers(repair(out, schema, rng), before, mask, schema, rng)


def mutate_polynomial(
    genes: np.ndarray,
    schema: GeneSchema,
    rng: np.random.Generator,
    *,
    eta: float = 20.0,
    indpb: float | None = None,
    category_prob: float = 1.0,
) -> np.ndarray:
    """Deb's bounded polynomial mutation in the unit interval (bit genes flip).

    ``eta`` is the distribution index: larger values give smaller steps.

    Examples
    --------
    >>> s = GeneSchema.from_lists(["float", "int"], low=[np.nan, 0], high=[np.nan, 9])
    >>> out = mutate_polynomial(np.array([[0.2, 0.55]]), s, np.random.default_rng(0))
    >>> bool(((out >= 0) & (out <= 1)).all())
    True
    """
    _check_positive("eta", eta)
    out = _check(genes, schema)
    before = repair(out, schema)
    n, d = out.shape
    mask = _mutation_mask(n, d, indpb, rng)
    num = mask & schema.numeric[None, :]
    x = np.clip(out, 0.0, 1.0)
    u = rng.random(out.shape)
    mpow = 1.0 / (eta + 1.0)
    # delta1 = x - 0, delta2 = 1 - x in the unit interval
    lo_term = 2.0 * u + (1.0 - 2.0 * u) * (1.0 - x) ** (eta + 1.0)
    hi_term = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * x ** (eta + 1.0)
    with np.errstate(invalid="ignore"):
        dq = np.where(u < 0.5, lo_term**mpow - 1.0, 1.0 - hi_term**mpow)
    # On a bound, Deb's step towards that bound is exactly zero: take the
    # mirrored draw instead, so a chosen gene always moves.
    at_bound = ((x <= 0.0) & (u < 0.5)) | ((x >= 1.0) & (u >= 0.5))
    if at_bound.any():
        v = 1.0 - u
        lo_v = 2.0 * v + (1.0 - 2.0 * v) * (1.0 - x) ** (eta + 1.0)
        hi_v = 2.0 * (1.0 - v) + 2.0 * (v - 0.5) * x ** (eta + 1.0)
        with np.errstate(invalid="ignore"):
            dq_v = np.where(v < 0.5, lo_v**mpow - 1.0, 1.0 - hi_v**mpow)
        dq = np.where(at_bound, dq_v, dq)
    out = np.where(num, np.clip(x + dq, 0.0, 1.0), out)
    _reset_categories(out, mask, schema, rng, category_prob)
    out = _flip_bits(out, mask, schema, rng)
    return _nudge_integers(repair(out, schema, rng), before, mask, schema, rng)
