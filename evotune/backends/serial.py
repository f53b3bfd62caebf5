"""The serial backend: every task runs in the calling process, in order."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evotune.evaluation import FoldResult, Objective, Task


class SerialBackend:
    """Run tasks one at a time in this process (``n_jobs=1``).

    Examples
    --------
    >>> from evotune.evaluation import FunctionObjective, Task
    >>> b = SerialBackend(); b.start(FunctionObjective(lambda p: 1.0))
    >>> b.submit(Task("0:0", 0, {}, 0, 0)); [r.score for _, r in b.wait()]
    [1.0]
    """

    def __init__(self) -> None:
        self._objective: Objective | None = None
        self._queue: deque[Task] = deque()

    def start(self, objective: Objective) -> None:
        self._objective = objective

    def submit(self, task: Task) -> None:
        if self._objective is None:
            raise RuntimeError("SerialBackend.submit() before start()")
        self._queue.append(task)

    def wait(self, timeout: float | None = None) -> list[tuple[Task, FoldResult]]:
        if not self._queue or self._objective is None:
            return []
        task = self._queue.popleft()
        return [(task, self._objective.run(task.params, task.fold, task.seed))]

    @property
    def n_pending(self) -> int:
        return len(self._queue)

    def shutdown(self) -> None:
        self._queue.clear()
        self._objective = None

    def __repr__(self) -> str:
        return "SerialBackend()"
