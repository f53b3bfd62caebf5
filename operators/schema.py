"""The gene schema: what each column of an encoded genome holds.

Numeric genes are positions in the unit interval. An integer parameter owns
``high - low + 1`` equal bins of that interval (equal in log space when
``log=True``), so uniform sampling in the unit interval is uniform over the
integers, and the canonical position of an integer is the centre of its bin.
Categorical genes hold a choice index as a float (``0.0, 1.0, ...``). Bit genes
hold ``0.0`` or ``1.0``; the bits of one *group* (say, the columns of a feature
mask) may bound how many of them are set, and :func:`repair` keeps that bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

FLOAT = 0
INTEGER = 1
CATEGORICAL = 2
BIT = 3

_KIND_CODES = {
    "float": FLOAT,
    "int": INTEGER,
    "integer": INTEGER,
    "categorical": CATEGORICAL,
    "bit": BIT,
}


@dataclass(frozen=True, eq=False)
class GeneSchema:
    """Column types of an encoded genome.

    Parameters
    ----------
    kinds : ndarray of int8, shape (d,)
        ``FLOAT``, ``INTEGER``, ``CATEGORICAL`` or ``BIT`` per column.
    n_choices : ndarray of int64, shape (d,)
        Number of choices of each categorical column, 0 elsewhere.
    low, high : ndarray of float64, shape (d,)
        Bounds of each integer column; for a bit column of a group, the least
        and the most bits of that group that may be set (the same on every
        column of the group); NaN elsewhere.
    log : ndarray of bool, shape (d,)
        Whether an integer column's bins are equal in log space.
    group : ndarray of int64, shape (d,), optional
        The group of each bit column (``0, 1, ...``), whose count of set bits
        ``low`` and ``high`` bound; -1 for a column in no group (every
        non-bit column, and free bits). Default: no groups.

    Examples
    --------
    >>> s = GeneSchema.from_lists(["int"], low=[1], high=[4])
    >>> s.n_genes
    1
    >>> mask = GeneSchema.from_lists(["bit"] * 4, low=[1] * 4, high=[2] * 4, group=[0] * 4)
    >>> [(cols.tolist(), lo, hi) for cols, lo, hi in mask.bit_groups]
    [([0, 1, 2, 3], 1, 2)]
    """

    kinds: np.ndarray
    n_choices: np.ndarray
    low: np.ndarray
    high: np.ndarray
    log: np.ndarray
    group: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __post_init__(self) -> None:
        d = int(self.kinds.shape[0])
        group = np.asarray(self.group, dtype=np.int64)
        if group.shape == (0,) and d:
            group = np.full(d, -1, dtype=np.int64)
        if group.shape != (d,):
            raise ValueError(f"'group' must hold {d} values, got shape {group.shape}")
        object.__setattr__(self, "group", group)
        bits = self.kinds == BIT
        stray = np.flatnonzero((group >= 0) & ~bits)
        if stray.size:
            j = int(stray[0])
            raise ValueError(
                f"'group' of column {j} must be -1: only bit columns form groups, "
                f"got group {int(group[j])} on a column of kind {int(self.kinds[j])}"
            )
        if (group < -1).any():
            raise ValueError(f"'group' values must be -1 or >= 0, got {int(group.min())}")
        for g in np.unique(group[group >= 0]):
            cols = np.flatnonzero(group == g)
            lo, hi = self.low[cols], self.high[cols]
            if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
                raise ValueError(
                    f"bit group {int(g)}: 'low' and 'high' must be finite counts, got "
                    f"low={lo[0]!r}, high={hi[0]!r}"
                )
            if (lo != lo[0]).any() or (hi != hi[0]).any():
                raise ValueError(
                    f"bit group {int(g)}: 'low' and 'high' must be the same on every column "
                    f"of the group, got low={sorted(set(lo.tolist()))}, "
                    f"high={sorted(set(hi.tolist()))}"
                )
            if not (lo[0] == np.floor(lo[0]) and hi[0] == np.floor(hi[0])):
                raise ValueError(
                    f"bit group {int(g)}: 'low' and 'high' must be whole counts, got "
                    f"low={lo[0]!r}, high={hi[0]!r}"
                )
            if not 0 <= lo[0] <= hi[0] <= cols.size:
                raise ValueError(
                    f"bit group {int(g)}: needs 0 <= low <= high <= {cols.size} (its number "
                    f"of columns), got low={lo[0]:g}, high={hi[0]:g}"
                )

    @classmethod
    def from_lists(
        cls,
        kinds: Sequence[str | int],
        n_choices: Sequence[int] | None = None,
        low: Sequence[float] | None = None,
        high: Sequence[float] | None = None,
        log: Sequence[bool] | None = None,
        group: Sequence[int] | None = None,
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
            group=_arr(group, -1, np.int64),
        )

    @property
    def n_genes(self) -> int:
        return int(self.kinds.shape[0])

    @property
    def numeric(self) -> np.ndarray:
        """Boolean mask of the numeric (float and integer) columns."""
        return (self.kinds == FLOAT) | (self.kinds == INTEGER)

    @property
    def categorical(self) -> np.ndarray:
        return self.kinds == CATEGORICAL

    @property
    def integer(self) -> np.ndarray:
        return self.kinds == INTEGER

    @property
    def bit(self) -> np.ndarray:
        """Boolean mask of the bit columns."""
        return self.kinds == BIT

    @property
    def bit_groups(self) -> list[tuple[np.ndarray, int, int]]:
        """``(columns, low, high)`` of every bit group: at least ``low`` and at
        most ``high`` of its columns are set in a valid genome."""
        out = []
        for g in np.unique(self.group[self.group >= 0]):
            cols = np.flatnonzero(self.group == g)
            out.append((cols, int(self.low[cols[0]]), int(self.high[cols[0]])))
        return out


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


# How many ulps of the largest transformed value half a bin must span. The two
# maps above lose a few ulps of it (the transform, the division, the product,
# exp); round trips were seen to fail once half a bin shrinks to 1-2 ulps
# (linear bounds near 2**52, log bounds near 2**47), and 32 keeps a wide
# margin over that and over libm's error on any platform.
_BIN_MARGIN_ULPS = 32


def integers_resolved(low: int, high: int, log: bool) -> bool:
    """Whether float64 maps every integer of ``[low, high]`` to its own bin
    and back (``unit_to_integer(integer_to_unit(v)) == v`` for all of them).

    Half a bin must span ``32`` ulps of the largest value the maps compute
    with (``max(|low|, |high + 1|)``, or its log with ``log=True``). The
    narrowest bin is a whole unit wide (linear), or the top one,
    ``log((high + 1) / high)`` (log), so this allows
    ``max(|low|, |high + 1|) < 2**47`` linear and ``high < 2**42`` with
    ``log=True`` (which needs ``low >= 1``).

    Examples
    --------
    >>> integers_resolved(0, 2**40, False), integers_resolved(10**17, 10**17 + 3, False)
    (True, False)
    >>> integers_resolved(1, 10**12, True), integers_resolved(1, 10**14, True)
    (True, False)
    """
    low, high = int(low), int(high)
    if max(abs(low), abs(high) + 1) > 2**1000:  # beyond float64 (and far beyond the limits)
        return False
    if log:
        if low < 1:
            return False
        top = math.log(high + 1)
        half = math.log1p(1.0 / high) / 2.0
    else:
        top = float(max(abs(low), abs(high + 1)))
        half = 0.5
    return half >= _BIN_MARGIN_ULPS * math.ulp(top)


def largest_resolved_high(log: bool) -> int:
    """The largest ``high`` that :func:`integers_resolved` allows with
    ``low = 1`` (or ``low = 0`` without ``log``), found by bisection.

    Examples
    --------
    >>> largest_resolved_high(False) == 2**47 - 2, largest_resolved_high(True) == 2**42 - 1
    (True, True)
    """
    lo, hi = 1, 2**60  # integers_resolved(low, lo) holds, at hi it does not
    low = 1 if log else 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if integers_resolved(low, mid, log) else (lo, mid)
    return lo


def reflect(x: np.ndarray) -> np.ndarray:
    """Fold values back into ``[0, 1]`` by reflection at the bounds.

    Reflection rather than clipping keeps a step that overshoots a bound from
    piling genomes up exactly on it.
    """
    y = np.mod(x, 2.0)
    return np.where(y > 1.0, 2.0 - y, y)


def _bound_bits(
    out: np.ndarray,
    schema: GeneSchema,
    rng: np.random.Generator | None,
    keep: np.ndarray | None = None,
) -> None:
    """Put the count of set bits of every group of every row within its
    bounds, in place, changing as few bits as possible.

    The bits to clear (or set) are drawn at random with ``rng``; without it,
    the last set bits are cleared and the first unset ones set. Bits where
    ``keep`` is True (say, the bits a mutation just flipped) are changed only
    when the others do not suffice. Nothing is drawn for a valid row.
    """
    for cols, lo, hi in schema.bit_groups:
        block = out[:, cols]
        count = block.sum(axis=1)
        bad = np.flatnonzero((count < lo) | (count > hi))
        if bad.size == 0:
            continue
        sub = block[bad]
        m = cols.size
        over = count[bad] > hi
        # the bits that may change: set ones in a row with too many, unset ones
        # in a row with too few; how many must change
        movable = np.where(over[:, None], sub == 1.0, sub == 0.0)
        need = np.where(over, count[bad] - hi, lo - count[bad])
        if rng is not None:
            prio = rng.random((bad.size, m))
        else:
            ascending = np.broadcast_to(np.arange(m, dtype=np.float64), (bad.size, m))
            prio = np.where(over[:, None], (m - 1) - ascending, ascending) / m
        if keep is not None:
            prio = prio + keep[bad][:, cols]  # kept bits come after every other
        prio = np.where(movable, prio, np.inf)
        order = np.argsort(prio, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.broadcast_to(np.arange(m), order.shape), axis=1)
        change = movable & (rank < need[:, None])
        sub[change] = 1.0 - sub[change]
        block[bad] = sub
        out[:, cols] = block


def repair(
    genes: np.ndarray, schema: GeneSchema, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Return ``genes`` made valid: numeric in ``[0, 1]``, integers on bin
    centres, categories whole indices in range, bits 0 or 1 (set from 0.5 up)
    with the count of every bit group within its bounds.

    A group with too many (too few) set bits has just enough of them cleared
    (set): chosen at random with ``rng``, the run's generator; without one,
    the last set bits are cleared and the first unset ones set. ``rng`` is
    drawn from only for a row that breaks a bound, so the result on valid
    genes, and the draws, do not depend on it.

    Examples
    --------
    >>> s = GeneSchema.from_lists(["float", "categorical"], n_choices=[0, 2])
    >>> repair(np.array([[1.2, 1.7]]), s)
    array([[0.8, 1. ]])
    >>> bits = GeneSchema.from_lists(["bit"] * 4, low=[1] * 4, high=[2] * 4, group=[0] * 4)
    >>> repair(np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.2, 0.0]]), bits)
    array([[1., 1., 0., 0.],
           [1., 0., 0., 0.]])
    >>> int(repair(np.ones((1, 4)), bits, np.random.default_rng(0)).sum())
    2
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
    bits = schema.bit
    if bits.any():
        out[:, bits] = np.where(out[:, bits] >= 0.5, 1.0, 0.0)
        _bound_bits(out, schema, rng)
    return out
