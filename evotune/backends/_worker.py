"""The worker side of the process pool: kept tiny, imported in every worker.

A worker receives the pickled objective once, then runs one task per message
until it is told to stop, its pipe closes, or its parent disappears. Every
exception of a task comes back as a failed result; only a death of the process
itself (a segfault, the kernel's OOM killer, ``os._exit``) is a crash, which the
parent sees through the worker's sentinel.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _die_with_parent(parent_pid: int) -> None:
    """Exit at once when the parent goes, even in the middle of a long fit."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:
            pass

    # The prctl above can be lost (the parent thread that forked us exited
    # first) and does not exist off Linux: a watchdog covers both.
    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.25)

    threading.Thread(target=watch, name="evotune-parent-watch", daemon=True).start()
    if os.getppid() != parent_pid:
        os._exit(1)


def _drop_inherited(fds: list[int]) -> None:
    """Point the parent's file descriptors that a fork copied at /dev/null.

    Closing them would free their numbers for reuse, and a copied Python file
    object finalised later would then close a descriptor it does not own.
    """
    if not fds:
        return
    null = os.open(os.devnull, os.O_RDWR)
    for fd in fds:
        if fd != null:
            try:
                os.dup2(null, fd)
            except OSError:
                pass


def resident_bytes() -> int:
    """This process's resident memory (RSS) now, in bytes; 0 where unknown.

    Read from ``/proc`` on Linux; elsewhere from psutil when it is installed,
    else the peak RSS (``getrusage``), which never falls, so a recycled worker
    is judged by its peak.
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)
    except Exception:
        return 0


def worker_main(
    conn: Any,
    parent_pid: int,
    limit_threads: bool,
    inherited: list[int] | None = None,
    measure: bool = False,
) -> None:
    """Entry point of a pool worker process (``measure``: report the RSS after each task)."""
    _drop_inherited(list(inherited or []))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent_pid)
    if limit_threads:
        for var in _THREAD_VARS:
            os.environ[var] = "1"
    import dill

    objective = dill.loads(conn.recv_bytes())
    limiter = None
    if limit_threads:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=1)
    from evotune._objective import error_text
    from evotune.pruning import run_task

    conn.send(("ready", os.getpid()))
    try:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            if msg is None:
                break
            task_id, params, fold, seed, bounds = msg
            reply: tuple[Any, ...]
            try:
                # the RSS after the task: the parent replaces a worker past its memory limit
                result = run_task(objective, params, fold, seed, bounds)
                reply = ("done", task_id, result, resident_bytes() if measure else 0)
            except Exception as exc:  # the objective chose to raise (error_score="raise")
                try:
                    blob = dill.dumps(exc)
                except Exception:
                    blob = None
                reply = ("raised", task_id, error_text(exc), blob)
            try:
                conn.send(reply)
            except (EOFError, OSError, BrokenPipeError):
                break
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
