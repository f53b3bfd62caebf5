"""strategy="ga": elites survive unchanged; the rest are bred offspring."""

from __future__ import annotations

import pytest

from evotune import Evolution, Float, InvalidParameterError
from evotune.strategies import GA


def _run(strategy, generations=4):
    evo = Evolution(
        {"x": Float(-1, 1), "y": Float(-1, 1)},
        population_size=8,
        strategy=strategy,
        random_state=0,
        screening=1,
    )
    for _ in range(generations):
        cands = evo.ask()
        evo.tell([evo.evaluation_of(c, -(c.params["x"] ** 2) - c.params["y"] ** 2) for c in cands])
    return evo


@pytest.mark.parametrize("elitism", [1, 3])
def test_the_best_parents_survive_unchanged(elitism):
    evo = Evolution(
        {"x": Float(-1, 1)}, population_size=6, random_state=0, strategy=GA(elitism=elitism)
    )
    cands = evo.ask()
    evo.tell([evo.evaluation_of(c, -abs(c.params["x"])) for c in cands])
    best = sorted(evo.population, key=lambda g: -g.score)[:elitism]
    cands = evo.ask()
    evo.tell([evo.evaluation_of(c, -abs(c.params["x"])) for c in cands])
    assert all(g in evo.population for g in best)


def test_offspring_come_from_crossover_and_mutation_with_parents():
    evo = _run(GA(crossover_prob=1.0, mutation_prob=1.0, screening=1))
    bred = [g for g in evo.seen.values() if g.generation > 0]
    assert bred and {g.origin for g in bred} <= {"crossover", "mutation"}
    assert all(len(g.parents) in (1, 2) for g in bred)


def test_elitism_is_checked_against_the_population():
    with pytest.raises(InvalidParameterError, match=r"'elitism' must be in \[0, 7\], got 8"):
        Evolution({"x": Float(0, 1)}, population_size=8, strategy=GA(elitism=8))
    with pytest.raises(InvalidParameterError, match="'tournament_size' must be >= 1"):
        GA(tournament_size=0)
