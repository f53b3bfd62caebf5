"""Tests for operators.mutation: typed Gaussian and polynomial mutation."""

from __future__ import annotations

import random

import numpy as np
import pytest
from _strategies import assert_bits_valid, assert_valid, schemas, valid_genes
from hypothesis import given, settings
from hypothesis import strategies as st

from operators.mutation import mutate_bitflip, mutate_gaussian, mutate_polynomial
from operators.schema import GeneSchema, repair

PROPERTY = settings(max_examples=60, deadline=None)
UNIT = st.floats(0.0, 1.0)
MUTATIONS = [mutate_gaussian, mutate_polynomial]


@st.composite
def populations(draw, kinds=("float", "int", "categorical"), unit=UNIT):
    schema = draw(schemas(kinds))
    n = draw(st.integers(1, 8))
    return schema, draw(valid_genes(schema, n, unit))


def kwargs_strategy(op):
    common = {
        "indpb": st.one_of(st.none(), st.floats(0.0, 1.0)),
        "category_prob": st.floats(0.0, 1.0),
    }
    if op is mutate_gaussian:
        common["sigma"] = st.floats(1e-3, 2.0)
    else:
        common["eta"] = st.floats(0.5, 100.0)
    return st.fixed_dictionaries(common)


# ---------------------------------------------------------------------------
# properties


@pytest.mark.parametrize("op", MUTATIONS)
@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_output_valid_shape_pure_deterministic(op, data, seed):
    schema, genes = data.draw(populations())
    kwargs = data.draw(kwargs_strategy(op))
    before = genes.copy()
    out = op(genes, schema, np.random.default_rng(seed), **kwargs)
    assert out.shape == genes.shape
    assert out is not genes
    np.testing.assert_array_equal(genes, before)
    assert_valid(out, schema)
    again = op(genes, schema, np.random.default_rng(seed), **kwargs)
    np.testing.assert_array_equal(out, again)


@PROPERTY
@given(populations(kinds=("float",)), st.integers(0, 2**32 - 1), st.floats(1e-3, 1.0))
def test_gaussian_changes_a_gene_of_every_row(case, seed, sigma):
    schema, genes = case
    out = mutate_gaussian(genes, schema, np.random.default_rng(seed), sigma=sigma)
    assert (out != genes).any(axis=1).all()


@PROPERTY
@given(
    populations(kinds=("float",), unit=st.floats(0.01, 0.99)),
    st.integers(0, 2**32 - 1),
    st.floats(0.5, 100.0),
)
def test_polynomial_changes_a_gene_of_every_row(case, seed, eta):
    schema, genes = case
    out = mutate_polynomial(genes, schema, np.random.default_rng(seed), eta=eta)
    assert (out != genes).any(axis=1).all()


@pytest.mark.parametrize("value", [0.0, 1.0])
@pytest.mark.parametrize("op", MUTATIONS)
def test_genes_on_a_bound_still_change(op, value):
    # a float gene sitting on a bound can always move inwards, so a mutant of
    # an all-float genome must never be a copy of its parent
    schema = GeneSchema.from_lists(["float", "float"])
    genes = np.full((200, 2), value)
    out = op(genes, schema, np.random.default_rng(0))
    unchanged = int((out == genes).all(axis=1).sum())
    assert unchanged == 0, f"{unchanged} of 200 mutants equal their parent"


@pytest.mark.parametrize("op", MUTATIONS)
@PROPERTY
@given(n_choices=st.integers(2, 7), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_chosen_category_changes(op, n_choices, seed, data):
    schema = GeneSchema.from_lists(["categorical"] * 3, n_choices=[n_choices] * 3)
    genes = data.draw(valid_genes(schema, 5))
    out = op(genes, schema, np.random.default_rng(seed), indpb=1.0, category_prob=1.0)
    assert (out != genes).all()
    assert_valid(out, schema)


# ---------------------------------------------------------------------------
# behaviour


@pytest.mark.parametrize("op", MUTATIONS)
def test_category_reset_spreads_over_other_choices(op):
    schema = GeneSchema.from_lists(["categorical"], n_choices=[4])
    genes = np.full((4000, 1), 2.0)
    out = op(genes, schema, np.random.default_rng(1), category_prob=1.0)
    counts = np.bincount(out[:, 0].astype(int), minlength=4)
    assert counts[2] == 0
    for c in (0, 1, 3):
        assert abs(counts[c] - 4000 / 3) < 150, counts


@pytest.mark.parametrize("op", MUTATIONS)
def test_category_prob_zero_keeps_categories(op):
    schema = GeneSchema.from_lists(["categorical", "categorical"], n_choices=[3, 5])
    genes = np.array([[0.0, 4.0], [2.0, 1.0], [1.0, 0.0]])
    out = op(genes, schema, np.random.default_rng(0), indpb=1.0, category_prob=0.0)
    np.testing.assert_array_equal(out, genes)


@pytest.mark.parametrize("op", MUTATIONS)
def test_single_choice_category_stays(op):
    schema = GeneSchema.from_lists(["categorical"], n_choices=[1])
    out = op(np.zeros((10, 1)), schema, np.random.default_rng(0), indpb=1.0)
    np.testing.assert_array_equal(out, np.zeros((10, 1)))


@pytest.mark.parametrize("op", MUTATIONS)
def test_indpb_one_mutates_every_float(op):
    schema = GeneSchema.from_lists(["float"] * 5)
    genes = np.full((50, 5), 0.5)
    out = op(genes, schema, np.random.default_rng(3), indpb=1.0)
    assert (out != genes).all()


@pytest.mark.parametrize("op", MUTATIONS)
def test_indpb_zero_still_mutates_exactly_one_gene(op):
    schema = GeneSchema.from_lists(["float"] * 5)
    genes = np.full((300, 5), 0.5)
    out = op(genes, schema, np.random.default_rng(4), indpb=0.0)
    np.testing.assert_array_equal((out != genes).sum(axis=1), np.ones(300))
    # the forced gene is spread over the columns
    assert ((out != genes).sum(axis=0) > 30).all()


@pytest.mark.parametrize("op", MUTATIONS)
def test_default_indpb_is_one_over_d(op):
    d = 10
    schema = GeneSchema.from_lists(["float"] * d)
    genes = np.full((2000, d), 0.5)
    out = op(genes, schema, np.random.default_rng(5))
    mean_changed = (out != genes).sum(axis=1).mean()
    # 1/d per gene plus the forced gene when none was drawn: ~1 + (1 - 1/d)^d
    assert 1.1 < mean_changed < 1.7


def test_gaussian_step_scales_with_sigma():
    schema = GeneSchema.from_lists(["float"])
    genes = np.full((5000, 1), 0.5)
    for sigma in (0.01, 0.05):
        out = mutate_gaussian(genes, schema, np.random.default_rng(6), sigma=sigma)
        mean_abs = np.abs(out - genes).mean()
        assert mean_abs == pytest.approx(sigma * np.sqrt(2 / np.pi), rel=0.1)


def test_gaussian_sigma_per_genome():
    schema = GeneSchema.from_lists(["float", "float"])
    genes = np.full((4, 2), 0.5)
    sigma = np.array([[0.0], [0.1], [0.0], [0.1]])
    out = mutate_gaussian(genes, schema, np.random.default_rng(0), sigma=sigma, indpb=1.0)
    np.testing.assert_array_equal(out[[0, 2]], genes[[0, 2]])
    assert (out[[1, 3]] != genes[[1, 3]]).all()


def test_polynomial_step_shrinks_with_eta():
    schema = GeneSchema.from_lists(["float"])
    genes = np.full((5000, 1), 0.5)
    small = mutate_polynomial(genes, schema, np.random.default_rng(7), eta=100.0)
    large = mutate_polynomial(genes, schema, np.random.default_rng(7), eta=2.0)
    assert np.abs(small - genes).mean() < 0.5 * np.abs(large - genes).mean()
    # symmetric around the parent in the middle of the interval
    assert abs((large - genes).mean()) < 0.01


@pytest.mark.parametrize("op", MUTATIONS)
def test_integer_genes_land_on_bins(op):
    schema = GeneSchema.from_lists(["int"], low=[0], high=[9])
    genes = repair(np.full((500, 1), 0.55), schema)
    out = op(genes, schema, np.random.default_rng(8), indpb=1.0)
    assert_valid(out, schema)
    assert len(np.unique(out)) > 1


@pytest.mark.parametrize("op", MUTATIONS)
def test_same_seed_same_result_different_seed_differs(op):
    schema = GeneSchema.from_lists(
        ["float", "int", "categorical"], [0, 0, 4], [np.nan, 0, np.nan], [np.nan, 20, np.nan]
    )
    genes = repair(np.random.default_rng(0).random((20, 3)) * [1, 1, 3], schema)
    a = op(genes, schema, np.random.default_rng(11))
    b = op(genes, schema, np.random.default_rng(11))
    c = op(genes, schema, np.random.default_rng(12))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("op", MUTATIONS)
def test_global_random_state_untouched(op):
    schema = GeneSchema.from_lists(["float", "categorical"], n_choices=[0, 3])
    genes = np.array([[0.5, 1.0]] * 10)
    random.seed(1)
    np.random.seed(1)
    py_state, np_state = random.getstate(), np.random.get_state()
    a = op(genes, schema, np.random.default_rng(0))
    assert random.getstate() == py_state
    assert np.array_equal(np.random.get_state()[1], np_state[1])
    random.seed(99)
    np.random.seed(99)
    np.testing.assert_array_equal(op(genes, schema, np.random.default_rng(0)), a)


def test_empty_population():
    schema = GeneSchema.from_lists(["float", "categorical"], n_choices=[0, 3])
    for op in MUTATIONS:
        assert op(np.empty((0, 2)), schema, np.random.default_rng(0)).shape == (0, 2)


# ---------------------------------------------------------------------------
# bad arguments


@pytest.mark.parametrize("op", MUTATIONS)
@pytest.mark.parametrize("shape", [(2,), (3, 3), (2, 1), (1, 2, 2)])
def test_shape_mismatch_rejected(op, shape):
    schema = GeneSchema.from_lists(["float", "float"])
    with pytest.raises(ValueError, match="shape"):
        op(np.full(shape, 0.5), schema, np.random.default_rng(0))


@pytest.mark.parametrize("op", MUTATIONS)
@pytest.mark.parametrize("indpb", [-0.1, 1.5, float("nan")])
def test_bad_indpb_rejected(op, indpb):
    schema = GeneSchema.from_lists(["float", "float"])
    with pytest.raises(ValueError, match="indpb"):
        op(np.full((2, 2), 0.5), schema, np.random.default_rng(0), indpb=indpb)


@pytest.mark.parametrize("eta", [0.0, -1.0])
def test_polynomial_bad_eta_rejected(eta):
    schema = GeneSchema.from_lists(["float"])
    with pytest.raises(ValueError, match="eta"):
        mutate_polynomial(np.full((2, 1), 0.5), schema, np.random.default_rng(0), eta=eta)


# ---------------------------------------------------------------------------
# bit genes: bit-flip mutation, alone or inside the typed mutations

ALL_KINDS = ("float", "int", "categorical", "bit")
BIT_MUTATIONS = [mutate_bitflip, mutate_gaussian, mutate_polynomial]


def mask_schema(m: int, low: int, high: int) -> GeneSchema:
    return GeneSchema.from_lists(["bit"] * m, low=[low] * m, high=[high] * m, group=[0] * m)


@pytest.mark.parametrize("op", BIT_MUTATIONS)
@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_bit_schemas_valid_pure_deterministic(op, data, seed):
    schema, genes = data.draw(populations(kinds=ALL_KINDS))
    indpb = data.draw(st.one_of(st.none(), st.floats(0.0, 1.0)))
    before = genes.copy()
    out = op(genes, schema, np.random.default_rng(seed), indpb=indpb)
    np.testing.assert_array_equal(genes, before)
    assert out.shape == genes.shape
    assert_valid(out, schema)
    assert_bits_valid(out, schema)
    np.testing.assert_array_equal(out, op(genes, schema, np.random.default_rng(seed), indpb=indpb))


@PROPERTY
@given(populations(kinds=ALL_KINDS), st.integers(0, 2**32 - 1))
def test_bitflip_changes_only_bits(case, seed):
    schema, genes = case
    out = mutate_bitflip(genes, schema, np.random.default_rng(seed))
    np.testing.assert_array_equal(out[:, ~schema.bit], genes[:, ~schema.bit])


@st.composite
def changeable_masks(draw):
    """A bounded bit group with more than one valid mask, and genomes of it."""
    m = draw(st.integers(2, 12))
    low = draw(st.integers(0, m - 1))
    high = draw(st.integers(max(low, 1), m))
    schema = mask_schema(m, low, high)
    return schema, draw(valid_genes(schema, 6))


@PROPERTY
@given(changeable_masks(), st.integers(0, 2**32 - 1))
def test_bitflip_always_changes_a_mask_that_can_change(case, seed):
    schema, genes = case
    out = mutate_bitflip(genes, schema, np.random.default_rng(seed))
    assert_bits_valid(out, schema)
    assert (out != genes).any(axis=1).all()


def test_bitflip_at_an_exact_count_swaps():
    schema = mask_schema(10, 3, 3)
    genes = np.zeros((500, 10))
    genes[:, :3] = 1.0
    out = mutate_bitflip(genes, schema, np.random.default_rng(0))
    np.testing.assert_array_equal(out.sum(axis=1), np.full(500, 3.0))
    assert (out != genes).any(axis=1).all()


def test_bitflip_default_rate_is_one_over_the_bits():
    schema = GeneSchema.from_lists(["float"] * 5 + ["bit"] * 20)
    genes = np.zeros((3000, 25))
    genes[:, :5] = 0.5
    out = mutate_bitflip(genes, schema, np.random.default_rng(1))
    flips = (out != genes).sum(axis=1)
    assert flips.min() >= 1
    # 1/20 per bit plus the forced one when none was drawn: ~1 + (1 - 1/20)^20
    assert 1.2 < flips.mean() < 1.55


def test_bitflip_indpb_one_flips_every_free_bit():
    schema = GeneSchema.from_lists(["bit"] * 4)
    genes = np.array([[1.0, 0.0, 1.0, 0.0]])
    out = mutate_bitflip(genes, schema, np.random.default_rng(0), indpb=1.0)
    np.testing.assert_array_equal(out, 1.0 - genes)


def test_bitflip_without_bits_is_a_copy():
    schema = GeneSchema.from_lists(["float", "categorical"], n_choices=[0, 3])
    genes = np.array([[0.25, 2.0]])
    out = mutate_bitflip(genes, schema, np.random.default_rng(0))
    np.testing.assert_array_equal(out, genes)
    assert out is not genes


@pytest.mark.parametrize("indpb", [-0.1, 1.5, float("nan")])
def test_bitflip_bad_indpb_rejected(indpb):
    with pytest.raises(ValueError, match="indpb"):
        mutate_bitflip(
            np.zeros((1, 2)), mask_schema(2, 0, 2), np.random.default_rng(0), indpb=indpb
        )


@pytest.mark.parametrize("op", [mutate_gaussian, mutate_polynomial])
def test_typed_mutations_flip_chosen_bits(op):
    schema = GeneSchema.from_lists(["float", "bit", "bit", "bit"])
    genes = np.array([[0.5, 1.0, 0.0, 1.0]] * 20)
    out = op(genes, schema, np.random.default_rng(2), indpb=1.0)
    np.testing.assert_array_equal(out[:, 1:], 1.0 - genes[:, 1:])
    assert (out[:, 0] != 0.5).all()


@pytest.mark.parametrize("op", [mutate_gaussian, mutate_polynomial])
def test_typed_mutations_keep_mask_bounds_and_change_the_mask(op):
    schema = mask_schema(30, 5, 5)
    rng = np.random.default_rng(3)
    genes = repair(rng.random((400, 30)), schema, rng)
    out = op(genes, schema, np.random.default_rng(4))
    np.testing.assert_array_equal(out.sum(axis=1), np.full(400, 5.0))
    assert (out != genes).any(axis=1).all()


def test_mutations_without_bits_draw_as_before():
    # bit support must leave the results and the draws, hence a run's history,
    # unchanged for a genome without bit genes (values from before it existed)
    schema = GeneSchema.from_lists(
        ["float", "int", "categorical"], [0, 0, 4], [np.nan, 0, np.nan], [np.nan, 20, np.nan]
    )
    genes = repair(np.random.default_rng(0).random((3, 3)) * [1, 1, 3], schema)
    expected = {
        mutate_gaussian: [0.404761904762, 0.37013154514000746],
        mutate_polynomial: [0.166666666667, 0.37013154514000746],
    }
    for op, (gene, after) in expected.items():
        rng = np.random.default_rng(9)
        out = op(genes, schema, rng)
        np.testing.assert_allclose(out[:, 0], [0.636961687321, 0.016527635529, 0.606635775767])
        np.testing.assert_allclose(out[:, 1], [gene, 0.833333333333, 0.738095238095])
        np.testing.assert_array_equal(out[:, 2], [0.0, 2.0, 0.0])
        assert rng.random() == pytest.approx(after, abs=1e-15)
