"""Tests of ``evotune.stopping``: the stop rules, alone and in a run.

Time is a fake clock that advances by one second per objective call, so a
time budget runs out at a known point of the run, with no sleeps and no race
with the machine's load.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from types import SimpleNamespace

import pandas as pd
import pytest

import evotune
from evotune import Float, Integer, evolve
from evotune.callbacks import Callback
from evotune.stopping import EarlyStopping, StopRule, TimeBudget, stop_rules

TIMES = ["fit_time", "score_time"]
STRATEGIES = ["ga", "steady_state"]


def state(best_value: float) -> SimpleNamespace:
    return SimpleNamespace(best_value=best_value)


def feed(rule: StopRule, values: list[float]) -> list[bool]:
    rule.on_run_start(None)
    return [rule.on_generation_end(state(v)) for v in values]


class Ticking:
    """An objective that moves a fake clock one second forward per call."""

    def __init__(self, function=lambda p: p["x"]):
        self.function = function
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def __call__(self, params):
        self.now += 1.0
        return self.function(params)


def same_run(a, b) -> None:
    assert len(a.logbook) == len(b.logbook)
    pd.testing.assert_frame_equal(a.history.drop(columns=TIMES), b.history.drop(columns=TIMES))


# ------------------------------------------------------------ EarlyStopping
def test_early_stopping_counts_generations_without_improvement():
    assert feed(EarlyStopping(2), [1.0, 1.0, 1.0]) == [False, False, True]
    # an improvement starts the count again
    assert feed(EarlyStopping(2), [1.0, 1.0, 2.0, 2.0, 2.0]) == [False] * 4 + [True]
    assert feed(EarlyStopping(1), [1.0, 2.0, 3.0, 3.0]) == [False, False, False, True]


def test_early_stopping_min_delta_needs_a_gain_above_it_from_the_last_improvement():
    # 1.06 gains too little and does not move the reference; 1.12 gains 0.12 over 1.0
    assert feed(EarlyStopping(2, min_delta=0.1), [1.0, 1.06, 1.12, 1.2, 1.2]) == [
        False,
        False,
        False,
        False,
        True,
    ]
    # a gain of exactly min_delta is not enough
    assert feed(EarlyStopping(1, min_delta=0.5), [1.0, 1.5]) == [False, True]


def test_early_stopping_failed_generations_count_and_first_finite_sets_the_reference():
    inf = -math.inf
    assert feed(EarlyStopping(2), [inf, 5.0, inf, 5.0]) == [False, False, False, True]
    assert feed(EarlyStopping(1, min_delta=10.0), [inf, -1e9]) == [True, False]


def test_early_stopping_run_start_starts_afresh():
    rule = EarlyStopping(2)
    assert feed(rule, [1.0, 1.0]) == [False, False]
    assert feed(rule, [0.0, 0.0, 0.0]) == [False, False, True]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"patience": 0}, "patience"),
        ({"patience": 1.5}, "patience"),
        ({"patience": True}, "patience"),
        ({"patience": 2, "min_delta": -0.1}, "min_delta"),
        ({"patience": 2, "min_delta": math.nan}, "min_delta"),
        ({"patience": 2, "min_delta": "0"}, "min_delta"),
    ],
)
def test_early_stopping_checks_its_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        EarlyStopping(**kwargs)


def plateau(direction: str):
    # better with n up to 5, flat after: in either direction the best is
    # found early and then stays
    sign = 1.0 if direction == "maximize" else -1.0
    return lambda p: sign * min(p["n"], 5)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_patience_setting_and_early_stopping_callback_stop_at_the_same_generation(
    strategy, direction
):
    kw = dict(
        population_size=4,
        generations=30,
        strategy=strategy,
        direction=direction,
        random_state=0,
    )
    space = {"n": Integer(0, 9), "x": Float(0.0, 1.0)}
    by_setting = evolve(plateau(direction), space, patience=3, **kw)
    by_callback = evolve(plateau(direction), space, callbacks=[EarlyStopping(3)], **kw)
    assert by_setting.stop_reason == "patience"
    assert by_callback.stop_reason == "callback"
    assert len(by_setting.logbook) < 30
    same_run(by_setting, by_callback)
    assert by_setting.best_score == (5.0 if direction == "maximize" else -5.0)


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_early_stopping_counts_a_lower_score_as_better_when_minimizing(direction):
    # every generation moves the score one step towards better
    sign = 1.0 if direction == "maximize" else -1.0
    gen = {"now": 0}

    def objective(p):
        return sign * (gen["now"] + p["x"] * 1e-3)

    def tick(s):
        gen["now"] = s.generation + 1

    res = evolve(
        objective,
        {"x": Float(0.0, 1.0)},
        population_size=4,
        generations=6,
        callbacks=[tick, EarlyStopping(1)],
        direction=direction,
        random_state=0,
    )
    assert res.stop_reason == "generations"
    assert len(res.logbook) == 6


def test_early_stopping_min_delta_in_a_run():
    # gains of 0.01 per generation: improvements for min_delta=0, not for 0.05
    gen = {"now": 0}

    def objective(p):
        return 0.01 * gen["now"] + 1e-6 * p["x"]

    def tick(s):
        gen["now"] = s.generation + 1

    # generational: an asynchronous run also finishes what is in flight at the stop
    kw = dict(population_size=4, generations=8, strategy="ga", random_state=0)
    gen["now"] = 0
    res = evolve(objective, {"x": Float(0, 1)}, callbacks=[tick, EarlyStopping(2)], **kw)
    assert res.stop_reason == "generations"
    gen["now"] = 0
    res = evolve(
        objective, {"x": Float(0, 1)}, callbacks=[tick, EarlyStopping(2, min_delta=0.05)], **kw
    )
    assert res.stop_reason == "callback"
    assert len(res.logbook) == 3


# --------------------------------------------------------------- TimeBudget
def test_time_budget_is_spent_after_its_seconds_from_the_run_start():
    now = [100.0]
    budget = TimeBudget(5, clock=lambda: now[0])
    now[0] = 200.0
    budget.on_run_start(None)  # the run's start, not the construction, counts
    assert not budget.exhausted()
    now[0] = 204.9
    assert not budget.exhausted()
    assert budget.on_generation_end(state(0.0)) is False
    now[0] = 205.0
    assert budget.exhausted()
    assert budget.on_generation_end(state(0.0)) is True


def test_time_budget_default_clock_is_monotonic():
    assert TimeBudget.clock is __import__("time").monotonic
    assert not TimeBudget(3600).exhausted()


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"seconds": 0}, ValueError, "seconds"),
        ({"seconds": -1.0}, ValueError, "seconds"),
        ({"seconds": math.nan}, ValueError, "seconds"),
        ({"seconds": True}, ValueError, "seconds"),
        ({"seconds": "10"}, ValueError, "seconds"),
        ({"seconds": 1.0, "clock": 3}, TypeError, "clock"),
    ],
)
def test_time_budget_checks_its_arguments(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        TimeBudget(**kwargs)


@pytest.fixture
def ticking(monkeypatch):
    """An objective with a fake clock, which the rules evolve builds read."""
    objective = Ticking()
    monkeypatch.setattr(TimeBudget, "clock", staticmethod(objective.clock))
    return objective


def test_no_generation_starts_after_the_budget(ticking):
    # one second per evaluation: generation 0 takes 4 s, generation 1 (three
    # offspring beside the elite) is under way when the 6 s run out; it is
    # finished and is the last
    res = evolve(
        ticking,
        {"x": Float(0, 1)},
        population_size=4,
        generations=50,
        time_budget=6,
        strategy="ga",
        random_state=0,
    )
    assert res.stop_reason == "time_budget"
    assert len(res.logbook) == 2
    assert res.history["generation"].tolist() == [0] * 4 + [1] * 3
    assert ticking.now == 7.0


def test_a_budget_spent_before_the_first_generation_starts_none(ticking):
    class LateStart(Callback):
        def on_run_start(self, evolution):
            ticking.now += 10.0  # a slow start, after the run's clock started

    res = evolve(
        ticking,
        {"x": Float(0, 1)},
        population_size=4,
        generations=5,
        time_budget=5,
        callbacks=[LateStart()],
        random_state=0,
    )
    assert res.stop_reason == "time_budget"
    assert len(res.history) == 0


def test_steady_state_asks_no_child_after_the_budget(ticking):
    # one candidate in flight: each tell is followed by one ask, unless spent
    res = evolve(
        ticking,
        {"x": Float(0, 1)},
        population_size=4,
        generations=50,
        strategy="steady_state",
        in_flight=1,
        time_budget=6,
        random_state=0,
    )
    assert res.stop_reason == "time_budget"
    assert len(res.history) == 6


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_time_budget_setting_and_callback_stop_at_the_same_point(strategy):
    kw = dict(population_size=4, generations=50, strategy=strategy, random_state=0)
    by_setting_objective = Ticking()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(TimeBudget, "clock", staticmethod(by_setting_objective.clock))
        by_setting = evolve(by_setting_objective, {"x": Float(0, 1)}, time_budget=10, **kw)
    by_callback_objective = Ticking()
    budget = TimeBudget(10, clock=by_callback_objective.clock)
    by_callback = evolve(by_callback_objective, {"x": Float(0, 1)}, callbacks=[budget], **kw)
    assert by_setting.stop_reason == "time_budget"
    assert by_callback.stop_reason == "callback"
    assert len(by_setting.logbook) < 50
    same_run(by_setting, by_callback)


# ---------------------------------------------------------------- the rules
def test_stop_rules_builds_one_rule_per_setting_in_order():
    assert stop_rules() == []
    (patience,) = stop_rules(patience=4)
    assert isinstance(patience, EarlyStopping)
    assert (patience.patience, patience.min_delta) == (4, 0.0)
    rules = stop_rules(patience=2, time_budget=1.5)
    assert [type(r) for r in rules] == [EarlyStopping, TimeBudget]
    assert [r.reason for r in rules] == ["patience", "time_budget"]
    assert rules[1].seconds == 1.5


def test_stop_rule_base_never_stops_and_has_every_hook():
    rule = StopRule()
    rule.on_run_start(None)
    rule.on_evaluation(None)
    assert rule.on_generation_end(state(0.0)) is False
    rule.on_run_end(None)
    assert rule.exhausted() is False
    assert rule.reason == "callback"


def test_rules_are_callbacks_exported_from_callbacks_and_the_package():
    assert evotune.EarlyStopping is evotune.callbacks.EarlyStopping is EarlyStopping
    assert evotune.TimeBudget is evotune.callbacks.TimeBudget is TimeBudget
    assert isinstance(EarlyStopping(1), Callback)
    assert isinstance(TimeBudget(1), Callback)
    assert repr(EarlyStopping(3, min_delta=0.5)) == "EarlyStopping(patience=3, min_delta=0.5)"
    assert repr(TimeBudget(60)) == "TimeBudget(seconds=60.0)"


def test_stopping_imports_nothing_of_evotune():
    code = (
        "import json, sys\n"
        "import evotune.stopping\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('evotune'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    # the package itself and its version come first; nothing else of evotune
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == ["evotune", "evotune._version", "evotune.stopping"]
