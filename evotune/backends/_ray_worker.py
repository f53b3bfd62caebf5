"""The worker side of the Ray backend: the Ray task that runs one (candidate, fold).

A task gets the objective's object reference (inside a list, so that Ray hands
over the reference, not the bytes): a worker process fetches and unpickles the
objective once, on its first task, and keeps it for the next ones. The task
returns when it started and ended on the worker, which process ran it, and
the result or the exception the objective chose to raise; with a timeout, it
first reports that it started.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evotune.pruning import run_task

if TYPE_CHECKING:
    from evotune.records import Task

# token of a run -> its objective, unpickled in this worker process
_OBJECTIVES: dict[str, Any] = {}
_LIMITER: dict[str, Any] = {"controller": None, "tasks": 0}


@contextlib.contextmanager
def _one_thread(enabled: bool) -> Any:
    """One BLAS/OpenMP thread while a task runs; the libraries are looked
    up after the objective's first task (which may have loaded them) and reused."""
    if not enabled:
        yield
        return
    from threadpoolctl import ThreadpoolController

    if _LIMITER["controller"] is None or _LIMITER["tasks"] == 1:
        _LIMITER["controller"] = ThreadpoolController()
    _LIMITER["tasks"] += 1
    with _LIMITER["controller"].limit(limits=1):
        yield


def _objective(token: str, holder: list[Any]) -> Any:
    objective = _OBJECTIVES.get(token)
    if objective is None:
        import dill
        import ray

        objective = dill.loads(ray.get(holder[0]))
        _OBJECTIVES.clear()  # a worker serves one driver (Ray job) at a time
        _OBJECTIVES[token] = objective
    return objective


def run_ray_task(token: str, holder: list[Any], task: Task, limit_threads: bool) -> tuple[Any, ...]:
    """One task on a Ray worker: ``("done", FoldResult, node, pid, started, ended)``
    or ``("raised", error text, pickled exception or None, node, pid, started)``."""
    import ray

    started = time.time()
    node = ray.get_runtime_context().get_node_id()
    objective = _objective(token, holder)
    try:
        with _one_thread(limit_threads):
            result = run_task(objective, task.params, task.fold, task.seed, task.bounds)
    except Exception as exc:  # the objective chose to raise (error_score="raise")
        import dill

        from evotune._objective import error_text

        try:
            blob: bytes | None = dill.dumps(exc)
        except Exception:
            blob = None
        return ("raised", error_text(exc), blob, node, os.getpid(), started)
    return ("done", result, node, os.getpid(), started, time.time())


def run_ray_task_reporting(
    token: str, holder: list[Any], task: Task, limit_threads: bool
) -> Iterator[tuple[Any, ...]]:
    """:func:`run_ray_task` as a Ray generator task that first yields
    ``("started", pid)``: the driver's timeout clock starts then, not while the
    task waits for a worker process. Used only with a timeout (each yield costs
    the driver about a millisecond of CPU)."""
    yield ("started", os.getpid())
    yield run_ray_task(token, holder, task, limit_threads)
