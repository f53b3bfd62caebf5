"""Surrogate screening: the model prefers predicted-better offspring but keeps
exploring, and changes which candidates are asked, never how many."""

from __future__ import annotations

import numpy as np

from evotune import Evolution, Float
from evotune.strategies._breeder import Offspring
from evotune.strategies._screening import pick_one, predict_nearest, screen


def _evo(n=40):
    evo = Evolution({"x": Float(0, 1)}, population_size=n, random_state=0)
    cands = evo.ask()
    evo.tell([evo.evaluation_of(c, c.params["x"]) for c in cands])
    return evo


def _offspring(xs):
    xs = np.asarray(xs, dtype=float)[:, None]
    n = len(xs)
    return Offspring(xs, ["mutation"] * n, [(0,)] * n, np.full(n, 0.1))


def test_screen_keeps_the_size_and_prefers_the_better_predicted():
    evo = _evo()
    low, high = _offspring(np.linspace(0, 0.1, 8)), _offspring(np.linspace(0.9, 1.0, 8))
    chosen = screen(evo, low, lambda: high, screening=2)
    assert len(chosen) == 8
    assert (chosen.genes[:, 0] > 0.5).sum() >= 8 - 8 // 4


def test_screen_does_nothing_without_enough_history_or_when_off():
    evo = Evolution({"x": Float(0, 1)}, population_size=4, random_state=0)
    first = _offspring([0.1, 0.2])
    assert screen(evo, first, lambda: _offspring([0.9, 0.95]), screening=4) is first
    assert screen(_evo(), first, lambda: _offspring([0.9, 0.95]), screening=1) is first


def test_pick_one_prefers_the_better_prediction_most_of_the_time():
    evo = _evo()
    picks = [pick_one(evo, [_offspring([0.05]), _offspring([0.95])]) for _ in range(40)]
    assert sum(p.genes[0, 0] > 0.5 for p in picks) >= 25


def test_predict_nearest_is_a_weighted_mean_of_neighbours():
    ref = np.array([[0.0], [1.0]])
    pred = predict_nearest(np.array([[0.5]]), ref, np.array([0.0, 2.0]), np.array([False]), k=2)
    assert np.isclose(pred[0], 1.0)
