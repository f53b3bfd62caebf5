"""Racing over cross-validation folds (evotune/_racing.py and the evaluator)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from _runs import SPACE, FoldObjective, comparable
from hypothesis import given
from hypothesis import strategies as st

from evotune import Evaluation, EvolutionarySearchCV, Float, evolve
from evotune._racing import Race, check_racing, reference_for

finite = st.floats(-1e3, 1e3, allow_nan=False)


@given(st.lists(finite, min_size=2, max_size=6), st.data())
def test_a_candidate_at_least_as_good_on_every_fold_never_stops(reference, data):
    race = Race(tuple(reference), sign=1.0)
    j = data.draw(st.integers(1, len(reference) - 1))
    better = [r + data.draw(st.floats(0, 10)) for r in reference[:j]]
    assert race.verdict(better) is None
    # minimizing: lower is better
    lower = [r - data.draw(st.floats(0, 10)) for r in reference[:j]]
    assert Race(tuple(reference), sign=-1.0).verdict(lower) is None


@given(st.lists(finite, min_size=2, max_size=6), st.floats(1.01, 100))
def test_a_candidate_far_behind_stops_after_its_first_fold(reference, factor):
    race = Race(tuple(reference), sign=1.0)
    behind = reference[0] - factor * max(race.spread, 1e-6) - 1e-3
    why = race.verdict([behind])
    assert why is not None and why.startswith("raced: stopped after fold 1 of")
    assert Race(tuple(reference), sign=-1.0).verdict([-behind + 2 * reference[0]]) is not None


def test_the_rule_is_paired_and_never_judges_the_last_fold():
    race = Race((0.9, 0.5, 0.7), sign=1.0)  # spread 0.163
    assert race.verdict([0.8]) is None  # 0.1 behind: within one spread
    assert race.verdict([0.7]) is not None  # 0.2 behind
    assert race.verdict([0.95, 0.1]) is not None  # mean 0.175 behind on the two folds
    assert race.verdict([0.95, 0.45, 0.0]) is None  # all folds ran: nothing to save
    assert race.verdict([math.nan]) is None  # a failed fold is not raced


def _ev(i, folds, status="ok"):
    return Evaluation(
        i,
        0,
        "initial",
        str(i),
        {},
        list(folds),
        float(np.mean(folds)),
        0.0,
        0.0,
        0.0,
        status=status,
    )


def test_the_reference_is_the_kth_best_complete_evaluation():
    evs = [
        _ev(0, [0.1, 0.2]),
        _ev(1, [0.9, 0.8]),
        _ev(2, [0.5, 0.6]),
        _ev(3, [1.0, math.nan], "failed"),
        _ev(4, [0.99, math.nan], "raced"),
    ]
    assert reference_for(evs, 1, "maximize", 2).reference == (0.9, 0.8)
    assert reference_for(evs, 2, "maximize", 2).reference == (0.5, 0.6)
    assert reference_for(evs, 1, "minimize", 2).reference == (0.1, 0.2)
    assert reference_for(evs, 4, "maximize", 2) is None  # only 3 complete
    assert reference_for(evs, 1, "maximize", 1) is None  # one fold: nothing to race


@pytest.mark.parametrize("bad", [0, -1, 2.5, "yes", None])
def test_racing_is_checked(bad):
    with pytest.raises(ValueError, match="'racing' must be True, False or"):
        check_racing(bad)
    assert check_racing(True) is True and check_racing(3) == 3


def _run(**kw):
    base = dict(population_size=10, generations=6, random_state=0)
    return evolve(FoldObjective(), SPACE, **{**base, **kw})


@pytest.fixture(scope="module")
def raced():
    return _run(racing=True)


def test_hopeless_candidates_stop_early_and_are_never_best(raced):
    hist = raced.history
    rows = hist[hist["status"] == "raced"]
    assert len(rows) >= 5
    # their unrun folds are NaN, their mean is over the folds they ran
    assert rows["split2_score"].isna().all()
    ran = rows[["split0_score", "split1_score"]].mean(axis=1, skipna=True).to_numpy()
    assert np.allclose(rows["mean_score"].to_numpy(), ran)
    assert rows["error"].str.startswith("raced: stopped after fold").all()
    complete = hist[hist["status"] == "ok"]
    assert raced.best_score == complete["mean_score"].max()
    famous = set(raced.hall_of_fame["id"])
    assert famous and not famous & set(rows["id"])


def test_racing_saves_fits_without_losing_the_best(tmp_path):
    plain = _run(checkpoint=tmp_path / "plain")
    raced = _run(checkpoint=tmp_path / "raced", racing=True)

    def folds_run(run_dir):
        lines = (run_dir / "journal.jsonl").read_text().splitlines()
        return sum(1 for r in map(json.loads, lines) if r["type"] == "fold")

    assert folds_run(tmp_path / "raced") < 0.92 * folds_run(tmp_path / "plain")
    assert raced.best_score >= plain.best_score - 0.2


def test_same_history_at_n_jobs_1_and_2_with_racing(raced):
    two = _run(racing=True, n_jobs=2)
    assert comparable(two.history).equals(comparable(raced.history))


def test_racing_with_the_steady_state_strategy_is_deterministic():
    one = _run(racing=2, strategy="steady_state")
    two = _run(racing=2, strategy="steady_state", n_jobs=2)
    assert (one.history["status"] == "raced").any()
    assert comparable(one.history).equals(comparable(two.history))


def test_a_resumed_racing_run_takes_the_same_decisions(tmp_path, raced):
    ck = tmp_path / "run"
    _run(racing=True, checkpoint=ck)
    # cut the journal after its 60th fold record, as a crash would
    lines = (ck / "journal.jsonl").read_text().splitlines(keepends=True)
    folds = [i for i, line in enumerate(lines) if json.loads(line)["type"] == "fold"]
    (ck / "journal.jsonl").write_text("".join(lines[: folds[60] + 1]))
    again = _run(racing=True, checkpoint=ck, resume=True)
    assert comparable(again.history).equals(comparable(raced.history))
    lines = (ck / "journal.jsonl").read_text().splitlines()
    keys = [(r["key"], r["fold"]) for r in map(json.loads, lines) if r["type"] == "fold"]
    assert len(keys) == len(set(keys))  # no fold ran twice


def test_search_cv_reports_raced_candidates_last():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    search = EvolutionarySearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)),
        {"logisticregression__C": Float(1e-5, 1e2, log=True)},
        population_size=8,
        generations=4,
        cv=5,
        racing=True,
        random_state=0,
    ).fit(X, y)
    res = pd.DataFrame(search.cv_results_)
    raced_rows = res[res["split4_test_score"].isna()]
    assert len(raced_rows) >= 1
    assert (raced_rows["rank_test_score"] > (~res["split4_test_score"].isna()).sum()).all()
    assert not math.isnan(res.loc[search.best_index_, "split4_test_score"])
    assert search.best_score_ == res["mean_test_score"].max()
