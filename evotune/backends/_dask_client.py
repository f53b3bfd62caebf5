"""The Dask backend's connection to its cluster: every call the driver makes to Dask.

:class:`ClusterLink` connects to the cluster the user named (a scheduler
address, a ``Client`` or a cluster object) or starts the local one in its
helper process; hands the workers the objective in a plugin; submits, cancels
and gathers the futures of tasks and passes on, through one queue, the news
Dask's threads bring (a future done, a task started or ended); counts the
worker threads; kills a worker's process from its nanny; tells a lost
scheduler apart; and releases what it holds, closing only what it opened.
It knows nothing of queues, deadlines or retries: that is the backend's job
(:mod:`evotune.backends.dask`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import math
import os
import queue
import signal
import socket
import subprocess
import time
import uuid
import warnings
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import distributed

from evotune.backends._dask_cluster import start_helper, stop_helper
from evotune.backends._dask_worker import _ObjectivePlugin, _run_task
from evotune.backends.base import SchedulerLostError, WorkersLostError

if TYPE_CHECKING:
    from evotune.records import Task


# seconds for one call to the cluster that has no deadline of its own
_CALL_LIMIT = 30.0


class SchedulerUnreachableError(RuntimeError):
    """No connection to the Dask scheduler could be made (a run that never
    started, unlike :class:`~evotune.backends.base.SchedulerLostError`)."""


def check_scheduler(address: str, timeout: float, setting: str = "startup_timeout") -> None:
    """Raise :class:`SchedulerUnreachableError` unless a Dask scheduler at
    ``address`` answers within ``timeout`` seconds (``setting`` names the wait
    in the message).

    ``distributed.Client`` bounds only the TCP connection by its timeout: a
    port that accepts and never answers (another service) held it forever.
    Here a refused ``tcp://`` port is told at once, and then the whole
    exchange, Dask's handshake and one ``identity`` call, runs under one
    deadline in a thread of its own, so a running event loop (a notebook's)
    is left alone.
    """
    why = _refused(address, timeout)
    if why is None:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            try:
                reply = pool.submit(asyncio.run, _identity(address, timeout)).result()
            except TimeoutError:
                why = "no answer"
            except OSError as exc:
                why = exc.strerror or type(exc).__name__
            except Exception:  # another service's bytes read as Dask's frames
                why = "an answer, but not a Dask scheduler's"
            else:
                if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
                    why = "an answer, but not a Dask scheduler's"
    if why is not None:
        raise SchedulerUnreachableError(
            f"cannot reach the Dask scheduler at {address} ({why} within {timeout:g} s, "
            f"{setting}); is `dask scheduler` running there?"
        )


def _refused(address: str, timeout: float) -> str | None:
    """Why a ``tcp://host:port`` address takes no connection, or None."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
        return None  # another protocol: left to Dask's own connect
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            return None
    except OSError as exc:
        return "no answer" if isinstance(exc, TimeoutError) else exc.strerror or type(exc).__name__


async def _identity(address: str, timeout: float) -> Any:
    async def ask() -> Any:
        link = distributed.core.rpc(address, timeout=timeout)
        try:
            return await link.identity()
        finally:
            await link.close_rpc()

    return await asyncio.wait_for(ask(), timeout)


class ClusterLink:
    """One backend's hold on one Dask cluster, from :meth:`open` to :meth:`close`.

    Attributes
    ----------
    client : distributed.Client or None
        The client, once connected.
    address : str
        The scheduler's address, once known.
    helper : subprocess.Popen or None
        The process that hosts the local cluster, when this link started one.
    threads : int
        Worker threads last counted (at least 1), see :meth:`refresh_threads`.
    """

    def __init__(self) -> None:
        self.client: Any = None
        self.owns_client = False
        self.owns_cluster = False
        self.helper: subprocess.Popen[bytes] | None = None
        self.address = ""
        self.token = ""
        self.plugin = ""
        self.topic: str | None = None
        self.threads = 1
        self._threads_checked = -math.inf
        self._worker_seen = -math.inf  # when a worker was last counted
        self._finalizer: Any = None
        # Dask's threads (done callbacks, topic handlers) only put news here;
        # the driver's thread reads it in :meth:`receive`.
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._worker_ids: dict[str, int] = {}

    @property
    def alive(self) -> bool:
        """Whether the client is connected to a running scheduler."""
        return getattr(self.client, "status", "") == "running"

    # ------------------------------------------------------------ opening
    def open(
        self,
        target: Any,
        payload: bytes,
        *,
        n_workers: int | None,
        max_retries: int,
        startup_timeout: float,
        events: bool,
        memory_limit: int | None = None,
    ) -> None:
        """Connect, wait for a first worker and hand the workers the objective.

        Parameters
        ----------
        target : None, str, distributed.Client or a Dask cluster
            What :class:`~evotune.backends.dask.DaskBackend` was given; None
            starts the local cluster of ``n_workers`` workers, whose scheduler
            allows ``max_retries`` failures of a task.
        payload : bytes
            The objective, pickled with dill.
        n_workers, max_retries : int
            For the local cluster only.
        startup_timeout : float
            Seconds for the local cluster to start, the connection to be made
            and a first worker to join.
        events : bool
            Whether tasks report their start and end (the timeout needs it).
        memory_limit : int, optional
            Bytes per worker of the local cluster (its nannies' limit).

        On an error the caller releases the link with :meth:`close`.
        """
        self._worker_ids = {}
        self._connect(target, n_workers, max_retries, startup_timeout, memory_limit)
        client = self.client
        self.token = uuid.uuid4().hex[:12]
        self.plugin = f"evotune-objective-{self.token}"
        if events:
            self.topic = f"evotune-{self.token}"
            inbox = self._inbox
            client.subscribe_topic(self.topic, lambda event: inbox.put(("event", event[1])))
        try:
            client.wait_for_workers(1, timeout=startup_timeout)
        except Exception:
            raise RuntimeError(
                f"DaskBackend: no worker joined the Dask scheduler at {self.address} within "
                f"{startup_timeout} s; start one with `dask worker {self.address}`"
            ) from None
        self._worker_seen = time.monotonic()
        try:
            client.register_plugin(_ObjectivePlugin(self.token, payload), name=self.plugin)
        except Exception as exc:
            raise RuntimeError(
                f"DaskBackend: the Dask workers of {self.address} cannot load the objective "
                f"({type(exc).__name__}: {exc}); they need evotune and the objective's "
                "modules installed"
            ) from exc

    def _connect(
        self,
        target: Any,
        n_workers: int | None,
        max_retries: int,
        startup_timeout: float,
        memory_limit: int | None,
    ) -> None:
        if self.client is not None:
            return
        self.owns_cluster = target is None
        if isinstance(target, distributed.Client):
            self.client, self.owns_client = target, False
            self.address = str(target.scheduler.address)
            return
        if target is None:
            assert n_workers is not None
            proc, address = start_helper(n_workers, max_retries, startup_timeout, memory_limit)
            self.helper = proc
            # Stops the helper (and so the cluster) when the link is dropped
            # without close(), and at exit, even if the driver never shuts down.
            self._finalizer = weakref.finalize(self, stop_helper, proc)
            self.address = address
        elif isinstance(target, str):
            address = target
            check_scheduler(address, startup_timeout)
        else:
            address = str(target.scheduler_address)
        try:
            self.client = distributed.Client(address, timeout=startup_timeout, set_as_default=False)
        except Exception as exc:
            raise SchedulerUnreachableError(
                f"DaskBackend: cannot connect to the Dask scheduler at {address} "
                f"({type(exc).__name__}: {exc}); is `dask scheduler` running there?"
            ) from exc
        self.owns_client = True
        self.address = address

    # -------------------------------------------------------------- tasks
    def refresh_threads(self, pending: int, force: bool = False) -> None:
        """Count the worker threads again, at most once a second unless ``force``.

        ``pending`` (tasks queued or running) goes into the error if the
        scheduler is lost.
        """
        now = time.monotonic()
        if not force and now - self._threads_checked < 1.0:
            return
        self._threads_checked = now
        try:
            counted = sum(self.client.nthreads().values())
        except Exception as exc:
            self.check(pending, exc)
            return
        if counted:
            self._worker_seen = now
        self.threads = max(1, counted)

    def check_workers(self, pending: int, grace: float) -> None:
        """Raise :class:`WorkersLostError` if tasks wait and the cluster has
        counted no worker for ``grace`` seconds.

        Dask keeps such tasks until a worker joins, so without this a cluster
        whose nannies could not restart their workers would hold the run forever.
        """
        if not pending:
            return
        self.refresh_threads(pending)
        gone = time.monotonic() - self._worker_seen
        if gone > grace:
            raise WorkersLostError(
                f"DaskBackend: the Dask cluster at {self.address} has had no worker for "
                f"{gone:.0f} s (startup_timeout={grace:g}) while {pending} task(s) waited: its "
                "workers died and none was restarted or joined. The run's journal is intact: "
                "every fold that finished is kept. Resume the run with `evotune resume RUN_DIR` "
                "or evolve(..., checkpoint=RUN_DIR, resume=True), on any backend."
            )

    def submit(self, task: Task, attempt: int, limit_threads: bool) -> tuple[str, Any]:
        """Send one attempt at a task to the cluster; its key and future.

        The key names the attempt, so a retry is a new Dask task; when the
        future is done, its key comes out of :meth:`receive` as ``("done", key)``.
        """
        key = f"evotune-{self.token}-{task.task_id}-{attempt}"
        future = self.client.submit(
            _run_task,
            self.token,
            self.topic,
            key,
            task,
            limit_threads,
            key=key,
            pure=False,
        )
        inbox = self._inbox
        future.add_done_callback(lambda f, inbox=inbox: inbox.put(("done", f.key)))
        return key, future

    def cancel(self, futures: list[Any]) -> None:
        """Cancel these futures, if the scheduler can still be told."""
        if futures:
            with contextlib.suppress(Exception):
                self.client.cancel(futures)

    def gather(self, futures: list[Any]) -> list[Any]:
        """The values of these finished futures."""
        return list(self.client.gather(futures, errors="raise"))

    def receive(self, timeout: float | None) -> list[tuple[str, Any]]:
        """The news waiting, after up to ``timeout`` seconds (None: forever) for one.

        Each item is ``("done", key)`` or ``("event", message)``.
        """
        try:
            items = [self._inbox.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                return items

    def kill_worker(self, address: str, pid: int) -> None:
        """Kill a worker's process from its nanny (which then starts a new one).

        Killing from the nanny works even when the task holds the worker's GIL;
        ``restart_workers`` (the fallback) first waits seconds for a graceful close.
        """
        kill = getattr(signal, "SIGKILL", signal.SIGTERM)
        try:
            # under a deadline: a nanny that does not answer must not hold the run
            self.client.run(
                os.kill, pid, kill, workers=[address], nanny=True, callback_timeout=_CALL_LIMIT
            )
        except Exception:
            try:
                self.client.restart_workers([address], timeout=_CALL_LIMIT, raise_for_error=False)
            except Exception as exc:
                warnings.warn(
                    f"DaskBackend: a task given up after its timeout may still run on the "
                    f"Dask worker {address}, which could not be restarted ({exc})",
                    RuntimeWarning,
                    stacklevel=2,
                )
        # Wait until the scheduler has seen the worker go: a task sent to it
        # meanwhile would die with it and count one failure it did not cause.
        end = time.monotonic() + 10.0
        with contextlib.suppress(Exception):
            while address in self.client.nthreads() and time.monotonic() < end:
                time.sleep(0.02)
        self._threads_checked = -math.inf  # the worker is gone until its nanny restarts it

    def worker_number(self, address: str | None, name: Any = None) -> int:
        """A small integer per worker for the report's timeline: the worker's
        name where it is one (a LocalCluster's 0, 1, ... survive restarts),
        else one per address in the order seen."""
        key = str(address)
        known = self._worker_ids.get(key)
        if known is not None:
            return known
        if isinstance(name, int) and not isinstance(name, bool):
            wid = name
        elif isinstance(name, str) and name.isdigit():
            wid = int(name)
        else:
            taken = set(self._worker_ids.values())
            wid = next(i for i in range(len(taken) + 1) if i not in taken)
        if address is not None:
            self._worker_ids[key] = wid
        return wid

    def check(self, pending: int, exc: BaseException | None) -> None:
        """Raise :class:`SchedulerLostError` if the scheduler is gone.

        ``pending`` is the number of tasks queued or running, for the message.
        """
        status = getattr(self.client, "status", "closed")
        if status == "running":
            return
        raise SchedulerLostError(
            f"DaskBackend lost the connection to the Dask scheduler at {self.address} "
            f"(client status {status!r}; {pending} task(s) were queued or running). The run's "
            "journal is intact: every fold that finished is kept. Resume the run with "
            "`evotune resume RUN_DIR` or evolve(..., checkpoint=RUN_DIR, resume=True), on any "
            "backend (backend='process' runs it on this machine)."
        ) from exc

    # ------------------------------------------------------------ closing
    def close(self) -> None:
        """Let go of the cluster: unsubscribe, take the objective off an
        existing cluster's workers, close the client if this link opened it
        and stop the local cluster if it started one. The link can be opened
        again."""
        client = self.client
        if client is not None:
            alive = self.alive
            if alive:
                if self.topic is not None:
                    with contextlib.suppress(Exception):
                        client.unsubscribe_topic(self.topic)
                if self.plugin and not self.owns_cluster:
                    with contextlib.suppress(Exception):
                        client.unregister_worker_plugin(self.plugin)
            if self.owns_client:
                with contextlib.suppress(Exception):
                    client.close(timeout=5 if alive else 2)
        self.client = None
        self.owns_client = False
        if self._finalizer is not None:
            self._finalizer()  # stops the helper and its cluster
            self._finalizer = None
        self.helper = None
        self.token = ""
        self.plugin = ""
        self.topic = None
        self._inbox = queue.Queue()
