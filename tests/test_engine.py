"""Tests of ``evotune.engine``: the ask/tell state machine and ``evolve``."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import evotune
from evotune import (
    AllFailedError,
    Categorical,
    Evolution,
    Float,
    GenerationState,
    Integer,
    Space,
    evolve,
)

TIMES = ["fit_time", "score_time"]
# the evolutionary strategies of one objective (random and grid are tested apart)
STRATEGIES = ("ga", "mu_plus_lambda", "mu_comma_lambda", "steady_state")


def mixed_space() -> Space:
    return Space(
        {
            "x": Float(-2.0, 2.0),
            "lr": Float(1e-4, 1.0, log=True),
            "n": Integer(1, 20),
            "kind": Categorical(["a", "b", "c"]),
            "depth": Integer(1, 6, when={"kind": "c"}),
        }
    )


def mixed_objective(p: dict) -> float:
    value = -((p["x"] - 0.5) ** 2) - (math.log10(p["lr"]) + 2.0) ** 2 - 0.01 * (p["n"] - 7) ** 2
    value += {"a": 0.0, "b": 0.5, "c": 0.2}[p["kind"]]
    if "depth" in p:
        value -= 0.1 * abs(p["depth"] - 3)
    return value


def quadratic(p: dict) -> float:
    return -((p["x"] - 0.3) ** 2)


class Counter:
    """An objective that counts its calls."""

    def __init__(self, function=quadratic):
        self.function = function
        self.calls = 0

    def __call__(self, params):
        self.calls += 1
        return self.function(params)


def keys_of(result) -> list[str]:
    return [e.key for e in result.evaluations]


# ---------------------------------------------------------------- ask / tell
def test_ask_returns_initial_population_with_fresh_ids():
    evo = Evolution(mixed_space(), population_size=6, random_state=0)
    cands = evo.ask()
    assert len(cands) == 6
    assert [c.id for c in cands] == list(range(6))
    assert all(c.generation == 0 and c.origin == "initial" for c in cands)
    assert len({c.key for c in cands}) == 6
    for c in cands:
        assert -2.0 <= c.params["x"] <= 2.0
        assert isinstance(c.params["n"], int)
        assert ("depth" in c.params) == (c.params["kind"] == "c")


def test_ask_tell_loop_advances_generations_and_ids():
    evo = Evolution({"x": Float(-1.0, 1.0)}, population_size=5, strategy="ga", random_state=1)
    seen_ids: set[int] = set()
    seen_keys: set[str] = set()
    for gen in range(4):
        cands = evo.ask()
        assert cands, "a continuous space never runs out of new genomes"
        assert all(c.generation == gen for c in cands)
        assert len(cands) <= 5
        ids = {c.id for c in cands}
        assert not ids & seen_ids
        keys = {c.key for c in cands}
        assert len(keys) == len(cands)
        assert not keys & seen_keys
        seen_ids |= ids
        seen_keys |= keys
        evo.tell([evo.evaluation_of(c, -(c.params["x"] ** 2)) for c in cands])
        assert evo.generation == gen + 1
    assert evo.n_evaluations == len(seen_ids)
    assert len(evo.logbook) == 4
    assert evo.best is not None
    assert evo.best.score == max(e.mean_score for e in evo.evaluations)


def test_ask_twice_without_tell_raises():
    # a generational strategy asks a whole generation at once
    evo = Evolution({"x": Float(0.0, 1.0)}, population_size=4, strategy="ga", random_state=0)
    evo.ask()
    with pytest.raises(RuntimeError, match="tell"):
        evo.ask()


def test_tell_with_unknown_candidate_raises():
    evo = Evolution({"x": Float(0.0, 1.0)}, population_size=4, random_state=0)
    cands = evo.ask()
    good = [evo.evaluation_of(c, c.params["x"]) for c in cands]
    bad = evo.evaluation_of(evotune.Candidate(999, 0, "initial", "nokey", {"x": 0.5}), 0.5)
    with pytest.raises(ValueError, match="999"):
        evo.tell([*good, bad])


def test_failed_tell_can_be_retried():
    evo = Evolution({"x": Float(0.0, 1.0)}, population_size=4, random_state=0)
    cands = evo.ask()
    bad = evo.evaluation_of(evotune.Candidate(999, 0, "initial", "nokey", {"x": 0.5}), 0.5)
    with pytest.raises(ValueError):
        evo.tell([bad])
    evo.tell([evo.evaluation_of(c, c.params["x"]) for c in cands])
    assert evo.generation == 1
    assert evo.n_evaluations == 4


def test_tell_may_leave_candidates_out():
    evo = Evolution({"x": Float(0.0, 1.0)}, population_size=4, strategy="ga", random_state=0)
    cands = evo.ask()
    evo.tell([evo.evaluation_of(cands[0], 1.0)])
    assert evo.n_evaluations == 1
    assert evo.ask(), "the next generation is bred from the one told candidate"


def test_ask_after_an_empty_tell_does_not_crash():
    # every asked candidate was left out: "asked candidates left out are dropped",
    # so there is no population to breed from; ask() must start again or say so
    # (generational: an asynchronous strategy still waits for the four)
    evo = Evolution({"x": Float(0.0, 1.0)}, population_size=4, strategy="ga", random_state=0)
    evo.ask()
    evo.tell([])
    try:
        cands = evo.ask()
    except (RuntimeError, ValueError) as exc:
        assert "population" in str(exc) or "evaluat" in str(exc), (
            f"unclear error from ask() after tell([]): {type(exc).__name__}: {exc}"
        )
    else:
        assert len(cands) == 4


def test_tell_with_candidate_of_an_earlier_generation_raises():
    evo = Evolution({"x": Float(0.0, 1.0)}, population_size=4, random_state=0)
    first = evo.ask()
    evo.tell([evo.evaluation_of(c, c.params["x"]) for c in first])
    evo.ask()
    with pytest.raises(ValueError):
        evo.tell([evo.evaluation_of(first[0], 1.0)])


def test_ask_limit_caps_candidates():
    evo = Evolution({"x": Float(0.0, 1.0)}, population_size=6, random_state=0)
    assert len(evo.ask(limit=2)) == 2


def test_ask_tell_is_deterministic():
    def run(seed):
        evo = Evolution(mixed_space(), population_size=6, random_state=seed)
        out = []
        for _ in range(4):
            cands = evo.ask()
            out.extend((c.id, c.key, c.origin) for c in cands)
            evo.tell([evo.evaluation_of(c, mixed_objective(c.params)) for c in cands])
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


# ----------------------------------------------------------------- strategies
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategies_improve_and_respect_budget(strategy):
    res = evolve(
        quadratic,
        {"x": Float(-3.0, 3.0)},
        population_size=8,
        generations=6,
        strategy=strategy,
        crossover_prob=0.6,
        mutation_prob=0.3,
        random_state=0,
    )
    assert len(res.history) <= 8 * 6
    assert len(res.logbook) == 6
    assert res.stop_reason == "generations"
    assert set(res.history["generation"]) <= set(range(6))
    assert (res.history.groupby("generation").size() <= 8).all()
    assert abs(res.best_params["x"] - 0.3) < 0.2
    first = res.history.loc[res.history["generation"] == 0, "mean_score"].max()
    assert res.best_score >= first
    assert len(set(keys_of(res))) == len(res.history)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("pop", "gens"), [(5, 4), (7, 3), (2, 6)])
def test_budget_at_most_population_times_generations(strategy, pop, gens):
    res = evolve(
        mixed_objective,
        mixed_space(),
        population_size=pop,
        generations=gens,
        strategy=strategy,
        crossover_prob=0.5,
        mutation_prob=0.4,
        random_state=2,
    )
    assert 0 < len(res.history) <= pop * gens
    assert int(res.logbook["evaluations"].sum()) == len(res.history)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("cap", [1, 3, 7, 11])
def test_max_evaluations_caps_exactly(strategy, cap):
    counter = Counter()
    res = evolve(
        counter,
        {"x": Float(0.0, 1.0)},
        population_size=4,
        generations=20,
        max_evaluations=cap,
        strategy=strategy,
        crossover_prob=0.5,
        mutation_prob=0.5,
        random_state=0,
    )
    assert len(res.history) == cap
    assert counter.calls == cap
    assert res.stop_reason == "max_evaluations"


@pytest.mark.parametrize("elitism", [0, 1, 3])
def test_ga_elitism_budget(elitism):
    res = evolve(
        quadratic,
        {"x": Float(0.0, 1.0)},
        population_size=4,
        generations=4,
        strategy="ga",
        elitism=elitism,
        random_state=0,
    )
    per_gen = res.history.groupby("generation").size()
    assert per_gen.iloc[0] == 4
    assert (per_gen.iloc[1:] <= 4 - elitism).all()
    # the best so far never gets worse
    best = res.logbook["best"].tolist()
    assert best == sorted(best)


def test_max_evaluations_above_budget_changes_nothing():
    a = evolve(quadratic, {"x": Float(0.0, 1.0)}, population_size=4, generations=3, random_state=0)
    b = evolve(
        quadratic,
        {"x": Float(0.0, 1.0)},
        population_size=4,
        generations=3,
        max_evaluations=1000,
        random_state=0,
    )
    pd.testing.assert_frame_equal(a.history.drop(columns=TIMES), b.history.drop(columns=TIMES))
    assert b.stop_reason == "generations"


def test_patience_stops_when_best_does_not_improve():
    res = evolve(
        lambda p: 1.0,
        {"x": Float(0.0, 1.0)},
        population_size=4,
        generations=50,
        patience=2,
        strategy="ga",  # an asynchronous run also finishes what is in flight
        random_state=0,
    )
    assert res.stop_reason == "patience"
    # generation 0 sets the best; generations 1 and 2 do not improve it
    assert len(res.logbook) == 3


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_patience_does_not_stop_an_improving_run(direction):
    # the score moves with the generation number, towards better in either
    # direction: every generation improves the best
    sign = 1.0 if direction == "maximize" else -1.0
    state = {"gen": 0}

    def objective(p):
        return sign * (float(state["gen"]) + p["x"] * 1e-3)

    def tick(s: GenerationState):
        state["gen"] = s.generation + 1

    res = evolve(
        objective,
        {"x": Float(0.0, 1.0)},
        population_size=4,
        generations=6,
        patience=1,
        callbacks=[tick],
        direction=direction,
        random_state=0,
    )
    assert res.stop_reason == "generations"
    assert len(res.logbook) == 6


def test_time_budget_stops():
    def slow(p):
        time.sleep(0.01)
        return p["x"]

    start = time.perf_counter()
    res = evolve(
        slow,
        {"x": Float(0.0, 1.0)},
        population_size=4,
        generations=10_000,
        time_budget=0.25,
        random_state=0,
    )
    took = time.perf_counter() - start
    assert res.stop_reason == "time_budget"
    assert 1 <= len(res.logbook) < 10_000
    # no generation starts after the budget: at most one generation (~0.04 s) past it
    assert took < 3.0


# ------------------------------------------------------------------ callbacks
def test_callbacks_called_once_per_generation():
    states: list[GenerationState] = []

    class Hook:
        def __init__(self):
            self.gens: list[int] = []

        def on_generation_end(self, state):
            self.gens.append(state.generation)

    hook = Hook()
    res = evolve(
        quadratic,
        {"x": Float(-1.0, 1.0)},
        population_size=5,
        generations=4,
        callbacks=[states.append, hook],
        random_state=0,
    )
    assert [s.generation for s in states] == [0, 1, 2, 3]
    assert hook.gens == [0, 1, 2, 3]
    counts = res.history.groupby("generation").size().cumsum().tolist()
    assert [s.n_evaluations for s in states] == counts
    for s in states:
        assert isinstance(s, GenerationState)
        assert math.isfinite(s.best_score)
        assert s.best_params is not None
    assert states[-1].best_score == res.best_score
    assert states[-1].best_params == res.best_params
    best = [s.best_score for s in states]
    assert best == sorted(best)


def test_callback_returning_true_stops_with_reason_callback():
    calls: list[int] = []

    def stop_at_one(state):
        calls.append(state.generation)
        return state.generation == 1

    res = evolve(
        quadratic,
        {"x": Float(-1.0, 1.0)},
        population_size=5,
        generations=10,
        callbacks=[stop_at_one],
        strategy="ga",  # an asynchronous run also finishes what is in flight
        random_state=0,
    )
    assert res.stop_reason == "callback"
    assert calls == [0, 1]
    assert len(res.logbook) == 2
    assert set(res.history["generation"]) == {0, 1}


# ------------------------------------------------------------ no duplicates
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_no_candidate_twice_in_history(strategy):
    # 10 * 3 = 30 points and a budget of 80: breeding keeps producing known genomes
    space = {"n": Integer(0, 9), "k": Categorical(["a", "b", "c"])}
    res = evolve(
        lambda p: p["n"] + {"a": 0, "b": 1, "c": 2}[p["k"]],
        space,
        population_size=8,
        generations=10,
        strategy=strategy,
        crossover_prob=0.5,
        mutation_prob=0.5,
        random_state=0,
    )
    keys = keys_of(res)
    assert len(keys) == len(set(keys))
    params = res.history[["param_n", "param_k"]].astype(str)
    assert not params.duplicated().any()
    assert len(res.history) <= 30


def test_inactive_parameter_does_not_make_a_genome_new():
    space = Space({"kind": Categorical(["a", "b"]), "x": Float(0.0, 1.0, when={"kind": "b"})})
    res = evolve(
        lambda p: 1.0 if p["kind"] == "a" else p["x"],
        space,
        population_size=6,
        generations=5,
        random_state=0,
    )
    # "kind": "a" is one point whatever x is: it appears at most once
    assert (res.history["param_kind"] == "a").sum() <= 1
    keys = keys_of(res)
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("pop", [2, 4, 10])
def test_tiny_space_is_exhausted_without_duplicates_or_hanging(strategy, pop):
    counter = Counter(lambda p: {"a": 1.0, "b": 3.0, "c": 2.0}[p["k"]])
    start = time.perf_counter()
    res = evolve(
        counter,
        {"k": Categorical(["a", "b", "c"])},
        population_size=pop,
        generations=200,
        strategy=strategy,
        crossover_prob=0.5,
        mutation_prob=0.5,
        random_state=0,
    )
    assert time.perf_counter() - start < 10
    assert sorted(res.history["param_k"]) == ["a", "b", "c"]
    assert counter.calls == 3
    assert res.stop_reason == "exhausted"
    assert res.best_params == {"k": "b"}
    assert res.best_score == 3.0


# ------------------------------------------------------------- determinism
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_seed_same_history(strategy):
    kw = dict(
        population_size=8,
        generations=5,
        strategy=strategy,
        crossover_prob=0.5,
        mutation_prob=0.4,
        random_state=42,
    )
    a = evolve(mixed_objective, mixed_space(), **kw)
    b = evolve(mixed_objective, mixed_space(), **kw)
    pd.testing.assert_frame_equal(a.history.drop(columns=TIMES), b.history.drop(columns=TIMES))
    assert a.best_params == b.best_params
    assert a.best_score == b.best_score
    pd.testing.assert_frame_equal(
        a.hall_of_fame.drop(columns=TIMES), b.hall_of_fame.drop(columns=TIMES)
    )


def test_different_seeds_differ():
    a = evolve(mixed_objective, mixed_space(), population_size=8, generations=3, random_state=0)
    b = evolve(mixed_objective, mixed_space(), population_size=8, generations=3, random_state=1)
    assert keys_of(a) != keys_of(b)


def test_generator_random_state_matches_int_seed():
    a = evolve(mixed_objective, mixed_space(), population_size=6, generations=3, random_state=7)
    b = evolve(
        mixed_objective,
        mixed_space(),
        population_size=6,
        generations=3,
        random_state=np.random.default_rng(7),
    )
    assert keys_of(a) == keys_of(b)


# ------------------------------------------------------------ bad arguments
BAD_EVOLVE_ARGS = [
    ({"population_size": 1}, ValueError, "population_size"),
    ({"population_size": 2.5}, TypeError, "population_size"),
    ({"strategy": "x"}, ValueError, "strategy"),
    ({"crossover_prob": 1.5}, ValueError, "crossover_prob"),
    ({"crossover_prob": -0.1}, ValueError, "crossover_prob"),
    ({"mutation_prob": 2.0}, ValueError, "mutation_prob"),
    ({"population_size": 5, "elitism": 5}, ValueError, "elitism"),
    ({"population_size": 5, "elitism": 9}, ValueError, "elitism"),
    ({"elitism": -1}, ValueError, "elitism"),
    ({"tournament_size": 0}, ValueError, "tournament_size"),
    ({"direction": "up"}, ValueError, "direction"),
    ({"random_state": -1}, ValueError, "random_state"),
    ({"random_state": 1.5}, ValueError, "random_state"),
    ({"generations": 0}, ValueError, "generations"),
    ({"generations": "3"}, TypeError, "generations"),
    ({"max_evaluations": 0}, ValueError, "max_evaluations"),
    ({"patience": 0}, ValueError, "patience"),
    ({"time_budget": 0}, ValueError, "time_budget"),
    ({"time_budget": -1.0}, ValueError, "time_budget"),
    ({"callbacks": "x"}, TypeError, "callbacks"),
    ({"callbacks": [1]}, TypeError, "callback"),
    ({"n_jobs": 0}, ValueError, "n_jobs"),
    (
        {"strategy": "mu_plus_lambda", "crossover_prob": 0.8, "mutation_prob": 0.3},
        ValueError,
        "crossover_prob",
    ),
    (
        {"strategy": "mu_comma_lambda", "crossover_prob": 0.6, "mutation_prob": 0.6},
        ValueError,
        "mutation_prob",
    ),
]


@pytest.mark.parametrize(("kwargs", "exc", "name"), BAD_EVOLVE_ARGS)
def test_bad_evolve_arguments_raise_naming_the_argument(kwargs, exc, name):
    counter = Counter()
    with pytest.raises(exc, match=name):
        evolve(counter, {"x": Float(0.0, 1.0)}, **{"population_size": 4, **kwargs})
    assert counter.calls == 0, "bad input must fail before any work starts"


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        (kw, exc, name)
        for kw, exc, name in BAD_EVOLVE_ARGS
        if not set(kw)
        & {"generations", "max_evaluations", "patience", "time_budget", "callbacks", "n_jobs"}
    ],
)
def test_bad_evolution_arguments_raise_naming_the_argument(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        Evolution({"x": Float(0.0, 1.0)}, **{"population_size": 4, **kwargs})


def test_ga_allows_probabilities_summing_above_one():
    res = evolve(
        quadratic,
        {"x": Float(0.0, 1.0)},
        population_size=4,
        generations=2,
        crossover_prob=0.9,
        mutation_prob=0.9,
        random_state=0,
    )
    assert len(res.history) > 0


def test_bad_objective_raises_type_error():
    with pytest.raises(TypeError, match="objective"):
        evolve(42, {"x": Float(0.0, 1.0)})


# -------------------------------------------------------------- direction
def test_minimize():
    res = evolve(
        lambda p: (p["x"] - 0.3) ** 2,
        {"x": Float(-2.0, 2.0)},
        population_size=8,
        generations=8,
        direction="minimize",
        random_state=0,
    )
    assert res.best_score == res.history["mean_score"].min()
    assert abs(res.best_params["x"] - 0.3) < 0.1
    scores = res.hall_of_fame["mean_score"].tolist()
    assert scores == sorted(scores)
    best = res.logbook["best"].tolist()
    assert best == sorted(best, reverse=True)


def test_maximize_best_is_history_max():
    res = evolve(mixed_objective, mixed_space(), population_size=8, generations=4, random_state=0)
    assert res.best_score == res.history["mean_score"].max()
    row = res.history.loc[res.history["mean_score"].idxmax()]
    for name, value in res.best_params.items():
        assert row[f"param_{name}"] == value


# ---------------------------------------------------------------- failures
def failing_above_half(p):
    if p["x"] > 0.5:
        raise RuntimeError("boom: x too big")
    return p["x"]


def test_failing_candidates_are_rows_and_never_best():
    with pytest.warns(UserWarning, match="failed"):
        res = evolve(
            failing_above_half,
            {"x": Float(0.0, 1.0)},
            population_size=8,
            generations=5,
            random_state=0,
        )
    failed = res.history[res.history["status"] == "failed"]
    assert len(failed) > 0
    assert failed["error"].str.contains("boom: x too big").all()
    assert failed["mean_score"].isna().all()
    assert (failed["param_x"] > 0.5).all()
    ok = res.history[res.history["status"] == "ok"]
    assert ok["error"].isna().all()
    assert res.best_params["x"] <= 0.5
    assert res.best_score == ok["mean_score"].max()
    assert (res.hall_of_fame["status"] == "ok").all()


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_nan_and_inf_scores_never_become_best(direction):
    sign = 1.0 if direction == "maximize" else -1.0

    def objective(p):
        if p["x"] > 0.7:
            return math.nan
        if p["x"] > 0.4:
            return sign * math.inf  # the "best possible" value must not win
        return sign * p["x"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = evolve(
            objective,
            {"x": Float(0.0, 1.0)},
            population_size=10,
            generations=5,
            direction=direction,
            random_state=0,
        )
    scores = res.history["mean_score"]
    assert scores.isna().any()
    assert np.isinf(scores).any()
    assert math.isfinite(res.best_score)
    assert res.best_params["x"] <= 0.4
    assert np.isfinite(res.hall_of_fame["mean_score"]).all()
    assert np.isfinite(res.logbook["best"]).all()


def test_nan_scores_never_selected_as_parents_over_finite():
    # half the space returns NaN; the run still converges on the finite half
    def objective(p):
        return math.nan if p["x"] < 0.0 else -((p["x"] - 0.5) ** 2)

    res = evolve(
        objective, {"x": Float(-1.0, 1.0)}, population_size=10, generations=8, random_state=0
    )
    late = res.history[res.history["generation"] >= 5]
    assert (late["param_x"] >= 0.0).mean() > 0.5
    assert abs(res.best_params["x"] - 0.5) < 0.1


def test_all_candidates_failing_raises_all_failed_error():
    def objective(p):
        raise KeyError("no such model")

    with pytest.raises(AllFailedError, match="no such model") as info:
        evolve(objective, {"x": Float(0.0, 1.0)}, population_size=4, generations=3, random_state=0)
    assert isinstance(info.value, ValueError)
    assert "4" in str(info.value)


def test_all_candidates_returning_non_numbers_raises_all_failed_error():
    with pytest.raises(AllFailedError, match="real number"):
        evolve(
            lambda p: "good",
            {"x": Float(0.0, 1.0)},
            population_size=4,
            generations=3,
            random_state=0,
        )


def test_screening_changes_which_candidates_not_how_many():
    space = {"x": Float(-2.0, 2.0), "y": Float(-2.0, 2.0)}

    def f(p):
        return -((p["x"] - 0.5) ** 2) - (p["y"] + 0.5) ** 2

    kw = dict(population_size=10, generations=6, strategy="ga", random_state=3)
    plain = evolve(f, space, screening=1, **kw)
    screened = evolve(f, space, **kw)
    assert len(plain.history) == len(screened.history)
    assert not plain.history["param_x"].equals(screened.history["param_x"])
    # generation 0 is sampled the same way; screening acts on offspring only
    g0 = plain.history["generation"] == 0
    assert plain.history.loc[g0, "param_x"].tolist() == screened.history.loc[g0, "param_x"].tolist()


def test_bad_screening_is_refused_naming_it():
    with pytest.raises(ValueError, match="screening"):
        evolve(lambda p: 0.0, {"x": Float(0.0, 1.0)}, screening=0)


def test_a_callback_failing_at_run_start_leaves_the_run_directory_free(tmp_path):
    class Broken:
        def on_run_start(self, evolution):
            raise ConnectionError("tracking server unreachable")

    with pytest.raises(ConnectionError):
        evolve(
            quadratic,
            {"x": Float(-3.0, 3.0)},
            population_size=4,
            generations=2,
            strategy="ga",
            random_state=0,
            checkpoint=tmp_path / "run",
            callbacks=[Broken()],
        )
    # the lock is free and the run resumes
    res = evolve(
        quadratic,
        {"x": Float(-3.0, 3.0)},
        population_size=4,
        generations=2,
        strategy="ga",
        random_state=0,
        checkpoint=tmp_path / "run",
        resume=True,
    )
    assert len(res.history) == 7
