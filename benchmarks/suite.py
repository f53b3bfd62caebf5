"""The public suite: every tool on every problem, seed and budget, each in a fresh process.

In the spirit of Bayesmark: the problems of :mod:`benchmarks.suite_problems`
(model, data set, a documented space, 5-fold CV), budgets 30 and 60, 5 seeds,
each search at ``n_jobs=1``, ``--jobs-at-once`` searches side by side. Each
job's result is saved as ``jobs/<tool>__<problem>__b<budget>__s<seed>.json`` in
``--out`` when it ends, and a job whose file exists is not run again, so a
killed run continues where it stopped and other tools can be added later into
the same directory. The report (:mod:`benchmarks.suite_report`: ``suite.csv``,
``suite.md``, ``suite.png``) is then written from every job file in the
directory, whichever run produced it.

    python -m benchmarks.suite --quick                  # 1 seed, 2 problems, budget 10
    python -m benchmarks.suite --tools RandomizedSearchCV OptunaTPE SMAC
    python -m benchmarks.suite --tools evotune evotune-ga --evotune-path /work/main
    python -m benchmarks.suite --report-only --out benchmarks/results/suite
    python -m benchmarks.suite --dry-run                # list the jobs and exit
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from benchmarks.machine import machine_info
from benchmarks.peers import TOOLS, VARIANTS
from benchmarks.runner import run_subprocess
from benchmarks.suite_problems import PROBLEMS, SUITE_POPULATION
from benchmarks.suite_report import SUITE_TOOLS, write_report

__all__ = ["SUITE_TOOLS", "SuitePlan", "job_path", "main"]

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "suite"
QUICK_PROBLEMS = ("lr-breast", "dt-diabetes")  # a conditional space, a regressor
QUICK_BUDGET = 10


@dataclass(frozen=True)
class SuitePlan:
    """What one invocation runs."""

    tools: tuple[str, ...]
    problems: tuple[str, ...]
    seeds: tuple[int, ...]
    budgets: tuple[int, ...]
    population: int = SUITE_POPULATION
    evotune_path: str = ""

    def specs(self) -> list[dict[str, Any]]:
        """Every job; tools interleaved per (budget, seed, problem), so that a
        change in the machine's load hits all of them."""
        return [
            {
                "kind": "suite",
                "tool": tool,
                "problem": problem,
                "seed": seed,
                "budget": budget,
                "population": self.population,
                "n_jobs": 1,
                **(
                    {"evotune_path": self.evotune_path}
                    if self.evotune_path and tool.startswith("evotune")
                    else {}
                ),
            }
            for budget in self.budgets
            for seed in self.seeds
            for problem in self.problems
            for tool in self.tools
        ]


def job_path(out: Path, spec: dict[str, Any]) -> Path:
    """Where the result of ``spec`` is saved."""
    name = f"{spec['tool']}__{spec['problem']}__b{spec['budget']}__s{spec['seed']}.json"
    return out / "jobs" / name


def _save(path: Path, spec: dict[str, Any], result: dict[str, Any]) -> None:
    """Write one job's result atomically (a killed run leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {k: v for k, v in spec.items() if k != "kind"}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**row, **result}, allow_nan=True))
    os.replace(tmp, path)


def _describe(spec: dict[str, Any], res: dict[str, Any]) -> str:
    head = f"{spec['problem']} b{spec['budget']} s{spec['seed']} {spec['tool']}"
    if res.get("error"):
        return f"{head}: ERROR {res['error'].splitlines()[-1]}"
    return (
        f"{head}: best {res['best_score']:.5g}, wall {res['wall']:.1f} s, "
        f"{res['n_requested']} evals ({res['n_distinct']} distinct), "
        f"job {res['job_seconds']:.1f} s"
    )


class _Stop:
    """SIGTERM / SIGINT: start no new job, let the running ones finish and save."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        print(f"signal {signum}: finishing the running jobs, starting no new one", flush=True)
        self.event.set()


def run_jobs(
    specs: list[dict[str, Any]], out: Path, jobs_at_once: int, timeout: float
) -> tuple[int, bool]:
    """Run ``specs`` (none whose result exists), ``jobs_at_once`` at a time.

    Returns the number of jobs run and whether every job was run (False when
    stopped by a signal).
    """
    stop = _Stop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    log = out / "logs" / "jobs.log"
    todo = list(specs)
    started = time.perf_counter()
    done = 0
    with ThreadPoolExecutor(max_workers=jobs_at_once) as pool:
        running: dict[Future[dict[str, Any]], dict[str, Any]] = {}
        while todo or running:
            while todo and len(running) < jobs_at_once and not stop.event.is_set():
                spec = todo.pop(0)
                running[pool.submit(run_subprocess, spec, log, timeout)] = spec
            if not running:
                break
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                spec = running.pop(fut)
                res = fut.result()
                _save(job_path(out, spec), spec, res)
                done += 1
                elapsed = time.perf_counter() - started
                eta = elapsed / done * (len(todo) + len(running))
                print(
                    f"[{done}/{len(specs)}, {elapsed / 60:.1f} min, about {eta / 60:.0f} min "
                    f"left] {_describe(spec, res)}",
                    flush=True,
                )
    return done, not todo


def _git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (modified)" if dirty else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.suite", description=__doc__.splitlines()[0]
    )
    names = list(TOOLS) + list(VARIANTS)
    parser.add_argument(
        "--quick", action="store_true", help=f"1 seed, {QUICK_PROBLEMS}, budget {QUICK_BUDGET}"
    )
    parser.add_argument("--tools", nargs="+", choices=names, help=f"default: {SUITE_TOOLS}")
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS), help="default: all")
    parser.add_argument("--seeds", nargs="+", type=int, help="default: 0 1 2 3 4 (quick: 0)")
    parser.add_argument("--budgets", nargs="+", type=int, help="default: 30 60 (quick: 10)")
    parser.add_argument("--jobs-at-once", type=int, default=2, help="concurrent searches")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per job")
    parser.add_argument(
        "--retry-errors", action="store_true", help="run again the jobs saved with an error"
    )
    parser.add_argument(
        "--evotune-path",
        type=Path,
        help="a source tree whose evotune package the evotune jobs import (e.g. /work/main); "
        "default: the one importable from this tree (the report names it)",
    )
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report")
    parser.add_argument("--dry-run", action="store_true", help="print the jobs and exit")
    return parser.parse_args(argv)


def _plan(args: argparse.Namespace) -> SuitePlan:
    return SuitePlan(
        tools=tuple(args.tools or SUITE_TOOLS),
        problems=tuple(args.problems or (QUICK_PROBLEMS if args.quick else PROBLEMS)),
        seeds=tuple(args.seeds if args.seeds is not None else ((0,) if args.quick else range(5))),
        budgets=tuple(args.budgets or ((QUICK_BUDGET,) if args.quick else (30, 60))),
        evotune_path=str(args.evotune_path.resolve()) if args.evotune_path else "",
    )


def _pending(specs: list[dict[str, Any]], out: Path, retry_errors: bool) -> list[dict[str, Any]]:
    """The jobs without a saved result (or, with ``retry_errors``, with a failed one)."""
    todo = []
    for spec in specs:
        path = job_path(out, spec)
        if path.exists() and (not retry_errors or not json.loads(path.read_text()).get("error")):
            continue
        todo.append(spec)
    return todo


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out: Path = args.out
    plan = _plan(args)
    specs = plan.specs()
    if args.dry_run:
        for spec in specs:
            print(json.dumps(spec))
        print(f"{len(specs)} jobs")
        return
    out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        todo = _pending(specs, out, args.retry_errors)
        info = machine_info()
        print(
            f"suite: {len(plan.tools)} tools x {len(plan.problems)} problems x seeds "
            f"{list(plan.seeds)} x budgets {list(plan.budgets)} = {len(specs)} jobs, "
            f"{len(specs) - len(todo)} already done; {args.jobs_at_once} at once; "
            f"{info['date']}, load average {info['load average at start']}",
            flush=True,
        )
        began = dt.datetime.now(dt.timezone.utc)
        commit = _git_commit()  # the code the jobs run
        start = time.perf_counter()
        n_run, complete = run_jobs(todo, out, args.jobs_at_once, args.timeout)
        record = {
            "started": began.strftime("%Y-%m-%d %H:%M UTC"),
            "minutes": round((time.perf_counter() - start) / 60, 1),
            "tools": list(plan.tools),
            "problems": list(plan.problems),
            "seeds": list(plan.seeds),
            "budgets": list(plan.budgets),
            "jobs_at_once": args.jobs_at_once,
            "jobs_run": n_run,
            "jobs_skipped": len(specs) - len(todo),
            "complete": complete,
            "commit": commit,
            "machine": info,
        }
        if n_run:
            with open(out / "runs.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
        print(f"ran {n_run} jobs in {record['minutes']} min", flush=True)
    paths = write_report(out)
    print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
