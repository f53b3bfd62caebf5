"""Tests of ``evotune.callbacks``: the Callback base, the hooks a run calls,
and the progress bar."""

from __future__ import annotations

import io
import re
import warnings

import pytest

import evotune
from evotune import Callback, Float, ProgressBar, Result, evolve
from evotune.evaluation import Evaluation

PLAIN_LINE = re.compile(
    r"^generation\s+(\d+)\s+evaluations\s+(\d+)\s+best\s+(\S+)\s+mean\s+(\S+)\s+"
    r"failed\s+(\d+)\s+elapsed\s+([\d.]+)s$"
)
SPACE = {"x": Float(0.0, 1.0)}


def score(p):
    return -((p["x"] - 0.3) ** 2)


class Recorder(Callback):
    """Writes down every hook call in order."""

    def __init__(self):
        self.calls: list[tuple[str, object]] = []

    def on_run_start(self, evolution):
        self.calls.append(("start", evolution.budget))

    def on_evaluation(self, evaluation):
        self.calls.append(("evaluation", evaluation))

    def on_generation_end(self, state):
        self.calls.append(("generation", state.generation))

    def on_run_end(self, result):
        self.calls.append(("end", result))


# ------------------------------------------------------------------ the base
def test_callback_base_hooks_do_nothing_and_never_stop():
    cb = Callback()
    assert cb.on_run_start(None) is None
    assert cb.on_evaluation(None) is None
    assert cb.on_generation_end(None) is None
    assert cb.on_run_end(None) is None
    assert cb.exhausted() is False
    res = evolve(score, SPACE, population_size=4, generations=3, callbacks=[cb], random_state=0)
    assert res.stop_reason == "generations"
    assert len(res.logbook) == 3


def test_hooks_are_called_in_order_with_what_they_document():
    rec = Recorder()
    res = evolve(score, SPACE, population_size=4, generations=3, callbacks=[rec], random_state=0)
    kinds = [kind for kind, _ in rec.calls]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert rec.calls[0][1] == 12  # the budget: population_size * generations
    assert rec.calls[-1][1] is res and isinstance(res, Result)
    evaluations = [arg for kind, arg in rec.calls if kind == "evaluation"]
    assert all(isinstance(e, Evaluation) for e in evaluations)
    assert sorted(e.key for e in evaluations) == sorted(e.key for e in res.evaluations)
    # each generation's evaluations come before its end, and before the next one's
    per_generation = res.history.groupby("generation").size().tolist()
    expected = ["start"]
    for n in per_generation:
        expected += ["evaluation"] * n + ["generation"]
    assert kinds == [*expected, "end"]
    assert [arg for kind, arg in rec.calls if kind == "generation"] == [0, 1, 2]


def test_a_callback_with_only_some_hooks_is_not_taken_for_a_plain_callable():
    class EvaluationsOnly:
        def __init__(self):
            self.n = 0

        def on_evaluation(self, evaluation):
            self.n += 1

    cb = EvaluationsOnly()
    res = evolve(score, SPACE, population_size=4, generations=2, callbacks=[cb], random_state=0)
    assert cb.n == res.n_evaluations


def test_run_end_gets_none_when_the_run_fails():
    class Boom(Recorder):
        def on_generation_end(self, state):
            super().on_generation_end(state)
            if state.generation == 1:
                raise RuntimeError("boom")

    rec = Boom()
    with pytest.raises(RuntimeError, match="boom"):
        evolve(score, SPACE, population_size=4, generations=5, callbacks=[rec], random_state=0)
    assert rec.calls[-1] == ("end", None)


def test_exhausted_hook_stops_before_more_work():
    class AfterFive(Callback):
        def __init__(self):
            self.n = 0

        def on_evaluation(self, evaluation):
            self.n += 1

        def exhausted(self):
            return self.n >= 5

    # generational: generation 1 is finished, generation 2 never starts
    cb = AfterFive()
    res = evolve(score, SPACE, population_size=4, generations=10, callbacks=[cb], random_state=0)
    assert res.stop_reason == "callback"
    assert set(res.history["generation"]) == {0, 1}
    # steady state with one child in flight: no child is asked after the fifth
    cb = AfterFive()
    res = evolve(
        score,
        SPACE,
        population_size=4,
        generations=10,
        strategy="steady_state",
        in_flight=1,
        callbacks=[cb],
        random_state=0,
    )
    assert res.stop_reason == "callback"
    assert res.n_evaluations == 5


def test_module_exports():
    assert set(evotune.callbacks.__all__) == {
        "Callback",
        "EarlyStopping",
        "ProgressBar",
        "TimeBudget",
    }
    assert evotune.Callback is evotune.callbacks.Callback
    assert evotune.ProgressBar is evotune.callbacks.ProgressBar


# --------------------------------------------------------------- ProgressBar
def failing_below(p):
    if p["x"] < 0.3:
        raise ValueError("x too small")
    return p["x"]


def test_progress_bar_plain_prints_one_line_per_generation():
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the failed evaluations' summary
        res = evolve(
            failing_below,
            SPACE,
            population_size=4,
            generations=3,
            callbacks=[ProgressBar(out)],  # a StringIO is no terminal: plain lines
            random_state=0,
        )
    matches = [PLAIN_LINE.match(line) for line in out.getvalue().splitlines()]
    assert all(matches), out.getvalue()
    assert [int(m.group(1)) for m in matches] == [0, 1, 2]
    counts = res.history.groupby("generation").size().cumsum().tolist()
    assert [int(m.group(2)) for m in matches] == counts
    assert float(matches[-1].group(3)) == pytest.approx(res.best_score, abs=5e-5)
    failed = res.history.groupby("generation")["status"].apply(lambda s: (s != "ok").sum())
    assert [int(m.group(5)) for m in matches] == failed.tolist()
    assert sum(failed) > 0  # the column is exercised, not all zeros
    elapsed = [float(m.group(6)) for m in matches]
    assert elapsed == sorted(elapsed)


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_progress_bar_shows_evaluations_and_the_best_score_in_the_run_direction(direction):
    out = io.StringIO()
    bar = ProgressBar(out, plain=False)
    res = evolve(
        lambda p: (p["x"] - 0.3) ** 2,
        SPACE,
        population_size=4,
        generations=3,
        direction=direction,
        callbacks=[bar],
        random_state=0,
    )
    text = out.getvalue()
    assert f"{res.n_evaluations}/12" in text
    assert f"generation {len(res.logbook)}" in text
    shown = re.findall(r"best=([-\d.e+]+)", text)
    assert float(shown[-1]) == pytest.approx(res.best_score, rel=1e-4)
    assert bar._bar is None  # closed at the end


def test_progress_bar_defaults_to_stderr(capsys):
    evolve(
        score, SPACE, population_size=4, generations=2, callbacks=[ProgressBar()], random_state=0
    )
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("generation") == 2


def test_progress_bar_ends_full_when_the_run_stops_early():
    # before: a run stopped by patience left the bar at a fraction of its budget
    out = io.StringIO()
    res = evolve(
        lambda p: 1.0,  # never better: patience stops it after two generations
        SPACE,
        population_size=4,
        generations=10,
        patience=1,
        callbacks=[ProgressBar(out, plain=False)],
        random_state=0,
    )
    assert res.stop_reason == "patience" and res.n_evaluations < 40
    last = out.getvalue().rsplit("\r", 1)[-1]
    assert "100%" in last and f"{res.n_evaluations}/{res.n_evaluations}" in last


def test_progress_bar_says_once_what_a_resume_replayed(tmp_path):
    # before: every replayed generation was printed again with "elapsed 0.0s"
    first = evolve(
        lambda p: p["x"],
        SPACE,
        population_size=4,
        generations=2,
        checkpoint=tmp_path / "r",
        random_state=0,
    )
    out = io.StringIO()
    evolve(
        lambda p: p["x"],
        SPACE,
        population_size=4,
        generations=3,
        checkpoint=tmp_path / "r",
        resume=True,
        random_state=0,
        callbacks=[ProgressBar(out)],
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == f"replayed {first.n_evaluations} evaluations from the journal"
    assert len(lines) == 2 and PLAIN_LINE.match(lines[1]).group(1) == "2"
