"""The driver's time to propose candidates, by history size (issue 13, item 4).

A model-based strategy refits its model as the history grows; its cost must
stay small next to a fit. For each history size N (100, 1,000 and 10,000
evaluations by default), a run of ``strategy="model_based"`` is given N
random evaluations of a cheap function on a mixed, conditional space of
eight parameters, then proposes children one at a time, each after the
result before it is told (``in_flight=1``), for one whole period of the
kernel's refits (they fall due every 5 % of the history's growth: 50
children at 1,000) and at least ``population_size`` children. The mean is
thus the amortised cost per child, refit included; the posterior uses at
most ``max_model_points`` rows. Optuna's TPE sampler is timed the same way
(N trials enqueued, then ``population_size`` asks and tells) when installed.

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


def time_evotune(n_history: int, population: int, seed: int) -> list[float]:
    """Seconds per child at a history of ``n_history`` evaluations."""
    evo = Evolution(
        SPACE,
        population_size=population,
        strategy=ModelBased(n_initial=n_history, in_flight=1),
        random_state=seed,
    )
    first = evo.ask()
    evo.tell([evo.evaluation_of(c, score(c.params)) for c in first[:-1]])
    times = []
    last = first[-1]
    for _ in range(max(population, n_history // 20)):
        start = time.perf_counter()
        evo.tell([evo.evaluation_of(last, score(last.params))])  # breeds the next child
        (last,) = evo.ask()
        times.append(time.perf_counter() - start)
    return times


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
        evo = time_evotune(n, args.population, args.seed)
        tpe = time_tpe(n, args.population, args.seed)
        row = {
            "history": n,
            "children": len(evo),
            "evotune_mean_ms": 1000 * statistics.fmean(evo),
            "evotune_max_ms": 1000 * max(evo),
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
        "conditional space, over one period of the kernel's refits: the mean is the",
        "amortised cost per child. Optuna TPE's",
        "`ask` after the same number of trials, for scale.",
        "",
        *machine_lines(info),
        "",
        "| evaluations in the history | children timed | evotune ms per child (mean) "
        "| evotune ms (slowest child: a refit) | Optuna TPE ms per ask (mean) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        tpe = f"{r['tpe_mean_ms']:.1f}" if r["tpe_mean_ms"] is not None else "not installed"
        lines.append(
            f"| {r['history']:,} | {r['children']} | {r['evotune_mean_ms']:.1f} "
            f"| {r['evotune_max_ms']:.1f} | {tpe} |"
        )
    (out / "propose_time.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
