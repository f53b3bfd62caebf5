"""EvolutionarySearchCV: scikit-learn's contract, cv_results_, routing, resume."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import loguniform, randint
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_iris, make_regression
from sklearn.exceptions import FitFailedWarning, NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GroupKFold, RandomizedSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from evotune import Categorical, EvolutionarySearchCV, Float, Integer, Space

TINY = {"population_size": 3, "generations": 2, "cv": 2, "random_state": 0}


# error_score="raise", as scikit-learn configures its own searches for these
# checks (sklearn/utils/_test_common/instance_generator.py): a check that
# wants the estimator's own error (check_dtype_object wants its TypeError)
# gets it, not the search's "all evaluations failed".
@parametrize_with_checks(
    [
        EvolutionarySearchCV(
            LogisticRegression(max_iter=200),
            {"C": Float(0.1, 10.0, log=True)},
            error_score="raise",
            **TINY,
        ),
        EvolutionarySearchCV(
            Ridge(), {"alpha": Float(0.1, 10.0, log=True)}, error_score="raise", **TINY
        ),
    ],
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_cv_results_keys_and_dtypes_match_randomized_search(iris):
    X, y = iris
    kw = {
        "scoring": ["accuracy", "f1_macro"],
        "refit": "accuracy",
        "return_train_score": True,
        "cv": 3,
    }
    space = {"C": loguniform(1e-2, 1e2)}
    ref = RandomizedSearchCV(
        LogisticRegression(max_iter=500), space, n_iter=5, random_state=0, **kw
    ).fit(X, y)
    ours = EvolutionarySearchCV(
        LogisticRegression(max_iter=500),
        space,
        population_size=4,
        generations=2,
        random_state=0,
        **kw,
    ).fit(X, y)
    assert set(ours.cv_results_) == set(ref.cv_results_)
    for key, value in ref.cv_results_.items():
        got = ours.cv_results_[key]
        assert type(got) is type(value), key
        if isinstance(value, np.ndarray):
            assert got.dtype == value.dtype, key
    n = len(ours.cv_results_["params"])
    assert n == len(ours.history_)
    assert ours.multimetric_ is True
    assert set(ours.scorer_) == {"accuracy", "f1_macro"}
    assert ours.best_score_ == ours.cv_results_["mean_test_accuracy"][ours.best_index_]
    assert ours.cv_results_["rank_test_accuracy"][ours.best_index_] == 1
    assert ours.best_params_ == ours.cv_results_["params"][ours.best_index_]
    assert ours.n_splits_ == 3
    assert ours.refit_time_ >= 0
    assert ours.predict(X[:5]).shape == (5,)
    assert ours.predict_proba(X[:5]).shape == (5, 3)
    assert ours.decision_function(X[:5]).shape == (5, 3)
    assert list(ours.classes_) == [0, 1, 2]
    assert ours.n_features_in_ == 4
    # per-split values are consistent with the means
    np.testing.assert_allclose(
        np.mean([ours.cv_results_[f"split{k}_test_f1_macro"] for k in range(3)], axis=0),
        ours.cv_results_["mean_test_f1_macro"],
    )
    # evotune's own tables ride along
    assert {"status", "generation", "origin"} <= set(ours.history_.columns)
    assert not ours.hall_of_fame_.empty and len(ours.logbook_) == 2


def test_best_matches_the_engine_and_scores_as_scikit_learn_does(iris):
    X, y = iris
    search = EvolutionarySearchCV(
        LogisticRegression(max_iter=500),
        {"C": Float(1e-3, 1e2, log=True)},
        cv=3,
        population_size=6,
        generations=3,
        random_state=1,
    ).fit(X, y)
    assert search.best_params_ == search.result_.best_params
    assert search.best_score_ == pytest.approx(search.result_.best_score)
    from sklearn.model_selection import cross_val_score as cvs

    manual = cvs(LogisticRegression(max_iter=500, **search.best_params_), X, y, cv=3).mean()
    assert search.best_score_ == pytest.approx(manual)
    assert search.score(X, y) == pytest.approx(search.best_estimator_.score(X, y))


def test_refit_callable_and_refit_false(iris):
    X, y = iris

    def pick_last(results):
        return len(results["params"]) - 1

    s = EvolutionarySearchCV(
        LogisticRegression(max_iter=300), {"C": Float(0.1, 10.0)}, refit=pick_last, **TINY
    ).fit(X, y)
    assert s.best_index_ == len(s.cv_results_["params"]) - 1
    assert not hasattr(s, "best_score_")
    s = EvolutionarySearchCV(
        LogisticRegression(max_iter=300), {"C": Float(0.1, 10.0)}, refit=False, **TINY
    ).fit(X, y)
    assert not hasattr(s, "best_estimator_")
    with pytest.raises((AttributeError, NotFittedError)):
        s.predict(X)
    m = EvolutionarySearchCV(
        LogisticRegression(max_iter=300),
        {"C": Float(0.1, 10.0)},
        refit=False,
        scoring=["accuracy", "f1_macro"],
        **TINY,
    ).fit(X, y)
    assert not hasattr(m, "best_index_")
    with pytest.raises(ValueError, match="refit"):
        EvolutionarySearchCV(
            LogisticRegression(),
            {"C": Float(0.1, 10.0)},
            scoring=["accuracy", "f1_macro"],
            **TINY,
        ).fit(X, y)


def test_clone_get_params_set_params():
    space = Space({"C": Float(0.1, 10.0)})
    s = EvolutionarySearchCV(LogisticRegression(), space, population_size=7, timeout=3.0)
    params = s.get_params()
    assert params["param_distributions"] is space and params["population_size"] == 7
    assert params["estimator__C"] == 1.0
    c = clone(s)
    assert c.get_params()["population_size"] == 7
    c.set_params(generations=3, estimator__C=2.0)
    assert c.generations == 3 and c.estimator.C == 2.0
    pickle.loads(pickle.dumps(s))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"population_size": 1}, "population_size"),
        ({"strategy": "nope"}, "strategy"),
        ({"param_distributions": {"C": Float(1.0, 2.0), "x": object()}}, "'x'"),
        ({"scoring": "not-a-scorer"}, "scoring"),
    ],
)
def test_bad_settings_fail_in_fit_naming_them(iris, change, match):
    X, y = iris
    kw = {"param_distributions": {"C": Float(0.1, 10.0)}, **TINY}
    kw.update(change)
    s = EvolutionarySearchCV(LogisticRegression(), **kw)  # stored untouched
    with pytest.raises((ValueError, TypeError), match=match):
        s.fit(X, y)


def test_pipeline_with_column_transformer_on_a_dataframe():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "colour": rng.choice(["red", "green", "blue"], n),
            "size": rng.choice(["S", "M", "L"], n),
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
        }
    )
    y = ((df["colour"] == "red") ^ (df["x"] > 0.3)).astype(int).to_numpy()
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour", "size"]),
            ("num", StandardScaler(), ["x", "z"]),
        ]
    )
    pipe = Pipeline([("preprocess", pre), ("clf", DecisionTreeClassifier(random_state=0))])
    space = {
        "clf__max_depth": randint(1, 8),
        "clf__criterion": ["gini", "entropy"],
        "preprocess__num__with_mean": [True, False],
    }
    s = EvolutionarySearchCV(
        pipe, space, cv=3, population_size=6, generations=3, random_state=0
    ).fit(df, y)
    assert s.best_score_ > 0.9
    assert list(s.feature_names_in_) == ["colour", "size", "x", "z"]
    new = pd.DataFrame(
        {"colour": ["red", "blue"], "size": ["S", "XL"], "x": [1.0, -1.0], "z": [0.0, 0.0]}
    )
    assert s.predict(new).shape == (2,)
    assert s.cv_results_["param_clf__max_depth"].dtype.kind == "i"


def test_groups_go_to_the_splitter(iris):
    X, y = iris
    groups = np.arange(len(y)) % 5
    s = EvolutionarySearchCV(
        LogisticRegression(max_iter=300),
        {"C": Float(0.1, 10.0)},
        cv=GroupKFold(5),
        population_size=3,
        generations=1,
        random_state=0,
    ).fit(X, y, groups=groups)
    assert s.n_splits_ == 5
    with pytest.raises(ValueError):
        EvolutionarySearchCV(
            LogisticRegression(),
            {"C": Float(0.1, 10.0)},
            cv=GroupKFold(5),
            **{k: v for k, v in TINY.items() if k != "cv"},
        ).fit(X, y)  # GroupKFold without groups


def test_sample_weight_is_routed_to_fit_and_split_with_the_folds():
    seen = []

    class Recorder(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            seen.append(None if sample_weight is None else len(sample_weight))
            return super().fit(X, y, sample_weight=sample_weight)

    X, y = load_breast_cancer(return_X_y=True)
    w = np.ones(len(y))
    s = EvolutionarySearchCV(
        Recorder(max_iter=100),
        {"C": Float(0.1, 10.0)},
        cv=3,
        population_size=2,
        generations=1,
        random_state=0,
    )
    s.fit(X, y, sample_weight=w)
    fold_sizes = {len(y) - len(y) // 3 - (1 if i < len(y) % 3 else 0) for i in range(3)}
    assert set(seen[:-1]) <= fold_sizes | {len(y) * 2 // 3, len(y) * 2 // 3 + 1}
    assert seen[-1] == len(y)  # the refit gets all of them
    assert None not in seen


def test_nested_cross_validation_and_as_a_pipeline_step(iris):
    X, y = iris
    inner = EvolutionarySearchCV(
        LogisticRegression(max_iter=300), {"C": Float(0.1, 10.0, log=True)}, **TINY
    )
    scores = cross_val_score(inner, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    pipe = make_pipeline(StandardScaler(), clone(inner))
    assert pipe.fit(X, y).score(X, y) > 0.9


def test_regression_with_neg_mse_and_a_conditional_space():
    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    from sklearn.ensemble import RandomForestRegressor

    space = Space(
        {
            "bootstrap": Categorical([True, False]),
            "max_samples": Float(0.3, 1.0, when={"bootstrap": True}),
            "n_estimators": Integer(5, 20),
        }
    )
    s = EvolutionarySearchCV(
        RandomForestRegressor(random_state=0),
        space,
        scoring="neg_mean_squared_error",
        cv=3,
        population_size=4,
        generations=2,
        random_state=0,
    ).fit(X, y)
    assert s.best_score_ < 0
    ma = s.cv_results_["param_max_samples"]
    boot = s.cv_results_["param_bootstrap"]
    assert all(ma.mask[i] == (not boot[i]) for i in range(len(boot)))


def test_failed_candidates_rank_last_whatever_error_score(iris):
    X, y = iris
    space = {"C": Float(-1.0, 1.0)}  # C <= 0 makes LogisticRegression raise
    with pytest.warns(FitFailedWarning):  # scikit-learn's category (issue 14, item 9)
        s = EvolutionarySearchCV(
            LogisticRegression(max_iter=300),
            space,
            error_score=1.0,
            cv=2,
            population_size=8,
            generations=2,
            random_state=0,
        ).fit(X, y)
    res = s.cv_results_
    failed = np.array(s.history_["status"] != "ok")
    assert failed.any() and (~failed).any()
    assert (res["rank_test_score"][failed] == res["rank_test_score"].max()).all()
    assert res["mean_test_score"][failed].tolist() == [1.0] * failed.sum()
    assert s.best_params_["C"] > 0


def test_n_jobs_2_gives_the_same_cv_results(iris):
    X, y = iris
    kw = dict(
        param_distributions={"C": Float(1e-2, 10.0, log=True)},
        cv=3,
        population_size=4,
        generations=2,
        random_state=0,
    )
    a = EvolutionarySearchCV(LogisticRegression(max_iter=300), n_jobs=1, **kw).fit(X, y)
    b = EvolutionarySearchCV(LogisticRegression(max_iter=300), n_jobs=2, **kw).fit(X, y)
    _assert_same_results(a.cv_results_, b.cv_results_)


def _assert_same_results(a, b):
    assert set(a) == set(b)
    for key in a:
        if "time" in key:
            continue
        if key == "params":
            assert a[key] == b[key]
        else:
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from _runs import KillingLR
    from sklearn.datasets import load_breast_cancer
    from evotune import EvolutionarySearchCV, Float
    X, y = load_breast_cancer(return_X_y=True)
    s = EvolutionarySearchCV(KillingLR(max_iter=50), {{"C": Float(1e-3, 1e2, log=True)}},
                             cv=3, population_size=6, generations=3, random_state=0,
                             checkpoint={ck!r}, resume=True)
    s.fit(X, y)
    print("fitted", len(s.cv_results_["params"]))
    """
)


@pytest.mark.slow  # kill-and-resume of a real process
def test_checkpoint_kill_and_resume_gives_the_same_cv_results(tmp_path):
    from _runs import KillingLR

    ck = tmp_path / "run"
    script = tmp_path / "search.py"
    script.write_text(KILL_SCRIPT.format(tests=str(Path(__file__).parent), ck=str(ck)))
    env = {**os.environ, "KILL_FIT_AT": "25"}
    # each script takes a few seconds on an idle machine: 600 s is a generous multiple
    first = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    assert first.returncode == -9, first.stderr
    second = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600
    )
    assert second.returncode == 0, second.stderr
    X, y = load_breast_cancer(return_X_y=True)
    kw = dict(cv=3, population_size=6, generations=3, random_state=0)
    # the killed-and-resumed run, read back from its journal without fitting anything
    resumed = EvolutionarySearchCV(
        KillingLR(max_iter=50),
        {"C": Float(1e-3, 1e2, log=True)},
        checkpoint=ck,
        resume=True,
        refit=False,
        **kw,
    ).fit(X, y)
    straight = EvolutionarySearchCV(
        KillingLR(max_iter=50), {"C": Float(1e-3, 1e2, log=True)}, refit=False, **kw
    ).fit(X, y)
    _assert_same_results(resumed.cv_results_, straight.cv_results_)


def test_verbose_prints_a_line_per_generation(iris, capsys):
    X, y = iris
    EvolutionarySearchCV(
        LogisticRegression(max_iter=300), {"C": Float(0.1, 10.0)}, verbose=1, **TINY
    ).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("[EvolutionarySearchCV] generation") == 2


# ---- issue 14 (8): what RandomizedSearchCV takes as param_distributions --------


def test_a_list_of_dicts_switches_the_pipelines_step_with_its_own_ranges():
    from scipy.stats import expon
    from sklearn.datasets import make_classification
    from sklearn.svm import SVC

    X, y = make_classification(n_samples=90, n_features=5, random_state=0)
    ranges = {"LogisticRegression": (1e-4, 1e2), "SVC": (1e-2, 1e3)}
    space = [
        {
            "clf": [LogisticRegression(max_iter=300)],
            "clf__C": loguniform(*ranges["LogisticRegression"]),
            "clf__fit_intercept": [True, False],  # SVC has no fit_intercept
        },
        {
            "clf": [SVC()],
            "clf__C": loguniform(*ranges["SVC"]),
            "clf__gamma": expon(scale=0.1),  # LogisticRegression has no gamma
        },
    ]
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    s = EvolutionarySearchCV(
        pipe,
        space,
        cv=3,
        population_size=8,
        generations=3,
        random_state=0,
        error_score="raise",  # a parameter of the other branch would fail set_params
    ).fit(X, y)
    params = s.cv_results_["params"]
    kinds = {type(p["clf"]).__name__ for p in params}
    assert kinds == {"LogisticRegression", "SVC"}
    for p in params:
        kind = type(p["clf"]).__name__
        low, high = ranges[kind]
        assert low <= p["clf__C"] <= high
        own = "clf__gamma" if kind == "SVC" else "clf__fit_intercept"
        assert set(p) == {"clf", "clf__C", own}  # the other branch's parameter never
    assert (s.history_["status"] == "ok").all()
    assert sorted(k for k in s.cv_results_ if k.startswith("param_")) == [
        "param_clf",
        "param_clf__C",
        "param_clf__fit_intercept",
        "param_clf__gamma",
    ]
    gamma = s.cv_results_["param_clf__gamma"]
    is_svc = np.array([type(p["clf"]).__name__ == "SVC" for p in params])
    assert (gamma.mask == ~is_svc).all()
    assert (s.cv_results_["param_clf__fit_intercept"].mask == is_svc).all()
    assert not any("@" in k or "branch" in k for p in params for k in p)
    assert s.best_params_ == params[s.best_index_]
    best = s.best_estimator_.named_steps["clf"]
    low, high = ranges[type(best).__name__]
    assert low <= best.C <= high


def test_scikit_learns_list_of_dicts_with_expon_gives_its_masks_and_dtypes():
    # sklearn's test_random_search_cv_results, on a list of dicts with expon
    from scipy.stats import expon
    from sklearn.datasets import make_classification
    from sklearn.svm import SVC

    X, y = make_classification(n_samples=50, n_features=4, random_state=42)
    params = [
        {"kernel": ["rbf"], "C": expon(scale=10), "gamma": expon(scale=0.1)},
        {"kernel": ["poly"], "degree": [2, 3]},
    ]
    s = EvolutionarySearchCV(
        SVC(), params, cv=3, population_size=6, generations=2, random_state=0
    ).fit(X, y)
    res = s.cv_results_
    kinds = {"param_C": "f", "param_degree": "i", "param_gamma": "f", "param_kernel": "O"}
    for key, kind in kinds.items():
        assert res[key].dtype.kind == kind, key
    for i, kernel in enumerate(res["param_kernel"]):
        assert res["param_C"].mask[i] == res["param_gamma"].mask[i] == (kernel == "poly")
        assert res["param_degree"].mask[i] == (kernel == "rbf")


def test_an_empty_space_is_one_candidate_the_estimator_as_given(iris):
    X, y = iris
    s = EvolutionarySearchCV(
        LogisticRegression(max_iter=500), {}, cv=3, population_size=6, generations=3
    ).fit(X, y)
    assert s.cv_results_["params"] == [{}] and s.best_params_ == {}
    assert not any(k.startswith("param_") for k in s.cv_results_)
    ref = cross_val_score(LogisticRegression(max_iter=500), X, y, cv=3)
    assert s.best_score_ == pytest.approx(ref.mean())


def test_ranges_repeated_values_and_any_scipy_distribution(iris):
    from scipy.stats import norm, poisson

    X, y = iris
    s = EvolutionarySearchCV(
        DecisionTreeClassifier(random_state=0),
        {
            "max_depth": range(1, 6),
            "min_samples_split": poisson(4, loc=2),
            "criterion": ["gini", "gini", "entropy"],
            "ccp_alpha": norm(0.01, 0.001),  # its tails are cut: a negative is very unlikely
        },
        cv=3,
        population_size=6,
        generations=2,
        random_state=0,
        error_score="raise",
    ).fit(X, y)
    for p in s.cv_results_["params"]:
        assert p["max_depth"] in range(1, 6) and type(p["max_depth"]) is int
        assert p["min_samples_split"] >= 2 and type(p["min_samples_split"]) is int
        assert p["criterion"] in ("gini", "entropy")
        assert 0.0 < p["ccp_alpha"] < 0.02
    assert s.cv_results_["param_max_depth"].dtype.kind == "i"


def test_what_is_still_refused_names_the_parameter_and_what_is_allowed(iris):
    X, y = iris

    class OnlyRvs:
        def rvs(self, random_state=None):
            return 1.0

    cases = [
        ({"C": OnlyRvs()}, TypeError, r"'C'.*no ppf and cdf.*frozen scipy.stats"),
        ({"C": "1.0"}, TypeError, r"'C'.*list, tuple or range"),
        ([{"C": [1.0]}, "C"], TypeError, r"\[1\]: a list of parameter spaces must hold dicts"),
        ([], ValueError, r"empty list"),
    ]
    for space, exc, match in cases:
        with pytest.raises(exc, match=match):
            EvolutionarySearchCV(LogisticRegression(), space, cv=3).fit(X, y)


# ------------------------------------------------------------ issue 14, part A
def _search(estimator, space, n_iter, **kw):
    """A search of exactly ``n_iter`` evaluations."""
    kw.setdefault("random_state", 0)
    return EvolutionarySearchCV(
        estimator,
        space,
        population_size=max(2, n_iter),
        generations=1,
        max_evaluations=n_iter,
        **kw,
    )


class _FitWithCallback(LogisticRegression):
    def fit(self, X, y, callback=None):
        callback(self)
        return super().fit(X, y)


def test_a_lambda_fit_parameter_runs_serially_and_checkpointed(iris, tmp_path):
    # item 1: the fingerprint pickled every fit parameter and crashed fit
    X, y = iris
    calls = []
    s = _search(
        _FitWithCallback(max_iter=300), {"C": [0.1, 1.0]}, 2, cv=2, checkpoint=tmp_path / "run"
    )
    s.fit(X, y, callback=lambda m: calls.append(m))
    assert len(s.cv_results_["params"]) == 2 and len(calls) == 2 * 2 + 1


def test_precomputed_kernels_and_distances_slice_the_training_columns():
    # item 2: as test_search_cv_pairwise_property_equivalence_of_precomputed
    from sklearn.datasets import make_classification
    from sklearn.metrics.pairwise import euclidean_distances
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    X, y = make_classification(n_samples=50, random_state=0)
    knn = _search(KNeighborsClassifier(), {"n_neighbors": [10]}, 1, cv=2).fit(X, y)
    D = euclidean_distances(X)
    pre = _search(KNeighborsClassifier(metric="precomputed"), {"n_neighbors": [10]}, 1, cv=2)
    pre.fit(D, y)
    assert (knn.predict(X) == pre.predict(D)).all()
    assert pre.best_score_ == pytest.approx(knn.best_score_)
    K = X @ X.T
    svc = _search(SVC(kernel="precomputed"), {"C": [0.1, 1.0]}, 2, cv=3).fit(K, y)
    lin = _search(SVC(kernel="linear"), {"C": [0.1, 1.0]}, 2, cv=3).fit(X, y)
    assert svc.cv_results_["mean_test_score"] == pytest.approx(lin.cv_results_["mean_test_score"])


def test_a_callable_scoring_returning_a_dict_with_refit_naming_a_metric():
    # item 3: as test_callable_multimetric_confusion_matrix
    from sklearn.datasets import make_classification
    from sklearn.metrics import confusion_matrix
    from sklearn.svm import LinearSVC

    def custom_scorer(clf, X, y):
        cm = confusion_matrix(y, clf.predict(X))
        return {"tn": cm[0, 0], "fp": cm[0, 1], "fn": cm[1, 0], "tp": cm[1, 1]}

    X, y = make_classification(n_samples=40, n_features=4, random_state=42)
    s = _search(LinearSVC(random_state=42), {"C": [0.1, 1]}, 2, scoring=custom_scorer, refit="fp")
    s.fit(X, y)
    for name in ["tn", "fp", "fn", "tp"]:
        assert f"mean_test_{name}" in s.cv_results_
    assert s.multimetric_
    cm = confusion_matrix(y, s.predict(X))
    assert s.score(X, y) == pytest.approx(cm[0, 1])
    bad = _search(LinearSVC(), {"C": [0.1, 1]}, 2, scoring=custom_scorer, refit="good_name")
    with pytest.raises(ValueError, match="For multi-metric scoring, the parameter refit"):
        bad.fit(X, y)
    no_key = _search(LinearSVC(), {"C": [0.1, 1]}, 2, scoring=custom_scorer, refit=True)
    with pytest.raises(ValueError, match="refit must be set to a scorer key"):
        no_key.fit(X, y)
    no_refit = _search(LinearSVC(), {"C": [0.1, 1]}, 2, scoring=custom_scorer, refit=False)
    assert "mean_test_tp" in no_refit.fit(X, y).cv_results_


def test_an_unsupervised_search_calls_scorer_with_estimator_and_x():
    # item 4: as test_gridsearch_no_predict
    from sklearn.datasets import make_blobs
    from sklearn.neighbors import KernelDensity

    def custom_scoring(estimator, X):
        return 42 if estimator.bandwidth == 0.1 else 0

    X, _ = make_blobs(cluster_std=0.1, random_state=1, centers=[[0, 1], [1, 0], [0, 0]])
    s = _search(KernelDensity(), {"bandwidth": [0.01, 0.1, 1]}, 3, scoring=custom_scoring)
    s.fit(X)
    assert s.best_params_["bandwidth"] == 0.1 and s.best_score_ == 42


def test_all_nan_scores_warn_and_give_cv_results(iris):
    # item 5: scikit-learn warns and returns cv_results_; a NaN score is a score
    X, y = iris
    s = _search(
        LogisticRegression(max_iter=300),
        {"C": [0.1, 1.0]},
        2,
        cv=2,
        scoring=lambda est, X, y: np.nan,
    )
    with pytest.warns(UserWarning, match="One or more of the test scores are non-finite"):
        s.fit(X, y)
    assert np.isnan(s.cv_results_["mean_test_score"]).all()
    assert list(s.history_["status"]) == ["nan", "nan"]
    assert hasattr(s, "best_estimator_")

    def raises(est, X, y):
        raise RuntimeError("scorer broke")

    failing = _search(LogisticRegression(max_iter=300), {"C": [0.1, 1.0]}, 2, cv=2, scoring=raises)
    with pytest.raises(ValueError, match="scorer broke"):  # a scorer that raises: failed fits
        failing.fit(X, y)


def test_some_nan_scores_warn_and_mark_their_rows(iris):
    # item 6: as test_searchcv_raise_warning_with_non_finite_score
    X, y = iris
    s = _search(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [1, 2, 3, 4]},
        4,
        cv=2,
        scoring=lambda est, X, y: np.nan if est.max_depth == 2 else 1.0,
        return_train_score=True,
    )
    with pytest.warns(UserWarning) as record:
        s.fit(X, y)
    texts = [str(w.message) for w in record if "non-finite" in str(w.message)]
    assert len(texts) == 2 and "test scores" in texts[0] and "train scores" in texts[1]
    history = s.history_.set_index("param_max_depth")["status"]
    assert history[2] == "nan" and (history.drop(2) == "ok").all()
    nan_row = s.cv_results_["param_max_depth"].tolist().index(2)
    assert s.cv_results_["rank_test_score"][nan_row] == 4


def test_set_callbacks_is_refused_clearly():
    # item 7: scikit-learn 1.9's set_callbacks was silently ignored
    from sklearn.callback.tests._utils import RecordingCallback

    s = _search(LogisticRegression(), {"C": [0.1, 1.0]}, 2)
    with pytest.raises(NotImplementedError, match=r"set_callbacks.*'callbacks' parameter"):
        s.set_callbacks(RecordingCallback())
    assert s.set_callbacks() is s


def test_a_splitter_whose_get_n_splits_disagrees_is_an_error():
    # item 9: as test_random_search_bad_cv
    from sklearn.model_selection import KFold

    class BrokenKFold(KFold):
        def get_n_splits(self, *args, **kw):
            return 1

    X, y = make_regression(n_samples=30, random_state=0)
    s = _search(Ridge(), {"alpha": [1e-3, 1e-2, 1e-1]}, 3, cv=BrokenKFold(n_splits=3))
    with pytest.raises(ValueError, match=r"inconsistent results\. Expected \d+ splits, got \d+"):
        s.fit(X, y)


def test_raced_candidates_do_not_warn_of_non_finite_scores(iris):
    # item 6: the warning is about scores; a raced row's unrun folds are NaN on purpose
    import warnings

    X, y = iris
    s = EvolutionarySearchCV(
        LogisticRegression(max_iter=300),
        {"C": Float(1e-4, 10.0, log=True)},
        cv=4,
        population_size=8,
        generations=3,
        racing=2,
        strategy="ga",
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        s.fit(X, y)
    assert (s.history_["status"] == "raced").any()
    assert not [w for w in record if "non-finite" in str(w.message)]


# ------------------------------------------------------------ issue 15, item 1
def test_every_keyword_of_randomized_search_cv_is_taken_and_n_iter_is_exact(iris):
    import inspect

    X, y = iris
    ours = inspect.signature(EvolutionarySearchCV).parameters
    theirs = inspect.signature(RandomizedSearchCV).parameters
    assert set(theirs) <= set(ours), set(theirs) - set(ours)
    # RandomizedSearchCV's own keywords, every one spelled out
    kw = {
        "param_distributions": {"C": loguniform(1e-2, 1e2), "fit_intercept": [True, False]},
        "n_iter": 7,
        "scoring": "accuracy",
        "n_jobs": None,
        "refit": True,
        "cv": 3,
        "verbose": 0,
        "pre_dispatch": "2*n_jobs",
        "random_state": 0,
        "error_score": np.nan,
        "return_train_score": True,
    }
    assert set(kw) == set(theirs) - {"estimator"}
    ref = RandomizedSearchCV(LogisticRegression(max_iter=300), **kw).fit(X, y)
    search = EvolutionarySearchCV(LogisticRegression(max_iter=300), **kw).fit(X, y)
    assert len(search.cv_results_["params"]) == len(ref.cv_results_["params"]) == 7
    assert set(search.cv_results_) == set(ref.cv_results_)
    keys = [tuple(sorted(p.items())) for p in search.cv_results_["params"]]
    assert len(set(keys)) == 7  # seven distinct candidates


@pytest.mark.parametrize("strategy", ["model_based", "ga", "steady_state", "random"])
@pytest.mark.parametrize("n_iter", [1, 7, 20])
def test_n_iter_is_honoured_exactly_by_every_kind_of_strategy(iris, strategy, n_iter):
    X, y = iris
    search = EvolutionarySearchCV(
        LogisticRegression(max_iter=300),
        param_distributions={"C": loguniform(1e-2, 1e2)},
        n_iter=n_iter,
        strategy=strategy,
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == n_iter == len(search.history_)


def test_population_and_generations_chosen_from_n_iter_or_set(iris):
    X, y = iris
    base = {"param_distributions": {"C": Float(0.1, 10.0, log=True)}, "cv": 2, "random_state": 0}
    est = LogisticRegression(max_iter=300)
    # nothing set: RandomizedSearchCV's default budget, 10
    assert len(EvolutionarySearchCV(est, **base).fit(X, y).cv_results_["params"]) == 10
    # the budget settings alone keep their meaning: at most 3 * 2
    s = EvolutionarySearchCV(est, population_size=3, generations=2, **base).fit(X, y)
    assert len(s.cv_results_["params"]) == 6
    # n_iter with generations: the population is what spends it in 2 generations
    s = EvolutionarySearchCV(est, n_iter=8, generations=2, strategy="ga", **base).fit(X, y)
    assert len(s.cv_results_["params"]) == 8 and s.result_.n_evaluations == 8
    assert s.history_["generation"].max() <= 2
    # n_iter with population_size: as many generations as it takes
    s = EvolutionarySearchCV(est, n_iter=9, population_size=2, strategy="ga", **base).fit(X, y)
    assert len(s.cv_results_["params"]) == 9 and s.history_["generation"].max() >= 4
    # the same number under evotune's name is accepted
    s = EvolutionarySearchCV(est, n_iter=5, max_evaluations=5, **base).fit(X, y)
    assert len(s.cv_results_["params"]) == 5


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"n_iter": 0}, r"'n_iter' must be >= 1, got 0"),
        ({"n_iter": 2.5}, r"'n_iter'"),
        (
            {"n_iter": 20, "max_evaluations": 30},
            r"'n_iter' and 'max_evaluations' .*n_iter=20, max_evaluations=30",
        ),
        (
            {"n_iter": 20, "population_size": 4, "generations": 3},
            r"'n_iter'=20 cannot be spent by population_size=4 \* generations=3",
        ),
    ],
)
def test_budget_conflicts_are_refused_before_any_work(iris, tmp_path, change, match):
    X, y = iris
    run = tmp_path / "run"
    s = EvolutionarySearchCV(
        LogisticRegression(), {"C": Float(0.1, 10.0)}, cv=2, checkpoint=run, **change
    )
    with pytest.raises(ValueError, match=match):
        s.fit(X, y)
    assert not run.exists()


def test_param_space_still_works_with_a_future_warning(iris):
    X, y = iris
    space = {"C": Float(0.1, 10.0, log=True)}
    new = EvolutionarySearchCV(LogisticRegression(max_iter=300), space, n_iter=4, cv=2)
    old = EvolutionarySearchCV(LogisticRegression(max_iter=300), param_space=space, n_iter=4, cv=2)
    new.set_params(random_state=0).fit(X, y)
    with pytest.warns(FutureWarning, match="'param_space' was renamed 'param_distributions'"):
        old.set_params(random_state=0).fit(X, y)
    assert old.cv_results_["params"] == new.cv_results_["params"]
    assert old.get_params()["param_space"] is space and clone(old).param_space is not None
    both = EvolutionarySearchCV(LogisticRegression(), space, param_space=space, n_iter=2)
    with pytest.raises(ValueError, match="give only 'param_distributions', got both"):
        both.fit(X, y)
    with pytest.raises(ValueError, match="'param_distributions' is required"):
        EvolutionarySearchCV(LogisticRegression(), n_iter=2).fit(X, y)


def test_pre_dispatch_is_accepted_and_changes_nothing(iris):
    X, y = iris
    kw = {"param_distributions": {"C": Float(0.1, 10.0)}, "n_iter": 4, "cv": 2, "random_state": 0}
    a = EvolutionarySearchCV(LogisticRegression(max_iter=300), **kw).fit(X, y)
    b = EvolutionarySearchCV(LogisticRegression(max_iter=300), pre_dispatch=3, **kw).fit(X, y)
    assert b.get_params()["pre_dispatch"] == 3
    assert a.cv_results_["params"] == b.cv_results_["params"]


def test_a_space_smaller_than_n_iter_warns_as_scikit_learn_does(iris):
    X, y = iris
    s = EvolutionarySearchCV(
        LogisticRegression(max_iter=300), {"C": [0.1, 1.0, 10.0]}, n_iter=5, cv=2, random_state=0
    )
    with pytest.warns(UserWarning, match="total space of parameters 3 is smaller than n_iter=5"):
        s.fit(X, y)
    assert len(s.cv_results_["params"]) == 3


# ---- issue 15, item 13: Ctrl-C keeps history_ of what finished ------------------

CTRL_C_SEARCH = textwrap.dedent(
    """
    import sys, time
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from evotune import EvolutionarySearchCV, Float

    def scoring(estimator, X, y):
        time.sleep(0.02)
        with open(sys.argv[1], "a") as fh:
            fh.write("fold\\n")
        return accuracy_score(y, estimator.predict(X))

    X, y = load_iris(return_X_y=True)
    search = EvolutionarySearchCV(LogisticRegression(max_iter=200),
                                  {"C": Float(0.01, 100, log=True)}, scoring=scoring, cv=2,
                                  population_size=4, generations=100000, strategy="ga",
                                  random_state=0)
    try:
        search.fit(X, y)
    except KeyboardInterrupt as e:
        print("kept", len(search.history_), len(e.result.history), flush=True)
        raise
    """
)


@pytest.mark.slow
def test_ctrl_c_during_fit_keeps_history_of_what_finished(tmp_path):
    import signal
    import time

    folds = tmp_path / "folds"
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SEARCH, str(folds)],
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if folds.exists() and folds.read_text().count("fold") >= 20:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGINT, err  # 130 in a shell, as plain Python
    _, from_search, from_exception = out.split()
    assert int(from_search) == int(from_exception) >= 9  # 20 folds: at least 9 candidates
    assert err.strip().splitlines()[-1].startswith("KeyboardInterrupt: run interrupted: ")


# ---- issue 15, item 14: the search's figures, through result_ -------------------


def test_the_fitted_search_draws_its_figures_through_result(iris):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    X, y = iris
    search = EvolutionarySearchCV(
        LogisticRegression(max_iter=300), {"C": Float(1e-2, 1e2, log=True)}, **TINY
    ).fit(X, y)
    assert search.result_.history is search.history_
    progress = search.result_.plot_progress()
    assert isinstance(progress, Figure)
    assert progress.axes[0].get_ylabel() == "mean score (higher is better)"
    (panel, *_) = search.result_.plot_parameters().axes
    assert panel.get_xlabel().startswith("C (") and panel.get_xscale() == "log"
    timeline = search.result_.plot_timeline().axes[0]
    assert sum(len(c.get_paths()) for c in timeline.collections) == 2 * len(search.history_)
