"""strategy="random": fresh samples every generation, nothing bred, nothing twice."""

from __future__ import annotations

import pytest

from evotune import Float, Integer, evolve
from evotune.strategies import RandomSearch


def test_every_candidate_is_sampled_never_bred():
    res = evolve(
        lambda p: p["x"], {"x": Float(0, 1)}, strategy="random", population_size=5,
        generations=4, random_state=0,
    )
    assert res.n_evaluations == 20
    assert set(res.history["origin"]) == {"initial"}
    assert res.history["x"].nunique() == 20


@pytest.mark.parametrize("sampling", ["lhs", "sobol", "random"])
def test_generations_use_the_run_s_initial_sampling(sampling):
    # LHS puts one point in each fifth of [0, 1] in every generation
    res = evolve(
        lambda p: p["x"], {"x": Float(0, 1)}, strategy="random", population_size=5,
        generations=3, random_state=0, initial_sampling=sampling,
    )
    if sampling == "lhs":
        for _, block in res.history.groupby("generation"):
            assert sorted((block["x"] * 5).astype(int)) == [0, 1, 2, 3, 4]
    assert res.n_evaluations == 15


def test_a_small_space_is_exhausted_without_duplicates():
    res = evolve(
        lambda p: p["n"], {"n": Integer(0, 4)}, strategy=RandomSearch(max_novelty_tries=50),
        population_size=4, generations=5, random_state=0,
    )
    assert res.history["n"].is_unique and res.n_evaluations <= 5
