"""The backend protocol: the seam between the evaluator and where work runs."""

from __future__ import annotations

import numbers
import os
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from evotune.evaluation import FoldResult, Objective, Task

BACKEND_NAMES = ("serial", "process", "dask")
SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")
DASK_MISSING = (
    "the Dask backend needs dask.distributed, which is not installed: pip install 'evotune[dask]'"
)


class SchedulerLostError(RuntimeError):
    """The connection to a Dask scheduler was lost in the middle of a run.

    Defined here, without Dask, so that callers can catch it whether or not
    Dask is installed; raised by :class:`~evotune.backends.dask.DaskBackend`.
    """


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


def check_scheduler_address(address: Any, name: str = "scheduler") -> str:
    """``address`` if it is a Dask scheduler address ``SCHEME://HOST:PORT``.

    Only the form is checked (nothing is contacted), so an experiment file
    can be validated on a machine without Dask.

    Examples
    --------
    >>> check_scheduler_address("tcp://10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    >>> check_scheduler_address("10.0.0.5")
    Traceback (most recent call last):
    ...
    ValueError: scheduler must be a Dask scheduler address SCHEME://HOST:PORT such as \
'tcp://10.0.0.5:8786' (SCHEME one of tcp, tls, ucx, ws, wss; PORT 1-65535), got '10.0.0.5'
    """
    problem = ""
    if not isinstance(address, str):
        problem = f"got {type(address).__name__} {address!r}"
    else:
        scheme, sep, rest = address.partition("://")
        host, colon, port = rest.rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not (
            sep
            and scheme in SCHEDULER_SCHEMES
            and colon
            and host
            and "/" not in host
            and port.isdigit()
            and 1 <= int(port) <= 65535
        ):
            problem = f"got {address!r}"
    if problem:
        raise ValueError(
            f"{name} must be a Dask scheduler address SCHEME://HOST:PORT such as "
            f"'tcp://10.0.0.5:8786' (SCHEME one of {', '.join(SCHEDULER_SCHEMES)}; "
            f"PORT 1-65535), {problem}"
        )
    return str(address)


def _names() -> str:
    return ", ".join(repr(n) for n in BACKEND_NAMES[:-1]) + f" or {BACKEND_NAMES[-1]!r}"


def get_backend(backend: Any = None, n_jobs: Any = 1, *, timeout: float | None = None) -> Backend:
    """The backend for ``backend`` (an instance, a name or None) and ``n_jobs``.

    A ``timeout`` needs a process to kill, so it selects the process pool
    even for ``n_jobs=1``. ``"dask"`` starts a local Dask cluster of
    ``n_jobs`` workers (:class:`~evotune.backends.dask.DaskBackend`). An
    instance is used as it is; one with a ``timeout`` attribute left at
    None takes ``timeout``.

    Examples
    --------
    >>> type(get_backend(None, 1)).__name__
    'SerialBackend'
    >>> type(get_backend("dask", 2)).__name__  # nothing starts before the run
    'DaskBackend'
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
                    "killed in-process); use backend='process' or backend='dask'"
                )
            return SerialBackend()
        if backend == "process":
            from evotune.backends.process import ProcessPoolBackend

            return ProcessPoolBackend(n_workers=n, timeout=timeout)
        if backend == "dask":
            try:
                from evotune.backends.dask import DaskBackend
            except ImportError as exc:
                raise ImportError(f"backend='dask': {DASK_MISSING} ({exc})") from exc
            return DaskBackend(n_workers=n, timeout=timeout)
        raise ValueError(f"backend must be {_names()} or a Backend, got {backend!r}")
    if isinstance(backend, Backend):
        if timeout is not None and getattr(backend, "timeout", False) is None:
            backend.timeout = timeout  # type: ignore[attr-defined]
        return backend
    raise TypeError(
        f"backend must be {_names()} or an object with start/submit/wait/shutdown, got {backend!r}"
    )
