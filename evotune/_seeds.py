"""Warm starts: turning a user's known-good parameter sets into genomes."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evotune._objective import Objective
from evotune.journal import (
    JOURNAL,
    META,
    Journal,
    JournalError,
    _json_safe,
    read_journal,
    read_meta,
)
from evotune.records import FoldResult
from evotune.space import Categorical, Space

if TYPE_CHECKING:
    from evotune._objective import Objective


def _read_run(path: Path) -> tuple[dict[str, Any], Journal]:
    """The ``meta.json`` and journal of a run directory given as the warm start,
    read by the journal's one reader (a torn last line dropped with a warning, a
    bad line elsewhere refused), keeping the ``evaluation`` records."""
    meta, journal = path / META, path / JOURNAL
    if not journal.is_file() or not meta.is_file():
        raise ValueError(
            f"'initial_population': {str(path)!r} is not a run directory (no {JOURNAL} or {META})"
        )
    try:
        return read_meta(meta), read_journal(journal, keep=("evaluation",))
    except JournalError as exc:
        raise JournalError(f"'initial_population': {exc}") from None


def _from_run_directory(path: Path) -> list[dict[str, Any]]:
    """The evaluated parameter sets of a run directory, best first (JSON only)."""
    meta, journal = _read_run(path)
    sign = 1.0 if meta.get("settings", {}).get("direction", "maximize") == "maximize" else -1.0
    rows = []
    for rec in journal.records:
        if rec.get("status") == "ok":
            score = rec.get("mean_score")
            if isinstance(score, (int, float)) and math.isfinite(score):
                rows.append((sign * score, rec["params"]))
    rows.sort(key=lambda r: -r[0])
    return [p for _, p in rows]


def _rows(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, (str, os.PathLike)):
        return _from_run_directory(Path(value))
    try:
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            frame = value
            cols = [c for c in frame.columns if str(c).startswith("param_")]
            if cols:
                frame = frame[cols].rename(columns=lambda c: str(c)[len("param_") :])
            out = []
            for rec in frame.to_dict("records"):
                out.append({str(k): v for k, v in rec.items() if not _missing(v)})
            return out
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, Mapping) and "params" in value:  # a cv_results_ dict
        params = [dict(p) for p in value["params"]]
        return [params[i] for i in _best_first(value)]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise TypeError(
                    f"'initial_population'[{i}] must be a dict of parameter values, got {item!r}"
                )
            out.append({str(k): v for k, v in item.items()})
        return out
    raise TypeError(
        "'initial_population' must be a list of parameter dicts, a DataFrame, a cv_results_ "
        f"dict or a run directory; got {type(value).__name__}"
    )


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(isinstance(v, float) and math.isnan(v))
    except TypeError:
        return False


def _restore(space: Space, name: str, value: Any) -> Any:
    """A value as the space holds it: JSON ``{"repr": ...}`` back to the choice
    with that repr, integral floats (from CSV or pandas) back to int."""
    p = space[name]
    if isinstance(p, Categorical):
        if isinstance(value, Mapping) and "repr" in value:
            for c in p.choices:
                if repr(c) == value["repr"]:
                    return c
        if not p.can_take(value):
            for c in p.choices:
                if repr(c) == repr(value) or str(c) == str(value):
                    return c
    if isinstance(value, np.generic):
        value = value.item()
    if type(p).__name__ == "Integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def encode_seeds(value: Any, space: Space, rng: np.random.Generator) -> np.ndarray:
    """Genomes of ``value``'s parameter sets; a missing (or inactive) parameter
    takes a random value."""
    rows = _rows(value)
    genes = []
    for i, params in enumerate(rows):
        try:  # a list of dicts' public names to its own
            params = space.internal_params(params)
        except ValueError as exc:
            raise ValueError(f"'initial_population'[{i}]: {exc}") from None
        unknown = [k for k in params if k not in space.names]
        if unknown:
            raise ValueError(
                f"'initial_population'[{i}]: unknown parameter {unknown[0]!r}; the space has "
                f"{list(space.names)}"
            )
        filler = space.sample(1, rng, "random")[0]
        row = filler.copy()
        for name in space.names:
            if name in params:
                v = _restore(space, name, params[name])
                try:
                    row[space.slices[name]] = space[name].encode(v)
                except ValueError as exc:
                    raise ValueError(
                        f"'initial_population'[{i}]: parameter {name!r}: {exc}"
                    ) from None
        genes.append(row)
    if not genes:
        return np.empty((0, space.n_genes))
    from operators import repair

    return repair(np.stack(genes), space.schema)


def seeds_fingerprint(value: Any) -> Any:
    """A JSON-safe description of the seeds, checked on resume."""
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        return {"run_directory": str(value)}
    return _json_safe(_rows(value))


def _best_first(results: Mapping[str, Any]) -> list[int]:
    """The rows of a ``cv_results_`` dict, best ranked first (stable)."""
    n = len(results["params"])
    rank_keys = sorted(k for k in results if str(k).startswith("rank_test_"))
    if not rank_keys:
        return list(range(n))
    key = "rank_test_score" if "rank_test_score" in rank_keys else rank_keys[0]
    ranks = np.asarray(results[key], dtype=float)
    return [int(i) for i in np.argsort(ranks, kind="stable")]


def _exact_row(space: Space, params: Mapping[str, Any]) -> np.ndarray | None:
    """The genes of ``params`` if they set every parameter the candidate uses
    (None if one is missing: the known score is then another candidate's)."""
    try:  # a list of dicts' public names to its own
        params = space.internal_params(params)
    except ValueError:
        return None
    if any(k not in space.names for k in params):
        return None
    row = np.zeros(space.n_genes)
    for name in space.names:
        if name in params:
            try:
                row[space.slices[name]] = space[name].encode(_restore(space, name, params[name]))
            except (ValueError, TypeError):
                return None
    _, active = space.decode_all(row)
    if any(on and name not in params for name, on in active.items()):
        return None  # an active parameter the source never set
    return row


def known_results(
    value: Any, space: Space, objective: Objective, fingerprint: Mapping[str, Any]
) -> dict[tuple[str, int], FoldResult]:
    """``(key, fold) -> FoldResult`` of the warm start's candidates whose scores
    are already known, so they are taken as they are instead of refitted.

    - a run directory: its journaled folds, when its data fingerprint (data,
      folds, estimator, scoring) equals this run's;
    - a ``cv_results_`` dict: its ``split<k>_test_<metric>`` scores, when it
      has exactly this objective's number of folds (the folds themselves
      cannot be checked: seed from a search on the same data and ``cv``).

    Lists of dicts and DataFrames carry no scores: they are evaluated.
    """
    if value is None:
        return {}
    n_tasks = int(objective.n_tasks)
    out: dict[tuple[str, int], FoldResult] = {}
    if isinstance(value, (str, os.PathLike)):
        return _known_from_run(Path(value), space, fingerprint, n_tasks)
    if not (isinstance(value, Mapping) and "params" in value):
        return {}
    metric = objective.metric
    names = list(dict.fromkeys([*objective.metric_names_, metric]))
    if f"split{n_tasks - 1}_test_{metric}" not in value or f"split{n_tasks}_test_{metric}" in value:
        return {}
    fit = np.asarray(value.get("mean_fit_time", np.zeros(len(value["params"]))), dtype=float)
    score_t = np.asarray(value.get("mean_score_time", np.zeros(len(value["params"]))), dtype=float)
    for i, params in enumerate(value["params"]):
        row = _exact_row(space, params)
        if row is None:
            continue
        folds = []
        for k in range(n_tasks):
            metrics = {
                f"test_{m}": float(value[f"split{k}_test_{m}"][i])
                for m in names
                if f"split{k}_test_{m}" in value
            }
            score = metrics.get(f"test_{metric}", math.nan)
            if not math.isfinite(score):
                break
            folds.append(
                FoldResult(
                    score=score,
                    fit_time=float(fit[i]),
                    score_time=float(score_t[i]),
                    metrics=metrics,
                )
            )
        else:
            key = space.key(row)
            for k, f in enumerate(folds):
                out[(key, k)] = f
    return out


def _known_from_run(
    path: Path, space: Space, fingerprint: Mapping[str, Any], n_tasks: int
) -> dict[tuple[str, int], FoldResult]:
    meta, journal = _read_run(path)
    if json.dumps(meta.get("fingerprint"), sort_keys=True) != json.dumps(
        dict(fingerprint), sort_keys=True, default=str
    ):
        return {}  # other data, folds or model: the scores do not carry over
    folds: dict[str, dict[int, FoldResult]] = {}
    for (old_key, k), result in journal.folds.items():
        if result.status == "ok":
            folds.setdefault(old_key, {})[k] = result
    params = {
        str(rec["key"]): rec["params"]
        for rec in journal.records
        if rec.get("status") in ("ok", "nan")  # "nan": every fold ran (a NaN score)
    }
    out: dict[tuple[str, int], FoldResult] = {}
    for old_key, p in params.items():
        got = folds.get(old_key, {})
        row = _exact_row(space, {k: v for k, v in p.items() if v is not None})
        if row is None or sorted(got) != list(range(n_tasks)):
            continue
        key = space.key(row)
        for k in range(n_tasks):
            out[(key, k)] = got[k]
    return out
