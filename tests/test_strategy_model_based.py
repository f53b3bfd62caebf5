"""The model-based strategy: it learns, it stays exact, its model sees only
active parameters."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from _runs import run_script, write_script

from evotune import Categorical, Float, Integer, Space, evolve
from evotune.strategies import ModelBased
from evotune.strategies import model_based as mb_module
from evotune.strategies._surrogate import model_features

# a mixed space with a known optimum: x = 0.3, lr = 1e-2, n = 7, kind = "c" (score 0)
MIXED = {
    "x": Float(-1.0, 1.0),
    "lr": Float(1e-4, 1.0, log=True),
    "n": Integer(1, 12),
    "kind": Categorical(["a", "b", "c", "d"]),
}


def mixed(p):
    penalty = {"a": 1.0, "b": 0.6, "c": 0.0, "d": 0.8}[p["kind"]]
    return -(
        4 * (p["x"] - 0.3) ** 2
        + (math.log10(p["lr"]) + 2) ** 2 / 4
        + ((p["n"] - 7) / 4) ** 2
        + penalty
    )


def _best(strategy, seed, budget=40):
    res = evolve(
        mixed,
        MIXED,
        strategy=strategy,
        population_size=8,
        generations=budget // 8,
        max_evaluations=budget,
        random_state=seed,
    )
    assert res.n_evaluations == budget
    return res.best_score


def test_beats_random_sampling_on_the_median_of_five_seeds():
    seeds = range(5)
    model = np.median([_best("model_based", s) for s in seeds])
    random = np.median([_best("random", s) for s in seeds])
    # the optimum is 0; random search at 40 evaluations stays well below it
    assert model > random, (model, random)
    assert model > -0.25, model


def test_same_history_at_one_and_two_workers():
    runs = [
        evolve(
            mixed,
            MIXED,
            strategy="model_based",
            population_size=6,
            generations=3,
            random_state=4,
            n_jobs=n,
        )
        for n in (1, 2)
    ]
    a, b = (r.history.drop(columns=["fit_time", "score_time"]) for r in runs)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["origin"]) == {"initial", "model"}


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_equals_uninterrupted(tmp_path):
    script = write_script(tmp_path)
    env = {"STRATEGY": "model_based"}
    ref = run_script(script, tmp_path / "ref", generations=4, env=env)
    assert ref.returncode == 0, ref.stderr
    killed = run_script(script, tmp_path / "run", generations=4, env={**env, "KILL_AT": "19"})
    assert killed.returncode == -9
    again = run_script(script, tmp_path / "run", n_jobs=2, generations=4, env=env)
    assert again.returncode == 0, again.stderr
    a = pd.read_csv(tmp_path / "ref" / "history.csv").drop(columns=["fit_time", "score_time"])
    b = pd.read_csv(tmp_path / "run" / "history.csv").drop(columns=["fit_time", "score_time"])
    assert len(a) == 32 and set(a["origin"]) == {"initial", "model"}
    pd.testing.assert_frame_equal(a, b)
    lines = (tmp_path / "run" / "journal.jsonl").read_text().splitlines()
    keys = [r["key"] for r in map(json.loads, lines) if r["type"] == "fold"]
    assert len(keys) == len(set(keys)) == 32


# an estimator choice, each estimator with its own parameters
CHOICE = Space(
    {
        "model": Categorical(["svc", "tree", "knn"]),
        "C": Float(1e-2, 1e2, log=True, when={"model": "svc"}),
        "kernel": Categorical(["rbf", "poly"], when={"model": "svc"}),
        "degree": Integer(2, 5, when={"kernel": "poly"}),
        "depth": Integer(1, 10, when={"model": "tree"}),
        "k": Integer(1, 30, when={"model": "knn"}),
    }
)


def _choice_score(p):
    return {"svc": 0.5, "tree": 0.2, "knn": 0.0}[p["model"]] + 0.01 * sum(
        float(v) for k, v in p.items() if k in ("C", "degree", "depth", "k")
    )


def test_an_inactive_parameter_is_not_a_feature_of_the_model():
    rng = np.random.default_rng(0)
    genes = CHOICE.sample(200, rng)
    features = model_features(CHOICE, genes)
    # changing every inactive gene leaves a genome's features as they were
    other = CHOICE.sample(200, np.random.default_rng(1))
    for i in range(len(genes)):
        _, active = CHOICE.decode_all(genes[i])
        moved = genes[i].copy()
        for name, on in active.items():
            if not on:
                moved[CHOICE.slices[name]] = other[i, CHOICE.slices[name]]
        assert CHOICE.decode_all(moved)[1] == active
        np.testing.assert_array_equal(model_features(CHOICE, moved[None, :])[0], features[i])
    # and the features of an inactive parameter are the same constant in every row
    cols = {"svc": [], "tree": [], "knn": []}
    for i in range(len(genes)):
        values, active = CHOICE.decode_all(genes[i])
        cols[values["model"]].append(features[i])
    knn = np.array(cols["knn"])
    # one-hot model (3), C (1), kernel one-hot (2), degree, depth, k
    assert (knn[:, 3] == -0.5).all() and (knn[:, 4:6] == 0).all() and (knn[:, 6:8] == -0.5).all()


def test_the_model_is_fitted_on_active_features_only(monkeypatch):
    seen: list[np.ndarray] = []
    real = mb_module.fit_hyperparameters

    def spy(X, y, seed):
        seen.append(X.copy())
        return real(X, y, seed)

    monkeypatch.setattr(mb_module, "fit_hyperparameters", spy)
    res = evolve(
        _choice_score,
        CHOICE,
        strategy="model_based",
        population_size=6,
        generations=3,
        random_state=0,
    )
    assert len(seen) >= 2
    genes = np.stack([CHOICE.encode(e.params) for e in res.evaluations])
    # the same rows, up to the decimals a parameter's round trip loses
    np.testing.assert_allclose(seen[-1], model_features(CHOICE, genes[: len(seen[-1])]), atol=1e-9)


def test_no_candidate_is_asked_twice_on_a_small_space():
    space = {"n": Integer(1, 4), "kind": Categorical(["a", "b"])}
    res = evolve(
        lambda p: p["n"] + (p["kind"] == "b"),
        space,
        strategy="model_based",
        population_size=3,
        generations=5,
        random_state=0,
    )
    keys = [e.key for e in res.evaluations]
    assert len(keys) == len(set(keys)) == 8
    assert res.best_params == {"n": 4, "kind": "b"}


def test_failures_rank_last_and_do_not_stop_the_model():
    def flaky(p):
        if p["x"] > 0.5:
            raise ValueError("diverged")
        return -((p["x"] - 0.4) ** 2)

    res = evolve(
        flaky,
        {"x": Float(-1.0, 1.0)},
        strategy="model_based",
        population_size=5,
        generations=4,
        random_state=0,
    )
    h = res.history
    assert (h["status"] == "failed").any()
    assert res.best_params["x"] <= 0.5
    assert abs(res.best_params["x"] - 0.4) < 0.1


def test_parameters_are_checked_with_their_names():
    with pytest.raises(ValueError, match="'max_model_points'"):
        ModelBased(max_model_points=2)
    with pytest.raises(ValueError, match="'n_candidates'"):
        ModelBased(n_candidates=0)
    with pytest.raises(ValueError, match="'xi'"):
        ModelBased(xi=-1)
