"""Doctest fixtures: docstring examples that read a run directory get a real one."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def _example_run(tmp_path_factory):
    from evotune import Categorical, Float, evolve

    path = tmp_path_factory.mktemp("doctest") / "run"
    evolve(
        lambda p: -((p["C"] - 3.0) ** 2) + (p["kernel"] == "rbf"),
        {"C": Float(0.1, 10.0), "kernel": Categorical(["rbf", "poly"])},
        population_size=6,
        generations=2,
        strategy="ga",  # the examples show its 11 evaluations (elitism 1)
        random_state=0,
        checkpoint=path,
    )
    return path


@pytest.fixture(autouse=True)
def _doctest_run(request, doctest_namespace):
    if "doctest" in request.node.nodeid or request.node.__class__.__name__ == "DoctestItem":
        doctest_namespace["example_run"] = request.getfixturevalue("_example_run")
