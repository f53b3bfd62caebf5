"""The successful evaluations of a run as numbers in [0, 1], one column per
parameter: what the importance forest is fitted to and what the parallel
coordinates draw."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evotune._figures._run import (
    Run,
    _as_float,
    _category_index,
    _display,
    _fmt_cell,
    _is_ok,
    _params,
)

__all__ = ["Axis", "Encoded", "encode"]


@dataclass
class Axis:
    """One parameter's column: ``values`` in [0, 1] (NaN where it was inactive
    or unreadable) and the labelled positions that explain the scale."""

    name: str
    values: np.ndarray
    ticks: list[tuple[float, str]] = field(default_factory=list)
    scale: str = "linear"


@dataclass
class Encoded:
    """The successful evaluations (``rows``), their scores, one axis per parameter."""

    rows: list[dict[str, Any]]
    scores: np.ndarray
    axes: list[Axis]

    def matrix(self, inactive: float = -0.1) -> np.ndarray:
        """The axes side by side, an inactive value as ``inactive`` (a value
        outside [0, 1], so a tree can split it off)."""
        if not self.axes:
            return np.empty((len(self.rows), 0))
        columns = np.column_stack([a.values for a in self.axes])
        return np.where(np.isnan(columns), inactive, columns)


def encode(run: Run) -> Encoded:
    """The successful evaluations of ``run`` in the space's own scale.

    A number is placed in the space's range (on a log scale for ``log=True``;
    in the values seen when the range is unbounded), a category at its index
    spread over [0, 1], a feature mask by how many features it keeps.

    Examples
    --------
    >>> from evotune.report import load_run
    >>> enc = encode(load_run(example_run))
    >>> [a.name for a in enc.axes], bool(((enc.matrix() >= 0) & (enc.matrix() <= 1)).all())
    (['C', 'kernel'], True)
    """
    rows = [ev for ev in run.evaluations if _is_ok(ev)]
    scores = np.array([_as_float(ev.get("mean_score")) for ev in rows], dtype=float)
    axes = []
    for name in run.param_names:
        spec = run.space.get(name)
        spec = spec if isinstance(spec, Mapping) else {}
        kind = spec.get("type")
        if kind == "categorical":
            axes.append(_categorical(name, spec, rows))
        elif kind == "feature_mask":
            axes.append(_mask(name, spec, rows))
        else:
            axes.append(_numeric(name, spec, rows))
    return Encoded(rows=rows, scores=scores, axes=axes)


def _categorical(name: str, spec: Mapping[str, Any], rows: list[dict[str, Any]]) -> Axis:
    choices = list(spec.get("choices") or [])
    span = max(len(choices) - 1, 1)
    values = []
    for ev in rows:
        index = _category_index(ev, name, choices) if name in _params(ev) else None
        values.append(math.nan if index is None else index / span)
    labels = [_fmt_cell(_display(c), active=True, width=14) for c in choices]
    ticks = [(i / span, text) for i, text in enumerate(labels)]
    if len(choices) == 1:
        ticks = [(0.0, ticks[0][1])]
    return Axis(name=name, values=np.array(values, dtype=float), ticks=ticks, scale="choice")


def _mask(name: str, spec: Mapping[str, Any], rows: list[dict[str, Any]]) -> Axis:
    n = _as_float(spec.get("n_features"))
    counts = []
    for ev in rows:
        value = _params(ev).get(name)
        if isinstance(value, Sequence) and not isinstance(value, str):
            counts.append(float(sum(bool(v) for v in value)))
        else:
            counts.append(math.nan)
    return _scaled(name, np.array(counts, dtype=float), 0.0, n, log=False, scale="features kept")


def _numeric(name: str, spec: Mapping[str, Any], rows: list[dict[str, Any]]) -> Axis:
    raw = np.array([_as_float(_params(ev).get(name)) for ev in rows], dtype=float)
    log = bool(spec.get("log", False))
    low, high = _as_float(spec.get("low")), _as_float(spec.get("high"))
    return _scaled(name, raw, low, high, log=log, scale="log" if log else "linear")


def _scaled(name: str, raw: np.ndarray, low: float, high: float, *, log: bool, scale: str) -> Axis:
    """``raw`` placed in [low, high] (or in the values seen, where the bounds
    are not usable), with a tick at each end and in the middle."""
    if log:
        raw = np.where(raw > 0, raw, np.nan)
    seen = raw[np.isfinite(raw)]
    if not (math.isfinite(low) and math.isfinite(high) and high > low) or (log and low <= 0):
        low, high = (float(seen.min()), float(seen.max())) if seen.size else (0.0, 1.0)
    if high <= low:  # one value seen: a unit-wide range around it
        high = low * 10.0 if log else low + 1.0
    forward = np.log10 if log else (lambda x: x)
    lo, hi = float(forward(low)), float(forward(high))
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.clip((forward(raw) - lo) / (hi - lo), 0.0, 1.0)
    values = np.where(np.isfinite(raw), values, np.nan)
    mid = 10 ** ((lo + hi) / 2) if log else (lo + hi) / 2
    ticks = [(0.0, f"{low:.3g}"), (0.5, f"{mid:.3g}"), (1.0, f"{high:.3g}")]
    return Axis(name=name, values=values, ticks=ticks, scale=scale)
