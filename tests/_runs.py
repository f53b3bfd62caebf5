"""Shared pieces of the crash, resume and pool tests: a deterministic mixed
objective and a script that runs it in a real subprocess."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from evotune import Categorical, Float, Integer, Space

SPACE = Space(
    {
        "x": Float(-2.0, 2.0),
        "lr": Float(1e-4, 1.0, log=True),
        "n": Integer(0, 20),
        "kind": Categorical(["a", "b", "c"]),
    }
)


def mixed(p: dict) -> float:
    bonus = {"a": 0.0, "b": 0.5, "c": -0.5}[p["kind"]]
    return (
        -((p["x"] - 0.7) ** 2) - (math.log10(p["lr"]) + 2) ** 2 - ((p["n"] - 13) / 4) ** 2 + bonus
    )


SCRIPT = textwrap.dedent(
    """
    import math, os, signal, sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from _runs import SPACE, mixed
    from evotune import evolve

    KILL_AT = int(os.environ.get("KILL_AT", "-1"))        # SIGKILL at this call (in-process)
    KILL_GEN = int(os.environ.get("KILL_GEN", "-1"))      # SIGKILL after this generation
    KILL_PARENT_AT = int(os.environ.get("KILL_PARENT_AT", "-1"))  # a worker kills the parent
    SLOW = float(os.environ.get("SLOW", "0"))
    PIDS = os.environ.get("PIDS")
    calls = 0

    def objective(p):
        global calls
        calls += 1
        if PIDS:
            Path(PIDS, str(os.getpid())).touch()
        if SLOW:
            time.sleep(SLOW)
        if calls == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)
        if KILL_PARENT_AT > 0 and p["n"] == KILL_PARENT_AT:
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(30)
        return mixed(p)

    def at_end(state):
        if state.generation == KILL_GEN:
            os.kill(os.getpid(), signal.SIGKILL)

    if __name__ == "__main__":
        from evotune._signals import Interrupted
        try:
            r = evolve(objective, SPACE, population_size=8, generations=int(sys.argv[3]),
                       random_state=0, n_jobs=int(sys.argv[2]), checkpoint=sys.argv[1],
                       resume=True, callbacks=[at_end],
                       strategy=os.environ.get("STRATEGY", "ga"))
        except Interrupted as exc:
            sys.exit(exc.exit_code)
        print("done", len(r.history))
    """
)


def write_script(directory: Path) -> Path:
    path = directory / "run_evolution.py"
    path.write_text(SCRIPT.format(tests=str(Path(__file__).parent)))
    return path


def run_script(
    script: Path,
    checkpoint: Path,
    *,
    n_jobs: int = 1,
    generations: int = 5,
    env: dict | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(script), str(checkpoint), str(n_jobs), str(generations)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def comparable(history):
    """The history without its wall-clock columns."""
    return history.drop(columns=["fit_time", "score_time"]).reset_index(drop=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
    except OSError:
        return False
    return True


class KillingLogisticRegression:
    """A LogisticRegression whose process SIGKILLs itself at the N-th fit
    (``KILL_FIT_AT``), to cut a search short the way a crash would."""


def _make_killing_estimator():
    import signal

    from sklearn.linear_model import LogisticRegression

    class KillingLR(LogisticRegression):
        fits = 0

        def fit(self, X, y, sample_weight=None):
            KillingLR.fits += 1
            if KillingLR.fits == int(os.environ.get("KILL_FIT_AT", "-1")):
                os.kill(os.getpid(), signal.SIGKILL)
            return super().fit(X, y, sample_weight=sample_weight)

    KillingLR.__name__ = KillingLR.__qualname__ = "KillingLR"
    return KillingLR


KillingLR = _make_killing_estimator()
del KillingLogisticRegression


class FoldObjective:
    """``mixed`` on three "folds" that differ by a fixed offset, like CV
    folds of unequal difficulty (for racing)."""

    n_tasks = 3
    OFFSETS = (0.0, -0.3, 0.2)

    def run(self, params: dict, task: int, seed: int):
        from evotune import FoldResult

        return FoldResult(score=mixed(params) + self.OFFSETS[task] * (1 + 0.1 * params["n"]))
