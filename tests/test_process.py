"""The supervised process pool: real workers, real crashes and hangs."""

from __future__ import annotations

import os
import signal
import time

import pandas as pd
import pytest
from _runs import SPACE, comparable, mixed

from evotune import Categorical, CrossValScore, Float, Integer, Space, evolve
from evotune.backends.process import ProcessPoolBackend
from evotune.evaluation import FunctionObjective
from evotune.records import Task


def faulty(p):
    mode = p["mode"]
    if mode == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "exit":
        os._exit(3)
    if mode == "killed":  # as the kernel's OOM killer does
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "hang":
        time.sleep(60)
    if mode == "raise":
        raise ValueError("bad value for x")
    return p["x"]


FAULT_SPACE = Space(
    {"mode": Categorical(["ok", "segfault", "exit", "killed", "hang", "raise"]), "x": Float(0, 1)}
)


def _drain(pool, n):
    out = {}
    while len(out) < n:
        for task, result in pool.wait(timeout=30):
            out[task.task_id] = result
    return out


def test_pool_survives_every_fault_and_replaces_workers():
    pool = ProcessPoolBackend(2, timeout=2.0, max_retries=1)
    pool.start(FunctionObjective(faulty))
    try:
        modes = ["ok", "segfault", "exit", "hang", "raise", "ok", "killed"]
        for i, m in enumerate(modes):
            pool.submit(Task(f"{i}:0", i, {"mode": m, "x": i / 10}, 0, 0))
        res = _drain(pool, len(modes))
        assert res["0:0"].status == "ok" and res["0:0"].score == 0.0
        assert res["1:0"].status == "crashed" and "signal 11" in res["1:0"].error
        assert res["2:0"].status == "crashed" and "exit code 3" in res["2:0"].error
        assert res["3:0"].status == "timeout"
        assert res["4:0"].status == "failed" and "bad value for x" in res["4:0"].error
        assert res["5:0"].status == "ok"
        assert res["6:0"].status == "crashed" and "signal 9" in res["6:0"].error
        # the pool is whole again and still works
        pool.submit(Task("9:0", 9, {"mode": "ok", "x": 0.5}, 0, 0))
        assert _drain(pool, 1)["9:0"].score == 0.5
        assert all(w.process.is_alive() for w in pool._workers)
    finally:
        pool.shutdown()


def test_a_crashing_task_is_retried_a_bounded_number_of_times(tmp_path):
    marker = tmp_path / "tries"
    marker.mkdir()

    def crash(p):
        (marker / f"{time.time_ns()}").touch()
        os._exit(1)

    pool = ProcessPoolBackend(1, max_retries=2)
    pool.start(FunctionObjective(crash))
    try:
        pool.submit(Task("0:0", 0, {}, 0, 0))
        res = _drain(pool, 1)["0:0"]
    finally:
        pool.shutdown()
    assert res.status == "crashed"
    assert len(list(marker.iterdir())) == 3


def test_evolve_records_every_fault_and_goes_on():
    with pytest.warns(UserWarning, match="evaluations failed"):
        result = evolve(
            faulty,
            FAULT_SPACE,
            population_size=10,
            generations=2,
            n_jobs=2,
            timeout=2.0,
            random_state=0,
        )
    h = result.history
    by_mode = dict(zip(h["param_mode"], h["status"]))
    assert by_mode.get("ok") == "ok"
    assert {"segfault", "exit", "killed", "hang", "raise"} <= set(h["param_mode"])
    for mode, status in zip(h["param_mode"], h["status"]):
        expected = {
            "ok": "ok",
            "segfault": "crashed",
            "exit": "crashed",
            "killed": "crashed",
            "hang": "timeout",
            "raise": "failed",
        }[mode]
        assert status == expected, (mode, status)
    assert result.best_params["mode"] == "ok"
    assert h.loc[h["status"] != "ok", "error"].notna().all()


def test_timeout_with_n_jobs_1_uses_a_worker():
    result = evolve(
        faulty,
        {"mode": Categorical(["ok", "hang"]), "x": Float(0, 1)},
        population_size=4,
        generations=1,
        n_jobs=1,
        timeout=1.0,
        random_state=1,
    )
    statuses = set(result.history["status"])
    assert statuses <= {"ok", "timeout"}


def test_timed_out_candidate_gives_up_all_its_folds():
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.datasets import load_iris

    class Sleepy(ClassifierMixin, BaseEstimator):
        def __init__(self, delay=0.0):
            self.delay = delay

        def fit(self, X, y):
            time.sleep(self.delay)
            self.classes_ = sorted(set(y))
            return self

        def predict(self, X):
            return [self.classes_[0]] * len(X)

    X, y = load_iris(return_X_y=True)
    obj = CrossValScore(Sleepy(), X, y, cv=3)
    space = Space({"delay": Categorical([0.0, 30.0])})
    result = evolve(
        obj, space, population_size=2, generations=1, n_jobs=2, timeout=1.5, random_state=0
    )
    h = result.history.set_index("param_delay")
    assert h.loc[30.0, "status"] == "timeout"
    assert pd.isna(h.loc[30.0, ["split0_score", "split1_score", "split2_score"]]).all()
    assert h.loc[0.0, "status"] == "ok"


def test_n_jobs_1_and_2_give_the_same_history():
    from sklearn.datasets import load_breast_cancer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = load_breast_cancer(return_X_y=True)
    obj = CrossValScore(make_pipeline(StandardScaler(), SVC()), X, y, cv=3)
    space = Space(
        {
            "svc__C": Float(1e-2, 1e2, log=True),
            "svc__gamma": Float(1e-4, 1, log=True),
            "svc__shrinking": Categorical([True, False]),
        }
    )
    runs = [
        evolve(obj, space, population_size=8, generations=3, n_jobs=n, random_state=3)
        for n in (1, 2)
    ]
    pd.testing.assert_frame_equal(comparable(runs[0].history), comparable(runs[1].history))
    assert runs[0].best_params == runs[1].best_params


def test_unpicklable_objective_is_a_clear_error_before_any_work(tmp_path):
    class Holder:
        n_tasks = 1

        def __init__(self):
            self.estimator = (i for i in range(3))  # a generator cannot be pickled

        def run(self, params, task, seed):
            raise AssertionError("never runs")

    ck = tmp_path / "run"
    with pytest.raises(
        TypeError, match=r"cannot be sent to worker processes.*estimator=<generator"
    ):
        evolve(Holder(), {"x": Float(0, 1)}, n_jobs=2, checkpoint=ck)
    assert not ck.exists()


def test_error_score_raise_propagates_from_a_worker():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    obj = CrossValScore(LogisticRegression(), X, y, cv=2, error_score="raise")
    space = Space({"C": Float(-2, -1)})  # a negative C makes LogisticRegression raise
    with pytest.raises(ValueError, match="C"):
        evolve(obj, space, population_size=2, generations=1, n_jobs=2, random_state=0)


def test_integer_space_on_pool_matches_serial():
    space = Space({"a": Integer(0, 50), "b": Integer(1, 1000, log=True)})

    def f(p):
        return -abs(p["a"] - 17) - abs(p["b"] - 300) / 100

    runs = [
        evolve(f, space, population_size=6, generations=3, n_jobs=n, random_state=5) for n in (1, 2)
    ]
    pd.testing.assert_frame_equal(comparable(runs[0].history), comparable(runs[1].history))


def test_a_script_without_a_main_guard_runs_on_the_pool(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "from evotune import Float, evolve\n"
        "def f(p):\n"
        "    return -(p['x'] - 0.25) ** 2\n"
        "r = evolve(f, {'x': Float(0, 1)}, population_size=4, generations=2, n_jobs=2,\n"
        "           random_state=0)\n"
        "print('evaluations', len(r.history))\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("evaluations") == 1  # the workers did not run it again


def _pid(params):
    return float(os.getpid())


def test_auto_start_forks_a_single_threaded_parent_and_spawns_otherwise(monkeypatch):
    import threading

    pool = ProcessPoolBackend(1)
    # other tests leave library threads behind (Dask's offload pool): pretend
    # this process runs its main thread only, then start a real thread
    with monkeypatch.context() as m:
        m.setattr(threading, "active_count", lambda: 1)
        assert pool._method() == "fork"
    others = threading.active_count()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert threading.active_count() == others + 1
        assert pool._method() == "spawn"
    finally:
        stop.set()
        thread.join()
    assert ProcessPoolBackend(1, limit_threads=False)._method() == "spawn"
    assert ProcessPoolBackend(1, start_method="spawn")._method() == "spawn"
    with pytest.raises(ValueError, match=r"start_method must be one of .*got 'thread'"):
        ProcessPoolBackend(1, start_method="thread")


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_of_either_start_method_give_the_same_results(method):
    pool = ProcessPoolBackend(2, start_method=method)
    pool.start(FunctionObjective(lambda p: p["x"] ** 2))
    for i in range(6):
        pool.submit(Task(f"{i}:0", i, {"x": float(i)}, 0, 0))
    got: dict[str, float] = {}
    while len(got) < 6:
        got.update((t.task_id, r.score) for t, r in pool.wait())
    pool.shutdown()
    assert got == {f"{i}:0": float(i * i) for i in range(6)}


def test_a_forked_worker_does_not_keep_the_parents_lock(tmp_path):
    import fcntl
    import subprocess
    import sys

    lock = tmp_path / "lock"
    fh = open(lock, "w")
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    pool = ProcessPoolBackend(1, start_method="fork")
    pool.start(FunctionObjective(_pid))
    pool.submit(Task("0:0", 0, {}, 0, 0))
    (worker_pid,) = {r.score for _, r in pool.wait(timeout=30)}
    assert worker_pid != os.getpid()
    fh.close()  # the parent lets go: the lock must be free although the worker lives
    probe = (
        "import fcntl, sys; f = open(sys.argv[1], 'w'); "
        "fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", probe, str(lock)], capture_output=True, text=True, timeout=30
        )
        assert out.stdout.strip() == "free", out.stderr
        os.kill(int(worker_pid), 0)  # the worker is still alive
    finally:
        pool.shutdown()


# ------------------------------------------------------------ worker recycling
_LEAKED: list[bytes] = []


def leaky(p):
    """Keeps 64 MB per call (written, so resident) and says which process ran it."""
    _LEAKED.append(b"\x01" * (64 * 2**20))
    return float(os.getpid())


def _resident(p):
    """A worker's RSS after importing this module, as ``leaky``'s worker does."""
    from evotune.backends._worker import resident_bytes

    return float(resident_bytes())


def _pids(pool, n):
    for i in range(n):
        pool.submit(Task(f"{i}:0", i, {"x": i}, 0, 0))
    res = _drain(pool, n)
    return [int(res[f"{i}:0"].score) for i in range(n)]


def test_a_worker_is_replaced_after_max_tasks_per_worker():
    pool = ProcessPoolBackend(1, max_tasks_per_worker=2)
    pool.start(FunctionObjective(lambda p: float(os.getpid())))
    try:
        pids = _pids(pool, 6)
    finally:
        pool.shutdown()
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4] == pids[5], pids
    assert len(set(pids)) == 3


def test_a_worker_past_its_memory_limit_is_replaced_before_its_next_task():
    # a fresh worker's RSS, measured by a worker itself after importing this
    # module (a module-level function: a lambda would travel without the imports)
    probe = ProcessPoolBackend(1)
    probe.start(FunctionObjective(_resident))
    try:
        probe.submit(Task("0:0", 0, {"x": 0}, 0, 0))
        base = int(_drain(probe, 1)["0:0"].score)
    finally:
        probe.shutdown()
    assert base > 0
    # 64 MB leaked per task: past base + 96 MB after the second task of a worker
    pool = ProcessPoolBackend(1, memory_limit=base + 96 * 2**20)
    pool.start(FunctionObjective(leaky))
    try:
        pids = _pids(pool, 6)
    finally:
        pool.shutdown()
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4] == pids[5], pids


def test_without_recycling_one_worker_runs_every_task():
    pool = ProcessPoolBackend(1)
    pool.start(FunctionObjective(lambda p: float(os.getpid())))
    try:
        assert len(set(_pids(pool, 4))) == 1
    finally:
        pool.shutdown()


def test_retired_workers_exit_and_leave_no_process_behind():
    pool = ProcessPoolBackend(2, max_tasks_per_worker=1)
    pool.start(FunctionObjective(lambda p: float(os.getpid())))
    try:
        pids = _pids(pool, 6)
    finally:
        pool.shutdown()
    assert len(set(pids)) == 6
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_recycling_leaves_the_history_unchanged():
    kwargs = {"population_size": 6, "generations": 3, "random_state": 5, "strategy": "ga"}
    plain = evolve(mixed, SPACE, n_jobs=2, **kwargs)
    recycled = evolve(
        mixed,
        SPACE,
        n_jobs=2,
        max_tasks_per_worker=1,
        worker_memory_limit="1MB",  # below any worker's RSS: replaced after every task
        **kwargs,
    )
    pd.testing.assert_frame_equal(comparable(plain.history), comparable(recycled.history))
    # n_jobs=1 with a recycling setting runs on a worker process, with the same history
    alone = evolve(mixed, SPACE, n_jobs=1, max_tasks_per_worker=2, **kwargs)
    pd.testing.assert_frame_equal(comparable(plain.history), comparable(alone.history))


def test_recycling_settings_select_and_configure_the_pool():
    from evotune.backends.factory import get_backend

    pool = get_backend(None, 1, max_tasks_per_worker=5, worker_memory_limit="2GB")
    assert isinstance(pool, ProcessPoolBackend)
    assert (pool.max_tasks_per_worker, pool.memory_limit) == (5, 2 * 10**9)
    mine = ProcessPoolBackend(2)
    copy = get_backend(mine, max_tasks_per_worker=3)
    assert copy is not mine and copy.max_tasks_per_worker == 3 and mine.max_tasks_per_worker is None
    assert get_backend(copy, max_tasks_per_worker=3) is copy
    with pytest.raises(ValueError, match="max_tasks_per_worker=4 conflicts"):
        get_backend(copy, max_tasks_per_worker=4)
    with pytest.raises(ValueError, match="'worker_memory_limit' needs worker processes"):
        get_backend("serial", worker_memory_limit="1GB")
    with pytest.raises(ValueError, match="'memory_limit' must be a number of bytes"):
        ProcessPoolBackend(1, memory_limit="lots")
    with pytest.raises(ValueError, match="max_tasks_per_worker must be an integer >= 1"):
        ProcessPoolBackend(1, max_tasks_per_worker=0)
