"""The parameter types (:class:`Parameter`, :class:`Float`, :class:`Integer`,
:class:`Categorical`); ``evotune._convert`` turns scikit-learn's
``param_distributions`` entries (lists, ``scipy.stats`` distributions) into them.

Each converts between its gene (a position in the unit interval, or the index
of a choice) and the value a model receives. :mod:`evotune.space` re-exports
them; import them from there or from :mod:`evotune`.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from operators.schema import (
    CATEGORICAL,
    FLOAT,
    INTEGER,
    integer_to_unit,
    integers_resolved,
    largest_resolved_high,
)
from operators.schema import unit_to_integer as _unit_to_integer

# A decoded float keeps this many significant digits: far finer than any model
# distinguishes, coarse enough that a genome and its JSON round trip have the
# same key.
_SIGNIFICANT_DIGITS = 10
# The fewest distinct values a Float range must hold. A run of populations of
# hundreds over hundreds of generations drops every child equal to a genome
# seen before, so a continuous parameter needs far more values than any run
# evaluates; a range with fewer is a few values in disguise (an Integer or a
# Categorical says that) or a typo, and would breed one value over and over.
_MIN_FLOAT_VALUES = 2**16


_LOG_FLOAT_MAX = math.log(sys.float_info.max)


def _round_float(x: float) -> float:
    return float(f"{x:.{_SIGNIFICANT_DIGITS}g}")


def _value_step(x: float) -> float:
    """The spacing of decoded values near ``x > 0``: the coarser of float64's
    and that of ``_SIGNIFICANT_DIGITS`` significant digits."""
    decimal = 10.0 ** (math.floor(math.log10(x)) - (_SIGNIFICANT_DIGITS - 1))
    return max(math.ulp(x), decimal)


def _same_value(a: Any, b: Any) -> bool:
    """Equality that keeps ``True`` apart from ``1`` and never trusts an
    ``__eq__`` that returns arrays or raises."""
    if a is b:
        return True
    a_num = isinstance(a, numbers.Number) and not isinstance(a, (bool, np.bool_))
    b_num = isinstance(b, numbers.Number) and not isinstance(b, (bool, np.bool_))
    if a_num and b_num:
        try:
            return bool(a == b)
        except Exception:
            return False
    if type(a) is not type(b):
        return False
    try:
        result = a == b
        return bool(result) if isinstance(result, (bool, np.bool_)) else False
    except Exception:
        return False


def _normalise_when(when: Mapping[str, Any] | None) -> dict[str, tuple[Any, ...]]:
    if when is None:
        return {}
    if not isinstance(when, Mapping):
        raise TypeError(
            f"'when' must be a dict mapping a parameter name to a value or a list of values, "
            f"got {type(when).__name__}"
        )
    out: dict[str, tuple[Any, ...]] = {}
    for parent, allowed in when.items():
        if not isinstance(parent, str):
            raise TypeError(f"'when' keys must be parameter names (str), got {parent!r}")
        values = (
            tuple(allowed) if isinstance(allowed, (list, tuple, set, frozenset)) else (allowed,)
        )
        if not values:
            raise ValueError(f"'when' for {parent!r} lists no value; give at least one")
        out[parent] = values
    return out


class Parameter:
    """Base class of a typed hyperparameter.

    Subclasses implement the conversion between the internal (gene) and the
    external (model) value. A parameter takes ``n_genes`` genes: one, but for
    a :class:`FeatureMask` (one per column), whose ``decode`` takes and
    ``encode`` gives an array of them.
    """

    kind: int = FLOAT
    n_genes: int = 1
    when: dict[str, tuple[Any, ...]]

    def decode(self, gene: Any) -> Any:
        raise NotImplementedError

    def encode(self, value: Any) -> Any:
        raise NotImplementedError

    def can_take(self, value: Any) -> bool:
        """Whether ``value`` is a value of this parameter (used by conditions)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description (objects among choices are shown by ``repr``)."""
        raise NotImplementedError

    def _when_repr(self) -> str:
        if not self.when:
            return ""
        items = {k: (v[0] if len(v) == 1 else list(v)) for k, v in self.when.items()}
        return f", when={items!r}"


class _Numeric(Parameter):
    low: float
    high: float
    log: bool

    def _check_bounds(self, low: Any, high: Any, log: Any, integral: bool) -> None:
        cls = type(self).__name__
        for field, v in (("low", low), ("high", high)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
                raise TypeError(
                    f"{cls}: '{field}' must be a real number, got {v!r} ({type(v).__name__})"
                )
            if integral and not isinstance(v, numbers.Integral):
                raise TypeError(
                    f"{cls}: '{field}' must be an integer, got {v!r} ({type(v).__name__})"
                )
            try:
                finite = math.isfinite(float(v))
            except OverflowError:  # an int beyond float64
                finite = False
            if not finite:
                raise ValueError(f"{cls}: '{field}' must be finite, got {v!r}")
        if not isinstance(log, (bool, np.bool_)):
            raise TypeError(f"{cls}: 'log' must be True or False, got {log!r}")
        if not low < high:
            raise ValueError(f"{cls}: 'low' must be < 'high', got low={low!r}, high={high!r}")
        if log and low <= 0:
            raise ValueError(f"{cls}: log=True needs 'low' > 0, got low={low!r}")
        if log and not math.log(low) < math.log(high):
            raise ValueError(
                f"{cls}: 'low' and 'high' are too close to tell apart in log space, got "
                f"low={low!r}, high={high!r}"
            )

    def can_take(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            return False
        return bool(self.low <= float(value) <= self.high)

    def __repr__(self) -> str:
        log = ", log=True" if self.log else ""
        return f"{type(self).__name__}({self.low!r}, {self.high!r}{log}{self._when_repr()})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "int" if self.kind == INTEGER else "float",
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "when": {k: [_json_value(x) for x in v] for k, v in self.when.items()},
        }


class Float(_Numeric):
    """A real parameter on ``[low, high]``, uniform or log-uniform.

    Parameters
    ----------
    low, high : float
        Bounds, ``low < high``, with ``high - low`` finite and the range
        holding at least 2**16 values at the 10 significant digits a value is
        decoded to (``Float(1.0, 1.0 + 1e-12)`` holds one).
    log : bool, default=False
        Search in log space (needs ``low > 0``): mutation steps and sampling
        are then relative, as for a learning rate or a regularisation strength.
    when : dict, optional
        Condition on other parameters, e.g. ``{"kernel": "poly"}`` or
        ``{"kernel": ["poly", "sigmoid"]}``; the parameter is passed to the
        model only when every condition holds.

    Examples
    --------
    >>> Float(1e-3, 1e3, log=True)
    Float(0.001, 1000.0, log=True)
    """

    kind = FLOAT

    def __init__(
        self, low: float, high: float, log: bool = False, *, when: Mapping[str, Any] | None = None
    ) -> None:
        self._check_bounds(low, high, log, integral=False)
        self.low, self.high, self.log = float(low), float(high), bool(log)
        self._check_values()
        self.when = _normalise_when(when)

    def _check_values(self) -> None:
        """Refuse a range whose genes cannot give a population of values.

        A gene in [0, 1] is mapped onto the range in float64 and rounded to
        ``_SIGNIFICANT_DIGITS`` digits, so the range must have a finite width
        and hold ``_MIN_FLOAT_VALUES`` values on the coarsest grid it meets
        (at its largest magnitude; in log space, where the grid's relative
        step is largest).
        """
        low, high = self.low, self.high
        if self.log:
            relative = max(10.0 ** -(_SIGNIFICANT_DIGITS - 1), math.ulp(low) / low)
            n_values = (math.log(high) - math.log(low)) / relative
            span = _MIN_FLOAT_VALUES * relative  # the least log(high / low)
            need = (
                f"high / low >= {math.exp(span):.10g}"
                if span < 700
                else f"log(high / low) >= {span:.3g}"
            )
        else:
            width = high - low
            if not math.isfinite(width):
                raise ValueError(
                    f"Float: high - low must be a finite float64, got low={low!r}, "
                    f"high={high!r} (a width of {width}); narrow the range"
                )
            step = _value_step(max(abs(low), abs(high)))
            n_values = width / step
            need = f"high - low >= {_MIN_FLOAT_VALUES * step:.3g}"
        if n_values < _MIN_FLOAT_VALUES:
            raise ValueError(
                f"Float: low={low!r} and high={high!r} are too close: the range holds "
                f"about {int(n_values)} distinct values at the {_SIGNIFICANT_DIGITS} significant "
                f"digits a value is decoded to, and a Float needs at least "
                f"{_MIN_FLOAT_VALUES}; widen it ({need}), or give the values as an Integer "
                "or a Categorical"
            )

    def _t(self, x: float) -> float:
        return math.log(x) if self.log else x

    def decode(self, gene: float) -> float:
        a, b = self._t(self.low), self._t(self.high)
        t = a + min(max(float(gene), 0.0), 1.0) * (b - a)
        # exp of the log of a high near float64's largest can round past it
        x = (math.exp(t) if t < _LOG_FLOAT_MAX else self.high) if self.log else t
        return min(max(_round_float(x), self.low), self.high)

    def encode(self, value: Any) -> float:
        if not self.can_take(value):
            raise ValueError(f"{value!r} is outside {self!r}")
        a, b = self._t(self.low), self._t(self.high)
        return (self._t(float(value)) - a) / (b - a)


class Integer(_Numeric):
    """An integer parameter on ``[low, high]`` (both included).

    Parameters
    ----------
    low, high : int
        Bounds, ``low < high``, within the integers float64 gives a bin of
        their own in the unit encoding: ``-(2**47 - 1) <= low``,
        ``high <= 2**47 - 2``; ``high < 2**42`` with ``log=True``.
    log : bool, default=False
        Spread the integers evenly in log space (needs ``low > 0``).
    when : dict, optional
        Condition on other parameters, as for :class:`Float`.

    Examples
    --------
    >>> Integer(2, 5, when={"kernel": "poly"})
    Integer(2, 5, when={'kernel': 'poly'})
    """

    kind = INTEGER

    def __init__(
        self, low: int, high: int, log: bool = False, *, when: Mapping[str, Any] | None = None
    ) -> None:
        self._check_bounds(low, high, log, integral=True)
        self.low, self.high, self.log = int(low), int(high), bool(log)
        if not integers_resolved(self.low, self.high, self.log):
            # the encoding maps each integer to a bin of [0, 1] in float64;
            # beyond these bounds neighbouring integers share a bin (or none)
            if self.log:
                allowed = f"high <= {largest_resolved_high(True)} with log=True"
            else:
                top = largest_resolved_high(False) + 1
                allowed = f"-{top} <= low < high <= {top - 1}"
            raise ValueError(
                f"Integer: low={self.low!r}, high={self.high!r} is beyond the integers the "
                f"unit encoding tells apart in float64; allowed: {allowed}"
            )
        self.when = _normalise_when(when)

    def can_take(self, value: Any) -> bool:
        if isinstance(value, float) and not value.is_integer():
            return False
        return super().can_take(value)

    def decode(self, gene: float) -> int:
        v = _unit_to_integer(np.asarray(gene, dtype=float), self.low, self.high, self.log)
        return int(v)

    def encode(self, value: Any) -> float:
        if not self.can_take(value):
            raise ValueError(f"{value!r} is outside {self!r}")
        return float(integer_to_unit(np.asarray(float(value)), self.low, self.high, self.log))


class Categorical(Parameter):
    """A parameter that takes one of a list of choices.

    Choices may be any objects: strings, numbers, booleans, ``None``, even
    estimators. ``True`` and ``1`` are different choices.

    Parameters
    ----------
    choices : sequence
        At least one choice, no duplicates.
    when : dict, optional
        Condition on other parameters, as for :class:`Float`.

    Examples
    --------
    >>> Categorical(["rbf", "poly"])
    Categorical(['rbf', 'poly'])
    """

    kind = CATEGORICAL

    def __init__(self, choices: Sequence[Any], *, when: Mapping[str, Any] | None = None) -> None:
        if isinstance(choices, (str, bytes)) or not isinstance(choices, (Sequence, np.ndarray)):
            raise TypeError(
                f"Categorical: 'choices' must be a list or tuple of choices, got {choices!r}"
            )
        values = list(choices.tolist() if isinstance(choices, np.ndarray) else choices)
        if not values:
            raise ValueError("Categorical: 'choices' must not be empty")
        for i, v in enumerate(values):
            for j in range(i):
                if _same_value(values[j], v):
                    raise ValueError(
                        f"Categorical: 'choices' must not repeat a value, got {v!r} at "
                        f"positions {j} and {i}"
                    )
        self.choices: tuple[Any, ...] = tuple(values)
        self.when = _normalise_when(when)

    def index(self, value: Any) -> int:
        for i, c in enumerate(self.choices):
            if _same_value(c, value):
                return i
        raise ValueError(f"{value!r} is not one of {list(self.choices)!r}")

    def can_take(self, value: Any) -> bool:
        return any(_same_value(c, value) for c in self.choices)

    def decode(self, gene: float) -> Any:
        i = int(min(max(round(float(gene)), 0), len(self.choices) - 1))
        return self.choices[i]

    def encode(self, value: Any) -> float:
        return float(self.index(value))

    def __repr__(self) -> str:
        return f"Categorical({list(self.choices)!r}{self._when_repr()})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "choices": [_json_value(c) for c in self.choices],
            "when": {k: [_json_value(x) for x in v] for k, v in self.when.items()},
        }


def _json_value(v: Any) -> Any:
    """JSON form of a parameter value: plain scalars as they are, any other
    object by its ``repr`` (reading a run never has to unpickle anything)."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    return {"repr": repr(v)}
