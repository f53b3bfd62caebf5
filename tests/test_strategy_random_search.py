"""strategy="random": fresh samples every generation, nothing bred, nothing twice."""

from __future__ import annotations

import pytest

from evotune import Float, Integer, evolve
from evotune.strategies import RandomSearch


def test_every_candidate_is_sampled_never_bred():
    res = evolve(
        lambda p: p["x"],
        {"x": Float(0, 1)},
        strategy="random",
        population_size=5,
        generations=4,
        random_state=0,
    )
    assert res.n_evaluations == 20
    assert set(res.history["origin"]) == {"initial"}
    assert res.history["param_x"].nunique() == 20


@pytest.mark.parametrize("sampling", ["lhs", "sobol", "random"])
def test_generations_use_the_run_s_initial_sampling(sampling):
    # LHS puts one point in each fifth of [0, 1] in every generation
    res = evolve(
        lambda p: p["x"],
        {"x": Float(0, 1)},
        strategy="random",
        population_size=5,
        generations=3,
        random_state=0,
        initial_sampling=sampling,
    )
    if sampling == "lhs":
        for _, block in res.history.groupby("generation"):
            assert sorted((block["param_x"] * 5).astype(int)) == [0, 1, 2, 3, 4]
    assert res.n_evaluations == 15


def test_a_small_space_is_exhausted_without_duplicates():
    res = evolve(
        lambda p: p["n"],
        {"n": Integer(0, 4)},
        strategy=RandomSearch(max_novelty_tries=50),
        population_size=4,
        generations=5,
        random_state=0,
    )
    assert res.history["param_n"].is_unique and res.n_evaluations <= 5


def test_random_through_the_estimators_and_the_experiment_file(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    from evotune import EvolutionaryFeatureSelector, EvolutionarySearchCV
    from evotune.experiment import load_experiment

    X, y = load_iris(return_X_y=True)
    search = EvolutionarySearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": Integer(1, 8)},
        cv=3,
        strategy="random",
        population_size=3,
        generations=2,
        random_state=0,
    ).fit(X, y)
    assert set(search.history_["origin"]) == {"initial"}
    selector = EvolutionaryFeatureSelector(
        DecisionTreeClassifier(random_state=0),
        strategy="random",
        cv=3,
        population_size=4,
        generations=2,
        random_state=0,
    ).fit(X, y)
    assert set(selector.history_["origin"]) == {"initial"}
    path = tmp_path / "random.toml"
    path.write_text(
        '[estimator]\nclass = "sklearn.tree.DecisionTreeClassifier"\n'
        '[data]\nloader = "sklearn.datasets.load_iris"\n'
        '[space]\nmax_depth = { type = "int", low = 1, high = 3 }\n'
        '[search]\nstrategy = "random"\npopulation_size = 2\ngenerations = 2\n',
        encoding="utf-8",
    )
    assert load_experiment(path).evolve_kwargs()["strategy"] == "random"
