"""Warm starts that reuse what was already evaluated (evotune/_seeds.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from evotune import CrossValScore, Float, Integer, evolve
from evotune._seeds import known_results

SPACE = {"svc__C": Float(1e-3, 1e3, log=True), "svc__gamma": Float(1e-5, 1e1, log=True)}


@pytest.fixture(scope="module")
def c1():
    """Benchmark case C1: scaled RBF SVC on breast cancer, 3 shuffled folds."""
    X, y = load_breast_cancer(return_X_y=True)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    return make_pipeline(StandardScaler(), SVC()), X, y, cv


@pytest.fixture(scope="module")
def random_search(c1):
    est, X, y, cv = c1
    dists = {"svc__C": loguniform(1e-3, 1e3), "svc__gamma": loguniform(1e-5, 1e1)}
    return RandomizedSearchCV(est, dists, n_iter=20, cv=cv, random_state=0).fit(X, y)


def _fitted_ids(run_dir):
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    return {r["candidate"] for r in map(json.loads, lines) if r["type"] == "fold"}


def test_a_warm_start_from_cv_results_beats_the_search_and_refits_no_seed(
    c1, random_search, tmp_path
):
    est, X, y, cv = c1
    res = evolve(
        CrossValScore(est, X, y, cv=cv),
        SPACE,
        population_size=10,
        generations=5,
        initial_population=random_search.cv_results_,
        random_state=0,
        checkpoint=tmp_path / "run",
    )
    seeded = res.history[res.history["origin"] == "seeded"]
    assert len(seeded) == 10
    assert not set(seeded["id"]) & _fitted_ids(tmp_path / "run")  # none refitted
    # the seeds are the search's best ten, with the search's own scores
    top = np.sort(random_search.cv_results_["mean_test_score"])[::-1][:10]
    assert np.allclose(np.sort(seeded["mean_score"].to_numpy())[::-1], top)
    # beaten by a bred candidate (generation 0 is the ten seeds)
    assert res.best_score > random_search.best_score_
    assert res.history.loc[res.history["mean_score"].idxmax(), "origin"] != "seeded"


def test_cv_results_with_another_number_of_folds_are_refitted(c1, random_search):
    est, X, y, _ = c1
    obj = CrossValScore(est, X, y, cv=5)
    from evotune import Space

    assert known_results(random_search.cv_results_, Space(SPACE), obj, obj.fingerprint()) == {}


def test_a_seed_missing_a_parameter_is_evaluated(c1, random_search):
    est, X, y, cv = c1
    from evotune import Space

    space = Space({**SPACE, "svc__tol": Float(1e-4, 1e-2, log=True)})
    obj = CrossValScore(est, X, y, cv=cv)
    assert known_results(random_search.cv_results_, space, obj, obj.fingerprint()) == {}


def test_a_previous_run_directory_is_reused_when_its_data_match(c1, tmp_path):
    est, X, y, cv = c1
    first = evolve(
        CrossValScore(est, X, y, cv=cv),
        SPACE,
        population_size=8,
        generations=2,
        random_state=0,
        checkpoint=tmp_path / "a",
    )
    second = evolve(
        CrossValScore(est, X, y, cv=cv),
        SPACE,
        population_size=8,
        generations=3,
        random_state=1,
        checkpoint=tmp_path / "b",
        initial_population=tmp_path / "a",
    )
    seeded = second.history[second.history["origin"] == "seeded"]
    assert len(seeded) == 8
    assert not set(seeded["id"]) & _fitted_ids(tmp_path / "b")
    best_first = np.sort(first.history["mean_score"].to_numpy())[::-1][:8]
    assert np.allclose(np.sort(seeded["mean_score"].to_numpy())[::-1], best_first)
    # other data: the same parameter sets are fitted again
    third = evolve(
        CrossValScore(est, X[:400], y[:400], cv=cv),
        SPACE,
        population_size=8,
        generations=1,
        random_state=1,
        checkpoint=tmp_path / "c",
        initial_population=tmp_path / "a",
    )
    seeded = third.history[third.history["origin"] == "seeded"]
    assert set(seeded["id"]) <= _fitted_ids(tmp_path / "c")


def test_a_resumed_warm_start_is_exact(c1, random_search, tmp_path):
    est, X, y, cv = c1
    kw = dict(
        population_size=6,
        random_state=0,
        initial_population=random_search.cv_results_,
        checkpoint=tmp_path / "r",
    )
    evolve(CrossValScore(est, X, y, cv=cv), SPACE, generations=2, **kw)
    longer = evolve(CrossValScore(est, X, y, cv=cv), SPACE, generations=4, resume=True, **kw)
    fresh = evolve(
        CrossValScore(est, X, y, cv=cv),
        SPACE,
        generations=4,
        **{**kw, "checkpoint": tmp_path / "f"},
    )
    cols = ["id", "origin", "param_svc__C", "param_svc__gamma", "mean_score", "status"]
    assert longer.history[cols].equals(fresh.history[cols])


def test_plain_lists_carry_no_scores():
    from evotune import FunctionObjective, Space

    obj = FunctionObjective(lambda p: p["n"])
    space = Space({"n": Integer(0, 5)})
    assert known_results([{"n": 1}], space, obj, {}) == {}


def test_seeds_with_a_feature_mask_are_encoded_and_reused(tmp_path):
    from evotune import FeatureMask

    def score(p):
        return sum(p["mask"][:3]) - 0.1 * sum(p["mask"]) + p["x"]

    space = {"mask": FeatureMask(6, max_features=4), "x": Float(0, 1)}
    first = evolve(
        score, space, population_size=6, generations=2, random_state=0, checkpoint=tmp_path / "a"
    )
    second = evolve(
        score,
        space,
        population_size=6,
        generations=2,
        random_state=1,
        checkpoint=tmp_path / "b",
        initial_population=tmp_path / "a",
    )
    seeded = second.history[second.history["origin"] == "seeded"]
    assert len(seeded) == 6
    assert not set(seeded["id"]) & _fitted_ids(tmp_path / "b")
    # seeds go best first, ties in the order they were evaluated
    best = first.history.sort_values(["mean_score", "id"], ascending=[False, True]).iloc[0]
    assert tuple(seeded.iloc[0]["param_mask"]) == tuple(best["param_mask"])


def test_seeds_of_a_list_of_dicts_by_public_names_are_encoded_and_reused(tmp_path):
    # issue 14 (8): a list of dicts stores C as "C@0" / "C@1"; seeds and warm
    # starts give the public "C" and land in the dict that takes them
    def score(p):
        return -abs(np.log10(p["C"]) - 1) if "C" in p else -5.0

    space = [
        {"model": ["lr"], "C": Float(1e-4, 1e2, log=True)},
        {"model": ["svc"], "C": Float(1e-2, 1e3, log=True), "degree": Integer(2, 5)},
        {},
    ]
    seeds = [
        {"model": "svc", "C": 500.0, "degree": 3},
        {"model": "lr", "C": 0.001},
        {},
    ]
    first = evolve(
        score,
        space,
        population_size=6,
        generations=2,
        random_state=0,
        checkpoint=tmp_path / "a",
        initial_population=seeds,
    )
    seeded = first.history[first.history["origin"] == "seeded"]
    got = [
        {k[6:]: v for k, v in row.items() if k.startswith("param_") and v is not None}
        for row in seeded.to_dict("records")
    ]
    assert got == seeds
    second = evolve(
        score,
        space,
        population_size=6,
        generations=2,
        random_state=1,
        checkpoint=tmp_path / "b",
        initial_population=tmp_path / "a",
    )
    reused = second.history[second.history["origin"] == "seeded"]
    assert len(reused) == 6
    assert not set(reused["id"]) & _fitted_ids(tmp_path / "b")  # scores carried over
    with pytest.raises(ValueError, match=r"'initial_population'\[0\]: no dict .* every name"):
        evolve(score, space, initial_population=[{"C": 1.0, "gamma": 2.0}])
