"""The evaluations as numbers in [0, 1] per parameter (evotune/_figures/_encode.py)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from evotune import Categorical, FeatureMask, Float, Integer, Space, evolve
from evotune._figures._encode import encode
from evotune.report import Run, load_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    space = Space(
        {
            "lr": Float(1e-4, 1.0, log=True),
            "n": Integer(0, 10),
            "kernel": Categorical(["rbf", "poly", "linear"]),
            "degree": Integer(2, 5, when={"kernel": "poly"}),
            "mask": FeatureMask(6),
        }
    )

    def fn(p):
        if p["n"] == 10:
            raise ValueError("n too large")
        return p["n"] + math.log10(p["lr"]) + sum(p["mask"])

    path = tmp_path_factory.mktemp("enc") / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evolve(fn, space, population_size=10, generations=2, random_state=0, checkpoint=path)
    return load_run(path)


def test_only_successful_evaluations_in_the_space_scale(run):
    enc = encode(run)
    ok = [ev for ev in run.evaluations if ev["status"] == "ok"]
    assert len(enc.rows) == len(ok) < len(run.evaluations)  # the failures left out
    assert [a.name for a in enc.axes] == ["lr", "n", "kernel", "degree", "mask"]
    axes = {a.name: a for a in enc.axes}
    lr = np.array([ev["params"]["lr"] for ev in enc.rows])
    np.testing.assert_allclose(axes["lr"].values, (np.log10(lr) + 4) / 4)
    n = np.array([ev["params"]["n"] for ev in enc.rows])
    np.testing.assert_allclose(axes["n"].values, n / 10)
    kernel = [["rbf", "poly", "linear"].index(ev["params"]["kernel"]) / 2 for ev in enc.rows]
    np.testing.assert_allclose(axes["kernel"].values, kernel)
    kept = [sum(ev["params"]["mask"]) / 6 for ev in enc.rows]
    np.testing.assert_allclose(axes["mask"].values, kept)
    assert enc.scores.tolist() == [ev["mean_score"] for ev in enc.rows]


def test_an_inactive_parameter_is_nan_and_its_own_value_in_the_matrix(run):
    enc = encode(run)
    degree = next(a for a in enc.axes if a.name == "degree")
    inactive = np.array(["degree" not in ev["params"] for ev in enc.rows])
    assert inactive.any() and (~inactive).any()
    assert np.isnan(degree.values[inactive]).all()
    assert not np.isnan(degree.values[~inactive]).any()
    column = enc.matrix(inactive=-0.1)[:, 3]
    assert (column[inactive] == -0.1).all() and (column[~inactive] >= 0).all()


def test_ticks_label_the_range(run):
    axes = {a.name: a for a in encode(run).axes}
    assert axes["lr"].ticks == [(0.0, "0.0001"), (0.5, "0.01"), (1.0, "1")]
    assert axes["lr"].scale == "log"
    assert axes["kernel"].ticks == [(0.0, "rbf"), (0.5, "poly"), (1.0, "linear")]
    assert axes["mask"].ticks[-1] == (1.0, "6") and axes["mask"].scale == "features kept"


def test_a_range_without_bounds_uses_the_values_seen(tmp_path):
    """A space whose bounds are not numbers (null in meta.json): the values seen."""
    evaluations = [
        {"candidate": i, "status": "ok", "mean_score": float(i), "params": {"z": z}}
        for i, z in enumerate([-3.0, 1.0, 5.0])
    ]
    meta = {"space": {"z": {"type": "distribution", "low": None, "high": None}}}
    axis = encode(Run(path=tmp_path, meta=meta, evaluations=evaluations)).axes[0]
    np.testing.assert_allclose(axis.values, [0.0, 0.5, 1.0])
    assert axis.ticks == [(0.0, "-3"), (0.5, "1"), (1.0, "5")]


def test_a_distribution_is_placed_in_its_range(tmp_path):
    from scipy.stats import norm

    path = tmp_path / "run"
    evolve(
        lambda p: p["z"],
        {"z": norm(0, 1)},
        population_size=6,
        generations=1,
        random_state=0,
        checkpoint=path,
    )
    axis = encode(load_run(path)).axes[0]
    assert ((axis.values > 0) & (axis.values < 1)).all()
