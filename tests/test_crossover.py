"""Tests for operators.crossover: uniform, blend (BLX-alpha) and SBX crossover."""

from __future__ import annotations

import numpy as np
import pytest
from _strategies import assert_bits_valid, assert_valid, schemas, valid_genes
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


# ---------------------------------------------------------------------------
# bit genes: uniform crossover whatever the rule, then repair of the bounds

ALL_KINDS = ("float", "int", "categorical", "bit")


@pytest.mark.parametrize("op", CROSSOVERS)
@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_bit_children_valid_pure_deterministic(op, data, seed):
    schema, a, b = data.draw(parent_pairs(kinds=ALL_KINDS))
    a0, b0 = a.copy(), b.copy()
    c1, c2 = op(a, b, schema, np.random.default_rng(seed))
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    for c in (c1, c2):
        assert_valid(c, schema)
        assert_bits_valid(c, schema)
    d1, d2 = op(a, b, schema, np.random.default_rng(seed))
    np.testing.assert_array_equal(c1, d1)
    np.testing.assert_array_equal(c2, d2)


@pytest.mark.parametrize("op", CROSSOVERS)
@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_free_bits_are_exchanged_not_blended(op, data, seed):
    # bits in no group are never repaired: each child's bit is a parent's bit
    schema, a, b = data.draw(parent_pairs(kinds=ALL_KINDS))
    free = schema.bit & (schema.group < 0)
    c1, c2 = op(a, b, schema, np.random.default_rng(seed))
    assert_genewise_permutation(c1, c2, a, b, columns=free)


def assert_repaired_towards_bounds(c, a, b, schema):
    """A child's bit differs from both parents' only where its group's count
    had to be repaired: a bit neither parent set is set only in a child at its
    minimum, a bit both parents set is cleared only in a child at its maximum."""
    for cols, lo, hi in schema.bit_groups:
        cc, aa, bb = c[:, cols], a[:, cols], b[:, cols]
        count = cc.sum(axis=1)
        raised = ((cc == 1) & (aa == 0) & (bb == 0)).any(axis=1)
        lowered = ((cc == 0) & (aa == 1) & (bb == 1)).any(axis=1)
        assert (count[raised] == lo).all()
        assert (count[lowered] == hi).all()


@pytest.mark.parametrize("op", CROSSOVERS)
@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_bits_change_only_as_the_bounds_require(op, data, seed):
    schema, a, b = data.draw(parent_pairs(kinds=ALL_KINDS))
    c1, c2 = op(a, b, schema, np.random.default_rng(seed))
    assert_repaired_towards_bounds(c1, a, b, schema)
    assert_repaired_towards_bounds(c2, a, b, schema)


@pytest.mark.parametrize("op", CROSSOVERS)
def test_identical_masks_give_identical_children(op):
    m = 12
    schema = GeneSchema.from_lists(["bit"] * m, low=[3] * m, high=[6] * m, group=[0] * m)
    rng = np.random.default_rng(0)
    a = repair(rng.random((50, m)), schema, rng)
    c1, c2 = op(a, a.copy(), schema, np.random.default_rng(1))
    np.testing.assert_array_equal(c1, a)
    np.testing.assert_array_equal(c2, a)


def test_sbx_exchanges_bits_with_probability_half():
    schema = GeneSchema.from_lists(["float"] + ["bit"] * 4)
    a = np.tile([0.2, 0.0, 0.0, 0.0, 0.0], (2500, 1))
    b = np.tile([0.8, 1.0, 1.0, 1.0, 1.0], (2500, 1))
    c1, c2 = crossover_sbx(a, b, schema, np.random.default_rng(5), indpb=1.0)
    np.testing.assert_array_equal(c1[:, 1:] + c2[:, 1:], np.ones((2500, 4)))
    assert c1[:, 1:].mean() == pytest.approx(0.5, abs=0.02)
    assert ((c1[:, 0] != 0.2) & (c1[:, 0] != 0.8)).all()  # the float is still recombined


@pytest.mark.parametrize("op", CROSSOVERS)
def test_crossed_masks_stay_within_bounds(op):
    m = 40
    schema = GeneSchema.from_lists(["bit"] * m, low=[5] * m, high=[8] * m, group=[0] * m)
    a = np.zeros((500, m))
    a[:, :8] = 1.0
    b = np.zeros((500, m))
    b[:, 32:] = 1.0  # disjoint masks: a child gets about 8 of their 16 bits, often more
    c1, c2 = op(a, b, schema, np.random.default_rng(6))
    for c in (c1, c2):
        count = c.sum(axis=1)
        assert ((count >= 5) & (count <= 8)).all()
        assert (count == 8).mean() > 0.4  # the children above the bound were cut to it
        assert_repaired_towards_bounds(c, a, b, schema)


def test_crossovers_without_bits_draw_as_before():
    # bit support must leave the children and the draws, hence a run's history,
    # unchanged for a genome without bit genes (values from before it existed)
    schema = GeneSchema.from_lists(
        ["float", "int", "categorical"], [0, 0, 4], [np.nan, 0, np.nan], [np.nan, 20, np.nan]
    )
    a = repair(np.random.default_rng(0).random((3, 3)) * [1, 1, 3], schema)
    b = repair(np.random.default_rng(1).random((3, 3)) * [1, 1, 3], schema)
    expected = {
        crossover_uniform: ([0.636961687321, 0.928571428571, 0.0], 0.4372480001295087),
        crossover_blend: ([0.48172563887, 0.309523809524, 0.0], 0.2991810731982467),
        crossover_sbx: ([0.642465867669, 0.261904761905, 0.0], 0.12651840723991825),
    }
    for op, (first_row, after) in expected.items():
        rng = np.random.default_rng(9)
        c1, _ = op(a, b, schema, rng)
        np.testing.assert_allclose(c1[0], first_row, atol=1e-11)
        assert rng.random() == pytest.approx(after, abs=1e-15)
