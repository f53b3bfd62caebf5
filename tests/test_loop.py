"""The run loop (evotune.loop): generation ends taken in order, journaled once,
callbacks and stops, an exhausted space, a failed first generation."""

from __future__ import annotations

import pytest

from evotune import AllFailedError, Float, GenerationState, Integer, evolve


def test_every_generation_end_reaches_the_callbacks_once_in_order():
    seen: list[int] = []

    def cb(state: GenerationState) -> None:
        seen.append(state.generation)
        assert state.n_evaluations == len(state.evolution.evaluations)
        assert state.evolution.boundaries == []  # taken before callbacks run

    for strategy in ("ga", "steady_state", "random"):
        seen.clear()
        evolve(
            lambda p: p["x"],
            {"x": Float(0, 1)},
            population_size=4,
            generations=3,
            strategy=strategy,
            callbacks=[cb],
            random_state=0,
        )
        assert seen == [0, 1, 2], strategy


def test_an_exhausted_space_ends_the_run_without_a_journaled_empty_generation(tmp_path):
    res = evolve(
        lambda p: p["n"],
        {"n": Integer(0, 2)},
        population_size=3,
        generations=5,
        random_state=0,
        checkpoint=tmp_path / "run",
    )
    assert res.stop_reason == "exhausted" and res.n_evaluations == 3
    tells = [
        line
        for line in (tmp_path / "run" / "journal.jsonl").read_text().splitlines()
        if '"tell"' in line
    ]
    assert len(tells) == len({e.generation for e in res.evaluations})


def test_a_failed_first_generation_is_an_error_that_says_why():
    def boom(p):
        raise RuntimeError("no such model")

    with pytest.raises(AllFailedError, match="no such model"):
        evolve(boom, {"x": Float(0, 1)}, population_size=3, generations=2, random_state=0)


def test_a_callback_returning_true_stops_after_its_generation():
    res = evolve(
        lambda p: p["x"],
        {"x": Float(0, 1)},
        population_size=4,
        generations=5,
        callbacks=[lambda s: s.generation == 1],
        strategy="ga",  # an asynchronous run also finishes what is in flight
        random_state=0,
    )
    assert res.stop_reason == "callback" and res.history["generation"].max() == 1


def test_nan_scores_are_scores_not_a_failed_run():
    # issue 14, item 5: every score NaN but nothing failed: the run goes on
    import math
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing failed: no failure warning either
        res = evolve(
            lambda p: math.nan, {"x": Float(0, 1)}, population_size=4, generations=2, random_state=0
        )
    assert len(res.evaluations) == 8
    assert set(res.history["status"]) == {"nan"}
    assert res.best_params is None


def test_the_failure_warning_counts_add_up():
    # issue 14, item 9: "k of n evaluations failed", the lines listing k in all
    import math

    def objective(p):
        if p["x"] < 0.3:
            raise ValueError(f"bad x {round(p['x'], 1)}")  # several distinct errors
        return math.nan if p["x"] > 0.8 else p["x"]

    with pytest.warns(UserWarning) as record:
        res = evolve(
            objective, {"x": Float(0, 1)}, population_size=10, generations=3, random_state=0
        )
    failed = int((res.history["status"] == "failed").sum())
    (text,) = [str(w.message) for w in record if "evaluations failed" in str(w.message)]
    assert text.startswith(f"{failed} of {len(res.evaluations)} evaluations failed")
    assert sum(int(line.split()[0]) for line in text.splitlines()[1:]) == failed
