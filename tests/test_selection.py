"""Tests for operators.selection: best-k and tournament selection (higher is better)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from operators.selection import select_best, select_tournament

PROPERTY = settings(max_examples=60, deadline=None)

fitness_values = st.one_of(
    st.sampled_from([-math.inf, 0.0, 1.0, 0.5]),  # plenty of ties
    st.floats(-1e6, 1e6, allow_nan=False),
)
fitness_arrays = st.lists(fitness_values, min_size=1, max_size=30).map(np.array)


# ---------------------------------------------------------------------------
# select_best


def test_select_best_order():
    np.testing.assert_array_equal(select_best(np.array([0.1, 0.9, 0.5]), 2), [1, 2])
    np.testing.assert_array_equal(select_best([0.1, 0.9, 0.5], 3), [1, 2, 0])


def test_select_best_ties_keep_original_order():
    f = np.array([1.0, 3.0, 3.0, 2.0, 3.0, 1.0])
    np.testing.assert_array_equal(select_best(f, 6), [1, 2, 4, 3, 0, 5])
    np.testing.assert_array_equal(select_best(f, 2), [1, 2])
    np.testing.assert_array_equal(select_best(np.zeros(5), 5), [0, 1, 2, 3, 4])


def test_select_best_minus_inf_last():
    f = np.array([-np.inf, 0.5, -np.inf, 1.0, -3.0])
    np.testing.assert_array_equal(select_best(f, 5), [3, 1, 4, 0, 2])
    np.testing.assert_array_equal(select_best(np.full(3, -np.inf), 2), [0, 1])


def test_select_best_k_bounds():
    f = np.array([0.1, 0.2])
    assert select_best(f, 0).shape == (0,)
    np.testing.assert_array_equal(select_best(f, 2), [1, 0])
    for k in (-1, 3):
        with pytest.raises(ValueError, match="k"):
            select_best(f, k)


@pytest.mark.parametrize(
    "select",
    [
        lambda f: select_best(f, 1),
        lambda f: select_tournament(f, 1, np.random.default_rng(0)),
    ],
)
def test_bad_fitness_rejected(select):
    with pytest.raises(ValueError, match="NaN"):
        select(np.array([0.1, np.nan, 0.3]))
    with pytest.raises(ValueError, match="1-D"):
        select(np.array([]))
    with pytest.raises(ValueError, match="1-D"):
        select(np.ones((2, 2)))


@PROPERTY
@given(fitness_arrays, st.data())
def test_select_best_properties(f, data):
    k = data.draw(st.integers(0, f.size))
    idx = select_best(f, k)
    assert idx.shape == (k,)
    assert np.issubdtype(idx.dtype, np.integer)
    assert len(set(idx.tolist())) == k
    chosen = f[idx]
    assert (chosen[:-1] >= chosen[1:]).all()
    if 0 < k < f.size:
        rest = np.delete(f, idx)
        assert chosen.min() >= rest.max()
    # ties: equal fitness keeps index order
    for i in range(k - 1):
        if chosen[i] == chosen[i + 1]:
            assert idx[i] < idx[i + 1]
    # and a tie at the cut takes the earliest indices
    if 0 < k < f.size:
        cut = chosen[-1]
        tied = np.flatnonzero(f == cut)
        taken = np.intersect1d(idx, tied)
        np.testing.assert_array_equal(taken, tied[: taken.size])


# ---------------------------------------------------------------------------
# select_tournament


@PROPERTY
@given(fitness_arrays, st.integers(0, 40), st.integers(1, 10), st.integers(0, 2**32 - 1))
def test_tournament_indices_in_range_and_deterministic(f, k, tournsize, seed):
    idx = select_tournament(f, k, np.random.default_rng(seed), tournsize=tournsize)
    assert idx.shape == (k,)
    assert np.issubdtype(idx.dtype, np.integer)
    assert ((idx >= 0) & (idx < f.size)).all()
    again = select_tournament(f, k, np.random.default_rng(seed), tournsize=tournsize)
    np.testing.assert_array_equal(idx, again)


def test_tournament_large_tournsize_prefers_best():
    f = np.array([0.3, 0.1, 0.9, 0.5, -np.inf, 0.7, 0.2, 0.0, 0.4, 0.6])
    idx = select_tournament(f, 500, np.random.default_rng(0), tournsize=100)
    assert (idx == 2).mean() > 0.99
    # with huge tournaments nothing worse than the top three is ever picked
    assert set(idx.tolist()) <= {2, 5, 9}


def test_tournament_size_one_is_uniform():
    f = np.arange(5.0)
    idx = select_tournament(f, 5000, np.random.default_rng(1), tournsize=1)
    counts = np.bincount(idx, minlength=5)
    assert (np.abs(counts - 1000) < 120).all(), counts


def test_tournament_of_two_win_rate():
    # the better of two draws with replacement wins unless both draws are the worse one
    idx = select_tournament(np.array([0.0, 1.0]), 8000, np.random.default_rng(2), tournsize=2)
    assert (idx == 1).mean() == pytest.approx(0.75, abs=0.02)


def test_tournament_minus_inf_handled():
    f = np.array([-np.inf, -np.inf, 0.0])
    idx = select_tournament(f, 6000, np.random.default_rng(3), tournsize=3)
    assert (idx == 2).mean() == pytest.approx(1 - (2 / 3) ** 3, abs=0.02)
    # all failed: still valid indices, no error
    idx = select_tournament(np.full(4, -np.inf), 50, np.random.default_rng(4))
    assert ((idx >= 0) & (idx < 4)).all()
    assert len(set(idx.tolist())) > 1
    # best-k puts failures last
    np.testing.assert_array_equal(select_best(f, 1), [2])


def test_tournament_ranks_by_fitness():
    f = np.array([0.0, 1.0, 2.0, 3.0])
    idx = select_tournament(f, 20_000, np.random.default_rng(5), tournsize=3)
    counts = np.bincount(idx, minlength=4)
    assert (np.diff(counts) > 0).all()
    # P(rank r wins) = ((r + 1)^3 - r^3) / 4^3
    expected = np.array([1, 7, 19, 37]) / 64 * 20_000
    np.testing.assert_allclose(counts, expected, rtol=0.1)


def test_tournament_zero_k():
    assert select_tournament(np.array([1.0, 2.0]), 0, np.random.default_rng(0)).shape == (0,)


def test_tournament_bad_arguments():
    f = np.array([0.1, 0.2])
    with pytest.raises(ValueError, match="tournsize"):
        select_tournament(f, 3, np.random.default_rng(0), tournsize=0)
    with pytest.raises(ValueError, match="k"):
        select_tournament(f, -1, np.random.default_rng(0))
