"""Run benchmark jobs in fresh subprocesses; sample their memory and the machine's load.

Each job is ``python -m benchmarks.worker SPEC OUT`` in a new session, so a
peer's threads, loky workers or pool processes cannot leak into the next job.
While it runs, the runner reads ``/proc`` every :data:`SAMPLE_EVERY` seconds:

- ``peak_tree_mb``: the peak of the summed resident memory (RSS) of the job's
  process and all its descendants (shared pages count once per process, so it
  is an upper bound of what the tree needs), and at least the job's own
  ``ru_maxrss``;
- ``foreign_load``: the cores that *other* processes kept busy during the job
  (the machine's busy time from ``/proc/stat`` minus the job tree's and the
  runner's own CPU time, over the job's duration): the noise of a shared machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SAMPLE_EVERY", "THREAD_ENV", "TreeSampler", "run_subprocess"]

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
_HZ = os.sysconf("SC_CLK_TCK")
_ROOT = Path(__file__).resolve().parent.parent


def _busy_ticks() -> int:
    """Busy clock ticks of all CPUs since boot (``/proc/stat``)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return sum(values[:3]) + sum(values[5:8])


def _processes() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, CPU ticks used, resident pages) for every process."""
    out: dict[int, tuple[int, int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: split after the last ')'
        f = stat[stat.rfind(")") + 2 :].split()
        # fields from 3 (state): ppid 4, utime 14, stime 15, rss 24 (1-based, man proc)
        out[int(entry)] = (int(f[1]), int(f[11]) + int(f[12]), int(f[21]))
    return out


@dataclass
class TreeSampler:
    """Memory and CPU time of one process tree, sampled from ``/proc``."""

    root: int
    peak_mb: float = 0.0
    cpu: dict[int, int] = field(default_factory=dict)  # last seen ticks per pid
    _start: float = field(default_factory=time.perf_counter)
    _busy0: int = field(default_factory=_busy_ticks)
    _self0: float = field(default_factory=lambda: sum(os.times()[:2]))

    def sample(self) -> None:
        procs = _processes()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        rss = 0
        stack = [self.root]
        while stack:
            pid = stack.pop()
            if pid in procs:
                _, ticks, pages = procs[pid]
                rss += pages
                self.cpu[pid] = max(self.cpu.get(pid, 0), ticks)
            stack.extend(children.get(pid, ()))
        self.peak_mb = max(self.peak_mb, rss * _PAGE_MB)

    def foreign_load(self) -> float:
        """Cores kept busy by processes outside the tree (and this runner) so far."""
        elapsed = time.perf_counter() - self._start
        if elapsed <= 0:
            return 0.0
        busy = (_busy_ticks() - self._busy0) / _HZ
        tree = sum(self.cpu.values()) / _HZ
        mine = sum(os.times()[:2]) - self._self0
        return max(0.0, (busy - tree - mine) / elapsed)


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """End the job's session (the job and everything it started)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_subprocess(spec: dict[str, Any], log_path: Path, timeout: float) -> dict[str, Any]:
    """Run one job; return its result with ``peak_tree_mb``, ``foreign_load``
    and ``job_seconds``.

    A job that fails, crashes or runs past ``timeout`` seconds returns a
    result whose ``error`` says so; the caller records it and goes on.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **THREAD_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    fd, out_name = tempfile.mkstemp(prefix="bench-", suffix=".json")
    os.close(fd)
    out_path = Path(out_name)
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
        sampler = TreeSampler(proc.pid)
        try:
            while proc.poll() is None:
                sampler.sample()
                if time.perf_counter() - started > timeout:
                    _kill_tree(proc)
                    error = f"timed out after {timeout:.0f} s"
                    break
                time.sleep(SAMPLE_EVERY)
        except BaseException:
            _kill_tree(proc)
            out_path.unlink(missing_ok=True)
            raise
        foreign = sampler.foreign_load()
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
    # the sampled sum can miss a short peak of the job's own process, which
    # getrusage records exactly
    result["peak_tree_mb"] = max(sampler.peak_mb, float(result.get("maxrss_self_mb", 0.0)))
    result["foreign_load"] = foreign
    result["job_seconds"] = time.perf_counter() - started
    return result
