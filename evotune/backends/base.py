"""The backend protocol: the seam between the evaluator and where work runs.

:class:`Backend` states every member the evaluator and the run call on a
backend; :class:`BaseBackend` gives the optional ones their defaults, so a
backend subclasses it and writes the four required methods (``start``,
``submit``, ``wait``, ``shutdown``). :func:`as_backend` takes a user's
backend: one that does not subclass :class:`BaseBackend` but has the four
methods is wrapped in one adapter, which gives it the defaults it lacks;
nothing else asks a backend which members it has.

This module imports no backend: the factory that builds them by name is
:mod:`evotune.backends.factory`. It also holds what code without Dask needs
to know of Dask (:class:`SchedulerLostError`, the scheduler address check).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from evotune._adapt import Forwarded, missing_members

if TYPE_CHECKING:
    from evotune._objective import Objective
    from evotune.records import FoldResult, Task

SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")
DASK_MISSING = (
    "the Dask backend needs dask.distributed, which is not installed: "
    'pip install ".[dask]" from evotune\'s checkout'
)
RAY_MISSING = (
    "the Ray backend needs ray, which is not installed: "
    'pip install ".[ray]" from evotune\'s checkout'
)
REQUIRED = ("start", "submit", "wait", "shutdown")


class SchedulerLostError(RuntimeError):
    """The connection to a Dask scheduler was lost in the middle of a run.

    Defined here, without Dask, so that callers can catch it whether or not
    Dask is installed; raised by :class:`~evotune.backends.dask.DaskBackend`.
    """


class WorkersLostError(SchedulerLostError):
    """The Dask cluster had no worker at all for longer than the backend's
    ``startup_timeout`` while tasks waited, in the middle of a run (its
    workers died and none restarted or joined): the run stops, as for a lost
    scheduler, rather than wait forever.
    """


@runtime_checkable
class Backend(Protocol):
    """What the core calls on a backend; see :class:`BaseBackend` for what
    each member means and its default."""

    def start(self, objective: Objective) -> None: ...

    def submit(self, task: Task) -> None: ...

    def wait(self, timeout: float | None = None) -> list[tuple[Task, FoldResult]]: ...

    def shutdown(self) -> None: ...

    def cancel(self, task_ids: set[str]) -> list[Task]: ...

    def with_timeout(self, timeout: float) -> Backend: ...

    @property
    def n_pending(self) -> int | None: ...

    @property
    def needs_pickle(self) -> bool: ...

    @property
    def n_workers(self) -> int | None: ...

    @property
    def timeout(self) -> float | None: ...


class BaseBackend(abc.ABC):
    """The base of backends: runs tasks; results are matched to tasks by the
    caller, never by order.

    A subclass writes :meth:`start`, :meth:`submit`, :meth:`wait` and
    :meth:`shutdown`, and overrides the optional members where the default
    does not fit.

    Attributes
    ----------
    needs_pickle : bool, default=False
        Whether the objective is pickled to other processes (the run then
        checks that it can be, before any work starts).
    n_workers : int or None, default=1
        Tasks that run at once; None while not known (an existing Dask
        cluster before :meth:`start`).
    timeout : float or None, default=None
        Seconds one task may run before it is given up with
        ``status="timeout"``; None for no limit.

    Examples
    --------
    >>> from evotune.records import Task
    >>> class InProcess(BaseBackend):
    ...     def start(self, objective): self.objective, self.done = objective, []
    ...     def submit(self, task):
    ...         self.done.append((task, self.objective.run(task.params, task.fold, task.seed)))
    ...     def wait(self, timeout=None): done, self.done = self.done, []; return done
    ...     def shutdown(self): pass
    >>> from evotune.evaluation import FunctionObjective
    >>> b = InProcess(); b.start(FunctionObjective(lambda p: p["x"]))
    >>> b.submit(Task("0:0", 0, {"x": 2.0}, 0, 0)); [r.score for _, r in b.wait()]
    [2.0]
    >>> b.n_pending, b.cancel({"0:0"}), b.needs_pickle, b.n_workers, b.timeout
    (None, [], False, 1, None)
    """

    needs_pickle: bool = False
    n_workers: int | None = 1
    timeout: float | None = None

    @abc.abstractmethod
    def start(self, objective: Objective) -> None:
        """Receive the objective, once (a worker keeps it for every task)."""

    @abc.abstractmethod
    def submit(self, task: Task) -> None:
        """Queue a task."""

    @abc.abstractmethod
    def wait(self, timeout: float | None = None) -> list[tuple[Task, FoldResult]]:
        """Block until at least one submitted task has finished (or ``timeout``
        seconds passed) and return the finished ``(task, result)`` pairs."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Release every resource; pending tasks are dropped."""

    @property
    def n_pending(self) -> int | None:
        """Tasks submitted and not yet returned by :meth:`wait`.

        Default: None, not tracked (the evaluator then cannot tell a lost
        task from a slow one).
        """
        return None

    def cancel(self, task_ids: set[str]) -> list[Task]:
        """Drop the tasks with these ids; return those that will now give no result.

        Default: none is dropped (they run on, and the evaluator discards
        their results when they come back).
        """
        return []

    def with_timeout(self, timeout: float) -> Backend:
        """A copy of this backend that gives up a task after ``timeout`` seconds;
        this backend is not changed.

        Default: refused (a task running in this process cannot be killed).
        """
        raise ValueError(
            f"timeout={timeout!r} cannot be enforced by {self!r} (a hung task running in "
            "this process cannot be killed): use backend='process' or backend='dask', or "
            "give the timeout to a backend that can enforce it"
        )


class _BackendAdapter(BaseBackend):
    """A user's backend that has the four required methods but does not
    subclass :class:`BaseBackend`: its own members where it has them, the
    defaults elsewhere. The object is kept as ``wrapped`` and never written."""

    needs_pickle = Forwarded(False)
    n_workers = Forwarded[int | None](1)
    timeout = Forwarded[float | None](None)

    def __init__(self, backend: object) -> None:
        self.wrapped: Any = backend

    def start(self, objective: Objective) -> None:
        self.wrapped.start(objective)

    def submit(self, task: Task) -> None:
        self.wrapped.submit(task)

    def wait(self, timeout: float | None = None) -> list[tuple[Task, FoldResult]]:
        return list(self.wrapped.wait(timeout=timeout))

    def shutdown(self) -> None:
        self.wrapped.shutdown()

    @property
    def n_pending(self) -> int | None:
        value = getattr(self.wrapped, "n_pending", None)
        return None if value is None else int(value)

    def cancel(self, task_ids: set[str]) -> list[Task]:
        own = getattr(self.wrapped, "cancel", None)
        return list(own(task_ids)) if callable(own) else []

    def with_timeout(self, timeout: float) -> Backend:
        own = getattr(self.wrapped, "with_timeout", None)
        return as_backend(own(timeout)) if callable(own) else super().with_timeout(timeout)

    def __repr__(self) -> str:
        return repr(self.wrapped)


def no_score(status: str, error: str, **fields: Any) -> FoldResult:
    """The result of a task that ended without a score (crashed, timed out,
    lost), finished now: what a cluster backend reports for a task its
    worker could not report itself."""
    import math
    import time

    from evotune.records import FoldResult

    return FoldResult(score=math.nan, status=status, error=error, finished=time.time(), **fields)


def as_backend(backend: object) -> Backend:
    """The :class:`Backend` for a backend object the user passed.

    A :class:`Backend` (a :class:`BaseBackend` such as
    :class:`~evotune.SerialBackend`) is used as it is; an object with
    ``start``, ``submit``, ``wait`` and ``shutdown`` that does not subclass
    :class:`BaseBackend` is wrapped in an adapter (its ``wrapped``
    attribute) that gives it the defaults it lacks; anything else is refused
    with a :class:`TypeError` naming the methods it lacks.

    Examples
    --------
    >>> class Mine:
    ...     def start(self, objective): pass
    ...     def submit(self, task): pass
    ...     def wait(self, timeout=None): return []
    ...     def shutdown(self): pass
    >>> adapted = as_backend(Mine())
    >>> adapted.n_workers, adapted.cancel({"0:0"}), type(adapted.wrapped).__name__
    (1, [], 'Mine')
    >>> as_backend(42)
    Traceback (most recent call last):
    ...
    TypeError: backend must be a Backend: an object with start, submit, wait and shutdown \
methods; 42 (int) has no start, submit, wait, shutdown
    """
    if isinstance(backend, Backend):
        return backend
    missing = missing_members(backend, REQUIRED)
    if missing:
        raise TypeError(
            "backend must be a Backend: an object with start, submit, wait and shutdown "
            f"methods; {backend!r} ({type(backend).__name__}) has no {', '.join(missing)}"
        )
    return _BackendAdapter(backend)


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
