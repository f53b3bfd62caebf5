"""Tests of ``evotune.backends``: the protocol, the serial backend, get_backend."""

from __future__ import annotations

import os

import pytest

from evotune import Backend, Float, FunctionObjective, SerialBackend, evolve
from evotune.backends import get_backend
from evotune.backends.base import resolve_n_jobs
from evotune.evaluation import FoldResult, Task


def task(i: int, x: float) -> Task:
    return Task(f"{i}:0", i, {"x": x}, 0, i)


class RecordingBackend:
    """A custom backend: runs tasks in this process and records the calls."""

    def __init__(self):
        self.started_with = None
        self.submitted: list[Task] = []
        self.queue: list[Task] = []
        self.shutdowns = 0

    def start(self, objective):
        self.started_with = objective

    def submit(self, t):
        self.submitted.append(t)
        self.queue.append(t)

    def wait(self, timeout=None):
        out = [(t, self.started_with.run(t.params, t.fold, t.seed)) for t in self.queue]
        self.queue = []
        return out

    def shutdown(self):
        self.shutdowns += 1


# ----------------------------------------------------------------- serial
def test_serial_backend_runs_tasks_in_order():
    b = SerialBackend()
    assert isinstance(b, Backend)
    b.start(FunctionObjective(lambda p: p["x"] * 2))
    for i in range(3):
        b.submit(task(i, float(i)))
    assert b.n_pending == 3
    got = []
    while True:
        done = b.wait()
        if not done:
            break
        got.extend(done)
    assert [t.candidate_id for t, _ in got] == [0, 1, 2]
    assert [r.score for _, r in got] == [0.0, 2.0, 4.0]
    assert all(isinstance(r, FoldResult) and r.status == "ok" for _, r in got)
    assert b.n_pending == 0


def test_serial_backend_wait_with_nothing_pending():
    b = SerialBackend()
    b.start(FunctionObjective(lambda p: 1.0))
    assert b.wait() == []
    assert b.wait(timeout=0.01) == []


def test_serial_backend_submit_before_start_raises():
    with pytest.raises(RuntimeError, match="start"):
        SerialBackend().submit(task(0, 1.0))


def test_serial_backend_shutdown_drops_pending_tasks():
    b = SerialBackend()
    b.start(FunctionObjective(lambda p: 1.0))
    b.submit(task(0, 1.0))
    b.shutdown()
    assert b.n_pending == 0
    assert b.wait() == []
    with pytest.raises(RuntimeError):
        b.submit(task(1, 1.0))


def test_serial_backend_keeps_failures_as_results():
    b = SerialBackend()
    b.start(FunctionObjective(lambda p: 1 / 0))
    b.submit(task(0, 1.0))
    ((t, r),) = b.wait()
    assert t.candidate_id == 0
    assert r.status == "failed"
    assert "ZeroDivisionError" in r.error


# ------------------------------------------------------------ get_backend
@pytest.mark.parametrize("n_jobs", [1, None])
def test_get_backend_default_is_serial(n_jobs):
    assert isinstance(get_backend(None, n_jobs), SerialBackend)
    assert isinstance(get_backend("serial", n_jobs), SerialBackend)


def test_get_backend_serial_by_name_whatever_n_jobs():
    assert isinstance(get_backend("serial", 4), SerialBackend)


def test_get_backend_passes_instances_through():
    mine = RecordingBackend()
    assert isinstance(mine, Backend)
    assert get_backend(mine, 1) is mine


def test_get_backend_unknown_name_raises():
    with pytest.raises(ValueError, match="backend"):
        get_backend("threads", 1)


@pytest.mark.parametrize("bad", [42, object(), ["serial"]])
def test_get_backend_non_backend_raises(bad):
    with pytest.raises(TypeError, match="backend"):
        get_backend(bad, 1)


@pytest.mark.parametrize("bad", [0, "x", 1.5, True, "2"])
def test_get_backend_bad_n_jobs_raises(bad):
    with pytest.raises(ValueError, match="n_jobs"):
        get_backend(None, bad)


# ----------------------------------------------------------- resolve_n_jobs
def test_resolve_n_jobs_values():
    cores = os.cpu_count() or 1
    assert resolve_n_jobs(None) == 1
    assert resolve_n_jobs(1) == 1
    assert resolve_n_jobs(3) == 3
    assert resolve_n_jobs(-1) == cores
    assert resolve_n_jobs(-2) == max(1, cores - 1)
    assert resolve_n_jobs(-1000) == 1


@pytest.mark.parametrize("bad", [0, "x", 2.0, False, [1]])
def test_resolve_n_jobs_errors(bad):
    with pytest.raises(ValueError, match="n_jobs"):
        resolve_n_jobs(bad)


# ---------------------------------------------------------- through evolve
def test_evolve_runs_on_a_custom_backend():
    mine = RecordingBackend()
    res = evolve(
        lambda p: p["x"],
        {"x": Float(0.0, 1.0)},
        population_size=4,
        generations=3,
        backend=mine,
        random_state=0,
    )
    assert len(mine.submitted) == len(res.history)
    assert mine.shutdowns == 1
    assert isinstance(mine.started_with, FunctionObjective)
    assert sorted(t.candidate_id for t in mine.submitted) == sorted(res.history["id"])


def test_custom_backend_gives_the_serial_history():
    a = evolve(
        lambda p: p["x"],
        {"x": Float(0.0, 1.0)},
        population_size=4,
        generations=3,
        backend=RecordingBackend(),
        random_state=5,
    )
    b = evolve(
        lambda p: p["x"], {"x": Float(0.0, 1.0)}, population_size=4, generations=3, random_state=5
    )
    assert a.history["mean_score"].tolist() == b.history["mean_score"].tolist()


@pytest.mark.parametrize("bad", [0, "x"])
def test_evolve_bad_n_jobs_raises_before_work(bad):
    calls = []
    with pytest.raises(ValueError, match="n_jobs"):
        evolve(lambda p: calls.append(p) or 1.0, {"x": Float(0.0, 1.0)}, n_jobs=bad)
    assert calls == []


def test_backend_is_shut_down_when_the_objective_raises():
    mine = RecordingBackend()

    class Raising:
        n_tasks = 1

        def run(self, params, t, seed):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evolve(
            Raising(),
            {"x": Float(0.0, 1.0)},
            population_size=2,
            generations=2,
            backend=mine,
            random_state=0,
        )
    assert mine.shutdowns == 1
