"""Tests of ``evotune.backends``: the protocol, its base and adapter, the serial
backend, the factory (get_backend) and the modules' layering."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from evotune import Backend, BaseBackend, Float, FunctionObjective, SerialBackend, evolve
from evotune.backends import as_backend, get_backend
from evotune.backends.factory import resolve_n_jobs
from evotune.records import FoldResult, Task


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
    serial = SerialBackend()
    assert get_backend(serial, 1) is serial
    # a backend that does not subclass BaseBackend is wrapped, not changed
    mine = RecordingBackend()
    runner = get_backend(mine, 1)
    assert isinstance(runner, Backend)
    assert runner.wrapped is mine


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


# ------------------------------------------------- the protocol and its base
class FourMethods(BaseBackend):
    """A backend that writes only the four required methods."""

    def start(self, objective):
        self.objective, self.done = objective, []

    def submit(self, t):
        self.done.append((t, self.objective.run(t.params, t.fold, t.seed)))

    def wait(self, timeout=None):
        done, self.done = self.done, []
        return done

    def shutdown(self):
        pass


def test_base_backend_gives_the_optional_members_their_defaults():
    b = FourMethods()
    assert isinstance(b, Backend)
    assert b.n_pending is None  # not tracked
    assert b.cancel({"0:0"}) == []
    assert b.needs_pickle is False
    assert b.n_workers == 1
    assert b.timeout is None
    with pytest.raises(ValueError, match="cannot be enforced"):
        b.with_timeout(5.0)
    assert as_backend(b) is b


def test_base_backend_requires_the_four_methods():
    class Half(BaseBackend):
        def start(self, objective):
            pass

    with pytest.raises(TypeError, match="abstract"):
        Half()


def test_the_stock_backends_state_every_member():
    from evotune.backends.process import ProcessPoolBackend

    for b in (SerialBackend(), ProcessPoolBackend(2, timeout=3.0)):
        assert isinstance(b, BaseBackend) and isinstance(b, Backend)
    pool = ProcessPoolBackend(2, timeout=3.0)
    assert (pool.needs_pickle, pool.n_workers, pool.timeout, pool.n_pending) == (True, 2, 3.0, 0)
    assert SerialBackend().n_pending == 0


class Partial:
    """A backend of its own with some optional members (no BaseBackend)."""

    n_workers = 3
    needs_pickle = True

    def __init__(self):
        self.inner = RecordingBackend()
        self.cancelled = []

    def start(self, objective):
        self.inner.start(objective)

    def submit(self, t):
        self.inner.submit(t)

    def wait(self, timeout=None):
        return self.inner.wait(timeout)

    def shutdown(self):
        self.inner.shutdown()

    def cancel(self, task_ids):
        self.cancelled.append(set(task_ids))
        return []


def test_a_backend_that_does_not_subclass_the_base_is_adapted():
    mine = RecordingBackend()
    adapted = as_backend(mine)
    assert adapted.wrapped is mine and isinstance(adapted, Backend)
    assert (adapted.n_pending, adapted.needs_pickle, adapted.n_workers, adapted.timeout) == (
        None,
        False,
        1,
        None,
    )
    assert adapted.cancel({"1:0"}) == []
    adapted.start(FunctionObjective(lambda p: p["x"]))
    adapted.submit(task(1, 4.0))
    assert [r.score for _, r in adapted.wait()] == [4.0]
    assert repr(adapted) == repr(mine)
    # its own optional members are used where it has them
    own = as_backend(Partial())
    assert (own.n_workers, own.needs_pickle) == (3, True)
    own.cancel({"2:0"})
    assert own.wrapped.cancelled == [{"2:0"}]


def test_the_adapter_never_writes_onto_the_users_backend():
    mine = Partial()
    adapted = as_backend(mine)
    with pytest.raises(AttributeError, match="set it there"):
        adapted.n_workers = 5
    assert mine.n_workers == 3 and "n_workers" not in vars(mine)


def test_a_backend_missing_required_methods_is_refused_by_name():
    class NoWait:
        def start(self, objective):
            pass

        def submit(self, t):
            pass

    with pytest.raises(TypeError, match=r"has no wait, shutdown"):
        get_backend(NoWait(), 1)


def test_the_evaluator_calls_an_adapted_backends_defaults():
    from evotune.evaluation import Evaluator
    from evotune.records import Candidate

    mine = RecordingBackend()
    ev = Evaluator(FunctionObjective(lambda p: p["x"]), mine)
    (e,) = ev.evaluate([Candidate(0, 0, "initial", "k", {"x": 2.0})])
    ev.close()
    assert e.mean_score == 2.0 and mine.shutdowns == 1
    assert ev.backend.wrapped is mine


# ---------------------------------------------- get_backend and the timeout
def test_get_backend_never_writes_a_timeout_onto_the_users_backend():
    from evotune.backends.process import ProcessPoolBackend

    mine = ProcessPoolBackend(2, max_retries=2, start_method="spawn")
    runner = get_backend(mine, 1, timeout=5.0)
    assert mine.timeout is None  # unchanged
    assert runner is not mine and isinstance(runner, ProcessPoolBackend)
    assert (runner.timeout, runner.n_workers, runner.max_retries, runner.start_method) == (
        5.0,
        2,
        2,
        "spawn",
    )


def test_a_timeout_that_conflicts_with_the_backends_own_is_an_error():
    from evotune.backends.process import ProcessPoolBackend

    mine = ProcessPoolBackend(2, timeout=5.0)
    with pytest.raises(ValueError, match=r"timeout=9.0 conflicts with the backend's own"):
        get_backend(mine, 1, timeout=9.0)
    assert mine.timeout == 5.0
    # the same timeout in both places is no conflict: the backend is used as it is
    assert get_backend(mine, 1, timeout=5.0) is mine
    assert get_backend(mine, 1) is mine


def test_a_backend_that_cannot_kill_a_task_refuses_a_timeout():
    class WithTimeoutAttribute(RecordingBackend):
        timeout = None

    mine = WithTimeoutAttribute()
    with pytest.raises(ValueError, match="cannot be enforced"):
        get_backend(mine, 1, timeout=5.0)
    assert "timeout" not in vars(mine)
    with pytest.raises(ValueError, match="cannot be enforced"):
        get_backend(SerialBackend(), 1, timeout=5.0)


def test_a_users_backend_gives_its_own_configured_copy():
    class Copying(RecordingBackend):
        timeout = None

        def with_timeout(self, timeout):
            copy = Copying()
            copy.timeout = timeout
            return copy

    mine = Copying()
    runner = get_backend(mine, 1, timeout=5.0)
    assert runner.timeout == 5.0 and runner.wrapped is not mine
    assert mine.timeout is None


def test_evolve_leaves_the_users_backend_as_it_was():
    from evotune.backends.process import ProcessPoolBackend

    mine = ProcessPoolBackend(1)
    evolve(
        lambda p: p["x"],
        {"x": Float(0.0, 1.0)},
        population_size=2,
        generations=1,
        backend=mine,
        timeout=30.0,
        random_state=0,
    )
    assert mine.timeout is None


# ---------------------------------------------------- the modules' layering
BACKEND_MODULES = {
    "evotune.backends._dask_client",
    "evotune.backends._dask_cluster",
    "evotune.backends._dask_worker",
    "evotune.backends._worker",
    "evotune.backends.dask",
    "evotune.backends.factory",
    "evotune.backends.process",
    "evotune.backends.serial",
}


def _loaded_after(statement: str) -> set[str]:
    code = (
        "import json, sys\n"
        f"{statement}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('evotune'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_the_protocol_module_imports_no_backend():
    loaded = _loaded_after("import evotune.backends.base")
    assert "evotune.backends.base" in loaded  # the import happened
    assert not loaded & BACKEND_MODULES


def test_the_factory_lives_apart_from_the_protocol():
    from evotune.backends import base, factory

    assert factory.BACKEND_NAMES == ("serial", "process", "dask", "ray")
    for name in ("get_backend", "resolve_n_jobs", "BACKEND_NAMES"):
        assert not hasattr(base, name)
    assert get_backend is factory.get_backend
    # the factory imports a backend's module only when it is asked for
    loaded = _loaded_after("import evotune.backends.factory")
    assert "evotune.backends.dask" not in loaded
    assert "evotune.backends.process" not in loaded
