"""`evotune export-optuna`: runs as Optuna studies, checked with the real
optuna package, a real optuna-dashboard server and real runs in subprocesses."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import optuna
import pytest
from _runs import write_script
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from scipy.stats import expon, poisson

from evotune import (
    BaseObjective,
    Categorical,
    FeatureMask,
    Float,
    FoldResult,
    Integer,
    MedianPruner,
    evolve,
    report_step,
)
from evotune.cli import main
from evotune.journal import JOURNAL, META, read_journal

TESTS = Path(__file__).parent


# ------------------------------------------------------------------ runs
class Curves(BaseObjective):
    """Two folds that report a learning curve each; kind "boom" fails."""

    n_tasks = 2

    def run(self, params, task, seed):
        if params["kind"] == "boom":
            return FoldResult(score=math.nan, status="failed", error="ValueError: boom")
        final = -((math.log10(params["lr"]) + 1) ** 2) + 0.1 * params["n"] + 0.05 * task
        value = 0.0
        for step in range(4):
            value = final * (step + 1) / 4 - 0.01 * task
            report_step(step, value)
        return FoldResult(score=value)


class TwoGoals(BaseObjective):
    """Score and a size to minimise, on two folds."""

    n_tasks = 2
    metric_names_ = ("score", "size")

    def run(self, params, task, seed):
        score = -((params["x"] - 1.0) ** 2) - 0.1 * task
        size = params["n"] + 0.5 * task
        return FoldResult(score=score, metrics={"test_score": score, "test_size": size})


SINGLE_SPACE = {
    "lr": Float(1e-3, 10.0, log=True),
    "n": Integer(1, 9),
    "kind": Categorical(["a", "b", "boom", None, (1, 2)]),
    "depth": Integer(2, 5, when={"kind": "a"}),
    "mask": FeatureMask(4, min_features=2),
    "scale": expon(scale=2.0),
    "count": poisson(3),
}
SINGLE_DISTRIBUTIONS = {
    "lr": FloatDistribution(1e-3, 10.0, log=True),
    "n": IntDistribution(1, 9),
    "kind": CategoricalDistribution(["a", "b", "boom", None, "(1, 2)"]),
    "depth": IntDistribution(2, 5),
    "mask.n_kept": IntDistribution(2, 4),
}


@pytest.fixture(scope="module")
def single_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("single") / "curves"
    with pytest.warns(UserWarning, match="failed"):
        evolve(
            Curves(),
            SINGLE_SPACE,
            population_size=8,
            generations=4,
            strategy="ga",
            random_state=1,
            prune=MedianPruner(n_min_evaluations=3),
            checkpoint=path,
        )
    return path


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("multi") / "goals"
    evolve(
        TwoGoals(),
        {"x": Float(-2.0, 3.0), "n": Integer(0, 10)},
        population_size=8,
        generations=3,
        strategy="nsga2",
        objectives={"score": "maximize", "size": "minimize"},
        random_state=0,
        checkpoint=path,
    )
    return path


def journal_of(run: Path):
    """(evaluation records, fold records by key) of a run, as the journal holds them."""
    journal = read_journal(run / JOURNAL)
    folds: dict[str, list[dict]] = {}
    for record in journal.of_type("fold"):
        folds.setdefault(record["key"], []).append(record["result"])
    return journal.of_type("evaluation"), folds


def study_of(storage: Path, name: str) -> optuna.Study:
    return optuna.load_study(
        study_name=name, storage=JournalStorage(JournalFileBackend(str(storage)))
    )


def by_key(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    trials = {t.user_attrs["evotune_key"]: t for t in study.trials}
    assert len(trials) == len(study.trials), "one trial per evaluation"
    return trials


def export(*argv: str) -> int:
    return main(["export-optuna", *map(str, argv)])


STATES = {
    "ok": TrialState.COMPLETE,
    "pruned": TrialState.PRUNED,
    "failed": TrialState.FAIL,
}


def check_common(ev: dict, trial, folds: list[dict]) -> None:
    """State, datetimes, intermediate values and user attributes of one trial."""
    assert trial.state == STATES[ev["status"]], ev
    started = min(f["started"] for f in folds)
    finished = max(f["finished"] for f in folds)
    assert abs((trial.datetime_start - datetime.fromtimestamp(started)).total_seconds()) < 2e-6
    assert abs((trial.datetime_complete - datetime.fromtimestamp(finished)).total_seconds()) < 2e-6
    steps: dict[int, list[float]] = {}
    for f in folds:
        for step, value in f["reports"]:
            steps.setdefault(step, []).append(value)
    assert trial.intermediate_values == pytest.approx(
        {s: sum(v) / len(v) for s, v in steps.items()}, abs=1e-12
    )
    attrs = trial.user_attrs
    assert attrs["candidate"] == ev["candidate"]
    assert attrs["generation"] == ev["generation"]
    assert attrs["origin"] == ev["origin"]
    assert attrs["status"] == ev["status"]
    assert attrs.get("error") == ev["error"]
    scores = [s if s is not None and math.isfinite(s) else None for s in ev["fold_scores"]]
    assert attrs["fold_scores"] == scores


# ------------------------------------------------------------ round trip
def test_single_objective_run_round_trips_every_field(single_run, tmp_path, capsys):
    storage = tmp_path / "optuna.log"
    assert export(single_run, storage) == 0
    out = capsys.readouterr().out
    evaluations, folds = journal_of(single_run)
    assert f"exported {len(evaluations)} evaluations to study 'curves'" in out
    assert f"optuna-dashboard {storage}" in out

    study = study_of(storage, "curves")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    trials = by_key(study)
    assert set(trials) == {ev["key"] for ev in evaluations}
    statuses = {ev["status"] for ev in evaluations}
    assert {"ok", "pruned", "failed"} <= statuses, statuses
    assert any("depth" in ev["params"] for ev in evaluations)
    assert any("depth" not in ev["params"] for ev in evaluations)
    for ev in evaluations:
        trial = trials[ev["key"]]
        check_common(ev, trial, folds[ev["key"]])
        if ev["status"] == "failed":
            assert trial.values is None
        else:  # ok, or pruned with its score over the folds it ran
            assert trial.values == [ev["mean_score"]]
        given = ev["params"]
        kind = given["kind"]
        expected = {
            "lr": given["lr"],
            "n": given["n"],
            "kind": "(1, 2)" if kind == [1, 2] else kind,
            "mask.n_kept": sum(given["mask"]),
            "scale": given["scale"],
            "count": given["count"],
        }
        if "depth" in given:  # active only with kind "a"; else absent, as in Optuna
            expected["depth"] = given["depth"]
        assert trial.params == expected
        assert trial.user_attrs["param.mask"] == "".join("1" if b else "0" for b in given["mask"])
        dists = trial.distributions
        assert set(dists) == set(expected)
        for name, dist in SINGLE_DISTRIBUTIONS.items():
            if name in dists:
                assert dists[name] == dist, name
        # a scipy distribution: the range of its values (tails cut as evotune cuts them)
        assert isinstance(dists["scale"], FloatDistribution) and not dists["scale"].log
        assert dists["scale"].low == pytest.approx(expon(scale=2.0).ppf(1e-12))
        assert dists["scale"].high == pytest.approx(expon(scale=2.0).ppf(1 - 1e-12))
        assert dists["count"] == IntDistribution(0, int(poisson(3).ppf(1 - 1e-12)))


def test_several_objectives_give_directions_names_and_values(multi_run, tmp_path):
    storage = tmp_path / "optuna.log"
    assert export(multi_run, storage, "--study-name", "two goals") == 0
    study = study_of(storage, "two goals")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert study.metric_names == ["score", "size"]
    evaluations, folds = journal_of(multi_run)
    trials = by_key(study)
    assert len(trials) == len(evaluations) > 8
    for ev in evaluations:
        trial = trials[ev["key"]]
        check_common(ev, trial, folds[ev["key"]])
        size = sum(m["test_size"] for m in ev["metrics"]) / len(ev["metrics"])
        assert trial.values == pytest.approx([ev["mean_score"], size])
        assert trial.params == ev["params"]
        assert trial.distributions == {
            "x": FloatDistribution(-2.0, 3.0),
            "n": IntDistribution(0, 10),
        }
    # Optuna's Pareto front is that of the run's values
    front = {t.user_attrs["evotune_key"] for t in study.best_trials}
    points = {ev["key"]: (ev["mean_score"], -trials[ev["key"]].values[1]) for ev in evaluations}
    dominated = {
        k
        for k, p in points.items()
        if any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in points.values())
    }
    assert front == set(points) - dominated


def test_a_parameter_optuna_cannot_hold_is_kept_as_a_user_attribute(multi_run, tmp_path):
    run = tmp_path / "odd"
    run.mkdir()
    meta = json.loads((multi_run / META).read_text())
    meta["space"]["x"] = {"type": "a type of a later evotune", "when": {}}
    (run / META).write_text(json.dumps(meta))
    (run / JOURNAL).write_bytes((multi_run / JOURNAL).read_bytes())
    storage = tmp_path / "optuna.log"
    assert export(run, storage) == 0
    evaluations, _ = journal_of(run)
    trials = by_key(study_of(storage, "odd"))
    for ev in evaluations:
        trial = trials[ev["key"]]
        assert trial.params == {"n": ev["params"]["n"]}
        assert set(trial.distributions) == {"n"}
        assert trial.user_attrs["param.x"] == ev["params"]["x"]


def test_exporting_twice_adds_nothing(single_run, tmp_path, capsys):
    storage = tmp_path / "optuna.log"
    assert export(single_run, storage) == 0
    first = storage.read_bytes()
    n = len(study_of(storage, "curves").trials)
    capsys.readouterr()
    assert export(single_run, storage) == 0
    assert f"exported 0 evaluations to study 'curves' ({n} trials, {n} there before)" in (
        capsys.readouterr().out
    )
    assert storage.read_bytes() == first  # not one record more
    assert len(study_of(storage, "curves").trials) == n


def test_a_torn_last_line_is_dropped_and_exported_later(single_run, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / META).write_bytes((single_run / META).read_bytes())
    lines = (single_run / JOURNAL).read_bytes().splitlines(keepends=True)
    last_eval = max(i for i, line in enumerate(lines) if b'"type":"evaluation"' in line)
    (run / JOURNAL).write_bytes(b"".join(lines[:last_eval]) + lines[last_eval][:40])
    storage = tmp_path / "optuna.log"
    assert export(run, storage) == 0
    assert "was cut short" in capsys.readouterr().err  # a warning, as the report gives
    n_all = len(journal_of(single_run)[0])
    assert len(study_of(storage, "run").trials) == n_all - 1
    (run / JOURNAL).write_bytes(b"".join(lines))  # the writer finished the line
    assert export(run, storage) == 0
    assert len(study_of(storage, "run").trials) == n_all


@pytest.mark.slow  # Optuna's SQLAlchemy schema takes seconds to create
def test_an_sqlite_url_works_too(multi_run, tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    assert export(multi_run, url) == 0
    assert export(multi_run, url) == 0
    study = optuna.load_study(study_name="goals", storage=url)
    assert len(study.trials) == len(journal_of(multi_run)[0])


# ---------------------------------------------------------------- errors
def test_bad_arguments_are_one_line_errors_that_write_nothing(single_run, tmp_path, capsys):
    storage = tmp_path / "optuna.log"
    not_run = tmp_path / "empty"
    not_run.mkdir()
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a journal\n")
    cases = [
        ((tmp_path / "missing", storage), "RUN_DIR: the run directory", "does not exist"),
        ((not_run, storage), "RUN_DIR:", "is not a run directory"),
        ((bogus, storage), "RUN_DIR:", "it is a file"),
        ((single_run, tmp_path / "nowhere" / "o.log"), "STORAGE:", "does not exist"),
        ((single_run, tmp_path), "STORAGE:", "is a directory"),
        ((single_run, bogus), "STORAGE:", "not an Optuna journal file"),
        ((single_run, f"sqlite:///{bogus}"), "STORAGE:", "not an SQLite database"),
        ((single_run, "postgresql://db/x"), "STORAGE:", "sqlite:/// URL"),
        ((single_run, storage, "--interval", "0"), "--interval", "positive"),
        ((single_run, storage, "--study-name", " "), "--study-name", "empty"),
    ]
    for argv, named, why in cases:
        assert export(*argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and named in err and why in err, (argv, err)
    assert not storage.exists()
    assert bogus.read_text() == "not a journal\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "notes.txt"]


def test_a_study_of_another_run_is_refused(single_run, multi_run, tmp_path, capsys):
    storage = tmp_path / "optuna.log"
    assert export(multi_run, storage, "--study-name", "mine") == 0
    before = storage.read_bytes()
    capsys.readouterr()
    assert export(single_run, storage, "--study-name", "mine") == 2
    err = capsys.readouterr().err
    assert "--study-name: the study 'mine'" in err and "another run" in err
    assert storage.read_bytes() == before


def test_without_optuna_the_error_says_what_to_install(single_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if not installed: import fails
    storage = tmp_path / "optuna.log"
    assert export(single_run, storage) == 2
    err = capsys.readouterr().err
    assert err.startswith("evotune: error: evotune export-optuna needs optuna")
    assert 'pip install ".[optuna]"' in err and err.count("\n") == 1
    assert not storage.exists()


# ------------------------------------------------ live processes (slow)
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def failure(proc: subprocess.Popen, what: str) -> str:
    """``what``, with the process's stderr (read once it is stopped)."""
    stop_process(proc)
    return f"{what}: {proc.stderr.read() if proc.stderr else ''}"


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def dashboard_on(storage: Path) -> Iterator[str]:
    """A real optuna-dashboard on ``storage``, at the URL it yields (127.0.0.1)."""
    port = free_port()
    binary = Path(sys.executable).parent / "optuna-dashboard"
    proc = subprocess.Popen(
        [str(binary), str(storage), "--host", "127.0.0.1", "--port", str(port), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # starts in ~2 s here; a loaded machine is slower
        while True:
            try:
                get_json(f"{base}/api/meta")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(failure(proc, "optuna-dashboard did not start"))
                time.sleep(0.2)
        yield base
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def dashboard(single_run, multi_run, tmp_path_factory):
    """A real optuna-dashboard on a journal file holding both runs."""
    storage = tmp_path_factory.mktemp("dashboard") / "optuna.log"
    assert export(single_run, storage) == 0
    assert export(multi_run, storage) == 0
    with dashboard_on(storage) as base:
        yield base


def dashboard_trials(base: str) -> int:
    """How many trials the dashboard at ``base`` serves for the study "run"."""
    studies = get_json(f"{base}/api/studies")["study_summaries"]
    ids = [s["study_id"] for s in studies if s["study_name"] == "run"]
    return len(get_json(f"{base}/api/studies/{ids[0]}")["trials"]) if ids else 0


@pytest.mark.slow
def test_the_dashboard_shows_every_evaluation(dashboard, single_run, multi_run):
    studies = {s["study_name"]: s for s in get_json(f"{dashboard}/api/studies")["study_summaries"]}
    assert set(studies) == {"curves", "goals"}
    for name, run in (("curves", single_run), ("goals", multi_run)):
        evaluations, folds = journal_of(run)
        detail = get_json(f"{dashboard}/api/studies/{studies[name]['study_id']}")
        keys = []
        for trial in detail["trials"]:
            attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
            key = attrs["evotune_key"]
            keys.append(key)
            assert trial["state"] == STATES[attrs["status"]].name.capitalize()
            # the timeline page's bars: from the first fold's start to the last one's end
            started = min(f["started"] for f in folds[key])
            finished = max(f["finished"] for f in folds[key])
            assert trial["datetime_start"] == datetime.fromtimestamp(started).isoformat()
            assert trial["datetime_complete"] == datetime.fromtimestamp(finished).isoformat()
            steps = {s for f in folds[key] for s, _ in f["reports"]}
            assert sorted(v["step"] for v in trial["intermediate_values"]) == sorted(steps)
        assert sorted(keys) == sorted(ev["key"] for ev in evaluations)
        if name == "curves":
            assert detail["directions"] == ["maximize"]
            assert detail["has_intermediate_values"] is True
            params = {p["name"] for p in detail["union_search_space"]}
            assert params == {"lr", "n", "kind", "depth", "mask.n_kept", "scale", "count"}
            importances = get_json(
                f"{dashboard}/api/studies/{studies[name]['study_id']}/param_importances"
            )
            assert importances["param_importances"]
        else:
            assert detail["directions"] == ["maximize", "minimize"]
            assert detail["objective_names"] == ["score", "size"]
            assert detail["best_trials"]  # the Pareto front page has its points


def start_follower(
    run: Path, storage: Path, interval: float, processes: list[subprocess.Popen]
) -> subprocess.Popen:
    """``evotune export-optuna RUN STORAGE --follow`` in a subprocess, stopped
    by the ``processes`` fixture."""
    command = [sys.executable, "-m", "evotune", "export-optuna", str(run), str(storage)]
    follower = subprocess.Popen(
        [*command, "--follow", "--interval", str(interval)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    processes.append(follower)
    return follower


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        stop_process(proc)


def count_trials(storage: Path) -> int:
    if not storage.exists():
        return 0
    st = JournalStorage(JournalFileBackend(str(storage)))
    if "run" not in optuna.study.get_all_study_names(st):
        return 0
    return len(optuna.load_study(study_name="run", storage=st).trials)


@pytest.mark.slow
def test_follow_appends_while_the_run_goes_and_ends_with_it(tmp_path, processes):
    run, storage = tmp_path / "run", tmp_path / "optuna.log"
    script = write_script(tmp_path)
    env = {**os.environ, "SLOW": "0.25", "PYTHONPATH": str(TESTS)}
    evolution = subprocess.Popen(
        [sys.executable, str(script), str(run), "1", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    processes.append(evolution)
    deadline = time.monotonic() + 120
    while not (run / META).exists():
        if evolution.poll() is not None or time.monotonic() > deadline:
            pytest.fail(failure(evolution, "the run did not start"))
        time.sleep(0.05)
    follower = start_follower(run, storage, 0.3, processes)
    seen_while_running, shown_while_running = [], []
    while not storage.exists() and evolution.poll() is None:  # the first batch
        time.sleep(0.05)
    with dashboard_on(storage) as base:
        while evolution.poll() is None:
            seen_while_running.append(count_trials(storage))
            shown_while_running.append(dashboard_trials(base))
            time.sleep(0.3)
            assert time.monotonic() < deadline + 300, "the run took far longer than measured"
        assert evolution.returncode == 0, evolution.stderr.read()
        out, err = follower.communicate(timeout=120)  # ends by itself once the run stopped
        assert follower.returncode == 0, err
        final = count_trials(storage)
        # the dashboard reads the journal anew on a later request: it catches up
        caught_up = time.monotonic() + 60
        while (shown_at_end := dashboard_trials(base)) < final and time.monotonic() < caught_up:
            time.sleep(0.5)
    evaluations, _ = journal_of(run)
    assert final == len(evaluations) >= 30
    assert {k for k in by_key(study_of(storage, "run"))} == {ev["key"] for ev in evaluations}
    # the storage gained trials while the run was going, not only at its end
    growing = sorted({n for n in seen_while_running if 0 < n < final})
    assert len(growing) >= 2, seen_while_running
    # and the live dashboard showed them as they came
    shown = sorted({n for n in shown_while_running if 0 < n < final})
    assert len(shown) >= 2, shown_while_running
    assert shown_at_end == final
    lines = out.strip().splitlines()
    assert lines[0].startswith("following ") and lines[-1].startswith("the run has finished")
    assert sum(1 for line in lines if line.startswith("+")) >= 3, out


@pytest.mark.slow
def test_follow_stops_cleanly_on_ctrl_c(single_run, tmp_path, processes):
    # a run that never finishes: its journal without the stop record
    run, storage = tmp_path / "run", tmp_path / "optuna.log"
    run.mkdir()
    (run / META).write_bytes((single_run / META).read_bytes())
    lines = (single_run / JOURNAL).read_bytes().splitlines(keepends=True)
    (run / JOURNAL).write_bytes(b"".join(line for line in lines if b'"type":"stop"' not in line))
    follower = start_follower(run, storage, 0.2, processes)
    deadline = time.monotonic() + 120
    while count_trials(storage) < len(journal_of(single_run)[0]):
        if follower.poll() is not None or time.monotonic() > deadline:
            pytest.fail(failure(follower, "export-optuna --follow did not export the run"))
        time.sleep(0.2)
    time.sleep(1.0)
    assert follower.poll() is None  # still following: the run has not stopped
    follower.send_signal(signal.SIGINT)
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 130, err
    assert out.strip().splitlines()[-1].startswith("stopped by SIGINT: ")
    assert count_trials(storage) == len(journal_of(single_run)[0])
