"""The helper process that hosts a LocalCluster the Dask backend owns.

It is a fresh interpreter in its own session: its workers never import the
user's ``__main__``, Ctrl-C reaches only the driver, and the helper and its
workers exit as soon as the driver is gone, even after ``kill -9``.

Its ``sys.path`` is the driver's, exactly: ``python -c`` would put the working
directory first, so a folder there named like a package (``evotune`` itself)
would shadow the installed one in the helper and its workers. Nothing in it
serves HTTP: Dask's scheduler and workers start an HTTP server even without a
dashboard (the scheduler on port 8787); the helper closes them.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from distributed import WorkerPlugin

_HELLO = "evotune-scheduler "
_HELLO_ERROR = "evotune-error "


def start_helper(
    n_workers: int, allowed_failures: int, timeout: float, memory_limit: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the helper; its process and the scheduler's address."""
    read_fd, write_fd = os.pipe()
    # the driver's own path, '' (the driver's working directory) made absolute;
    # it replaces the helper's, which starts with '' (its working directory)
    paths = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    code = (
        "import sys; sys.path[:] = [p for p in sys.path if p]; "
        "import json; sys.path[:] = json.loads(sys.argv[1]); "
        "from evotune.backends._dask_cluster import _serve_local_cluster as serve; "
        "serve(*map(int, sys.argv[2:]))"
    )
    args = [
        json.dumps(paths),
        str(n_workers),
        str(allowed_failures),
        str(os.getpid()),
        str(memory_limit or 0),
    ]
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args, str(write_fd)],
            stdin=subprocess.PIPE,
            pass_fds=(write_fd,),
            start_new_session=True,
        )
    finally:
        os.close(write_fd)
    return proc, _read_hello(read_fd, proc, timeout)


def _config(allowed_failures: int, memory_limit: int) -> dict[str, Any]:
    """The Dask settings of the local cluster."""
    config: dict[str, Any] = {"distributed.scheduler.allowed-failures": allowed_failures}
    if memory_limit:
        # a worker past the limit is restarted by its nanny; Dask would first
        # pause it at 80%, and a worker that leaks stays paused for good
        config.update(
            {
                "distributed.worker.memory.target": False,
                "distributed.worker.memory.spill": False,
                "distributed.worker.memory.pause": False,
                "distributed.worker.memory.terminate": 1.0,
            }
        )
    return config


class _NoHttp(WorkerPlugin):
    """Stops a worker's HTTP server (Dask starts one even without a dashboard)."""

    idempotent = True

    def setup(self, worker: Any) -> None:
        server = getattr(worker, "http_server", None)
        if server is not None:
            server.stop()


def _close_http(cluster: Any) -> None:
    """No HTTP server in the cluster: the scheduler's, and every worker's,
    including those a nanny restarts later (a worker plugin)."""

    async def stop() -> None:  # on the scheduler's event loop
        cluster.scheduler.http_server.stop()

    cluster.sync(stop)
    from distributed import Client

    with Client(cluster, set_as_default=False) as client:
        client.register_plugin(_NoHttp(), name="evotune-no-http")


def _serve_local_cluster(
    n_workers: int, allowed_failures: int, parent_pid: int, memory_limit: int, fd: int
) -> None:
    """Run a LocalCluster on 127.0.0.1 until stdin closes (``python -c`` entry point).

    The scheduler's address is written to ``fd``. The process exits when the
    driver closes its stdin (shutdown) or dies; its workers exit with it.
    ``memory_limit`` (bytes; 0 for Dask's default) is each nanny's limit.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides what Ctrl-C means
    _exit_late_without_driver(parent_pid)
    import logging

    import dask
    from distributed import LocalCluster

    # set for the helper's whole life, not in a `with` block: a nanny keeps a
    # shallow copy of the config, whose inner dicts the block's end would restore
    # (a worker it restarts later would run with Dask's defaults)
    dask.config.set(_config(allowed_failures, memory_limit))
    try:
        cluster = LocalCluster(
            host="127.0.0.1",
            scheduler_port=0,
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # its HTTP server (closed at once) must not take port 8787
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            memory_limit=memory_limit or "auto",
            silence_logs=logging.ERROR,
        )
    except Exception as exc:
        os.write(fd, (_HELLO_ERROR + json.dumps(f"{type(exc).__name__}: {exc}") + "\n").encode())
        os.close(fd)
        raise SystemExit(1) from None
    with contextlib.suppress(Exception):  # no HTTP is a nicety, not worth a failed run
        _close_http(cluster)
    try:
        try:
            os.write(fd, (_HELLO + str(cluster.scheduler_address) + "\n").encode())
            os.close(fd)
        except OSError:
            return  # the driver is gone already
        _wait_for_driver(parent_pid)
    finally:
        cluster.close(timeout=10)


# Seconds the helper has to close its cluster once the driver is gone.
_GRACE = 30.0


def _wait_for_driver(parent_pid: int) -> None:
    """Return when the driver closes the helper's stdin (shutdown) or is gone.

    The helper then closes its cluster itself. Killed instead (as it was, by
    a parent-death signal), it never ran the finalizers of the semaphores its
    nannies' queues hold, and its resource tracker warned of 12 "leaked
    semaphore objects" on the user's terminal.
    """
    if os.name != "posix":  # pragma: no cover - select() takes no pipe there
        sys.stdin.read()
        return
    import select

    while os.getppid() == parent_pid:
        ready, _, _ = select.select([0], [], [], 0.25)
        if ready and not os.read(0, 4096):
            return


def _exit_late_without_driver(parent_pid: int) -> None:
    """The backstop: once the driver is gone, the helper has ``_GRACE``
    seconds to close its cluster (it may still be starting it) before it exits."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.25)
        time.sleep(_GRACE)
        os._exit(1)

    threading.Thread(target=watch, name="evotune-driver-watch", daemon=True).start()


def stop_helper(proc: subprocess.Popen[bytes]) -> None:
    """Ask the helper to close its cluster, then make sure it is gone."""
    if proc.poll() is not None:
        return
    try:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=15)
    except Exception:
        proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)


def _read_hello(fd: int, proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The scheduler address the helper writes to ``fd``, or a clear error."""
    box: queue.Queue[bytes] = queue.Queue()

    def read() -> None:
        data = b""
        try:
            while not data.endswith(b"\n"):
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                data += chunk
        finally:
            box.put(data)

    threading.Thread(target=read, name="evotune-dask-hello", daemon=True).start()
    try:
        line = box.get(timeout=timeout).decode(errors="replace").strip()
    except queue.Empty:
        line = ""
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    if line.startswith(_HELLO):
        return line[len(_HELLO) :]
    stop_helper(proc)
    if line.startswith(_HELLO_ERROR):
        why = json.loads(line[len(_HELLO_ERROR) :])
    elif proc.poll() is not None:
        why = f"its process exited with code {proc.returncode} (its error is printed above)"
    else:
        why = f"it did not start within {timeout} s"
    raise RuntimeError(f"DaskBackend: the local Dask cluster failed to start: {why}")
