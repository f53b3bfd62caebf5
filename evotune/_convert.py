"""The conversion of scikit-learn's ``param_distributions`` entries to
parameters: lists, tuples and ranges of choices, ``scipy.stats``
distributions (the types themselves are in ``evotune._parameters`` and
``evotune._distribution``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from evotune._distribution import Distribution
from evotune._parameters import Categorical, Float, Integer, Parameter, _same_value

__all__ = ["convert_entry"]


def _distinct(values: Sequence[Any]) -> list[Any]:
    """``values`` without repeats, first occurrences kept in order."""
    out: list[Any] = []
    for v in values:
        if not any(_same_value(v, seen) for seen in out):
            out.append(v)
    return out


def _from_range(name: str, value: range) -> Parameter:
    """A ``range`` of step 1 (or -1) is an :class:`Integer`: its values are
    ordered, so mutation moves to neighbours, as a user of ``range(1, 30)``
    for ``n_neighbors`` means; any other step a :class:`Categorical`."""
    if len(value) == 0:
        raise ValueError(f"parameter {name!r}: {value!r} is empty; give at least one value")
    if len(value) >= 2 and abs(value.step) == 1:
        return Integer(min(value), max(value))
    return Categorical(list(value))


def convert_entry(name: str, value: Any) -> Parameter:
    """Convert one entry of a scikit-learn ``param_distributions`` dict.

    A list with repeated values keeps each value once: ``RandomizedSearchCV``
    draws a repeated value more often, but evotune evaluates each distinct
    candidate once and lets selection, not a prior, decide what is tried again.

    Examples
    --------
    >>> from scipy.stats import expon
    >>> convert_entry("k", ["a", "b", "a"]), convert_entry("n", range(1, 30))
    (Categorical(['a', 'b']), Integer(1, 29))
    >>> convert_entry("gamma", expon(scale=0.1))
    Distribution(expon(scale=0.1))
    """
    if isinstance(value, Parameter):
        return value
    if isinstance(value, range):
        return _from_range(name, value)
    if isinstance(value, (list, tuple, np.ndarray)):
        try:
            values = list(value.tolist() if isinstance(value, np.ndarray) else value)
            return Categorical(_distinct(values))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"parameter {name!r}: {exc}") from None
    if callable(getattr(value, "rvs", None)):
        return _from_scipy(name, value)
    raise TypeError(
        f"parameter {name!r}: expected an Integer, Float, Categorical, a list, tuple or range "
        f"of choices or a frozen scipy.stats distribution, got {value!r} "
        f"({type(value).__name__})"
    )


def _from_scipy(name: str, value: Any) -> Parameter:
    """``randint``, ``uniform`` and ``loguniform`` as :class:`Integer` and
    :class:`Float` (the same genes as before distributions were general);
    any other frozen distribution as a :class:`~evotune.space.Distribution`."""
    dist = getattr(value, "dist", None)
    dname = str(getattr(dist, "name", type(value).__name__))
    if dist is None or not all(callable(getattr(value, m, None)) for m in ("ppf", "cdf")):
        raise TypeError(
            f"parameter {name!r}: {value!r} has rvs but no ppf and cdf; evotune encodes a "
            "distribution through its quantiles, so give a frozen scipy.stats distribution, a "
            "list of choices, or an Integer, Float or Categorical"
        )
    try:
        low, high = value.support()
        if dname == "randint":
            low, high = int(low), int(high)
            return Integer(low, high) if low < high else Categorical([low])
        if dname == "uniform":
            return Float(float(low), float(high))
        if dname in ("loguniform", "reciprocal"):
            return Float(float(low), float(high), log=True)
        return Distribution(value)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"parameter {name!r} ({dname} distribution): {exc}") from None
