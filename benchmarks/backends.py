"""The backends side by side: serial, the process pool, Dask and Ray.

    python -m benchmarks.backends [--repeats 3] [--workers 2] [--backends process,ray]

On benchmark case C4 (LogisticRegression(max_iter=50) on
make_classification(500, 20), 3 folds, budget 200, population 20: fits of a
few milliseconds, so the backends' own costs show), and on a function that
keeps a core busy for a fixed time per call (where the work dominates):

- **startup**: from ``start()`` to the first result of one task, and the
  ``shutdown()`` after it (the pool's workers and the local Dask cluster);
- **wall**, **own overhead per evaluation** ((wall - sum of task times /
  workers) / evaluations, start-up included) and the **speedup** over serial
  of whole ``evolve`` runs, with a check that every backend gave the serial
  history; "after start-up" compares the walls after each run's first
  evaluation (the speedup a long run approaches);
- **round trip**: one task at a time, submit to result, on a trivial objective,
  and the time per task when 200 of them are queued at once;
- **per-task CPU** of the driver, of the Dask scheduler (the helper process
  that hosts the local cluster), of Ray's helper (the process that is the Ray
  driver) and of Ray's head (its raylet and GCS server), from which the closing
  notes estimate how the overhead scales with workers.

Medians over ``--repeats``. Nothing here is a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import psutil

from benchmarks.cases import get_case
from benchmarks.machine import machine_info
from benchmarks.peers import evotune_generations

BACKENDS = ("serial", "process", "dask", "ray")


def busy(seconds: float) -> Callable[[dict[str, Any]], float]:
    """A plain objective that keeps one core busy for ``seconds`` per call."""

    def objective(p: dict[str, Any]) -> float:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
        return -((p["x"] - 0.3) ** 2)

    return objective


def make_backend(name: str, workers: int) -> Any:
    from evotune import DaskBackend, RayBackend, SerialBackend
    from evotune.backends.process import ProcessPoolBackend

    if name == "serial":
        return SerialBackend()
    if name == "process":
        return ProcessPoolBackend(workers)
    if name == "ray":
        return RayBackend(n_workers=workers)
    return DaskBackend(n_workers=workers)


def c4_objective() -> tuple[Any, Any]:
    from benchmarks.cases import evotune_space
    from evotune import CrossValScore

    case = get_case("C4")
    X, y = case.load_data()
    objective = CrossValScore(case.make_estimator(), X, y, cv=case.cv(), scoring=case.scoring)
    return objective, evotune_space(case)


def startup(name: str, workers: int, objective: Any) -> tuple[float, float]:
    """Seconds from start() to one task's result, and of the shutdown."""
    from evotune.evaluation import Task

    backend = make_backend(name, workers)
    t0 = time.perf_counter()
    backend.start(objective)
    backend.submit(Task("0:0", 0, {"C": 1.0}, 0, 0))
    while not backend.wait(timeout=1.0):
        pass
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    backend.shutdown()
    return first, time.perf_counter() - t1


class FirstResult:
    """Clocks the first evaluation of a run (start-up and first task included)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.first = math.nan

    def on_evaluation(self, evaluation: Any) -> None:
        if math.isnan(self.first):
            self.first = time.perf_counter() - self.t0


def run(
    name: str, workers: int, objective: Any, space: Any, **settings: Any
) -> tuple[float, float, Any, int]:
    """One evolve run: wall seconds, seconds to its first evaluation, its
    result, workers used."""
    from evotune import evolve

    backend = make_backend(name, workers)
    clock = FirstResult()
    result = evolve(objective, space, backend=backend, callbacks=[clock], **settings)
    wall = time.perf_counter() - clock.t0
    return wall, clock.first, result, 1 if name == "serial" else workers


def round_trip_and_cpu(name: str, workers: int, n: int = 200) -> dict[str, float]:
    """Trivial tasks: the sequential round trip, and the CPU per task of this
    process, of the helper process (Dask: it hosts the scheduler; Ray: it is
    the Ray driver) and (Ray) of the head's raylet and GCS server."""
    from evotune.evaluation import FunctionObjective, Task

    backend = make_backend(name, workers)
    backend.start(FunctionObjective(_trivial))
    task = Task("w:0", 0, {"x": 0.0}, 0, 0)
    backend.submit(task)
    while not backend.wait(timeout=1.0):
        pass
    t0 = time.perf_counter()
    for i in range(50):
        backend.submit(Task(f"r{i}:0", i, {"x": 0.0}, 0, 0))
        while not backend.wait(timeout=1.0):
            pass
    rtt = (time.perf_counter() - t0) / 50
    helper = _helper(name)
    head = _ray_head(helper) if name == "ray" else []
    h0, s0 = _cpu(helper), sum(_cpu(p) for p in head)
    c0 = time.process_time()
    t0 = time.perf_counter()
    for i in range(n):
        backend.submit(Task(f"b{i}:0", i, {"x": 0.0}, 0, 0))
    got = 0
    while got < n:
        got += len(backend.wait(timeout=1.0))
    wall = time.perf_counter() - t0
    driver = time.process_time() - c0
    in_helper = _cpu(helper) - h0 if helper is not None else float("nan")
    in_head = sum(_cpu(p) for p in head) - s0 if head else float("nan")
    backend.shutdown()
    return {
        "rtt_ms": 1000 * rtt,
        "throughput_ms": 1000 * wall / n,
        "driver_cpu_ms": 1000 * driver / n,
        # Dask's scheduler lives in its helper; Ray's in the head's raylet and GCS
        "scheduler_cpu_ms": 1000 * (in_head if name == "ray" else in_helper) / n,
        "helper_cpu_ms": 1000 * in_helper / n if name == "ray" else float("nan"),
    }


def _trivial(p: dict[str, Any]) -> float:
    return float(p["x"])


def _helper(name: str) -> psutil.Process | None:
    """The helper process of the Dask or Ray backend (None for the others)."""
    mark = {"dask": "_dask_cluster", "ray": "_ray_helper"}.get(name)
    for child in psutil.Process().children() if mark else []:
        try:
            if mark in " ".join(child.cmdline()):
                return child
        except psutil.Error:
            continue
    return None


def _ray_head(helper: psutil.Process | None) -> list[psutil.Process]:
    """The local Ray's raylet and GCS server (children of its helper)."""
    if helper is None:
        return []
    return [p for p in helper.children(recursive=True) if p.name() in ("raylet", "gcs_server")]


def _cpu(proc: psutil.Process | None) -> float:
    """User + system CPU seconds of ``proc`` alone (not its workers)."""
    if proc is None:
        return float("nan")
    t = proc.cpu_times()
    return float(t.user + t.system)


def comparable(result: Any) -> Any:
    return result.history.drop(columns=["fit_time", "score_time"]).reset_index(drop=True)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--busy-ms", type=float, default=150.0, help="CPU per busy call")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated backends to measure (serial always runs: it is the reference)",
    )
    args = parser.parse_args()
    args.names = ["serial", *[b for b in args.backends.split(",") if b and b != "serial"]]
    unknown = [b for b in args.names if b not in BACKENDS]
    if unknown:
        parser.error(f"--backends: unknown {', '.join(unknown)}; choose from {BACKENDS}")
    return args


def _same_as_serial(name: str, key: str, result: Any, reference: dict[str, Any]) -> None:
    if key in reference and not comparable(result).equals(reference[key]):
        raise SystemExit(f"{name}: the {key} history differs from the serial one")
    reference.setdefault(key, comparable(result))


def measure(
    name: str, args: argparse.Namespace, c4: dict[str, Any], reference: dict[str, Any]
) -> dict[str, float]:
    """One backend's medians over the repeats: start-up, C4 and the busy function."""
    from evotune import Float

    w = args.workers
    objective, space = c4_objective()
    busy_settings = {"population_size": 10, "generations": 5, "random_state": 0}
    busy_space = {"x": Float(-1.0, 1.0)}
    starts, stops, walls, overheads, busy_walls, busy_rest = [], [], [], [], [], []
    for rep in range(args.repeats):
        first, stop = startup(name, w, objective)
        starts.append(first)
        stops.append(stop)
        wall, _, result, n = run(name, w, objective, space, **c4)
        tasks = result.history["fit_time"].sum() + result.history["score_time"].sum()
        walls.append(wall)
        overheads.append(1000 * (wall - tasks / n) / len(result.history))
        _same_as_serial(name, "c4", result, reference)
        bwall, bfirst, bresult, _ = run(
            name, w, busy(args.busy_ms / 1000), busy_space, **busy_settings
        )
        busy_walls.append(bwall)
        busy_rest.append(bwall - bfirst)
        _same_as_serial(name, "busy", bresult, reference)
        print(
            f"    repeat {rep}: first result {first:.2f} s, shutdown {stop:.2f} s, "
            f"C4 wall {wall:.2f} s, busy wall {bwall:.2f} s",
            flush=True,
        )
    return {
        "start": statistics.median(starts),
        "stop": statistics.median(stops),
        "wall": statistics.median(walls),
        "overhead": statistics.median(overheads),
        "busy": statistics.median(busy_walls),
        "busy_rest": statistics.median(busy_rest),
        "evals": float(len(reference["c4"])),
        "busy_evals": float(len(reference["busy"])),
        **round_trip_and_cpu(name, w),
    }


def table(rows: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    """The markdown table of every backend measured, then the notes on scaling."""
    serial = rows["serial"]
    print()
    print(
        f"C4 ({int(serial['evals'])} evaluations x 3 folds) and a busy function "
        f"({int(serial['busy_evals'])} calls of {args.busy_ms:g} ms CPU), {args.workers} "
        f"workers, medians of {args.repeats}; every backend gave the serial history"
    )
    print()
    head = (
        "| backend | first result s | shutdown s | C4 wall s | C4 overhead ms/eval "
        "| C4 speedup | busy wall s | busy speedup | busy speedup after start-up "
        "| round trip ms | ms/task, all queued | driver CPU ms/task | scheduler CPU ms/task "
        "| Ray helper CPU ms/task |"
    )
    print(head)
    print("|" + "---|" * head.count(" | ") + "---|")
    for name, r in rows.items():
        sched, helper = (
            "—" if math.isnan(r[k]) else f"{r[k]:.2f}"
            for k in ("scheduler_cpu_ms", "helper_cpu_ms")
        )
        print(
            f"| {name} | {r['start']:.2f} | {r['stop']:.2f} | {r['wall']:.2f} "
            f"| {r['overhead']:.2f} | {serial['wall'] / r['wall']:.2f}x | {r['busy']:.2f} "
            f"| {serial['busy'] / r['busy']:.2f}x "
            f"| {serial['busy_rest'] / r['busy_rest']:.2f}x "
            f"| {r['rtt_ms']:.2f} | {r['throughput_ms']:.2f} | {r['driver_cpu_ms']:.2f} "
            f"| {sched} | {helper} |"
        )
    if "dask" in rows:
        scaling_note(rows["dask"], "Dask", "the scheduler's")
    if "ray" in rows:
        r = rows["ray"]
        scaling_note(r, "Ray", "the head's (raylet and GCS)")
        print(
            f"- Ray's helper (the process that is the Ray driver) adds {r['helper_cpu_ms']:.2f} "
            "ms of CPU per task on the driver's machine: the driver's side saturates at "
            f"about {1000 / max(r['driver_cpu_ms'] + r['helper_cpu_ms'], 1e-9):,.0f} tasks/s."
        )


def main() -> None:
    args = _arguments()
    info = machine_info()
    from importlib import metadata

    print(
        f"backends benchmark, {info['date']}: {info['cores']} cores, {info['cpu']}, "
        f"{info['platform']}; Python {info['python']}, evotune {info['evotune']}, "
        f"dask {_version(metadata, 'distributed')}, ray {_version(metadata, 'ray')}, "
        f"scikit-learn {info['scikit-learn']}; "
        f"load average at start {info['load average at start']}",
        flush=True,
    )
    case = get_case("C4")
    c4 = {
        "population_size": case.population,
        "generations": evotune_generations(case.budget, case.population),
        "max_evaluations": case.budget,
        "random_state": 0,
    }
    rows: dict[str, dict[str, float]] = {}
    reference: dict[str, Any] = {}
    for name in args.names:
        print(f"  {name} ...", flush=True)
        rows[name] = measure(name, args, c4, reference)
    table(rows, args)


def _version(metadata: Any, name: str) -> str:
    try:
        return str(metadata.version(name))
    except metadata.PackageNotFoundError:
        return "not installed"


def scaling_note(d: dict[str, float], label: str, scheduler: str) -> None:
    """How one cluster backend's overhead scales with workers, on paper."""
    rtt = d["rtt_ms"] / 1000
    costs = (d["driver_cpu_ms"], d["scheduler_cpu_ms"], d.get("helper_cpu_ms", math.nan))
    per_task = max(c for c in costs if not math.isnan(c)) / 1000
    print()
    print(f"How the {label} overhead scales with workers (on paper, from the figures above):")
    print(
        f"- each task costs about {d['driver_cpu_ms']:.2f} ms of the driver's CPU and "
        f"{d['scheduler_cpu_ms']:.2f} ms of {scheduler}, whatever the number of workers; "
        f"each worker waits one round trip (~{d['rtt_ms']:.0f} ms) between two tasks, since "
        "evotune keeps one task in flight per worker thread."
    )
    print(
        "- a task of T seconds keeps a worker busy T / (T + round trip) of the time; the "
        "busiest process of the driver or scheduler saturates at "
        "W = (T + round trip) / (its CPU per task) workers:"
    )
    for t in (0.01, 0.1, 1.0, 10.0):
        eff = t / (t + rtt)
        wmax = (t + rtt) / per_task if per_task > 0 else float("inf")
        print(f"  T = {t:g} s: {100 * eff:.0f}% busy, up to about {wmax:,.0f} workers")
    print(
        "- the round trip on a real network adds its latency (a LAN: well under 1 ms); the "
        "per-task CPU is the limit, so with one-second fits hundreds of workers stay busy."
    )


if __name__ == "__main__":
    main()
