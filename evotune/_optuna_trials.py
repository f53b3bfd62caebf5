"""A run's evaluations as Optuna trials: distributions, parameters, values,
states, times, intermediate values and attributes (``evotune export-optuna``).

The mapping, read from the run as the journal holds it (:class:`~evotune.report.Run`):

- ``int`` → ``IntDistribution(low, high, log)``; ``float`` →
  ``FloatDistribution(low, high, log)``; ``categorical`` →
  ``CategoricalDistribution`` of its choices, an object among them by its
  ``repr`` (a run directory holds no objects); a ``scipy.stats`` distribution →
  the range of its values, ``IntDistribution`` for a discrete one, else
  ``FloatDistribution`` (its shape is not kept).
- A ``FeatureMask`` has no Optuna distribution: the parameter ``<name>.n_kept``
  (``IntDistribution(min_features, max_features)``, the columns kept) stands
  for it and the user attribute ``param.<name>`` holds the mask as ``0``/``1``.
- Anything else (a type Optuna cannot hold, a value outside its merged range
  in a list-of-dicts space) is left out of the params and kept as the user
  attribute ``param.<name>`` (its JSON value).
- A conditional parameter that was inactive is absent from the trial, as in
  Optuna.

State: ``ok`` → COMPLETE; ``pruned`` and ``raced`` (stopped on purpose) →
PRUNED, with the evaluation's score as its value when it has one (single
objective); ``failed``, ``timeout``, ``crashed`` and ``nan`` → FAIL. A
complete evaluation without a finite value for every objective is FAIL too,
as Optuna's own ``tell`` makes it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from evotune._figures._run import Run, _as_float, _category_index, _display
from evotune._pareto import objective_value

__all__ = ["KEY_ATTR", "TrialMaker"]

#: the user attribute of a trial that holds its evaluation's genome key
KEY_ATTR = "evotune_key"
# evaluation statuses whose trial is PRUNED (stopped on purpose); other
# statuses than these and "ok" are FAIL
_STOPPED = ("pruned", "raced")
# what a categorical choice may be in Optuna
_SCALAR = (type(None), bool, int, float, str)


def _distribution(dists: Any, spec: Mapping[str, Any]) -> Any:
    """The Optuna distribution of one entry of ``meta.json``'s space, or None."""
    kind = spec.get("type")
    try:
        if kind in ("int", "float"):
            cls = dists.IntDistribution if kind == "int" else dists.FloatDistribution
            cast = int if kind == "int" else float
            return cls(cast(spec["low"]), cast(spec["high"]), log=bool(spec.get("log", False)))
        if kind == "categorical":
            choices = [_display(c) for c in spec["choices"]]
            if choices and all(isinstance(c, _SCALAR) for c in choices):
                return dists.CategoricalDistribution(choices)
        elif kind == "distribution":
            low, high = float(spec["low"]), float(spec["high"])
            if spec.get("discrete"):
                return dists.IntDistribution(math.ceil(low), math.floor(high))
            return dists.FloatDistribution(low, high)
        elif kind == "feature_mask":
            return dists.IntDistribution(int(spec["min_features"]), int(spec["max_features"]))
    except (KeyError, TypeError, ValueError, OverflowError):
        return None  # a space entry Optuna cannot hold: its values become user attributes
    return None


def _contains(dist: Any, value: Any) -> bool:
    """Whether ``value`` is a value of ``dist`` (Optuna's own check is private)."""
    if hasattr(dist, "choices"):
        return any(type(c) is type(value) and c == value for c in dist.choices)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if _is_int(dist) and not float(value).is_integer():
        return False
    return bool(dist.low <= value <= dist.high)


def _is_int(dist: Any) -> bool:
    return type(dist).__name__ == "IntDistribution"


def _attr(value: Any) -> Any:
    """A JSON value Optuna's storages and the dashboard take: no NaN or infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_attr(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _attr(v) for k, v in value.items()}
    return value


def _when(value: float) -> datetime:
    # local and naive: what Optuna's storages take and give back
    return datetime.fromtimestamp(value)


class TrialMaker:
    """Builds the :class:`optuna.trial.FrozenTrial` of each evaluation of a run.

    Parameters
    ----------
    optuna : module
        The ``optuna`` package.
    run : Run
        The run as :func:`evotune.report.load_run` read it.

    Examples
    --------
    >>> import optuna
    >>> from evotune.report import load_run
    >>> maker = TrialMaker(optuna, load_run(example_run))
    >>> trial = maker.trial(maker.run.evaluations[0])
    >>> trial.state.name, sorted(trial.params), trial.user_attrs["generation"]
    ('COMPLETE', ['C', 'kernel'], 0)
    """

    def __init__(self, optuna: Any, run: Run) -> None:
        self.optuna, self.run = optuna, run
        settings = run.meta.get("settings")
        objectives = settings.get("objectives") if isinstance(settings, Mapping) else None
        if isinstance(objectives, Mapping) and objectives:
            self.metric_names: list[str] | None = [str(n) for n in objectives]
            self.directions = [str(d) for d in objectives.values()]
        else:
            self.metric_names, self.directions = None, [run.direction]
        dists = optuna.distributions
        self.space = run.space
        self.distributions = {n: _distribution(dists, s) for n, s in self.space.items()}
        # key -> fold -> result: the last record of a task, as the reader keeps it
        self._tasks: dict[str, dict[Any, Mapping[str, Any]]] = {}
        for record in run.folds:
            result = record.get("result")
            if isinstance(result, Mapping):
                self._tasks.setdefault(str(record.get("key")), {})[record.get("fold")] = result
        self._spans = self._all_spans()

    def _folds(self, ev: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return list(self._tasks.get(str(ev.get("key")), {}).values())

    def trial(self, ev: Mapping[str, Any]) -> Any:
        """The frozen trial of one ``evaluation`` record."""
        state, values = self._state_values(ev)
        params, distributions, attrs = self._params(ev)
        start, end = self._spans[str(ev.get("key"))]
        user_attrs = {
            KEY_ATTR: str(ev.get("key")),
            "candidate": ev.get("candidate"),
            "generation": ev.get("generation"),
            "origin": ev.get("origin"),
            "status": str(ev.get("status", "ok")),
            "fold_scores": _attr(list(ev.get("fold_scores") or [])),
            **({"error": str(ev["error"])} if ev.get("error") is not None else {}),
            **attrs,
        }
        return self.optuna.trial.FrozenTrial(
            number=0,
            trial_id=0,
            state=state,
            value=None,
            values=values,
            datetime_start=_when(start),
            datetime_complete=_when(end),
            params=params,
            distributions=distributions,
            user_attrs=user_attrs,
            system_attrs={},
            intermediate_values=self._intermediate(ev),
        )

    def _state_values(self, ev: Mapping[str, Any]) -> tuple[Any, list[float] | None]:
        states = self.optuna.trial.TrialState
        status = ev.get("status", "ok")
        if self.metric_names is None:
            values = [_as_float(ev.get("mean_score"))]
        else:
            values = [objective_value(n, ev) for n in self.metric_names]
        finite = all(math.isfinite(v) for v in values)
        if status == "ok" and not any(math.isnan(v) for v in values):
            return states.COMPLETE, values
        if status in _STOPPED:
            # Optuna keeps a value for a pruned trial of one objective only
            single = self.metric_names is None and finite
            return states.PRUNED, values if single else None
        return states.FAIL, None

    def _params(self, ev: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict]:
        """(params, distributions, user attributes of the values left out)."""
        params: dict[str, Any] = {}
        distributions: dict[str, Any] = {}
        attrs: dict[str, Any] = {}
        given = ev.get("params")
        for name, raw in (given if isinstance(given, Mapping) else {}).items():
            spec = self.space.get(name) or {}
            dist = self.distributions.get(name)
            value: Any = _display(raw)
            if spec.get("type") == "feature_mask" and isinstance(raw, list):
                attrs[f"param.{name}"] = "".join("1" if bit else "0" for bit in raw)
                name, value = f"{name}.n_kept", sum(1 for bit in raw if bit)
            elif spec.get("type") == "categorical" and dist is not None:
                index = _category_index(ev, name, list(spec.get("choices") or []))
                value = dist.choices[index] if index is not None else value
            elif isinstance(value, float) and value.is_integer() and _is_int(dist):
                value = int(value)
            if dist is not None and _contains(dist, value):
                params[name], distributions[name] = value, dist
            else:
                attrs[f"param.{name}"] = _attr(value)
        return params, distributions, attrs

    def _all_spans(self) -> dict[str, tuple[float, float]]:
        """When each evaluation's first fold started and its last one finished
        (wall clock). One without fold times (answered without running) is
        placed at the last time seen before it, the run's first start to
        begin with, so the timeline keeps its order."""
        starts = [t for t in self.run.starts if math.isfinite(t) and t > 0]
        created = _as_float(self.run.meta.get("created"))
        last = starts[0] if starts else created if created > 0 else time.time()
        spans = {}
        for ev in self.run.evaluations:
            began, ended = [], []
            for result in self._folds(ev):
                a, b = _as_float(result.get("started")), _as_float(result.get("finished"))
                # NaN and 0.0 (a backend's "unknown") are not times of day
                if math.isfinite(a) and math.isfinite(b) and 0 < a <= b:
                    began.append(a)
                    ended.append(b)
            if began:
                last = max(last, max(ended))
            spans[str(ev.get("key"))] = (min(began), max(ended)) if began else (last, last)
        return spans

    def _intermediate(self, ev: Mapping[str, Any]) -> dict[int, float]:
        """The reported values (``report_step``) at each step, mean over the
        folds that reached it, as the report's ``intermediate.png`` draws them."""
        by_step: dict[int, list[float]] = {}
        for result in self._folds(ev):
            for step, value in result.get("reports") or []:
                by_step.setdefault(int(step), []).append(float(value))
        return {step: sum(v) / len(v) for step, v in sorted(by_step.items())}
