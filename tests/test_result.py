"""Tests of ``evotune.result``: history, hall of fame, logbook, save."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.svm import SVC

from evotune import Categorical, CrossValScore, Float, Integer, Result, Space, evolve
from evotune.result import history_frame

TIMES = ["fit_time", "score_time"]


def conditional_space() -> Space:
    return Space(
        {
            "C": Float(1e-2, 1e2, log=True),
            "kernel": Categorical(["rbf", "poly"]),
            "degree": Integer(2, 4, when={"kernel": "poly"}),
        }
    )


def prefers_rbf(p: dict) -> float:
    score = -abs(math.log10(p["C"]) - 1.0)
    if p["kernel"] == "poly":
        score -= 1.0 + 0.1 * p["degree"]
    return score


@pytest.fixture(scope="module")
def cv_result() -> Result:
    X, y = load_iris(return_X_y=True)
    obj = CrossValScore(SVC(), X, y, cv=3, scoring="accuracy")
    return evolve(obj, conditional_space(), population_size=6, generations=3, random_state=0)


@pytest.fixture(scope="module")
def fn_result() -> Result:
    return evolve(
        prefers_rbf, conditional_space(), population_size=8, generations=5, random_state=1
    )


@pytest.fixture(scope="module")
def ga_fn_result() -> Result:
    return evolve(
        prefers_rbf,
        conditional_space(),
        population_size=8,
        generations=5,
        strategy="ga",
        random_state=1,
    )


# ---------------------------------------------------------------- history
def test_history_columns_exactly_as_documented(cv_result):
    assert list(cv_result.history.columns) == [
        "id",
        "generation",
        "origin",
        "param_C",
        "param_kernel",
        "param_degree",
        "mean_score",
        "std_score",
        "split0_score",
        "split1_score",
        "split2_score",
        "fit_time",
        "score_time",
        "status",
        "error",
    ]


def test_history_columns_for_a_plain_callable(fn_result):
    assert list(fn_result.history.columns) == [
        "id",
        "generation",
        "origin",
        "param_C",
        "param_kernel",
        "param_degree",
        "mean_score",
        "std_score",
        "split0_score",
        "fit_time",
        "score_time",
        "status",
        "error",
    ]


def test_history_one_row_per_evaluation(cv_result):
    h = cv_result.history
    assert len(h) == cv_result.n_evaluations == len(cv_result.evaluations)
    assert h["id"].is_unique
    assert list(h["id"]) == sorted(h["id"])
    assert h["generation"].is_monotonic_increasing
    assert set(h["status"]) == {"ok"}
    assert h["error"].isna().all()
    assert (h["fit_time"] > 0).all()
    assert (h["score_time"] >= 0).all()


def test_history_scores_are_fold_mean_and_std(cv_result):
    h = cv_result.history
    folds = h[["split0_score", "split1_score", "split2_score"]].to_numpy()
    np.testing.assert_allclose(h["mean_score"], folds.mean(axis=1))
    np.testing.assert_allclose(h["std_score"], folds.std(axis=1))


def test_history_origins(ga_fn_result):
    h = ga_fn_result.history
    assert set(h["origin"]) <= {"initial", "crossover", "mutation", "elite"}
    assert (h.loc[h["generation"] == 0, "origin"] == "initial").all()
    assert (h.loc[h["generation"] > 0, "origin"] != "initial").all()


def test_inactive_conditional_params_are_none(fn_result):
    h = fn_result.history
    rbf = h[h["param_kernel"] == "rbf"]
    poly = h[h["param_kernel"] == "poly"]
    assert len(rbf) > 0 and len(poly) > 0
    assert all(v is None for v in rbf["param_degree"])
    assert all(isinstance(v, int) and 2 <= v <= 4 for v in poly["param_degree"])


def test_param_values_keep_their_types(fn_result):
    h = fn_result.history
    assert all(isinstance(v, float) for v in h["param_C"])
    assert all(isinstance(v, str) for v in h["param_kernel"])


def test_best_params_hold_only_active_params(fn_result):
    assert fn_result.best_params["kernel"] == "rbf"
    assert set(fn_result.best_params) == {"C", "kernel"}
    assert fn_result.best_score == fn_result.history["mean_score"].max()


def test_history_frame_of_nothing():
    frame = history_frame([], conditional_space())
    assert frame.empty
    assert list(frame.columns) == [
        "id",
        "generation",
        "origin",
        "param_C",
        "param_kernel",
        "param_degree",
        "mean_score",
        "std_score",
        "fit_time",
        "score_time",
        "status",
        "error",
    ]


def test_failed_rows_in_history():
    def objective(p):
        if p["kernel"] == "poly":
            raise ValueError("poly is broken")
        return p["C"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = evolve(
            objective, conditional_space(), population_size=6, generations=3, random_state=0
        )
    h = res.history
    failed = h[h["status"] == "failed"]
    assert len(failed) > 0
    assert (failed["param_kernel"] == "poly").all()
    assert failed["error"].str.contains("ValueError: poly is broken").all()
    assert failed["mean_score"].isna().all()
    assert failed["split0_score"].isna().all()
    assert not (res.hall_of_fame["param_kernel"] == "poly").any()


# ----------------------------------------------------------- hall of fame
def test_hall_of_fame_best_first(fn_result):
    hof = fn_result.hall_of_fame
    assert isinstance(hof, pd.DataFrame)
    assert 0 < len(hof) <= 10
    assert list(hof["rank"]) == list(range(1, len(hof) + 1))
    scores = hof["mean_score"].tolist()
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == fn_result.best_score
    assert hof["id"].is_unique
    top = sorted(fn_result.history["mean_score"], reverse=True)[: len(hof)]
    assert scores == top
    first = hof.iloc[0]
    for name, value in fn_result.best_params.items():
        assert first[f"param_{name}"] == value


def test_hall_of_fame_rows_match_history(fn_result):
    by_id = fn_result.history.set_index("id")
    for _, row in fn_result.hall_of_fame.iterrows():
        assert by_id.loc[row["id"], "mean_score"] == row["mean_score"]
        assert by_id.loc[row["id"], "generation"] == row["generation"]


def test_hall_of_fame_minimize_best_first():
    res = evolve(
        lambda p: (p["x"] - 0.2) ** 2,
        {"x": Float(-1.0, 1.0)},
        population_size=6,
        generations=4,
        direction="minimize",
        random_state=0,
    )
    scores = res.hall_of_fame["mean_score"].tolist()
    assert scores == sorted(scores)
    assert scores[0] == res.best_score == res.history["mean_score"].min()
    assert res.direction == "minimize"


# ---------------------------------------------------------------- logbook
def test_logbook_one_row_per_generation(fn_result):
    lb = fn_result.logbook
    assert len(lb) == 5
    assert {"generation", "evaluations", "best", "mean", "std", "elapsed"} <= set(lb.columns)
    assert list(lb["generation"]) == [0, 1, 2, 3, 4]
    per_gen = fn_result.history.groupby("generation").size()
    assert list(lb["evaluations"]) == per_gen.tolist()
    assert int(lb["evaluations"].sum()) == len(fn_result.history)


def test_logbook_best_is_best_so_far(fn_result):
    h = fn_result.history
    lb = fn_result.logbook
    best_so_far = h.groupby("generation")["mean_score"].max().cummax()
    np.testing.assert_allclose(lb["best"], best_so_far.to_numpy())
    assert lb["best"].iloc[-1] == fn_result.best_score


def test_logbook_stats_and_elapsed(fn_result):
    lb = fn_result.logbook
    assert np.isfinite(lb["mean"]).all()
    assert (lb["std"] >= 0).all()
    assert (lb["mean"] <= lb["best"] + 1e-12).all()
    assert (lb["elapsed"] >= 0).all()
    assert lb["elapsed"].is_monotonic_increasing
    gen0 = fn_result.history.loc[fn_result.history["generation"] == 0, "mean_score"]
    assert lb["mean"].iloc[0] == pytest.approx(gen0.mean())
    assert lb["std"].iloc[0] == pytest.approx(gen0.std(ddof=0))


# ------------------------------------------------------------------- save
def test_save_writes_both_csvs(tmp_path, cv_result):
    out = cv_result.save(tmp_path / "run")
    hist = out / "history.csv"
    hof = out / "hall_of_fame.csv"
    assert hist.is_file() and hof.is_file()
    h = pd.read_csv(hist)
    assert list(h.columns) == list(cv_result.history.columns)
    assert len(h) == len(cv_result.history)
    pd.testing.assert_series_equal(
        h["mean_score"], cv_result.history["mean_score"], check_dtype=False
    )
    assert list(h["id"]) == list(cv_result.history["id"])
    f = pd.read_csv(hof)
    assert len(f) == len(cv_result.hall_of_fame)
    assert list(f["id"]) == list(cv_result.hall_of_fame["id"])
    assert list(f.columns) == list(cv_result.hall_of_fame.columns)
    # no temporary files are left behind
    assert sorted(p.name for p in out.iterdir()) == ["hall_of_fame.csv", "history.csv"]


def test_save_overwrites(tmp_path, fn_result, cv_result):
    cv_result.save(tmp_path)
    fn_result.save(tmp_path)
    assert len(pd.read_csv(tmp_path / "history.csv")) == len(fn_result.history)


def test_result_repr_and_stop_reason(fn_result):
    assert fn_result.stop_reason == "generations"
    text = repr(fn_result)
    assert "best_score" in text and "n_evaluations=" in text


# ---- issue 15, item 14: the figures of a result in memory (no run directory) -----


@pytest.fixture(scope="module")
def agg():
    import matplotlib

    matplotlib.use("Agg")  # as a headless notebook kernel or a CI run would
    from matplotlib.figure import Figure

    return Figure


def _line(ax, label):
    lines = [line for line in ax.get_lines() if line.get_label() == label]
    assert len(lines) == 1, [line.get_label() for line in ax.get_lines()]
    return lines[0]


def test_plot_progress_draws_the_logbook(agg, cv_result):
    fig = cv_result.plot_progress()
    assert isinstance(fig, agg)
    (ax,) = fig.axes
    best = _line(ax, "best so far")
    np.testing.assert_allclose(best.get_xdata(), cv_result.logbook["generation"])
    np.testing.assert_allclose(best.get_ydata(), cv_result.logbook["best"])
    np.testing.assert_allclose(_line(ax, "population mean").get_ydata(), cv_result.logbook["mean"])
    # every successful evaluation is a point behind the lines
    (points,) = [c for c in ax.collections if c.get_label() == "one evaluation"]
    assert len(points.get_offsets()) == (cv_result.history["status"] == "ok").sum()
    assert ax.get_ylabel() == "mean score (accuracy; higher is better)"
    assert ax.get_title().startswith(f"Progress: 3 generations, {cv_result.n_evaluations} ")


def test_plot_parameters_has_a_panel_per_parameter(agg, fn_result):
    fig = fn_result.plot_parameters()
    assert isinstance(fig, agg)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_xlabel().split(" ")[0] for ax in panels] == ["C", "kernel", "degree"]
    assert panels[0].get_xscale() == "log"
    assert [t.get_text() for t in panels[1].get_xticklabels()] == ["rbf", "poly"]
    n_poly = (fn_result.history["param_kernel"] == "poly").sum()
    assert panels[2].get_title() == (
        f"degree: {n_poly} shown, {fn_result.n_evaluations - n_poly} inactive"
    )
    assert fig.get_suptitle().startswith(f"Score against each parameter ({fn_result.n_evaluations}")


def test_plot_timeline_has_a_bar_per_task(agg, cv_result):
    fig = cv_result.plot_timeline()
    assert isinstance(fig, agg)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["worker 0"]
    bars = sum(len(c.get_paths()) for c in ax.collections)
    assert bars == 3 * cv_result.n_evaluations  # cv=3: a bar per (candidate, fold)
    assert fig.get_suptitle().startswith(f"Worker timeline: {bars} tasks on 1 worker")


def test_plot_pareto_front_for_several_objectives(agg):
    res = evolve(
        lambda p: -((p["x"] - 0.5) ** 2),
        {"x": Float(0, 1)},
        objectives={"score": "maximize", "fit_time": "minimize"},
        strategy="nsga2",
        population_size=6,
        generations=2,
        random_state=0,
    )
    fig = res.plot_pareto_front()
    assert isinstance(fig, agg)
    (ax,) = fig.axes
    front = _line(ax, f"Pareto front ({len(res.pareto_front)})")
    assert len(front.get_xdata()) == len(res.pareto_front)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("fit_time (minimize)", "score (maximize)")


def test_plot_pareto_front_of_one_objective_says_so(fn_result):
    with pytest.raises(ValueError, match="several 'objectives'"):
        fn_result.plot_pareto_front()


def test_the_figures_leave_pyplot_alone(agg, fn_result):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fn_result.plot_progress()
    fn_result.plot_timeline()
    assert plt.get_fignums() == before  # no figure kept open by pyplot
