"""strategy="grid": every point once, shuffled by the seed, capped by the budget."""

from __future__ import annotations

import pytest

from evotune import Categorical, FeatureMask, Float, Integer, InvalidParameterError, evolve
from evotune.space import Space
from evotune.strategies import GridSearch
from evotune.strategies.grid import grid_rows

SPACE = {"n": Integer(1, 3), "k": Categorical(["a", "b"]), "x": Float(0.0, 1.0)}


def test_every_point_once_then_exhausted():
    res = evolve(
        lambda p: p["n"] + p["x"],
        SPACE,
        strategy=GridSearch(n_points=3),
        population_size=4,
        generations=10,
        random_state=0,
    )
    assert res.stop_reason == "exhausted" and res.n_evaluations == 3 * 2 * 3
    points = set(zip(res.history["param_n"], res.history["param_k"], res.history["param_x"]))
    assert points == {(n, k, x) for n in (1, 2, 3) for k in "ab" for x in (0.0, 0.5, 1.0)}


def test_the_order_is_shuffled_by_the_seed():
    def order(seed):
        res = evolve(
            lambda p: p["n"],
            SPACE,
            strategy="grid",
            population_size=6,
            generations=1,
            random_state=seed,
        )
        return list(zip(res.history["param_n"], res.history["param_k"], res.history["param_x"]))

    assert order(0) == order(0) and order(0) != order(1)


def test_the_budget_caps_it():
    res = evolve(
        lambda p: p["x"], SPACE, strategy="grid", population_size=4, generations=2, random_state=0
    )
    assert res.n_evaluations == 8 and res.stop_reason == "generations"


def test_inactive_conditional_parameters_make_one_point():
    space = Space({"k": Categorical(["a", "b"]), "d": Integer(1, 3, when={"k": "b"})})
    assert len(grid_rows(space, 5)) == 1 + 3


def test_a_feature_mask_or_a_huge_grid_is_refused():
    with pytest.raises(InvalidParameterError, match="FeatureMask"):
        grid_rows(Space({"m": FeatureMask(8)}), 3)
    big = Space({f"x{i}": Float(0, 1) for i in range(9)})
    with pytest.raises(InvalidParameterError, match="n_points"):
        grid_rows(big, 5)
    with pytest.raises(InvalidParameterError, match="'n_points' must be >= 2"):
        GridSearch(n_points=1)


def test_grid_through_the_estimators_and_the_experiment_file(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    from evotune import EvolutionaryFeatureSelector, EvolutionarySearchCV
    from evotune.experiment import load_experiment

    X, y = load_iris(return_X_y=True)
    search = EvolutionarySearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": Integer(1, 4)},
        cv=3,
        strategy="grid",
        population_size=3,
        generations=5,
        random_state=0,
    ).fit(X, y)
    assert sorted(p["max_depth"] for p in search.cv_results_["params"]) == [1, 2, 3, 4]
    # a mask cannot be enumerated: the selector says so before any fit
    with pytest.raises(InvalidParameterError, match="FeatureMask"):
        EvolutionaryFeatureSelector(DecisionTreeClassifier(), strategy="grid", cv=3).fit(X, y)
    path = tmp_path / "grid.toml"
    path.write_text(
        '[estimator]\nclass = "sklearn.tree.DecisionTreeClassifier"\n'
        '[data]\nloader = "sklearn.datasets.load_iris"\n'
        '[space]\nmax_depth = { type = "int", low = 1, high = 3 }\n'
        '[search]\nstrategy = "grid"\npopulation_size = 2\ngenerations = 5\n',
        encoding="utf-8",
    )
    assert load_experiment(path).evolve_kwargs()["strategy"] == "grid"
