"""The generational template: one generation asked, then told."""

from __future__ import annotations

import pytest

from evotune import Evolution, Float, Integer


@pytest.mark.parametrize("strategy", ["ga", "mu_plus_lambda", "random", "grid"])
def test_ask_twice_without_tell_is_refused(strategy):
    evo = Evolution({"x": Float(0, 1)}, population_size=4, strategy=strategy, random_state=0)
    evo.ask()
    with pytest.raises(RuntimeError, match="asked and not told"):
        evo.ask()


def test_a_seen_offspring_is_carried_not_asked_again():
    evo = Evolution(
        {"n": Integer(0, 3)}, population_size=4, strategy="ga", random_state=0, max_novelty_tries=0
    )
    seen = set()
    for _ in range(4):
        cands = evo.ask()
        assert not seen & {c.key for c in cands}
        seen |= {c.key for c in cands}
        evo.tell([evo.evaluation_of(c, c.params["n"]) for c in cands])


def test_each_told_generation_closes_once_with_its_record():
    evo = Evolution({"x": Float(0, 1)}, population_size=4, strategy="ga", random_state=0)
    for g in range(3):
        cands = evo.ask()
        evo.tell([evo.evaluation_of(c, c.params["x"]) for c in cands])
        (boundary,) = evo.boundaries
        evo.boundaries.clear()
        assert boundary["generation"] == g
        assert boundary["record"]["evaluations"] == len(cands)
