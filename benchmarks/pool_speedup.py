"""Parallel speedup of the process pool on benchmark case C2.

C2 of shared/benchmarks.md: HistGradientBoostingClassifier on load_digits, five
parameters, 3-fold shuffled StratifiedKFold, accuracy, a budget of 40
candidates. Runs the same search at n_jobs=1 and n_jobs=2 (seeds given on the
command line), checks that the histories are identical, and prints wall times
and the speedup.

    python -m benchmarks.pool_speedup [--seeds 0 1 2] [--population 10 --generations 4]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import pandas as pd
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from evotune import CrossValScore, Float, Integer, Space, evolve


def c2_space() -> Space:
    return Space(
        {
            "learning_rate": Float(1e-3, 1.0, log=True),
            "max_leaf_nodes": Integer(8, 128),
            "min_samples_leaf": Integer(1, 64),
            "l2_regularization": Float(1e-6, 10.0, log=True),
            "max_iter": Integer(20, 100),
        }
    )


def c2_objective() -> CrossValScore:
    X, y = load_digits(return_X_y=True)
    return CrossValScore(
        HistGradientBoostingClassifier(early_stopping=False, random_state=0),
        X,
        y,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        scoring="accuracy",
    )


def run(n_jobs: int, seed: int, population: int, generations: int) -> tuple[float, pd.DataFrame]:
    objective = c2_objective()
    start = time.perf_counter()
    result = evolve(
        objective,
        c2_space(),
        population_size=population,
        generations=generations,
        n_jobs=n_jobs,
        random_state=seed,
    )
    wall = time.perf_counter() - start
    history = result.history.drop(columns=["fit_time", "score_time"])
    fit = result.history["fit_time"].sum() + result.history["score_time"].sum()
    print(
        f"  n_jobs={n_jobs} seed={seed}: wall {wall:6.1f} s, fit+score {fit:6.1f} s, "
        f"{len(history)} evaluations, best {result.best_score:.4f}",
        flush=True,
    )
    return wall, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--population", type=int, default=10)
    parser.add_argument("--generations", type=int, default=4)
    args = parser.parse_args()
    print(
        f"C2 pool speedup, population {args.population} x {args.generations} generations, "
        f"Python {platform.python_version()}, {platform.machine()}",
        flush=True,
    )
    speedups = []
    for seed in args.seeds:
        w1, h1 = run(1, seed, args.population, args.generations)
        w2, h2 = run(2, seed, args.population, args.generations)
        same = h1.equals(h2)
        speedups.append(w1 / w2)
        print(f"  seed {seed}: speedup {w1 / w2:.2f}x, identical history: {same}", flush=True)
        if not same:
            raise SystemExit("histories differ between n_jobs=1 and n_jobs=2")
    print(f"median speedup n_jobs 1 -> 2: {statistics.median(speedups):.2f}x")


if __name__ == "__main__":
    main()
