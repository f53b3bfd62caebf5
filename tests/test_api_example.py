"""design.md's public API example, and the issue's "Done when" check."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from evotune import Categorical, CrossValScore, Float, Integer, Space, evolve

TIMES = ["fit_time", "score_time"]


def test_design_api_example_runs_as_written():
    # a small binary problem ("f1" needs two classes), small budget, cv=3
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)

    space = Space(
        {
            "C": Float(1e-3, 1e3, log=True),
            "kernel": Categorical(["rbf", "poly"]),
            "degree": Integer(2, 5, when={"kernel": "poly"}),
        }
    )
    result = evolve(
        CrossValScore(SVC(), X, y, cv=3, scoring="f1"),
        space,
        population_size=6,
        generations=2,
        n_jobs=-1,
        random_state=0,
    )
    result.best_params, result.best_score, result.hall_of_fame, result.history  # noqa: B018

    assert isinstance(result.best_params, dict)
    assert set(result.best_params) <= {"C", "kernel", "degree"}
    assert ("degree" in result.best_params) == (result.best_params["kernel"] == "poly")
    assert 0.0 < result.best_score <= 1.0
    assert isinstance(result.hall_of_fame, pd.DataFrame) and len(result.hall_of_fame) > 0
    assert isinstance(result.history, pd.DataFrame)
    assert 6 <= len(result.history) <= 12
    assert (result.history["status"] == "ok").all()
    assert {"split0_score", "split1_score", "split2_score"} <= set(result.history.columns)
    assert result.best_score == result.history["mean_score"].max()


def _breast_cancer_run():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    space = {"svc__C": Float(1e-3, 1e3, log=True), "svc__gamma": Float(1e-5, 1e1, log=True)}
    return evolve(
        CrossValScore(pipe, X, y, cv=3, scoring="accuracy"),
        space,
        population_size=12,
        generations=6,
        random_state=0,
    )


@pytest.fixture(scope="module")
def two_runs():
    return _breast_cancer_run(), _breast_cancer_run()


def test_done_when_best_accuracy(two_runs):
    res, _ = two_runs
    assert res.best_score >= 0.97, res.best_params
    assert 1e-3 <= res.best_params["svc__C"] <= 1e3
    assert 1e-5 <= res.best_params["svc__gamma"] <= 1e1
    assert len(res.history) <= 12 * 6
    assert len(res.logbook) == 6
    assert (res.history["status"] == "ok").all()
    assert all(math.isfinite(s) for s in res.history["mean_score"])


def test_done_when_no_duplicate_rows(two_runs):
    res, _ = two_runs
    h = res.history
    assert not h[["param_svc__C", "param_svc__gamma"]].duplicated().any()
    assert not h.drop(columns=["id", *TIMES]).duplicated().any()
    assert h["id"].is_unique


def test_done_when_same_history_twice(two_runs):
    a, b = two_runs
    pd.testing.assert_frame_equal(a.history.drop(columns=TIMES), b.history.drop(columns=TIMES))
    assert a.best_params == b.best_params
    assert a.best_score == b.best_score
