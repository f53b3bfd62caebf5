"""What both experiment trackers log of one evaluation (evotune._tracking)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from evotune._tracking import as_finite, evaluation_metrics


def test_as_finite_keeps_only_finite_real_numbers():
    assert as_finite(3) == 3.0 and as_finite("2.5") == 2.5
    for value in (None, True, float("nan"), float("inf"), "x", object()):
        assert as_finite(value) is None


def test_evaluation_metrics_gives_scores_folds_and_finite_metric_means():
    ev = SimpleNamespace(
        mean_score=0.5,
        std_score=float("nan"),
        fit_time=1.0,
        score_time=0.25,
        fold_scores=[0.4, 0.6, float("nan")],
        metrics=[{"f1": 0.2, "gone": float("nan")}, {"f1": 0.4}, {"f1": None}],
    )
    got = evaluation_metrics(ev)
    assert set(got) == {
        "mean_score", "std_score", "fit_time", "score_time",
        "split0_score", "split1_score", "split2_score", "mean_f1",
    }  # fmt: skip
    assert got["mean_f1"] == pytest.approx(0.3)  # the mean of the finite values only
    assert math.isnan(got["split2_score"]) and math.isnan(got["std_score"])  # kept as recorded
    assert "mean_gone" not in got  # a metric without a finite value is absent
