"""Tests for evotune.space: typed parameters, conditions, encoding, sampling, keys."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from evotune.space import (
    Categorical,
    Distribution,
    FeatureMask,
    Float,
    Integer,
    Parameter,
    Space,
)
from operators.schema import BIT, CATEGORICAL, FLOAT, INTEGER, repair

PROPERTY = settings(max_examples=60, deadline=None)


def svc_space() -> Space:
    return Space(
        {
            "C": Float(1e-3, 1e3, log=True),
            "kernel": Categorical(["rbf", "poly"]),
            "degree": Integer(2, 5, when={"kernel": "poly"}),
        }
    )


# ---------------------------------------------------------------------------
# construction


def test_integer_construction():
    p = Integer(2, 5)
    assert (p.low, p.high, p.log) == (2, 5, False)
    assert isinstance(p.low, int) and isinstance(p.high, int)
    assert p.kind == INTEGER
    assert p.when == {}
    assert isinstance(p, Parameter)
    assert repr(p) == "Integer(2, 5)"
    assert Integer(np.int64(1), np.int64(9)).high == 9


def test_float_construction():
    p = Float(1e-3, 1e3, log=True)
    assert (p.low, p.high, p.log) == (1e-3, 1e3, True)
    assert p.kind == FLOAT
    assert repr(p) == "Float(0.001, 1000.0, log=True)"
    q = Float(0, 1)
    assert isinstance(q.low, float) and q.log is False


def test_categorical_construction():
    p = Categorical(["rbf", "poly"])
    assert p.choices == ("rbf", "poly")
    assert p.kind == CATEGORICAL
    assert p.index("poly") == 1
    assert p.can_take("rbf") and not p.can_take("linear")
    assert repr(p) == "Categorical(['rbf', 'poly'])"
    assert Categorical(("only",)).choices == ("only",)
    assert Categorical(np.array([1, 2, 3])).choices == (1, 2, 3)


@pytest.mark.parametrize("cls", [Integer, Float])
@pytest.mark.parametrize("low, high", [(5, 5), (5, 2)])
def test_low_not_below_high_rejected(cls, low, high):
    with pytest.raises(ValueError, match=r"'low' must be < 'high'"):
        cls(low, high)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Float(0.0, 1.0, log=True),
        lambda: Float(-1.0, 1.0, log=True),
        lambda: Integer(0, 10, log=True),
        lambda: Integer(-3, 10, log=True),
    ],
)
def test_log_needs_positive_low(make):
    with pytest.raises(ValueError, match=r"log=True.*'low'"):
        make()


def test_log_must_be_bool():
    with pytest.raises(TypeError, match="'log'"):
        Float(1.0, 2.0, log="yes")


def test_empty_choices_rejected():
    with pytest.raises(ValueError, match="'choices'"):
        Categorical([])


@pytest.mark.parametrize(
    "choices",
    [["a", "b", "a"], [1, 1.0], [None, "x", None], [True, False, True]],
)
def test_duplicate_choices_rejected(choices):
    with pytest.raises(ValueError, match=r"'choices'.*repeat"):
        Categorical(choices)


def test_choices_must_be_a_sequence():
    with pytest.raises(TypeError, match="'choices'"):
        Categorical("abc")
    with pytest.raises(TypeError, match="'choices'"):
        Categorical(7)


def test_true_and_one_are_different_choices():
    p = Categorical([True, 1, False, 0])
    assert len(p.choices) == 4
    assert p.index(True) == 0
    assert p.index(1) == 1
    assert p.index(False) == 2
    assert p.index(0) == 3
    assert p.decode(1.0) == 1 and type(p.decode(1.0)) is int
    assert p.decode(0.0) is True


def test_none_is_a_choice():
    p = Categorical([None, "balanced"])
    assert p.decode(0.0) is None
    assert p.encode(None) == 0.0
    assert p.can_take(None)


def test_estimators_are_choices():
    svc, lr = SVC(), LogisticRegression()
    p = Categorical([svc, lr])
    assert p.decode(0.0) is svc
    assert p.decode(1.0) is lr
    assert p.index(lr) == 1
    space = Space({"est": p, "C": Float(0.1, 10)})
    row = space.encode({"est": lr, "C": 1.0})
    assert space.decode(row)["est"] is lr
    json.loads(space.key(row))  # the key is JSON even for object choices
    json.dumps(space.to_dict())  # so is the description
    with pytest.raises(ValueError, match="'choices'"):
        Categorical([svc, svc])


@pytest.mark.parametrize(
    "low, high, field",
    [(2.5, 5, "low"), (2.0, 5, "low"), (2, 5.0, "high"), (0, 7.5, "high")],
)
def test_integer_bounds_must_be_integers(low, high, field):
    with pytest.raises(TypeError, match=f"'{field}'.*integer"):
        Integer(low, high)


@pytest.mark.parametrize(
    "low, high, field",
    [
        (0.0, math.inf, "high"),
        (-math.inf, 0.0, "low"),
        (math.nan, 1.0, "low"),
        (0.0, math.nan, "high"),
    ],
)
def test_float_bounds_must_be_finite(low, high, field):
    with pytest.raises(ValueError, match=f"'{field}'.*finite"):
        Float(low, high)


def test_integer_bounds_must_be_finite():
    with pytest.raises((TypeError, ValueError), match="'high'"):
        Integer(0, math.inf)
    with pytest.raises((TypeError, ValueError), match="'low'"):
        Integer(-math.inf, 0)


@pytest.mark.parametrize("bad", ["1", None, True, [1]])
def test_bounds_must_be_real_numbers(bad):
    with pytest.raises(TypeError, match="'low'"):
        Float(bad, 10.0)


# ---------------------------------------------------------------------------
# ranges the encoding cannot serve (issue 14, item 15): refused at construction

INTEGER_LIMIT = 2**47 - 1  # max(|low|, |high| + 1) must stay below 2**47
LOG_INTEGER_LIMIT = 2**42 - 1  # the largest high with log=True


@pytest.mark.parametrize(
    "low, high, log",
    [
        (10**17, 10**17 + 3, False),  # the issue's: "cannot convert float NaN" mid-run
        (0, INTEGER_LIMIT, False),
        (-INTEGER_LIMIT - 1, 0, False),
        (1, LOG_INTEGER_LIMIT + 1, True),
        (1, 10**13, True),
        (0, 10**400, False),  # beyond float64: a ValueError, not an OverflowError
    ],
)
def test_integer_range_beyond_float64_resolution_is_refused(low, high, log):
    with pytest.raises(ValueError, match=r"^Integer: .*(allowed|finite)"):
        Integer(low, high, log=log)


def test_integer_range_at_the_limits_is_accepted():
    p = Integer(-INTEGER_LIMIT, INTEGER_LIMIT - 1)
    assert p.decode(p.encode(INTEGER_LIMIT - 1)) == INTEGER_LIMIT - 1
    q = Integer(1, LOG_INTEGER_LIMIT, log=True)
    assert q.decode(q.encode(LOG_INTEGER_LIMIT)) == LOG_INTEGER_LIMIT


def test_a_refused_integer_range_names_the_parameter_in_a_space():
    with pytest.raises(ValueError, match=r"parameter 'seed'.*allowed"):
        Space({"seed": scipy.stats.randint(10**17, 10**17 + 4)})


@st.composite
def _magnitude(draw, max_bits=60):
    """A natural number of ``b`` bits, ``b`` drawn evenly (hypothesis would
    otherwise keep to small numbers)."""
    bits = draw(st.sampled_from(range(max_bits + 1)))
    return draw(st.integers(2**bits // 2, 2**bits))


@st.composite
def integer_ranges(draw):
    """Ranges of every magnitude and width: the narrow ones far from zero are
    the ones float64 cannot resolve."""
    log = draw(st.booleans())
    low = draw(_magnitude())
    low = low + 1 if log else low * draw(st.sampled_from([-1, 1]))
    return low, low + 1 + draw(_magnitude()), log


@PROPERTY
@given(integer_ranges(), st.data())
@example((-INTEGER_LIMIT, INTEGER_LIMIT - 1, False), None)
@example((INTEGER_LIMIT - 9, INTEGER_LIMIT - 1, False), None)
@example((-INTEGER_LIMIT, -INTEGER_LIMIT + 9, False), None)
@example((1, LOG_INTEGER_LIMIT, True), None)
@example((LOG_INTEGER_LIMIT - 9, LOG_INTEGER_LIMIT, True), None)
def test_every_accepted_integer_range_round_trips_every_value(case, data):
    low, high, log = case
    try:
        p = Integer(low, high, log=log)
    except ValueError as exc:
        assert str(exc).startswith("Integer: ")
        return
    ends = [low, low + 1, (low + high) // 2, high - 1, high]
    drawn = [] if data is None else data.draw(st.lists(st.integers(low, high), max_size=20))
    space = Space({"n": p})
    for v in ends + drawn:
        gene = p.encode(v)
        assert p.decode(gene) == v
        # the operators' repair puts a gene on its bin's centre: the same value
        assert p.decode(repair(np.array([[gene]]), space.schema)[0, 0]) == v
    # neighbours at the narrow end of the bins keep bins of their own
    assert p.encode(high - 1) < p.encode(high)


@pytest.mark.parametrize(
    "low, high, log, match",
    [
        (-1e308, 1e308, False, "high - low must be a finite"),  # the issue's
        (1.0, 1.0 + 2**-40, False, "too close"),  # the issue's
        (1e6, 1e6 + 1e-3, False, "too close"),
        (0.0, 5e-324, False, "too close"),
        (1.0, 1.00001, True, "too close"),
        (5e-324, 1e-323, True, "too close"),
    ],
)
def test_float_range_without_a_population_of_values_is_refused(low, high, log, match):
    with pytest.raises(ValueError, match=rf"^Float: .*{match}"):
        Float(low, high, log=log)


def test_a_refused_float_range_names_the_parameter_in_a_space():
    with pytest.raises(ValueError, match=r"parameter 'tol'.*too close"):
        Space({"tol": scipy.stats.uniform(1.0, 2**-40)})


finite = st.floats(allow_nan=False, allow_infinity=False)


@PROPERTY
@given(finite, finite, st.booleans())
@example(-1e308, 1e308, False)
@example(1.0, 1.0 + 2**-40, False)
@example(0.1, 0.1 + 65536e-10, False)
@example(1.0, 1.0001, True)
@example(4.4e16, 1.7976931348621712e308, True)  # exp(log(high)) overflowed
def test_every_accepted_float_range_gives_distinct_values(a, b, log):
    low, high = (abs(a), abs(b)) if log else (a, b)
    low, high = min(low, high), max(low, high)
    try:
        p = Float(low, high, log=log)
    except ValueError as exc:
        assert str(exc).startswith("Float: ")
        return
    values = [p.decode(g) for g in np.linspace(0.0, 1.0, 1000)]
    assert all(math.isfinite(v) and low <= v <= high for v in values)
    assert len(set(values)) == 1000  # a population of distinct values, not one


def test_condition_on_unknown_parameter():
    with pytest.raises(ValueError, match=r"'degree'.*'kernl'"):
        Space({"kernel": Categorical(["rbf", "poly"]), "degree": Integer(2, 5, when={"kernl": 1})})


def test_condition_value_not_a_choice():
    with pytest.raises(ValueError, match=r"'degree'.*linear"):
        Space(
            {
                "kernel": Categorical(["rbf", "poly"]),
                "degree": Integer(2, 5, when={"kernel": "linear"}),
            }
        )
    with pytest.raises(ValueError, match=r"'degree'.*linear"):
        Space(
            {
                "kernel": Categorical(["rbf", "poly"]),
                "degree": Integer(2, 5, when={"kernel": ["poly", "linear"]}),
            }
        )


def test_condition_value_out_of_integer_range():
    with pytest.raises(ValueError, match=r"'x'.*7"):
        Space({"n": Integer(1, 3), "x": Float(0, 1, when={"n": 7})})
    with pytest.raises(ValueError, match=r"'x'"):
        Space({"n": Integer(1, 3), "x": Float(0, 1, when={"n": 2.5})})


def test_condition_true_is_not_one():
    with pytest.raises(ValueError, match=r"'x'"):
        Space({"flag": Categorical([True, False]), "x": Float(0, 1, when={"flag": 1})})


def test_condition_cycle_rejected():
    with pytest.raises(ValueError, match="cycle"):
        Space(
            {
                "a": Categorical([1, 2], when={"b": 1}),
                "b": Categorical([1, 2], when={"a": 1}),
            }
        )
    with pytest.raises(ValueError, match="cycle"):
        Space(
            {
                "a": Categorical([1, 2], when={"c": 1}),
                "b": Categorical([1, 2], when={"a": 1}),
                "c": Categorical([1, 2], when={"b": 1}),
            }
        )


def test_condition_self_reference_rejected():
    with pytest.raises(ValueError, match=r"'a'.*(itself|cycle)"):
        Space({"a": Categorical([1, 2], when={"a": 1})})


def test_bad_when_types():
    with pytest.raises(TypeError, match="'when'"):
        Integer(1, 3, when=["kernel"])
    with pytest.raises(ValueError, match="'kernel'"):
        Integer(1, 3, when={"kernel": []})


def test_any_frozen_scipy_distribution_is_a_distribution_parameter():
    # issue 14 (8): RandomizedSearchCV takes any distribution; norm used to be refused
    space = Space({"alpha": scipy.stats.norm(0, 1), "n": scipy.stats.poisson(3)})
    assert isinstance(space["alpha"], Distribution) and not space["alpha"].discrete
    assert isinstance(space["n"], Distribution) and space["n"].discrete
    values = [space.decode(row) for row in space.sample(50, np.random.default_rng(0))]
    assert all(math.isfinite(v["alpha"]) for v in values)
    assert all(isinstance(v["n"], int) and v["n"] >= 0 for v in values)


def test_a_sampler_without_quantiles_is_refused_naming_the_key():
    class OnlyRvs:
        def rvs(self, random_state=None):
            return 1.0

    with pytest.raises(TypeError, match=r"'alpha'.*no ppf and cdf.*frozen scipy.stats"):
        Space({"alpha": OnlyRvs()})


def test_a_bad_distribution_names_the_key():
    with pytest.raises(ValueError, match=r"'alpha'.*norm.*non-finite"):
        Space({"alpha": scipy.stats.norm(0, -1)})


def test_unknown_entry_names_the_key():
    with pytest.raises(TypeError, match=r"'alpha'.*list, tuple or range"):
        Space({"alpha": "not a distribution"})
    with pytest.raises(TypeError, match=r"'alpha'.*list, tuple or range"):
        Space({"alpha": {1, 2}})  # a set has no order, so no reproducible genes
    with pytest.raises(ValueError, match=r"'k'.*must not be empty"):
        Space({"k": []})


def test_a_repeated_value_is_kept_once():
    # RandomizedSearchCV draws "a" twice as often; evotune evaluates each
    # distinct candidate once, so the weight has nothing to act on
    space = Space({"k": ["a", "b", "a", 1, True, 1.0]})
    assert space["k"].choices == ("a", "b", 1, True)  # True is not 1; 1.0 is


def test_a_range_of_step_one_is_an_integer_any_other_a_categorical():
    space = Space(
        {"a": range(1, 30), "b": range(10, 0, -1), "c": range(0, 10, 3), "d": range(5, 6)}
    )
    assert isinstance(space["a"], Integer) and (space["a"].low, space["a"].high) == (1, 29)
    assert isinstance(space["b"], Integer) and (space["b"].low, space["b"].high) == (1, 10)
    assert isinstance(space["c"], Categorical) and space["c"].choices == (0, 3, 6, 9)
    assert isinstance(space["d"], Categorical) and space["d"].choices == (5,)
    values = [space.decode(row)["a"] for row in space.sample(200, np.random.default_rng(0))]
    assert all(type(v) is int for v in values)
    assert set(values) <= set(range(1, 30)) and len(set(values)) > 20
    with pytest.raises(ValueError, match=r"'e'.*range\(3, 3\) is empty"):
        Space({"e": range(3, 3)})


def test_degenerate_scipy_distribution_names_the_key():
    # randint(2, 3) can only draw 2: either accept it or say which key is wrong
    try:
        space = Space({"n_leaves": scipy.stats.randint(2, 3)})
    except (TypeError, ValueError) as exc:
        assert "n_leaves" in str(exc)
    else:
        assert space.decode(space.sample(1, np.random.default_rng(0))[0]) == {"n_leaves": 2}


def test_an_empty_space_is_one_candidate():
    # issue 14 (8): {} was refused; RandomizedSearchCV runs the estimator as given
    space = Space({})
    assert space.public_names == () and space.n_genes == 1
    rows = space.sample(5, np.random.default_rng(0))
    assert [space.decode(r) for r in rows] == [{}] * 5
    assert len({space.key(r) for r in rows}) == 1
    assert space.decode(space.encode({})) == {}


def test_space_needs_parameters():
    with pytest.raises(ValueError, match="'params' is an empty list"):
        Space([])
    with pytest.raises(TypeError, match="'params'"):
        Space([("a", Integer(1, 2))])
    with pytest.raises(TypeError, match="names"):
        Space({"": Integer(1, 2)})


# ---------------------------------------------------------------------------
# scikit-learn style param_distributions


def test_list_becomes_categorical():
    space = Space({"k": ["a", "b"], "t": ("x", "y", "z"), "a": np.array([1, 2])})
    assert isinstance(space["k"], Categorical) and space["k"].choices == ("a", "b")
    assert space["t"].choices == ("x", "y", "z")
    assert space["a"].choices == (1, 2)


def test_randint_becomes_integer():
    p = Space({"n": scipy.stats.randint(2, 6)})["n"]
    assert isinstance(p, Integer)
    assert (p.low, p.high, p.log) == (2, 5, False)


def test_uniform_becomes_float():
    p = Space({"x": scipy.stats.uniform(1, 3)})["x"]
    assert isinstance(p, Float)
    assert (p.low, p.high, p.log) == (1.0, 4.0, False)


def test_loguniform_becomes_log_float():
    p = Space({"C": scipy.stats.loguniform(1e-3, 1e3)})["C"]
    assert isinstance(p, Float)
    assert p.log is True
    assert p.low == pytest.approx(1e-3) and p.high == pytest.approx(1e3)


def test_parameters_pass_through():
    p = Float(0, 1)
    space = Space({"x": p})
    assert space["x"] is p
    copy = Space(space)
    assert copy.names == space.names and copy["x"] is p


def test_mapping_protocol_and_schema():
    space = svc_space()
    assert list(space) == ["C", "kernel", "degree"]
    assert space.names == ("C", "kernel", "degree")
    assert len(space) == space.n_genes == 3
    np.testing.assert_array_equal(space.schema.kinds, [FLOAT, CATEGORICAL, INTEGER])
    np.testing.assert_array_equal(space.schema.n_choices, [0, 2, 0])
    assert space.schema.low[2] == 2 and space.schema.high[2] == 5


# ---------------------------------------------------------------------------
# conditions


def test_inactive_parameter_left_out_of_decode_and_key():
    space = svc_space()
    rbf = space.encode({"C": 1.0, "kernel": "rbf"})
    assert space.decode(rbf) == {"C": 1.0, "kernel": "rbf"}
    assert "degree" not in space.key(rbf)
    poly = space.encode({"C": 1.0, "kernel": "poly", "degree": 3})
    assert space.decode(poly) == {"C": 1.0, "kernel": "poly", "degree": 3}
    assert "degree" in space.key(poly)
    values, active = space.decode_all(rbf)
    assert set(values) == {"C", "kernel", "degree"}
    assert active == {"C": True, "kernel": True, "degree": False}


def test_changing_inactive_gene_keeps_key():
    space = svc_space()
    rbf = space.encode({"C": 1.0, "kernel": "rbf"})
    keys = set()
    for degree in range(2, 6):
        row = rbf.copy()
        row[2] = space["degree"].encode(degree)
        keys.add(space.key(row))
    assert len(keys) == 1
    poly = space.encode({"C": 1.0, "kernel": "poly", "degree": 2})
    keys = set()
    for degree in range(2, 6):
        row = poly.copy()
        row[2] = space["degree"].encode(degree)
        keys.add(space.key(row))
    assert len(keys) == 4


def test_nested_conditions():
    # declared child-first, so decoding must follow the dependency order
    space = Space(
        {
            "c": Integer(1, 3, when={"b": "q"}),
            "b": Categorical(["p", "q"], when={"a": "y"}),
            "a": Categorical(["x", "y"]),
        }
    )
    assert space.decode(np.array([0.5, 1.0, 0.0])) == {"a": "x"}  # b is q but inactive
    assert space.decode(np.array([0.5, 0.0, 1.0])) == {"b": "p", "a": "y"}
    assert space.decode(np.array([0.5, 1.0, 1.0])) == {"c": 2, "b": "q", "a": "y"}
    key_x = space.key(np.array([0.5, 1.0, 0.0]))
    assert key_x == space.key(np.array([0.1, 0.0, 0.0]))


def test_when_with_list_of_values():
    space = Space(
        {
            "kernel": Categorical(["rbf", "poly", "sigmoid"]),
            "coef0": Float(0, 1, when={"kernel": ["poly", "sigmoid"]}),
        }
    )
    for kernel, present in [("rbf", False), ("poly", True), ("sigmoid", True)]:
        row = space.encode({"kernel": kernel, "coef0": 0.25})
        assert ("coef0" in space.decode(row)) is present


def test_several_conditions_all_must_hold():
    space = Space(
        {
            "a": Categorical(["x", "y"]),
            "n": Integer(1, 4),
            "z": Float(0, 1, when={"a": "y", "n": [3, 4]}),
        }
    )
    assert "z" in space.decode(space.encode({"a": "y", "n": 3, "z": 0.5}))
    assert "z" not in space.decode(space.encode({"a": "x", "n": 3}))
    assert "z" not in space.decode(space.encode({"a": "y", "n": 2}))


# ---------------------------------------------------------------------------
# encode / decode


@pytest.mark.parametrize(
    "params",
    [
        {"C": 1.0, "kernel": "rbf"},
        {"C": 0.001, "kernel": "poly", "degree": 2},
        {"C": 1000.0, "kernel": "poly", "degree": 5},
        {"C": 0.0316, "kernel": "poly", "degree": 4},
    ],
)
def test_encode_decode_round_trip(params):
    space = svc_space()
    row = space.encode(params)
    assert row.shape == (3,)
    np.testing.assert_array_equal(repair(row[None, :], space.schema)[0], row)
    assert space.decode(row) == params
    assert space.key(space.encode(space.decode(row))) == space.key(row)


def test_round_trip_of_odd_choices():
    space = Space({"w": Categorical([None, True, 1, "balanced"]), "i": Integer(-3, 3)})
    for w in [None, True, 1, "balanced"]:
        for i in range(-3, 4):
            out = space.decode(space.encode({"w": w, "i": i}))
            assert out["i"] == i
            assert out["w"] == w and type(out["w"]) is type(w)


def test_encode_rejects_unknown_and_out_of_range():
    space = svc_space()
    with pytest.raises(ValueError, match="gamma"):
        space.encode({"C": 1.0, "kernel": "rbf", "gamma": 1.0})
    with pytest.raises(ValueError):
        space.encode({"C": 1e4, "kernel": "rbf"})
    with pytest.raises(ValueError):
        space.encode({"C": 1.0, "kernel": "linear"})
    with pytest.raises(ValueError):
        space.encode({"C": 1.0, "kernel": "poly", "degree": 2.5})


def test_decode_rejects_wrong_shape():
    space = svc_space()
    with pytest.raises(ValueError, match="shape"):
        space.decode(np.zeros(2))


def test_integer_decode_covers_every_value():
    p = Integer(2, 5)
    assert [p.decode(g) for g in (0.0, 0.2, 0.3, 0.6, 0.8, 1.0)] == [2, 2, 3, 4, 5, 5]
    for v in range(2, 6):
        assert p.decode(p.encode(v)) == v


def test_integer_log_decodes_into_range():
    p = Integer(1, 1000, log=True)
    values = [p.decode(g) for g in np.linspace(0.0, 1.0, 501)]
    assert all(isinstance(v, int) and 1 <= v <= 1000 for v in values)
    assert values[0] == 1 and values[-1] == 1000
    assert values == sorted(values)
    assert 20 <= p.decode(0.5) <= 45  # the geometric middle, not 500
    for v in (1, 2, 3, 10, 99, 500, 999, 1000):
        assert p.decode(p.encode(v)) == v


@pytest.mark.parametrize(
    "p", [Float(-2.5, 7.25), Float(1e-3, 1e3, log=True), Float(0.1, 0.10001), Float(3, 1e9)]
)
def test_float_decode_stays_in_bounds(p):
    genes = np.concatenate([np.linspace(0.0, 1.0, 201), [-0.5, 1.5, 1e-300, 1 - 1e-16]])
    for g in genes:
        v = p.decode(g)
        assert p.low <= v <= p.high
    assert p.decode(0.0) == p.low
    assert p.decode(1.0) == p.high


def test_key_is_canonical_json():
    space = svc_space()
    row = space.encode({"C": 1.0, "kernel": "poly", "degree": 3})
    key = space.key(row)
    assert json.loads(key) == [["C", 1.0], ["kernel", 1], ["degree", 3]]
    other = space.encode({"C": 2.0, "kernel": "poly", "degree": 3})
    assert space.key(other) != key


# ---------------------------------------------------------------------------
# sampling


def mixed_space() -> Space:
    return Space(
        {
            "i": Integer(0, 3),
            "li": Integer(1, 100, log=True),
            "f": Float(-1, 1),
            "lf": Float(1e-4, 1.0, log=True),
            "c": Categorical(["a", "b", "c"]),
            "one": Categorical(["only"]),
            "cond": Float(0, 1, when={"c": "b"}),
        }
    )


@pytest.mark.parametrize("method", ["random", "lhs", "sobol"])
def test_sample_valid_and_deterministic(method):
    space = mixed_space()
    u = space.sample(64, np.random.default_rng(7), method=method)
    assert u.shape == (64, space.n_genes)
    assert u.dtype == np.float64
    np.testing.assert_array_equal(repair(u, space.schema), u)
    for row in u:
        for name, value in space.decode(row).items():
            assert space[name].can_take(value)
    again = space.sample(64, np.random.default_rng(7), method=method)
    np.testing.assert_array_equal(u, again)
    other = space.sample(64, np.random.default_rng(8), method=method)
    assert not np.array_equal(u, other)


@pytest.mark.parametrize("method, tol", [("random", 35), ("lhs", 3), ("sobol", 3)])
def test_sampled_integers_and_categories_uniform(method, tol):
    space = Space({"i": Integer(0, 3), "c": Categorical(["a", "b", "c", "d"])})
    u = space.sample(400, np.random.default_rng(0), method=method)
    ints = np.array([space.decode(r)["i"] for r in u])
    cats = np.array([space["c"].index(space.decode(r)["c"]) for r in u])
    for counts in (np.bincount(ints, minlength=4), np.bincount(cats, minlength=4)):
        assert counts.shape == (4,)
        assert np.all(np.abs(counts - 100) <= tol), counts


def test_sample_edge_cases():
    space = mixed_space()
    assert space.sample(0, np.random.default_rng(0)).shape == (0, space.n_genes)
    with pytest.raises(ValueError, match="method"):
        space.sample(4, np.random.default_rng(0), method="grid")
    with pytest.raises(ValueError, match="n"):
        space.sample(-1, np.random.default_rng(0))


def test_sample_randint_covers_support():
    space = Space({"n": scipy.stats.randint(2, 6)})
    values = {space.decode(r)["n"] for r in space.sample(200, np.random.default_rng(1))}
    assert values == {2, 3, 4, 5}


# ---------------------------------------------------------------------------
# property tests over random spaces


CHOICE_POOL = [None, True, False, 1, 0, 2.5, "a", "b", "rbf", (1, 2)]


@st.composite
def parameters(draw, when=None):
    kind = draw(st.sampled_from(["int", "logint", "float", "logfloat", "cat"]))
    if kind == "int":
        low = draw(st.integers(-1000, 1000))
        return Integer(low, low + draw(st.integers(1, 10_000)), when=when)
    if kind == "logint":
        low = draw(st.integers(1, 1000))
        return Integer(low, low + draw(st.integers(1, 100_000)), log=True, when=when)
    if kind == "float":
        low = draw(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
        # wide enough for its magnitude to hold the values a Float needs
        width = max(draw(st.floats(1e-3, 1e6)), 2e-4 * abs(low))
        return Float(low, low + width, when=when)
    if kind == "logfloat":
        low = draw(st.floats(1e-6, 1e3))
        return Float(low, low * draw(st.floats(1.01, 1e6)), log=True, when=when)
    choices = draw(st.lists(st.sampled_from(CHOICE_POOL), min_size=1, max_size=6, unique_by=repr))
    return Categorical(choices, when=when)


@st.composite
def spaces(draw):
    n = draw(st.integers(1, 6))
    params: dict[str, Parameter] = {}
    for i in range(n):
        when = None
        cats = [k for k, q in params.items() if isinstance(q, Categorical)]
        if cats and draw(st.booleans()):
            parent = draw(st.sampled_from(cats))
            allowed = draw(
                st.lists(
                    st.sampled_from(params[parent].choices), min_size=1, max_size=2, unique_by=repr
                )
            )
            when = {parent: allowed}
        params[f"p{i}"] = draw(parameters(when))
    return Space(params)


@st.composite
def space_and_row(draw):
    space = draw(spaces())
    row = []
    for name in space.names:
        p = space[name]
        if isinstance(p, Categorical):
            row.append(float(draw(st.integers(0, len(p.choices) - 1))))
        else:
            row.append(draw(st.floats(0.0, 1.0)))
    return space, np.array(row)


@PROPERTY
@given(space_and_row())
def test_decode_gives_valid_values(case):
    space, row = case
    out = space.decode(row)
    values, active = space.decode_all(row)
    assert list(out) == [n for n in space.names if active[n]]
    for name, value in values.items():
        assert space[name].can_take(value), (name, value, space[name])
    for name, value in out.items():
        if isinstance(space[name], Integer):
            assert isinstance(value, int)
        if isinstance(space[name], Float):
            assert isinstance(value, float)


@PROPERTY
@given(space_and_row())
def test_key_stable_under_round_trip(case):
    space, row = case
    params = space.decode(row)
    row2 = space.encode(params)
    np.testing.assert_array_equal(repair(row2[None, :], space.schema)[0], row2)
    assert space.decode(row2) == params
    assert space.key(row2) == space.key(row)
    assert space.key(space.encode(space.decode(row2))) == space.key(row2)


@PROPERTY
@given(space_and_row())
def test_key_ignores_inactive_genes(case):
    space, row = case
    _, active = space.decode_all(row)
    changed = row.copy()
    for i, name in enumerate(space.names):
        if not active[name]:
            p = space[name]
            changed[i] = float(len(p.choices) - 1) if isinstance(p, Categorical) else 1.0 - row[i]
    assert space.key(changed) == space.key(row)
    assert space.decode(changed) == space.decode(row)


@settings(max_examples=25, deadline=None)
@given(spaces(), st.sampled_from(["random", "lhs", "sobol"]), st.integers(0, 2**32 - 1))
def test_sample_valid_for_random_spaces(space, method, seed):
    u = space.sample(9, np.random.default_rng(seed), method=method)
    assert u.shape == (9, space.n_genes)
    np.testing.assert_array_equal(repair(u, space.schema), u)
    for row in u:
        for name, value in space.decode(row).items():
            assert space[name].can_take(value)


# ---------------------------------------------------------------------------
# FeatureMask: one bit gene per column, a bound on the number kept


def test_feature_mask_construction():
    p = FeatureMask(6, min_features=2, max_features=4)
    assert (p.n_features, p.min_features, p.max_features) == (6, 2, 4)
    assert p.kind == BIT and p.n_genes == 6 and p.when == {}
    assert isinstance(p, Parameter)
    assert repr(p) == "FeatureMask(6, min_features=2, max_features=4)"
    assert FeatureMask(3).max_features == 3
    assert FeatureMask(np.int64(3), max_features=np.int64(2)).max_features == 2
    q = FeatureMask(4, when={"use_mask": True})
    assert repr(q) == "FeatureMask(4, min_features=1, max_features=4, when={'use_mask': True})"


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((0,), {}, ValueError, r"'n_features' must be at least 1, got n_features=0"),
        ((True,), {}, TypeError, r"'n_features' must be an integer, got True"),
        ((3.0,), {}, TypeError, r"'n_features' must be an integer, got 3.0"),
        ((5,), {"min_features": 0}, ValueError, r"'min_features' must be between 1 and n_fe"),
        ((5,), {"min_features": 6}, ValueError, r"min_features=6"),
        ((5,), {"min_features": 1.5}, TypeError, r"'min_features' must be an integer, got 1.5"),
        ((5,), {"min_features": 3, "max_features": 2}, ValueError, r"between min_features=3"),
        ((5,), {"max_features": 6}, ValueError, r"and n_features=5, got max_features=6"),
        ((5,), {"max_features": "all"}, TypeError, r"'max_features' must be an integer"),
    ],
)
def test_feature_mask_rejects_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        FeatureMask(*args, **kwargs)
    assert str(info.value).startswith("FeatureMask: ")


def test_feature_mask_decode_encode():
    p = FeatureMask(4, max_features=2)
    assert p.decode(np.array([1.0, 0.0, 0.7, 0.2])) == (True, False, True, False)
    assert all(type(b) is bool for b in p.decode(np.zeros(4)))
    np.testing.assert_array_equal(p.encode([False, True, True, False]), [0.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(p.encode(np.array([0, 1, 0, 0])), [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(p.encode((True, False, False, False)), [1.0, 0.0, 0.0, 0.0])
    assert p.can_take((True, False, False, False))
    assert not p.can_take((True, True, True, False))  # keeps 3 > max_features
    assert not p.can_take((False,) * 4)  # keeps 0 < min_features
    assert not p.can_take((True, False))
    assert not p.can_take("1010")
    assert not p.can_take(1.0)


@pytest.mark.parametrize(
    "value, match",
    [
        ([True, False], "sequence of 4 booleans"),
        ([1, 2, 0, 0], "sequence of 4 booleans"),
        ("1100", "sequence of 4 booleans"),
        (None, "sequence of 4 booleans"),
        ([True, True, True, False], "max_features=2 columns, got one that keeps 3"),
        ([False] * 4, "min_features=1 and max_features=2 columns, got one that keeps 0"),
    ],
)
def test_feature_mask_encode_rejects(value, match):
    with pytest.raises(ValueError, match=match):
        FeatureMask(4, max_features=2).encode(value)


def test_feature_mask_decode_rejects_wrong_length():
    with pytest.raises(ValueError, match="takes 4 genes"):
        FeatureMask(4).decode(np.zeros(3))


def test_feature_mask_to_dict_is_json():
    d = FeatureMask(5, min_features=2, when={"k": ["a", "b"]}).to_dict()
    assert d == {
        "type": "feature_mask",
        "n_features": 5,
        "min_features": 2,
        "max_features": 5,
        "when": {"k": ["a", "b"]},
    }
    assert json.loads(json.dumps(d)) == d


def mask_space() -> Space:
    return Space(
        {
            "C": Float(1e-3, 1e3, log=True),
            "mask": FeatureMask(6, min_features=2, max_features=4),
            "kernel": Categorical(["rbf", "poly"]),
            "degree": Integer(2, 5, when={"kernel": "poly"}),
        }
    )


def test_space_with_mask_layout_and_schema():
    space = mask_space()
    assert len(space) == 4 and space.n_genes == 9
    assert space.slices == {
        "C": slice(0, 1),
        "mask": slice(1, 7),
        "kernel": slice(7, 8),
        "degree": slice(8, 9),
    }
    schema = space.schema
    np.testing.assert_array_equal(schema.kinds, [FLOAT] + [BIT] * 6 + [CATEGORICAL, INTEGER])
    np.testing.assert_array_equal(schema.group, [-1] + [0] * 6 + [-1, -1])
    [(cols, lo, hi)] = schema.bit_groups
    assert cols.tolist() == list(range(1, 7)) and (lo, hi) == (2, 4)
    # the other parameters keep their genes' meaning
    assert schema.n_choices[7] == 2 and schema.low[8] == 2 and schema.high[8] == 5


def test_space_with_mask_decode_encode_key():
    space = mask_space()
    params = {"C": 1.0, "mask": (True, False, False, True, True, False), "kernel": "rbf"}
    row = space.encode(params)
    assert row.shape == (9,)
    assert space.decode(row) == params
    key = space.key(row)
    assert json.loads(key) == [["C", 1.0], ["mask", "100110"], ["kernel", 0]]
    other = space.encode({**params, "mask": (True, False, False, True, False, True)})
    assert space.key(other) != key
    # a missing mask keeps its first max_features columns
    assert (
        space.decode(space.encode({"C": 1.0, "kernel": "rbf"}))["mask"]
        == (True,) * 4 + (False,) * 2
    )
    with pytest.raises(ValueError, match="got one that keeps 1"):
        space.encode({**params, "mask": (True,) + (False,) * 5})


def test_space_mask_json_round_trip():
    # the journal stores a mask as a JSON list of booleans: it encodes back
    space = mask_space()
    row = space.sample(1, np.random.default_rng(3))[0]
    stored = json.loads(json.dumps(space.decode(row)))
    assert isinstance(stored["mask"], list)
    assert space.key(space.encode(stored)) == space.key(row)


def test_condition_cannot_name_a_mask():
    with pytest.raises(ValueError, match="condition names 'mask', a FeatureMask"):
        Space({"mask": FeatureMask(3), "C": Float(0, 1, when={"mask": [True, True, True]})})


def test_conditional_mask_is_left_out_when_inactive():
    space = Space(
        {
            "select": Categorical([False, True]),
            "mask": FeatureMask(4, max_features=2, when={"select": True}),
        }
    )
    row = space.encode({"select": False})
    assert space.decode(row) == {"select": False}
    changed = row.copy()
    changed[space.slices["mask"]] = [0.0, 0.0, 1.0, 1.0]
    assert space.key(changed) == space.key(row)
    on = space.encode({"select": True, "mask": (False, True, False, False)})
    assert space.decode(on)["mask"] == (False, True, False, False)


@pytest.mark.parametrize("method", ["random", "lhs", "sobol"])
def test_sampled_masks_respect_bounds_and_spread(method):
    space = Space({"x": Float(0, 1), "mask": FeatureMask(20, min_features=3, max_features=12)})
    u = space.sample(400, np.random.default_rng(0), method=method)
    assert u.shape == (400, 21)
    np.testing.assert_array_equal(repair(u, space.schema), u)
    kept = u[:, 1:].sum(axis=1)
    assert kept.min() == 3 and kept.max() == 12
    # the number kept is uniform over 3..12, the columns spread evenly
    counts = np.bincount(kept.astype(int), minlength=13)[3:]
    assert (np.abs(counts - 40) < 20).all(), counts
    np.testing.assert_allclose(u[:, 1:].mean(axis=0), np.full(20, 7.5 / 20), atol=0.08)
    again = space.sample(400, np.random.default_rng(0), method=method)
    np.testing.assert_array_equal(u, again)


def test_sampling_without_masks_draws_as_before():
    # a space without masks samples exactly as it did before masks existed
    space = svc_space()
    rng = np.random.default_rng(0)
    u = space.sample(3, rng, method="random")
    ref = np.random.default_rng(0).random((3, 3))
    ref[:, 1] = np.floor(ref[:, 1] * 2)
    np.testing.assert_array_equal(u, repair(ref, space.schema))
    assert rng.random() == np.random.default_rng(0).random(10)[-1]


@st.composite
def mask_spaces_and_rows(draw):
    params: dict[str, Parameter] = {}
    for i in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            m = draw(st.integers(1, 12))
            lo = draw(st.integers(1, m))
            params[f"m{i}"] = FeatureMask(m, min_features=lo, max_features=draw(st.integers(lo, m)))
        else:
            params[f"p{i}"] = draw(parameters())
    space = Space(params)
    row = np.empty(space.n_genes)
    for name in space.names:
        p, sl = space[name], space.slices[name]
        if isinstance(p, FeatureMask):
            row[sl] = draw(st.lists(st.booleans(), min_size=p.n_features, max_size=p.n_features))
        elif isinstance(p, Categorical):
            row[sl] = float(draw(st.integers(0, len(p.choices) - 1)))
        else:
            row[sl] = draw(st.floats(0.0, 1.0))
    return space, repair(row[None, :], space.schema)[0]


@PROPERTY
@given(mask_spaces_and_rows())
def test_masks_decode_to_valid_tuples_and_keys_round_trip(case):
    space, row = case
    params = space.decode(row)
    for name, value in params.items():
        p = space[name]
        assert p.can_take(value), (name, value, p)
        if isinstance(p, FeatureMask):
            assert isinstance(value, tuple) and len(value) == p.n_features
            np.testing.assert_array_equal(np.array(value, dtype=float), row[space.slices[name]])
    row2 = space.encode(params)
    assert space.decode(row2) == params
    assert space.key(row2) == space.key(row)


@PROPERTY
@given(mask_spaces_and_rows(), st.data())
def test_mask_keys_tell_masks_apart(case, data):
    space, row = case
    masks = [n for n in space.names if isinstance(space[n], FeatureMask)]
    if not masks:
        return
    name = data.draw(st.sampled_from(masks))
    sl = space.slices[name]
    j = data.draw(st.integers(sl.start, sl.stop - 1))
    flipped = row.copy()
    flipped[j] = 1.0 - flipped[j]
    if not np.array_equal(repair(flipped[None, :], space.schema)[0], flipped):
        return  # the flip left the mask's bounds
    assert space.key(flipped) != space.key(row)


@settings(max_examples=25, deadline=None)
@given(mask_spaces_and_rows(), st.sampled_from(["random", "lhs", "sobol"]), st.integers(0, 2**32))
def test_sample_valid_for_spaces_with_masks(case, method, seed):
    space, _ = case
    u = space.sample(7, np.random.default_rng(seed), method=method)
    assert u.shape == (7, space.n_genes)
    np.testing.assert_array_equal(repair(u, space.schema), u)
    for row in u:
        for name, value in space.decode(row).items():
            assert space[name].can_take(value)


def test_evolve_keeps_every_candidate_within_the_mask_bounds():
    from evotune import evolve

    weights = np.r_[np.ones(4), -0.5 * np.ones(8)]

    def objective(params):
        return float(np.array(params["mask"]) @ weights) + 0.01 * params["x"]

    space = Space({"x": Float(0, 1), "mask": FeatureMask(12, min_features=2, max_features=6)})
    result = evolve(objective, space, population_size=12, generations=8, random_state=0)
    kept = [sum(m) for m in result.history["param_mask"]]
    assert min(kept) >= 2 and max(kept) <= 6
    assert result.best_params["mask"] == (True,) * 4 + (False,) * 8


_NESTED = Space(
    {
        "model": Categorical(["svc", "tree", "knn"]),
        "C": Float(1e-2, 1e2, log=True, when={"model": "svc"}),
        "kernel": Categorical(["rbf", "poly"], when={"model": "svc"}),
        "degree": Integer(2, 5, when={"kernel": "poly"}),
        "k": Integer(1, 30, when={"model": ["knn", "tree"]}),
        "flag": Integer(0, 3),
        "x": Float(0.0, 1.0, when={"flag": [1, 2]}),
    }
)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 60))
def test_active_rows_agrees_with_decode_all_row_by_row(seed, n):
    genes = _NESTED.sample(n, np.random.default_rng(seed))
    fast = _NESTED.active_rows(genes)
    for i in range(n):
        _, active = _NESTED.decode_all(genes[i])
        assert {name: bool(on[i]) for name, on in fast.items()} == active
