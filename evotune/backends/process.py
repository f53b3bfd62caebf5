"""A supervised pool of ``multiprocess`` worker processes.

``multiprocess.Pool`` (like the standard library's) hangs forever when a
worker dies mid-task and leaves workers behind when its parent is killed. This
pool is made of plain ``Process`` and ``Pipe`` objects instead: the parent knows
which worker runs which task, waits on results and worker sentinels together,
replaces a worker that died, kills one that passed its deadline, recycles one
that ran its number of tasks or passed its memory limit (as ``maxtasksperchild``
and Dask's nanny do: the worker leaves between two tasks, so no task is lost
and the history is the same), and every worker exits by itself as soon as its
parent is gone.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evotune._bytes import parse_bytes
from evotune.backends._start import main_module_hidden, open_fds
from evotune.backends.base import BaseBackend

if TYPE_CHECKING:
    from evotune._objective import Objective
    from evotune.records import FoldResult, Task

__all__ = ["ObjectiveRaised", "ProcessPoolBackend", "check_picklable"]


class ObjectiveRaised(RuntimeError):
    """The objective raised in a worker and asked for the error to propagate."""


def check_picklable(objective: Objective) -> bytes:
    """Pickle ``objective`` for the workers, or say clearly what cannot be sent
    (naming the parts of :meth:`~evotune.BaseObjective.pickle_parts` that cannot)."""
    import dill

    try:
        return bytes(dill.dumps(objective, recurse=True))
    except Exception as exc:
        parts = []
        for name, value in objective.pickle_parts().items():
            try:
                dill.dumps(value)
            except Exception:
                parts.append(f"{name}={value!r}")
        culprit = f" ({', '.join(parts)} cannot be pickled)" if parts else ""
        raise TypeError(
            f"the objective {objective!r} cannot be sent to worker processes{culprit}: "
            f"{type(exc).__name__}: {exc}. Use n_jobs=1, or make it picklable."
        ) from exc


_START_METHODS = ("auto", "fork", "spawn", "forkserver")


@dataclass
class _Worker:
    process: Any
    conn: Any
    task: Task | None = None
    deadline: float | None = None
    ready: bool = False
    started: float = 0.0
    tasks: int = 0  # tasks finished, for max_tasks_per_worker
    rss: int = 0  # resident bytes after its last task, for memory_limit
    retire_by: float = 0.0  # time.monotonic() by which a retiring worker must be gone


class ProcessPoolBackend(BaseBackend):
    """Run tasks on ``n_workers`` supervised worker processes.

    Parameters
    ----------
    n_workers : int
        Worker processes, started once and reused across generations.
    timeout : float, optional
        Seconds one task may run; a worker past it is killed and replaced and
        the task's result has ``status="timeout"``.
    max_retries : int, default=1
        Times a task whose worker died is run again on a fresh worker before
        its result is ``status="crashed"``.
    limit_threads : bool, default=True
        Limit BLAS/OpenMP to one thread per worker, so ``n_workers`` workers do
        not oversubscribe the cores.
    start_method : {"auto", "fork", "spawn", "forkserver"}, default="auto"
        How a worker process starts. ``spawn`` gives each worker a fresh
        interpreter, which then imports scikit-learn again (about 0.7 s on a
        small machine); ``fork`` copies this process in a few milliseconds.
        ``auto`` forks on Linux when that is safe and spawns otherwise: safe
        means this process runs no other Python thread (a thread could hold a
        lock the copy would inherit, held forever) and the workers run one
        BLAS/OpenMP thread (``limit_threads``), so an OpenMP thread pool the
        parent may have used is never needed in the copy; OpenBLAS's own idle
        threads are reset by its fork handler.
    max_tasks_per_worker : int, optional
        Tasks a worker runs before it is replaced by a fresh process (as
        ``multiprocessing``'s ``maxtasksperchild``), so memory an objective
        leaks is given back. None: workers live as long as the pool.
    memory_limit : int or str, optional
        Bytes (or a string such as ``"2GB"``, ``"512MiB"``): a worker whose
        resident memory (RSS) exceeds it after a task is replaced before its
        next task (as Dask's nanny ``memory_limit``, but never mid-task). A
        task that passes it is not killed, so no result is lost.

    Recycling never changes the history: a task's result depends on its
    parameters, fold and seed only, not on the process that runs it.

    Examples
    --------
    >>> from evotune.evaluation import FunctionObjective
    >>> from evotune.records import Task
    >>> pool = ProcessPoolBackend(2)
    >>> pool.start(FunctionObjective(lambda p: p["x"] * 2))
    >>> pool.submit(Task("0:0", 0, {"x": 1.5}, 0, 0))
    >>> [r.score for _, r in pool.wait()]
    [3.0]
    >>> pool.shutdown()
    """

    needs_pickle = True

    def __init__(
        self,
        n_workers: int,
        *,
        timeout: float | None = None,
        max_retries: int = 1,
        limit_threads: bool = True,
        start_method: str = "auto",
        max_tasks_per_worker: int | None = None,
        memory_limit: int | str | None = None,
    ) -> None:
        if start_method not in _START_METHODS:
            raise ValueError(
                f"start_method must be one of {', '.join(map(repr, _START_METHODS))}, "
                f"got {start_method!r}"
            )
        if n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout!r}")
        if max_tasks_per_worker is not None and (
            isinstance(max_tasks_per_worker, bool)
            or not isinstance(max_tasks_per_worker, int)
            or max_tasks_per_worker < 1
        ):
            raise ValueError(
                "max_tasks_per_worker must be an integer >= 1 or None, got "
                f"{max_tasks_per_worker!r}"
            )
        self.max_tasks_per_worker = max_tasks_per_worker
        self.memory_limit = parse_bytes("memory_limit", memory_limit)
        self.n_workers: int = int(n_workers)
        self.timeout = timeout
        self.max_retries = int(max_retries)
        self.limit_threads = bool(limit_threads)
        self.start_method = start_method
        self._payload: bytes | None = None
        self._workers: list[_Worker] = []
        self._retiring: list[_Worker] = []
        self._queue: deque[Task] = deque()
        self._retries: dict[str, int] = {}
        self._done: list[tuple[Task, FoldResult]] = []
        self._ctx: Any = None

    # --------------------------------------------------------------- setup
    def start(self, objective: Objective) -> None:
        import multiprocess

        self._payload = check_picklable(objective)
        self._ctx = multiprocess
        self._workers = [self._spawn() for _ in range(self.n_workers)]

    def _method(self) -> str:
        """The start method for the next worker (``auto`` is decided each time:
        a thread started since the last worker makes forking unsafe)."""
        if self.start_method != "auto":
            return self.start_method
        import threading

        safe = (
            sys.platform.startswith("linux")
            and self.limit_threads
            and threading.active_count() == 1
        )
        return "fork" if safe else "spawn"

    def _spawn(self) -> _Worker:
        from evotune.backends._worker import worker_main

        method = self._method()
        ctx = self._ctx.get_context(method)
        # A forked worker would keep copies of this process's files open (the
        # run's lock among them, so a killed run's directory would stay locked
        # while a worker lingered): it replaces them with /dev/null at once.
        inherited = open_fds() if method == "fork" else []
        parent, child = ctx.Pipe(duplex=True)
        keep = {0, 1, 2, parent.fileno(), child.fileno()}
        inherited = [fd for fd in inherited if fd not in keep]
        proc = ctx.Process(
            target=worker_main,
            args=(child, os.getpid(), self.limit_threads, inherited, self.memory_limit is not None),
            name="evotune-worker",
            daemon=True,
        )
        with main_module_hidden():
            proc.start()
        child.close()
        assert self._payload is not None
        parent.send_bytes(self._payload)
        return _Worker(process=proc, conn=parent)

    def with_timeout(self, timeout: float) -> ProcessPoolBackend:
        """A new pool like this one (not started) that gives up a task after
        ``timeout`` seconds; this one is not changed."""
        return self._copy(timeout=timeout)

    def with_recycling(
        self, max_tasks_per_worker: int | None, memory_limit: int | str | None
    ) -> ProcessPoolBackend:
        """A new pool like this one (not started) that recycles its workers
        after ``max_tasks_per_worker`` tasks or past ``memory_limit`` bytes;
        this one is not changed."""
        return self._copy(max_tasks_per_worker=max_tasks_per_worker, memory_limit=memory_limit)

    def _copy(self, **changes: Any) -> ProcessPoolBackend:
        kwargs: dict[str, Any] = {
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "limit_threads": self.limit_threads,
            "start_method": self.start_method,
            "max_tasks_per_worker": self.max_tasks_per_worker,
            "memory_limit": self.memory_limit,
        }
        return ProcessPoolBackend(self.n_workers, **{**kwargs, **changes})

    # ------------------------------------------------------------ dispatch
    def submit(self, task: Task) -> None:
        if self._payload is None:
            raise RuntimeError("ProcessPoolBackend.submit() before start()")
        self._queue.append(task)

    def cancel(self, task_ids: set[str]) -> list[Task]:
        """Drop queued tasks with these ids and kill workers running them;
        returns the tasks that will now produce no result."""
        dropped = [t for t in self._queue if t.task_id in task_ids]
        self._queue = deque(t for t in self._queue if t.task_id not in task_ids)
        for i, w in enumerate(self._workers):
            if w.task is not None and w.task.task_id in task_ids:
                dropped.append(w.task)
                self._replace(i)
        return dropped

    @property
    def n_pending(self) -> int:
        return len(self._queue) + sum(w.task is not None for w in self._workers)

    def _dispatch(self) -> None:
        self._reap()
        for w in self._workers:
            # a deadline must not count a fresh worker's start-up (imports)
            if w.ready and w.task is None and self._queue:
                task = self._queue.popleft()
                w.task = task
                w.started = time.time()
                w.deadline = None if self.timeout is None else time.monotonic() + self.timeout
                w.conn.send((task.task_id, task.params, task.fold, task.seed, task.bounds))

    def _spent(self, w: _Worker) -> bool:
        """Whether ``w`` ran its number of tasks or passed its memory limit."""
        if self.max_tasks_per_worker is not None and w.tasks >= self.max_tasks_per_worker:
            return True
        return self.memory_limit is not None and w.rss > self.memory_limit

    def _retire(self, index: int) -> None:
        """Replace an idle worker by a fresh one; the old one is asked to exit
        (it finishes nothing: it is idle) and reaped later, without waiting."""
        w = self._workers[index]
        try:
            w.conn.send(None)
        except Exception:
            self._kill(w)
        else:
            w.retire_by = time.monotonic() + 5.0
            self._retiring.append(w)
        self._workers[index] = self._spawn()

    def _reap(self) -> None:
        """Join retired workers that have exited; kill those that linger."""
        now = time.monotonic()
        keep = []
        for w in self._retiring:
            if w.process.is_alive() and now < w.retire_by:
                keep.append(w)
            else:
                self._kill(w)
        self._retiring = keep

    def _replace(self, index: int) -> None:
        w = self._workers[index]
        self._kill(w)
        self._workers[index] = self._spawn()

    @staticmethod
    def _kill(w: _Worker) -> None:
        try:
            if w.process.is_alive():
                w.process.kill()
            w.process.join(timeout=5)
        except Exception:
            pass
        try:
            w.conn.close()
        except Exception:
            pass

    def _finish(
        self, task: Task, result: FoldResult, slot: int = -1, started: float = math.nan
    ) -> None:
        result.worker = slot
        result.started = started
        result.finished = time.time()
        self._done.append((task, result))

    def wait(self, timeout: float | None = None) -> list[tuple[Task, FoldResult]]:
        """Block until a task finishes (or ``timeout`` seconds pass)."""
        from multiprocess.connection import wait as mp_wait

        from evotune.records import FoldResult

        end = None if timeout is None else time.monotonic() + timeout
        while not self._done:
            self._dispatch()
            busy = [w for w in self._workers if w.task is not None]
            if not busy and not (self._queue and self._workers):
                break
            now = time.monotonic()
            limits = [w.deadline for w in busy if w.deadline is not None]
            if end is not None:
                limits.append(end)
            wait_for = None if not limits else max(0.0, min(limits) - now)
            objs: list[Any] = []
            for w in self._workers:
                objs.append(w.conn)
                objs.append(w.process.sentinel)
            ready = set(mp_wait(objs, timeout=wait_for))
            for i, w in enumerate(list(self._workers)):
                if w.conn in ready:
                    try:
                        msg = w.conn.recv()
                    except (EOFError, OSError):
                        msg = None
                    if msg is not None:
                        self._handle(i, w, msg)
                        continue
                if w.process.sentinel in ready or (w.conn in ready):
                    self._on_death(i, w, FoldResult)
            now = time.monotonic()
            for i, w in enumerate(list(self._workers)):
                if w.task is not None and w.deadline is not None and now >= w.deadline:
                    task, started = w.task, w.started
                    self._replace(i)
                    self._finish(
                        task,
                        FoldResult(
                            score=float("nan"),
                            fit_time=float(self.timeout or 0.0),
                            status="timeout",
                            error=f"timeout: the task ran longer than {self.timeout} s and "
                            "was killed",
                        ),
                        i,
                        started,
                    )
            if end is not None and time.monotonic() >= end:
                break
        done, self._done = self._done, []
        return done

    def _handle(self, index: int, w: _Worker, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        if kind == "ready":
            w.ready = True
            return
        task = w.task
        w.task, w.deadline = None, None
        if task is None or msg[1] != task.task_id:
            return  # a late reply for a task already given up
        if kind == "done":
            self._finish(task, msg[2], index, w.started)
            w.tasks += 1
            w.rss = msg[3] if len(msg) > 3 else 0
            if self._spent(w):
                self._retire(index)
        elif kind == "raised":
            import dill

            exc = dill.loads(msg[3]) if msg[3] is not None else None
            if isinstance(exc, BaseException):
                raise exc
            raise ObjectiveRaised(msg[2])

    def _on_death(self, index: int, w: _Worker, result_cls: Any) -> None:
        task, started = w.task, w.started
        w.process.join(timeout=1.0)
        code = w.process.exitcode
        self._replace(index)
        if task is None:
            return
        tries = self._retries.get(task.task_id, 0)
        if tries < self.max_retries:
            self._retries[task.task_id] = tries + 1
            self._queue.appendleft(task)
            return
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        self._finish(
            task,
            result_cls(
                score=float("nan"),
                status="crashed",
                error=f"crashed: the worker process died ({how}) running this task, "
                f"{self.max_retries + 1} time(s)",
            ),
            index,
            started,
        )

    # ------------------------------------------------------------ teardown
    def shutdown(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones (whose
        result nobody will read) are killed at once."""
        for w in self._workers:
            if w.task is not None:
                self._kill(w)
                continue
            try:
                w.conn.send(None)
            except Exception:
                pass
        deadline = time.monotonic() + 2.0
        for w in self._workers:
            w.process.join(timeout=max(0.0, deadline - time.monotonic()))
            self._kill(w)
        for w in self._retiring:
            self._kill(w)
        self._workers, self._retiring = [], []
        self._queue.clear()
        self._payload = None

    def __repr__(self) -> str:
        recycling = "".join(
            f", {name}={value!r}"
            for name, value in (
                ("max_tasks_per_worker", self.max_tasks_per_worker),
                ("memory_limit", self.memory_limit),
            )
            if value is not None
        )
        return (
            f"ProcessPoolBackend(n_workers={self.n_workers}, timeout={self.timeout!r}, "
            f"start_method={self.start_method!r}{recycling})"
        )

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            for w in [*self._workers, *self._retiring]:
                self._kill(w)
        except Exception:
            pass
