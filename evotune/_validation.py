"""Argument checks that name the parameter, the rule and the value received."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np

__all__ = [
    "InvalidParameterError",
    "check_choice",
    "check_int",
    "check_random_state",
    "check_real",
]


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong type or out of its range.

    A ``ValueError`` and a ``TypeError`` (as scikit-learn's error of the same
    name), so code that caught either keeps working.
    """


@overload
def check_int(
    name: str,
    value: Any,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: Literal[False] = False,
) -> int: ...


@overload
def check_int(
    name: str,
    value: Any,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: Literal[True],
) -> int | None: ...


def check_int(
    name: str,
    value: Any,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(
            f"{name!r} must be an integer, got {value!r} ({type(value).__name__})"
        )
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        if high is None:
            rule = f">= {low}"
        elif low is None:
            rule = f"<= {high}"
        else:
            rule = f"in [{low}, {high}]"
        raise InvalidParameterError(f"{name!r} must be {rule}, got {value!r}")
    return v


@overload
def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    allow_none: Literal[False] = False,
) -> float: ...


@overload
def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    allow_none: Literal[True],
) -> float | None: ...


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    allow_none: bool = False,
) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(
            f"{name!r} must be a number, got {value!r} ({type(value).__name__})"
        )
    v = float(value)
    bad = (
        v != v
        or (low is not None and (v <= low if low_open else v < low))
        or (high is not None and v > high)
    )
    if bad:
        lo = "" if low is None else (f"> {low}" if low_open else f">= {low}")
        hi = "" if high is None else f"<= {high}"
        rule = " and ".join(x for x in (lo, hi) if x) or "a real number"
        raise InvalidParameterError(f"{name!r} must be {rule}, got {value!r}")
    return v


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(f"{name!r} must be one of {list(choices)}, got {value!r}")
    return value


def check_random_state(value: Any) -> np.random.Generator:
    """``None``, an int seed or a ``numpy.random.Generator``, as ``default_rng`` takes."""
    if isinstance(value, np.random.Generator):
        return value
    if value is None:
        return np.random.default_rng()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 0:
        return np.random.default_rng(int(value))
    raise InvalidParameterError(
        "'random_state' must be None, a non-negative integer or a numpy.random.Generator, "
        f"got {value!r}"
    )
