"""Run benchmark jobs in fresh subprocesses and sample their memory.

Each job is ``python -m benchmarks.worker SPEC OUT`` in a new session, so a
peer's threads, loky workers or pool processes cannot leak into the next job.
While it runs, the runner sums the resident memory (``VmRSS``) of the job's
whole process tree every :data:`SAMPLE_EVERY` seconds, from ``/proc``; the peak
of that sum is the job's ``peak_tree_mb`` (shared pages are counted once per
process, so it is an upper bound of the memory the tree needs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["SAMPLE_EVERY", "THREAD_ENV", "run_subprocess", "tree_rss_mb"]

SAMPLE_EVERY = 0.1

# one BLAS/OpenMP thread per process for every tool, so n_jobs is the number
# of cores a run uses (evotune limits its workers the same way itself)
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONWARNINGS": "ignore",
}

_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
_ROOT = Path(__file__).resolve().parent.parent


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, for every process visible in /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: split after the last ')'
        fields = stat[stat.rfind(")") + 2 :].split()
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def tree_rss_mb(root: int) -> float:
    """Summed resident memory of ``root`` and all its descendants, in MiB."""
    tree = _children()
    total = 0.0
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * _PAGE_MB
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(tree.get(pid, ()))
    return total


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """End the job's session (the job and everything it started)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_subprocess(spec: dict[str, Any], log_path: Path, timeout: float) -> dict[str, Any]:
    """Run one job; return its result with ``peak_tree_mb`` and ``job_seconds``.

    A job that fails, crashes or runs past ``timeout`` seconds returns a
    result whose ``error`` says so; the caller records it and goes on.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **THREAD_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    fd, out_name = tempfile.mkstemp(prefix="bench-", suffix=".json")
    os.close(fd)
    out_path = Path(out_name)
    peak = 0.0
    started = time.perf_counter()
    error = ""
    with open(log_path, "ab") as log:
        log.write(f"\n=== {json.dumps(spec)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", json.dumps(spec), str(out_path)],
            cwd=_ROOT,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            while proc.poll() is None:
                peak = max(peak, tree_rss_mb(proc.pid))
                if time.perf_counter() - started > timeout:
                    _kill_tree(proc)
                    error = f"timed out after {timeout:.0f} s"
                    break
                time.sleep(SAMPLE_EVERY)
        except BaseException:
            _kill_tree(proc)
            out_path.unlink(missing_ok=True)
            raise
        _kill_tree(proc)  # stragglers of the job's session (idle loky workers)
    result: dict[str, Any] = {}
    try:
        text = out_path.read_text()
        if text:
            result = json.loads(text)
    except (OSError, json.JSONDecodeError):
        pass
    finally:
        out_path.unlink(missing_ok=True)
    if not error and proc.returncode != 0:
        error = f"worker exited with code {proc.returncode} (see {log_path})"
    if not result and not error:
        error = f"worker wrote no result (see {log_path})"
    if error:
        result["error"] = (result.get("error", "") + "\n" + error).strip()
    result.setdefault("error", "")
    result["peak_tree_mb"] = peak
    result["job_seconds"] = time.perf_counter() - started
    return result
