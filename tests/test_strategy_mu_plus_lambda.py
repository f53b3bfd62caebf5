"""strategy="mu_plus_lambda": survivors are the best of parents and offspring."""

from __future__ import annotations

import pytest

from evotune import Evolution, Float, InvalidParameterError
from evotune.strategies import MuPlusLambda


def test_survivors_are_the_best_of_parents_and_offspring():
    evo = Evolution(
        {"x": Float(-1, 1)}, population_size=6, strategy="mu_plus_lambda", random_state=0
    )
    for _ in range(3):
        parents = list(evo.population)
        cands = evo.ask()
        evo.tell([evo.evaluation_of(c, -abs(c.params["x"])) for c in cands])
        pool = {g.key: g.score for g in parents} | {
            e.key: e.mean_score for e in evo.evaluations[-len(cands) :]
        }
        if parents:
            kept = sorted(g.score for g in evo.population)
            assert kept == sorted(pool.values())[-6:]


def test_probabilities_must_sum_to_at_most_one():
    with pytest.raises(InvalidParameterError, match=r"'crossover_prob' \+ 'mutation_prob'"):
        MuPlusLambda(crossover_prob=0.8, mutation_prob=0.3)
