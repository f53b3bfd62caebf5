"""The :class:`Distribution` parameter: any frozen ``scipy.stats`` distribution,
encoded through its cdf and ppf.

A gene ``u`` in the unit interval is the quantile ``ppf(u)``: sampling genes
uniformly draws values from the distribution, as ``RandomizedSearchCV`` does,
and mutation steps in the unit interval are steps in probability. The tails
are cut at ``EPS`` (``u`` is clipped to ``[EPS, 1 - EPS]``), so an unbounded
distribution such as ``norm`` still gives finite values. A discrete
distribution (``poisson``, ``binom``, ...) decodes to its support points.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from evotune._parameters import Parameter, _json_value, _normalise_when, _round_float
from operators.schema import FLOAT

__all__ = ["EPS", "Distribution"]

#: how much probability each tail loses: ``norm.ppf(EPS)`` is about -7.03
EPS = 1e-12


def _dist_name(dist: Any) -> str:
    inner = getattr(dist, "dist", None)
    return str(getattr(inner, "name", type(inner if inner is not None else dist).__name__))


class Distribution(Parameter):
    """A parameter that follows a frozen ``scipy.stats`` distribution.

    Parameters
    ----------
    dist : frozen scipy.stats distribution
        Continuous (``expon(scale=10)``, ``norm(0, 1)``, ``truncnorm(...)``)
        or discrete (``poisson(3)``, ``binom(10, 0.5)``): anything with
        ``ppf``, ``cdf`` and ``support``. The gene is the value's quantile.
    when : dict, optional
        Condition on other parameters, as for :class:`~evotune.Float`.

    Examples
    --------
    >>> from scipy.stats import expon, poisson
    >>> p = Distribution(expon(scale=10))
    >>> p.decode(0.5), round(p.encode(p.decode(0.5)), 6)
    (6.931471806, 0.5)
    >>> Distribution(poisson(3)).decode(0.5)
    3
    """

    kind = FLOAT

    def __init__(self, dist: Any, *, when: Mapping[str, Any] | None = None) -> None:
        missing = [m for m in ("ppf", "cdf", "support") if not callable(getattr(dist, m, None))]
        if missing:
            raise TypeError(
                f"Distribution: 'dist' must be a frozen scipy.stats distribution (with ppf, cdf "
                f"and support), got {dist!r} without {', '.join(missing)}"
            )
        self.dist = dist
        self.name = _dist_name(dist)
        self.when = _normalise_when(when)
        self.discrete = hasattr(dist, "pmf")
        low, high = (float(b) for b in dist.support())
        self.low, self.high = low, high
        ends = [float(dist.ppf(q)) for q in (EPS, 0.5, 1.0 - EPS)]
        if not all(math.isfinite(e) for e in ends):
            raise ValueError(
                f"Distribution: {self!r} has a non-finite quantile between {EPS} and {1 - EPS} "
                f"(ppf gives {ends}); its parameters may be invalid"
            )
        self.lowest, self.highest = ends[0], ends[2]
        if not self.lowest < self.highest:
            raise ValueError(
                f"Distribution: {self!r} takes a single value {self.lowest!r}; a search needs "
                "at least two (give a one-value list to fix a parameter)"
            )

    def decode(self, gene: float) -> Any:
        u = min(max(float(gene), EPS), 1.0 - EPS)
        x = float(self.dist.ppf(u))
        if self.discrete:
            return int(x) if x.is_integer() else x
        # rounding keeps a genome's key stable through JSON; the clip keeps the
        # rounded value inside the support (and inside the cut tails)
        return min(max(_round_float(x), self.lowest), self.highest)

    def encode(self, value: Any) -> float:
        if not self.can_take(value):
            raise ValueError(f"{value!r} is outside the support of {self!r}")
        x = float(value)
        if self.discrete:
            # the middle of the quantiles that decode to x
            upper = float(self.dist.cdf(x))
            return min(max(upper - float(self.dist.pmf(x)) / 2.0, EPS), 1.0 - EPS)
        return min(max(float(self.dist.cdf(x)), EPS), 1.0 - EPS)

    def can_take(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            return False
        x = float(value)
        if not (math.isfinite(x) and self.low <= x <= self.high):
            return False
        return not self.discrete or float(self.dist.pmf(x)) > 0.0

    def _dist_repr(self) -> str:
        args = [repr(_json_value(a)) for a in getattr(self.dist, "args", ())]
        kwds = getattr(self.dist, "kwds", {})
        args += [f"{k}={_json_value(v)!r}" for k, v in kwds.items()]
        return f"{self.name}({', '.join(args)})"

    def __repr__(self) -> str:
        return f"Distribution({self._dist_repr()}{self._when_repr()})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "distribution",
            "distribution": self.name,
            "args": [_json_value(a) for a in getattr(self.dist, "args", ())],
            "kwds": {k: _json_value(v) for k, v in getattr(self.dist, "kwds", {}).items()},
            "discrete": self.discrete,
            "low": self.lowest,
            "high": self.highest,
            "when": {k: [_json_value(x) for x in v] for k, v in self.when.items()},
        }
