"""A Dask distributed backend: the same (candidate, fold) tasks, on a cluster.

:class:`DaskBackend` runs the tasks that the serial backend and the process
pool run, on the workers of a Dask cluster: a local one it starts and owns
(``backend="dask"``), or an existing one (``DaskBackend("tcp://host:8786")``
or ``DaskBackend(client)``). Results are matched to tasks by key, so the
history is the one the other backends give for the same seed.

How it keeps the pool's guarantees:

- **The objective goes to each worker once.** It is pickled with dill (as
  for the pool) and handed over in a worker plugin: the scheduler keeps one
  copy and gives it to every worker when it joins, including a worker that
  Dask restarted. (Data scattered with ``client.scatter`` have no lineage: a
  worker that dies holding the last replica loses them for good, which a
  crashing candidate does on a two-worker cluster.) A task carries only its
  parameters, fold and seed.
- **No more tasks in flight than worker threads**, in the evaluator's order
  (longest expected first): a task never waits behind another on a worker,
  so when a worker dies only the task it was running is blamed (Dask counts
  every task on a dead worker as suspicious).
- **A worker that dies** is restarted by its nanny and its task retried by
  Dask, ``max_retries`` times on a cluster this backend starts (Dask's
  ``distributed.scheduler.allowed-failures``; an existing cluster keeps its
  own setting); then ``KilledWorker`` makes the row ``crashed``.
- **A task past** ``timeout`` seconds (counted from the moment it starts on a
  worker, which the task reports) is given up and its worker's process
  killed; its nanny starts a fresh one; the row says ``timeout``.
- **A lost scheduler** raises :class:`SchedulerLostError`; every finished
  fold is already in the journal, so the run resumes on any backend. A
  cluster left without any worker for ``startup_timeout`` seconds while tasks
  wait raises :class:`WorkersLostError` (a kind of it) instead of waiting
  forever.
- One BLAS/OpenMP thread per task (threadpoolctl inside the task).

The local cluster runs in a helper process (a fresh interpreter, in its own
session): its workers never import the user's ``__main__`` (a script needs
no ``if __name__ == "__main__":`` guard), Ctrl-C reaches only the driver,
and the helper and its workers exit as soon as the driver is gone, even
after ``kill -9``.

This module keeps the tasks: their queue, deadlines, retries and the rows
they give; the connection to the cluster and every call to its client are in
:mod:`evotune.backends._dask_client`.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evotune._bytes import parse_bytes
from evotune.backends.base import (
    DASK_MISSING,
    BaseBackend,
    SchedulerLostError,
    WorkersLostError,
    check_scheduler_address,
    no_score,
)

try:
    import distributed
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(DASK_MISSING) from _exc

from evotune.backends._dask_client import ClusterLink, SchedulerUnreachableError

if TYPE_CHECKING:
    from evotune._objective import Objective
    from evotune.records import FoldResult, Task

__all__ = ["DaskBackend", "SchedulerLostError", "SchedulerUnreachableError", "WorkersLostError"]


# --------------------------------------------------------------------------
# driver side


@dataclass
class _Running:
    task: Task
    key: str
    future: Any
    attempt: int
    worker: str | None = None
    pid: int | None = None
    deadline: float | None = None  # time.monotonic() of the driver
    started: float = math.nan  # time.time() of the driver when the start was reported
    ended: bool = False


class DaskBackend(BaseBackend):
    """Run tasks on a Dask distributed cluster.

    Parameters
    ----------
    client_or_address : None, str, distributed.Client or a Dask cluster
        None starts a ``LocalCluster`` of ``n_workers`` single-threaded worker
        processes bound to 127.0.0.1 and closes it in :meth:`shutdown`. A
        scheduler address ``"tcp://host:8786"``, a ``Client`` or a cluster
        object (anything with ``scheduler_address``) uses that cluster and
        never closes it. Nothing is started or contacted before :meth:`start`.
    n_workers : int, optional
        Workers of the local cluster (default: all cores); not allowed with
        an existing cluster, which has its own workers. After :meth:`start`
        it is the number of worker threads found.
    timeout : float, optional
        Seconds one task may run on a worker; past it the task is given up,
        its worker process is killed (its nanny starts a new one) and its
        result has ``status="timeout"``.
    max_retries : int, default=1
        Times Dask runs a task again after its worker died, before its result
        is ``status="crashed"`` (the scheduler's ``allowed-failures``). It
        applies to the local cluster; an existing cluster's scheduler keeps
        its own setting (Dask's default: 3).
    limit_threads : bool, default=True
        One BLAS/OpenMP thread per task, so workers do not oversubscribe cores.
    startup_timeout : float, default=60
        Seconds to wait for the local cluster to start, for the connection to
        a scheduler, and for a first worker to join it; in a run, how long the
        cluster may be without any worker while tasks wait before the run
        stops with :class:`WorkersLostError`.
    memory_limit : int or str, optional
        Bytes (or ``"2GB"``) per worker of the local cluster, its nannies'
        ``memory_limit``: a worker past it is restarted, mid-task if need be,
        its task retried as after a crash. None: Dask's default (the memory
        shared among the workers); an existing cluster keeps its own.

    Examples
    --------
    >>> DaskBackend("tcp://10.0.0.5:8786")  # connects in start(), not here
    DaskBackend('tcp://10.0.0.5:8786', timeout=None)
    >>> from evotune.evaluation import FunctionObjective
    >>> from evotune.records import Task
    >>> backend = DaskBackend(n_workers=1)
    >>> backend.start(FunctionObjective(lambda p: p["x"] * 2))
    >>> backend.submit(Task("0:0", 0, {"x": 1.5}, 0, 0))
    >>> [r.score for _, r in backend.wait()]
    [3.0]
    >>> backend.shutdown()
    """

    needs_pickle = True

    def __init__(
        self,
        client_or_address: Any = None,
        *,
        n_workers: int | None = None,
        timeout: float | None = None,
        max_retries: int = 1,
        limit_threads: bool = True,
        startup_timeout: float = 60.0,
        memory_limit: int | str | None = None,
    ) -> None:
        if client_or_address is None:
            if n_workers is None:
                n_workers = os.cpu_count() or 1
            if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
                raise ValueError(f"n_workers must be an integer >= 1, got {n_workers!r}")
        elif n_workers is not None:
            raise ValueError(
                "n_workers is only for the local cluster DaskBackend starts; an existing "
                f"cluster ({client_or_address!r}) has its own workers: leave n_workers=None"
            )
        if isinstance(client_or_address, str):
            check_scheduler_address(client_or_address, "client_or_address")
        elif not (
            client_or_address is None
            or isinstance(client_or_address, distributed.Client)
            or isinstance(getattr(client_or_address, "scheduler_address", None), str)
        ):
            raise TypeError(
                "client_or_address must be None (start a local cluster), a scheduler address "
                "such as 'tcp://10.0.0.5:8786', a distributed.Client or a Dask cluster, got "
                f"{client_or_address!r}"
            )
        if timeout is not None and not (
            isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0
        ):
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        if memory_limit is not None and client_or_address is not None:
            raise ValueError(
                "memory_limit is only for the local cluster DaskBackend starts; an existing "
                f"cluster ({client_or_address!r}) keeps its workers' own limit (start them "
                "with `dask worker --memory-limit 2GB ...`)"
            )
        self.memory_limit = parse_bytes("memory_limit", memory_limit)
        if not startup_timeout > 0:
            raise ValueError(f"startup_timeout must be > 0 seconds, got {startup_timeout!r}")
        self.client_or_address = client_or_address
        self.n_workers: int | None = n_workers
        self.timeout = timeout
        self.max_retries = max_retries
        self.limit_threads = bool(limit_threads)
        self.startup_timeout = float(startup_timeout)
        self._link = ClusterLink()
        self._queue: deque[Task] = deque()
        self._running: dict[str, _Running] = {}
        self._abandoned: dict[str, _Running] = {}
        self._attempts: dict[str, int] = {}
        self._done: list[tuple[Task, FoldResult]] = []

    # --------------------------------------------------------------- setup
    @property
    def owns_cluster(self) -> bool:
        """Whether the cluster is the local one this backend starts and closes."""
        return self.client_or_address is None

    def with_timeout(self, timeout: float) -> DaskBackend:
        """A new backend like this one (not started, on the same cluster or a
        local one of as many workers) that gives up a task after ``timeout``
        seconds; this one is not changed."""
        return self._copy(timeout=timeout)

    def with_recycling(
        self, max_tasks_per_worker: int | None, memory_limit: int | str | None
    ) -> DaskBackend:
        """A new backend like this one (not started) whose local cluster's
        nannies restart a worker past ``memory_limit``; ``max_tasks_per_worker``
        has no Dask counterpart and is refused."""
        if max_tasks_per_worker is not None:
            raise ValueError(
                "'max_tasks_per_worker' is not supported by the Dask backend (Dask recycles a "
                "worker by its memory: use worker_memory_limit), or use backend='process'"
            )
        return self._copy(memory_limit=memory_limit)

    def _copy(self, **changes: Any) -> DaskBackend:
        names = ("timeout", "max_retries", "limit_threads", "startup_timeout", "memory_limit")
        kwargs = {name: getattr(self, name) for name in names}
        kwargs["n_workers"] = self.n_workers if self.owns_cluster else None
        return DaskBackend(self.client_or_address, **{**kwargs, **changes})

    def start(self, objective: Objective) -> None:
        from evotune.backends.process import check_picklable

        payload = check_picklable(objective)
        self._attempts = {}
        try:
            self._link.open(
                self.client_or_address,
                payload,
                n_workers=self.n_workers,
                max_retries=self.max_retries,
                startup_timeout=self.startup_timeout,
                events=self.timeout is not None,
                memory_limit=self.memory_limit,
            )
        except Exception:
            self.shutdown()
            raise
        self._link.refresh_threads(self.n_pending, force=True)
        if not self.owns_cluster:
            self.n_workers = self._link.threads

    # ------------------------------------------------------------ dispatch
    def submit(self, task: Task) -> None:
        if self._link.client is None or not self._link.token:
            raise RuntimeError("DaskBackend.submit() before start()")
        self._queue.append(task)

    @property
    def n_pending(self) -> int:
        return len(self._queue) + len(self._running)

    def _dispatch(self) -> None:
        if not self._queue:
            return
        self._link.refresh_threads(self.n_pending)
        while self._queue and len(self._running) < self._link.threads:
            task = self._queue.popleft()
            attempt = self._attempts.get(task.task_id, 0)
            try:
                key, future = self._link.submit(task, attempt, self.limit_threads)
            except Exception as exc:
                self._queue.appendleft(task)
                self._check_connection(exc)
                raise
            self._running[key] = _Running(task, key, future, attempt)

    def cancel(self, task_ids: set[str]) -> list[Task]:
        """Drop queued tasks with these ids and give up running ones (their
        workers' processes are killed); returns the tasks that will now
        produce no result."""
        dropped = [t for t in self._queue if t.task_id in task_ids]
        self._queue = deque(t for t in self._queue if t.task_id not in task_ids)
        dropped += [t for t, _ in self._done if t.task_id in task_ids]
        self._done = [(t, r) for t, r in self._done if t.task_id not in task_ids]
        given_up = [r for r in self._running.values() if r.task.task_id in task_ids]
        for r in given_up:
            del self._running[r.key]
            dropped.append(r.task)
        self._give_up(given_up)
        return dropped

    def _give_up(self, records: list[_Running]) -> None:
        """Cancel these tasks' futures; kill the workers still running them.

        A task whose start has not been reported yet may be starting: it is
        kept in view, and its worker is killed if it then runs past the
        timeout.
        """
        if not records:
            return
        self._link.cancel([r.future for r in records])
        for r in records:
            if r.ended:
                continue
            if r.worker is not None and r.pid is not None:
                self._link.kill_worker(r.worker, r.pid)
            elif self.timeout is not None:
                r.deadline = None
                self._abandoned[r.key] = r

    # --------------------------------------------------------------- wait
    def wait(self, timeout: float | None = None) -> list[tuple[Task, FoldResult]]:
        """Block until a task finishes (or ``timeout`` seconds pass)."""
        end = None if timeout is None else time.monotonic() + timeout
        while not self._done:
            self._check_connection(None)
            self._dispatch()
            if not self._running and not self._queue:
                break
            limits = [r.deadline for r in self._running.values() if r.deadline is not None]
            limits += [r.deadline for r in self._abandoned.values() if r.deadline is not None]
            if end is not None:
                limits.append(end)
            # look for new workers about once a second while tasks are queued, and
            # that the cluster still has a worker every few seconds in any case
            limits.append(time.monotonic() + (1.0 if self._queue else 5.0))
            wait_for = max(0.0, min(limits) - time.monotonic())
            finished = []
            for kind, value in self._link.receive(wait_for):
                if kind == "event":
                    self._on_event(value)
                elif value in self._running:
                    finished.append(self._running.pop(value))
            if finished:
                self._collect(finished)
            self._check_deadlines()
            if not self._done:
                self._link.check_workers(self.n_pending, self.startup_timeout)
            if end is not None and time.monotonic() >= end:
                break
        done, self._done = self._done, []
        return done

    def _on_event(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            return
        key = msg.get("key")
        r = self._running.get(key) or self._abandoned.get(key)  # type: ignore[arg-type]
        if r is None:
            return
        if msg.get("op") == "started":
            r.worker, r.pid, r.started = msg.get("worker"), msg.get("pid"), time.time()
            if not r.ended and self.timeout is not None:
                r.deadline = time.monotonic() + self.timeout
        elif msg.get("op") == "ended":
            r.ended, r.deadline = True, None
            self._abandoned.pop(r.key, None)

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        for r in list(self._abandoned.values()):
            if r.deadline is not None and now >= r.deadline:
                del self._abandoned[r.key]
                if r.worker is not None and r.pid is not None:
                    self._link.kill_worker(r.worker, r.pid)
        late = [r for r in self._running.values() if r.deadline is not None and now >= r.deadline]
        if not late:
            return

        for r in late:
            del self._running[r.key]
            self._give_up([r])
            error = (
                f"timeout: the task ran longer than {self.timeout} s and was killed (its "
                f"Dask worker {r.worker} was restarted)"
            )
            self._done.append(
                (
                    r.task,
                    no_score(
                        "timeout",
                        error,
                        fit_time=float(self.timeout or 0.0),
                        worker=self._link.worker_number(r.worker),
                        started=r.started,
                    ),
                )
            )

    def _collect(self, records: list[_Running]) -> None:

        ok = [r for r in records if r.future.status == "finished"]
        if ok:
            try:
                values = self._link.gather([r.future for r in ok])
            except Exception as exc:
                self._check_connection(exc)
                raise
            for r, value in zip(ok, values):
                self._on_value(r, value)
        for r in records:
            status = r.future.status
            if status == "finished":
                continue
            if status == "error":
                error = r.future.exception()
                if type(error).__name__ != "KilledWorker":
                    raise RuntimeError(
                        f"DaskBackend: the Dask task of {r.task.task_id} failed: "
                        f"{type(error).__name__}: {error}"
                    ) from error
                tries = getattr(error, "allowed_failures", self.max_retries) + 1
                last = getattr(getattr(error, "last_worker", None), "address", None)
                error = (
                    f"crashed: the Dask worker process died running this task, {tries} "
                    f"time(s) (the last on {last})"
                )
                worker = self._link.worker_number(last)
                self._done.append((r.task, no_score("crashed", error, worker=worker)))
                continue
            # cancelled or lost, and not by us
            self._check_connection(None)
            tries = self._attempts.get(r.task.task_id, 0) + 1
            if tries <= self.max_retries:
                self._attempts[r.task.task_id] = tries
                self._queue.appendleft(r.task)
                continue
            error = f"crashed: the Dask scheduler dropped this task ({status}), {tries} time(s)"
            self._done.append((r.task, no_score("crashed", error)))

    def _on_value(self, r: _Running, value: tuple[Any, ...]) -> None:
        kind = value[0]
        if kind == "done":
            result = value[1]
            result.worker = self._link.worker_number(value[2], value[3])
            result.started, result.finished = value[4], value[5]
            self._done.append((r.task, result))
            return
        import dill

        from evotune.backends.process import ObjectiveRaised

        exc = dill.loads(value[2]) if value[2] is not None else None
        if isinstance(exc, BaseException):
            raise exc
        raise ObjectiveRaised(value[1])

    def _check_connection(self, exc: BaseException | None) -> None:
        """Raise :class:`SchedulerLostError` if the scheduler is gone."""
        self._link.check(self.n_pending, exc)

    # ------------------------------------------------------------ teardown
    def shutdown(self) -> None:
        """Cancel what is still queued or running and release the cluster: the
        local one is closed (its processes stopped); an existing one is left
        running, with the objective removed from its workers."""
        link = self._link
        records = list(self._running.values())
        self._running.clear()
        if link.alive:
            link.cancel([r.future for r in records])
            for r in list(self._abandoned.values()):
                if r.worker is not None and r.pid is not None and not r.ended:
                    with contextlib.suppress(Exception):
                        link.kill_worker(r.worker, r.pid)
        link.close()
        self._queue.clear()
        self._abandoned.clear()
        self._done = []

    def __repr__(self) -> str:
        if self.owns_cluster:
            return f"DaskBackend(n_workers={self.n_workers}, timeout={self.timeout!r})"
        target = self.client_or_address
        shown = target if isinstance(target, str) else type(target).__name__
        return f"DaskBackend({shown!r}, timeout={self.timeout!r})"
