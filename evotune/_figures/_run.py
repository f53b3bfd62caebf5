"""A run as plain JSON values (:class:`Run`), the form the figures draw from.

A run directory's journal is read into it by :func:`evotune.report.load_run`; a
run held in memory by :meth:`evotune.Result.plot_progress` and its siblings
(see :mod:`evotune._figures._memory`).
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evotune._figures._text import printable


@dataclass
class Run:
    """What a run directory holds, as plain JSON values.

    Attributes
    ----------
    path : Path
        The run directory.
    meta : dict
        ``meta.json``: format version, space, settings, fingerprint, versions.
    evaluations : list of dict
        The journal's ``evaluation`` records, in candidate-id order, one per
        genome key (the first one kept).
    folds : list of dict
        The journal's ``fold`` records (one finished (candidate, fold) task each).
    generations : list of dict
        The ``logbook`` row of each ``tell`` record, by generation: keys
        ``generation``, ``evaluations``, ``failed``, ``best``, ``mean``,
        ``std``, ``elapsed``.
    direction : str
        ``"maximize"`` or ``"minimize"``.
    stopped : str or None
        The reason of the last ``stop`` record, or None when the run is still
        going or was killed (no ``stop`` after its last ``start``).
    starts : list of float
        Wall-clock times of the ``start`` records (one per session: the first
        run and each resume), used to lay out the worker timeline.

    Examples
    --------
    >>> from evotune.report import load_run
    >>> run = load_run(example_run)   # a run directory made by evolve(checkpoint=...)
    >>> run.direction, len(run.evaluations), run.stopped
    ('maximize', 11, 'generations')
    """

    path: Path
    meta: dict[str, Any]
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    folds: list[dict[str, Any]] = field(default_factory=list)
    generations: list[dict[str, Any]] = field(default_factory=list)
    direction: str = "maximize"
    stopped: str | None = None
    starts: list[float] = field(default_factory=list)

    @property
    def space(self) -> dict[str, Any]:
        """The space as ``Space.to_dict`` wrote it: name -> parameter description
        (for a list of dicts, by the names the model got; see :func:`_public_space`)."""
        space = self.meta.get("space")
        return _public_space(space) if isinstance(space, dict) else {}

    @property
    def param_names(self) -> list[str]:
        """Parameter names, in the order of ``meta.json``'s space."""
        return list(self.space)

    @property
    def n_failed(self) -> int:
        """Evaluations without a finite score (failed, timed out or crashed),
        those stopped on purpose (raced, pruned) not counted."""
        return sum(1 for ev in self.evaluations if _is_failed(ev))

    @property
    def n_stopped(self) -> int:
        """Evaluations stopped on purpose: raced or pruned."""
        return sum(1 for ev in self.evaluations if ev.get("status") in STOPPED)

    @property
    def best(self) -> dict[str, Any] | None:
        """The best successful evaluation record, or None if none succeeded."""
        ranked = _ranked(self)
        return ranked[0] if ranked and _is_ok(ranked[0]) else None


# ------------------------------------------------------------ JSON values
def _as_float(value: Any) -> float:
    """A JSON number as float; anything else (null, text, bool) is NaN."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return math.nan
    return float(value)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


#: the statuses of an evaluation stopped on purpose, not failed
STOPPED = ("raced", "pruned")


def _is_failed(ev: Mapping[str, Any]) -> bool:
    return not _is_ok(ev) and ev.get("status") not in STOPPED


def _is_ok(ev: Mapping[str, Any]) -> bool:
    return ev.get("status", "ok") == "ok" and math.isfinite(_as_float(ev.get("mean_score")))


def _params(ev: Mapping[str, Any]) -> dict[str, Any]:
    params = ev.get("params")
    return params if isinstance(params, dict) else {}


def _is_repr(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"repr"} and isinstance(value["repr"], str)


def _display(value: Any) -> Any:
    """A value as a person reads it: an object stored as ``{"repr": r}`` is ``r``."""
    return value["repr"] if _is_repr(value) else value


def _clean_json(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None, numpy scalars plain numbers."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, Mapping):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _ranked(run: Run) -> list[dict[str, Any]]:
    """Evaluations best first; those without a finite score last, by id."""
    sign = -1.0 if run.direction == "maximize" else 1.0

    def order(ev: dict[str, Any]) -> tuple[int, float, int]:
        ident = _as_int(ev.get("candidate"))
        ident = ident if ident is not None else 2**62
        if _is_ok(ev):
            return (0, sign * _as_float(ev.get("mean_score")), ident)
        return (1, 0.0, ident)

    return sorted(run.evaluations, key=order)


def _category_index(ev: Mapping[str, Any], name: str, choices: list[Any]) -> int | None:
    """Which choice an evaluation took: from the genome key (which stores a
    category by its index), else by comparing JSON forms."""
    key = ev.get("key")
    if isinstance(key, str):
        try:
            parts = json.loads(key)
        except ValueError:
            parts = None
        if isinstance(parts, list):
            for part in parts:
                if isinstance(part, list) and len(part) == 2 and part[0] == name:
                    index = _as_int(part[1])
                    if index is not None and 0 <= index < len(choices):
                        return index
    params = _params(ev)
    if name not in params:
        return None
    # (a tuple or dict choice is a repr in the space but a JSON value in the
    # params, so only the key finds those)
    form = json.dumps(params[name], sort_keys=True)
    for i, c in enumerate(choices):
        if json.dumps(c, sort_keys=True) == form:
            return i
    return None


def _fmt_cell(value: Any, *, active: bool, width: int = 28) -> str:
    if not active:
        return ""
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, numbers.Integral):
        text = str(int(value))
    elif isinstance(value, numbers.Real):
        text = f"{float(value):.5g}"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"), default=str)
    text = printable(" ".join(text.split()))  # a multi-line repr stays on one line
    return text if len(text) <= width else text[: width - 1] + "…"


def _merged(specs: list[Mapping[str, Any]]) -> dict[str, Any]:
    """One description of a name that several dicts of a list give: the union
    of the choices, or the hull of the ranges (log only if every one is)."""
    first = dict(specs[0])
    if any(s.get("type") != first.get("type") for s in specs):
        return first  # a categorical in one dict, a range in another: the first's
    if first.get("type") == "categorical":
        choices: list[Any] = []
        for s in specs:
            for c in s.get("choices") or []:
                if c not in choices:
                    choices.append(c)
        return {**first, "choices": choices}
    lows = [_as_float(s.get("low")) for s in specs]
    highs = [_as_float(s.get("high")) for s in specs]
    log = all(bool(s.get("log", False)) for s in specs)
    return {**first, "low": min(lows), "high": max(highs), "log": log}


def _public_space(space: dict[str, Any]) -> dict[str, Any]:
    """``meta.json``'s space by the names the model got: a list of dicts
    stores each dict's parameters under internal names (``"C@0"``) with a
    ``name`` (``"C"``, None for the hidden branch); other spaces are as written."""
    if not any(isinstance(s, Mapping) and "name" in s for s in space.values()):
        return space
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for spec in space.values():
        name = spec.get("name") if isinstance(spec, Mapping) else None
        if isinstance(name, str):
            by_name.setdefault(name, []).append(spec)
    return {name: _merged(specs) for name, specs in by_name.items()}
