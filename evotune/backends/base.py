"""The backend protocol: the seam between the evaluator and where work runs."""

from __future__ import annotations

import numbers
import os
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from evotune.evaluation import FoldResult, Objective, Task


@runtime_checkable
class Backend(Protocol):
    """Runs tasks; results are matched to tasks by the caller, never by order.

    ``start`` receives the objective once (a worker keeps it for every task);
    ``submit`` queues a task; ``wait`` blocks until at least one submitted task
    has finished (or ``timeout`` seconds passed) and returns the finished
    ``(task, result)`` pairs; ``shutdown`` releases every resource.
    """

    def start(self, objective: Objective) -> None: ...

    def submit(self, task: Task) -> None: ...

    def wait(self, timeout: float | None = None) -> list[tuple[Task, FoldResult]]: ...

    def shutdown(self) -> None: ...


def resolve_n_jobs(n_jobs: Any) -> int:
    """``None`` -> 1, ``-1`` -> all cores, ``-2`` -> all but one, as in scikit-learn."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be a non-zero integer or None (-1 means all cores), got {n_jobs!r}"
        )
    cores = os.cpu_count() or 1
    jobs = int(n_jobs)
    n = jobs if jobs > 0 else cores + 1 + jobs
    return max(1, n)


def get_backend(backend: Any = None, n_jobs: Any = 1, *, timeout: float | None = None) -> Backend:
    """The backend for ``backend`` (an instance, a name or None) and ``n_jobs``.

    A ``timeout`` needs a process to kill, so it selects the process pool
    even for ``n_jobs=1``.

    Examples
    --------
    >>> type(get_backend(None, 1)).__name__
    'SerialBackend'
    """
    from evotune.backends.serial import SerialBackend

    n = resolve_n_jobs(n_jobs)
    if backend is None:
        backend = "serial" if n == 1 and timeout is None else "process"
    if isinstance(backend, str):
        if backend == "serial":
            if timeout is not None:
                raise ValueError(
                    "'timeout' cannot be enforced by the serial backend (a hung fit cannot be "
                    "killed in-process); use backend='process'"
                )
            return SerialBackend()
        if backend == "process":
            from evotune.backends.process import ProcessPoolBackend

            return ProcessPoolBackend(n_workers=n, timeout=timeout)
        raise ValueError(f"backend must be 'serial', 'process' or a Backend, got {backend!r}")
    if isinstance(backend, Backend):
        return backend
    raise TypeError(
        f"backend must be 'serial', 'process' or an object with start/submit/wait/shutdown, "
        f"got {backend!r}"
    )
