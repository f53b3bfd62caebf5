"""strategy="hyperband": the schedule, the rungs' budgets stopped in the
worker, promotion, breeding, the same history everywhere, and bad input."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evotune import (
    Float,
    FoldResult,
    InvalidParameterError,
    MedianPruner,
    evolve,
    report_step,
)
from evotune._objective import BaseObjective
from evotune.pruning import Bounds, run_task
from evotune.strategies import Hyperband
from evotune.strategies.hyperband import schedule

EPOCHS = 9
SPACE = {"q": Float(0.0, 1.0), "tau": Float(1.0, 6.0)}
KW = dict(population_size=9, generations=9, random_state=0)


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
    """Two folds, each a training that reports every epoch."""

    n_tasks = 2

    def run(self, params, task, seed):
        value = 0.0
        for epoch, value in enumerate(_curve(params, task)):
            report_step(epoch, value)
        return FoldResult(score=value)


def _frame(result):
    cols = ["id", "generation", "origin", "param_q", "param_tau", "mean_score", "status"]
    return result.history[cols].reset_index(drop=True)


# ----------------------------------------------------------------- schedule
def test_the_schedule_is_hyperbands_for_81_steps():
    # the table of Li et al. (2018) for R = 81, eta = 3
    brackets = schedule(81, 1, 3, 81)
    assert [[n for n, _ in b] for b in brackets] == [
        [81, 27, 9, 3, 1],
        [34, 11, 3, 1],
        [15, 5, 1],
        [8, 2],
        [5],
    ]
    assert [[r for _, r in b] for b in brackets] == [
        [1, 3, 9, 27, 81],
        [3, 9, 27, 81],
        [9, 27, 81],
        [27, 81],
        [81],
    ]


@given(st.integers(1, 200), st.integers(1, 20), st.integers(2, 5), st.integers(1, 60))
def test_every_bracket_narrows_to_a_full_training(max_resource, min_resource, eta, size):
    if min_resource > max_resource:
        return
    for bracket in schedule(max_resource, min_resource, eta, size):
        sizes = [n for n, _ in bracket]
        budgets = [r for _, r in bracket]
        assert budgets[-1] == max_resource
        assert all(min_resource <= r <= max_resource for r in budgets)
        assert budgets == sorted(budgets)
        assert sizes == sorted(sizes, reverse=True) and min(sizes) >= 1


# ------------------------------------------------------------- worker side
def test_a_budget_stops_the_fold_after_that_many_reports_with_its_last_value():
    class Obj(BaseObjective):
        n_tasks = 1

        def run(self, params, task, seed):
            for epoch in range(10):
                report_step(epoch, float(epoch))
            return FoldResult(score=99.0)

    stopped = run_task(Obj(), {}, 0, 0, Bounds(1.0, {}, budget=4))
    assert (stopped.status, stopped.score) == ("ok", 3.0)
    assert [s for s, _ in stopped.reports] == [0, 1, 2, 3]
    assert run_task(Obj(), {}, 0, 0, Bounds(1.0, {})).score == 99.0


# -------------------------------------------------------------------- runs
def test_rungs_train_for_their_budgets_and_promote_the_best():
    r = evolve(train, SPACE, strategy=Hyperband(max_resource=EPOCHS), **KW)
    evs = r.evaluations
    budgets = r.logbook["budget"].tolist()
    assert budgets[:3] == [1, 3, 9]  # bracket s_max: budgets 1, 3, 9
    for e in evs:
        budget = budgets[e.generation]
        assert len(e.reports[0]) == budget
        assert e.status == ("ok" if budget == EPOCHS else "pruned")
    # the first rung is sampled, the second its best third, promoted as they were
    first = [e for e in evs if e.generation == 0]
    second = [e for e in evs if e.generation == 1]
    assert len(first) == 9 and len(second) == 3
    top = sorted(first, key=lambda e: -e.mean_score)[:3]
    assert [e.params for e in second] == [e.params for e in top]
    assert set(r.history["origin"][r.history["generation"] == 1]) == {"promoted"}
    # later brackets are bred from what the rungs found
    assert {"crossover", "mutation"} & set(r.history["origin"])
    # the best is a full training, and it is the best full training
    full = [e for e in evs if e.status == "ok"]
    assert r.best_score == max(e.mean_score for e in full)


def test_hyperband_trains_fewer_steps_than_full_trainings_and_keeps_a_good_best():
    def steps(result):
        return sum(len(rep) for e in result.evaluations for rep in e.reports)

    ga = evolve(train, SPACE, strategy="ga", population_size=9, generations=6, random_state=0)
    hb = evolve(
        train,
        SPACE,
        strategy=Hyperband(max_resource=EPOCHS),
        population_size=9,
        generations=100,
        max_evaluations=54,
        random_state=0,
    )
    assert steps(hb) * 2 < steps(ga)
    assert hb.best_score > 0.9 * ga.best_score


def test_a_minimizing_run_promotes_the_lowest():
    def loss(p):
        value = 0.0
        for epoch, value in enumerate(_curve(p)):
            report_step(epoch, -value)
        return -value

    r = evolve(loss, SPACE, direction="minimize", strategy=Hyperband(max_resource=EPOCHS), **KW)
    first = [e for e in r.evaluations if e.generation == 0]
    second = [e for e in r.evaluations if e.generation == 1]
    assert [e.params for e in second] == [
        e.params for e in sorted(first, key=lambda e: e.mean_score)[:3]
    ]


@pytest.mark.slow
def test_the_same_history_at_n_jobs_1_and_2_and_on_dask():
    hb = Hyperband(max_resource=EPOCHS)
    one = evolve(Folds(), SPACE, strategy=hb, n_jobs=1, **KW)
    two = evolve(Folds(), SPACE, strategy=hb, n_jobs=2, **KW)
    dask = evolve(Folds(), SPACE, strategy=hb, n_jobs=2, backend="dask", **KW)
    for other in (two, dask):
        pd.testing.assert_frame_equal(_frame(one), _frame(other))
        assert [e.reports for e in one.evaluations] == [e.reports for e in other.evaluations]


KILLED = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from test_strategy_hyperband import EPOCHS, KW, SPACE, Folds
from evotune import evolve
from evotune.strategies import Hyperband


class Killer:
    n = 0

    def on_evaluation(self, evaluation):
        Killer.n += 1
        if Killer.n == 14:  # in the middle of the second bracket's first rung
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    evolve(Folds(), SPACE, strategy=Hyperband(max_resource=EPOCHS), n_jobs=2,
           checkpoint=sys.argv[1], callbacks=[Killer()], **KW)
"""


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_with_the_same_history(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    hb = Hyperband(max_resource=EPOCHS)
    whole = evolve(Folds(), SPACE, strategy=hb, **KW)
    script = tmp_path / "killed.py"
    script.write_text(KILLED.format(tests=str(Path(__file__).parent)))
    run = tmp_path / "run"
    first = subprocess.run(
        [sys.executable, str(script), str(run)], capture_output=True, text=True, timeout=300
    )
    assert first.returncode == -9, first.stderr
    resumed = evolve(Folds(), SPACE, strategy=hb, checkpoint=run, resume=True, n_jobs=2, **KW)
    pd.testing.assert_frame_equal(_frame(resumed), _frame(whole))
    assert [e.reports for e in resumed.evaluations] == [e.reports for e in whole.evaluations]


def test_a_resume_in_process_continues_exactly(tmp_path):
    hb = Hyperband(max_resource=EPOCHS)
    whole = evolve(Folds(), SPACE, strategy=hb, **KW)

    class Stop:
        n = 0

        def on_evaluation(self, evaluation):
            Stop.n += 1
            if Stop.n == 14:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evolve(Folds(), SPACE, strategy=hb, checkpoint=tmp_path / "r", callbacks=[Stop()], **KW)
    resumed = evolve(Folds(), SPACE, strategy=hb, checkpoint=tmp_path / "r", resume=True, **KW)
    pd.testing.assert_frame_equal(_frame(resumed), _frame(whole))


def test_the_search_cv_takes_max_resource_from_max_steps():
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from evotune import EvolutionarySearchCV

    X, y = load_digits(return_X_y=True)
    search = EvolutionarySearchCV(
        MLPClassifier(hidden_layer_sizes=(16,), random_state=0),
        {"learning_rate_init": Float(1e-4, 1e-1, log=True)},
        cv=2,
        population_size=9,
        generations=4,
        max_steps=9,
        strategy="hyperband",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X[:300] / 16.0, y[:300])
    status = search.history_["status"]
    assert list(status.iloc[:9]) == ["pruned"] * 9  # the first rung: 1 step of 9
    assert status.iloc[search.best_index_] == "ok"


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Hyperband(max_resource=0), "max_resource"),
        (lambda: Hyperband(max_resource=9, reduction_factor=1), "reduction_factor"),
        (lambda: Hyperband(max_resource=9, min_resource=0), "min_resource"),
        (lambda: Hyperband(max_resource=9, crossover_prob=2.0), "crossover_prob"),
    ],
)
def test_bad_parameters_are_named(make, message):
    with pytest.raises((InvalidParameterError, ValueError, TypeError), match=message):
        make()


def test_a_min_resource_above_max_resource_is_refused_before_any_work():
    calls = []
    with pytest.raises(InvalidParameterError, match="min_resource"):
        evolve(
            lambda p: calls.append(1) or 0.0,
            SPACE,
            strategy=Hyperband(max_resource=3, min_resource=5),
            **KW,
        )
    assert not calls


def test_a_plain_callable_needs_max_resource(tmp_path):
    with pytest.raises(InvalidParameterError, match=r"Hyperband\(max_resource=N\)"):
        evolve(train, SPACE, strategy="hyperband", checkpoint=tmp_path / "run", **KW)
    assert not (tmp_path / "run").exists()


def test_a_pruning_rule_is_refused_with_hyperband():
    with pytest.raises(InvalidParameterError, match="leave 'prune' at None"):
        evolve(train, SPACE, strategy=Hyperband(max_resource=9), prune=MedianPruner(), **KW)


def test_an_objective_that_reports_nothing_is_a_clear_error():
    with pytest.raises(InvalidParameterError, match="report_step"):
        evolve(lambda p: p["q"], SPACE, strategy=Hyperband(max_resource=9), **KW)


def test_several_objectives_are_refused():
    with pytest.raises(InvalidParameterError, match="NSGA-II"):
        evolve(
            train,
            SPACE,
            objectives={"score": "maximize", "fit_time": "minimize"},
            strategy=Hyperband(max_resource=9),
            **KW,
        )


def test_ask_and_tell_give_each_candidate_its_budget():
    from evotune import Evolution

    evo = Evolution(SPACE, strategy=Hyperband(max_resource=9), population_size=9, random_state=0)
    asked = evo.ask()
    assert {c.budget for c in asked} == {1}
    evo.tell([evo.evaluation_of(c, c.params["q"]) for c in asked])
    promoted = evo.ask()
    assert {c.budget for c in promoted} == {3} and len(promoted) == 3
    best = max(asked, key=lambda c: c.params["q"])
    assert best.params in [c.params for c in promoted]


# ---------------------------------------------------- a Trainable's checkpoints
#: step() calls made in this process (the serial backend)
CALLS: list[int] = []


class Segments:
    """A Trainable: each step() trains one more epoch of the toy curve."""

    def setup(self, params, seed):
        self.params, self.t = params, 0

    def step(self):
        self.t += 1
        CALLS.append(1)
        return _curve(self.params)[self.t - 1]

    def save_checkpoint(self, path):
        with open(path, "w") as f:
            f.write(str(self.t))

    def load_checkpoint(self, path):
        with open(path) as f:
            self.t = int(f.read())


def test_a_trainable_s_promoted_candidates_continue_from_their_checkpoints(tmp_path):
    CALLS.clear()
    hb = Hyperband(max_resource=EPOCHS)
    r = evolve(Segments, SPACE, strategy=hb, checkpoint=tmp_path / "run", **KW)
    budgets = list(r.logbook["budget"])
    expected_calls = 0
    for e in r.evaluations:
        budget = budgets[e.generation]
        # the score of a training continued to its budget is that of one trained to it
        assert e.mean_score == pytest.approx(_curve(e.params)[budget - 1])
        assert e.status == ("ok" if budget == EPOCHS else "pruned")
        start = budgets[e.generation - 1] if e.origin == "promoted" else 0
        expected_calls += budget - start
    assert len(CALLS) == expected_calls
    assert expected_calls < sum(budgets[e.generation] for e in r.evaluations)  # no retraining
    left = list((tmp_path / "run" / "checkpoints").iterdir())
    assert len(left) <= KW["population_size"]
    # without checkpoints the same search retrains its promoted candidates: same history
    again = evolve(train, SPACE, strategy=hb, **KW)
    pd.testing.assert_frame_equal(_frame(r), _frame(again))


def test_a_trainable_needs_max_resource_with_hyperband():
    with pytest.raises(InvalidParameterError, match=r"Hyperband\(max_resource=N\)"):
        evolve(Segments, SPACE, strategy="hyperband", **KW)


@pytest.mark.slow
def test_a_trainable_s_history_is_the_same_at_n_jobs_2_and_after_a_resume(tmp_path):
    hb = Hyperband(max_resource=EPOCHS)
    one = evolve(Segments, SPACE, strategy=hb, **KW)
    two = evolve(Segments, SPACE, strategy=hb, n_jobs=2, **KW)
    pd.testing.assert_frame_equal(_frame(one), _frame(two))

    class Stop:
        n = 0

        def on_evaluation(self, evaluation):
            Stop.n += 1
            if Stop.n == 14:
                raise KeyboardInterrupt

    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        evolve(Segments, SPACE, strategy=hb, checkpoint=run, callbacks=[Stop()], **KW)
    resumed = evolve(Segments, SPACE, strategy=hb, checkpoint=run, resume=True, n_jobs=2, **KW)
    pd.testing.assert_frame_equal(_frame(resumed), _frame(one))


def test_a_resume_with_other_budgets_is_refused_before_any_work(tmp_path):
    from evotune import JournalError

    evolve(train, SPACE, strategy=Hyperband(max_resource=EPOCHS), checkpoint=tmp_path / "r", **KW)
    before = (tmp_path / "r" / "journal.jsonl").read_bytes()
    other = Hyperband(max_resource=EPOCHS, reduction_factor=2)
    with pytest.raises(JournalError, match=r"setting 'strategy_params' differs.*reduction_factor"):
        evolve(train, SPACE, strategy=other, checkpoint=tmp_path / "r", resume=True, **KW)
    assert (tmp_path / "r" / "journal.jsonl").read_bytes() == before
