"""MLflowCallback against a real local MLflow file store (no mocks)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pandas as pd
import pytest
from mlflow import MlflowClient
from scipy.stats import randint
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

from evotune import Categorical, EvolutionarySearchCV, Float, Integer, evolve
from evotune.mlflow import INSTALL_HINT, MLflowCallback

PARENT = "mlflow.parentRunId"
PNGS = {"progress.png", "parameters.png", "timeline.png"}


@pytest.fixture
def store(tmp_path, monkeypatch):
    # MLflow 3 serves a file store only to those who opt in
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    return (tmp_path / "mlruns").as_uri()


def _peak(p):
    return -((p["x"] - 1.0) ** 2) - abs(p["n"] - 3)


def _small_run(*callbacks, generations=2, **kwargs):
    """A small run of `_peak` (4 genomes a generation) with `callbacks`."""
    space = {"x": Float(-3, 3), "n": Integer(0, 6)}
    settings = {"population_size": 4, "generations": generations, "random_state": 0}
    return evolve(_peak, space, **settings, callbacks=list(callbacks), **kwargs)


def _children(client, callback):
    runs = client.search_runs(
        [callback.experiment_id], f"tags.`{PARENT}` = '{callback.run_id}'", max_results=1000
    )
    return {int(r.data.tags["evotune.candidate_id"]): r for r in runs}


@pytest.mark.parametrize("explicit", [True, False], ids=["run_dir", "from-checkpoint"])
def test_evolve_logs_parent_children_logbook_and_artifacts(store, tmp_path, explicit):
    run_dir = tmp_path / "run"
    tracker = MLflowCallback(
        store,
        experiment_name="peak",
        run_name="first",
        tags={"team": "tuning"},
        run_dir=run_dir if explicit else None,  # else evolve's checkpoint tells it
    )
    space = {"x": Float(-3, 3), "n": Integer(0, 6)}
    res = evolve(
        _peak,
        space,
        population_size=5,
        generations=3,
        strategy="ga",
        random_state=0,
        callbacks=[tracker],
        checkpoint=run_dir,
    )
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("peak")
    assert experiment is not None and experiment.experiment_id == tracker.experiment_id

    parent = client.get_run(tracker.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.info.run_name == "first"
    assert parent.data.tags["team"] == "tuning"
    assert parent.data.tags["evotune.stop_reason"] == "generations"
    assert parent.data.tags["evotune.direction"] == "maximize"
    params = parent.data.params
    assert params["population_size"] == "5" and params["strategy"] == "ga"
    assert params["random_state"] == "0" and params["generations"] == "3"  # from meta.json
    assert params["space.x"] == "Float(-3.0, 3.0)" and params["space.n"] == "Integer(0, 6)"
    assert {k: params[f"best.{k}"] for k in space} == {
        k: str(v) for k, v in res.best_params.items()
    }
    assert parent.data.metrics["best_score"] == pytest.approx(res.best_score)

    # one child run per evaluation, with its parameters, scores, times and tags
    children = _children(client, tracker)
    assert len(children) == res.n_evaluations == len(tracker.child_run_ids)
    for ev in res.evaluations:
        child = children[ev.candidate_id]
        assert child.info.status == "FINISHED"
        assert child.info.run_name == f"candidate-{ev.candidate_id}"
        assert child.data.params == {k: str(v) for k, v in ev.params.items()}
        metrics = child.data.metrics
        assert metrics["mean_score"] == pytest.approx(ev.mean_score)
        assert metrics["split0_score"] == pytest.approx(ev.fold_scores[0])
        assert metrics["std_score"] == pytest.approx(ev.std_score)
        assert metrics["fit_time"] == pytest.approx(ev.fit_time)
        assert "score_time" in metrics
        tags = child.data.tags
        assert tags["evotune.generation"] == str(ev.generation)
        assert tags["evotune.origin"] == ev.origin
        assert tags["evotune.status"] == "ok"
        assert "evotune.error" not in tags
    best_id = int(res.hall_of_fame["id"].iloc[0])
    assert parent.data.tags["evotune.best_candidate_id"] == str(best_id)
    assert children[best_id].data.tags.get("evotune.best") == "true"
    assert sum("evotune.best" in c.data.tags for c in children.values()) == 1

    # the logbook: one step per generation
    for name in ("best", "mean", "evaluations", "failed", "n_evaluations"):
        history = client.get_metric_history(tracker.run_id, name)
        assert sorted(m.step for m in history) == list(range(len(res.logbook))), name
    best = sorted(client.get_metric_history(tracker.run_id, "best"), key=lambda m: m.step)
    assert [m.value for m in best] == pytest.approx(list(res.logbook["best"]))
    counts = client.get_metric_history(tracker.run_id, "n_evaluations")
    assert max(m.value for m in counts) == res.n_evaluations

    # artifacts: the tables, the space and the report PNGs
    top = {a.path for a in client.list_artifacts(tracker.run_id)}
    assert {"history.csv", "hall_of_fame.csv", "space.json", "report"} <= top
    pngs = client.list_artifacts(tracker.run_id, "report")
    assert {a.path.split("/")[-1] for a in pngs} == PNGS
    assert all(a.file_size > 1000 for a in pngs)
    local = client.download_artifacts(tracker.run_id, "report/progress.png", str(tmp_path))
    with open(local, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    csv = client.download_artifacts(tracker.run_id, "history.csv", str(tmp_path))
    assert len(pd.read_csv(csv)) == res.n_evaluations
    assert not (run_dir / "report").exists()  # the run directory is left as it was


def test_search_cv_logs_every_candidate_and_its_folds(store):
    X, y = load_iris(return_X_y=True)
    tracker = MLflowCallback(store, experiment_name="iris", log_artifacts=False)
    search = EvolutionarySearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [1, 2, 3, None], "min_samples_split": randint(2, 10)},
        cv=3,
        population_size=4,
        generations=2,
        n_jobs=2,  # scored in worker processes, logged in this one
        random_state=0,
        callbacks=[tracker],
    )
    search.fit(X, y)
    client = MlflowClient(store)
    parent = client.get_run(tracker.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["best_score"] == pytest.approx(search.best_score_)
    assert client.list_artifacts(tracker.run_id) == []  # log_artifacts=False
    children = _children(client, tracker)
    results = search.cv_results_
    assert len(children) == len(results["params"])
    by_params = {
        tuple(sorted((k, str(v)) for k, v in run.data.params.items())): run
        for run in children.values()
    }
    for i, params in enumerate(results["params"]):
        run = by_params[tuple(sorted((k, str(v)) for k, v in params.items()))]
        for k in range(3):
            assert run.data.metrics[f"split{k}_score"] == pytest.approx(
                results[f"split{k}_test_score"][i]
            )
        assert run.data.metrics["mean_score"] == pytest.approx(results["mean_test_score"][i])
    steps = client.get_metric_history(tracker.run_id, "best")
    assert sorted(m.step for m in steps) == [0, 1]


def _picky(p):
    if p["kind"] == "bad":
        raise ValueError("no good: " + "e" * 9000)
    return p["x"]


def test_a_failing_candidate_is_a_failed_run_and_long_values_are_cut(store):
    long = "v" * 7000
    tracker = MLflowCallback(store, experiment_name="picky", nested=False, log_artifacts=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # evolve's "N evaluations failed"
        res = evolve(
            _picky,
            {"x": Float(0, 1), "kind": Categorical(["good", "bad", long])},
            population_size=6,
            generations=2,
            random_state=0,
            callbacks=[tracker],
        )
    failed = [e for e in res.evaluations if e.status == "failed"]
    kept_long = [e for e in res.evaluations if e.params["kind"] == long]
    assert failed and kept_long and len(failed) < res.n_evaluations
    client = MlflowClient(store)
    assert client.get_run(tracker.run_id).info.status == "FINISHED"
    # nested=False: top-level runs linked by a tag, not MLflow's parent tag
    runs = client.search_runs(
        [tracker.experiment_id], f"tags.`evotune.parent_run_id` = '{tracker.run_id}'"
    )
    by_id = {int(r.data.tags["evotune.candidate_id"]): r for r in runs}
    assert len(by_id) == res.n_evaluations
    assert all(PARENT not in r.data.tags for r in runs)
    for ev in failed:
        run = by_id[ev.candidate_id]
        assert run.info.status == "FAILED"
        assert run.data.tags["evotune.status"] == "failed"
        error = run.data.tags["evotune.error"]
        assert error.startswith("ValueError: no good: eee")
        assert error.endswith(f"[truncated by evotune: {len(ev.error)} characters]")
        assert len(error) <= 8000
        # NaN scores are left out; the times are there
        assert "mean_score" not in run.data.metrics and "split0_score" not in run.data.metrics
        assert "fit_time" in run.data.metrics
    for ev in kept_long:
        value = by_id[ev.candidate_id].data.params["kind"]
        assert len(value) <= 6000 and value.startswith("vvvv")
        assert value.endswith("[truncated by evotune: 7000 characters]")


class _StopHard:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.seen = 0

    def on_evaluation(self, evaluation):
        self.seen += 1

    def on_generation_end(self, state):
        if state.generation == 1:
            raise self.exc


@pytest.mark.parametrize(
    ("exc", "status", "reason"),
    [
        (KeyboardInterrupt(), "KILLED", "interrupted"),
        (RuntimeError("disk full"), "FAILED", "error"),
    ],
)
def test_an_interrupted_or_failed_run_ends_its_parent_run(store, exc, status, reason):
    tracker, stopper = MLflowCallback(store, experiment_name="cut"), _StopHard(exc)
    with pytest.raises(type(exc)):
        _small_run(tracker, stopper, generations=5)
    client = MlflowClient(store)
    parent = client.get_run(tracker.run_id)
    assert parent.info.status == status
    assert parent.data.tags["evotune.stop_reason"] == reason
    if reason == "error":
        assert parent.data.tags["evotune.error"] == "RuntimeError: disk full"
    assert "best_score" not in parent.data.metrics
    assert len(_children(client, tracker)) == stopper.seen > 4  # the two generations that ran
    assert sorted(m.step for m in client.get_metric_history(tracker.run_id, "best")) == [0, 1]


def test_a_deleted_experiment_is_refused_before_any_work(store):
    client = MlflowClient(store)
    client.delete_experiment(client.create_experiment("gone"))
    calls = []
    with pytest.raises(ValueError, match=r"'experiment_name' 'gone' names a deleted experiment"):
        evolve(
            lambda p: calls.append(p) or 0.0,
            {"x": Float(0, 1)},
            population_size=4,
            generations=2,
            callbacks=[MLflowCallback(store, experiment_name="gone")],
        )
    assert calls == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tracking_uri": 5}, r"'tracking_uri' must be a URI string, a path or None, got 5"),
        ({"tracking_uri": " "}, r"'tracking_uri' must not be empty"),
        ({"experiment_name": ""}, r"'experiment_name' must be a non-empty string, got ''"),
        ({"run_name": 3}, r"'run_name' must be a string or None, got 3"),
        ({"nested": "yes"}, r"'nested' must be True or False, got 'yes'"),
        ({"log_artifacts": 1}, r"'log_artifacts' must be True or False, got 1"),
        ({"tags": {1: "a"}}, r"'tags' must be a dict with non-empty string keys"),
        ({"run_dir": 1.5}, r"'run_dir' must be a path or None, got 1.5"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        MLflowCallback(**kwargs)


def test_a_missing_mlflow_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what `import mlflow` sees uninstalled
    with pytest.raises(ImportError, match=r'pip install "\.\[mlflow\]" from evotune') as info:
        MLflowCallback()
    assert INSTALL_HINT in str(info.value)


def test_importing_evotune_does_not_import_mlflow():
    code = (
        "import sys, evotune, evotune.mlflow\n"
        "assert evotune.MLflowCallback is evotune.mlflow.MLflowCallback\n"
        "print('mlflow' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"


def test_repr_and_copy_keep_the_settings(store):
    import copy

    tracker = MLflowCallback(store, experiment_name="e", nested=False)
    assert repr(tracker).startswith(f"MLflowCallback(tracking_uri={store!r}, experiment_name='e'")
    twin = copy.deepcopy(tracker)
    assert (twin.tracking_uri, twin.nested, twin.run_id) == (store, False, None)


class _BreakStore:
    """Makes the experiment unreadable right after the parent run started."""

    def __init__(self, root, tracker):
        self.root, self.tracker = root, tracker

    def on_run_start(self, evolution):
        import shutil

        where = self.root / self.tracker.experiment_id
        shutil.rmtree(where)
        where.write_text("not a directory")


def test_a_store_that_fails_mid_run_is_one_warning_not_a_lost_run(store, tmp_path):
    tracker = MLflowCallback(store, experiment_name="flaky", log_artifacts=False)
    with pytest.warns(RuntimeWarning, match=r"could not log .* the run goes on") as caught:
        res = _small_run(tracker, _BreakStore(tmp_path / "mlruns", tracker))
    assert res.n_evaluations > 4
    assert sum(issubclass(w.category, RuntimeWarning) for w in caught) == 1
    assert tracker.child_run_ids == {}


# ---- issue 15, item 16: a tracking server that is not there ---------------------


@pytest.fixture
def closed_port():
    """A local TCP port that refuses connections: bound, never listening."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def silent_port():
    """A local TCP port that accepts connections and never answers."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_no_server_is_one_line_naming_the_uri_at_once_and_no_run_directory(tmp_path, closed_port):
    import time

    uri = f"http://127.0.0.1:{closed_port}"
    start = time.monotonic()
    with pytest.raises(ConnectionError) as info:
        _small_run(MLflowCallback(uri), checkpoint=tmp_path / "run")
    # MLflow's own client retried such a server for about 4 minutes
    assert time.monotonic() - start < 60
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert repr(uri) in message and "connect_timeout" in message
    assert not (tmp_path / "run").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_server_gone_before_the_run_starts_fails_fast(store, tmp_path, closed_port):
    import time

    tracker = MLflowCallback(store)  # made while the store was there ...
    tracker.tracking_uri = f"http://127.0.0.1:{closed_port}"  # ... pointed at none since
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=str(closed_port)):
        _small_run(tracker)
    assert time.monotonic() - start < 60
    assert tracker.run_id is None


def test_the_wait_for_a_silent_server_is_connect_timeout(silent_port):
    import time

    start = time.monotonic()
    with pytest.raises(ConnectionError, match="waited at most 1 s"):
        MLflowCallback(f"http://127.0.0.1:{silent_port}", connect_timeout=1)
    assert 0.9 <= time.monotonic() - start < 30


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), (-1.0, ValueError), ("5", TypeError), (True, TypeError)]
)
def test_connect_timeout_is_checked(value, error):
    with pytest.raises(error, match="'connect_timeout' must be a positive number"):
        MLflowCallback("http://127.0.0.1:9", connect_timeout=value)


def test_no_check_with_connect_timeout_none(closed_port):
    # the user's choice: MLflow's own behaviour, the server looked for at the run
    tracker = MLflowCallback(f"http://127.0.0.1:{closed_port}", connect_timeout=None)
    assert tracker.connect_timeout is None


def test_a_run_without_run_directory_logs_the_report_pngs_from_memory(store, tmp_path):
    tracker = MLflowCallback(store, experiment_name="memory")
    _small_run(tracker)
    client = MlflowClient(store)
    pngs = client.list_artifacts(tracker.run_id, "report")
    assert {a.path.split("/")[-1] for a in pngs} == PNGS
    assert all(a.file_size > 1000 for a in pngs)
    assert {p.name for p in tmp_path.iterdir()} == {"mlruns"}  # no PNG left behind


# ---- a real tracking server (`mlflow server`, from the dev extra) -----------------


class _Server:
    """`mlflow server` on a free local port, with its own SQLite store."""

    def __init__(self, root):
        import os
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.uri = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--workers", "1"]
        cmd += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"]
        cmd += ["--artifacts-destination", (root / "artifacts").as_uri()]
        self.log = open(root / "server.log", "w")  # closed in stop()
        # a session of its own: the server runs its workers as child processes,
        # and stop() kills them all
        # without MLflow's job runner: a dozen worker processes the tests never use
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.proc = subprocess.Popen(
            cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )

    def wait(self, limit=600):
        import time
        import urllib.request

        # about 20 s on a loaded 2-core machine; the limit is a generous multiple
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.log.name, self.proc.returncode)
            try:
                with urllib.request.urlopen(self.uri + "/health", timeout=5):
                    return self
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"mlflow server did not answer within {limit} s")

    def stop(self):
        import os
        import signal

        try:  # the whole group, even if its leader is gone already
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=60)
        self.log.close()


@pytest.fixture
def server(tmp_path):
    srv = _Server(tmp_path).wait()
    try:
        yield srv
    finally:
        srv.stop()


class _StopServer:
    """Kills the tracking server after the first generation, as a crash would."""

    def __init__(self, srv):
        self.srv = srv

    def on_generation_end(self, state):
        if state.generation == 0:
            self.srv.stop()


@pytest.mark.slow  # a real server process
def test_a_tracking_server_prints_no_link_per_evaluation(server, capsys):
    # before: MLflow's client printed "View run candidate-N at: ..." and
    # "View experiment at: ..." for each evaluation: hundreds of lines
    tracker = MLflowCallback(server.uri, experiment_name="links", log_artifacts=False)
    res = _small_run(tracker)
    out = capsys.readouterr().out
    assert len(tracker.child_run_ids) == res.n_evaluations > 4
    assert "View run candidate-" not in out
    assert out.count("View run") <= 1  # the parent run's link, once


@pytest.mark.slow  # a real server process, killed mid-run
def test_a_tracking_server_lost_mid_run_is_one_warning_and_no_wait(server):
    # before: each logging call after the server died was retried by MLflow
    # for minutes, so the run crawled on for a quarter of an hour or more
    import time

    tracker = MLflowCallback(server.uri, experiment_name="lost", log_artifacts=False)
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = _small_run(tracker, _StopServer(server), generations=3)
    lost = [w for w in caught if "stopped answering" in str(w.message)]
    assert len(lost) == 1 and server.uri in str(lost[0].message)
    assert res.n_evaluations == 12  # every evaluation kept
    assert 0 < len(tracker.child_run_ids) < 12  # those logged before the loss
    assert time.monotonic() - started < 300  # about 1 s of work and a refused probe
