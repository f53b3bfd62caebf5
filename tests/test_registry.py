"""The strategy registry (evotune/strategies/_registry.py) and what the
strategies share (evotune/strategies/base.py): every registered
``"module:Class"`` imports and names itself by its key, the package exports
follow the registry, and ``candidate_of`` turns a genome into a Candidate."""

from __future__ import annotations

import importlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import evotune.strategies as strategies
from evotune._validation import InvalidParameterError
from evotune.genome import Genome
from evotune.records import Candidate
from evotune.settings import SearchSettings
from evotune.strategies import STRATEGY_NAMES, make_strategy, strategy_class
from evotune.strategies._registry import REGISTRY
from evotune.strategies.base import Strategy, candidate_of

ROOT = Path(__file__).resolve().parents[1]


def _load(path: str):
    module, sep, cls = path.partition(":")
    assert sep == ":" and module and cls, path
    return getattr(importlib.import_module(module), cls)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_registered_path_imports_a_class_named_by_its_key(name):
    cls = _load(REGISTRY[name])
    assert isinstance(cls, type)
    assert cls.name == name
    assert strategy_class(name) is cls
    assert cls.__module__ == REGISTRY[name].partition(":")[0]
    assert isinstance(cls.asynchronous, bool) and isinstance(cls.multi_objective, bool)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_registered_class_builds_a_strategy_from_the_settings(name):
    multi = strategy_class(name).multi_objective
    objectives = {"score": "maximize", "fit_time": "minimize"} if multi else None
    obj = make_strategy(name, SearchSettings(objectives=objectives))
    assert isinstance(obj, strategy_class(name))
    assert isinstance(obj, Strategy)
    assert isinstance(obj.params(), dict)


def test_the_names_are_the_registrys_keys_in_order():
    assert tuple(REGISTRY) == STRATEGY_NAMES
    assert len(set(STRATEGY_NAMES)) == len(STRATEGY_NAMES)
    # and one class for each name
    paths = list(REGISTRY.values())
    assert len(set(paths)) == len(paths)
    assert len({p.rpartition(":")[2] for p in paths}) == len(paths)


def test_the_package_exports_follow_the_registry():
    classes = [path.rpartition(":")[2] for path in REGISTRY.values()]
    assert strategies.__all__ == sorted(
        ["STRATEGY_NAMES", "for_objective", "make_strategy", "strategy_class", *classes]
    )
    for name in REGISTRY:
        cls = strategy_class(name)
        assert getattr(strategies, cls.__name__) is cls
    for exported in strategies.__all__:
        assert getattr(strategies, exported) is not None


def test_an_unknown_name_is_neither_exported_nor_a_strategy():
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchStrategy'"):
        strategies.NoSuchStrategy  # noqa: B018
    with pytest.raises(KeyError):
        strategy_class("no_such_strategy")
    with pytest.raises(InvalidParameterError, match="must be one of"):
        SearchSettings(strategy="no_such_strategy")


def test_every_registered_name_is_a_valid_setting():
    for name in STRATEGY_NAMES:
        assert SearchSettings(strategy=name).strategy == name


def test_the_registry_and_the_package_import_no_strategy_module():
    """The registry imports nothing, and the package imports the strategy
    classes only when one is asked for (in a fresh interpreter)."""
    code = (
        "import json, sys\n"
        "import evotune.strategies._registry\n"
        "import evotune.strategies\n"
        "before = sorted(m for m in sys.modules if m.startswith('evotune.strategies.'))\n"
        "evotune.strategies.GA\n"
        "after = sorted(m for m in sys.modules if m.startswith('evotune.strategies.'))\n"
        "print(json.dumps([before, after]))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    before, after = json.loads(out)
    modules = {path.partition(":")[0] for path in REGISTRY.values()}
    assert not modules & set(before), before
    assert "evotune.strategies.ga" in after


# ---- candidate_of --------------------------------------------------------------


def _genome(**kw) -> Genome:
    fields = {
        "key": "x=0.5|kind=b",
        "params": {"x": 0.5, "kind": "b", "layers": [8, 4]},
        "direction": "maximize",
        "id": 17,
        "generation": 3,
        "origin": "crossover",
        "parents": (4, 9),
        "seed": 123456,
    }
    fields.update(kw)
    return Genome(np.array([0.75, 1.0]), **fields)


def test_candidate_of_copies_the_genomes_fields():
    g = _genome()
    c = candidate_of(g)
    assert isinstance(c, Candidate)
    assert (c.id, c.generation, c.origin, c.key, c.seed) == (17, 3, "crossover", g.key, 123456)
    assert c.params == g.params
    assert math.isnan(c.expected_cost)


def test_candidate_of_passes_the_expected_cost():
    assert candidate_of(_genome(), 2.5).expected_cost == 2.5
    assert candidate_of(_genome(), expected_cost=0.0).expected_cost == 0.0


def test_the_candidates_params_are_a_copy_of_the_genomes():
    g = _genome()
    c = candidate_of(g)
    assert c.params is not g.params
    c.params["x"] = -1.0
    c.params["new"] = True
    assert g.params == {"x": 0.5, "kind": "b", "layers": [8, 4]}
    g.params["kind"] = "a"
    assert c.params["kind"] == "b"


def test_later_changes_to_the_genome_do_not_reach_the_candidate():
    g = _genome()
    c = candidate_of(g)
    g.id, g.generation, g.origin, g.seed = 99, 7, "mutation", 1
    assert (c.id, c.generation, c.origin, c.seed) == (17, 3, "crossover", 123456)


@given(
    id=st.integers(0, 10**9),
    generation=st.integers(0, 10**4),
    origin=st.sampled_from(["initial", "mutation", "crossover", "seed", "immigrant"]),
    seed=st.integers(0, 2**32 - 1),
    params=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=5), st.none()),
        max_size=5,
    ),
    cost=st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
)
def test_candidate_of_any_genome(id, generation, origin, seed, params, cost):
    g = Genome(
        np.zeros(1),
        key=json.dumps(params, sort_keys=True),
        params=params,
        direction="minimize",
        id=id,
        generation=generation,
        origin=origin,
        seed=seed,
    )
    c = candidate_of(g) if cost is None else candidate_of(g, cost)
    assert (c.id, c.generation, c.origin, c.key, c.seed) == (id, generation, origin, g.key, seed)
    assert c.params == params and c.params is not params
    if cost is None:
        assert math.isnan(c.expected_cost)
    else:
        assert c.expected_cost == cost
