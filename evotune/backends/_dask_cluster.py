"""The helper process that hosts a LocalCluster the Dask backend owns.

It is a fresh interpreter in its own session: its workers never import the
user's ``__main__``, Ctrl-C reaches only the driver, and the helper and its
workers exit as soon as the driver is gone, even after ``kill -9``.
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

_HELLO = "evotune-scheduler "
_HELLO_ERROR = "evotune-error "


def start_helper(
    n_workers: int, allowed_failures: int, timeout: float
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the helper; its process and the scheduler's address."""
    read_fd, write_fd = os.pipe()
    paths = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    code = (
        "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
        "from evotune.backends._dask_cluster import _serve_local_cluster as serve; "
        "serve(*map(int, sys.argv[2:]))"
    )
    args = [json.dumps(paths), str(n_workers), str(allowed_failures), str(os.getpid())]
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


def _serve_local_cluster(n_workers: int, allowed_failures: int, parent_pid: int, fd: int) -> None:
    """Run a LocalCluster on 127.0.0.1 until stdin closes (``python -c`` entry point).

    The scheduler's address is written to ``fd``. The process exits when the
    driver closes its stdin (shutdown) or dies; its workers exit with it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides what Ctrl-C means
    from evotune.backends._worker import _die_with_parent

    _die_with_parent(parent_pid)
    import logging

    import dask
    from distributed import LocalCluster

    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}):
            cluster = LocalCluster(
                host="127.0.0.1",
                scheduler_port=0,
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
    except Exception as exc:
        os.write(fd, (_HELLO_ERROR + json.dumps(f"{type(exc).__name__}: {exc}") + "\n").encode())
        os.close(fd)
        raise SystemExit(1) from None
    os.write(fd, (_HELLO + str(cluster.scheduler_address) + "\n").encode())
    os.close(fd)
    try:
        sys.stdin.read()
    finally:
        cluster.close(timeout=10)


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
