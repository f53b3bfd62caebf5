"""The Dask backend on a real LocalCluster bound to 127.0.0.1 (no mocks).

One cluster, started by a module fixture and shut down at its end, serves the
tests of an existing cluster (faults included: its nannies restart the workers
a test kills); ``backend="dask"`` runs start and close their own. Every test
checks that no process it caused outlives it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from _runs import SPACE, mixed, pid_alive

from evotune import DaskBackend, EvolutionarySearchCV, FunctionObjective, evolve
from evotune.backends import get_backend
from evotune.backends.dask import SchedulerLostError
from evotune.experiment import ExperimentError, load_experiment

# Dask: every test starts a local cluster or a scheduler process (deselect with -m "not slow")
pytestmark = pytest.mark.slow

KEEP = ["id", "param_x", "param_lr", "param_n", "param_kind", "mean_score", "status"]
SETTINGS = {"population_size": 8, "generations": 4, "random_state": 0}
# seconds a hung task would sleep if it were not given up (its worker is killed)
HANG = 600


# ------------------------------------------------------------------ helpers
def _descendants() -> set[int]:
    """Processes below this one, but for multiprocessing's resource tracker
    (started with the first spawned process, it lives as long as this one)."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(p.cmdline()):
                out.add(p.pid)
        except psutil.Error:
            pass
    return out


def _all_dead(pids, within: float = 15.0) -> list[int]:
    """The pids still alive after waiting up to ``within`` seconds."""
    end = time.monotonic() + within
    alive = [p for p in pids if pid_alive(p)]
    while alive and time.monotonic() < end:
        time.sleep(0.1)
        alive = [p for p in alive if pid_alive(p)]
    return alive


def _listening() -> list:
    return [c for c in psutil.Process().net_connections("inet") if c.status == "LISTEN"]


class Watch:
    """A callback that records every process below this one while a run goes."""

    def __init__(self):
        self.before = _descendants()
        self.seen: set[int] = set()

    def on_evaluation(self, evaluation):
        self.seen |= _descendants() - self.before

    def assert_gone(self):
        assert self.seen, "the run started no process"
        assert _all_dead(self.seen) == []


def _frame(result):
    return result.history[KEEP].reset_index(drop=True)


class Faulty:
    """``mixed``, except at one ``x``: there it exits its process, hangs or raises."""

    def __init__(self, x: float, how: str):
        self.x, self.how = x, how

    def __call__(self, p):
        if p["x"] == self.x:
            if self.how == "exit":
                os._exit(3)
            if self.how == "hang":
                time.sleep(HANG)
            raise RuntimeError("this candidate is bad")
        return mixed(p)


LOADS: list[int] = []


class CountedObjective:
    """``mixed``; every unpickling is counted in the process that does it."""

    def __init__(self):
        self.name = "counted"  # a state, so that unpickling calls __setstate__

    def __setstate__(self, state):
        self.__dict__.update(state)
        LOADS.append(os.getpid())

    def __call__(self, p):
        return mixed(p)


def _loads_here() -> int:
    return len(LOADS)


def _objectives_here() -> int:
    from evotune.backends import _dask_worker as module

    return len(module._OBJECTIVES)


@contextlib.contextmanager
def _cluster_and_client():
    """A local cluster of two one-thread worker processes, and its client;
    on leaving, every process it started is gone and nothing listens."""
    import dask
    from distributed import Client, LocalCluster

    before, listening = _descendants(), {c.laddr for c in _listening()}
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        local = LocalCluster(
            host="127.0.0.1",
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    client = Client(local, set_as_default=False)
    try:
        yield client
    finally:
        started = _descendants() - before
        client.close()
        local.close()
        assert started and _all_dead(started) == []
        assert [c for c in _listening() if c.laddr not in listening] == []


@pytest.fixture(scope="module")
def cluster():
    with _cluster_and_client() as client:
        yield client


@pytest.fixture
def client(cluster):
    cluster.wait_for_workers(2, timeout=30)  # a test before may have killed workers
    return cluster


@pytest.fixture
def own_client():
    """A cluster of the test's own, for a test that kills its workers (so that
    no test inherits workers being restarted, or tasks still running)."""
    with _cluster_and_client() as client:
        client.wait_for_workers(2, timeout=60)
        yield client


@pytest.fixture(scope="module")
def serial():
    return evolve(mixed, SPACE, **SETTINGS)


# ---------------------------------------------------------- same history
def test_serial_process_and_dask_give_the_same_history(serial):
    watch = Watch()
    pool = evolve(mixed, SPACE, n_jobs=2, callbacks=[watch], **SETTINGS)
    watch.assert_gone()
    watch = Watch()
    on_dask = evolve(mixed, SPACE, n_jobs=2, backend="dask", callbacks=[watch], **SETTINGS)
    pd.testing.assert_frame_equal(_frame(pool), _frame(serial))
    pd.testing.assert_frame_equal(_frame(on_dask), _frame(serial))
    assert on_dask.best_params == serial.best_params
    assert (on_dask.history["status"] == "ok").all()
    # the helper process, its scheduler and both workers are gone; nothing listens
    assert len(watch.seen) >= 3
    watch.assert_gone()
    assert _listening() == []


def test_an_existing_cluster_gets_the_objective_once_and_keeps_running(client, serial):
    before = client.run(_loads_here)
    backend = DaskBackend(client)
    result = evolve(CountedObjective(), SPACE, backend=backend, **SETTINGS)
    assert backend.n_workers == 2
    assert result.history["mean_score"].tolist() == serial.history["mean_score"].tolist()
    after = client.run(_loads_here)
    # 29 tasks, one unpickling of the objective per worker
    assert {w: after[w] - before.get(w, 0) for w in after} == {w: 1 for w in after}
    # the objective left the workers; the client and cluster still run
    assert set(client.run(_objectives_here).values()) == {0}
    assert client.status == "running"
    assert client.submit(sum, [1, 2]).result() == 3


# ----------------------------------------------------------------- faults
def test_a_worker_killed_mid_run_makes_its_candidate_crashed(own_client):
    client = own_client
    reference = evolve(mixed, SPACE, **SETTINGS)
    bad_x = float(reference.history["param_x"][3])
    with pytest.warns(UserWarning, match="this candidate is bad"):
        raising = evolve(Faulty(bad_x, "raise"), SPACE, **SETTINGS)
    with pytest.warns(UserWarning, match="crashed"):
        result = evolve(Faulty(bad_x, "exit"), SPACE, backend=DaskBackend(client), **SETTINGS)
    history = result.history
    bad = history["param_x"] == bad_x
    assert bad.sum() == 1
    assert history.loc[bad, "status"].tolist() == ["crashed"]
    error = history.loc[bad, "error"].iloc[0]
    assert "the Dask worker process died" in error and "2 time(s)" in error
    assert (history.loc[~bad, "status"] == "ok").all()
    # the crashed candidate ranks last, as a failed one does: the same run
    cols = [c for c in KEEP if c != "status"]
    pd.testing.assert_frame_equal(history[cols], raising.history[cols])
    assert result.best_params == raising.best_params


def test_a_hung_candidate_times_out_and_the_run_goes_on(own_client):
    client = own_client
    reference = evolve(mixed, SPACE, **SETTINGS)
    bad_x = float(reference.history["param_x"][2])
    with pytest.warns(UserWarning, match="this candidate is bad"):
        raising = evolve(Faulty(bad_x, "raise"), SPACE, **SETTINGS)
    start = time.monotonic()
    with pytest.warns(UserWarning, match="timeout"):
        # evolve's timeout reaches a backend instance that has none of its own;
        # 5 s: a sound task takes milliseconds, over a second under load
        result = evolve(
            Faulty(bad_x, "hang"), SPACE, backend=DaskBackend(client), timeout=5.0, **SETTINGS
        )
    assert time.monotonic() - start < HANG / 2  # measured: 6-37 s, by the load
    history = result.history
    bad = history["param_x"] == bad_x
    assert history.loc[bad, "status"].tolist() == ["timeout"]
    assert "ran longer than 5.0 s" in history.loc[bad, "error"].iloc[0]
    assert (history.loc[~bad, "status"] == "ok").all()
    cols = [c for c in KEEP if c != "status"]
    pd.testing.assert_frame_equal(history[cols], raising.history[cols])
    # the hung task's worker was killed and replaced: both workers are free
    client.wait_for_workers(2, timeout=30)
    assert client.processing() and not any(client.processing().values())


class HangingFolds:
    """Three tasks (folds) per candidate; every fold of one candidate hangs."""

    n_tasks = 3

    def __init__(self, x: float):
        self.x = x

    def run(self, params, task, seed):
        from evotune.records import FoldResult

        if params["x"] == self.x:
            time.sleep(HANG)
        return FoldResult(score=mixed(params) + task)


def test_a_hung_candidate_of_several_folds_is_given_up_whole(own_client):
    client = own_client
    kw = dict(population_size=6, generations=2, strategy="ga", random_state=0)
    reference = evolve(mixed, SPACE, **kw)
    bad_x = float(reference.history["param_x"][0])  # its folds are dispatched first
    start = time.monotonic()
    with pytest.warns(UserWarning, match="timeout"):
        result = evolve(
            HangingFolds(bad_x),
            SPACE,
            **kw,
            backend=DaskBackend(client, timeout=5.0),
        )
    assert time.monotonic() - start < HANG / 2  # measured: 6-37 s, by the load
    history = result.history
    bad = history["param_x"] == bad_x
    assert history.loc[bad, "status"].tolist() == ["timeout"]
    assert (history.loc[~bad, "status"] == "ok").all() and len(history) == 11
    # the other hung folds were given up too: their workers were killed and replaced
    client.wait_for_workers(2, timeout=30)
    assert not any(client.processing().values())


def _raise_at_123(p):
    if p["x"] == 123.0:
        raise RuntimeError("this candidate is bad")
    return p["x"]


def test_an_exception_is_a_failed_row_or_propagates(client):
    with pytest.warns(UserWarning, match="this candidate is bad"):
        result = evolve(
            _raise_at_123,
            {"x": [123.0, 1.0, 2.0]},
            population_size=3,
            generations=1,
            random_state=0,
            backend=DaskBackend(client),
        )
    row = result.history[result.history["param_x"] == 123.0]
    assert row["status"].tolist() == ["failed"]
    assert "RuntimeError: this candidate is bad" in row["error"].iloc[0]

    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from evotune import CrossValScore

    X, y = load_iris(return_X_y=True)
    objective = CrossValScore(LogisticRegression(), X, y, cv=2, error_score="raise")
    with pytest.raises(ValueError, match="'C' parameter of LogisticRegression"):
        evolve(
            objective,
            {"C": [-1.0, -2.0]},
            population_size=2,
            generations=1,
            backend=DaskBackend(client),
        )


def test_a_lost_scheduler_is_a_clear_error():
    backend = DaskBackend(n_workers=1)

    class KillScheduler:
        n = 0

        def on_evaluation(self, evaluation):
            KillScheduler.n += 1
            if KillScheduler.n == 3:
                self.pids = {backend._link.helper.pid} | {
                    p.pid for p in psutil.Process(backend._link.helper.pid).children(recursive=True)
                }
                backend._link.helper.kill()  # the process of the local scheduler

    killer = KillScheduler()
    with pytest.raises(SchedulerLostError) as info:
        evolve(mixed, SPACE, backend=backend, callbacks=[killer], **SETTINGS)
    text = str(info.value)
    assert "lost the connection to the Dask scheduler at tcp://127.0.0.1:" in text
    assert "journal is intact" in text and "evotune resume" in text and "resume=True" in text
    assert _all_dead(killer.pids) == []


def _kill_own_worker(p):
    """An objective whose every call takes its worker's process down."""
    os.kill(os.getpid(), signal.SIGKILL)
    return p["x"]


def test_a_cluster_left_without_workers_is_a_clear_error_not_a_hang():
    from distributed import Client, LocalCluster

    from evotune.backends.dask import WorkersLostError

    # a scheduler and one worker without a nanny (`dask worker --no-nanny`):
    # once the worker dies nothing restarts it, and Dask keeps the task forever
    with (
        LocalCluster(
            host="127.0.0.1", n_workers=0, dashboard_address=None, silence_logs=logging.CRITICAL
        ) as local,
        Client(local, set_as_default=False) as client,
    ):
        tests = str(Path(__file__).resolve().parent)
        paths = [tests, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                local.scheduler_address,
                "--no-nanny",
                "--nthreads",
                "1",
                "--no-dashboard",
            ],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            client.wait_for_workers(1, timeout=120)
            start = time.monotonic()
            with pytest.raises(WorkersLostError) as info:
                evolve(
                    _kill_own_worker,
                    SPACE,
                    backend=DaskBackend(client, startup_timeout=3),
                    **SETTINGS,
                )
            elapsed = time.monotonic() - start
            assert worker.wait(timeout=60) == -signal.SIGKILL  # the task killed it
        finally:
            worker.kill()
            worker.wait()
    text = str(info.value)
    assert "has had no worker for" in text and "startup_timeout=3" in text
    assert "journal is intact" in text and "evotune resume" in text
    assert isinstance(info.value, SchedulerLostError)  # what callers already catch
    # it waited the grace and gave up, not forever (measured: about 5 s)
    assert 3 <= elapsed < 120


# ----------------------------------------------------------------- resume
SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from _runs import SPACE, mixed
    from evotune import evolve

    KILL_AT = int(os.environ.get("KILL_AT", "-1"))  # SIGKILL after this many evaluations
    PIDS = os.environ["PIDS"]

    def objective(p):
        Path(PIDS, str(os.getpid())).touch()
        Path(PIDS, str(os.getppid())).touch()
        # the named semaphores the helper (this worker's parent) holds
        with open(f"/proc/{{os.getppid()}}/maps") as fh:
            sems = {{line.split()[-1] for line in fh if "/dev/shm/sem." in line}}
        Path(PIDS, "sem").mkdir(exist_ok=True)
        for sem in sems:
            Path(PIDS, "sem", Path(sem).name).touch()
        return mixed(p)

    class Killer:
        n = 0

        def on_evaluation(self, evaluation):
            Killer.n += 1
            if Killer.n == KILL_AT:
                os.kill(os.getpid(), signal.SIGKILL)

    # no `if __name__ == "__main__":` guard: the Dask workers never run this file
    r = evolve(objective, SPACE, population_size=8, generations=5, random_state=0,
               n_jobs=2, backend="dask", checkpoint=sys.argv[1], resume=True,
               callbacks=[Killer()])
    print("done", len(r.history))
    """
)


def test_a_dask_run_killed_with_sigkill_resumes_on_the_process_pool(tmp_path):
    reference = evolve(mixed, SPACE, population_size=8, generations=5, random_state=0)
    script = tmp_path / "run_on_dask.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent)))
    pids = tmp_path / "pids"
    pids.mkdir()
    ck = tmp_path / "run"
    env = {**os.environ, "KILL_AT": "12", "PIDS": str(pids)}  # in the middle of generation 1
    first = subprocess.run(
        [sys.executable, str(script), str(ck)], env=env, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == -signal.SIGKILL, first.stderr
    # the local cluster (helper process and workers) went with the killed driver
    seen = [int(p.name) for p in pids.iterdir() if p.name.isdigit()]
    assert len(seen) >= 2
    assert _all_dead(seen, within=60) == []
    # it closed its cluster itself: its nannies' semaphores are gone, with no
    # "leaked semaphore objects" warning from the resource tracker
    sems = [p.name for p in (pids / "sem").iterdir()]
    assert sems, "the helper held no named semaphore"
    assert [s for s in sems if Path("/dev/shm", s).exists()] == []
    assert "leaked semaphore" not in first.stderr, first.stderr
    objective = FunctionObjective(mixed)
    objective.fingerprint = lambda: {"objective": "__main__.objective"}  # type: ignore[method-assign]
    resumed = evolve(
        objective,
        SPACE,
        population_size=8,
        generations=5,
        random_state=0,
        n_jobs=2,
        checkpoint=ck,
        resume=True,
    )
    pd.testing.assert_frame_equal(_frame(resumed), _frame(reference))
    assert resumed.best_params == reference.best_params
    assert resumed.best_score == reference.best_score


# ---------------------------------------------------------------- faces
def test_evolutionary_search_cv_on_dask():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    kwargs = dict(cv=3, population_size=4, generations=2, random_state=0, n_jobs=1)
    space = {"C": [0.01, 0.1, 1.0, 10.0], "fit_intercept": [True, False]}
    here = EvolutionarySearchCV(LogisticRegression(max_iter=300), space, **kwargs).fit(X, y)
    there = EvolutionarySearchCV(
        LogisticRegression(max_iter=300), space, backend="dask", **kwargs
    ).fit(X, y)
    assert there.cv_results_["params"] == here.cv_results_["params"]
    assert list(there.cv_results_["mean_test_score"]) == list(here.cv_results_["mean_test_score"])
    assert there.best_params_ == here.best_params_
    assert (
        there.best_estimator_.predict(X[:5]).tolist()
        == here.best_estimator_.predict(X[:5]).tolist()
    )


EXPERIMENT = """
[estimator]
class = "sklearn.linear_model.LogisticRegression"
params = {{ max_iter = 200 }}
[data]
loader = "sklearn.datasets.load_iris"
[space]
C = {{ type = "float", low = 0.01, high = 10.0, log = true }}
[search]
population_size = 4
generations = 2
cv = 2
random_state = 0
{search}
"""


def _experiment(tmp_path, search: str) -> Path:
    path = tmp_path / "e.toml"
    path.write_text(EXPERIMENT.format(search=search))
    return path


def test_an_experiment_runs_on_an_existing_cluster(tmp_path, client):
    from evotune.cli import main

    address = client.scheduler.address
    search = f'backend = "dask"\nscheduler = "{address}"\ntimeout = 30\nstrategy = "ga"'
    path = _experiment(tmp_path, search)
    kwargs = load_experiment(path).evolve_kwargs()
    assert isinstance(kwargs["backend"], DaskBackend) and kwargs["backend"].timeout == 30
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert len(history) == 7 and (history["status"] == "ok").all()
    assert load_experiment(_experiment(tmp_path, 'backend = "dask"')).evolve_kwargs() == {
        "population_size": 4,
        "generations": 2,
        "random_state": 0,
        "backend": "dask",
    }


@pytest.mark.parametrize(
    ("search", "match"),
    [
        ('backend = "dask"\nscheduler = "localhost:8786"', r"^search\.scheduler: must be a Dask"),
        ('backend = "dask"\nscheduler = "tcp://host"', r"^search\.scheduler: .*'tcp://host'"),
        ('backend = "dask"\nscheduler = 8786', r"^search\.scheduler: must be str"),
        ('scheduler = "tcp://host:8786"', r'^search\.scheduler: needs backend = "dask"'),
        ('backend = "cluster"', r"^search\.backend: must be one of 'serial', 'process', 'dask'"),
        ('backend = "serial"\ntimeout = 5', r"^search\.timeout: cannot be enforced"),
        (
            'backend = "serial"\nmax_tasks_per_worker = 5',
            r'^search\.max_tasks_per_worker: is not supported with backend = "serial"',
        ),
        (
            'backend = "serial"\nworker_memory_limit = "2GB"',
            r'^search\.worker_memory_limit: is not supported with backend = "serial"',
        ),
        (
            'backend = "dask"\nmax_tasks_per_worker = 5',
            r'^search\.max_tasks_per_worker: is not supported with backend = "dask"',
        ),
        (
            'backend = "dask"\nscheduler = "tcp://10.0.0.5:8786"\nworker_memory_limit = "2GB"',
            r"^search\.worker_memory_limit: applies to a cluster evotune starts",
        ),
        ('worker_memory_limit = "2 parsecs"', r"'search\.worker_memory_limit' must be a number"),
    ],
)
def test_bad_backend_settings_name_the_key(tmp_path, search, match):
    with pytest.raises(ExperimentError, match=match):
        load_experiment(_experiment(tmp_path, search))


# ------------------------------------------------------------ arguments
def test_get_backend_and_arguments():
    backend = get_backend("dask", 2, timeout=3.0)
    assert isinstance(backend, DaskBackend) and backend.owns_cluster
    assert (backend.n_workers, backend.timeout) == (2, 3.0)
    with pytest.raises(ValueError, match="'serial', 'process', 'dask' or 'ray'"):
        get_backend("threads", 1)
    with pytest.raises(ValueError, match="client_or_address must be a Dask scheduler address"):
        DaskBackend("localhost:8786")
    with pytest.raises(TypeError, match="client_or_address must be None"):
        DaskBackend(8786)
    with pytest.raises(ValueError, match="n_workers is only for the local cluster"):
        DaskBackend("tcp://127.0.0.1:8786", n_workers=2)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        DaskBackend(timeout=0)
    with pytest.raises(ValueError, match="max_retries must be an integer >= 0"):
        DaskBackend(max_retries=-1)
    with pytest.raises(RuntimeError, match="before start"):
        DaskBackend().submit(None)
    backend = get_backend("dask", 2, worker_memory_limit="1GB")
    assert backend.memory_limit == 10**9 and backend.owns_cluster
    with pytest.raises(ValueError, match="'max_tasks_per_worker' is not supported by"):
        get_backend("dask", 2, max_tasks_per_worker=5)
    with pytest.raises(ValueError, match="'max_tasks_per_worker' is not supported by"):
        get_backend(DaskBackend(n_workers=1), max_tasks_per_worker=5)
    with pytest.raises(ValueError, match="memory_limit is only for the local cluster"):
        DaskBackend("tcp://127.0.0.1:8786", memory_limit="1GB")
    with pytest.raises(ValueError, match="'memory_limit' must be a number of bytes"):
        DaskBackend(memory_limit="plenty")
    mine = DaskBackend(n_workers=1)
    assert get_backend(mine, worker_memory_limit=10**9).memory_limit == 10**9
    assert mine.memory_limit is None


def test_no_scheduler_at_the_address_is_a_clear_error():
    backend = DaskBackend("tcp://127.0.0.1:1", startup_timeout=1)
    with pytest.raises(RuntimeError, match="cannot reach the Dask scheduler at tcp://127"):
        evolve(mixed, SPACE, backend=backend, **SETTINGS)


def test_a_port_that_is_no_scheduler_is_a_clear_error_within_the_timeout():
    # a port that accepts and never answers held distributed.Client forever
    from evotune.backends._dask_client import SchedulerUnreachableError

    with socket.create_server(("127.0.0.1", 0)) as server:
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        backend = DaskBackend(address, startup_timeout=1)
        with pytest.raises(SchedulerUnreachableError, match=rf"{address} \(no answer within 1 s"):
            evolve(mixed, SPACE, backend=backend, **SETTINGS)


def test_importing_evotune_does_not_import_dask():
    code = (
        "import sys, evotune, evotune.backends, evotune.engine, evotune.experiment; "
        "from evotune import evolve, EvolutionarySearchCV; "
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------ the local cluster's helper
def _helper_processes(backend) -> list[psutil.Process]:
    helper = psutil.Process(backend._link.helper.pid)
    return [helper, *helper.children(recursive=True)]


def _answers_http(port: int) -> bool:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.settimeout(3)
        sock.sendall(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            return sock.recv(5) == b"HTTP/"
        except OSError:
            return False


def test_the_local_cluster_serves_no_http():
    backend = DaskBackend(n_workers=2)
    backend.start(FunctionObjective(mixed))
    try:
        backend._link.client.wait_for_workers(2, timeout=60)
        ports = set()
        for proc in _helper_processes(backend):
            conns = proc.net_connections("inet")
            ports |= {c.laddr.port for c in conns if c.status == "LISTEN"}
        # the scheduler, two nannies, two workers: Dask's own protocol only
        assert len(ports) >= 5 and 8787 not in ports, ports
        assert [p for p in sorted(ports) if _answers_http(p)] == []
    finally:
        backend.shutdown()


WHICH_PATH = textwrap.dedent(
    """
    import os, sys
    from evotune import Float, evolve

    def objective(p):
        # 1 where this worker could import from the working directory
        return float(any(entry in ("", os.getcwd()) for entry in sys.path))

    r = evolve(objective, {{"x": Float(0, 1)}}, population_size=4, generations=1,
               random_state=0, n_jobs=1, backend="dask")
    print("scores", sorted(set(r.history["mean_score"])))
    """
)


def test_workers_do_not_import_from_the_drivers_working_directory(tmp_path):
    here = tmp_path / "project"
    (here / "evotune").mkdir(parents=True)
    (here / "evotune" / "__init__.py").write_text("raise ImportError('the wrong evotune')\n")
    script = tmp_path / "scripts" / "tune.py"
    script.parent.mkdir()
    script.write_text(WHICH_PATH.format())
    root = str(Path(__file__).resolve().parents[1])
    # no empty entry: an empty PYTHONPATH entry is the working directory itself
    paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "scores [0.0]" in out.stdout, out.stdout + out.stderr


def _memory_settings(dask_worker):
    import dask

    return dask_worker.memory_manager.memory_limit, dask.config.get(
        "distributed.worker.memory.pause"
    )


def test_worker_memory_limit_is_the_local_clusters_nanny_limit():
    backend = get_backend("dask", 1, worker_memory_limit="300MiB")
    backend.start(FunctionObjective(mixed))
    try:
        got = backend._link.client.run(_memory_settings)
        # no pause at 80% of it: a worker that leaks would stay paused for good
        assert list(got.values()) == [(300 * 2**20, False)]
    finally:
        backend.shutdown()
