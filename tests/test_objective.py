"""Tests of ``evotune.objective.CrossValScore``."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_iris, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer, recall_score
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from evotune import AllFailedError, Categorical, CrossValScore, Float, evolve


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def binary():
    return make_classification(n_samples=90, n_features=4, random_state=0)


def run_all(obj: CrossValScore, params: dict) -> list:
    return [obj.run(params, k, 0) for k in range(obj.n_tasks)]


class Recorder(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; records what fit received; can be told to fail."""

    def __init__(self, fail=False, note=None):
        self.fail = fail
        self.note = note

    def fit(self, X, y, sample_weight=None, tag=None):
        if self.fail:
            raise RuntimeError("fit failed on purpose")
        self.n_fit_ = len(X)
        self.sample_weight_ = None if sample_weight is None else np.asarray(sample_weight)
        self.tag_ = tag
        values, counts = np.unique(y, return_counts=True)
        self.classes_ = values
        self.majority_ = values[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def weight_scorer(estimator, X, y):
    # reports what the model saw: the sum of its training sample weights
    return float(estimator.sample_weight_.sum())


def constant_scorer(estimator, X, y):
    return 0.25


# --------------------------------------------------------------- basics
def test_picklable(iris):
    X, y = iris
    obj = CrossValScore(LogisticRegression(max_iter=500), X, y, cv=3, scoring="accuracy")
    clone = pickle.loads(pickle.dumps(obj))
    assert clone.n_tasks == obj.n_tasks
    for a, b in zip(run_all(obj, {"C": 0.5}), run_all(clone, {"C": 0.5}), strict=True):
        assert a.score == b.score
        assert a.status == b.status == "ok"


@pytest.mark.parametrize(
    ("cv", "n"),
    [(3, 3), (5, 5), (KFold(4), 4), (StratifiedKFold(2, shuffle=True, random_state=0), 2)],
)
def test_n_tasks_equals_folds(iris, cv, n):
    X, y = iris
    obj = CrossValScore(DecisionTreeClassifier(random_state=0), X, y, cv=cv)
    assert obj.n_tasks == n
    assert len(obj.splits_) == n


def test_n_tasks_with_iterable_of_splits(iris):
    X, y = iris
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    obj = CrossValScore(DecisionTreeClassifier(random_state=0), X, y, cv=splits)
    assert obj.n_tasks == 3
    for (tr, te), (tr2, te2) in zip(splits, obj.splits_, strict=True):
        np.testing.assert_array_equal(tr, tr2)
        np.testing.assert_array_equal(te, te2)


def test_int_cv_is_stratified_for_classifiers(iris):
    X, y = iris
    obj = CrossValScore(DecisionTreeClassifier(), X, y, cv=3)
    want = list(StratifiedKFold(3).split(X, y))
    assert len(want) == len(obj.splits_)
    for (tr, te), (tr2, te2) in zip(want, obj.splits_, strict=True):
        np.testing.assert_array_equal(tr, tr2)
        np.testing.assert_array_equal(te, te2)


def test_scores_match_cross_val_score(iris):
    X, y = iris
    est = LogisticRegression(max_iter=500)
    obj = CrossValScore(est, X, y, cv=4, scoring="accuracy")
    got = [r.score for r in run_all(obj, {"C": 0.05})]
    want = cross_val_score(LogisticRegression(max_iter=500, C=0.05), X, y, cv=4, scoring="accuracy")
    np.testing.assert_allclose(got, want)


def test_estimator_is_cloned_not_changed(iris):
    X, y = iris
    est = LogisticRegression(C=1.0, max_iter=500)
    obj = CrossValScore(est, X, y, cv=3)
    obj.run({"C": 0.001}, 0, 0)
    assert est.get_params()["C"] == 1.0
    assert not hasattr(est, "coef_")


def test_nested_pipeline_parameter_names(iris):
    X, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    obj = CrossValScore(pipe, X, y, cv=3, scoring="accuracy")
    weak = run_all(obj, {"svc__C": 1e-4, "svc__kernel": "linear"})
    strong = run_all(obj, {"svc__C": 10.0, "svc__kernel": "rbf"})
    assert all(r.status == "ok" for r in weak + strong)
    assert np.mean([r.score for r in strong]) > np.mean([r.score for r in weak]) + 0.2
    want = cross_val_score(
        Pipeline([("scale", StandardScaler()), ("svc", SVC(C=10.0))]), X, y, cv=3
    )
    np.testing.assert_allclose([r.score for r in strong], want)


def test_unknown_nested_parameter_is_a_failed_fold(iris):
    X, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    r = CrossValScore(pipe, X, y, cv=3).run({"svc__nope": 1}, 0, 0)
    assert r.status == "failed"
    assert "nope" in r.error


def test_scoring_string(binary):
    X, y = binary
    obj = CrossValScore(LogisticRegression(), X, y, cv=3, scoring="recall")
    got = [r.score for r in run_all(obj, {})]
    want = cross_val_score(LogisticRegression(), X, y, cv=3, scoring="recall")
    np.testing.assert_allclose(got, want)


def test_scoring_callable(binary):
    X, y = binary
    obj = CrossValScore(LogisticRegression(), X, y, cv=3, scoring=constant_scorer)
    assert [r.score for r in run_all(obj, {})] == [0.25, 0.25, 0.25]
    scorer = make_scorer(recall_score)
    obj = CrossValScore(LogisticRegression(), X, y, cv=3, scoring=scorer)
    want = cross_val_score(LogisticRegression(), X, y, cv=3, scoring="recall")
    np.testing.assert_allclose([r.score for r in run_all(obj, {})], want)


def test_default_scoring_is_estimator_score(iris):
    X, y = iris
    obj = CrossValScore(DecisionTreeClassifier(random_state=0), X, y, cv=3)
    want = cross_val_score(DecisionTreeClassifier(random_state=0), X, y, cv=3)
    np.testing.assert_allclose([r.score for r in run_all(obj, {})], want)


def test_groups_with_group_kfold(iris):
    X, y = iris
    groups = np.arange(len(y)) % 5
    obj = CrossValScore(
        DecisionTreeClassifier(random_state=0), X, y, cv=GroupKFold(5), groups=groups
    )
    assert obj.n_tasks == 5
    for train, test in obj.splits_:
        assert not set(groups[train]) & set(groups[test])
        assert len(set(groups[test])) == 1
    want = cross_val_score(
        DecisionTreeClassifier(random_state=0), X, y, cv=GroupKFold(5), groups=groups
    )
    np.testing.assert_allclose([r.score for r in run_all(obj, {})], want)


def test_fit_params_sample_weight_split_with_folds(iris):
    X, y = iris
    weights = np.arange(len(y), dtype=float)
    obj = CrossValScore(
        Recorder(),
        X,
        y,
        cv=3,
        scoring=weight_scorer,
        fit_params={"sample_weight": weights, "tag": "hello"},
    )
    for k, (train, _test) in enumerate(obj.splits_):
        r = obj.run({}, k, 0)
        assert r.status == "ok", r.error
        assert r.score == pytest.approx(weights[train].sum())


def test_fit_params_non_per_sample_passed_unchanged(iris):
    X, y = iris
    seen = {}

    def tag_scorer(estimator, X_, y_):
        seen["tag"] = estimator.tag_
        seen["n"] = estimator.n_fit_
        return 1.0

    obj = CrossValScore(Recorder(), X, y, cv=3, scoring=tag_scorer, fit_params={"tag": "hello"})
    assert obj.run({}, 0, 0).status == "ok"
    assert seen == {"tag": "hello", "n": len(obj.splits_[0][0])}


def test_params_are_set_on_the_clone(iris):
    X, y = iris
    seen = []

    def note_scorer(estimator, X_, y_):
        seen.append(estimator.note)
        return 0.0

    obj = CrossValScore(Recorder(), X, y, cv=2, scoring=note_scorer)
    obj.run({"note": "abc"}, 1, 0)
    assert seen == ["abc"]


# -------------------------------------------------------------- failures
def test_failing_fit_is_failed_with_error_text_and_error_score(iris):
    X, y = iris
    obj = CrossValScore(Recorder(), X, y, cv=3, error_score=-1.0)
    r = obj.run({"fail": True}, 0, 0)
    assert r.status == "failed"
    assert r.score == -1.0
    assert "RuntimeError" in r.error
    assert "fit failed on purpose" in r.error
    ok = obj.run({"fail": False}, 0, 0)
    assert ok.status == "ok"
    assert ok.error is None


def test_failing_fit_default_error_score_is_nan(iris):
    X, y = iris
    r = CrossValScore(Recorder(), X, y, cv=3).run({"fail": True}, 1, 0)
    assert r.status == "failed"
    assert math.isnan(r.score)


def test_error_score_raise_raises(iris):
    X, y = iris
    obj = CrossValScore(Recorder(), X, y, cv=3, error_score="raise")
    with pytest.raises(RuntimeError, match="fit failed on purpose"):
        obj.run({"fail": True}, 0, 0)


def test_error_score_raise_stops_evolve(iris):
    X, y = iris
    obj = CrossValScore(Recorder(), X, y, cv=2, error_score="raise")
    with pytest.raises(RuntimeError, match="fit failed on purpose"):
        evolve(
            obj,
            {"fail": Categorical([True, False])},
            population_size=2,
            generations=2,
            random_state=0,
        )


def test_failing_candidates_in_evolve_are_rows(iris):
    X, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    obj = CrossValScore(pipe, X, y, cv=3, scoring="accuracy")
    # the poly kernel with a negative degree is rejected by SVC: those candidates fail
    space = {
        "svc__C": Float(0.1, 10.0, log=True),
        "svc__kernel": Categorical(["rbf", "poly"]),
        "svc__degree": Categorical([-1, 3]),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = evolve(obj, space, population_size=8, generations=3, random_state=0)
    h = res.history
    failed = h[h["status"] == "failed"]
    assert len(failed) > 0
    assert (failed["param_svc__degree"] == -1).all()
    assert failed["error"].str.contains("degree").all()
    assert res.best_params["svc__degree"] == 3
    assert res.best_score > 0.9
    assert {"split0_score", "split1_score", "split2_score"} <= set(h.columns)


def test_all_fits_failing_raises_all_failed_error(iris):
    X, y = iris
    obj = CrossValScore(Recorder(fail=True), X, y, cv=2)
    with pytest.raises(AllFailedError, match="fit failed on purpose"):
        evolve(
            obj,
            {"note": Categorical(["a", "b", "c"])},
            population_size=3,
            generations=2,
            random_state=0,
        )


# --------------------------------------------------------- bad arguments
def test_bad_estimator_raises_naming_it(iris):
    X, y = iris
    with pytest.raises(TypeError, match="estimator"):
        CrossValScore(object(), X, y)


def test_mismatched_X_y_raises(iris):
    X, y = iris
    with pytest.raises(ValueError, match="'X' and 'y'"):
        CrossValScore(SVC(), X, y[:10])


@pytest.mark.parametrize("bad", ["x", True, None, [0.0]])
def test_bad_error_score_raises_naming_it(iris, bad):
    X, y = iris
    with pytest.raises(ValueError, match="error_score"):
        CrossValScore(SVC(), X, y, error_score=bad)


def test_bad_fit_params_raises_naming_it(iris):
    X, y = iris
    with pytest.raises(TypeError, match="fit_params"):
        CrossValScore(SVC(), X, y, fit_params=[("sample_weight", 1)])


@pytest.mark.parametrize("bad", ["not_a_scorer", 3])
def test_bad_scoring_raises_naming_it(iris, bad):
    X, y = iris
    with pytest.raises(ValueError, match="scoring"):
        CrossValScore(SVC(), X, y, scoring=bad)


@pytest.mark.parametrize("bad", ["x", 1])
def test_bad_cv_raises_naming_it(iris, bad):
    X, y = iris
    with pytest.raises(ValueError, match=r"\bcv\b"):
        CrossValScore(SVC(), X, y, cv=bad)


def test_groups_of_wrong_length_raises_naming_it(iris):
    X, y = iris
    with pytest.raises(ValueError, match="groups"):
        CrossValScore(SVC(), X, y, cv=GroupKFold(3), groups=[0, 1, 2])


def test_each_fold_gets_its_own_unfitted_model_and_the_cache_is_not_pickled():
    import pickle

    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    X, y = load_iris(return_X_y=True)
    choice = LogisticRegression(max_iter=300)
    obj = CrossValScore(Pipeline([("model", LogisticRegression())]), X, y, cv=3)
    params = {"model": choice, "model__C": 0.5}
    a, b = obj._fresh_model(params), obj._fresh_model(dict(params))
    assert a is not b and a.named_steps["model"] is not b.named_steps["model"]
    assert a.named_steps["model"] is not choice  # the user's object is never fitted
    assert a.get_params()["model__C"] == b.get_params()["model__C"] == 0.5
    assert not hasattr(choice, "coef_")
    scores = [obj.run(params, k, 0).score for k in range(3)]
    assert not hasattr(choice, "coef_")
    # the same scores as freshly cloned models give
    fresh = CrossValScore(Pipeline([("model", LogisticRegression())]), X, y, cv=3)
    assert scores == [fresh.run(params, k, 0).score for k in range(3)]
    assert pickle.loads(pickle.dumps(obj))._template is None
    other = obj._fresh_model({"model": choice, "model__C": 2.0})
    assert other.get_params()["model__C"] == 2.0


# ------------------------------------------------------------ with_measures
def _leaves(tree) -> float:
    return float(tree.get_n_leaves())


def test_with_measures_gives_a_copy_and_leaves_the_objective_as_it_was(iris):
    X, y = iris
    obj = CrossValScore(DecisionTreeClassifier(random_state=0), X, y, cv=3)
    before = obj.fingerprint()
    measured = obj.with_measures({"leaves": _leaves})
    assert measured is not obj and type(measured) is CrossValScore
    assert obj.measures == {} and obj.fingerprint() == before
    assert measured.measures == {"leaves": _leaves}
    assert measured.fingerprint()["measures"] == ["leaves"]
    assert 2.0 <= measured.run({"max_depth": 2}, 0, 0).metrics["measure_leaves"] <= 4.0
    assert "measure_leaves" not in obj.run({"max_depth": 2}, 0, 0).metrics
    assert math.isnan(measured.error_metrics(0.0)["measure_leaves"])
    assert "measure_leaves" not in obj.error_metrics(0.0)
    # the data, folds and estimator are shared, not copied
    assert measured.X is obj.X and measured.splits_ is obj.splits_


def test_with_measures_adds_to_the_objectives_own(iris):
    X, y = iris
    obj = CrossValScore(DecisionTreeClassifier(random_state=0), X, y, cv=2, measures={"a": _leaves})
    both = obj.with_measures({"b": _leaves})
    assert sorted(both.measures) == ["a", "b"] and list(obj.measures) == ["a"]


def test_with_measures_checks_the_measures(iris):
    X, y = iris
    obj = CrossValScore(DecisionTreeClassifier(), X, y, cv=2)
    with pytest.raises(TypeError, match="'measures' must be a dict"):
        obj.with_measures({"leaves": 3})


def test_with_measures_keeps_a_subclass_and_drops_the_estimator_cache(iris):
    X, y = iris

    class Mine(CrossValScore):
        pass

    obj = Mine(DecisionTreeClassifier(random_state=0), X, y, cv=2)
    obj.run({"max_depth": 2}, 0, 0)  # fills the per-process estimator cache
    measured = obj.with_measures({"leaves": _leaves})
    assert type(measured) is Mine and measured._template is None
    assert obj._template is not None


def test_pickle_parts_name_what_the_workers_receive(iris):
    X, y = iris
    obj = CrossValScore(DecisionTreeClassifier(), X, y, cv=2, scoring="accuracy")
    parts = obj.pickle_parts()
    assert parts["estimator"] is obj.estimator and parts["X"] is X and parts["y"] is y
    assert parts["scoring"] == "accuracy"


# ------------------------------------------------------------ issue 14, part A
class _FitWithCallback(LogisticRegression):
    """Calls the ``callback`` fit parameter with itself (a common third-party pattern)."""

    def fit(self, X, y, callback=None, stream=None):
        if callback is not None:
            callback(self)
        return super().fit(X, y)


def test_fingerprint_hashes_a_fit_parameter_that_cannot_be_pickled(iris):
    # item 1: joblib.hash pickled every fit parameter, so a lambda crashed the run
    X, y = iris
    seen = []

    def obj(callback):
        return CrossValScore(
            _FitWithCallback(max_iter=300), X, y, cv=2, fit_params={"callback": callback}
        )

    a = obj(lambda m: seen.append(m)).fingerprint()
    assert a == obj(lambda m: seen.append(m)).fingerprint()  # stable: named, not pickled
    from evotune.objective import _hash

    assert _hash(lambda m: None).startswith("unpicklable builtins.function")
    hashed = CrossValScore(LogisticRegression(), X, y, cv=2, fit_params={"w": np.ones(150)})
    other = CrossValScore(LogisticRegression(), X, y, cv=2, fit_params={"w": np.zeros(150)})
    assert hashed.fingerprint()["fit_params_hash"] != other.fingerprint()["fit_params_hash"]
    res = evolve(
        obj(lambda m: seen.append(m)),
        {"C": Float(0.1, 1.0)},
        population_size=2,
        generations=1,
        random_state=0,
    )
    assert len(res.evaluations) == 2 and seen


def test_a_fit_parameter_the_workers_cannot_receive_is_named(iris, tmp_path):
    # item 1: picklability is required only for worker processes, naming the part
    from evotune.backends.process import check_picklable

    X, y = iris
    gen = (i for i in range(3))  # dill cannot pickle a generator
    obj = CrossValScore(
        _FitWithCallback(max_iter=300),
        X,
        y,
        cv=2,
        fit_params={"callback": lambda m: None, "stream": gen},
    )
    assert set(obj.pickle_parts()) >= {"fit_params['callback']", "fit_params['stream']"}
    with pytest.raises(TypeError, match=r"fit_params\['stream'\]=<generator") as info:
        check_picklable(obj)
    assert "callback" not in str(info.value).split("cannot be pickled")[0]
    # serial and checkpointed, nothing needs pickling: the run goes on
    res = evolve(
        obj,
        {"C": Float(0.1, 1.0)},
        population_size=2,
        generations=1,
        random_state=0,
        checkpoint=tmp_path / "run",
    )
    assert len(res.evaluations) == 2


def test_a_pairwise_estimator_gets_the_training_columns(binary):
    # item 2: a precomputed kernel is sliced in rows and columns, as _safe_split does
    X, y = binary
    K = X @ X.T
    obj = CrossValScore(SVC(kernel="precomputed"), K, y, cv=3)
    for k, (train, test) in enumerate(obj.splits_):
        model = SVC(kernel="precomputed", C=0.5).fit(K[np.ix_(train, train)], y[train])
        expected = model.score(K[np.ix_(test, train)], y[test])
        result = obj.run({"C": 0.5}, k, 0)
        assert result.status == "ok" and result.score == pytest.approx(expected)
    # the same scores as the linear kernel on the features
    linear = CrossValScore(SVC(kernel="linear"), X, y, cv=3)
    assert [r.score for r in run_all(obj, {"C": 0.5})] == pytest.approx(
        [r.score for r in run_all(linear, {"C": 0.5})]
    )
    # a kernel that is not square is an error of the fold, as in scikit-learn
    bad = CrossValScore(SVC(kernel="precomputed"), np.zeros((10, 20)), np.arange(10) % 2, cv=2)
    assert "square" in bad.run({}, 0, 0).error


def _confusion(clf, X, y):
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y, clf.predict(X))
    return {"tn": cm[0, 0], "fp": cm[0, 1], "fn": cm[1, 0], "tp": cm[1, 1]}


def test_a_callable_scoring_may_return_a_dict_of_metrics(binary):
    # item 3: the metric named is the fitness; the dict's metrics are all kept
    from evotune.objective import MetricNotReturned

    X, y = binary
    obj = CrossValScore(LogisticRegression(), X, y, cv=2, scoring=_confusion, metric="fp")
    r = obj.run({}, 0, 0)
    assert r.status == "ok" and r.score == r.metrics["test_fp"]
    assert sorted(r.metrics) == ["test_fn", "test_fp", "test_tn", "test_tp"]
    first = CrossValScore(LogisticRegression(), X, y, cv=2, scoring=_confusion)
    assert first.run({}, 0, 0).score == r.metrics["test_tn"]  # no metric named: the first
    missing = CrossValScore(LogisticRegression(), X, y, cv=2, scoring=_confusion, metric="f1")
    with pytest.raises(MetricNotReturned, match="'f1'"):  # a set-up error, not a failed fold
        missing.run({}, 0, 0)


def test_without_targets_the_scorer_gets_two_arguments():
    # item 4: scorer(estimator, X), as scikit-learn calls it when y is None
    from sklearn.neighbors import KernelDensity

    X = np.random.default_rng(0).normal(size=(30, 2))

    def scorer(estimator, X):
        return -abs(estimator.bandwidth - 0.1)

    obj = CrossValScore(KernelDensity(), X, cv=3, scoring=scorer)
    r = obj.run({"bandwidth": 0.3}, 0, 0)
    assert r.status == "ok" and r.score == pytest.approx(-0.2)


def test_a_splitter_whose_get_n_splits_disagrees_is_refused(iris):
    # item 9, as scikit-learn's searches refuse it
    X, y = iris

    class Broken(KFold):
        def get_n_splits(self, *args, **kw):
            return 1

    with pytest.raises(ValueError, match=r"inconsistent results\. Expected 1 splits, got 3"):
        CrossValScore(LogisticRegression(), X, y, cv=Broken(n_splits=3))


def test_failed_fits_warn_in_scikit_learns_category(iris):
    # item 9: FitFailedWarning, with counts that add up
    from sklearn.exceptions import FitFailedWarning

    X, y = iris
    obj = CrossValScore(LogisticRegression(max_iter=300), X, y, cv=2)
    with pytest.warns(FitFailedWarning) as record:
        res = evolve(obj, {"C": Float(-1.0, 1.0)}, population_size=6, generations=2, random_state=0)
    failed = int((res.history["status"] == "failed").sum())
    text = str(next(w.message for w in record if w.category is FitFailedWarning))
    assert text.startswith(f"{failed} of {len(res.evaluations)} evaluations failed")
    listed = [int(line.split()[0]) for line in text.splitlines()[1:]]
    assert sum(listed) == failed
