"""``cv_results_`` in scikit-learn's format, from evotune's evaluations.

Shared by the scikit-learn faces (:class:`~evotune.EvolutionarySearchCV`):
the masked parameter arrays, per-split scores, means, standard deviations and
ranks, with scikit-learn's warning when a mean score is not finite.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.ma import MaskedArray
from scipy.stats import rankdata

from evotune.records import Evaluation

__all__ = ["cv_results_from_evaluations", "metric_names_of", "multimetric_refit_message"]


def _masked_params(params: Sequence[Mapping[str, Any]]) -> dict[str, MaskedArray]:
    """One masked array per parameter, masked where it was inactive, with the
    dtype scikit-learn's searches give (numeric where all values are, else object)."""
    values: dict[str, dict[int, Any]] = {}
    for i, p in enumerate(params):
        for name, value in p.items():
            values.setdefault(f"param_{name}", {})[i] = value
    out: dict[str, MaskedArray] = {}
    for key, by_index in values.items():
        items = list(by_index.values())
        try:
            arr = np.array(items)
            dtype = arr.dtype if arr.dtype.kind != "U" and arr.ndim == 1 else np.dtype(object)
        except ValueError:
            dtype = np.dtype(object)
        ma = MaskedArray(np.empty(len(params), dtype=dtype), mask=True)
        for i, value in by_index.items():
            ma[i] = value
        out[key] = ma
    return out


def _store(
    results: dict[str, Any],
    name: str,
    array: np.ndarray,
    *,
    splits: bool,
    rank: np.ndarray | None = None,
    raced: np.ndarray | None = None,
) -> None:
    if splits:
        for k in range(array.shape[1]):
            results[f"split{k}_{name}"] = array[:, k]
    means = array.mean(axis=1) if array.size else np.zeros(array.shape[0])
    results[f"mean_{name}"] = means
    _warn_non_finite(name, means, raced)
    results[f"std_{name}"] = (
        np.sqrt(((array - means[:, None]) ** 2).mean(axis=1)) if array.size else means
    )
    if rank is not None:
        results[f"rank_{name}"] = rank


def _warn_non_finite(name: str, means: np.ndarray, raced: np.ndarray | None) -> None:
    """scikit-learn's warning for a non-finite mean test or train score (a
    raced candidate's unrun folds are NaN on purpose: its row is left out)."""
    judged = means if raced is None else means[~raced]
    if name.startswith(("train_", "test_")) and np.any(~np.isfinite(judged)):
        warnings.warn(
            f"One or more of the {name.split('_')[0]} scores are non-finite: {means}",
            category=UserWarning,
            stacklevel=4,
        )


def _rank(means: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """Rank 1 is best; non-finite and failed candidates tie for last, so a
    failure never outranks a real score whatever ``error_score`` it got."""
    m = np.where(failed | ~np.isfinite(means), np.nan, means)
    if np.isnan(m).all():
        return np.ones(len(m), dtype=np.int32)
    m = np.where(np.isnan(m), np.nanmin(m) - 1.0, m)
    return np.asarray(rankdata(-m, method="min"), dtype=np.int32)


def cv_results_from_evaluations(
    evaluations: Sequence[Evaluation],
    metric_names: Sequence[str],
    *,
    return_train_score: bool,
    error_score: float = math.nan,
) -> dict[str, Any]:
    """``cv_results_`` in scikit-learn's format, one row per evaluation.

    Examples
    --------
    >>> from evotune.records import Evaluation
    >>> ev = Evaluation(0, 0, "initial", "k", {"C": 1.0}, [0.9, 0.8], 0.85, 0.05, 0.2, 0.1,
    ...                 metrics=[{"test_score": 0.9}, {"test_score": 0.8}],
    ...                 fold_fit_times=[0.1, 0.1], fold_score_times=[0.05, 0.05])
    >>> res = cv_results_from_evaluations([ev], ["score"], return_train_score=False)
    >>> round(float(res["mean_test_score"][0]), 6), int(res["rank_test_score"][0])
    (0.85, 1)
    """
    n = len(evaluations)
    n_splits = max((len(e.fold_scores) for e in evaluations), default=0)

    def folds(values: list[float]) -> list[float]:
        return list(values) + [math.nan] * (n_splits - len(values))

    results: dict[str, Any] = {}
    fit = np.array([folds(e.fold_fit_times) for e in evaluations], dtype=float).reshape(n, n_splits)
    score = np.array([folds(e.fold_score_times) for e in evaluations], dtype=float).reshape(
        n, n_splits
    )
    _store(results, "fit_time", fit, splits=False)
    _store(results, "score_time", score, splits=False)
    results.update(_masked_params([e.params for e in evaluations]))
    results["params"] = [dict(e.params) for e in evaluations]
    failed = np.array([e.status != "ok" for e in evaluations], dtype=bool)
    raced = np.array([e.status in ("raced", "pruned") for e in evaluations], dtype=bool)
    prefixes = ["test", "train"] if return_train_score else ["test"]
    for name in metric_names:
        for prefix in prefixes:
            key = f"{prefix}_{name}"
            arr = np.array(
                [
                    [
                        m.get(key, error_score) if k < len(e.metrics) else error_score
                        for k, m in enumerate(list(e.metrics) + [{}] * (n_splits - len(e.metrics)))
                    ]
                    for e in evaluations
                ],
                dtype=float,
            ).reshape(n, n_splits)
            rank = None
            if prefix == "test":
                means = arr.mean(axis=1) if arr.size else np.zeros(n)
                rank = _rank(means, failed)
            _store(results, key, arr, splits=True, rank=rank, raced=raced)
    return results


def multimetric_refit_message(refit: Any) -> str:
    """scikit-learn's error for a multi-metric scoring without a usable ``refit``."""
    return (
        "For multi-metric scoring, the parameter refit must be set to a scorer key or a "
        "callable to refit an estimator with the best parameter setting on the whole data "
        "and make the best_* attributes available for that metric. If this is not needed, "
        f"refit should be set to False explicitly. {refit!r} was passed."
    )


def metric_names_of(evaluations: Sequence[Evaluation], declared: Sequence[str]) -> list[str]:
    """The metric names of ``cv_results_``: those declared by the objective, or,
    when a callable scoring returned a dict, the keys of its first scores."""
    if list(declared) != ["score"]:
        return list(declared)
    for e in evaluations:
        if e.status in ("ok", "nan") and e.metrics:
            names = [k[len("test_") :] for k in e.metrics[0] if k.startswith("test_")]
            if names:
                return names
    return list(declared)
