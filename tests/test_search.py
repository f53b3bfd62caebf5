"""The search-quality test: evolution beats random search on a known function.

The function mixes 3 floats (one log-scaled), 2 integers and 2 categoricals.
Its maximum is known (``OPTIMUM`` at ``BEST``) and its minimum over the space is
about -9.1, so "within 1% of the optimum" (a total penalty <= 0.1) asks for
every categorical right and every number close: about 0.5% of the function's
range. The GA runs with its default settings and a fixed budget; random search
gets the full nominal budget ``population_size * generations`` (at least what
the GA used), drawn with ``Space.sample(n, rng, "random")`` and decoded.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from evotune import Categorical, Float, Integer, Space, evolve

POPULATION, GENERATIONS = 20, 15
BUDGET = POPULATION * GENERATIONS
SEEDS = range(5)

OPTIMUM = 10.0
KIND_PENALTY = {"a": 2.0, "b": 0.0, "c": 1.0, "d": 3.0}
BEST = {"x": 1.5, "y": -2.0, "lr": 0.01, "n": 30, "depth": 7, "kind": "b", "flag": True}


def make_space() -> Space:
    return Space(
        {
            "x": Float(-5.0, 5.0),
            "y": Float(-5.0, 5.0),
            "lr": Float(1e-4, 1.0, log=True),
            "n": Integer(1, 50),
            "depth": Integer(1, 10),
            "kind": Categorical(["a", "b", "c", "d"]),
            "flag": Categorical([True, False]),
        }
    )


def objective(p: dict) -> float:
    return (
        OPTIMUM
        - 0.1 * ((p["x"] - 1.5) ** 2 + (p["y"] + 2.0) ** 2)
        - 0.5 * (math.log10(p["lr"]) + 2.0) ** 2
        - 0.002 * (p["n"] - 30) ** 2
        - 0.05 * (p["depth"] - 7) ** 2
        - KIND_PENALTY[p["kind"]]
        - (0.0 if p["flag"] else 1.5)
    )


def random_search(space: Space, n: int, seed: int) -> float:
    rng = np.random.default_rng(10_000 + seed)
    genes = space.sample(n, rng, "random")
    return max(objective(space.decode(row)) for row in genes)


def test_objective_has_the_stated_optimum():
    assert objective(BEST) == pytest.approx(OPTIMUM)
    space = make_space()
    # BEST is a point of the space, and no random point beats it
    assert space.decode(space.encode(BEST)) == pytest.approx(BEST)
    rng = np.random.default_rng(0)
    assert max(objective(space.decode(g)) for g in space.sample(2000, rng, "random")) < OPTIMUM


def test_ga_beats_random_search_and_reaches_the_optimum():
    space = make_space()
    ga_best, random_best = [], []
    for seed in SEEDS:
        res = evolve(
            objective, space, population_size=POPULATION, generations=GENERATIONS, random_state=seed
        )
        assert len(res.history) <= BUDGET
        assert res.best_score <= OPTIMUM + 1e-9
        ga_best.append(res.best_score)
        random_best.append(random_search(space, BUDGET, seed))
    ga_median = float(np.median(ga_best))
    random_median = float(np.median(random_best))
    report = (
        f"GA median {ga_median:.4f} (per seed {np.round(ga_best, 4).tolist()}), "
        f"random median {random_median:.4f} (per seed {np.round(random_best, 4).tolist()}), "
        f"optimum {OPTIMUM}"
    )
    assert ga_median > random_median, report
    assert ga_median >= OPTIMUM - 0.01 * abs(OPTIMUM), report
