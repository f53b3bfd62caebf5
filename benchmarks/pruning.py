"""Epochs saved by pruning, and the best kept (issue 16): evotune's rules and Optuna's.

``MLPClassifier`` on digits, trained with ``partial_fit`` for 27 epochs on each
of 3 folds (the same stratified folds for every tool), the fold's validation
accuracy reported after each epoch. evotune: population 12, 8 generations
(96 evaluations), the default strategy, without pruning, with
``MedianPruner()`` and with ``SuccessiveHalvingPruner()`` (η = 3), and
``MedianPruner()`` on a twin objective that trains the three folds side by
side in one task and reports their mean (as Optuna's below);
``strategy=Hyperband(max_resource=27)`` (η = 3, widest rung 12) for the same 96
candidates asked, most trained for a few epochs. Optuna: TPE
with its ``MedianPruner()`` at ``n_jobs=1``, 96 trials, the three folds trained
side by side and their mean accuracy reported after each epoch (Optuna prunes
a trial, not a fold). Counted: the epochs trained over the run (all folds), and
the best mean CV accuracy of a candidate that trained to the end.

    python -m benchmarks.pruning [--seeds 0 1 2 3 4] [--out benchmarks/results/pruning]

Writes ``pruning.md`` and ``pruning.json`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

EPOCHS, FOLDS, POPULATION, GENERATIONS = 27, 3, 12, 8
CLASSES = np.arange(10)


def _data() -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(X, y))
    return X, y, folds


X, Y, SPLITS = _data()


def _model(p: dict[str, Any], seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(int(p["hidden"]),),
        alpha=float(p["alpha"]),
        learning_rate_init=float(p["learning_rate_init"]),
        batch_size=int(p["batch_size"]),
        random_state=seed,
    )


def _epochs(p: dict[str, Any], fold: int, seed: int):
    """The fold's validation accuracy after each epoch (a generator: stop it early)."""
    train, test = SPLITS[fold]
    model = _model(p, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(EPOCHS):
            model.partial_fit(X[train], Y[train], classes=CLASSES)
            yield float(model.score(X[test], Y[test]))


class Counter:
    """Epochs trained, in this process (evotune runs at n_jobs=1 here)."""

    epochs = 0


def _space() -> dict[str, Any]:
    from evotune import Categorical, Float, Integer

    return {
        "hidden": Integer(16, 128),
        "alpha": Float(1e-6, 1e-1, log=True),
        "learning_rate_init": Float(1e-4, 1e-1, log=True),
        "batch_size": Categorical([32, 64, 128, 256]),
    }


def _evotune_objective() -> Any:
    from evotune import FoldResult, report_step
    from evotune._objective import BaseObjective

    class MLPFolds(BaseObjective):
        n_tasks = FOLDS

        def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult:
            value = float("nan")
            for epoch, value in enumerate(_epochs(params, task, 0)):
                Counter.epochs += 1
                report_step(epoch, value)
            return FoldResult(score=value)

    return MLPFolds()


def _evotune_side_by_side() -> Any:
    """One task a candidate: the folds trained side by side, their mean reported (as Optuna's)."""
    from evotune import FoldResult, report_step
    from evotune._objective import BaseObjective

    class MLPSideBySide(BaseObjective):
        n_tasks = 1

        def run(self, params: dict[str, Any], task: int, seed: int) -> FoldResult:
            curves = [_epochs(params, fold, 0) for fold in range(FOLDS)]
            value = float("nan")
            for epoch in range(EPOCHS):
                value = float(np.mean([next(c) for c in curves]))
                Counter.epochs += FOLDS
                report_step(epoch, value)
            return FoldResult(score=value)

    return MLPSideBySide()


RULES = ("none", "median", "halving", "median side by side", "hyperband")


def run_evotune(rule_name: str, seed: int) -> dict[str, Any]:
    from evotune import MedianPruner, SuccessiveHalvingPruner, evolve
    from evotune.strategies import Hyperband

    rules = {
        "none": None,
        "median": MedianPruner(),
        "halving": SuccessiveHalvingPruner(),
        "median side by side": MedianPruner(),
        "hyperband": None,
    }
    # Hyperband: its rungs are generations, so the budget is the same 96
    # candidates asked, most of them trained for a few epochs
    hyperband = rule_name == "hyperband"
    budget = (
        {
            "strategy": Hyperband(max_resource=EPOCHS),
            "generations": 10**4,
            "max_evaluations": POPULATION * GENERATIONS,
        }
        if hyperband
        else {"generations": GENERATIONS}
    )
    side = rule_name.endswith("side by side")
    Counter.epochs = 0
    start = time.perf_counter()
    result = evolve(
        _evotune_side_by_side() if side else _evotune_objective(),
        _space(),
        population_size=POPULATION,
        random_state=seed,
        n_jobs=1,
        prune=rules[rule_name],
        **budget,
    )
    ok = result.history[result.history["status"] == "ok"]
    return {
        "tool": f"evotune {rule_name}",
        "seed": seed,
        "epochs": Counter.epochs,
        "best": float(ok["mean_score"].max()),
        "evaluations": len(result.history),
        "pruned": int((result.history["status"] == "pruned").sum()),
        "wall": time.perf_counter() - start,
    }


def run_optuna(seed: int) -> dict[str, Any] | None:
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    epochs = 0

    def objective(trial: Any) -> float:
        nonlocal epochs
        p = {
            "hidden": trial.suggest_int("hidden", 16, 128),
            "alpha": trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
            "learning_rate_init": trial.suggest_float("learning_rate_init", 1e-4, 1e-1, log=True),
            "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
        }
        curves = [_epochs(p, fold, 0) for fold in range(FOLDS)]
        mean = float("nan")
        for epoch in range(EPOCHS):
            mean = float(np.mean([next(c) for c in curves]))
            epochs += FOLDS
            trial.report(mean, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return mean

    start = time.perf_counter()
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(),
    )
    study.optimize(objective, n_trials=POPULATION * GENERATIONS, n_jobs=1)
    complete = [t.value for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return {
        "tool": "Optuna TPE + MedianPruner",
        "seed": seed,
        "epochs": epochs,
        "best": float(max(complete)),
        "evaluations": len(study.trials),
        "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
        "wall": time.perf_counter() - start,
    }


def summary(rows: list[dict[str, Any]], seeds: set[int] | None = None) -> list[dict[str, Any]]:
    """Median epochs and best per tool, over ``seeds`` (all by default)."""
    rows = [r for r in rows if seeds is None or r["seed"] in seeds]
    tools = list(dict.fromkeys(r["tool"] for r in rows))
    base = [r for r in rows if r["tool"] == "evotune none"]
    base_epochs = statistics.median(r["epochs"] for r in base) if base else float("nan")
    base_best = statistics.median(r["best"] for r in base) if base else float("nan")
    out = []
    for tool in tools:
        mine = [r for r in rows if r["tool"] == tool]
        epochs = statistics.median(r["epochs"] for r in mine)
        best = statistics.median(r["best"] for r in mine)
        out.append(
            {
                "tool": tool,
                "median epochs": epochs,
                "fewer epochs than no pruning": base_epochs / epochs,
                "median best": best,
                "best - no pruning (points)": 100 * (best - base_best),
                "median pruned": statistics.median(r["pruned"] for r in mine),
                "median wall s": statistics.median(r["wall"] for r in mine),
                "seeds": len(mine),
            }
        )
    return out


def write(out: Path, rows: list[dict[str, Any]], info: dict[str, str]) -> None:
    from benchmarks.machine import machine_lines

    out.mkdir(parents=True, exist_ok=True)
    (out / "pruning.json").write_text(json.dumps({"machine": info, "runs": rows}, indent=1))
    # the table of the seeds every tool ran; then every seed, for the tools that ran more
    by_tool: dict[str, set[int]] = {}
    for r in rows:
        by_tool.setdefault(r["tool"], set()).add(r["seed"])
    common = set.intersection(*by_tool.values())
    lines = [
        "# Pruning: epochs trained and the best kept (MLPClassifier on digits)",
        "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " "),
        "",
        *machine_lines(info),
        "",
        f"Seeds {sorted(common)}, every tool:",
        "",
        *_table(summary(rows, common)),
    ]
    more = {t for t, s in by_tool.items() if s != common}
    if more:
        extra = [r for r in rows if r["tool"] in more]
        lines += ["", f"Every seed, for {', '.join(sorted(more))}:", "", *_table(summary(extra))]
    lines += [
        "",
        "Per seed:",
        "",
        "| tool | seed | epochs | best | pruned | wall s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['tool']} | {r['seed']} | {r['epochs']} | {r['best']:.5f} | {r['pruned']} "
            f"| {r['wall']:.0f} |"
        )
    (out / "pruning.md").write_text("\n".join(lines) + "\n")


def _table(table: list[dict[str, Any]]) -> list[str]:
    head = list(table[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table:
        cells = [_cell(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if value == value else "n/a"  # NaN: no baseline on those seeds
    return str(value)


def main(argv: list[str] | None = None) -> None:
    from benchmarks.machine import machine_info

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pruning"))
    parser.add_argument("--tools", nargs="+", default=[*RULES, "optuna"], help="rules and optuna")
    args = parser.parse_args(argv)
    info = machine_info()
    # Rows already measured are kept: a run stopped midway goes on where it was.
    saved = args.out / "pruning.json"
    rows: list[dict[str, Any]] = json.loads(saved.read_text())["runs"] if saved.exists() else []
    done = {(r["tool"], r["seed"]) for r in rows}
    for seed in args.seeds:
        for tool in args.tools:
            name = "Optuna TPE + MedianPruner" if tool == "optuna" else f"evotune {tool}"
            if (name, seed) in done:
                continue
            row = run_optuna(seed) if tool == "optuna" else run_evotune(tool, seed)
            if row is not None:
                rows.append(row)
                print(row, flush=True)
                write(args.out, rows, info)


if __name__ == "__main__":
    main()
