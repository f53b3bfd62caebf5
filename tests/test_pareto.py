"""Several objectives: NSGA-II selection, the Pareto front, hypervolume (evotune/_pareto.py)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.tree import DecisionTreeClassifier

from evotune import CrossValScore, EvolutionarySearchCV, Float, Integer, evolve
from evotune._pareto import Objectives, fitness_values, hypervolume, knee_index
from evotune.report import load_run, write_plots

SPACE = {"max_depth": Integer(1, 20), "min_samples_leaf": Integer(1, 60)}


def n_leaves(model):
    return float(model.get_n_leaves())


OBJECTIVES = {"score": "maximize", "n_leaves": ("minimize", n_leaves)}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:900], y[:900]


def _objective(digits):
    return CrossValScore(DecisionTreeClassifier(random_state=0), *digits, cv=3)


@pytest.fixture(scope="module")
def front_run(digits):
    return evolve(
        _objective(digits),
        SPACE,
        population_size=10,
        generations=5,
        random_state=0,
        strategy="ga",
        objectives=OBJECTIVES,
    )


def _dominated(p, others):
    return bool(np.any(np.all(others >= p, axis=1) & np.any(others > p, axis=1)))


# ------------------------------------------------------------------- pieces
def test_hypervolume_of_known_fronts():
    ref = np.array([0.0, 0.0])
    assert hypervolume(np.array([[1.0, 1.0]]), ref) == 1.0
    assert hypervolume(np.array([[2.0, 1.0], [1.0, 2.0]]), ref) == 3.0
    # a dominated point adds nothing; points below the reference count for nothing
    assert hypervolume(np.array([[2.0, 1.0], [1.0, 2.0], [1.0, 1.0], [-1, 5]]), ref) == 3.0
    assert hypervolume(np.array([[1.0, 1.0, 1.0], [2.0, 0.5, 0.5]]), np.zeros(3)) == 1.25


@given(st.lists(st.tuples(st.floats(0, 10), st.floats(0, 10)), min_size=1, max_size=12))
def test_hypervolume_is_monotone_and_bounded(points):
    pts = np.array(points)
    ref = np.array([-1.0, -1.0])
    whole = hypervolume(pts, ref)
    assert hypervolume(pts[:-1], ref) <= whole + 1e-9
    box = (pts[:, 0].max() + 1) * (pts[:, 1].max() + 1)
    assert whole <= box + 1e-9


def test_knee_is_the_best_trade_off():
    front = np.array([[1.0, 0.0], [0.9, 0.8], [0.5, 0.9], [0.0, 1.0]])
    assert knee_index(front) == 1
    assert knee_index(front[[0, 3]]) == 0  # two points: the better primary


def test_fitness_values_put_nan_last_in_each_direction():
    assert fitness_values([math.nan, math.nan], (1.0, -1.0)) == (-math.inf, math.inf)
    assert fitness_values([0.5, 2.0], (1.0, -1.0)) == (0.5, 2.0)


@pytest.mark.parametrize(
    ("objectives", "message"),
    [
        ({"score": "maximize"}, "at least two"),
        ("score", "at least two"),
        ({"score": "maximize", "fit_time": "smaller"}, r"objectives\['fit_time'\] must be"),
        ({"score": "maximize", "leaves": "minimize"}, r"objectives\['leaves'\]: not an objective"),
        ({"score": "maximize", "fit_time": ("minimize", len)}, "cannot take the name"),
    ],
)
def test_bad_objectives_are_named(objectives, message):
    with pytest.raises(ValueError, match=message):
        Objectives.parse(objectives)


def test_objectives_need_the_ga_strategy():
    with pytest.raises(ValueError, match="leave 'strategy' at 'ga'"):
        evolve(
            lambda p: p["x"],
            {"x": Float(0, 1)},
            strategy="steady_state",
            objectives={"score": "maximize", "fit_time": "minimize"},
        )


def test_a_measure_needs_a_cross_val_score():
    with pytest.raises(ValueError, match="needs a CrossValScore"):
        evolve(lambda p: p["x"], {"x": Float(0, 1)}, objectives=OBJECTIVES)


# ---------------------------------------------------------------- the search
def test_the_front_is_exactly_the_non_dominated_evaluations(front_run):
    hist = front_run.history
    ok = hist[hist["status"] == "ok"]
    leaves = np.array(
        [
            np.mean([m["measure_n_leaves"] for m in e.metrics])
            for e in front_run.evaluations
            if e.status == "ok"
        ]
    )
    pts = np.column_stack([ok["mean_score"].to_numpy(), -leaves])
    expected = {int(i) for i, p in zip(ok["id"], pts) if not _dominated(p, pts)}
    front = front_run.pareto_front
    assert set(front["id"]) == expected
    assert len(front) >= 3
    # it trades one objective for the other: sorted by score, leaves fall too
    f = front.sort_values("objective_score")
    assert f["objective_n_leaves"].is_monotonic_increasing
    assert f["objective_score"].iloc[-1] == front_run.best_score


def test_the_logbook_records_front_size_and_a_growing_hypervolume(front_run):
    book = front_run.logbook
    assert {"front", "hypervolume"} <= set(book.columns)
    assert (book["hypervolume"].diff().dropna() >= -1e-12).all()
    assert book["hypervolume"].iloc[-1] > book["hypervolume"].iloc[0]
    assert book["front"].iloc[-1] == len(front_run.pareto_front)


def test_nsga2_beats_its_initial_front(front_run):
    # bred candidates enter the front, and it reaches both ends of the trade-off
    front = front_run.pareto_front
    assert (front["generation"] > 0).sum() >= len(front) // 2
    first = front_run.history[front_run.history["generation"] == 0]
    assert front["objective_score"].max() > first["mean_score"].max()
    assert front["objective_n_leaves"].min() <= 2


def test_same_front_at_n_jobs_1_and_2(digits, front_run):
    two = evolve(
        _objective(digits),
        SPACE,
        population_size=10,
        generations=5,
        random_state=0,
        strategy="ga",
        objectives=OBJECTIVES,
        n_jobs=2,
    )
    pd.testing.assert_frame_equal(
        two.pareto_front.drop(columns=["fit_time", "score_time"]),
        front_run.pareto_front.drop(columns=["fit_time", "score_time"]),
    )


def test_report_draws_the_front(digits, tmp_path):
    evolve(
        _objective(digits),
        SPACE,
        population_size=8,
        generations=3,
        random_state=0,
        strategy="ga",
        objectives={"score": "maximize", "fit_time": "minimize"},
        checkpoint=tmp_path / "r",
    )
    names = [p.name for p in write_plots(load_run(tmp_path / "r"))]
    assert names[-1] == "pareto.png"
    assert (tmp_path / "r" / "report" / "pareto.png").stat().st_size > 10_000


def test_search_cv_front_and_knee_refit(digits):
    search = EvolutionarySearchCV(
        DecisionTreeClassifier(random_state=0),
        SPACE,
        scoring=["accuracy", "balanced_accuracy"],
        refit="knee",
        objectives={"accuracy": "maximize", "n_leaves": ("minimize", n_leaves)},
        strategy="ga",
        population_size=8,
        generations=4,
        cv=3,
        random_state=0,
    ).fit(*digits)
    front = search.pareto_front_
    assert len(front) >= 3
    assert search.best_index_ in set(front["cv_results_index"])
    res = pd.DataFrame(search.cv_results_)
    knee = res.loc[search.best_index_, "mean_test_accuracy"]
    assert search.best_score_ == knee
    # the knee gives up accuracy for a much smaller tree
    assert knee < res["mean_test_accuracy"].max()
    assert hasattr(search, "best_estimator_")
    best = EvolutionarySearchCV(
        DecisionTreeClassifier(random_state=0),
        SPACE,
        scoring=["accuracy"],
        refit="accuracy",
        objectives={"accuracy": "maximize", "n_leaves": ("minimize", n_leaves)},
        strategy="ga",
        population_size=8,
        generations=4,
        cv=3,
        random_state=0,
    ).fit(*digits)
    assert best.best_score_ == pd.DataFrame(best.cv_results_)["mean_test_accuracy"].max()


SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.tree import DecisionTreeClassifier
    from evotune import CrossValScore, Integer, evolve

    calls = 0

    def n_leaves(model):
        global calls
        calls += 1
        if calls == int(os.environ.get("KILL_AT", "-1")):
            os.kill(os.getpid(), signal.SIGKILL)
        return float(model.get_n_leaves())

    if __name__ == "__main__":
        X, y = load_digits(return_X_y=True)
        obj = CrossValScore(DecisionTreeClassifier(random_state=0), X[:900], y[:900], cv=3)
        r = evolve(obj, {"max_depth": Integer(1, 20), "min_samples_leaf": Integer(1, 60)},
                   population_size=10, generations=5, random_state=0, checkpoint=sys.argv[1],
                   resume=True, strategy="ga",
                   objectives={"score": "maximize", "n_leaves": ("minimize", n_leaves)})
        r.pareto_front.drop(columns=["fit_time", "score_time"]).to_csv(sys.argv[2], index=False)
    """
)


@pytest.mark.slow  # kill-and-resume of a real process
def test_the_front_survives_kill_and_resume(tmp_path):
    script = tmp_path / "front.py"
    script.write_text(SCRIPT)

    def run(name, out, env=None):
        return subprocess.run(
            [sys.executable, str(script), str(tmp_path / name), str(tmp_path / out)],
            env={**__import__("os").environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert run("ref", "ref.csv").returncode == 0
    killed = run("run", "x.csv", {"KILL_AT": "70"})
    assert killed.returncode == -9
    lines = (tmp_path / "run" / "journal.jsonl").read_text().splitlines()
    assert sum(json.loads(line)["type"] == "fold" for line in lines) >= 60
    again = run("run", "run.csv")
    assert again.returncode == 0, again.stderr
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "run.csv"), pd.read_csv(tmp_path / "ref.csv")
    )


def test_several_objectives_without_a_strategy_run_nsga2():
    res = evolve(
        lambda p: p["x"],
        {"x": Float(0, 1)},
        population_size=4,
        generations=2,
        random_state=0,
        objectives={"score": "maximize", "fit_time": "minimize"},
    )
    assert res.n_evaluations == 8
    assert len(res.pareto_front) >= 1
    assert "hypervolume" in res.logbook.columns
