"""The gene schema: what each column of an encoded genome holds.

Numeric genes are positions in the unit interval. An integer parameter owns
``high - low + 1`` equal bins of that interval (equal in log space when
``log=True``), so uniform sampling in the unit interval is uniform over the
integers, and the canonical position of an integer is the centre of its bin.
Categorical genes hold a choice index as a float (``0.0, 1.0, ...``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

FLOAT = 0
INTEGER = 1
CATEGORICAL = 2

_KIND_CODES = {"float": FLOAT, "int": INTEGER, "integer": INTEGER, "categorical": CATEGORICAL}


@dataclass(frozen=True, eq=False)
class GeneSchema:
    """Column types of an encoded genome.

    Parameters
    ----------
    kinds : ndarray of int8, shape (d,)
        ``FLOAT``, ``INTEGER`` or ``CATEGORICAL`` per column.
    n_choices : ndarray of int64, shape (d,)
        Number of choices of each categorical column, 0 elsewhere.
    low, high : ndarray of float64, shape (d,)
        Bounds of each integer column (NaN elsewhere).
    log : ndarray of bool, shape (d,)
        Whether an integer column's bins are equal in log space.

    Examples
    --------
    >>> s = GeneSchema.from_lists(["int"], low=[1], high=[4])
    >>> s.n_genes
    1
    """

    kinds: np.ndarray
    n_choices: np.ndarray
    low: np.ndarray
    high: np.ndarray
    log: np.ndarray

    @classmethod
    def from_lists(
        cls,
        kinds: Sequence[str | int],
        n_choices: Sequence[int] | None = None,
        low: Sequence[float] | None = None,
        high: Sequence[float] | None = None,
        log: Sequence[bool] | None = None,
    ) -> GeneSchema:
        """Build a schema from per-column lists (names or codes for ``kinds``)."""
        d = len(kinds)
        unknown = [k for k in kinds if isinstance(k, str) and k not in _KIND_CODES]
        if unknown:
            raise ValueError(f"unknown gene kind {unknown[0]!r}; known: {sorted(_KIND_CODES)}")
        codes = np.array(
            [_KIND_CODES[k] if isinstance(k, str) else int(k) for k in kinds], dtype=np.int8
        )

        def _arr(values: Sequence | None, fill: float, dtype: type) -> np.ndarray:
            if values is None:
                return np.full(d, fill, dtype=dtype)
            out: np.ndarray = np.asarray(values, dtype=dtype)
            if out.shape != (d,):
                raise ValueError(f"expected {d} values, got shape {out.shape}")
            return out

        return cls(
            kinds=codes,
            n_choices=_arr(n_choices, 0, np.int64),
            low=_arr(low, np.nan, np.float64),
            high=_arr(high, np.nan, np.float64),
            log=_arr(log, False, np.bool_),
        )

    @property
    def n_genes(self) -> int:
        return int(self.kinds.shape[0])

    @property
    def numeric(self) -> np.ndarray:
        """Boolean mask of the numeric (float and integer) columns."""
        return self.kinds != CATEGORICAL

    @property
    def categorical(self) -> np.ndarray:
        return self.kinds == CATEGORICAL

    @property
    def integer(self) -> np.ndarray:
        return self.kinds == INTEGER


def _int_transform(x: ArrayLike, log: ArrayLike) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(log, np.log(np.where(log, x, 1.0)), x)


def _int_inverse(t: ArrayLike, log: ArrayLike) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.where(log, np.exp(np.where(log, t, 0.0)), t)


def unit_to_integer(u: ArrayLike, low: ArrayLike, high: ArrayLike, log: ArrayLike) -> np.ndarray:
    """Map unit positions to integers: bin ``k`` of ``high - low + 1`` equal bins.

    Examples
    --------
    >>> unit_to_integer(np.array([0.0, 0.5, 1.0]), np.array(1.0), np.array(3.0), np.array(False))
    array([1., 2., 3.])
    """
    a = _int_transform(np.asarray(low, dtype=float), log)
    b = _int_transform(np.asarray(high, dtype=float) + 1.0, log)
    v = np.floor(_int_inverse(a + np.asarray(u, dtype=float) * (b - a), log) + 1e-9)
    return np.clip(v, low, high)


def integer_to_unit(v: ArrayLike, low: ArrayLike, high: ArrayLike, log: ArrayLike) -> np.ndarray:
    """Map integers to the centre of their bin in the unit interval."""
    v = np.asarray(v, dtype=float)
    a = _int_transform(np.asarray(low, dtype=float), log)
    b = _int_transform(np.asarray(high, dtype=float) + 1.0, log)
    centre = (_int_transform(v, log) + _int_transform(v + 1.0, log)) / 2.0
    return (centre - a) / (b - a)


def reflect(x: np.ndarray) -> np.ndarray:
    """Fold values back into ``[0, 1]`` by reflection at the bounds.

    Reflection rather than clipping keeps a step that overshoots a bound from
    piling genomes up exactly on it.
    """
    y = np.mod(x, 2.0)
    return np.where(y > 1.0, 2.0 - y, y)


def repair(genes: np.ndarray, schema: GeneSchema) -> np.ndarray:
    """Return ``genes`` made valid: numeric in ``[0, 1]``, integers on bin
    centres, categories whole indices in range.

    Examples
    --------
    >>> s = GeneSchema.from_lists(["float", "categorical"], n_choices=[0, 2])
    >>> repair(np.array([[1.2, 1.7]]), s)
    array([[0.8, 1. ]])
    """
    out = np.array(genes, dtype=np.float64, copy=True)
    if out.ndim != 2 or out.shape[1] != schema.n_genes:
        raise ValueError(f"genes must have shape (n, {schema.n_genes}), got {out.shape}")
    num = schema.numeric
    out[:, num] = reflect(out[:, num])
    ints = schema.integer
    if ints.any():
        lo, hi, lg = schema.low[ints], schema.high[ints], schema.log[ints]
        out[:, ints] = integer_to_unit(unit_to_integer(out[:, ints], lo, hi, lg), lo, hi, lg)
    cats = schema.categorical
    if cats.any():
        out[:, cats] = np.clip(np.rint(out[:, cats]), 0, schema.n_choices[cats] - 1)
    return out
