"""Several objectives at once: their values, NSGA-II ranking, the front, hypervolume.

``objectives`` maps a name to ``"maximize"`` or ``"minimize"`` (or to a pair
``(direction, measure)`` whose ``measure(fitted_estimator) -> float`` is
computed on every fold). A name is one of:

- ``"score"``: the run's fitness (the mean CV score of ``metric``);
- a scorer of ``scoring`` (the mean over folds of ``test_<name>``);
- ``"fit_time"`` / ``"score_time"``: seconds, summed over the folds;
- a measure (the mean over folds of the measure's values).

The first objective is the primary one: the hall of fame, ``best_`` and the
surrogate use it; the Pareto front holds every non-dominated evaluation.
Selection is NSGA-II's (``deap.tools.selNSGA2``): the survivors are the best
of parents and offspring by non-domination rank, then crowding distance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import base, tools

__all__ = [
    "FitnessMulti",
    "Objectives",
    "crowded_keys",
    "hypervolume",
    "knee_index",
]

_BUILTIN = ("score", "fit_time", "score_time")


class FitnessMulti(base.Fitness):
    """A fitness whose weights are set per instance (one per objective).

    DEAP wants weights on the class; ``deap.creator`` would build a class at
    run time, which breaks pickling, so the weights live on the instance.
    """

    weights: tuple[float, ...] = ()

    def __init__(self, weights: Sequence[float] = (), values: Sequence[float] = ()) -> None:
        # weights default to none at all: DEAP's deepcopy calls the class bare
        self.weights = tuple(float(w) for w in weights)
        super().__init__(values)


@dataclass(frozen=True)
class Objectives:
    """The objectives of a run, checked (see the module's docstring)."""

    names: tuple[str, ...]
    directions: tuple[str, ...]
    measures: tuple[tuple[str, Callable[[Any], float]], ...] = ()

    @classmethod
    def parse(cls, objectives: Any, metric_names: Sequence[str] = ()) -> Objectives:
        if not isinstance(objectives, Mapping) or len(objectives) < 2:
            raise ValueError(
                "'objectives' must be a dict of at least two {name: 'maximize' | 'minimize' | "
                f"(direction, measure)}} entries, got {objectives!r}"
            )
        names, directions, measures = [], [], []
        for name, spec in objectives.items():
            if not isinstance(name, str):
                raise TypeError(f"'objectives' keys must be names (str), got {name!r}")
            measure = None
            if isinstance(spec, tuple) and len(spec) == 2 and callable(spec[1]):
                spec, measure = spec
            if spec not in ("maximize", "minimize"):
                raise ValueError(
                    f"objectives[{name!r}] must be 'maximize', 'minimize' or (direction, "
                    f"measure), got {objectives[name]!r}"
                )
            if measure is not None:
                if name in _BUILTIN or name in metric_names:
                    raise ValueError(
                        f"objectives[{name!r}]: a measure cannot take the name of a built-in "
                        f"objective or scorer ({', '.join((*_BUILTIN, *metric_names))})"
                    )
                measures.append((name, measure))
            elif name not in _BUILTIN and name not in metric_names:
                allowed = ", ".join(repr(n) for n in (*_BUILTIN, *metric_names))
                raise ValueError(
                    f"objectives[{name!r}]: not an objective this run can measure; the names "
                    f"are {allowed}, or give (direction, measure) for a measure of the fitted "
                    "estimator"
                )
            names.append(name)
            directions.append(spec)
        return cls(tuple(names), tuple(directions), tuple(measures))

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(1.0 if d == "maximize" else -1.0 for d in self.directions)

    def values(self, ev: Any) -> tuple[float, ...]:
        """The objective values of an evaluation (NaN where it has none)."""
        return tuple(objective_value(n, ev) for n in self.names)

    def to_dict(self) -> dict[str, str]:
        return dict(zip(self.names, self.directions))


def _mean(values: Sequence[float]) -> float:
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    return float(arr.mean()) if arr.size and np.isfinite(arr).all() else math.nan


def objective_value(name: str, ev: Any) -> float:
    """``name``'s value for an :class:`~evotune.Evaluation` (or a journal record
    with the same fields, as the report reads them)."""
    get = ev.get if isinstance(ev, Mapping) else lambda k, d=None: getattr(ev, k, d)
    if get("status", "ok") != "ok":
        return math.nan
    if name == "score":
        value = get("mean_score")
        return float(value) if value is not None else math.nan
    if name in ("fit_time", "score_time"):
        folds = get(f"fold_{name}s") or []
        return float(sum(folds)) if folds else float(get(name) or math.nan)
    metrics = get("metrics") or []
    key = f"test_{name}" if any(f"test_{name}" in m for m in metrics) else f"measure_{name}"
    return _mean([m.get(key, math.nan) for m in metrics])


def fitness_values(values: Sequence[float], weights: Sequence[float]) -> tuple[float, ...]:
    """Values for a fitness (DEAP applies the weights): NaN becomes the worst
    value of its direction, so no NaN reaches selection."""
    return tuple(
        v if math.isfinite(v) else (-math.inf if w > 0 else math.inf)
        for v, w in zip(values, weights)
    )


def crowded_keys(genomes: Sequence[Any]) -> np.ndarray:
    """One number per genome that orders them as NSGA-II's crowded comparison
    does: a lower non-domination rank first, then a larger crowding distance."""
    if not genomes:
        return np.empty(0)
    fronts = tools.sortNondominated(list(genomes), len(genomes))
    key = {}
    for rank, front in enumerate(fronts):
        tools.emo.assignCrowdingDist(front)
        for g in front:
            crowd = g.fitness.crowding_dist
            share = 1.0 if math.isinf(crowd) else crowd / (1.0 + crowd)
            key[id(g)] = -rank + 0.5 * share
    return np.array([key[id(g)] for g in genomes])


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """The volume dominated by ``points`` (rows, every column maximized) above
    ``reference``: exact, by slicing along the first objective."""
    pts = np.asarray(points, dtype=float)
    ref = np.asarray(reference, dtype=float)
    if pts.size == 0:
        return 0.0
    pts = pts[np.all(np.isfinite(pts), axis=1) & np.all(pts > ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    if pts.shape[1] == 1:
        return float(pts[:, 0].max() - ref[0])
    order = np.argsort(-pts[:, 0], kind="stable")
    pts = pts[order]
    volume = 0.0
    for i in range(len(pts)):
        nxt = pts[i + 1, 0] if i + 1 < len(pts) else ref[0]
        width = pts[i, 0] - nxt
        if width > 0:
            volume += width * hypervolume(pts[: i + 1, 1:], ref[1:])
    return float(volume)


def knee_index(points: np.ndarray) -> int:
    """The knee of a front (rows, every column maximized): after scaling each
    objective to [0, 1] over the front, the point farthest beyond the plane
    ``x1 + ... + xk = 1`` (in two dimensions, the line through the two
    extremes), the one that gives up least of one objective for the others.
    Ties go to the first."""
    pts = np.asarray(points, dtype=float)
    if len(pts) <= 2:
        return int(np.argmax(pts[:, 0])) if len(pts) else 0
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    unit = (pts - lo) / span
    return int(np.argmax(unit.sum(axis=1)))
