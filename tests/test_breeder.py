"""The shared breeder: offspring stay in the unit encoding, steps in bounds,
and novelty re-draws what was already seen."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from evotune import Categorical, Evolution, Float, Integer
from evotune.strategies._breeder import (
    SIGMA_MAX,
    SIGMA_MIN,
    adapt,
    adapt_one,
    breed_ga,
    breed_one,
    breed_var_or,
    novel,
)

SPACE = {"x": Float(-1, 1), "n": Integer(0, 9), "k": Categorical(["a", "b", "c"])}


def _state(seed):
    evo = Evolution(SPACE, population_size=6, random_state=seed)
    cands = evo.ask()
    evo.tell([evo.evaluation_of(c, c.params["x"]) for c in cands])
    return evo


def _valid(evo, genes):
    schema = evo.space.schema
    assert np.all((genes >= 0) & (genes <= np.maximum(1, schema.n_choices - 1)))
    cats = genes[:, schema.categorical]
    assert np.all(cats == np.round(cats))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0, 1), st.floats(0, 1))
def test_offspring_are_valid_genomes(seed, cx, mut):
    evo = _state(seed)
    fit = np.array([g.selection_value() for g in evo.population])
    for off in (
        breed_ga(evo, fit, 5, 3, cx, mut),
        breed_var_or(evo, cx / 2, mut / 2),
        breed_one(evo, 3, cx, mut),
    ):
        _valid(evo, off.genes)
        assert len(off.origins) == len(off.parents) == len(off.sigmas) == len(off.genes)
        assert np.all((off.sigmas >= SIGMA_MIN) & (off.sigmas <= SIGMA_MAX))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(1e-4, 10))
def test_adapted_steps_stay_in_bounds(seed, sigma):
    evo = _state(seed)
    assert np.all(adapt(evo, np.full(4, sigma)) >= SIGMA_MIN)
    assert SIGMA_MIN <= adapt_one(evo, sigma) <= SIGMA_MAX


def test_novel_redraws_a_seen_genome():
    evo = _state(0)
    seen = evo.population[0]
    _row, origin, key = novel(
        evo,
        seen.genes,
        "clone",
        0.1,
        fresh=False,
        taken=lambda k: False,
        mutation_sigma=0.15,
        max_tries=20,
    )
    assert key != seen.key and key not in evo.seen and origin == "mutation"
