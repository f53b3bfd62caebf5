"""Tests for operators.schema: the gene schema, integer bins, reflection, repair."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _strategies import assert_bits_valid, schemas
from hypothesis import given, settings
from hypothesis import strategies as st

from operators.schema import (
    BIT,
    CATEGORICAL,
    FLOAT,
    INTEGER,
    GeneSchema,
    integer_to_unit,
    integers_resolved,
    largest_resolved_high,
    reflect,
    repair,
    unit_to_integer,
)

PROPERTY = settings(max_examples=60, deadline=None)


@st.composite
def raw_genes(draw, schema, n):
    """Arbitrary (possibly invalid) finite genes."""
    cells = st.floats(-5.0, 5.0, allow_nan=False)
    values = [draw(cells) for _ in range(n * schema.n_genes)]
    return np.array(values, dtype=np.float64).reshape(n, schema.n_genes)


@st.composite
def schema_and_raw(draw):
    schema = draw(schemas())
    n = draw(st.integers(0, 6))
    return schema, draw(raw_genes(schema, n))


# ---------------------------------------------------------------------------
# GeneSchema


def test_from_lists_names_and_codes():
    by_name = GeneSchema.from_lists(
        ["float", "int", "integer", "categorical"],
        n_choices=[0, 0, 0, 3],
        low=[np.nan, 1, 2, np.nan],
        high=[np.nan, 5, 9, np.nan],
        log=[False, True, False, False],
    )
    by_code = GeneSchema.from_lists(
        [FLOAT, INTEGER, INTEGER, CATEGORICAL],
        n_choices=[0, 0, 0, 3],
        low=[np.nan, 1, 2, np.nan],
        high=[np.nan, 5, 9, np.nan],
        log=[False, True, False, False],
    )
    for s in (by_name, by_code):
        assert s.n_genes == 4
        np.testing.assert_array_equal(s.kinds, [FLOAT, INTEGER, INTEGER, CATEGORICAL])
        np.testing.assert_array_equal(s.numeric, [True, True, True, False])
        np.testing.assert_array_equal(s.integer, [False, True, True, False])
        np.testing.assert_array_equal(s.categorical, [False, False, False, True])
        np.testing.assert_array_equal(s.n_choices, [0, 0, 0, 3])
        np.testing.assert_array_equal(s.log, [False, True, False, False])
        assert s.n_choices.dtype == np.int64
        assert s.low.dtype == np.float64 and s.log.dtype == np.bool_


def test_from_lists_defaults():
    s = GeneSchema.from_lists(["float", "float"])
    np.testing.assert_array_equal(s.n_choices, [0, 0])
    assert np.isnan(s.low).all() and np.isnan(s.high).all()
    np.testing.assert_array_equal(s.log, [False, False])


def test_from_lists_wrong_length():
    with pytest.raises(ValueError, match="expected 2 values"):
        GeneSchema.from_lists(["float", "categorical"], n_choices=[3])
    with pytest.raises(ValueError, match="expected 1 values"):
        GeneSchema.from_lists(["int"], low=[0, 1], high=[3])


def test_from_lists_unknown_kind():
    with pytest.raises((KeyError, ValueError)):
        GeneSchema.from_lists(["floaty"])


def test_schema_is_frozen():
    s = GeneSchema.from_lists(["float"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.kinds = np.array([1], dtype=np.int8)


# ---------------------------------------------------------------------------
# integer bins


def test_unit_to_integer_example():
    out = unit_to_integer(np.array([0.0, 0.5, 1.0]), np.array(1.0), np.array(3.0), np.array(False))
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])


def test_uniform_unit_gives_uniform_integers():
    u = (np.arange(1000) + 0.5) / 1000
    v = unit_to_integer(u, np.array(0.0), np.array(4.0), np.array(False))
    np.testing.assert_array_equal(np.bincount(v.astype(int)), [200] * 5)


def test_log_bins_equal_in_log_space():
    u = (np.arange(100_000) + 0.5) / 100_000
    v = unit_to_integer(u, np.array(1.0), np.array(100.0), np.array(True)).astype(int)
    assert v.min() == 1 and v.max() == 100
    counts = np.bincount(v, minlength=101)[1:]
    expected = np.log(np.arange(2, 102) / np.arange(1, 101)) / np.log(101) * u.size
    np.testing.assert_allclose(counts, expected, atol=2)


@PROPERTY
@given(st.integers(-1000, 1000), st.integers(1, 5000), st.booleans())
def test_integer_unit_round_trip(low, width, log):
    if log:
        low = abs(low) + 1
    high = low + width
    v = np.arange(low, high + 1, dtype=float)
    lo, hi, lg = np.array(float(low)), np.array(float(high)), np.array(log)
    u = integer_to_unit(v, lo, hi, lg)
    assert ((u > 0) & (u < 1)).all()
    assert (np.diff(u) > 0).all()
    np.testing.assert_array_equal(unit_to_integer(u, lo, hi, lg), v)
    ends = unit_to_integer(np.array([0.0, 1.0]), lo, hi, lg)
    np.testing.assert_array_equal(ends, [low, high])


def test_integer_to_unit_is_bin_centre():
    u = integer_to_unit(np.arange(4.0), np.array(0.0), np.array(3.0), np.array(False))
    np.testing.assert_allclose(u, [0.125, 0.375, 0.625, 0.875])


# ---------------------------------------------------------------------------
# reflect


def test_reflect_values():
    x = np.array([0.0, 0.3, 1.0, 1.2, -0.3, 2.5, -1.75, 3.0])
    np.testing.assert_allclose(reflect(x), [0.0, 0.3, 1.0, 0.8, 0.3, 0.5, 0.25, 1.0])


@PROPERTY
@given(st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=20))
def test_reflect_lands_in_unit_interval(xs):
    x = np.array(xs)
    y = reflect(x)
    assert ((y >= 0) & (y <= 1)).all()
    inside = (x >= 0) & (x <= 1)
    np.testing.assert_array_equal(y[inside], x[inside])


# ---------------------------------------------------------------------------
# repair


def test_repair_example():
    s = GeneSchema.from_lists(["float", "categorical"], n_choices=[0, 2])
    np.testing.assert_allclose(repair(np.array([[1.2, 1.7]]), s), [[0.8, 1.0]])


def test_repair_by_kind():
    s = GeneSchema.from_lists(
        ["float", "int", "categorical"],
        n_choices=[0, 0, 3],
        low=[np.nan, 0, np.nan],
        high=[np.nan, 3, np.nan],
    )
    genes = np.array([[-0.25, 0.01, -0.4], [0.5, 0.99, 2.6], [1.5, 0.5, 1.4], [0.2, 0.3, 7.0]])
    before = genes.copy()
    out = repair(genes, s)
    np.testing.assert_array_equal(genes, before)
    np.testing.assert_allclose(out[:, 0], [0.25, 0.5, 0.5, 0.2])
    np.testing.assert_allclose(out[:, 1], [0.125, 0.875, 0.625, 0.375])
    np.testing.assert_array_equal(out[:, 2], [0.0, 2.0, 1.0, 2.0])


def test_repair_rejects_bad_shape():
    s = GeneSchema.from_lists(["float", "float"])
    with pytest.raises(ValueError, match="shape"):
        repair(np.zeros(2), s)
    with pytest.raises(ValueError, match="shape"):
        repair(np.zeros((3, 3)), s)


def assert_valid(out: np.ndarray, schema: GeneSchema) -> None:
    # checked from the bin arithmetic, not with repair(): repair is under test here
    assert np.isfinite(out).all()
    num = out[:, schema.numeric]
    assert ((num >= 0) & (num <= 1)).all()
    cats = out[:, schema.categorical]
    assert (cats == np.rint(cats)).all()
    assert ((cats >= 0) & (cats < schema.n_choices[schema.categorical])).all()
    ints = schema.integer
    lo, hi, lg = schema.low[ints], schema.high[ints], schema.log[ints]
    centres = integer_to_unit(unit_to_integer(out[:, ints], lo, hi, lg), lo, hi, lg)
    np.testing.assert_array_equal(out[:, ints], centres)


@PROPERTY
@given(schema_and_raw())
def test_repair_valid_and_idempotent(case):
    schema, genes = case
    before = genes.copy()
    out = repair(genes, schema)
    np.testing.assert_array_equal(genes, before)
    assert out.shape == genes.shape and out.dtype == np.float64
    assert_valid(out, schema)
    np.testing.assert_array_equal(repair(out, schema), out)


# ---------------------------------------------------------------------------
# bit genes and their groups

ALL_KINDS = ("float", "int", "categorical", "bit")


def mask_schema(m: int = 5, low: int = 1, high: int = 3) -> GeneSchema:
    return GeneSchema.from_lists(["bit"] * m, low=[low] * m, high=[high] * m, group=[0] * m)


def test_bit_kind_and_groups():
    s = GeneSchema.from_lists(
        ["float", "bit", "bit", "bit", "categorical", "bit", "bit"],
        n_choices=[0, 0, 0, 0, 2, 0, 0],
        low=[np.nan, 1, 1, 1, np.nan, np.nan, np.nan],
        high=[np.nan, 2, 2, 2, np.nan, np.nan, np.nan],
        group=[-1, 0, 0, 0, -1, -1, -1],
    )
    np.testing.assert_array_equal(s.kinds, [FLOAT, BIT, BIT, BIT, CATEGORICAL, BIT, BIT])
    np.testing.assert_array_equal(s.bit, [False, True, True, True, False, True, True])
    # bits are neither numeric nor categorical: no operator blends or resets them
    np.testing.assert_array_equal(s.numeric, [True, False, False, False, False, False, False])
    assert not (s.categorical & s.bit).any()
    groups = s.bit_groups
    assert len(groups) == 1
    cols, lo, hi = groups[0]
    assert cols.tolist() == [1, 2, 3] and (lo, hi) == (1, 2)
    assert isinstance(lo, int) and isinstance(hi, int)


def test_default_group_is_none():
    s = GeneSchema.from_lists(["float", "bit"])
    np.testing.assert_array_equal(s.group, [-1, -1])
    assert s.group.dtype == np.int64
    assert s.bit_groups == []


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kinds": ["float"], "group": [0]}, "only bit columns form groups"),
        ({"kinds": ["bit", "bit"], "group": [0, 0]}, "must be finite counts"),
        (
            {"kinds": ["bit", "bit"], "low": [1, 0], "high": [2, 2], "group": [0, 0]},
            "same on every column",
        ),
        ({"kinds": ["bit", "bit"], "low": [1, 1], "high": [3, 3], "group": [0, 0]}, "<= 2"),
        ({"kinds": ["bit", "bit"], "low": [2, 2], "high": [1, 1], "group": [0, 0]}, "low <= high"),
        ({"kinds": ["bit"], "low": [0.5], "high": [1], "group": [0]}, "whole counts"),
        ({"kinds": ["bit"], "low": [0], "high": [1], "group": [-2]}, "-1 or >= 0"),
        ({"kinds": ["bit", "bit"], "group": [0]}, "expected 2 values"),
    ],
)
def test_bad_groups_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GeneSchema.from_lists(**kwargs)


def test_repair_bits_threshold_at_half():
    s = GeneSchema.from_lists(["bit"] * 4)
    out = repair(np.array([[0.49, 0.5, -3.0, 7.0]]), s)
    np.testing.assert_array_equal(out, [[0.0, 1.0, 0.0, 1.0]])


def test_repair_bit_counts_without_rng_is_deterministic():
    s = mask_schema(5, low=2, high=3)
    genes = np.array(
        [
            [1, 1, 1, 1, 1],  # too many: the last set bits are cleared
            [0, 0, 0, 0, 0],  # too few: the first unset bits are set
            [0, 0, 0, 0, 1],
            [1, 0, 1, 0, 0],  # valid: untouched
        ],
        dtype=float,
    )
    np.testing.assert_array_equal(
        repair(genes, s),
        [[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 0, 0, 0, 1], [1, 0, 1, 0, 0]],
    )


def test_repair_bit_counts_with_rng_spreads_the_change():
    s = mask_schema(6, low=1, high=2)
    out = repair(np.ones((3000, 6)), s, np.random.default_rng(0))
    np.testing.assert_array_equal(out.sum(axis=1), np.full(3000, 2.0))
    # the two kept bits are drawn at random: each column is kept a third of the time
    np.testing.assert_allclose(out.mean(axis=0), np.full(6, 1 / 3), atol=0.04)
    up = repair(np.zeros((3000, 6)), s, np.random.default_rng(1))
    np.testing.assert_array_equal(up.sum(axis=1), np.ones(3000))
    np.testing.assert_allclose(up.mean(axis=0), np.full(6, 1 / 6), atol=0.03)


def test_repair_draws_nothing_for_valid_rows():
    s = GeneSchema.from_lists(
        ["float", "bit", "bit", "bit"],
        low=[np.nan, 1, 1, 1],
        high=[np.nan, 2, 2, 2],
        group=[-1, 0, 0, 0],
    )
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    genes = np.array([[0.3, 1.0, 0.0, 0.0], [0.7, 1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(repair(genes, s, rng), genes)
    assert rng.bit_generator.state == state


@st.composite
def bit_schema_and_raw(draw):
    schema = draw(schemas(kinds=ALL_KINDS))
    n = draw(st.integers(0, 6))
    return schema, draw(raw_genes(schema, n))


@PROPERTY
@given(bit_schema_and_raw(), st.one_of(st.none(), st.integers(0, 2**32 - 1)))
def test_repair_with_bits_valid_idempotent_and_minimal(case, seed):
    schema, genes = case
    rng = None if seed is None else np.random.default_rng(seed)
    before = genes.copy()
    out = repair(genes, schema, rng)
    np.testing.assert_array_equal(genes, before)
    assert_valid(out, schema)
    assert_bits_valid(out, schema)
    np.testing.assert_array_equal(repair(out, schema, np.random.default_rng(0)), out)
    # only as many bits change as the bounds require
    thresholded = np.where(genes >= 0.5, 1.0, 0.0)
    for cols, lo, hi in schema.bit_groups:
        count = thresholded[:, cols].sum(axis=1)
        need = np.maximum(0, np.maximum(count - hi, lo - count))
        changed = (out[:, cols] != thresholded[:, cols]).sum(axis=1)
        np.testing.assert_array_equal(changed, need)
    free = schema.bit & (schema.group < 0)
    np.testing.assert_array_equal(out[:, free], thresholded[:, free])


@PROPERTY
@given(bit_schema_and_raw(), st.integers(0, 2**32 - 1))
def test_repair_with_rng_is_deterministic(case, seed):
    schema, genes = case
    a = repair(genes, schema, np.random.default_rng(seed))
    b = repair(genes, schema, np.random.default_rng(seed))
    np.testing.assert_array_equal(a, b)


def _round_trip_failures(low, high, log):
    """How many of the integers at both ends of [low, high] do not map back."""
    v = np.concatenate([np.arange(low, low + 200), np.arange(high - 200, high + 1)]).astype(float)
    lo, hi = np.float64(low), np.float64(high)
    return int((unit_to_integer(integer_to_unit(v, lo, hi, log), lo, hi, log) != v).sum())


@pytest.mark.parametrize("log", [False, True])
def test_integers_resolved_keeps_a_margin_before_round_trips_fail(log):
    top = largest_resolved_high(log)
    low = 1 if log else -top
    assert integers_resolved(low, top, log) and not integers_resolved(low, top + 1, log)
    assert _round_trip_failures(max(low, top - 10**6), top, log) == 0
    # round trips were seen to fail near 2**52 (linear) and 2**47 (log): the
    # limits stay 32 times below
    broken = 2**52 if not log else 2**47
    assert broken // top >= 32
    low = -broken if not log else broken - 10**6
    assert _round_trip_failures(low, broken, log) > 0
    assert not integers_resolved(low, broken, log)


def test_integers_resolved_refuses_bounds_beyond_float64():
    assert not integers_resolved(0, 10**400, False)
    assert not integers_resolved(1, 10**400, True)
    assert not integers_resolved(0, 5, True)  # log needs low >= 1
