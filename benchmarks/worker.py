"""One benchmark job in a fresh process: ``python -m benchmarks.worker SPEC OUT``.

``SPEC`` is a JSON object naming the job; the result (or the error) is written
as JSON to the file ``OUT``. Jobs:

- ``{"kind": "search", "tool", "case", "seed", "n_jobs", "budget", "population"}``:
  one search by one tool (see :mod:`benchmarks.peers`);
- ``{"kind": "suite", "tool", "problem", "seed", "n_jobs", "budget", "population"}``:
  one search on a problem of the public suite (:mod:`benchmarks.suite_problems`);
  an optional ``"evotune_path"`` is put first on ``sys.path`` (whose ``evotune``
  package is then the one measured);
- ``{"kind": "journal", "case", "seed", "n_jobs", "budget", "population", "repeats"}``:
  evotune with and without ``checkpoint=`` a temporary directory, alternated;
- ``{"kind": "scale", "population", "generations"}``: evotune on a trivial
  objective (a plain callable, ``n_jobs=1``).

Each job reports ``resource.getrusage`` peaks of itself and of its reaped
children; the runner samples the memory of the whole process tree besides.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import tempfile
import time
import traceback
import warnings
from typing import Any

__all__ = ["main", "run_job"]


def _rss_mb() -> float:
    """Resident memory of this process now, in MiB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _search(spec: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.cases import get_case
    from benchmarks.peers import run_tool

    case = get_case(spec["case"])
    data = case.load_data()
    out = run_tool(
        spec["tool"], case, data, spec["seed"], spec["n_jobs"], spec["budget"], spec["population"]
    )
    return out.to_dict()


def _suite(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("evotune_path"):  # evotune from that tree, ahead of the working directory
        sys.path.insert(0, spec["evotune_path"])
    from benchmarks.peers import run_tool
    from benchmarks.suite_problems import get_problem

    problem = get_problem(spec["problem"])
    data = problem.load_data()
    out = run_tool(
        spec["tool"],
        problem,
        data,
        spec["seed"],
        spec["n_jobs"],
        spec["budget"],
        spec["population"],
    ).to_dict()
    if spec["tool"].startswith("evotune"):
        import evotune

        out["evotune_origin"] = os.path.dirname(os.path.abspath(evotune.__file__))
    return out


def _journal(spec: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.cases import get_case
    from benchmarks.peers import run_evotune

    case = get_case(spec["case"])
    data = case.load_data()
    args = (case, data, spec["seed"], spec["n_jobs"], spec["budget"], spec["population"])
    run_evotune(*args)  # warm-up: imports, caches, the page cache of the temp dir
    plain: list[float] = []
    journaled: list[float] = []
    for i in range(int(spec["repeats"])):
        # alternate the order so a drift in the machine's load hits both
        order = (False, True) if i % 2 == 0 else (True, False)
        for with_journal in order:
            if with_journal:
                with tempfile.TemporaryDirectory(prefix="evotune-bench-") as tmp:
                    out = run_evotune(*args, checkpoint=os.path.join(tmp, "run"))
                journaled.append(out.wall)
            else:
                plain.append(run_evotune(*args).wall)
    return {"plain": plain, "journaled": journaled}


def _trivial(params: dict[str, Any]) -> float:
    """A trivial objective: microseconds per call."""
    return -((params["x"] - 1.0) ** 2) - math.log10(params["y"]) ** 2 - abs(params["n"] - 300) / 1e3


def _scale(spec: dict[str, Any]) -> dict[str, Any]:
    from evotune import Categorical, Float, Integer, Space, evolve

    space = Space(
        {
            "x": Float(-5.0, 5.0),
            "y": Float(1e-3, 1e3, log=True),
            "n": Integer(1, 1000),
            "c": Categorical(["a", "b", "c"]),
        }
    )
    baseline = _rss_mb()
    start = time.perf_counter()
    result = evolve(
        _trivial,
        space,
        population_size=int(spec["population"]),
        generations=int(spec["generations"]),
        n_jobs=1,
        random_state=0,
    )
    wall = time.perf_counter() - start
    return {
        "wall": wall,
        "n_evaluations": int(result.n_evaluations),
        "baseline_rss_mb": baseline,
        "end_rss_mb": _rss_mb(),
        "best_score": float(result.best_score),
    }


JOBS = {"search": _search, "suite": _suite, "journal": _journal, "scale": _scale}


def run_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one job and add the process's memory peaks (MiB) to its result."""
    warnings.filterwarnings("ignore")
    out: dict[str, Any] = {"error": ""}
    try:
        out.update(JOBS[spec["kind"]](spec))
    except Exception:
        out["error"] = traceback.format_exc(limit=6).strip()
    # ru_maxrss is in KiB on Linux; RUSAGE_CHILDREN is the largest reaped child
    out["maxrss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["maxrss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: python -m benchmarks.worker SPEC_JSON OUT_PATH")
    spec = json.loads(args[0])
    result = run_job(spec)
    with open(args[1], "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
