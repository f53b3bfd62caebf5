"""A run's meta.json (evotune/_meta.py): a resume refused for another space,
data, folds or scoring names each field that differs and its two values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from evotune import CrossValScore, Float, JournalError, Space, evolve
from evotune._meta import _ABSENT, check_resumable, differences


def test_differences_are_the_dotted_paths_of_the_differing_leaves():
    old = {"a": 1, "b": {"c": [1, 2], "d": {"e": "x"}}, "gone": 0}
    new = {"a": 1, "b": {"c": [1, 3], "d": {"e": "y"}}, "added": 2}
    assert differences(old, new) == [
        ("b.c", [1, 2], [1, 3]),
        ("b.d.e", "x", "y"),
        ("gone", 0, _ABSENT),
        ("added", _ABSENT, 2),
    ]
    assert differences(old, dict(old)) == []
    assert differences({"x": [1, 2]}, {"x": (1, 2)}) == []  # the same JSON
    assert differences(None, {"a": 1}) == [("", None, {"a": 1})]


def test_a_long_value_is_cut_but_each_differing_field_is_named():
    estimator = "Pipeline(steps=[" + "('scale', StandardScaler()), " * 20 + "])"
    old = {"fingerprint": {"estimator": estimator, "scoring": "'accuracy'", "n_folds": 5}}
    new = {"fingerprint": {"estimator": estimator, "scoring": "'f1'", "n_folds": 3}}
    with pytest.raises(JournalError) as caught:
        check_resumable(Path("runs/a"), old, new)
    assert str(caught.value) == (
        "cannot resume 'runs/a': the fingerprint differs from the run's: "
        "scoring (run: 'accuracy'; now: 'f1'), n_folds (run: 5; now: 3)"
    )
    long = {"fingerprint": {"estimator": estimator + "x"}}
    with pytest.raises(JournalError, match=r"estimator \(run: Pipeline.{140,}\.\.\.; now: "):
        check_resumable(Path("runs/a"), {"fingerprint": {"estimator": estimator}}, long)


X, Y = load_iris(return_X_y=True)
SPACE = Space({"C": Float(1e-2, 1e2, log=True)})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    ck = tmp_path_factory.mktemp("meta") / "run"
    obj = CrossValScore(LogisticRegression(max_iter=200), X, Y, cv=3, scoring="accuracy")
    evolve(obj, SPACE, population_size=4, generations=1, random_state=0, checkpoint=ck)
    return ck


def _resume(ck, space=SPACE, **kw):
    args = {"cv": 3, "scoring": "accuracy", **kw}
    obj = CrossValScore(LogisticRegression(max_iter=200), X, Y, **args)
    evolve(obj, space, population_size=4, generations=2, random_state=0, checkpoint=ck, resume=True)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        # before: both sides printed as the same 160 characters of the estimator
        ({"scoring": "f1_macro"}, r"scoring \(run: 'accuracy'; now: 'f1_macro'\)"),
        ({"cv": 4}, r"folds_hash \(run: \w+; now: \w+\), n_folds \(run: 3; now: 4\)"),
        (
            {"cv": KFold(3, shuffle=True, random_state=1)},
            r"the fingerprint differs from the run's: folds_hash \(run: \w+; now: \w+\)$",
        ),
    ],
    ids=["scoring", "cv", "splitter"],
)
def test_a_resume_with_other_folds_or_scoring_names_the_fields(run_dir, change, named):
    with pytest.raises(JournalError, match=named) as caught:
        _resume(run_dir, **change)
    assert "\n" not in str(caught.value)


def test_a_resume_with_another_space_names_the_dotted_field(run_dir):
    other = Space({"C": Float(1e-3, 1e2, log=True)})
    message = re.escape("the space differs from the run's: C.low (run: 0.01; now: 0.001)")
    with pytest.raises(JournalError, match=message):
        _resume(run_dir, space=other)
