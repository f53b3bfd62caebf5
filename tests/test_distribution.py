"""Tests for evotune._distribution: any frozen scipy.stats distribution as a
parameter, its gene the value's quantile (issue 14, item 8)."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
import scipy.stats as st_
from hypothesis import given, settings
from hypothesis import strategies as st

from evotune._distribution import EPS, Distribution
from evotune.space import Space

PROPERTY = settings(max_examples=100, deadline=None)

CONTINUOUS = {
    "expon": st_.expon(scale=10),
    "norm": st_.norm(0, 1),
    "narrow_norm": st_.norm(5, 0.01),
    "truncnorm": st_.truncnorm(-1, 2, loc=0, scale=3),
    "lognorm": st_.lognorm(0.9),
    "gamma": st_.gamma(2.0, scale=0.5),
    "beta": st_.beta(2, 5),
    "cauchy": st_.cauchy(),
    "t": st_.t(3),
    "halfnorm": st_.halfnorm(scale=2),
}
DISCRETE = {
    "poisson": st_.poisson(3),
    "binom": st_.binom(10, 0.3),
    "geom": st_.geom(0.2),
    "nbinom": st_.nbinom(5, 0.5),
    "bernoulli": st_.bernoulli(0.3),
    "custom": st_.rv_discrete(values=([1, 5, 7], [0.2, 0.5, 0.3]))(),
}

units = st.floats(0.0, 1.0)
inner_units = st.floats(EPS, 1.0 - EPS)


def _in_support(p: Distribution, x: float) -> bool:
    low, high = p.dist.support()
    return math.isfinite(x) and low <= x <= high and p.lowest <= x <= p.highest


@PROPERTY
@given(name=st.sampled_from(sorted(CONTINUOUS)), u=units)
def test_every_gene_decodes_inside_a_continuous_distributions_support(name, u):
    p = Distribution(CONTINUOUS[name])
    x = p.decode(u)
    assert isinstance(x, float)
    assert _in_support(p, x)
    assert p.can_take(x)


@PROPERTY
@given(name=st.sampled_from(sorted(CONTINUOUS)), u=inner_units)
def test_encode_inverts_decode_for_a_continuous_distribution(name, u):
    p = Distribution(CONTINUOUS[name])
    x = p.decode(u)
    # the value is rounded to ten digits, so its quantile moves by a hair
    assert p.encode(x) == pytest.approx(u, abs=1e-7)
    assert p.decode(p.encode(x)) == pytest.approx(x, rel=1e-8, abs=1e-12)


@PROPERTY
@given(name=st.sampled_from(sorted(DISCRETE)), u=units)
def test_every_gene_decodes_to_a_support_point_of_a_discrete_distribution(name, u):
    p = Distribution(DISCRETE[name])
    v = p.decode(u)
    assert isinstance(v, int)
    assert _in_support(p, v)
    assert p.dist.pmf(v) > 0


@PROPERTY
@given(name=st.sampled_from(sorted(DISCRETE)), u=units)
def test_a_discrete_value_encodes_to_a_gene_that_decodes_to_it(name, u):
    p = Distribution(DISCRETE[name])
    v = p.decode(u)
    gene = p.encode(v)
    assert 0.0 < gene < 1.0
    assert p.decode(gene) == v


@PROPERTY
@given(name=st.sampled_from(sorted(CONTINUOUS)), x=st.floats(allow_nan=True))
def test_encode_takes_exactly_the_values_of_the_support(name, x):
    p = Distribution(CONTINUOUS[name])
    low, high = p.dist.support()
    if math.isfinite(x) and low <= x <= high:
        assert EPS <= p.encode(x) <= 1.0 - EPS
    else:
        assert not p.can_take(x)
        with pytest.raises(ValueError, match="outside the support"):
            p.encode(x)


def test_not_a_number_is_not_a_value():
    p = Distribution(st_.expon())
    for value in (True, "1.0", None, [1.0]):
        assert not p.can_take(value)
    assert not Distribution(st_.poisson(3)).can_take(2.5)  # between support points


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_uniform_genes_draw_the_distribution(name):
    # the gene is the quantile, so uniform genes are draws from the distribution,
    # as RandomizedSearchCV's rvs are (a Kolmogorov-Smirnov test, fixed seed)
    p = Distribution(CONTINUOUS[name])
    genes = np.random.default_rng(0).random(2000)
    values = [p.decode(u) for u in genes]
    assert st_.kstest(values, CONTINUOUS[name].cdf).pvalue > 1e-3


def test_discrete_genes_draw_each_value_with_its_probability():
    p = Distribution(DISCRETE["custom"])
    genes = np.random.default_rng(0).random(5000)
    values = np.array([p.decode(u) for u in genes])
    for v, prob in ((1, 0.2), (5, 0.5), (7, 0.3)):
        assert abs((values == v).mean() - prob) < 0.03


def test_unbounded_tails_are_cut_at_eps():
    p = Distribution(st_.norm(0, 1))
    assert p.decode(0.0) == pytest.approx(st_.norm.ppf(EPS), rel=1e-9)
    assert p.decode(1.0) == pytest.approx(st_.norm.ppf(1 - EPS), rel=1e-9)
    assert p.encode(50.0) == 1.0 - EPS  # far in the tail: the last gene


def test_a_bad_distribution_is_refused_saying_what_is_allowed():
    with pytest.raises(TypeError, match=r"'dist' must be a frozen scipy.stats.*without ppf"):
        Distribution(object())
    with pytest.raises(ValueError, match=r"norm.*non-finite quantile"):
        Distribution(st_.norm(0, -1))  # a negative scale: scipy gives NaN
    with pytest.raises(ValueError, match=r"single value"):
        Distribution(st_.bernoulli(0.0))


def test_repr_to_dict_and_pickle():
    p = Distribution(st_.truncnorm(-1, 2, loc=0, scale=3), when={"kernel": "rbf"})
    assert repr(p) == "Distribution(truncnorm(-1, 2, loc=0, scale=3), when={'kernel': 'rbf'})"
    d = json.loads(json.dumps(p.to_dict()))
    assert d["type"] == "distribution" and d["distribution"] == "truncnorm"
    assert d["args"] == [-1, 2] and d["kwds"] == {"loc": 0, "scale": 3}
    assert d["when"] == {"kernel": ["rbf"]} and d["discrete"] is False
    back = pickle.loads(pickle.dumps(p))
    assert back.decode(0.3) == p.decode(0.3)


def test_a_space_of_distributions_samples_encodes_and_keys():
    space = Space({"gamma": st_.expon(scale=0.1), "n": st_.poisson(4), "C": st_.lognorm(1)})
    rows = space.sample(40, np.random.default_rng(1), method="lhs")
    for row in rows:
        params = space.decode(row)
        assert params["gamma"] >= 0 and params["n"] >= 0 and params["C"] > 0
        again = space.encode(json.loads(json.dumps(params)))  # as a resume reads it
        assert space.key(again) == space.key(row)
        assert space.decode(again) == pytest.approx(params, rel=1e-8)
