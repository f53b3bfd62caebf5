"""Parameter importance among evaluated candidates (evotune/report/_importance.py)."""

from __future__ import annotations

import pytest

from evotune import Categorical, Float, Integer, evolve
from evotune.report import load_run
from evotune.report._importance import LABEL, parameter_importance, plot_importance

SPACE = {
    "x": Float(-3.0, 3.0),
    "noise": Float(0.0, 1.0),
    "k": Categorical(["a", "b", "c"]),
    "n": Integer(1, 50),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("imp") / "run"
    # random sampling: the score is a function of x alone, spread over the space
    evolve(
        lambda p: -((p["x"] - 1.0) ** 2),
        SPACE,
        strategy="random",
        population_size=40,
        generations=2,
        random_state=0,
        checkpoint=path,
    )
    return load_run(path)


def test_the_parameter_that_sets_the_score_comes_first(run):
    importance = parameter_importance(run)
    assert next(iter(importance)) == "x"
    assert importance["x"] > 0.8
    assert sorted(importance) == sorted(SPACE)
    assert sum(importance.values()) == pytest.approx(1.0)
    assert list(importance.values()) == sorted(importance.values(), reverse=True)
    assert parameter_importance(run) == importance  # a fixed seed: the same numbers


def test_the_figure_says_what_the_numbers_are(run):
    fig = plot_importance(run)
    ax = fig.axes[0]
    assert LABEL == "importance among evaluated candidates"
    assert ax.get_xlabel().startswith(LABEL)
    assert LABEL in ax.get_title()
    assert next(t.get_text() for t in ax.get_yticklabels()) == "x"
    assert len(ax.patches) == len(SPACE)


def test_too_little_to_go_on(tmp_path):
    few = tmp_path / "few"
    evolve(
        lambda p: p["x"], SPACE, population_size=4, generations=1, random_state=0, checkpoint=few
    )
    assert parameter_importance(load_run(few)) is None
    flat = tmp_path / "flat"
    evolve(lambda p: 1.0, SPACE, population_size=8, generations=1, random_state=0, checkpoint=flat)
    assert parameter_importance(load_run(flat)) is None  # every score the same
    ax = plot_importance(load_run(flat)).axes[0]
    assert not ax.patches and "not enough to go on" in ax.texts[0].get_text()
