"""Settings are declared once: every face agrees with the declaration, and a
bad value raises the same error with the same message through every face."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError as SklearnInvalid

from evotune import (
    Evolution,
    EvolutionaryFeatureSelector,
    EvolutionarySearchCV,
    Float,
    InvalidParameterError,
    evolve,
)
from evotune.experiment import ExperimentSettingError, load_experiment
from evotune.settings import (
    ESTIMATORS,
    EVOLVE,
    TOML,
    RunSettings,
    SearchSettings,
    declared,
    resumable,
    settings_for,
)

FACES = {
    EVOLVE: evolve,
    "EvolutionarySearchCV": EvolutionarySearchCV.__init__,
    "EvolutionaryFeatureSelector": EvolutionaryFeatureSelector.__init__,
}

# a bad value of each setting that has a check (TOML-expressible where the
# experiment file takes the setting)
BAD = {
    "population_size": 1,
    "strategy": "annealing",
    "crossover_prob": 1.5,
    "mutation_prob": -0.25,
    "elitism": -1,
    "tournament_size": 0,
    "direction": "upwards",
    "random_state": -3,
    "initial_sampling": "halton",
    "screening": 0,
    "in_flight": 0,
    "objectives": "score",
    "hall_of_fame_size": 0,
    "mutation_sigma": 0.0,
    "max_novelty_tries": -1,
    "generations": 0,
    "max_evaluations": 0,
    "time_budget": -1.5,
    "patience": 0,
    "n_jobs": 0,
    "racing": "often",
    "prune": "median",
    "timeout": 0,
    "max_tasks_per_worker": 0,
    "worker_memory_limit": "2 parsecs",
    "checkpoint": 5,
    "resume": "yes",
    "callbacks": "progress",
}
UNCHECKED = {"initial_population", "backend"}  # checked where they are read


def test_every_setting_has_a_bad_value_or_is_checked_where_it_is_read():
    assert set(BAD) | UNCHECKED == set(declared())


@pytest.mark.parametrize("face", sorted(FACES))
def test_signature_defaults_agree_with_the_declaration(face):
    params = inspect.signature(FACES[face]).parameters
    wanted = declared(EVOLVE if face == EVOLVE else ESTIMATORS)
    assert set(wanted) <= set(params), set(wanted) - set(params)
    for name, (default, _) in wanted.items():
        assert params[name].default == default, (face, name)
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, (face, name)


@pytest.mark.parametrize("face", sorted(FACES))
def test_docstring_documents_every_setting(face):
    owner = {"evolve": evolve}.get(face) or {
        "EvolutionarySearchCV": EvolutionarySearchCV,
        "EvolutionaryFeatureSelector": EvolutionaryFeatureSelector,
    }[face]
    doc = inspect.getdoc(owner) or ""
    section = doc.split("Parameters\n----------", 1)[1].split("\n\n\n", 1)[0]
    named = set(re.findall(r"[a-z_]+", section))
    wanted = declared(EVOLVE if face == EVOLVE else ESTIMATORS)
    assert set(wanted) <= named, set(wanted) - named
    for name, (default, _) in wanted.items():
        # where the docstring states a default, it is the declared one
        stated = re.search(rf"^{name} : .*default=([^\s,]+)", doc, re.M)
        if stated:
            assert stated.group(1).strip("\"'") == str(default), (face, name)


def test_evolution_takes_the_search_settings_and_their_defaults():
    evo = Evolution({"x": Float(0, 1)}, random_state=0)
    for name, (default, _) in declared("Evolution").items():
        if name in ("strategy", "in_flight", "random_state"):
            continue
        assert getattr(evo.settings, name) == default, name


def test_resumable_settings_are_the_budget_stops_and_workers():
    assert resumable() == {
        "generations",
        "max_evaluations",
        "time_budget",
        "patience",
        "n_jobs",
        "timeout",
        "max_tasks_per_worker",
        "worker_memory_limit",
        "backend",
    }


def test_settings_for_splits_and_checks():
    search, run = settings_for({"population_size": 6, "generations": 2, "racing": 3})
    assert isinstance(search, SearchSettings) and isinstance(run, RunSettings)
    assert (search.population_size, run.generations, run.racing) == (6, 2, 3)
    assert json.dumps(search.to_json()) and json.dumps(run.to_json())


def test_elitism_must_leave_room_for_offspring():
    with pytest.raises(InvalidParameterError, match=r"'elitism' must be in \[0, 3\], got 4"):
        SearchSettings(population_size=4, elitism=4)


# ------------------------------------------------ one error through every face
def _data():
    return make_classification(n_samples=40, n_features=4, random_state=0)


def _through_evolve(name, value):
    with pytest.raises(InvalidParameterError) as info:
        evolve(lambda p: p["x"], {"x": Float(0, 1)}, **{name: value})
    return info.value


def _through_estimator(cls, name, value):
    X, y = _data()
    if cls is EvolutionarySearchCV:
        est = cls(LogisticRegression(), {"C": Float(0.1, 1.0)}, **{name: value})
    else:
        est = cls(LogisticRegression(), **{name: value})
    with pytest.raises(SklearnInvalid) as info:
        est.fit(X, y)
    assert isinstance(info.value, InvalidParameterError)
    return info.value


def _through_toml(tmp_path, name, value):
    text = (
        '[estimator]\nclass = "sklearn.linear_model.LogisticRegression"\n'
        '[data]\nloader = "sklearn.datasets.load_iris"\n'
        '[space]\nC = { type = "float", low = 0.1, high = 10.0 }\n'
        f"[search]\n{name} = {json.dumps(value)}\n"
    )
    path = Path(tmp_path) / "e.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ExperimentSettingError) as info:
        load_experiment(path)
    assert isinstance(info.value, InvalidParameterError)
    return info.value


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_value_raises_the_same_error_through_every_face(name, tmp_path):
    value = BAD[name]
    info = declared()[name][1]
    if name in declared(EVOLVE):
        message = str(_through_evolve(name, value))
    else:
        with pytest.raises(InvalidParameterError) as raised:
            Evolution({"x": Float(0, 1)}, **{name: value})
        message = str(raised.value)
    assert repr(name) in message, message
    if ESTIMATORS in info.faces:
        for cls in (EvolutionarySearchCV, EvolutionaryFeatureSelector):
            assert str(_through_estimator(cls, name, value)) == message, cls
    if TOML in info.faces:
        got = str(_through_toml(tmp_path, name, value))
        assert got == message.replace(repr(name), repr(f"search.{name}")), got


def test_a_generator_seed_is_refused_with_a_checkpoint(tmp_path):
    with pytest.raises(InvalidParameterError, match="checkpoint"):
        evolve(
            lambda p: p["x"],
            {"x": Float(0, 1)},
            random_state=np.random.default_rng(0),
            checkpoint=tmp_path / "run",
        )
    assert not (tmp_path / "run").exists()


# ------------------------------------------------- the experiment file's [search]
EXPERIMENT = """
[estimator]
class = "sklearn.tree.DecisionTreeClassifier"
params = {{ random_state = 0 }}
[data]
loader = "sklearn.datasets.load_iris"
[space]
max_depth = {{ type = "int", low = 1, high = 6 }}
[search]
population_size = {population_size}
generations = 2
cv = 3
random_state = 0
"""


def _cli(*args, cwd):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "evotune", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def test_a_bad_search_value_leaves_no_run_directory_and_the_fix_runs_in_the_same_out(
    tmp_path,
):
    path = tmp_path / "exp.toml"
    out = tmp_path / "runs" / "exp"
    path.write_text(EXPERIMENT.format(population_size=1), encoding="utf-8")
    bad = _cli("run", str(path), "--out", str(out), "--quiet", cwd=tmp_path)
    assert bad.returncode != 0
    assert "'search.population_size' must be >= 2, got 1" in bad.stderr
    assert not out.exists()
    path.write_text(EXPERIMENT.format(population_size=4), encoding="utf-8")
    good = _cli("run", str(path), "--out", str(out), "--quiet", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert (out / "history.csv").exists()


def test_a_directory_in_which_nothing_ran_takes_the_corrected_file(tmp_path):
    path = tmp_path / "exp.toml"
    out = tmp_path / "out"
    out.mkdir()
    # left by an earlier try that stopped before any evaluation
    (out / "experiment.toml").write_text("# another file\n", encoding="utf-8")
    path.write_text(EXPERIMENT.format(population_size=4), encoding="utf-8")
    good = _cli("run", str(path), "--out", str(out), "--quiet", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert (out / "experiment.toml").read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


# ------------------------------------------------------------ worker recycling
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2GB", 2 * 10**9),
        ("2 gb", 2 * 10**9),
        ("512MiB", 512 * 2**20),
        ("1.5 GB", 1_500_000_000),
        ("100", 100),
        ("1e6", 10**6),
        (1024, 1024),
        (2e9, 2 * 10**9),
        (None, None),
    ],
)
def test_worker_memory_limit_takes_bytes_as_dask_writes_them(value, expected):
    assert RunSettings(worker_memory_limit=value).worker_memory_limit == expected


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "", "GB", "2 parsecs", "1e-3", float("inf")])
def test_a_bad_worker_memory_limit_names_the_parameter(value):
    with pytest.raises(InvalidParameterError, match="'worker_memory_limit' must be a number of"):
        RunSettings(worker_memory_limit=value)


def test_recycling_settings_reach_meta_json_and_a_resume_may_change_them(tmp_path):
    run = tmp_path / "run"
    kwargs = {"population_size": 4, "generations": 1, "random_state": 0, "checkpoint": run}
    evolve(lambda p: p["x"], {"x": Float(0, 1)}, max_tasks_per_worker=3, **kwargs)
    settings = json.loads((run / "meta.json").read_text(encoding="utf-8"))["settings"]
    assert settings["max_tasks_per_worker"] == 3
    assert settings["worker_memory_limit"] is None
    kwargs["generations"] = 2
    evolve(lambda p: p["x"], {"x": Float(0, 1)}, worker_memory_limit="1GB", resume=True, **kwargs)
