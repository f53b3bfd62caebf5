"""The helper process that is the Ray backend's Ray driver.

Every call to Ray is made here, in a fresh interpreter in its own session,
never in the user's process: Ray's core worker ends the process that holds it
when it loses its cluster's head, and here that is only the helper, which the
backend then reports as a lost cluster (the run's journal stays whole).
Ctrl-C reaches only the user's process; the helper shuts its Ray down as soon
as the user's process closes the pipe or is gone, even after ``kill -9``.

The helper starts the local Ray (``address=None``: every server of it bound to
127.0.0.1) or connects to an existing cluster, puts the objective into Ray's
object store once, and then, one message at a time from the backend, submits
tasks (one CPU each; with a timeout, Ray generator tasks that report when they
start, each followed by a thread while it runs), cancels them (``force=True``:
their worker process is killed) and counts the cluster's CPUs; each task's
outcome goes back as soon as Ray has it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

# A Ray on this machine only: Ray then takes 127.0.0.1 as the node's address
# and binds its servers to it (else it binds them to the machine's own address).
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
# Ray never reports usage to its makers from an evotune run.
QUIET_ENV = {"RAY_USAGE_STATS_ENABLED": "0"}


class _Outbox:
    """The pipe back to the backend; Ray's threads and the main one write to it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self.lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(message)


def _kind(exc: BaseException) -> str:
    """What a Ray error means for its task: crashed, cancelled, error or lost."""
    import ray.exceptions as rex

    if isinstance(exc, rex.TaskCancelledError):
        return "cancelled"
    if isinstance(exc, (rex.WorkerCrashedError, rex.OutOfMemoryError, rex.NodeDiedError)):
        return "crashed"
    if isinstance(exc, rex.RayTaskError):
        return "error"
    return "lost"


def _init(settings: dict[str, Any], temp: str | None) -> dict[str, Any]:
    """Start or join Ray; what the backend needs to know of the cluster.

    The local Ray keeps its session (sockets, logs) in ``temp``, removed after
    it: not in /tmp/ray, where it would become the cluster that a later
    ``ray.init()`` or ``address="auto"`` on the machine finds.
    """
    import ray

    common: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": True}
    if settings["address"] is None:
        ray.init(
            address="local",  # never a cluster found on the machine
            num_cpus=settings["n_workers"],
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            _temp_dir=temp,
            **common,
        )
    else:
        ray.init(address=settings["address"], **common)
    try:  # Ray Client has no GCS address here: the backend probes the client's port
        gcs = str(ray.get_runtime_context().gcs_address or "")
    except Exception:
        gcs = ""
    cpus = int(ray.cluster_resources().get("CPU", 0))
    return {"gcs_address": gcs, "cpus": cpus}


def _serve(conn_in: Connection, out: _Outbox, settings: dict[str, Any], payload: bytes) -> None:
    import ray

    from evotune.backends._ray_worker import run_ray_task, run_ray_task_reporting

    holder = [ray.put(payload)]  # the objective, once, in the object store
    del payload
    reporting = settings["timeout"] is not None
    options: dict[str, Any] = {
        "num_cpus": 1,
        "max_retries": settings["max_retries"],
        "retry_exceptions": False,
        "name": "evotune-task",
    }
    remote: Any = (
        ray.remote(run_ray_task_reporting).options(num_returns="streaming", **options)
        if reporting
        else ray.remote(run_ray_task).options(**options)
    )
    refs: dict[str, Any] = {}
    token, limit = settings["token"], settings["limit_threads"]

    def finished(key: str, future: Any) -> None:
        """Pass on a task's outcome (in Ray's thread that completes its future)."""
        refs.pop(key, None)
        try:
            value = future.result()
        except BaseException as exc:
            out.send(("failed", key, _kind(exc), f"{type(exc).__name__}: {exc}"))
        else:
            out.send(("done", key, value))

    def follow(key: str, stream: Any) -> None:
        """Pass on what one task yields; in a thread of its own while it runs."""
        try:
            for ref in stream:
                value = ray.get(ref)
                out.send(
                    ("started", key, value[1]) if value[0] == "started" else ("done", key, value)
                )
        except BaseException as exc:
            out.send(("failed", key, _kind(exc), f"{type(exc).__name__}: {exc}"))
        finally:
            refs.pop(key, None)

    while True:
        try:
            message = conn_in.recv()
        except (EOFError, OSError):
            return  # the backend is gone
        op = message[0]
        if op == "submit":
            _, key, task = message
            refs[key] = ref = remote.remote(token, holder, task, limit)
            if reporting:
                threading.Thread(target=follow, args=(key, ref), daemon=True).start()
            else:
                ref.future().add_done_callback(lambda f, key=key: finished(key, f))
        elif op == "cancel":
            for key in message[1]:
                ref = refs.get(key)
                if ref is not None:
                    with contextlib.suppress(Exception):
                        ray.cancel(ref, force=True)
        elif op == "cpus":
            try:
                out.send(("cpus", int(ray.cluster_resources().get("CPU", 0))))
            except Exception as exc:
                out.send(("lost", f"{type(exc).__name__}: {exc}"))
        elif op == "close":
            for ref in list(refs.values()):
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            return


def _descendants() -> list[Any]:
    try:
        import psutil

        return list(psutil.Process().children(recursive=True))
    except Exception:
        return []


def _end_processes(processes: list[Any], grace: float) -> None:
    """Terminate what is left of the local Ray's processes, then kill them."""
    import psutil

    alive = [p for p in processes if p.is_running()]
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(alive, timeout=grace)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=grace)


def _watch_driver(parent_pid: int, owned: bool, temp: str | None) -> None:
    """The backstop: once the backend's process is gone, stop the local Ray's
    processes and exit, even if Ray holds the main thread."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.25)
        time.sleep(10.0)  # the main thread's own shutdown comes first
        if owned:
            with contextlib.suppress(Exception):
                _end_processes(_descendants(), 2.0)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        os._exit(1)

    threading.Thread(target=watch, name="evotune-driver-watch", daemon=True).start()


def main(read_fd: int, write_fd: int, parent_pid: int) -> None:
    """The helper's entry point (``python -c``): serve one backend until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the user's process decides about Ctrl-C
    conn_in = Connection(read_fd, writable=False)
    out = _Outbox(Connection(write_fd, readable=False))
    try:
        _, settings, payload = conn_in.recv()
    except (EOFError, OSError):
        return
    owned = settings["address"] is None
    # short: Ray's socket paths in it must stay under the system's limit
    temp = tempfile.mkdtemp(prefix="evotune-ray-") if owned else None
    _watch_driver(parent_pid, owned, temp)
    try:
        info = _init(settings, temp)
    except BaseException as exc:
        text = " ".join(f"{type(exc).__name__}: {exc}".split())
        out.send(("error", text[:2000]))
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        sys.exit(1)
    out.send(("ready", info))
    try:
        _serve(conn_in, out, settings, payload)
    finally:
        processes = _descendants() if owned else []
        import ray

        with contextlib.suppress(Exception):
            ray.shutdown()
        if processes:
            _end_processes(processes, 5.0)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        out.send(("closed",))
