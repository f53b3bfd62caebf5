"""The serial backend: every task runs in the calling process, in order."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

from evotune.backends.base import BaseBackend
from evotune.pruning import run_task

if TYPE_CHECKING:
    from evotune._objective import Objective
    from evotune.records import FoldResult, Task


class SerialBackend(BaseBackend):
    """Run tasks one at a time in this process (``n_jobs=1``).

    Parameters
    ----------
    limit_threads : bool, default=True
        Limit BLAS/OpenMP to one thread while the run lasts, as in the pool's
        workers: ``n_jobs`` is the number of cores a run uses, and a model's
        scores do not depend on how many threads computed them.

    Examples
    --------
    >>> from evotune.evaluation import FunctionObjective
    >>> from evotune.records import Task
    >>> b = SerialBackend(); b.start(FunctionObjective(lambda p: 1.0))
    >>> b.submit(Task("0:0", 0, {}, 0, 0)); [r.score for _, r in b.wait()]
    [1.0]
    """

    def __init__(self, *, limit_threads: bool = True) -> None:
        self.limit_threads = bool(limit_threads)
        self._objective: Objective | None = None
        self._queue: deque[Task] = deque()
        self._limiter: Any = None

    def start(self, objective: Objective) -> None:
        self._objective = objective
        if self.limit_threads and self._limiter is None:
            from threadpoolctl import threadpool_limits

            self._limiter = threadpool_limits(limits=1)

    def submit(self, task: Task) -> None:
        if self._objective is None:
            raise RuntimeError("SerialBackend.submit() before start()")
        self._queue.append(task)

    def wait(self, timeout: float | None = None) -> list[tuple[Task, FoldResult]]:
        if not self._queue or self._objective is None:
            return []
        task = self._queue.popleft()
        started = time.time()
        result = run_task(self._objective, task.params, task.fold, task.seed, task.bounds)
        result.worker, result.started, result.finished = 0, started, time.time()
        return [(task, result)]

    @property
    def n_pending(self) -> int:
        return len(self._queue)

    def shutdown(self) -> None:
        self._queue.clear()
        self._objective = None
        if self._limiter is not None:
            self._limiter.restore_original_limits()
            self._limiter = None

    def __repr__(self) -> str:
        return "SerialBackend()"
