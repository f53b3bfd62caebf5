"""The asynchronous steady-state strategy (evotune/_steady.py)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _runs import SPACE, comparable, mixed, run_script, write_script

from evotune import AllFailedError, Categorical, Evolution, Float, evolve


def slow_mixed(p):
    # fit times that vary by an order of magnitude across candidates
    time.sleep(0.002 + 0.02 * (p["n"] % 5 == 0))
    return mixed(p)


def drive(evo: Evolution, budget: int, order: np.random.Generator | None) -> list:
    """Ask/tell by hand: tell pending candidates one at a time, in an order
    drawn from ``order`` (None: in the order asked)."""
    pending = []
    asked = 0
    max_pending = 0
    while True:
        fresh = evo.ask(limit=budget - asked)
        asked += len(fresh)
        pending += fresh
        max_pending = max(max_pending, len(pending))
        if not pending:
            break
        k = 0 if order is None else int(order.integers(0, len(pending)))
        c = pending.pop(k)
        evo.tell([evo.evaluation_of(c, mixed(c.params))])
    return [(e.candidate_id, e.key, e.mean_score) for e in evo.evaluations], max_pending


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_order_results_arrive_in_does_not_change_the_history(seed):
    def run(order):
        evo = Evolution(SPACE, population_size=8, strategy="steady_state", random_state=seed)
        return drive(evo, 60, order)[0]

    in_order = run(None)
    assert len(in_order) == 60
    for k in range(3):
        assert run(np.random.default_rng(100 + k)) == in_order


def test_at_most_in_flight_children_are_pending_once_breeding_starts():
    evo = Evolution(SPACE, population_size=8, strategy="steady_state", in_flight=3, random_state=0)
    first = evo.ask()
    assert len(first) == 8  # the initial population is asked at once
    pending = list(first)
    asked = len(first)
    peak_after_start = 0
    while asked < 50:
        c = pending.pop(0)
        evo.tell([evo.evaluation_of(c, mixed(c.params))])
        fresh = evo.ask(limit=50 - asked)
        asked += len(fresh)
        pending += fresh
        if asked > 8:
            peak_after_start = max(peak_after_start, len(pending))
    assert peak_after_start == 3


def test_same_history_at_n_jobs_1_and_2():
    kw = dict(population_size=8, generations=5, strategy="steady_state", random_state=3)
    one = evolve(slow_mixed, SPACE, n_jobs=1, **kw)
    two = evolve(slow_mixed, SPACE, n_jobs=2, **kw)
    assert comparable(one.history).equals(comparable(two.history))
    assert one.best_params == two.best_params
    assert len(one.history) == 40
    assert len(one.logbook) == 5


def test_steady_state_improves_on_its_initial_population():
    res = evolve(
        mixed, SPACE, population_size=10, generations=12, strategy="steady_state", random_state=0
    )
    first = res.history.loc[res.history["generation"] == 0, "mean_score"].max()
    assert res.best_score > first
    assert res.best_score > -0.5  # the optimum is 0.5
    params = res.history.filter(like="param_").astype(str).agg("|".join, axis=1)
    assert params.nunique() == len(res.history)  # no duplicates


def _is_slow(p):
    return p["slow"] == "yes" and p["x"] == 0.5  # only the seeded candidate


def _sleepy(p):
    time.sleep(1.5 if _is_slow(p) else 0.03)
    return 0.0 if _is_slow(p) else p["x"]


def _done_while_slow_ran(run_dir: Path) -> int:
    """Tasks that finished while the slow candidate's fit was running."""
    records = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    folds = [r for r in records if r["type"] == "fold"]
    slow = next(r["result"] for r in folds if r["candidate"] == 0)  # the seed
    assert slow["fit_time"] >= 1.4
    return sum(
        1
        for r in folds
        if r["candidate"] != 0 and slow["started"] < r["result"]["finished"] < slow["finished"]
    )


def test_workers_go_on_while_one_candidate_runs_long(tmp_path):
    # one slow candidate opens the initial population: a generational run
    # leaves the other worker idle once the other 3 of generation 0 are done
    space = {"slow": Categorical(["no", "yes"]), "x": Float(0, 1)}
    kw = dict(
        population_size=4,
        generations=6,
        n_jobs=2,
        random_state=0,
        initial_population=[{"slow": "yes", "x": 0.5}],
    )
    evolve(_sleepy, space, strategy="ga", checkpoint=tmp_path / "ga", **kw)
    res = evolve(
        _sleepy, space, strategy="steady_state", in_flight=12, checkpoint=tmp_path / "steady", **kw
    )
    assert res.history.loc[0, "param_slow"] == "yes"
    assert _done_while_slow_ran(tmp_path / "ga") <= 3
    assert _done_while_slow_ran(tmp_path / "steady") >= 8


def test_a_stop_drains_what_is_in_flight_and_is_the_same_at_any_n_jobs():
    def stop_after_two(state):
        return state.generation == 1

    kw = dict(
        population_size=6,
        generations=10,
        strategy="steady_state",
        random_state=1,
        callbacks=[stop_after_two],
    )
    one = evolve(slow_mixed, SPACE, n_jobs=1, **kw)
    two = evolve(slow_mixed, SPACE, n_jobs=2, **kw)
    assert one.stop_reason == two.stop_reason == "callback"
    assert comparable(one.history).equals(comparable(two.history))
    # the candidates in flight at the stop were evaluated and kept
    assert len(one.history) > 12


def test_max_evaluations_is_exact():
    res = evolve(
        mixed,
        SPACE,
        population_size=6,
        generations=10,
        max_evaluations=23,
        strategy="steady_state",
        random_state=0,
    )
    assert len(res.history) == 23
    assert res.stop_reason == "max_evaluations"
    assert len(res.logbook) == 4  # three full generations and the partial fourth


def test_a_small_space_is_exhausted_without_duplicates():
    space = {"k": Categorical(list("abcde"))}
    res = evolve(
        lambda p: float("abcde".index(p["k"])),
        space,
        population_size=3,
        generations=10,
        strategy="steady_state",
        random_state=0,
    )
    assert sorted(res.history["param_k"]) == list("abcde")
    assert res.stop_reason == "exhausted"
    assert res.best_params == {"k": "e"}


def test_all_failed_first_generation_is_an_error():
    def broken(p):
        raise RuntimeError("nope")

    with pytest.raises(AllFailedError, match="All the 4 evaluations of the first generation"):
        evolve(
            broken,
            {"x": Float(0, 1)},
            population_size=4,
            generations=3,
            strategy="steady_state",
            random_state=0,
        )


def test_failures_are_rows_and_never_parents_of_the_best():
    def sometimes(p):
        if p["x"] < 0.2:
            raise ValueError("x too small")
        return p["x"]

    res = evolve(
        sometimes,
        {"x": Float(0, 1)},
        population_size=6,
        generations=6,
        strategy="steady_state",
        random_state=0,
    )
    assert (res.history["status"] == "failed").any()
    assert res.best_score > 0.9
    assert math.isfinite(res.best_score)


@pytest.mark.parametrize("bad", [0, -2, 1.5, "4"])
def test_in_flight_is_checked(bad):
    with pytest.raises((TypeError, ValueError), match="'in_flight'"):
        Evolution(SPACE, strategy="steady_state", in_flight=bad)


def test_sigkill_mid_run_then_resume_equals_uninterrupted(tmp_path):
    script = write_script(tmp_path)
    env = {"STRATEGY": "steady_state"}
    ref = run_script(script, tmp_path / "ref", generations=5, env=env)
    assert ref.returncode == 0, ref.stderr
    killed = run_script(script, tmp_path / "run", generations=5, env={**env, "KILL_AT": "19"})
    assert killed.returncode == -9
    again = run_script(script, tmp_path / "run", n_jobs=2, generations=5, env=env)
    assert again.returncode == 0, again.stderr
    a = pd.read_csv(tmp_path / "ref" / "history.csv").drop(columns=["fit_time", "score_time"])
    b = pd.read_csv(tmp_path / "run" / "history.csv").drop(columns=["fit_time", "score_time"])
    assert len(a) == 40
    pd.testing.assert_frame_equal(a, b)
    # nothing that had finished ran again
    lines = (tmp_path / "run" / "journal.jsonl").read_text().splitlines()
    keys = [r["key"] for r in map(json.loads, lines) if r["type"] == "fold"]
    assert len(keys) == len(set(keys)) == 40
