"""The driver's time to propose candidates, by history size (issue 13, item 4).

A model-based strategy refits its model as the history grows; its cost must
stay small next to a fit. For each history size N (100, 1,000 and 10,000
evaluations by default), a run of ``strategy="model_based"`` is given N
random evaluations of a cheap function on a mixed, conditional space of
eight parameters, then proposes children one at a time, each after the
result before it is told (``in_flight=1``): ``max(population, N // 20)``
children. Each child conditions the GP on at most ``max_model_points`` rows
and searches the expected improvement; the kernel's hyperparameters are
refitted (on at most 80 rows) once per refit period (a power of two near
5 % of the history: 4 children at 100, 32 at 1,000, 256 at 10,000). The
amortised cost per child is a child without a refit plus one refit's extra
time shared by the children of a period: what a long run pays. The plain
mean over the timed children is reported too (it over-counts refits: the
first child fits from scratch). Optuna's TPE sampler is timed the same way
(N trials added, then ``population_size`` asks and tells) when installed.

    python -m benchmarks.propose_time [--sizes 100 1000 10000] [--out benchmarks/results]

Writes ``propose_time.md`` and ``propose_time.json`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import machine_info, machine_lines
from evotune import Categorical, Evolution, Float, Integer, Space
from evotune.strategies import ModelBased
from evotune.strategies.model_based import refit_point

SPACE = Space(
    {
        "model": Categorical(["svc", "tree"]),
        "C": Float(1e-3, 1e3, log=True, when={"model": "svc"}),
        "gamma": Float(1e-5, 1.0, log=True, when={"model": "svc"}),
        "depth": Integer(1, 30, when={"model": "tree"}),
        "min_leaf": Integer(1, 64, when={"model": "tree"}),
        "lr": Float(1e-4, 1.0, log=True),
        "n": Integer(1, 100),
        "kind": Categorical(["a", "b", "c", "d"]),
    }
)


def score(p: dict[str, Any]) -> float:
    """A cheap function of every active parameter with one best region."""
    s = -((math.log10(p["lr"]) + 2) ** 2) - ((p["n"] - 40) / 30) ** 2
    s -= {"a": 0.5, "b": 0.0, "c": 0.3, "d": 0.8}[p["kind"]]
    if p["model"] == "svc":
        s -= (math.log10(p["C"]) - 1) ** 2 / 4 + (math.log10(p["gamma"]) + 3) ** 2 / 4
    else:
        s -= 0.5 + ((p["depth"] - 8) / 10) ** 2 + (p["min_leaf"] / 64) ** 2
    return s


def time_evotune(n_history: int, population: int, seed: int) -> tuple[list[float], list[bool]]:
    """Seconds per child at a history of ``n_history`` evaluations, and
    whether each child's model refitted the kernel's hyperparameters."""
    evo = Evolution(
        SPACE,
        population_size=population,
        strategy=ModelBased(n_initial=n_history, in_flight=1),
        random_state=seed,
    )
    first = evo.ask()
    evo.tell([evo.evaluation_of(c, score(c.params)) for c in first[:-1]])
    times, refits = [], []
    last, fitted_at = first[-1], None
    for _ in range(max(population, n_history // 20)):
        start = time.perf_counter()
        evo.tell([evo.evaluation_of(last, score(last.params))])  # breeds the next child
        (last,) = evo.ask()
        times.append(time.perf_counter() - start)
        point = refit_point(evo.n_evaluations)
        refits.append(point != fitted_at)
        fitted_at = point
    return times, refits


def amortised(times: list[float], refits: list[bool], n_history: int) -> dict[str, float]:
    """The steady-state cost per child: a child without a refit, plus one
    refit's time shared by the children of a refit period. The first child
    of the run fits from scratch and is counted as a refit."""
    plain = [t for t, r in zip(times, refits, strict=True) if not r]
    fits = [t for t, r in zip(times, refits, strict=True) if r]
    period = refit_period(n_history)
    child = statistics.fmean(plain) if plain else 0.0
    refit = statistics.fmean(fits) - child if fits else 0.0
    return {
        "child_ms": 1000 * child,
        "refit_ms": 1000 * refit,
        "refit_period": period,
        "amortised_ms": 1000 * (child + refit / period),
    }


def refit_period(n: int) -> int:
    """Children between the two refits of the kernel around a history of ``n``."""
    k, last = n, refit_point(n)
    while refit_point(k + 1) == last:
        k += 1
    return k + 1 - last


def time_tpe(n_history: int, population: int, seed: int) -> list[float] | None:
    """Seconds per ``ask`` of Optuna's TPE after ``n_history`` random trials."""
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    d = optuna.distributions
    dists = {
        "model": d.CategoricalDistribution(["svc", "tree"]),
        "C": d.FloatDistribution(1e-3, 1e3, log=True),
        "gamma": d.FloatDistribution(1e-5, 1.0, log=True),
        "depth": d.IntDistribution(1, 30),
        "min_leaf": d.IntDistribution(1, 64),
        "lr": d.FloatDistribution(1e-4, 1.0, log=True),
        "n": d.IntDistribution(1, 100),
        "kind": d.CategoricalDistribution(["a", "b", "c", "d"]),
    }
    study = optuna.create_study(direction="maximize")
    rng = np.random.default_rng(seed)
    trials = []
    for row in SPACE.sample(n_history, rng, "random"):
        params = SPACE.decode(row)
        flat = {k: v for k, v in params.items() if k in dists}
        trials.append(
            optuna.trial.create_trial(
                params=flat,
                distributions={k: dists[k] for k in flat},
                value=score(params),
            )
        )
    study.add_trials(trials)
    study.sampler = optuna.samplers.TPESampler(seed=seed)
    times = []
    for _ in range(population):
        start = time.perf_counter()
        trial = study.ask(dists)
        times.append(time.perf_counter() - start)
        study.tell(trial, 0.0)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    info = machine_info()
    rows = []
    for n in args.sizes:
        times, refits = time_evotune(n, args.population, args.seed)
        tpe = time_tpe(n, args.population, args.seed)
        row = {
            "history": n,
            "children": len(times),
            "evotune_mean_ms": 1000 * statistics.fmean(times),
            **amortised(times, refits, n),
            "tpe_mean_ms": 1000 * statistics.fmean(tpe) if tpe else None,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    write(args.out, rows, info)


def write(out: Path, rows: list[dict[str, Any]], info: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "propose_time.json").write_text(json.dumps({"machine": info, "rows": rows}, indent=1))
    lines = [
        "# Time to propose one candidate, by history size",
        "",
        '`python -m benchmarks.propose_time` (see its docstring): `strategy="model_based"`',
        "with `in_flight=1`, one child per told result on an eight-parameter mixed,",
        "conditional space. *Amortised* is a child without a refit plus one refit of",
        "the kernel's hyperparameters shared by the children of its period: the cost",
        "per child of a long run. Optuna TPE's `ask` after the same number of trials,",
        "for scale.",
        "",
        *machine_lines(info),
        "",
        "| evaluations in the history | children timed | evotune ms per child, amortised "
        "| a child without a refit (ms) | a refit's extra (ms) | refit period (children) "
        "| plain mean over the timed children (ms) | Optuna TPE ms per ask (mean) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        tpe = f"{r['tpe_mean_ms']:.1f}" if r["tpe_mean_ms"] is not None else "not installed"
        lines.append(
            f"| {r['history']:,} | {r['children']} | **{r['amortised_ms']:.1f}** "
            f"| {r['child_ms']:.1f} | {r['refit_ms']:.1f} | {r['refit_period']} "
            f"| {r['evotune_mean_ms']:.1f} | {tpe} |"
        )
    (out / "propose_time.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
