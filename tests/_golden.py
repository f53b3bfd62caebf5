"""Golden histories: rebuild a recorded run from its call, stored as data, and
reduce its outcome to plain JSON values that compare exactly.

``tests/data/golden/make_golden.py`` records runs with these functions into
``tests/data/golden/histories.json``; ``tests/test_golden.py`` replays each
one with the same functions and compares. A call is JSON: which face runs it
(``evolve`` or ``EvolutionarySearchCV``), the objective (a named function, or
a ``CrossValScore`` of a named estimator on a named data set), the space, and
the keyword arguments. The few things JSON cannot hold (functions, measures,
estimator classes, data sets) are looked up by name in the tables below, so a
redesign of the engine changes :func:`run_call` at most, never the data.

Every value recorded is independent of timing: fit and score times, elapsed
seconds and error texts are left out.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from evotune import Categorical, CrossValScore, EvolutionarySearchCV, Float, Integer, evolve

GOLDEN = Path(__file__).parent / "data" / "golden"
HISTORIES = GOLDEN / "histories.json"

# ------------------------------------------------------------ named pieces


def _wine() -> tuple[Any, Any]:
    from sklearn.datasets import load_wine

    return load_wine(return_X_y=True)


DATASETS = {"wine": _wine}


def _tree(**params: Any) -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(**params)


ESTIMATORS = {"DecisionTreeClassifier": _tree}


def tree_shape(p: Mapping[str, Any]) -> float:
    """A deterministic stand-in for a tree's score over the tree space; it
    raises where ``max_depth >= 10`` with ``gini``, so runs have failed rows."""
    if p["max_depth"] >= 10 and p["criterion"] == "gini":
        raise ValueError("deliberate failure: deep gini trees")
    score = (
        -((p["max_depth"] - 5) ** 2) / 10.0
        - (math.log10(p["ccp_alpha"]) + 3.0) ** 2
        - 5.0 * (p["min_weight_fraction_leaf"] - 0.05) ** 2
        + {"gini": 0.0, "entropy": 0.3, "log_loss": -0.2}[p["criterion"]]
    )
    if "max_leaf_nodes" in p:
        score -= (p["max_leaf_nodes"] - 12) ** 2 / 50.0
    return score


FUNCTIONS = {"tree_shape": tree_shape}


def n_leaves(model: Any) -> float:
    return float(model.get_n_leaves())


MEASURES = {"n_leaves": n_leaves}

# ------------------------------------------------------------ building a call


def build_space(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``{name: {"type": "int"|"float"|"categorical", ...}}`` -> parameters."""
    out: dict[str, Any] = {}
    for name, p in spec.items():
        when = p.get("when")
        if p["type"] == "float":
            out[name] = Float(p["low"], p["high"], log=p.get("log", False), when=when)
        elif p["type"] == "int":
            out[name] = Integer(p["low"], p["high"], log=p.get("log", False), when=when)
        elif p["type"] == "categorical":
            out[name] = Categorical(p["choices"], when=when)
        else:
            raise ValueError(f"unknown parameter type {p['type']!r}")
    return out


def build_objectives(spec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A direction as is; ``[direction, {"measure": name}]`` -> (direction, measure)."""
    if spec is None:
        return None
    out: dict[str, Any] = {}
    for name, value in spec.items():
        if isinstance(value, str):
            out[name] = value
        else:
            direction, what = value
            out[name] = (direction, MEASURES[what["measure"]])
    return out


def build_estimator(spec: Mapping[str, Any]) -> Any:
    return ESTIMATORS[spec["class"]](**spec.get("params", {}))


def _kwargs(call: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = dict(call["kwargs"])
    if "objectives" in kwargs:
        kwargs["objectives"] = build_objectives(kwargs["objectives"])
    kwargs.update(overrides)
    return kwargs


def build_objective(spec: Mapping[str, Any]) -> Any:
    if spec["kind"] == "function":
        return FUNCTIONS[spec["name"]]
    if spec["kind"] == "cross_val_score":
        X, y = DATASETS[spec["data"]]()
        return CrossValScore(
            build_estimator(spec["estimator"]),
            X,
            y,
            cv=spec["cv"],
            scoring=spec.get("scoring"),
        )
    raise ValueError(f"unknown objective kind {spec['kind']!r}")


def full_call(call: Mapping[str, Any], spaces: Mapping[str, Any]) -> dict[str, Any]:
    """``call`` with its space given in full (a call may name one of ``spaces``,
    the table of spaces stored once for all the runs)."""
    space = call["space"]
    return {**call, "space": spaces[space] if isinstance(space, str) else space}


def run_call(call: Mapping[str, Any], **overrides: Any) -> dict[str, Any]:
    """Run ``call`` (``overrides`` on top of its kwargs, e.g. a checkpoint) and
    return its recorded outcome (see :func:`outcome`)."""
    space = build_space(call["space"])
    with warnings.catch_warnings():
        # runs of tree_shape have failed rows on purpose
        warnings.filterwarnings("ignore", message=r".*evaluations failed", category=UserWarning)
        if call["face"] == "evolve":
            objective = build_objective(call["objective"])
            result = evolve(objective, space, **_kwargs(call, overrides))
            return outcome(
                result.history,
                result.logbook,
                result.best_params,
                result.best_score,
                pareto_front=result.pareto_front,
                stop_reason=result.stop_reason,
            )
        if call["face"] == "search":
            X, y = DATASETS[call["data"]]()
            search = EvolutionarySearchCV(
                build_estimator(call["estimator"]), space, **_kwargs(call, overrides)
            )
            search.fit(X, y)
            return outcome(
                search.history_,
                search.logbook_,
                search.best_params_,
                search.best_score_,
                pareto_front=getattr(search, "pareto_front_", None),
                stop_reason=search.result_.stop_reason,
                best_index=int(search.best_index_),
            )
    raise ValueError(f"unknown face {call['face']!r}")


# ------------------------------------------------------------ plain values


def plain(value: Any) -> Any:
    """JSON-safe and exact: numpy scalars to Python ones, tuples to lists,
    non-finite floats to the strings "nan", "inf", "-inf" (so they compare
    equal and JSON stays strict)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    raise TypeError(f"no plain JSON form for {value!r} ({type(value).__name__})")


# History columns that hold times or texts that vary from run to run.
TIMED_COLUMNS = ("fit_time", "score_time", "error")
# Logbook columns that are times.
TIMED_LOGBOOK = ("elapsed",)


def history_rows(history: Any) -> list[dict[str, Any]]:
    """One dict per history row: id, generation, origin, status, params (every
    ``param_*`` column, None where inactive), mean_score and fold_scores; the
    timed columns are left out, and std_score, which is the fold scores'
    ``np.std``, to keep the data small."""
    params = [c for c in history.columns if c.startswith("param_")]
    folds = [c for c in history.columns if c.startswith("split") and c.endswith("_score")]
    known = {"id", "generation", "origin", "status", "mean_score", "std_score"}
    other = set(history.columns) - known - set(params) - set(folds) - set(TIMED_COLUMNS)
    if other:
        raise ValueError(f"history columns not recorded: {sorted(other)}")
    rows = []
    for rec in history.to_dict("records"):
        rows.append(
            {
                "id": plain(rec["id"]),
                "generation": plain(rec["generation"]),
                "origin": plain(rec["origin"]),
                "status": plain(rec["status"]),
                "params": {c[len("param_") :]: plain(rec[c]) for c in params},
                "mean_score": plain(rec["mean_score"]),
                "fold_scores": [plain(rec[c]) for c in folds],
            }
        )
    return rows


def logbook_rows(logbook: Any) -> list[dict[str, Any]]:
    """The logbook's rows without its timed columns."""
    keep = [c for c in logbook.columns if c not in TIMED_LOGBOOK]
    return [{c: plain(rec[c]) for c in keep} for rec in logbook.to_dict("records")]


def outcome(
    history: Any,
    logbook: Any,
    best_params: Any,
    best_score: Any,
    *,
    pareto_front: Any = None,
    stop_reason: str,
    best_index: int | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "history": history_rows(history),
        "logbook": logbook_rows(logbook),
        "best_params": plain(best_params),
        "best_score": plain(best_score),
        "stop_reason": stop_reason,
        "pareto_front_ids": (
            None if pareto_front is None else [plain(i) for i in pareto_front["id"]]
        ),
    }
    if best_index is not None:
        out["best_index"] = best_index
    return out


def journal_rows(run_dir: Path) -> list[dict[str, Any]]:
    """The ``evaluation`` records of a run directory's journal as history rows
    (first record of each key, by id; JSON null scores read as "nan"; the
    parameters of the space an evaluation does not use are None, as in a
    history)."""
    names = list(json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))["space"])
    seen: set[str] = set()
    rows = []
    for line in (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["type"] != "evaluation" or rec["key"] in seen:
            continue
        seen.add(rec["key"])

        def score(v: Any) -> Any:
            return "nan" if v is None else plain(float(v))

        rows.append(
            {
                "id": rec["candidate"],
                "generation": rec["generation"],
                "origin": rec["origin"],
                "status": rec["status"],
                "params": {n: rec["params"].get(n) for n in names},
                "mean_score": score(rec["mean_score"]),
                "fold_scores": [score(v) for v in rec["fold_scores"]],
            }
        )
    return sorted(rows, key=lambda r: r["id"])


def canon(value: Any) -> str:
    """A canonical text of a plain value: equal texts mean equal values of
    equal types (1, 1.0 and true differ), floats to the last bit."""
    return json.dumps(value, sort_keys=True, allow_nan=False)


# ------------------------------------------------------------ the stored form


def pack_history(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """History rows as stored: the parameter names once, then one list per row,
    ``[id, generation, origin, status, [param values], mean_score, [fold
    scores]]`` (half the size of a dict per row)."""
    names = list(rows[0]["params"]) if rows else []
    packed = []
    for r in rows:
        if list(r["params"]) != names:
            raise ValueError(f"row {r['id']}: parameters {list(r['params'])}, not {names}")
        packed.append(
            [
                r["id"],
                r["generation"],
                r["origin"],
                r["status"],
                [r["params"][n] for n in names],
                r["mean_score"],
                r["fold_scores"],
            ]
        )
    return {"params": names, "rows": packed}


def unpack_history(packed: Mapping[str, Any]) -> list[dict[str, Any]]:
    names = packed["params"]
    return [
        {
            "id": i,
            "generation": gen,
            "origin": origin,
            "status": status,
            "params": dict(zip(names, values)),
            "mean_score": mean,
            "fold_scores": folds,
        }
        for i, gen, origin, status, values, mean, folds in packed["rows"]
    ]


def load_histories() -> dict[str, Any]:
    return json.loads(HISTORIES.read_text(encoding="utf-8"))


def expected(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The recorded outcome of run ``name``, history rows as dicts; a part
    stored as ``{"same_as": other}`` (equal to another run's) is resolved."""
    out = dict(data["runs"][name]["expected"])
    for part, value in list(out.items()):
        if isinstance(value, Mapping) and set(value) == {"same_as"}:
            out[part] = data["runs"][value["same_as"]]["expected"][part]
    out["history"] = unpack_history(out["history"])
    return out
