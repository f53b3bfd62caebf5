"""Tests for evotune.feature_selection: the EvolutionaryFeatureSelector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from evotune import EvolutionaryFeatureSelector, Float
from evotune.feature_selection import _ColumnMask, _n_features_kept

# 20 informative columns (0-19), then 80 of noise
X, y = make_classification(
    n_samples=300, n_features=100, n_informative=20, n_redundant=0, shuffle=False, random_state=0
)
INFORMATIVE = 20
# a scaled RBF SVC: noise columns blur its distances, so dropping them pays
ESTIMATOR = make_pipeline(StandardScaler(), SVC())
CV = StratifiedKFold(5, shuffle=True, random_state=0)
TIMES = ["fit_time", "score_time"]


def small(**kwargs):
    settings = {"cv": 3, "population_size": 6, "generations": 3, "random_state": 0}
    return EvolutionaryFeatureSelector(LogisticRegression(), **{**settings, **kwargs})


@pytest.fixture(scope="module")
def selector():
    # 30 x 25 candidates, about 15 s on 2 cores; the GA, whose operators on
    # masks the README describes (model_based's model of 100 mask bits makes
    # this run minutes of driver time)
    return EvolutionaryFeatureSelector(
        ESTIMATOR,
        cv=CV,
        strategy="ga",
        max_features=20,
        population_size=30,
        generations=25,
        n_jobs=2,
        random_state=0,
    ).fit(X, y)


# ---------------------------------------------------------------------------
# it selects


def test_keeps_mostly_informative_columns(selector):
    kept = selector.support_
    informative = int(kept[:INFORMATIVE].sum())
    # measured: 15 kept, 12 of them informative (80%)
    assert 1 <= selector.n_features_ == kept.sum() <= 20
    assert informative / kept.sum() >= 0.6, (informative, int(kept.sum()))


def test_beats_the_full_feature_set(selector):
    full = cross_val_score(ESTIMATOR, X, y, cv=CV).mean()
    # measured: 0.907 against 0.703 with all 100 columns
    assert selector.best_score_ > full + 0.1
    # the best score is the plain cross-validated score of the kept columns
    mine = cross_val_score(ESTIMATOR, X[:, selector.support_], y, cv=CV).mean()
    assert selector.best_score_ == pytest.approx(mine, abs=1e-12)


def test_every_candidate_within_the_bounds(selector):
    history = selector.history_
    assert len(history) > 500
    kept = np.array([sum(mask) for mask in history["param_mask"]])
    assert kept.min() >= 1 and kept.max() <= 20
    assert (history["status"] == "ok").all()
    assert len(set(map(tuple, history["param_mask"]))) == len(history)  # none twice


def test_fitted_attributes(selector):
    assert selector.n_features_in_ == 100
    assert selector.support_.dtype == bool and selector.support_.shape == (100,)
    np.testing.assert_array_equal(selector.get_support(), selector.support_)
    np.testing.assert_array_equal(
        selector.get_support(indices=True), np.flatnonzero(selector.support_)
    )
    assert selector.transform(X).shape == (300, selector.n_features_)
    np.testing.assert_array_equal(selector.transform(X), X[:, selector.support_])
    assert selector.best_params_ == {}
    assert selector.estimator_ is not ESTIMATOR
    assert selector.estimator_[-1].n_features_in_ == selector.n_features_
    np.testing.assert_array_equal(
        selector.predict(X), selector.estimator_.predict(X[:, selector.support_])
    )
    assert selector.score(X, y) == selector.estimator_.score(X[:, selector.support_], y)
    np.testing.assert_array_equal(selector.classes_, [0, 1])
    assert {"generation", "best"} <= set(selector.logbook_.columns)
    assert len(selector.hall_of_fame_) == 10
    assert not hasattr(selector, "pareto_front_")


def test_same_history_at_n_jobs_1_and_2():
    one = small(max_features=30, population_size=8, generations=3, n_jobs=1).fit(X, y)
    two = small(max_features=30, population_size=8, generations=3, n_jobs=2).fit(X, y)
    pd.testing.assert_frame_equal(
        one.history_.drop(columns=TIMES), two.history_.drop(columns=TIMES)
    )
    np.testing.assert_array_equal(one.support_, two.support_)


def test_checkpoint_and_resume(tmp_path):
    run = tmp_path / "run"
    first = small(max_features=30, checkpoint=run).fit(X, y)
    assert (run / "journal.jsonl").exists() and (run / "history.csv").exists()
    # resuming a finished run replays its journal: nothing is refitted, so even
    # the times are the journal's
    again = small(max_features=30, checkpoint=run, resume=True).fit(X, y)
    pd.testing.assert_frame_equal(first.history_, again.history_)
    longer = small(max_features=30, checkpoint=run, resume=True, generations=4).fit(X, y)
    assert len(longer.history_) > len(first.history_)
    pd.testing.assert_frame_equal(
        longer.history_.iloc[: len(first.history_)].drop(columns=TIMES),
        first.history_.drop(columns=TIMES),
    )


# ---------------------------------------------------------------------------
# the mask and the hyperparameters in one genome


def test_mask_and_hyperparameters_evolve_together():
    sel = EvolutionaryFeatureSelector(
        make_pipeline(StandardScaler(), SVC()),
        cv=3,
        max_features=15,
        param_distributions={"svc__C": Float(1e-2, 1e2, log=True)},
        population_size=8,
        generations=4,
        random_state=0,
        strategy="ga",
    ).fit(X, y)
    history = sel.history_
    assert {"param_mask", "param_svc__C"} <= set(history.columns)
    # one genome: every candidate is a new (mask, C) pair; masks and C both vary,
    # and offspring come from crossover and mutation of the pairs
    pairs = set(zip(map(tuple, history["param_mask"]), history["param_svc__C"]))
    assert len(pairs) == len(history)
    assert history["param_svc__C"].nunique() > 3
    assert len(set(map(tuple, history["param_mask"]))) > 3
    assert {"crossover", "mutation"} & set(history["origin"])
    assert set(sel.best_params_) == {"svc__C"}
    assert sel.estimator_.get_params()["svc__C"] == sel.best_params_["svc__C"]
    best = history.loc[history["mean_score"].idxmax()]
    assert best["param_mask"] == tuple(sel.support_)
    assert best["param_svc__C"] == sel.best_params_["svc__C"]
    assert sel.best_score_ == best["mean_score"]


def test_n_features_as_a_second_objective():
    sel = small(
        max_features=30,
        population_size=8,
        generations=3,
        strategy="ga",
        objectives={"score": "maximize", "n_features": "minimize"},
    ).fit(X, y)
    front = sel.pareto_front_
    assert len(front) >= 2
    np.testing.assert_array_equal(
        front["objective_n_features"], [sum(mask) for mask in front["param_mask"]]
    )
    # on a front, fewer columns cost score
    ordered = front.sort_values("objective_n_features")
    assert ordered["objective_score"].is_monotonic_increasing
    assert sel.best_score_ == front["objective_score"].max()


def test_a_measure_of_the_fitted_estimator_gets_the_estimator():
    seen = small(
        strategy="ga",
        objectives={"score": "maximize", "n_coef": ("minimize", _nonzero_coefficients)},
    ).fit(X, y)
    assert (seen.pareto_front_["objective_n_coef"] >= 1).all()


def _nonzero_coefficients(model):
    return float(np.count_nonzero(model.coef_))  # a LogisticRegression, not the pipeline


def test_n_features_kept_measure():
    # the measure behind "n_features" reads the mask off the fitted pipeline
    model = Pipeline([("select", _ColumnMask(mask=(True, False, True))), ("estimator", Ridge())])
    assert _n_features_kept(model.fit(np.ones((4, 3)), np.arange(4.0))) == 2.0
    whole = Pipeline([("select", _ColumnMask()), ("estimator", Ridge())])
    assert _n_features_kept(whole.fit(np.ones((4, 3)), np.arange(4.0))) == 3.0


# ---------------------------------------------------------------------------
# a scikit-learn estimator


@parametrize_with_checks(
    [
        EvolutionaryFeatureSelector(
            LogisticRegression(), cv=3, population_size=4, generations=2, random_state=0
        )
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_clone_get_params_set_params():
    sel = EvolutionaryFeatureSelector(SVC(), max_features=10, population_size=8)
    params = sel.get_params()
    assert params["max_features"] == 10 and params["population_size"] == 8
    assert params["estimator__C"] == 1.0  # nested, as for any meta-estimator
    copy = clone(sel)
    assert copy is not sel and copy.get_params()["max_features"] == 10
    copy.set_params(max_features=5, estimator__C=3.0)
    assert copy.max_features == 5 and copy.estimator.C == 3.0
    assert sel.max_features == 10 and sel.estimator.C == 1.0


def test_dataframe_feature_names():
    names = [f"col{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=names)
    sel = small(max_features=10).fit(frame, y)
    np.testing.assert_array_equal(sel.feature_names_in_, names)
    out = sel.get_feature_names_out()
    np.testing.assert_array_equal(out, np.array(names)[sel.support_])
    assert sel.transform(frame).shape == (300, sel.n_features_)
    sel.set_output(transform="pandas")
    kept = sel.transform(frame)
    assert list(kept.columns) == list(out)


def test_fractions_of_the_columns():
    sel = small(min_features=0.2, max_features=0.5).fit(X[:, :10], y)
    kept = [sum(mask) for mask in sel.history_["param_mask"]]
    assert min(kept) >= 2 and max(kept) <= 5


def test_regressor_delegates_what_it_has():
    Xr, yr = make_regression(n_samples=80, n_features=6, n_informative=2, random_state=0)
    sel = EvolutionaryFeatureSelector(
        Ridge(), cv=3, max_features=3, population_size=4, generations=2, random_state=0
    ).fit(Xr, yr)
    assert sel.predict(Xr).shape == (80,)
    assert not hasattr(sel, "predict_proba")
    assert not hasattr(sel, "decision_function")


# ---------------------------------------------------------------------------
# errors name the parameter, the rule and the value


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"max_features": 101}, ValueError, r"'max_features' must be at most the number of "),
        ({"min_features": 150}, ValueError, r"features, 100, got min_features=150"),
        ({"min_features": 8, "max_features": 5}, ValueError, r"min_features=8 \(8 columns\)"),
        ({"min_features": 0}, InvalidParameterError, r"'min_features' parameter .* Got 0"),
        ({"max_features": -2}, InvalidParameterError, r"'max_features' parameter .* Got -2"),
        ({"population_size": 1}, InvalidParameterError, r"'population_size' must be >= 2, got 1"),
        ({"param_distributions": {"mask": [1, 2]}}, ValueError, r"must not name 'mask'"),
        (
            {"param_distributions": {"gamma": [1, 2]}},
            ValueError,
            r"names .gamma., which is not a para",
        ),
    ],
)
def test_bad_settings_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        small(**kwargs).fit(X, y)


def test_an_empty_param_distributions_tunes_the_mask_only():
    # issue 14 (8): {} is now a space of one candidate; for the selector it adds
    # no gene (not the hidden gene of that one candidate)
    with_empty = small(param_distributions={}).fit(X, y)
    without = small().fit(X, y)
    assert [c for c in with_empty.history_.columns if c.startswith("param_")] == ["param_mask"]
    assert with_empty.history_["mean_score"].tolist() == without.history_["mean_score"].tolist()


# ---------------------------------------------------------------------------
# issue 15, item 1: the same names as EvolutionarySearchCV


def test_n_iter_is_the_exact_budget_and_param_space_is_deprecated():
    kw = {"population_size": None, "generations": None}
    selector = small(n_iter=5, **kw).fit(X, y)
    assert len(selector.history_) == 5
    space = {"C": Float(0.1, 10.0, log=True)}
    new = small(param_distributions=space).fit(X, y)
    with pytest.warns(FutureWarning, match="'param_space' was renamed 'param_distributions'"):
        old = small(param_space=space).fit(X, y)
    assert old.history_["mean_score"].tolist() == new.history_["mean_score"].tolist()
    with pytest.raises(ValueError, match="give only 'param_distributions', got both"):
        small(param_space=space, param_distributions=space).fit(X, y)
