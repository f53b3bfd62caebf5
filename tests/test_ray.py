"""The Ray backend on a real local Ray bound to 127.0.0.1 (no mocks).

One Ray cluster, started by a module fixture with ``ray start --head`` and
stopped at its end, serves the tests of an existing cluster (faults included:
Ray replaces the worker processes a test kills); ``backend="ray"`` runs start
and shut down their own Ray, and leave no process of it behind. The test of a
lost head starts a cluster of its own and kills its processes by pid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import ClassVar

import pandas as pd
import psutil
import pytest
from _runs import SPACE, mixed, pid_alive

from evotune import FunctionObjective, RayBackend, evolve
from evotune.backends import get_backend
from evotune.backends.base import SchedulerLostError
from evotune.backends.ray import RayClusterLostError, RayUnreachableError

KEEP = ["id", "param_x", "param_lr", "param_n", "param_kind", "mean_score", "status"]
SETTINGS = {"population_size": 8, "generations": 4, "random_state": 0}
# seconds a hung task would sleep if it were not given up (its worker is killed)
HANG = 600
TESTS = str(Path(__file__).resolve().parent)
RAY_NAMES = ("raylet", "gcs_server")


# ------------------------------------------------------------------ helpers
def _descendants() -> set[int]:
    """Processes below this one, but for multiprocessing's resource tracker."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(p.cmdline()):
                out.add(p.pid)
        except psutil.Error:
            pass
    return out


def _ray_servers_since(since: float, exclude: set[int] = frozenset()) -> list[int]:
    """The local Ray's node servers (raylet, gcs_server) that evotune started
    (their session is in its own temporary directory) after ``since``, alive."""
    found = []
    for p in psutil.process_iter(["name", "create_time", "cmdline"]):
        if p.pid in exclude or p.info["name"] not in RAY_NAMES:
            continue
        ours = "/evotune-ray-" in " ".join(p.info["cmdline"] or [])
        if ours and (p.info["create_time"] or 0) >= since and pid_alive(p.pid):
            found.append(p.pid)
    return found


def _all_dead(pids, within: float = 30.0) -> list[int]:
    """The pids still alive after waiting up to ``within`` seconds."""
    end = time.monotonic() + within
    alive = [p for p in pids if pid_alive(p)]
    while alive and time.monotonic() < end:
        time.sleep(0.1)
        alive = [p for p in alive if pid_alive(p)]
    return alive


def _listening(pids) -> set[str]:
    """The addresses these processes listen on."""
    found = set()
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            conns = psutil.Process(pid).net_connections("inet")
            found |= {c.laddr.ip for c in conns if c.status == "LISTEN"}
    return found


def _frame(result):
    return result.history[KEEP].reset_index(drop=True)


class Watch:
    """A callback that records every process below this one while a run goes."""

    def __init__(self):
        self.before = _descendants()
        self.since = time.time() - 1.0
        self.seen: set[int] = set()
        self.listening: set[str] = set()

    def on_evaluation(self, evaluation):
        new = _descendants() - self.before
        if new - self.seen:
            self.listening |= _listening(new)
        self.seen |= new

    def assert_gone(self, head_pids: set[int] = frozenset()):
        assert self.seen, "the run started no process"
        assert _all_dead(self.seen) == []
        # nothing named like Ray's servers started during the run is left either
        assert _all_dead(_ray_servers_since(self.since, set(head_pids))) == []


class Faulty:
    """``mixed``, except at one ``x``: there it kills its process, hangs or raises;
    it writes the pid of a process that does so to ``PIDS`` when given."""

    def __init__(self, x: float, how: str, pids: str | None = None):
        self.x, self.how, self.pids = x, how, pids

    def __call__(self, p):
        if p["x"] == self.x:
            if self.pids:
                Path(self.pids, str(os.getpid())).touch()
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.how == "hang":
                time.sleep(HANG)
            raise RuntimeError("this candidate is bad")
        return mixed(p)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Head:
    """A Ray cluster of one head node (2 CPUs) bound to 127.0.0.1, in a
    ``ray start --head --block`` subprocess; :meth:`kill` ends its processes by pid."""

    def __init__(self):
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp = tempfile.mkdtemp(prefix="evray")  # short: Ray's socket paths
        env = {
            **os.environ,
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # its servers on 127.0.0.1
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_AUTH_MODE": "disabled",
            "PYTHONPATH": os.pathsep.join([TESTS, *sys.path[1:]]),
        }
        ray = str(Path(sys.executable).with_name("ray"))
        args = ["--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(self.port)]
        args += ["--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"]
        args += ["--temp-dir", self.temp]
        self.proc = subprocess.Popen(
            [ray, "start", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        end = time.monotonic() + 120
        while time.monotonic() < end:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            assert self.proc.poll() is None, "ray start --head failed"
            time.sleep(0.2)

    def pids(self) -> set[int]:
        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return set()
        return {self.proc.pid} | {p.pid for p in kids}

    def kill(self) -> set[int]:
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=30)
        if not self.pids():
            shutil.rmtree(self.temp, ignore_errors=True)
        return pids


@pytest.fixture(scope="module")
def head():
    cluster = Head()
    try:
        yield cluster
    finally:
        assert _all_dead(cluster.kill()) == []


@pytest.fixture(scope="module")
def serial():
    return evolve(mixed, SPACE, **SETTINGS)


# ---------------------------------------------------------- same history
@pytest.mark.slow
def test_serial_and_a_local_ray_give_the_same_history_and_leave_no_process(serial):
    watch = Watch()
    on_ray = evolve(mixed, SPACE, n_jobs=2, backend="ray", callbacks=[watch], **SETTINGS)
    pd.testing.assert_frame_equal(_frame(on_ray), _frame(serial))
    assert on_ray.best_params == serial.best_params
    assert (on_ray.history["status"] == "ok").all()
    # the helper, the local Ray's servers and its workers are gone
    assert len(watch.seen) >= 4
    watch.assert_gone()
    # its servers listened on the loopback address only
    assert watch.listening and watch.listening <= {"127.0.0.1", "::ffff:127.0.0.1"}


@pytest.mark.slow
def test_an_existing_cluster_runs_the_tasks_and_keeps_running(head, serial):
    backend = RayBackend(head.address)
    result = evolve(mixed, SPACE, backend=backend, **SETTINGS)
    assert backend.n_workers == 2
    pd.testing.assert_frame_equal(_frame(result), _frame(serial))
    assert head.proc.poll() is None and all(pid_alive(p) for p in head.pids())


# ----------------------------------------------------------------- faults
@pytest.mark.slow
def test_a_failing_candidate_is_a_row_or_propagates(head):
    def raise_at_123(p):
        if p["x"] == 123.0:
            raise RuntimeError("this candidate is bad")
        return p["x"]

    with pytest.warns(UserWarning, match="this candidate is bad"):
        result = evolve(
            raise_at_123,
            {"x": [123.0, 1.0, 2.0]},
            population_size=3,
            generations=1,
            random_state=0,
            backend=RayBackend(head.address),
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
            backend=RayBackend(head.address),
        )


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_then_crashed(head, serial, tmp_path):
    bad_x = float(serial.history["param_x"][3])
    with pytest.warns(UserWarning, match="this candidate is bad"):
        raising = evolve(Faulty(bad_x, "raise"), SPACE, **SETTINGS)
    with pytest.warns(UserWarning, match="crashed"):
        result = evolve(
            Faulty(bad_x, "kill", str(tmp_path)),
            SPACE,
            backend=RayBackend(head.address),
            **SETTINGS,
        )
    history = result.history
    bad = history["param_x"] == bad_x
    assert history.loc[bad, "status"].tolist() == ["crashed"]
    error = history.loc[bad, "error"].iloc[0]
    assert "the Ray worker process died" in error and "2 time(s)" in error
    # run once, retried once: two worker processes killed themselves
    assert len(list(tmp_path.iterdir())) == 2
    assert (history.loc[~bad, "status"] == "ok").all()
    # the crashed candidate ranks last, as a failed one does: the same run
    cols = [c for c in KEEP if c != "status"]
    pd.testing.assert_frame_equal(history[cols], raising.history[cols])
    assert result.best_params == raising.best_params


@pytest.mark.slow
def test_a_hung_candidate_times_out_and_its_worker_is_killed(head, serial, tmp_path):
    bad_x = float(serial.history["param_x"][2])
    with pytest.warns(UserWarning, match="this candidate is bad"):
        raising = evolve(Faulty(bad_x, "raise"), SPACE, **SETTINGS)
    start = time.monotonic()
    with pytest.warns(UserWarning, match="timeout"):
        # evolve's timeout reaches a backend instance that has none of its own;
        # 5 s: a sound task takes milliseconds, over a second under load
        result = evolve(
            Faulty(bad_x, "hang", str(tmp_path)),
            SPACE,
            backend=RayBackend(head.address),
            timeout=5.0,
            **SETTINGS,
        )
    assert time.monotonic() - start < HANG / 2
    history = result.history
    bad = history["param_x"] == bad_x
    assert history.loc[bad, "status"].tolist() == ["timeout"]
    assert "ran longer than 5.0 s" in history.loc[bad, "error"].iloc[0]
    assert (history.loc[~bad, "status"] == "ok").all()
    cols = [c for c in KEEP if c != "status"]
    pd.testing.assert_frame_equal(history[cols], raising.history[cols])
    # the hung task's worker process was killed (ray.cancel(force=True))
    hung = [int(p.name) for p in tmp_path.iterdir()]
    assert len(hung) == 1 and _all_dead(hung) == []


class HangingFolds:
    """Three tasks (folds) per candidate; every fold of one candidate hangs."""

    n_tasks = 3

    def __init__(self, x: float, pids: str):
        self.x, self.pids = x, pids

    def run(self, params, task, seed):
        from evotune.records import FoldResult

        if params["x"] == self.x:
            Path(self.pids, str(os.getpid())).touch()
            time.sleep(HANG)
        return FoldResult(score=mixed(params) + task)


@pytest.mark.slow
def test_a_hung_candidate_of_several_folds_is_given_up_whole(head, tmp_path):
    kw = dict(population_size=6, generations=2, strategy="ga", random_state=0)
    reference = evolve(mixed, SPACE, **kw)
    bad_x = float(reference.history["param_x"][0])  # its folds are dispatched first
    start = time.monotonic()
    with pytest.warns(UserWarning, match="timeout"):
        result = evolve(
            HangingFolds(bad_x, str(tmp_path)),
            SPACE,
            **kw,
            backend=RayBackend(head.address, timeout=5.0),
        )
    assert time.monotonic() - start < HANG / 2
    history = result.history
    bad = history["param_x"] == bad_x
    assert history.loc[bad, "status"].tolist() == ["timeout"]
    assert (history.loc[~bad, "status"] == "ok").all() and len(history) == 11
    # the other hung folds were cancelled too: every worker process that hung is gone
    hung = [int(p.name) for p in tmp_path.iterdir()]
    assert hung and _all_dead(hung) == []


@pytest.mark.slow
def test_a_lost_head_is_a_one_line_error_and_the_run_resumes_serially(tmp_path):
    cluster = Head()
    ck = tmp_path / "run"

    class KillHead:
        n = 0
        pids: ClassVar[set[int]] = set()

        def on_evaluation(self, evaluation):
            KillHead.n += 1
            if KillHead.n == 10:  # in the middle of generation 1
                KillHead.pids = cluster.kill()

    try:
        start = time.monotonic()
        with pytest.raises(RayClusterLostError) as info:
            evolve(
                mixed,
                SPACE,
                backend=RayBackend(cluster.address),
                callbacks=[KillHead()],
                checkpoint=ck,
                **SETTINGS,
            )
        assert time.monotonic() - start < 120
    finally:
        cluster.kill()
    assert _all_dead(KillHead.pids) == []
    text = str(info.value)
    assert isinstance(info.value, SchedulerLostError)  # the CLI's exit code 1
    assert "\n" not in text and f"the Ray cluster at address '{cluster.address}'" in text
    assert "journal is intact" in text and "evotune resume" in text
    resumed = evolve(mixed, SPACE, checkpoint=ck, resume=True, **SETTINGS)
    pd.testing.assert_frame_equal(_frame(resumed), _frame(evolve(mixed, SPACE, **SETTINGS)))


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
        Path(PIDS, str(os.getppid())).touch()  # the raylet
        return mixed(p)

    class Killer:
        n = 0

        def on_evaluation(self, evaluation):
            Killer.n += 1
            if Killer.n == KILL_AT:
                os.kill(os.getpid(), signal.SIGKILL)

    # no `if __name__ == "__main__":` guard: Ray's workers never run this file
    r = evolve(objective, SPACE, population_size=8, generations=5, random_state=0,
               n_jobs=2, backend="ray", checkpoint=sys.argv[1], resume=True,
               callbacks=[Killer()])
    print("done", len(r.history))
    """
)


@pytest.mark.slow
def test_a_ray_run_killed_with_sigkill_resumes_on_the_process_pool(tmp_path):
    reference = evolve(mixed, SPACE, population_size=8, generations=5, random_state=0)
    script = tmp_path / "run_on_ray.py"
    script.write_text(SCRIPT.format(tests=TESTS))
    pids = tmp_path / "pids"
    pids.mkdir()
    ck = tmp_path / "run"
    since = time.time() - 1.0
    env = {**os.environ, "KILL_AT": "12", "PIDS": str(pids)}  # in the middle of generation 1
    first = subprocess.run(
        [sys.executable, str(script), str(ck)], env=env, capture_output=True, text=True, timeout=300
    )
    assert first.returncode == -signal.SIGKILL, first.stderr
    # the local Ray (helper, servers, workers) went with the killed driver
    seen = [int(p.name) for p in pids.iterdir()]
    assert len(seen) >= 2
    assert _all_dead(seen, within=60) == []
    assert _all_dead(_ray_servers_since(since), within=60) == []
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


# ------------------------------------------------------------ arguments
def test_get_backend_and_arguments():
    backend = get_backend("ray", 2, timeout=3.0)
    assert isinstance(backend, RayBackend) and backend.owns_cluster
    assert (backend.n_workers, backend.timeout) == (2, 3.0)
    assert get_backend(RayBackend("auto"), timeout=4.0).timeout == 4.0
    with pytest.raises(ValueError, match="'serial', 'process', 'dask' or 'ray'"):
        get_backend("threads", 1)
    for bad in ("10.0.0.5", "ray://host", "http://10.0.0.5:6379/x", "h:99999", 6379):
        with pytest.raises(ValueError, match=r"^address must be None \(start a local Ray\)"):
            RayBackend(bad)  # type: ignore[arg-type]
    assert RayBackend("ray://10.0.0.5:10001").address == "ray://10.0.0.5:10001"
    with pytest.raises(ValueError, match="n_workers is only for the local Ray"):
        RayBackend("127.0.0.1:6379", n_workers=2)
    with pytest.raises(ValueError, match="n_workers must be an integer >= 1"):
        RayBackend(n_workers=0)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        RayBackend(timeout=0)
    with pytest.raises(ValueError, match="max_retries must be an integer >= 0"):
        RayBackend(max_retries=-1)
    with pytest.raises(RuntimeError, match="before start"):
        RayBackend().submit(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'max_tasks_per_worker' is not supported by the Ray"):
        get_backend("ray", 2, max_tasks_per_worker=5)
    with pytest.raises(ValueError, match="'worker_memory_limit' is not supported by the Ray"):
        get_backend(RayBackend(n_workers=1), worker_memory_limit="1GB")
    assert repr(RayBackend("auto", timeout=2)) == "RayBackend('auto', timeout=2)"


def test_no_cluster_at_the_address_is_a_clear_error(tmp_path):
    port = _free_port()
    backend = RayBackend(f"127.0.0.1:{port}", startup_timeout=1)
    start = time.monotonic()
    with pytest.raises(RayUnreachableError, match=rf"address '127.0.0.1:{port}' \(Connection"):
        evolve(mixed, SPACE, backend=backend, checkpoint=tmp_path / "run", **SETTINGS)
    assert time.monotonic() - start < 30


@pytest.mark.slow
def test_importing_evotune_does_not_import_ray():
    code = (
        "import sys, evotune, evotune.backends, evotune.engine, evotune.experiment; "
        "from evotune import evolve, EvolutionarySearchCV, RayBackend; "
        "print(sorted(m for m in ('ray',) if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_without_ray_the_error_says_what_to_install():
    code = textwrap.dedent(
        """
        import sys

        class NoRay:
            def find_spec(self, name, path=None, target=None):
                if name == "ray" or name.startswith("ray."):
                    raise ModuleNotFoundError("No module named 'ray'")
                return None

        sys.meta_path.insert(0, NoRay())
        from evotune.backends import get_backend
        try:
            get_backend("ray", 2)
        except ImportError as exc:
            print(exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = out.stdout.strip()
    assert line.startswith("backend='ray': the Ray backend needs ray, which is not installed")
    assert 'pip install ".[ray]"' in line and "\n" not in line
