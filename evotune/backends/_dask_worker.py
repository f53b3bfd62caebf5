"""The worker side of the Dask backend: runs in the Dask worker processes.

A worker plugin hands each worker the pickled objective once (the scheduler
keeps one copy for workers that join or restart later); ``_run_task`` runs one
(candidate, fold) task with one BLAS/OpenMP thread and reports when it starts,
so the driver's timeout clock does not count time spent queued.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import TYPE_CHECKING, Any

import distributed
from distributed import WorkerPlugin

from evotune.pruning import run_task

if TYPE_CHECKING:
    from evotune.records import Task

# token -> [objective, number of workers of this process holding it]
_OBJECTIVES: dict[str, list[Any]] = {}
_THREADS: dict[str, Any] = {"controller": None, "tasks": 0}
_THREADS_LOCK = threading.Lock()


class _ObjectivePlugin(WorkerPlugin):
    """Gives every worker the objective once, when it joins (or rejoins)."""

    def __init__(self, token: str, payload: bytes) -> None:
        self.token = token
        self.payload = payload

    def setup(self, worker: Any) -> None:
        entry = _OBJECTIVES.get(self.token)
        if entry is None:
            import dill

            _OBJECTIVES[self.token] = [dill.loads(self.payload), 1]
        else:
            entry[1] += 1
        self.payload = b""  # the worker keeps the objective, not a second copy of its bytes

    def teardown(self, worker: Any) -> None:
        entry = _OBJECTIVES.get(self.token)
        if entry is not None:
            entry[1] -= 1
            if entry[1] <= 0:
                del _OBJECTIVES[self.token]


@contextlib.contextmanager
def _one_thread(enabled: bool) -> Any:
    """One BLAS/OpenMP thread while a task runs.

    The libraries are looked up once per process (after the objective was
    unpickled, so its imports are loaded) and once more after the first
    task (which may have loaded others): ``threadpool_limits`` looks them up
    on every call, which costs milliseconds.
    """
    if not enabled:
        yield
        return
    from threadpoolctl import ThreadpoolController

    with _THREADS_LOCK:
        if _THREADS["controller"] is None or _THREADS["tasks"] == 1:
            _THREADS["controller"] = ThreadpoolController()
        _THREADS["tasks"] += 1
        controller = _THREADS["controller"]
    with controller.limit(limits=1):
        yield


def _run_task(
    token: str, topic: str | None, key: str, task: Task, limit_threads: bool
) -> tuple[Any, ...]:
    """One task on a worker: ``("done", FoldResult, ...)`` or ``("raised", ...)``."""
    worker = distributed.get_worker()
    started = time.time()
    if topic is not None:  # the driver's clock for the timeout starts now
        worker.log_event(
            topic,
            {"op": "started", "key": key, "worker": worker.address, "pid": os.getpid()},
        )
    try:
        entry = _OBJECTIVES.get(token)
        if entry is None:
            raise RuntimeError(
                f"the Dask worker {worker.address} has no objective {token!r} (its plugin "
                "was not set up on this worker)"
            )
        try:
            with _one_thread(limit_threads):
                result = run_task(entry[0], task.params, task.fold, task.seed, task.bounds)
        except Exception as exc:  # the objective chose to raise (error_score="raise")
            import dill

            from evotune._objective import error_text

            try:
                blob: bytes | None = dill.dumps(exc)
            except Exception:
                blob = None
            return ("raised", error_text(exc), blob, worker.address, worker.name, started)
        return ("done", result, worker.address, worker.name, started, time.time())
    finally:
        if topic is not None:
            worker.log_event(topic, {"op": "ended", "key": key})
