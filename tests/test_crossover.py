"""Tests for operators.crossover: uniform, blend (BLX-alpha) and SBX crossover."""

from __future__ import annotations

import numpy as np
import pytest
from _strategies import assert_valid, schemas, valid_genes
from hypothesis import given, settings
from hypothesis import strategies as st

from operators.crossover import crossover_blend, crossover_sbx, crossover_uniform
from operators.schema import GeneSchema, repair

PROPERTY = settings(max_examples=60, deadline=None)
CROSSOVERS = [crossover_uniform, crossover_blend, crossover_sbx]


@st.composite
def parent_pairs(draw, kinds=("float", "int", "categorical")):
    schema = draw(schemas(kinds))
    n = draw(st.integers(1, 8))
    return schema, draw(valid_genes(schema, n)), draw(valid_genes(schema, n))


def assert_genewise_permutation(c1, c2, a, b, columns=slice(None)):
    np.testing.assert_array_equal(np.minimum(c1, c2)[:, columns], np.minimum(a, b)[:, columns])
    np.testing.assert_array_equal(np.maximum(c1, c2)[:, columns], np.maximum(a, b)[:, columns])


def kwargs_strategy(op):
    if op is crossover_uniform:
        return st.fixed_dictionaries({"indpb": st.floats(0.0, 1.0)})
    if op is crossover_blend:
        return st.fixed_dictionaries({"alpha": st.floats(0.0, 2.0)})
    return st.fixed_dictionaries({"eta": st.floats(0.1, 100.0), "indpb": st.floats(0.0, 1.0)})


# ---------------------------------------------------------------------------
# properties


@pytest.mark.parametrize("op", CROSSOVERS)
@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_children_valid_shape_pure_deterministic(op, data, seed):
    schema, a, b = data.draw(parent_pairs())
    kwargs = data.draw(kwargs_strategy(op))
    a0, b0 = a.copy(), b.copy()
    c1, c2 = op(a, b, schema, np.random.default_rng(seed), **kwargs)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    assert c1.shape == c2.shape == a.shape
    assert c1 is not a and c2 is not b
    assert_valid(c1, schema)
    assert_valid(c2, schema)
    d1, d2 = op(a, b, schema, np.random.default_rng(seed), **kwargs)
    np.testing.assert_array_equal(c1, d1)
    np.testing.assert_array_equal(c2, d2)


@PROPERTY
@given(parent_pairs(), st.integers(0, 2**32 - 1), st.floats(0.0, 1.0))
def test_uniform_children_permute_parents(case, seed, indpb):
    schema, a, b = case
    c1, c2 = crossover_uniform(a, b, schema, np.random.default_rng(seed), indpb=indpb)
    assert_genewise_permutation(c1, c2, a, b)
    # each gene of a child comes from the parent of the same slot or the other one
    swapped = c1 != a
    np.testing.assert_array_equal(c1[swapped], b[swapped])
    np.testing.assert_array_equal(c2[swapped], a[swapped])


@pytest.mark.parametrize("op", [crossover_blend, crossover_sbx])
@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_categories_are_exchanged_not_blended(op, data, seed):
    schema, a, b = data.draw(parent_pairs())
    c1, c2 = op(a, b, schema, np.random.default_rng(seed))
    assert_genewise_permutation(c1, c2, a, b, columns=schema.categorical)


@pytest.mark.parametrize("op", CROSSOVERS)
@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_identical_parents_give_identical_categories_and_ints(op, data, seed):
    schema, a, _ = data.draw(parent_pairs(kinds=("int", "categorical")))
    c1, c2 = op(a, a.copy(), schema, np.random.default_rng(seed))
    # a blend of equal parents may be off by rounding, but repair puts it back on the bin
    np.testing.assert_array_equal(c1, a)
    np.testing.assert_array_equal(c2, a)


@PROPERTY
@given(parent_pairs(kinds=("float",)), st.integers(0, 2**32 - 1))
def test_blend_alpha_zero_stays_between_parents(case, seed):
    schema, a, b = case
    c1, c2 = crossover_blend(a, b, schema, np.random.default_rng(seed), alpha=0.0)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    tol = 1e-12
    for c in (c1, c2):
        assert (c >= lo - tol).all() and (c <= hi + tol).all()
    np.testing.assert_allclose(c1 + c2, a + b, atol=1e-12)


# ---------------------------------------------------------------------------
# behaviour


def test_uniform_indpb_extremes():
    schema = GeneSchema.from_lists(["float", "categorical"], n_choices=[0, 3])
    a = np.array([[0.1, 0.0], [0.2, 1.0]])
    b = np.array([[0.9, 2.0], [0.8, 2.0]])
    c1, c2 = crossover_uniform(a, b, schema, np.random.default_rng(0), indpb=0.0)
    np.testing.assert_array_equal(c1, a)
    np.testing.assert_array_equal(c2, b)
    c1, c2 = crossover_uniform(a, b, schema, np.random.default_rng(0), indpb=1.0)
    np.testing.assert_array_equal(c1, b)
    np.testing.assert_array_equal(c2, a)


def test_uniform_swap_rate_follows_indpb():
    schema = GeneSchema.from_lists(["float"] * 4)
    a, b = np.zeros((2500, 4)), np.ones((2500, 4))
    c1, c2 = crossover_uniform(a, b, schema, np.random.default_rng(1), indpb=0.3)
    np.testing.assert_array_equal(c1 + c2, np.ones_like(a))
    assert c1.mean() == pytest.approx(0.3, abs=0.02)


def test_blend_spreads_beyond_parents_with_alpha():
    schema = GeneSchema.from_lists(["float"])
    a, b = np.full((5000, 1), 0.4), np.full((5000, 1), 0.6)
    c1, _ = crossover_blend(a, b, schema, np.random.default_rng(2), alpha=0.5)
    # BLX-0.5 draws uniformly on [0.3, 0.7]
    assert c1.min() >= 0.3 - 1e-12 and c1.max() <= 0.7 + 1e-12
    assert c1.min() < 0.31 and c1.max() > 0.69
    assert (c1 < 0.4).mean() == pytest.approx(0.25, abs=0.03)


def test_sbx_indpb_zero_copies_parents():
    schema = GeneSchema.from_lists(["float", "float"])
    a = np.array([[0.1, 0.7], [0.3, 0.3]])
    b = np.array([[0.6, 0.2], [0.9, 0.5]])
    c1, c2 = crossover_sbx(a, b, schema, np.random.default_rng(0), indpb=0.0)
    np.testing.assert_array_equal(c1, a)
    np.testing.assert_array_equal(c2, b)


def test_sbx_large_eta_stays_near_parents():
    schema = GeneSchema.from_lists(["float"])
    a, b = np.full((4000, 1), 0.3), np.full((4000, 1), 0.7)
    tight = crossover_sbx(a, b, schema, np.random.default_rng(3), eta=200.0, indpb=1.0)
    loose = crossover_sbx(a, b, schema, np.random.default_rng(3), eta=1.0, indpb=1.0)

    def dist(children):
        c1, _ = children
        return np.minimum(np.abs(c1 - 0.3), np.abs(c1 - 0.7)).mean()

    assert dist(tight) < 0.02
    assert dist(tight) < 0.25 * dist(loose)
    # both children of a pair lie on either side of the parents' mean
    c1, c2 = tight
    assert ((c1 - 0.5) * (c2 - 0.5) < 0).all()


def test_sbx_recombines_with_indpb_one():
    schema = GeneSchema.from_lists(["float", "float"])
    a, b = np.full((200, 2), 0.2), np.full((200, 2), 0.8)
    c1, c2 = crossover_sbx(a, b, schema, np.random.default_rng(4), indpb=1.0)
    assert ((c1 != 0.2) & (c1 != 0.8)).all()
    assert ((c2 != 0.2) & (c2 != 0.8)).all()


@pytest.mark.parametrize("op", CROSSOVERS)
def test_different_seeds_differ(op):
    schema = GeneSchema.from_lists(
        ["float", "int", "categorical"], [0, 0, 4], [np.nan, 0, np.nan], [np.nan, 50, np.nan]
    )
    rng = np.random.default_rng(0)
    a = repair(rng.random((30, 3)) * [1, 1, 3], schema)
    b = repair(rng.random((30, 3)) * [1, 1, 3], schema)
    c1, _ = op(a, b, schema, np.random.default_rng(1))
    d1, _ = op(a, b, schema, np.random.default_rng(2))
    assert not np.array_equal(c1, d1)


@pytest.mark.parametrize("op", CROSSOVERS)
def test_empty_population(op):
    schema = GeneSchema.from_lists(["float", "categorical"], n_choices=[0, 3])
    c1, c2 = op(np.empty((0, 2)), np.empty((0, 2)), schema, np.random.default_rng(0))
    assert c1.shape == c2.shape == (0, 2)


# ---------------------------------------------------------------------------
# bad arguments


@pytest.mark.parametrize("op", CROSSOVERS)
@pytest.mark.parametrize(
    "shape_a, shape_b",
    [((2, 2), (3, 2)), ((2, 3), (2, 3)), ((2,), (2,)), ((2, 2), (2, 3))],
)
def test_shape_mismatch_rejected(op, shape_a, shape_b):
    schema = GeneSchema.from_lists(["float", "float"])
    with pytest.raises(ValueError, match="shape"):
        op(np.full(shape_a, 0.5), np.full(shape_b, 0.5), schema, np.random.default_rng(0))


@pytest.mark.parametrize("op", [crossover_uniform, crossover_sbx])
@pytest.mark.parametrize("indpb", [-0.1, 1.5, float("nan")])
def test_bad_indpb_rejected(op, indpb):
    schema = GeneSchema.from_lists(["float", "float"])
    a, b = np.full((2, 2), 0.2), np.full((2, 2), 0.7)
    with pytest.raises(ValueError, match="indpb"):
        op(a, b, schema, np.random.default_rng(0), indpb=indpb)


@pytest.mark.parametrize("eta", [0.0, -2.0])
def test_sbx_bad_eta_rejected(eta):
    schema = GeneSchema.from_lists(["float"])
    with pytest.raises(ValueError, match="eta"):
        crossover_sbx(
            np.full((1, 1), 0.2), np.full((1, 1), 0.7), schema, np.random.default_rng(0), eta=eta
        )


def test_blend_negative_alpha_rejected():
    schema = GeneSchema.from_lists(["float"])
    with pytest.raises(ValueError, match="alpha"):
        crossover_blend(
            np.full((1, 1), 0.2), np.full((1, 1), 0.7), schema, np.random.default_rng(0), alpha=-0.1
        )
