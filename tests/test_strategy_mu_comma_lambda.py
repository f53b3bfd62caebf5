"""strategy="mu_comma_lambda": survivors are the best offspring alone."""

from __future__ import annotations

from evotune import Evolution, Float


def test_survivors_are_offspring_only_when_there_are_enough():
    evo = Evolution(
        {"x": Float(-1, 1), "y": Float(-1, 1)},
        population_size=6,
        strategy="mu_comma_lambda",
        random_state=0,
    )
    cands = evo.ask()
    evo.tell([evo.evaluation_of(c, -abs(c.params["x"])) for c in cands])
    for _ in range(3):
        parents = {g.id for g in evo.population}
        cands = evo.ask()
        evo.tell([evo.evaluation_of(c, -abs(c.params["x"])) for c in cands])
        if len(cands) >= 6:
            assert not parents & {g.id for g in evo.population}
