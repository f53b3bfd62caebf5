"""The :class:`FeatureMask` parameter: which columns of the data to keep, one bit
gene per column, between a fewest and a most kept.

:mod:`evotune.space` re-exports it; import it from there or from :mod:`evotune`.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from evotune._parameters import Parameter, _json_value, _normalise_when
from operators.schema import BIT


def _check_count(cls: str, field: str, value: Any, low: int, high: int, rule: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{cls}: '{field}' must be an integer, got {value!r} ({type(value).__name__})"
        )
    if not low <= int(value) <= high:
        raise ValueError(f"{cls}: '{field}' must be {rule}, got {field}={value!r}")
    return int(value)


class FeatureMask(Parameter):
    """Which columns of the data to keep: one bit per column.

    The value a model receives is a tuple of ``n_features`` booleans, True
    for a kept column (``X[:, np.array(mask)]`` keeps them). Between
    ``min_features`` and ``max_features`` columns are kept: sampling draws
    the number kept uniformly in that range, and crossover and mutation
    repair any offspring that leaves it.

    Parameters
    ----------
    n_features : int
        Number of columns, at least 1.
    min_features : int, default=1
        The fewest columns kept, ``1 <= min_features <= n_features``.
    max_features : int, optional
        The most columns kept, ``min_features <= max_features <= n_features``;
        default ``n_features``.
    when : dict, optional
        Condition on other parameters, as for :class:`Float`. (No condition
        can name a mask.)

    Examples
    --------
    >>> mask = FeatureMask(5, max_features=3)
    >>> mask
    FeatureMask(5, min_features=1, max_features=3)
    >>> mask.decode(mask.encode([True, False, True, False, False]))
    (True, False, True, False, False)
    """

    kind = BIT

    def __init__(
        self,
        n_features: int,
        *,
        min_features: int = 1,
        max_features: int | None = None,
        when: Mapping[str, Any] | None = None,
    ) -> None:
        n = _check_count("FeatureMask", "n_features", n_features, 1, 2**31, "at least 1")
        lo = _check_count(
            "FeatureMask",
            "min_features",
            min_features,
            1,
            n,
            f"between 1 and n_features={n}",
        )
        hi = n
        if max_features is not None:
            hi = _check_count(
                "FeatureMask",
                "max_features",
                max_features,
                lo,
                n,
                f"between min_features={lo} and n_features={n}",
            )
        self.n_features, self.min_features, self.max_features = n, lo, hi
        self.n_genes = n
        self.when = _normalise_when(when)

    def _bits(self, genes: Any) -> np.ndarray:
        arr = np.asarray(genes, dtype=np.float64).reshape(-1)
        if arr.shape != (self.n_features,):
            raise ValueError(
                f"FeatureMask: a mask takes {self.n_features} genes, got shape {arr.shape}"
            )
        return arr >= 0.5

    def decode(self, gene: Any) -> tuple[bool, ...]:
        return tuple(bool(b) for b in self._bits(gene))

    def _as_mask(self, value: Any) -> np.ndarray | None:
        """``value`` as a boolean array of the right length, or None."""
        if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
            return None
        try:
            items = list(value.tolist() if isinstance(value, np.ndarray) else value)
        except TypeError:
            return None
        if len(items) != self.n_features:
            return None
        if not all(
            isinstance(v, (bool, np.bool_)) or (isinstance(v, numbers.Integral) and v in (0, 1))
            for v in items
        ):
            return None
        return np.array([bool(v) for v in items], dtype=bool)

    def can_take(self, value: Any) -> bool:
        mask = self._as_mask(value)
        return mask is not None and self.min_features <= int(mask.sum()) <= self.max_features

    def encode(self, value: Any) -> np.ndarray:
        mask = self._as_mask(value)
        if mask is None:
            raise ValueError(
                f"FeatureMask: a mask must be a sequence of {self.n_features} booleans, got "
                f"{value!r}"
            )
        kept = int(mask.sum())
        if not self.min_features <= kept <= self.max_features:
            raise ValueError(
                f"FeatureMask: a mask must keep between min_features={self.min_features} and "
                f"max_features={self.max_features} columns, got one that keeps {kept}"
            )
        return mask.astype(np.float64)

    def key_value(self, gene: Any) -> str:
        """The mask as a string of ``0`` and ``1``, one per column (for keys)."""
        return "".join("1" if b else "0" for b in self._bits(gene))

    def __repr__(self) -> str:
        return (
            f"FeatureMask({self.n_features}, min_features={self.min_features}, "
            f"max_features={self.max_features}{self._when_repr()})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "feature_mask",
            "n_features": self.n_features,
            "min_features": self.min_features,
            "max_features": self.max_features,
            "when": {k: [_json_value(x) for x in v] for k, v in self.when.items()},
        }
