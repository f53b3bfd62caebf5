"""A Ray backend: the same (candidate, fold) tasks, on a Ray cluster.

:class:`RayBackend` runs the tasks that the serial backend, the process pool
and Dask run, on a Ray cluster: a local Ray it starts and shuts down
(``backend="ray"``), or an existing cluster (``RayBackend("auto")``,
``RayBackend("10.0.0.5:6379")`` or Ray Client's ``"ray://10.0.0.5:10001"``).
Results are matched to tasks by key, so the history is the one the other
backends give for the same seed.

How it keeps the pool's guarantees:

- **The objective goes into Ray's object store once** (``ray.put``; tasks get
  its reference, and each worker process unpickles it once). It is pickled
  with dill, as for the pool. A task carries only its parameters, fold and seed.
- **One CPU per task** (``num_cpus=1``), and no more tasks in flight than the
  cluster has CPUs, in the evaluator's order (longest expected first).
- **A worker that dies** is replaced by Ray and its task retried
  ``max_retries`` times (Ray's own ``max_retries`` of the task); then the row
  is ``crashed``, as on the pool and Dask.
- **A task past** ``timeout`` seconds is cancelled with
  ``ray.cancel(force=True)``, which kills its worker process; the row says
  ``timeout`` (counted from the moment it starts on a worker, which the task
  reports: with a timeout, tasks are Ray generator tasks that yield once when
  they start).
- **A lost head** raises :class:`RayClusterLostError` (a
  :class:`~evotune.backends.base.SchedulerLostError`); every finished fold is
  already in the journal, so the run resumes on any backend.
- One BLAS/OpenMP thread per task (threadpoolctl inside the task).

Every call to Ray is made in a helper process (a fresh interpreter, in its own
session), never in the user's: Ray ends the process that holds its driver when
the head is lost, and Ctrl-C reaches only the user's process. The local Ray
binds to 127.0.0.1 and is shut down at the end of the run, with every process
of it, and as soon as the user's process is gone, even after ``kill -9``.

This module keeps the tasks: their queue, deadlines, retries and the rows
they give; the helper and every message to it are in
:mod:`evotune.backends._ray_link`.
"""

from __future__ import annotations

import importlib.util
import math
import os
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evotune.backends.base import RAY_MISSING, BaseBackend, no_score


def _ray_installed() -> bool:
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False


if not _ray_installed():
    raise ImportError(RAY_MISSING)

from evotune.backends._ray_link import (  # noqa: E402 - after the check for Ray
    RayClusterLostError,
    RayLink,
    RayUnreachableError,
    check_ray_address,
)

if TYPE_CHECKING:
    from evotune._objective import Objective
    from evotune.records import FoldResult, Task

__all__ = ["RayBackend", "RayClusterLostError", "RayUnreachableError", "check_ray_address"]


@dataclass
class _Running:
    task: Task
    key: str
    deadline: float | None = None  # time.monotonic() of the driver


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be > 0 seconds, got {value!r}")


class RayBackend(BaseBackend):
    """Run tasks on a Ray cluster.

    Parameters
    ----------
    address : None or str
        None starts a local Ray of ``n_workers`` CPUs bound to 127.0.0.1 and
        shuts it down in :meth:`shutdown`. ``"auto"`` (the cluster started on
        this machine with ``ray start``), ``"HOST:PORT"`` (a head's GCS) or
        ``"ray://HOST:PORT"`` (Ray Client) uses that cluster and never stops
        it. Nothing is started or contacted before :meth:`start`.
    n_workers : int, optional
        CPUs of the local Ray (default: all cores); not allowed with an
        existing cluster. After :meth:`start` it is the cluster's CPUs.
    timeout : float, optional
        Seconds one task may run; past it the task is cancelled (its worker
        process killed) and its result has ``status="timeout"``.
    max_retries : int, default=1
        Times Ray runs a task again after its worker process died, before its
        result is ``status="crashed"``.
    limit_threads : bool, default=True
        One BLAS/OpenMP thread per task, so tasks do not oversubscribe cores.
    startup_timeout : float, default=60
        Seconds to start the local Ray or to connect to the cluster.

    Examples
    --------
    >>> RayBackend("10.0.0.5:6379")  # connects in start(), not here
    RayBackend('10.0.0.5:6379', timeout=None)
    >>> from evotune.evaluation import FunctionObjective
    >>> from evotune.records import Task
    >>> backend = RayBackend(n_workers=1)
    >>> backend.start(FunctionObjective(lambda p: p["x"] * 2))  # doctest: +SKIP
    >>> backend.submit(Task("0:0", 0, {"x": 1.5}, 0, 0))  # doctest: +SKIP
    >>> [r.score for _, r in backend.wait()]  # doctest: +SKIP
    [3.0]
    >>> backend.shutdown()
    """

    needs_pickle = True

    def __init__(
        self,
        address: str | None = None,
        *,
        n_workers: int | None = None,
        timeout: float | None = None,
        max_retries: int = 1,
        limit_threads: bool = True,
        startup_timeout: float = 60.0,
    ) -> None:
        check_ray_address(address)
        if address is None:
            if n_workers is None:
                n_workers = os.cpu_count() or 1
            if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
                raise ValueError(f"n_workers must be an integer >= 1, got {n_workers!r}")
        elif n_workers is not None:
            raise ValueError(
                "n_workers is only for the local Ray that RayBackend starts; an existing "
                f"cluster ({address!r}) has its own CPUs: leave n_workers=None"
            )
        if timeout is not None:
            _positive("timeout", timeout)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        _positive("startup_timeout", startup_timeout)
        self.address = address
        self.n_workers: int | None = n_workers
        self.timeout = timeout
        self.max_retries = max_retries
        self.limit_threads = bool(limit_threads)
        self.startup_timeout = float(startup_timeout)
        self._link = RayLink()
        self._queue: deque[Task] = deque()
        self._running: dict[str, _Running] = {}
        self._attempts: dict[str, int] = {}
        self._done: list[tuple[Task, FoldResult]] = []
        self._workers: dict[tuple[str, int], int] = {}
        self._asked_cpus = -math.inf
        self._heard = -math.inf

    # --------------------------------------------------------------- setup
    @property
    def owns_cluster(self) -> bool:
        """Whether the cluster is the local Ray this backend starts and shuts down."""
        return self.address is None

    def with_timeout(self, timeout: float) -> RayBackend:
        """A new backend like this one (not started) that gives up a task after
        ``timeout`` seconds; this one is not changed."""
        return RayBackend(
            self.address,
            n_workers=self.n_workers if self.owns_cluster else None,
            timeout=timeout,
            max_retries=self.max_retries,
            limit_threads=self.limit_threads,
            startup_timeout=self.startup_timeout,
        )

    def with_recycling(
        self, max_tasks_per_worker: int | None, memory_limit: int | str | None
    ) -> RayBackend:
        """Refused: Ray manages its worker processes itself."""
        asked = [
            name
            for name, value in (
                ("max_tasks_per_worker", max_tasks_per_worker),
                ("worker_memory_limit", memory_limit),
            )
            if value is not None
        ]
        raise ValueError(
            f"{', '.join(map(repr, asked))} is not supported by the Ray backend (Ray manages "
            "its worker processes itself): use backend='process'"
        )

    def start(self, objective: Objective) -> None:
        from evotune.backends.process import check_picklable

        payload = check_picklable(objective)
        self._attempts, self._workers = {}, {}
        settings = {
            "n_workers": self.n_workers,
            "max_retries": self.max_retries,
            "limit_threads": self.limit_threads,
            "startup_timeout": self.startup_timeout,
            "timeout": self.timeout,
        }
        try:
            self._link.open(self.address, payload, settings)
        except BaseException:
            self.shutdown()
            raise
        self._heard = time.monotonic()
        if not self.owns_cluster:
            self.n_workers = self._link.cpus

    # ------------------------------------------------------------ dispatch
    def submit(self, task: Task) -> None:
        if self._link.helper is None:
            raise RuntimeError("RayBackend.submit() before start()")
        self._queue.append(task)

    @property
    def n_pending(self) -> int:
        return len(self._queue) + len(self._running)

    def _dispatch(self) -> None:
        now = time.monotonic()
        if self._queue and not self.owns_cluster and now - self._asked_cpus > 1.0:
            self._asked_cpus = now  # an existing cluster's nodes come and go
            self._link.send(("cpus",))
        while self._queue and len(self._running) < self._link.cpus:
            task = self._queue.popleft()
            attempt = self._attempts.get(task.task_id, 0)
            key = f"{task.task_id}#{attempt}"
            self._link.send(("submit", key, task))
            self._running[key] = _Running(task, key)

    def cancel(self, task_ids: set[str]) -> list[Task]:
        """Drop queued tasks with these ids and cancel running ones (their
        worker processes are killed); returns the tasks that will now produce
        no result."""
        dropped = [t for t in self._queue if t.task_id in task_ids]
        self._queue = deque(t for t in self._queue if t.task_id not in task_ids)
        dropped += [t for t, _ in self._done if t.task_id in task_ids]
        self._done = [(t, r) for t, r in self._done if t.task_id not in task_ids]
        keys = [k for k, r in self._running.items() if r.task.task_id in task_ids]
        for key in keys:
            dropped.append(self._running.pop(key).task)
        if keys:
            self._link.send(("cancel", keys))
        return dropped

    # --------------------------------------------------------------- wait
    def wait(self, timeout: float | None = None) -> list[tuple[Task, FoldResult]]:
        """Block until a task finishes (or ``timeout`` seconds pass)."""
        end = None if timeout is None else time.monotonic() + timeout
        while not self._done:
            self._dispatch()
            if not self._running and not self._queue:
                break
            limits = [r.deadline for r in self._running.values() if r.deadline is not None]
            if end is not None:
                limits.append(end)
            limits.append(time.monotonic() + (1.0 if self._queue else 5.0))
            messages = self._link.receive(max(0.0, min(limits) - time.monotonic()))
            for message in messages:
                self._on_message(message)
            now = time.monotonic()
            if messages:
                self._heard = now
            elif now - self._heard > 5.0:
                self._link.check(self.n_pending)  # silence: is the head still there?
                self._heard = now
            self._check_deadlines()
            if end is not None and time.monotonic() >= end:
                break
        done, self._done = self._done, []
        return done

    def _on_message(self, message: tuple[Any, ...]) -> None:
        op = message[0]
        if op == "cpus":
            self._link.cpus = max(1, int(message[1]))
            self.n_workers = self._link.cpus
        elif op == "lost":
            self._link.lost(message[1], self.n_pending)
        elif op == "started":
            r = self._running.get(message[1])
            if r is not None and r.deadline is None and self.timeout is not None:
                r.deadline = time.monotonic() + self.timeout
        elif op == "done":
            r = self._running.pop(message[1], None)
            if r is not None:
                self._on_value(r, message[2])
        elif op == "failed":
            r = self._running.pop(message[1], None)
            if r is not None:
                self._on_failure(r, message[2], message[3])

    def _on_value(self, r: _Running, value: tuple[Any, ...]) -> None:
        if value[0] == "done":
            result = value[1]
            result.worker = self._worker_number(value[2], value[3])
            result.started, result.finished = value[4], value[5]
            self._done.append((r.task, result))
            return
        import dill

        from evotune.backends.process import ObjectiveRaised

        exc = dill.loads(value[2]) if value[2] is not None else None
        if isinstance(exc, BaseException):
            raise exc
        raise ObjectiveRaised(value[1])

    def _on_failure(self, r: _Running, kind: str, text: str) -> None:
        if kind == "error":
            raise RuntimeError(f"RayBackend: the Ray task of {r.task.task_id} failed: {text}")
        # a head going down takes its workers' tasks with it: not their fault
        time.sleep(0.5)
        self._link.check(self.n_pending + 1)
        if kind == "lost":
            self._link.lost(text, self.n_pending + 1)
        if kind == "cancelled":  # not by this backend: run it again, as Dask does
            tries = self._attempts.get(r.task.task_id, 0) + 1
            if tries <= self.max_retries:
                self._attempts[r.task.task_id] = tries
                self._queue.appendleft(r.task)
                return
            error = f"crashed: Ray cancelled this task, {tries} time(s) ({text})"
        else:
            error = (
                f"crashed: the Ray worker process died running this task, "
                f"{self.max_retries + 1} time(s) ({text})"
            )
        self._done.append((r.task, no_score("crashed", error)))

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        late = [r for r in self._running.values() if r.deadline is not None and now >= r.deadline]
        if not late:
            return
        for r in late:
            del self._running[r.key]
            error = (
                f"timeout: the task ran longer than {self.timeout} s and was cancelled (its "
                "Ray worker process was killed)"
            )
            fit = float(self.timeout or 0.0)
            self._done.append((r.task, no_score("timeout", error, fit_time=fit)))
        self._link.send(("cancel", [r.key for r in late]))

    def _worker_number(self, node: str, pid: int) -> int:
        """A small integer per worker process for the report's timeline, in the
        order seen."""
        return self._workers.setdefault((str(node), int(pid)), len(self._workers))

    # ------------------------------------------------------------ teardown
    def shutdown(self) -> None:
        """Cancel what is still running and let go of Ray: the local Ray is shut
        down (every process of it stopped); an existing cluster is left running."""
        keys = list(self._running)
        self._running.clear()
        if keys and self._link.helper is not None:
            try:
                self._link.send(("cancel", keys))
            except RayClusterLostError:
                pass
        self._link.close()
        self._queue.clear()
        self._done = []

    def __repr__(self) -> str:
        if self.owns_cluster:
            return f"RayBackend(n_workers={self.n_workers}, timeout={self.timeout!r})"
        return f"RayBackend({self.address!r}, timeout={self.timeout!r})"
