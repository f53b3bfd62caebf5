"""Tests for evotune._branches: a list of dicts as a conditional space, as
``RandomizedSearchCV`` takes it (issue 14, item 8)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import expon
from sklearn.model_selection import ParameterGrid

from evotune import evolve
from evotune._branches import BRANCH, branch_params, internal_name
from evotune.space import Categorical, Float, Integer, Space
from evotune.strategies.grid import grid_rows
from operators.schema import repair

PROPERTY = settings(max_examples=80, deadline=None)

C_RANGES = [(1e-4, 1e2), (1e-2, 1e3)]


def two_models() -> list[dict]:
    return [
        {"model": ["logistic"], "C": Float(*C_RANGES[0], log=True)},
        {
            "model": ["svc"],
            "C": Float(*C_RANGES[1], log=True),
            "kernel": ["rbf", "poly"],
            "degree": Integer(2, 5, when={"kernel": "poly"}),
        },
    ]


def test_each_dicts_parameters_are_their_own_genes_behind_a_hidden_branch():
    space = Space(two_models())
    assert space.names == (
        BRANCH,
        "model@0",
        "C@0",
        "model@1",
        "C@1",
        "kernel@1",
        "degree@1",
    )
    assert space.public_names == ("model", "C", "kernel", "degree")
    assert space[BRANCH].choices == (0, 1)
    assert space["C@0"].when == {BRANCH: (0,)}
    assert space["degree@1"].when == {"kernel@1": ("poly",), BRANCH: (1,)}


@PROPERTY
@given(genes=st.lists(st.floats(0.0, 1.0), min_size=7, max_size=7))
def test_every_genome_decodes_to_one_dict_with_its_own_range(genes):
    space = Space(two_models())
    row = repair(np.array([genes]) * space.schema.n_choices.clip(1, None), space.schema)[0]
    params = space.decode(row)
    branch = round(float(row[0]))
    assert BRANCH not in params and not any("@" in k for k in params)
    low, high = C_RANGES[branch]
    assert low <= params["C"] <= high
    if branch == 0:
        assert set(params) == {"model", "C"} and params["model"] == "logistic"
    else:
        assert params["model"] == "svc"
        assert ("degree" in params) == (params["kernel"] == "poly")
    # the genes of the other dict do not make a genome new
    other = row.copy()
    other[[2, 4][1 - branch]] = 1.0 - other[[2, 4][1 - branch]]
    assert space.key(other) == space.key(row)


def test_the_same_name_spans_each_dicts_range_when_sampled():
    space = Space(two_models())
    params = [space.decode(r) for r in space.sample(400, np.random.default_rng(0))]
    for branch, model in enumerate(["logistic", "svc"]):
        cs = [p["C"] for p in params if p["model"] == model]
        low, high = C_RANGES[branch]
        assert len(cs) > 100  # the branch is drawn as RandomizedSearchCV draws it
        assert low <= min(cs) and max(cs) <= high
        assert min(cs) < low * 10 and max(cs) > high / 10  # each its own range


def test_the_users_parameter_objects_keep_their_conditions():
    degree = Integer(2, 5, when={"kernel": "poly"})
    c = Float(1e-2, 1e3, log=True)
    Space([{"C": c}, {"kernel": ["rbf", "poly"], "degree": degree}])
    assert degree.when == {"kernel": ("poly",)} and c.when == {}


def test_a_condition_on_another_dicts_parameter_is_refused():
    with pytest.raises(ValueError, match=r"'params'\[1\]: parameter 'degree'.*'kernel'.*same dict"):
        Space([{"kernel": ["poly"]}, {"degree": Integer(2, 5, when={"kernel": "poly"})}])


def test_an_empty_dict_is_a_branch_that_sets_nothing():
    space = Space([{"C": [1, 10]}, {}])
    decoded = {json.dumps(space.decode(r)) for r in space.sample(50, np.random.default_rng(0))}
    assert decoded == {"{}", '{"C": 1}', '{"C": 10}'}


@pytest.mark.parametrize(
    "params",
    [
        [{"C": [1, 10]}, {}, {"C": [0.5]}],
        [{"first": [0, 1], "second": ["a", "b", "c"]}, {"third": ["two", "values"]}],
        [{}, {}],
        [{"kernel": ["rbf"], "C": [1, 2]}, {"kernel": ["poly"], "degree": [2, 3]}],
    ],
)
def test_the_distinct_candidates_are_scikit_learns_grid(params):
    space = Space(params)
    rows = grid_rows(space, 3)
    ours = sorted(json.dumps(space.decode(r), sort_keys=True) for r in rows)
    theirs = sorted(json.dumps(p, sort_keys=True) for p in ParameterGrid(params))
    assert ours == theirs


def test_a_list_of_one_dict_is_the_dict():
    one = Space([{"C": Float(1e-3, 1e3, log=True), "k": ["a", "b"]}])
    plain = Space({"C": Float(1e-3, 1e3, log=True), "k": ["a", "b"]})
    assert one.names == plain.names == one.public_names == ("C", "k")
    row = plain.sample(1, np.random.default_rng(0))[0]
    assert one.key(row) == plain.key(row)


def test_encode_takes_public_names_in_the_first_dict_that_takes_them():
    space = Space(two_models())
    row = space.encode({"model": "svc", "C": 500.0, "kernel": "poly", "degree": 3})
    assert row[0] == 1.0
    assert space.decode(row) == {"model": "svc", "C": 500.0, "kernel": "poly", "degree": 3}
    # C=0.001 is only in the first dict's range; C=500 only in the second's
    assert space.decode(space.encode({"C": 0.001}))["model"] == "logistic"
    assert space.decode(space.encode({"C": 500.0}))["model"] == "svc"
    with pytest.raises(ValueError, match=r"5000.0 is outside Float\(0.0001, 100.0"):
        space.encode({"C": 5000.0})  # the first dict with a C, whose range is named
    with pytest.raises(ValueError, match=r"no dict of the space's list has every name of"):
        space.encode({"C": 1.0, "gamma": 0.1})
    # the dict with exactly the names given comes first
    both = Space([{"C": [1, 2], "k": ["a"]}, {"C": [1, 2]}, {}])
    assert both.internal_params({"C": 1}) == {BRANCH: 1, "C@1": 1}
    assert both.internal_params({}) == {BRANCH: 2}
    # internal names still work
    assert space.decode(space.encode({BRANCH: 0, "C@0": 1.0})) == {"model": "logistic", "C": 1.0}


def test_a_copy_of_the_space_keeps_the_public_names():
    space = Space(Space(two_models()))
    assert space.public_names == ("model", "C", "kernel", "degree")
    assert BRANCH not in space.decode(space.sample(1, np.random.default_rng(0))[0])


def test_bad_lists_are_refused_naming_the_entry():
    with pytest.raises(TypeError, match=r"\[1\]: a list of parameter spaces must hold dicts"):
        Space([{"C": [1]}, ["C", [1, 2]]])
    with pytest.raises(TypeError, match=r"'params'\[0\]: parameter names must be non-empty"):
        Space([{"": [1]}, {}])
    with pytest.raises(ValueError, match=r"'params'\[1\]: parameter 'C'.*must not be empty"):
        Space([{"C": [1]}, {"C": []}])
    with pytest.raises(TypeError, match=r"'params'\[0\]: parameter 'g'.*got 'x'"):
        Space([{"g": "x"}, {}])
    with pytest.raises(ValueError, match="empty list"):
        Space([])


def test_internal_names_never_collide_with_a_users():
    params, public, names = branch_params([{"a@1": [1], BRANCH: [2]}, {"a": [3]}])
    assert list(params) == [BRANCH, "a@1@0", f"{BRANCH}@0", "a@1"]
    assert public == {BRANCH: None, "a@1@0": "a@1", f"{BRANCH}@0": BRANCH, "a@1": "a"}
    assert names == [{"a@1": "a@1@0", BRANCH: f"{BRANCH}@0"}, {"a": "a@1"}]
    assert internal_name("x", 3) == "x@3"


def test_a_search_gives_the_objective_public_names_only_and_each_its_range(tmp_path):
    seen: list[dict] = []

    def score(params):
        seen.append(dict(params))
        return -abs(np.log10(params["C"])) if "C" in params else 0.0

    space = [
        {"model": ["logistic"], "C": Float(*C_RANGES[0], log=True)},
        {"model": ["svc"], "C": Float(*C_RANGES[1], log=True), "gamma": expon(scale=0.1)},
        {"model": ["default"]},
    ]
    result = evolve(
        score, space, population_size=8, generations=4, random_state=0, checkpoint=tmp_path / "r"
    )
    assert len(seen) == len(result.history) >= 8
    for params in seen:
        assert set(params) <= {"model", "C", "gamma"}
        if params["model"] == "default":
            assert params == {"model": "default"}
        else:
            low, high = C_RANGES[["logistic", "svc"].index(params["model"])]
            assert low <= params["C"] <= high
            assert ("gamma" in params) == (params["model"] == "svc")
    assert [c for c in result.history.columns if c.startswith("param_")] == [
        "param_model",
        "param_C",
        "param_gamma",
    ]
    assert BRANCH not in result.best_params
    resumed = evolve(
        score,
        space,
        population_size=8,
        generations=4,
        random_state=0,
        checkpoint=tmp_path / "r",
        resume=True,
    )
    assert resumed.history["param_C"].tolist() == result.history["param_C"].tolist()


def test_a_categorical_branch_value_may_be_any_object():
    space = Space([{"est": [object]}, {"est": Categorical([dict, list])}])
    values = {space.decode(r)["est"] for r in space.sample(40, np.random.default_rng(0))}
    assert values == {object, dict, list}
