"""Typed search spaces: parameters, conditions, encoding, sampling, keys.

A genome is a row of ``d`` floats, in the space's order of parameters: one per
parameter, except a :class:`FeatureMask`, which takes one bit gene per column.
Numeric parameters are encoded as a position in the unit interval (in log space
for ``log=True``); a categorical parameter is encoded as the index of its
choice; a feature mask as 0 or 1 per column. This is the *internal* form the
operators work on; :meth:`Space.decode` gives the *external* form, the
parameter dict a model receives, which holds only the parameters whose
conditions are met.
"""

from __future__ import annotations

import json
import math
import numbers
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from operators.schema import (
    BIT,
    CATEGORICAL,
    FLOAT,
    INTEGER,
    GeneSchema,
    integer_to_unit,
    repair,
)
from operators.schema import unit_to_integer as _unit_to_integer

__all__ = ["Categorical", "FeatureMask", "Float", "Integer", "Parameter", "Space"]

_SAMPLING_METHODS = ("random", "lhs", "sobol")


def _round_float(x: float) -> float:
    # Ten significant digits: far finer than any model distinguishes, coarse
    # enough that a genome and its JSON round trip have the same key.
    return float(f"{x:.10g}")


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
            if not math.isfinite(float(v)):
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
        Bounds, ``low < high``.
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
        self.when = _normalise_when(when)

    def _t(self, x: float) -> float:
        return math.log(x) if self.log else x

    def decode(self, gene: float) -> float:
        a, b = self._t(self.low), self._t(self.high)
        t = a + min(max(float(gene), 0.0), 1.0) * (b - a)
        x = math.exp(t) if self.log else t
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
        Bounds, ``low < high``.
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


def _from_distribution(name: str, value: Any) -> Parameter:
    """Convert one entry of a scikit-learn ``param_distributions`` dict."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        try:
            return Categorical(list(value))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"parameter {name!r}: {exc}") from None
    dist = getattr(value, "dist", None)
    if dist is not None and hasattr(value, "support") and hasattr(value, "rvs"):
        dname = getattr(dist, "name", type(dist).__name__)
        low, high = value.support()
        try:
            if dname == "randint":
                return Integer(int(low), int(high))
            if dname == "uniform":
                return Float(float(low), float(high))
            if dname in ("loguniform", "reciprocal"):
                return Float(float(low), float(high), log=True)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"parameter {name!r} ({dname} distribution): {exc}") from None
        raise TypeError(
            f"parameter {name!r}: unsupported scipy distribution {dname!r}; "
            "supported are randint, uniform and loguniform, or give an Integer, Float or "
            "Categorical"
        )
    raise TypeError(
        f"parameter {name!r}: expected an Integer, Float, Categorical, a list of choices or a "
        f"scipy.stats randint/uniform/loguniform distribution, got {value!r} "
        f"({type(value).__name__})"
    )


class Space(Mapping[str, Parameter]):
    """A search space: named, typed, possibly conditional parameters.

    Parameters
    ----------
    params : dict
        Maps each name to an :class:`Integer`, :class:`Float`,
        :class:`Categorical` or :class:`FeatureMask`, or, as scikit-learn's
        ``param_distributions``, to a list of choices or a ``scipy.stats``
        ``randint``, ``uniform`` or ``loguniform`` distribution.

    Examples
    --------
    >>> space = Space({"C": Float(1e-3, 1e3, log=True),
    ...                "kernel": Categorical(["rbf", "poly"]),
    ...                "degree": Integer(2, 5, when={"kernel": "poly"})})
    >>> space.decode(space.encode({"C": 1.0, "kernel": "rbf"}))
    {'C': 1.0, 'kernel': 'rbf'}
    >>> masked = Space({"mask": FeatureMask(3), "C": Float(1e-3, 1e3, log=True)})
    >>> masked.n_genes, masked.slices["C"]
    (4, slice(3, 4, None))
    """

    def __init__(self, params: Mapping[str, Any]) -> None:
        if isinstance(params, Space):
            params = dict(params.items())
        if not isinstance(params, Mapping):
            raise TypeError(
                f"Space: 'params' must be a dict of parameter name to parameter, got "
                f"{type(params).__name__}"
            )
        if not params:
            raise ValueError("Space: 'params' must hold at least one parameter")
        converted: dict[str, Parameter] = {}
        for name, value in params.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"Space: parameter names must be non-empty strings, got {name!r}")
            converted[name] = _from_distribution(name, value)
        self._params = converted
        self._names = tuple(converted)
        self._check_conditions()
        self._order = self._topological_order()
        self._index = {n: i for i, n in enumerate(self._names)}
        self._slices: dict[str, slice] = {}
        start = 0
        for n, p in converted.items():
            self._slices[n] = slice(start, start + p.n_genes)
            start += p.n_genes
        self._n_genes = start
        self.schema = self._build_schema()

    # Mapping protocol
    def __getitem__(self, name: str) -> Parameter:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"Space({self._params!r})"

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    @property
    def n_genes(self) -> int:
        """Genes in a genome: one per parameter, one per column of a mask."""
        return self._n_genes

    @property
    def slices(self) -> dict[str, slice]:
        """Each parameter's genes in a genome (``genome[space.slices[name]]``)."""
        return dict(self._slices)

    def _genes(self, row: np.ndarray, name: str) -> Any:
        """The gene (or, for a mask, the genes) of parameter ``name`` in ``row``."""
        sl = self._slices[name]
        return row[sl] if self._params[name].n_genes != 1 else row[sl.start]

    def _check_conditions(self) -> None:
        for name, p in self._params.items():
            for parent, allowed in p.when.items():
                if parent == name:
                    raise ValueError(f"parameter {name!r}: its condition names itself")
                if parent not in self._params:
                    raise ValueError(
                        f"parameter {name!r}: condition names unknown parameter {parent!r}; "
                        f"known parameters are {list(self._params)}"
                    )
                if isinstance(self._params[parent], FeatureMask):
                    raise ValueError(
                        f"parameter {name!r}: condition names {parent!r}, a FeatureMask; a "
                        "condition can name an Integer, Float or Categorical only"
                    )
                for v in allowed:
                    if not self._params[parent].can_take(v):
                        raise ValueError(
                            f"parameter {name!r}: condition {parent}={v!r} can never hold, "
                            f"{parent!r} is {self._params[parent]!r}"
                        )

    def _topological_order(self) -> tuple[str, ...]:
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = [*path[path.index(name) :], name]
                raise ValueError(
                    f"parameter {name!r}: conditions form a cycle: {' -> '.join(cycle)}"
                )
            state[name] = 1
            for parent in self._params[name].when:
                visit(parent, [*path, name])
            state[name] = 2
            order.append(name)

        for n in self._names:
            visit(n, [])
        return tuple(order)

    def _build_schema(self) -> GeneSchema:
        kinds: list[int] = []
        n_choices: list[int] = []
        low: list[float] = []
        high: list[float] = []
        log: list[bool] = []
        group: list[int] = []
        n_groups = 0
        for p in self._params.values():
            if isinstance(p, FeatureMask):
                m = p.n_features
                kinds += [BIT] * m
                n_choices += [0] * m
                low += [float(p.min_features)] * m
                high += [float(p.max_features)] * m
                log += [False] * m
                group += [n_groups] * m
                n_groups += 1
                continue
            kinds.append(p.kind)
            n_choices.append(len(p.choices) if isinstance(p, Categorical) else 0)
            low.append(p.low if isinstance(p, Integer) else np.nan)
            high.append(p.high if isinstance(p, Integer) else np.nan)
            log.append(bool(getattr(p, "log", False)))
            group.append(-1)
        return GeneSchema.from_lists(kinds, n_choices, low, high, log, group)

    # encoding
    def _row(self, genes: np.ndarray) -> np.ndarray:
        row = np.asarray(genes, dtype=np.float64)
        if row.shape != (self.n_genes,):
            raise ValueError(f"a genome has shape ({self.n_genes},), got {row.shape}")
        return row

    def decode_all(self, genes: np.ndarray) -> tuple[dict[str, Any], dict[str, bool]]:
        """Every parameter's value, and whether its conditions hold."""
        row = self._row(genes)
        values = {n: self._params[n].decode(self._genes(row, n)) for n in self._names}
        active: dict[str, bool] = {}
        for n in self._order:
            active[n] = all(
                active[parent] and any(_same_value(values[parent], v) for v in allowed)
                for parent, allowed in self._params[n].when.items()
            )
        return values, {n: active[n] for n in self._names}

    def decode(self, genes: np.ndarray) -> dict[str, Any]:
        """The external form: the parameter dict for the model, active ones only."""
        values, active = self.decode_all(genes)
        return {n: values[n] for n in self._names if active[n]}

    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """The internal form of a parameter dict; a missing (inactive) parameter
        takes the middle of its range or its first choice (a mask: its first
        ``max_features`` columns)."""
        unknown = set(params) - set(self._names)
        if unknown:
            raise ValueError(f"unknown parameters {sorted(unknown)}; known are {list(self._names)}")
        row = np.empty(self.n_genes)
        for n in self._names:
            p, sl = self._params[n], self._slices[n]
            if n in params:
                row[sl] = p.encode(params[n])
            elif isinstance(p, FeatureMask):
                row[sl] = 1.0  # repaired below to the first max_features columns
            else:
                row[sl] = 0.0 if isinstance(p, Categorical) else 0.5
        return repair(row[None, :], self.schema)[0]

    def key(self, genes: np.ndarray) -> str:
        """Canonical key of a genome: equal for genomes a model cannot tell apart.

        Inactive parameters are left out, so changing them does not make a
        genome new; categories are keyed by index, so any object can be a choice;
        a mask by its string of ``0`` and ``1``.
        """
        row = np.asarray(genes, dtype=np.float64)
        values, active = self.decode_all(row)
        parts = []
        for n in self._names:
            if not active[n]:
                continue
            p = self._params[n]
            v: Any = values[n]
            if isinstance(p, Categorical):
                v = round(float(self._genes(row, n)))
            elif isinstance(p, FeatureMask):
                v = p.key_value(self._genes(row, n))
            parts.append([n, v])
        return json.dumps(parts, separators=(",", ":"))

    def sample(self, n: int, rng: np.random.Generator, method: str = "random") -> np.ndarray:
        """Draw ``n`` genomes: ``"random"`` (uniform), ``"lhs"`` (Latin
        hypercube) or ``"sobol"`` (scrambled Sobol), all through ``rng``.

        A :class:`FeatureMask` keeps a number of columns drawn uniformly
        between its ``min_features`` and ``max_features`` (spread by the
        method, as one more dimension), the columns themselves drawn at random.

        Examples
        --------
        >>> s = Space({"x": Float(0, 1), "k": Categorical(["a", "b"])})
        >>> s.sample(4, np.random.default_rng(0), method="lhs").shape
        (4, 2)
        >>> m = Space({"mask": FeatureMask(10, min_features=2, max_features=4)})
        >>> kept = m.sample(50, np.random.default_rng(0)).sum(axis=1)
        >>> int(kept.min()), int(kept.max())
        (2, 4)
        """
        if method not in _SAMPLING_METHODS:
            raise ValueError(f"method must be one of {_SAMPLING_METHODS}, got {method!r}")
        if not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        d = self.n_genes
        if n == 0:
            return np.empty((0, d))
        if method == "random":
            u = rng.random((n, d))
        else:
            from scipy.stats import qmc

            seed = int(rng.integers(0, 2**63 - 1))
            cls = qmc.LatinHypercube if method == "lhs" else qmc.Sobol
            try:
                engine = cls(d, rng=seed)
            except TypeError:  # scipy < 1.15 names it seed
                engine = cls(d, seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Sobol's note on non-powers of two
                u = engine.random(n)
        cats = self.schema.categorical
        u[:, cats] = np.floor(u[:, cats] * self.schema.n_choices[cats])
        for name, p in self._params.items():
            if isinstance(p, FeatureMask):
                u[:, self._slices[name]] = self._sample_mask(p, u[:, self._slices[name].start], rng)
        return repair(u, self.schema, rng)

    @staticmethod
    def _sample_mask(p: FeatureMask, u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Masks keeping ``min_features + floor(u * range)`` random columns."""
        lo, hi, m = p.min_features, p.max_features, p.n_features
        kept = np.minimum(lo + np.floor(u * (hi - lo + 1)).astype(np.int64), hi)
        order = np.argsort(rng.random((u.shape[0], m)), axis=1)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.broadcast_to(np.arange(m), order.shape), axis=1)
        return (rank < kept[:, None]).astype(np.float64)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description of the space."""
        return {n: p.to_dict() for n, p in self._params.items()}
