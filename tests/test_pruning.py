"""Reported progress and pruning (evotune.pruning): the rules, the worker side,
the evaluator's deterministic decisions, the journal and the settings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evotune import (
    Float,
    FoldResult,
    InvalidParameterError,
    MedianPruner,
    SuccessiveHalvingPruner,
    evolve,
    report_step,
)
from evotune._objective import BaseObjective
from evotune.pruning import Bounds, bounds_for, run_task

EPOCHS = 12
SPACE = {"q": Float(0.0, 1.0), "tau": Float(1.0, 6.0)}


def _curve(p, fold=0):
    """A learning curve that rises to a level set by ``q`` (and the fold)."""
    level = p["q"] * (1.0 - 0.05 * fold)
    return [level * (1.0 - math.exp(-(e + 1) / p["tau"])) for e in range(EPOCHS)]


def train(p):
    value = 0.0
    for epoch, value in enumerate(_curve(p)):
        report_step(epoch, value)
    return value


class Folds(BaseObjective):
    """Three folds, each a training that reports every epoch."""

    n_tasks = 3

    def run(self, params, task, seed):
        value = 0.0
        for epoch, value in enumerate(_curve(params, task)):
            report_step(epoch, value)
        return FoldResult(score=value)


KW = dict(population_size=8, generations=4, random_state=0)


def _steps(result):
    """Epochs trained in the whole run."""
    return sum(len(r) for r in (e.reports for e in result.evaluations) for r in r)


def _frame(result):
    cols = ["id", "generation", "param_q", "param_tau", "mean_score", "status", "error"]
    return result.history[cols].reset_index(drop=True)


# ----------------------------------------------------------------- report_step
def test_report_step_outside_a_run_does_nothing():
    assert report_step(0, 1.0) is None
    assert report_step(5, float("nan")) is None  # not even checked: nothing runs
    assert train({"q": 0.5, "tau": 2.0}) == pytest.approx(_curve({"q": 0.5, "tau": 2.0})[-1])


@pytest.mark.parametrize(
    "calls, message",
    [
        ([(0, 1.0), (1, float("nan"))], r"report_step\(step=1, value=nan\): the value must be"),
        ([(0, 1.0), (2, 1.0), (1, 1.0)], r"report_step\(step=1\): steps must increase.*step 2"),
        ([(-1, 1.0)], r"report_step\(step=-1\): the step must be an int >= 0"),
        ([(0, "high")], r"report_step\(step=0, value='high'\)"),
    ],
)
def test_a_bad_report_is_a_clear_error_naming_the_step(calls, message):
    def objective(p):
        if p["x"] < 0.5:
            for step, value in calls:
                report_step(step, value)
        return p["x"]

    with pytest.raises(ValueError, match=message):
        run_task(_Raising(objective), {"x": 0.1}, 0, 0)
    # in a run it is the candidate's failed row, not a crashed run
    with pytest.warns(UserWarning, match="report_step"):
        r = evolve(objective, {"x": Float(0, 1)}, population_size=8, generations=1, random_state=0)
    failed = r.history[r.history["param_x"] < 0.5]
    assert len(failed) and (failed["status"] == "failed").all()
    assert failed["error"].str.contains(message).all()
    assert (r.history.loc[r.history["param_x"] >= 0.5, "status"] == "ok").all()


class _Raising(BaseObjective):
    def __init__(self, fn):
        self.fn = fn

    def run(self, params, task, seed):
        return FoldResult(score=self.fn(params))


def test_run_task_collects_reports_and_prunes_on_its_bounds():
    result = run_task(Folds(), {"q": 0.5, "tau": 2.0}, 1, 0)
    assert [s for s, _ in result.reports] == list(range(EPOCHS))
    assert result.status == "ok"
    bounds = Bounds(1.0, {3: 0.9})
    pruned = run_task(Folds(), {"q": 0.5, "tau": 2.0}, 1, 0, bounds)
    assert pruned.status == "pruned" and len(pruned.reports) == 4
    assert pruned.score == pytest.approx(pruned.reports[-1][1])
    assert "at step 3" in pruned.error and "0.9" in pruned.error
    # minimizing: a value above the bound is worse
    low = run_task(Folds(), {"q": 0.5, "tau": 2.0}, 1, 0, Bounds(-1.0, {3: 0.1}))
    assert low.status == "pruned"


# ----------------------------------------------------------------- the rules
def test_median_pruner_bounds():
    rule = MedianPruner(n_warmup_steps=1, n_min_evaluations=2)
    curves = [{0: 0.1, 1: 0.2, 2: 0.3}, {0: 0.3, 1: 0.4}, {0: 0.9, 1: 0.9, 2: 0.9}]
    statuses = ["ok", "ok", "pruned"]  # only complete evaluations set the median
    assert rule.bounds(curves, statuses, 1.0) == {1: pytest.approx(0.3)}


@given(
    values=st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=30),
    eta=st.integers(2, 4),
    sign=st.sampled_from([1.0, -1.0]),
)
def test_successive_halving_lets_the_top_fraction_through(values, eta, sign):
    rule = SuccessiveHalvingPruner(min_resource=2, reduction_factor=eta)
    curves = [{2: v} for v in values]
    bounds = rule.bounds(curves, ["ok"] * len(values), sign)
    if len(values) < eta:
        assert bounds == {}
        return
    through = [v for v in values if sign * (v - bounds[2]) >= 0]
    assert len(through) >= max(1, len(values) // eta)
    assert sign * (max(values, key=lambda v: sign * v) - bounds[2]) >= 0


def test_rungs_are_geometric():
    assert SuccessiveHalvingPruner(1, 3, 0).rungs(30) == [1, 3, 9, 27]
    assert SuccessiveHalvingPruner(2, 2, 1).rungs(20) == [4, 8, 16]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MedianPruner(n_min_evaluations=0), "'n_min_evaluations' must be >= 1, got 0"),
        (lambda: MedianPruner(n_warmup_steps=-1), "'n_warmup_steps' must be >= 0, got -1"),
        (
            lambda: SuccessiveHalvingPruner(reduction_factor=1),
            "'reduction_factor' must be >= 2, got 1",
        ),
        (
            lambda: SuccessiveHalvingPruner(min_resource=0.5),
            r"'min_resource' must be an integer, got 0\.5",
        ),
    ],
)
def test_bad_rule_parameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_prune_must_be_a_rule(tmp_path):
    with pytest.raises(InvalidParameterError, match="'prune' must be None or a pruning rule"):
        evolve(train, SPACE, prune="median", checkpoint=tmp_path / "run", **KW)
    assert not (tmp_path / "run").exists()


def test_no_bounds_before_enough_evaluations():
    assert bounds_for(MedianPruner(), [], "maximize", 3) is None
    assert bounds_for(None, [object()], "maximize", 3) is None


# ------------------------------------------------------------------ in a run
def test_median_pruning_trains_fewer_epochs_and_keeps_the_best():
    full = evolve(train, SPACE, **KW)
    pruned = evolve(train, SPACE, prune=MedianPruner(n_min_evaluations=3), **KW)
    assert _steps(pruned) < 0.8 * _steps(full)
    history = pruned.history
    assert "pruned" in set(history["status"])
    assert (history.loc[history["generation"] == 0, "status"] == "ok").all()
    assert pruned.best_score >= full.best_score - 0.05
    # a pruned row is never the best, even where its partial score is higher
    assert pruned.best_score == history.loc[history["status"] == "ok", "mean_score"].max()
    assert pruned.best_params in [
        {"q": q, "tau": t}
        for q, t, s in zip(history["param_q"], history["param_tau"], history["status"])
        if s == "ok"
    ]
    row = history[history["status"] == "pruned"].iloc[0]
    assert "pruned: at step" in row["error"]


def test_successive_halving_prunes_at_rungs_only():
    r = evolve(
        train, SPACE, prune=SuccessiveHalvingPruner(min_resource=1, reduction_factor=3), **KW
    )
    pruned = [e for e in r.evaluations if e.status == "pruned"]
    assert pruned
    assert {e.reports[0][-1][0] for e in pruned} <= {1, 3, 9}


def test_minimizing_prunes_the_high_curves():
    r = evolve(
        _min_train,
        SPACE,
        direction="minimize",
        prune=MedianPruner(n_min_evaluations=3),
        **KW,
    )
    h = r.history
    assert "pruned" in set(h["status"])
    assert r.best_score == h.loc[h["status"] == "ok", "mean_score"].min()


def _min_train(p):
    value = 0.0
    for epoch, value in enumerate(_curve(p)):
        report_step(epoch, 1.0 - value)
    return 1.0 - value


def test_the_lowest_pruned_fold_decides_and_later_folds_count_for_nothing():
    r = evolve(Folds(), SPACE, prune=MedianPruner(n_min_evaluations=3), **KW)
    pruned = [e for e in r.evaluations if e.status == "pruned"]
    assert pruned
    for e in pruned:
        # the deciding fold: the first whose training stopped before its end
        k = next(i for i, rep in enumerate(e.reports) if len(rep) < EPOCHS)
        assert all(len(e.reports[i]) == EPOCHS for i in range(k))  # ran to their end
        assert all(math.isnan(s) for s in e.fold_scores[k + 1 :])
        assert e.fold_scores[k] == pytest.approx(max(v for _, v in e.reports[k]))
        assert e.mean_score == pytest.approx(np.mean(e.fold_scores[: k + 1]))


@pytest.mark.slow
def test_the_same_history_at_n_jobs_1_and_2():
    rule = MedianPruner(n_min_evaluations=3)
    one = evolve(Folds(), SPACE, prune=rule, n_jobs=1, **KW)
    two = evolve(Folds(), SPACE, prune=rule, n_jobs=2, **KW)
    assert "pruned" in set(one.history["status"])
    pd.testing.assert_frame_equal(_frame(one), _frame(two))
    assert [e.reports for e in one.evaluations] == [e.reports for e in two.evaluations]


def test_reports_are_journaled_and_a_resume_decides_the_same(tmp_path):
    rule = MedianPruner(n_min_evaluations=3)
    whole = evolve(Folds(), SPACE, prune=rule, **KW)

    class Stop:
        n = 0

        def on_evaluation(self, evaluation):
            Stop.n += 1
            if Stop.n == 13:  # in the middle of generation 1
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evolve(Folds(), SPACE, prune=rule, checkpoint=tmp_path / "run", callbacks=[Stop()], **KW)
    text = (tmp_path / "run" / "journal.jsonl").read_text()
    assert '"reports": [[0,' in text or '"reports":[[0,' in text
    resumed = evolve(Folds(), SPACE, prune=rule, checkpoint=tmp_path / "run", resume=True, **KW)
    pd.testing.assert_frame_equal(_frame(resumed), _frame(whole))
    assert [e.reports for e in resumed.evaluations] == [e.reports for e in whole.evaluations]


KILLED = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from test_pruning import KW, SPACE, Folds
from evotune import MedianPruner, evolve


class Killer:
    n = 0

    def on_evaluation(self, evaluation):
        Killer.n += 1
        if Killer.n == 13:  # in the middle of generation 1, where pruning starts
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    evolve(Folds(), SPACE, prune=MedianPruner(n_min_evaluations=3), n_jobs=2,
           checkpoint=sys.argv[1], callbacks=[Killer()], **KW)
"""


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_on_dask_with_the_same_decisions(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    rule = MedianPruner(n_min_evaluations=3)
    whole = evolve(Folds(), SPACE, prune=rule, **KW)
    script = tmp_path / "killed.py"
    script.write_text(KILLED.format(tests=str(Path(__file__).parent)))
    run = tmp_path / "run"
    first = subprocess.run(
        [sys.executable, str(script), str(run)], capture_output=True, text=True, timeout=300
    )
    assert first.returncode == -9, first.stderr
    resumed = evolve(
        Folds(), SPACE, prune=rule, checkpoint=run, resume=True, backend="dask", n_jobs=2, **KW
    )
    assert "pruned" in set(whole.history["status"])
    pd.testing.assert_frame_equal(_frame(resumed), _frame(whole))
    assert [e.reports for e in resumed.evaluations] == [e.reports for e in whole.evaluations]


def test_a_resume_with_another_rule_is_refused_before_any_work(tmp_path):
    from evotune import JournalError

    evolve(train, SPACE, prune=MedianPruner(), checkpoint=tmp_path / "run", **KW)
    before = (tmp_path / "run" / "journal.jsonl").read_bytes()
    with pytest.raises(JournalError, match=r"setting 'prune' differs.*MedianPruner"):
        evolve(train, SPACE, prune=None, checkpoint=tmp_path / "run", resume=True, **KW)
    assert (tmp_path / "run" / "journal.jsonl").read_bytes() == before


# ------------------------------------------------- CrossValScore, step by step
def test_cross_val_score_trains_step_by_step_and_is_pruned():
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from evotune import CrossValScore

    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16.0
    y = y[:600]
    mlp = CrossValScore(MLPClassifier(random_state=0), X, y, cv=3, max_steps=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = run_task(mlp, {"hidden_layer_sizes": (16,)}, 0, 0)
        assert [s for s, _ in result.reports] == [0, 1, 2, 3, 4]
        assert result.score == pytest.approx(result.reports[-1][1])  # the last step's score
        pruned = run_task(mlp, {"hidden_layer_sizes": (16,)}, 0, 0, Bounds(1.0, {1: 0.999}))
    assert pruned.status == "pruned" and len(pruned.reports) == 2
    # warm start: the forest grows in equal parts up to its n_estimators
    forest = CrossValScore(
        RandomForestClassifier(n_estimators=9, random_state=0), X, y, cv=3, max_steps=3
    )
    grown = run_task(forest, {}, 0, 0)
    assert [s for s, _ in grown.reports] == [0, 1, 2]
    whole = CrossValScore(RandomForestClassifier(n_estimators=9, random_state=0), X, y, cv=3)
    assert grown.score == pytest.approx(whole.run({}, 0, 0).score)
    assert forest.fingerprint()["max_steps"] == 3 and "max_steps" not in whole.fingerprint()


@pytest.mark.parametrize(
    "make, message",
    [
        ("svc", "'max_steps' needs an estimator with partial_fit.*SVC has neither"),
        ("zero", "'max_steps' must be >= 1, got 0"),
    ],
)
def test_max_steps_is_checked_when_the_objective_is_made(make, message):
    from sklearn.datasets import load_iris
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC

    from evotune import CrossValScore

    X, y = load_iris(return_X_y=True)
    estimator, steps = (SVC(), 3) if make == "svc" else (MLPClassifier(), 0)
    with pytest.raises(ValueError, match=message):
        CrossValScore(estimator, X, y, max_steps=steps)


def test_evolutionary_search_cv_prunes_an_mlp_without_user_code():
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from evotune import EvolutionarySearchCV

    X, y = load_digits(return_X_y=True)
    search = EvolutionarySearchCV(
        MLPClassifier(hidden_layer_sizes=(16,), random_state=0),
        {"learning_rate_init": Float(1e-5, 1e-1, log=True), "alpha": Float(1e-6, 1e-1, log=True)},
        cv=3,
        population_size=6,
        generations=3,
        max_steps=8,
        prune=MedianPruner(n_min_evaluations=3),
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X[:450] / 16.0, y[:450])
    status = search.history_["status"]
    assert "pruned" in set(status) and not (status.iloc[:6] == "pruned").any()
    results = search.cv_results_
    pruned = np.asarray(search.history_["status"] == "pruned")
    # ranked after every complete candidate; the best is a complete one
    assert results["rank_test_score"][pruned].min() > results["rank_test_score"][~pruned].max()
    assert search.history_["status"].iloc[search.best_index_] == "ok"
    with pytest.raises(ValueError, match="max_steps"):
        EvolutionarySearchCV(MLPClassifier(), {}, max_steps=0).fit(X[:50], y[:50])


def test_the_report_counts_pruned_rows_as_stopped_early_not_failed(tmp_path):
    from evotune.report import format_leaderboard, leaderboard_json, load_run

    evolve(train, SPACE, prune=MedianPruner(n_min_evaluations=3), checkpoint=tmp_path / "r", **KW)
    run = load_run(tmp_path / "r")
    n_pruned = sum(ev.get("status") == "pruned" for ev in run.evaluations)
    assert n_pruned
    text = format_leaderboard(run)
    assert f"0 failed, {n_pruned} stopped early (raced or pruned)" in text
    assert "failures:" not in text
    data = leaderboard_json(run)
    assert (data["n_failed"], data["n_stopped_early"]) == (0, n_pruned)


def test_the_last_step_is_a_history_column_and_the_report_draws_the_curves(tmp_path):
    import csv

    from PIL import Image

    from evotune.report import load_run, write_plots

    r = evolve(
        train, SPACE, prune=MedianPruner(n_min_evaluations=3), checkpoint=tmp_path / "r", **KW
    )
    last = r.history["last_step"]
    assert str(last.dtype) == "Int64"
    ok = r.history["status"] == "ok"
    assert (last[ok] == EPOCHS - 1).all() and (last[~ok] < EPOCHS - 1).all()
    with open(tmp_path / "r" / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["last_step"]) for row in rows] == list(last)
    written = write_plots(load_run(tmp_path / "r"))
    png = tmp_path / "r" / "report" / "intermediate.png"
    assert png in written
    pixels = np.asarray(Image.open(png).convert("L"))
    assert pixels.std() > 5  # drawn, not blank
    # a run whose objective reports nothing has neither
    plain = evolve(lambda p: p["q"], SPACE, checkpoint=tmp_path / "plain", **KW)
    assert "last_step" not in plain.history
    assert "last_step" not in (tmp_path / "plain" / "history.csv").read_text().splitlines()[0]
    assert not any(p.name == "intermediate.png" for p in write_plots(load_run(tmp_path / "plain")))
