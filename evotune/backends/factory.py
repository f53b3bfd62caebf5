"""The backend factory: the backend for the user's ``backend``, ``n_jobs``, ``timeout``
and worker recycling (``max_tasks_per_worker``, ``worker_memory_limit``).

Apart from the protocol (:mod:`evotune.backends.base`), so that the protocol
imports no backend and each backend imports only the protocol.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from typing import Any

from evotune._bytes import parse_bytes
from evotune.backends.base import DASK_MISSING, Backend, as_backend

__all__ = ["BACKEND_NAMES", "get_backend", "resolve_n_jobs"]

BACKEND_NAMES = ("serial", "process", "dask", "ray")


def resolve_n_jobs(n_jobs: Any) -> int:
    """``None`` -> 1, ``-1`` -> all cores, ``-2`` -> all but one, as in scikit-learn.

    Examples
    --------
    >>> resolve_n_jobs(None), resolve_n_jobs(3)
    (1, 3)
    """
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


def _names() -> str:
    return ", ".join(repr(n) for n in BACKEND_NAMES[:-1]) + f" or {BACKEND_NAMES[-1]!r}"


@dataclass(frozen=True)
class Recycling:
    """When a worker process is replaced by a fresh one (None: never)."""

    max_tasks_per_worker: int | None = None
    worker_memory_limit: int | None = None

    def __post_init__(self) -> None:
        # "2GB" and 2000000000 are the same limit
        limit = parse_bytes("worker_memory_limit", self.worker_memory_limit)
        object.__setattr__(self, "worker_memory_limit", limit)

    def asked(self) -> dict[str, Any]:
        """The settings given (not None), by name."""
        return {k: v for k, v in vars(self).items() if v is not None}


def _by_name(name: str, n_workers: int, timeout: float | None, recycling: Recycling) -> Backend:
    """A new backend of the kind ``name``; its module is imported only now
    (Dask only for ``"dask"``, Ray only for ``"ray"``)."""
    if name == "serial":
        from evotune.backends.serial import SerialBackend

        if timeout is not None:
            raise ValueError(
                "'timeout' cannot be enforced by the serial backend (a hung fit cannot be "
                "killed in-process); use backend='process' or backend='dask'"
            )
        for setting in recycling.asked():
            raise ValueError(
                f"{setting!r} needs worker processes to recycle; the serial backend runs "
                "every task in this process: use backend='process'"
            )
        return SerialBackend()
    if name == "process":
        from evotune.backends.process import ProcessPoolBackend

        return ProcessPoolBackend(
            n_workers=n_workers,
            timeout=timeout,
            max_tasks_per_worker=recycling.max_tasks_per_worker,
            memory_limit=recycling.worker_memory_limit,
        )
    if name == "dask":
        try:
            from evotune.backends.dask import DaskBackend
        except ImportError as exc:
            raise ImportError(f"backend='dask': {DASK_MISSING} ({exc})") from exc
        backend = DaskBackend(n_workers=n_workers, timeout=timeout)
        return _with_recycling(backend, recycling)
    if name == "ray":
        try:
            from evotune.backends.ray import RayBackend
        except ImportError as exc:
            raise ImportError(f"backend='ray': {exc}") from None
        return _with_recycling(RayBackend(n_workers=n_workers, timeout=timeout), recycling)
    raise ValueError(f"backend must be {_names()} or a Backend, got {name!r}")


def _with_recycling(backend: Backend, recycling: Recycling) -> Backend:
    """``backend`` recycling its workers as asked: itself when nothing is asked
    or it already does, else its configured copy; never changed in place."""
    asked = recycling.asked()
    if not asked:
        return backend
    own = {
        "max_tasks_per_worker": getattr(backend, "max_tasks_per_worker", None),
        "worker_memory_limit": getattr(backend, "memory_limit", None),
    }
    for name, value in asked.items():
        if own[name] is not None and own[name] != value:
            raise ValueError(
                f"{name}={value!r} conflicts with the backend's own {own[name]!r} "
                f"({backend!r}): give it in one place"
            )
    if all(own[name] == value for name, value in asked.items()):
        return backend
    copy = getattr(backend, "with_recycling", None)
    if not callable(copy):
        raise ValueError(
            f"{', '.join(map(repr, asked))} cannot be applied to {backend!r}, which does not "
            "recycle worker processes: use backend='process'"
        )
    merged = {**own, **asked}
    return copy(merged["max_tasks_per_worker"], merged["worker_memory_limit"])


def _with_timeout(backend: Backend, timeout: float | None) -> Backend:
    """``backend`` enforcing ``timeout``: itself when it already does (or no
    timeout is asked), else its configured copy; never changed in place."""
    if timeout is None or backend.timeout == timeout:
        return backend
    if backend.timeout is not None:
        raise ValueError(
            f"timeout={timeout!r} conflicts with the backend's own timeout="
            f"{backend.timeout!r} ({backend!r}): give the timeout in one place"
        )
    return backend.with_timeout(timeout)


def get_backend(
    backend: Any = None,
    n_jobs: Any = 1,
    *,
    timeout: float | None = None,
    max_tasks_per_worker: int | None = None,
    worker_memory_limit: int | str | None = None,
) -> Backend:
    """The backend for ``backend`` (an instance, a name or None), ``n_jobs``,
    ``timeout`` and worker recycling.

    A ``timeout`` needs a process to kill, and ``max_tasks_per_worker`` /
    ``worker_memory_limit`` a process to replace, so each selects the process
    pool even for ``n_jobs=1``. ``"dask"`` starts a local Dask cluster of
    ``n_jobs`` workers (:class:`~evotune.backends.dask.DaskBackend`), whose
    nannies take ``worker_memory_limit`` as their ``memory_limit``; ``"ray"``
    starts a local Ray of ``n_jobs`` CPUs (:class:`~evotune.backends.ray.RayBackend`).

    A backend instance is never changed, as scikit-learn never changes an
    estimator it is given: without ``timeout``, or with the backend's own
    timeout, it is used as it is; with a ``timeout`` and a backend that has
    none, the run uses the copy ``backend.with_timeout(timeout)`` (the
    process pool and Dask make one; a backend that cannot kill a task
    refuses); a ``timeout`` that differs from the backend's own is an error.
    An instance that does not subclass :class:`~evotune.BaseBackend` is
    wrapped by :func:`~evotune.backends.base.as_backend`.

    Examples
    --------
    >>> type(get_backend(None, 1)).__name__
    'SerialBackend'
    >>> type(get_backend("dask", 2)).__name__  # nothing starts before the run
    'DaskBackend'
    >>> from evotune.backends.process import ProcessPoolBackend
    >>> mine = ProcessPoolBackend(2)
    >>> get_backend(mine, timeout=60).timeout, mine.timeout
    (60, None)
    """
    n = resolve_n_jobs(n_jobs)
    recycling = Recycling(max_tasks_per_worker, worker_memory_limit)  # type: ignore[arg-type]
    if backend is None:
        in_process = n == 1 and timeout is None and not recycling.asked()
        backend = "serial" if in_process else "process"
    if isinstance(backend, str):
        return _by_name(backend, n, timeout, recycling)
    try:
        runner = as_backend(backend)
    except TypeError as exc:
        raise TypeError(f"backend must be {_names()} or a Backend; {exc}") from None
    return _with_recycling(_with_timeout(runner, timeout), recycling)
