"""Parallel coordinates (evotune/_figures/_parallel.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.collections import LineCollection

from evotune import Categorical, Float, Integer, evolve
from evotune._figures._parallel import plot_parallel
from evotune.loop import AllFailedError
from evotune.report import load_run

SPACE = {
    "x": Float(-2.0, 2.0),
    "kernel": Categorical(["rbf", "poly"]),
    "degree": Integer(2, 5, when={"kernel": "poly"}),
}


def fn(p):
    if p["x"] > 1.5:
        raise ValueError("too large")
    return -(p["x"] ** 2) + 0.1 * p.get("degree", 0)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("par") / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evolve(fn, SPACE, population_size=10, generations=2, random_state=0, checkpoint=path)
    return load_run(path)


def test_one_line_per_successful_evaluation(run):
    fig = plot_parallel(run)
    ax = fig.axes[0]
    ok = [ev for ev in run.evaluations if ev["status"] == "ok"]
    assert len(ok) < len(run.evaluations)
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    paths = lines.get_segments()
    assert len(paths) == len(ok)
    assert all(len(p) == len(SPACE) + 1 for p in paths)  # one axis each, then the score
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "x\n(linear)",
        "kernel\n(choice)",
        "degree\n(linear)",
        "score",
    ]
    # the best line is drawn on top, in orange, ending at the top of the score axis
    (best,) = [line for line in ax.get_lines() if line.get_label() == "best"]
    assert best.get_ydata()[-1] == pytest.approx(1.0)
    # an rbf candidate has no degree: its line passes on the "inactive" row
    assert any(t.get_text() == "inactive" for t in ax.texts)
    ys = np.array([p[:, 1] for p in paths])
    assert (ys[:, 2] < 0).any() and (ys[:, :2] >= 0).all()


def test_no_successful_evaluation(tmp_path):
    path = tmp_path / "run"

    def fails(p):
        raise ValueError("always")

    with warnings.catch_warnings(), pytest.raises(AllFailedError):
        warnings.simplefilter("ignore")
        evolve(fails, SPACE, population_size=4, generations=1, random_state=0, checkpoint=path)
    ax = plot_parallel(load_run(path)).axes[0]
    assert ax.texts[0].get_text() == "no successful evaluation to draw"
