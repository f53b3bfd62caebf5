"""evolve: a run assembled from its settings (evotune.run)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evotune import Categorical, Float, Integer, InvalidParameterError, evolve
from evotune.journal import META

SPACE = {"x": Float(-1.0, 1.0), "n": Integer(0, 4), "k": Categorical(["a", "b"])}


def score(p):
    return -(p["x"] ** 2) - (p["n"] - 2) ** 2 + (p["k"] == "b")


def test_meta_records_every_search_and_run_setting_in_json(tmp_path):
    evolve(
        score,
        SPACE,
        population_size=4,
        generations=2,
        strategy="ga",  # a generational strategy: in_flight means nothing to it
        random_state=0,
        checkpoint=tmp_path / "run",
    )
    settings = json.loads((tmp_path / "run" / META).read_text())["settings"]
    # the keys a run directory written before the settings redesign holds, and the
    # worker recycling settings (issue 14)
    assert set(settings) == {
        "population_size",
        "strategy",
        "crossover_prob",
        "mutation_prob",
        "elitism",
        "tournament_size",
        "direction",
        "random_state",
        "initial_sampling",
        "initial_population",
        "screening",
        "racing",
        "prune",
        "in_flight",
        "objectives",
        "generations",
        "max_evaluations",
        "time_budget",
        "patience",
        "timeout",
        "n_jobs",
        "max_tasks_per_worker",
        "worker_memory_limit",
    }
    assert settings["random_state"] == 0 and settings["in_flight"] is None


def test_bad_settings_are_refused_before_any_file_is_written(tmp_path):
    with pytest.raises(InvalidParameterError, match="'population_size' must be >= 2, got 1"):
        evolve(score, SPACE, population_size=1, checkpoint=tmp_path / "run")
    with pytest.raises(InvalidParameterError, match="'resume=True' needs 'checkpoint'"):
        evolve(score, SPACE, resume=True)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("strategy", ["random", "grid"])
def test_random_and_grid_resume_exactly_and_report(strategy, tmp_path):
    ck = tmp_path / strategy
    whole = evolve(
        score, SPACE, population_size=4, generations=4, strategy=strategy, random_state=0
    )
    evolve(
        score,
        SPACE,
        population_size=4,
        generations=2,
        strategy=strategy,
        random_state=0,
        checkpoint=ck,
    )
    resumed = evolve(
        score,
        SPACE,
        population_size=4,
        generations=4,
        strategy=strategy,
        random_state=0,
        checkpoint=ck,
        resume=True,
    )
    cols = ["id", "generation", "origin", "param_x", "param_n", "param_k", "mean_score"]
    assert resumed.history[cols].equals(whole.history[cols])
    proc = subprocess.run(
        [sys.executable, "-m", "evotune", "report", str(ck)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (ck / "report" / "progress.png").exists()


def test_the_user_s_objects_are_not_written_onto(tmp_path):
    from evotune.strategies import GA

    strategy = GA(tournament_size=2)
    callbacks = [lambda state: None]
    before = (dict(vars(strategy)), list(callbacks))
    evolve(
        score,
        SPACE,
        population_size=4,
        generations=2,
        strategy=strategy,
        callbacks=callbacks,
        random_state=0,
    )
    assert (dict(vars(strategy)), list(callbacks)) == before
