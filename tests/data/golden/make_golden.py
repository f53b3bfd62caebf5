"""Record the golden histories of today's engine into ``histories.json`` and
the stopped run directories ``run_v1/`` and ``run_cli_v1/`` beside it.

Run it from the repository root, with this checkout's evotune on the path::

    PYTHONPATH=. python tests/data/golden/make_golden.py

``tests/test_golden.py`` replays every recorded call and compares exactly. Only
re-record on purpose: a change of any run's history is what the test exists
to catch. Every run is recorded twice and the two must agree, so data that
depend on timing cannot slip in.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent.parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(ROOT))

from _golden import (  # noqa: E402
    HISTORIES,
    canon,
    full_call,
    journal_rows,
    outcome,
    pack_history,
    run_call,
)

SEEDS = (0, 1)
STRATEGIES = ("ga", "mu_plus_lambda", "mu_comma_lambda", "steady_state")

# a decision tree's space: log and linear floats, integers (one on a log
# scale), a categorical, and a parameter active only for one criterion. Five
# genes: the surrogate screens from the 10th evaluation on (generation 2).
SPACE = {
    "max_depth": {"type": "int", "low": 1, "high": 12},
    "criterion": {"type": "categorical", "choices": ["gini", "entropy", "log_loss"]},
    "ccp_alpha": {"type": "float", "low": 1e-5, "high": 0.1, "log": True},
    "min_weight_fraction_leaf": {"type": "float", "low": 0.0, "high": 0.2},
    "max_leaf_nodes": {
        "type": "int",
        "low": 2,
        "high": 40,
        "log": True,
        "when": {"criterion": "entropy"},
    },
}
SPACES = {"tree": SPACE}  # stored once; a call names its space
TREE = {"class": "DecisionTreeClassifier", "params": {"random_state": 0}}
CV_OBJECTIVE = {"kind": "cross_val_score", "estimator": TREE, "data": "wine", "cv": 3}

# a warm start: complete sets (one with the conditional parameter), a set
# without it where it would be active, and a partial set (the rest is drawn)
SEEDED = [
    {
        "max_depth": 4,
        "criterion": "gini",
        "ccp_alpha": 0.001,
        "min_weight_fraction_leaf": 0.0,
    },
    {
        "max_depth": 7,
        "criterion": "entropy",
        "ccp_alpha": 0.0003,
        "min_weight_fraction_leaf": 0.05,
        "max_leaf_nodes": 16,
    },
    {"max_depth": 2, "criterion": "log_loss", "ccp_alpha": 0.02},
    {"max_depth": 9, "criterion": "entropy"},
]

BASE = {"population_size": 6, "generations": 3, "n_jobs": 1}
STEADY = {"in_flight": 4}  # fewer than population_size: children bred before a generation ends


def options(face: str) -> dict[str, dict[str, Any]]:
    """Option name -> the kwargs it adds to the base config."""
    if face == "evolve":
        objectives = {"score": "maximize", "n_leaves": ["minimize", {"measure": "n_leaves"}]}
    else:
        objectives = {"accuracy": "maximize", "neg_log_loss": "maximize"}
    out: dict[str, dict[str, Any]] = {
        "none": {},
        "objectives": {"objectives": objectives},
        "racing": {"racing": True},
        "screening1": {"screening": 1},
        "initpop": {"initial_population": SEEDED},
    }
    if face == "evolve":
        # racing=True (the 3rd best of 6 as reference) races nothing at seed 1
        # in the generational strategies; the 4th best as reference does
        out["racing4"] = {"racing": 4}
    return out


def matrix() -> dict[str, dict[str, Any]]:
    calls: dict[str, dict[str, Any]] = {}
    for face in ("evolve", "search"):
        for strategy in STRATEGIES:
            for option, extra in options(face).items():
                if option == "objectives" and strategy != "ga":
                    continue  # several objectives: NSGA-II, "ga" only
                for seed in SEEDS:
                    kwargs = {**BASE, "strategy": strategy, "random_state": seed}
                    if strategy == "steady_state":
                        kwargs.update(STEADY)
                    kwargs.update(extra)
                    if face == "evolve":
                        call = {
                            "face": "evolve",
                            "objective": CV_OBJECTIVE,
                            "space": "tree",
                            "kwargs": kwargs,
                        }
                    else:
                        kwargs["cv"] = 3
                        if option == "objectives":
                            kwargs["scoring"] = {
                                "accuracy": "accuracy",
                                "neg_log_loss": "neg_log_loss",
                            }
                            kwargs["refit"] = "accuracy"
                        call = {
                            "face": "search",
                            "estimator": TREE,
                            "data": "wine",
                            "space": "tree",
                            "kwargs": kwargs,
                        }
                    calls[f"{face}-{strategy}-{option}-seed{seed}"] = call
    # a plain callable objective, one fold, with failed rows
    for strategy in STRATEGIES:
        for seed in SEEDS:
            kwargs = {**BASE, "generations": 4, "strategy": strategy, "random_state": seed}
            if strategy == "steady_state":
                kwargs.update(STEADY)
            calls[f"evolve-{strategy}-function-seed{seed}"] = {
                "face": "evolve",
                "objective": {"kind": "function", "name": "tree_shape"},
                "space": "tree",
                "kwargs": kwargs,
            }
    # the full run whose first part is the stored run directory run_v1/
    calls[RUN_V1_ENTRY] = {
        "face": "evolve",
        "objective": CV_OBJECTIVE,
        "space": "tree",
        "kwargs": {**BASE, "generations": 4, "strategy": "ga", "random_state": 3},
    }
    return calls


# run_v1/: the run RUN_V1_ENTRY stopped by max_evaluations inside generation 1
# (3 of its 5 candidates evaluated)
RUN_V1_ENTRY = "evolve-ga-run_v1-seed3"
RUN_V1_STOP = {"max_evaluations": 9}

# run_cli_v1/: `evotune run` of this experiment (1 generation), to be extended to 3
EXPERIMENT = """\
# golden run of `evotune run`: extended by `evotune resume DIR --generations 3`
[estimator]
class = "sklearn.tree.DecisionTreeClassifier"
params = { random_state = 0 }

[data]
loader = "sklearn.datasets.load_wine"

[space]
max_depth = { type = "int", low = 1, high = 12 }
criterion = { type = "categorical", choices = ["gini", "entropy"] }
ccp_alpha = { type = "float", low = 1e-5, high = 0.1, log = true }
max_leaf_nodes = { type = "int", low = 2, high = 40, when = { criterion = "entropy" } }

[search]
population_size = 6
generations = 1
cv = 3
scoring = "accuracy"
n_jobs = 1
random_state = 5
"""
RUN_CLI_GENERATIONS = 3

# files of a run directory that are not test data: the lock of the live run
# (it names a process id) and the report's output
NOT_STORED = ("lock", "report")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _cli(*args: Any) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "evotune", *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"evotune {args}: rc {proc.returncode}\n{proc.stderr}")


def _clean(run_dir: Path) -> None:
    for name in NOT_STORED:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _make_run_v1(calls: dict[str, Any], runs: dict[str, Any]) -> dict[str, Any]:
    target = HERE / "run_v1"
    if target.exists():
        shutil.rmtree(target)
    rel = target.relative_to(ROOT)
    call = full_call(calls[RUN_V1_ENTRY], SPACES)
    stopped = run_call(call, checkpoint=rel, **RUN_V1_STOP)
    assert stopped["stop_reason"] == "max_evaluations", stopped["stop_reason"]
    _clean(target)
    # the stored directory resumed to the end must give the recorded full run
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "run"
        shutil.copytree(target, copy)
        resumed = run_call(call, checkpoint=copy, resume=True, max_evaluations=None)
    full = runs[RUN_V1_ENTRY]["expected"]
    for part in ("history", "logbook", "best_params", "best_score", "stop_reason"):
        assert canon(resumed[part]) == canon(full[part]), f"run_v1 resumed: {part} differs"
    return {
        "path": "run_v1",
        "entry": RUN_V1_ENTRY,
        "first_session": RUN_V1_STOP,
        "n_evaluations_stored": len(stopped["history"]),
    }


def _make_run_cli_v1() -> dict[str, Any]:
    from evotune import evolve
    from evotune.experiment import load_experiment

    target = HERE / "run_cli_v1"
    if target.exists():
        shutil.rmtree(target)
    toml = HERE / "golden.toml"  # copied into the run directory as experiment.toml
    toml.write_text(EXPERIMENT, encoding="utf-8")
    try:
        _cli("run", toml.relative_to(ROOT), "--out", target.relative_to(ROOT), "--quiet")
    finally:
        toml.unlink()
    _clean(target)
    # the straight run of RUN_CLI_GENERATIONS generations, in process
    experiment = load_experiment(target / "experiment.toml")
    X, y = experiment.data.load()
    kwargs = {**experiment.evolve_kwargs(), "generations": RUN_CLI_GENERATIONS}
    straight = evolve(experiment.objective(X, y), experiment.space, **kwargs)
    rows = outcome(
        straight.history,
        straight.logbook,
        straight.best_params,
        straight.best_score,
        stop_reason=straight.stop_reason,
    )["history"]
    # ... equals the stored directory extended by `evotune resume`
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "run"
        shutil.copytree(target, copy)
        _cli("resume", copy, "--generations", RUN_CLI_GENERATIONS, "--quiet")
        got = journal_rows(copy)
    assert canon(got) == canon(sorted(rows, key=lambda r: r["id"])), "run_cli_v1 differs"
    return {
        "path": "run_cli_v1",
        "generations": RUN_CLI_GENERATIONS,
        "n_evaluations_stored": len(journal_rows(target)),
        "history": pack_history(rows),
    }


def _store(runs: dict[str, Any]) -> None:
    """Histories packed (see pack_history); a history or logbook equal to an
    earlier run's is stored as a reference to it (EvolutionarySearchCV runs the
    same engine on the same folds as evolve)."""
    first: dict[tuple[str, str], str] = {}
    for name, entry in runs.items():
        entry["expected"]["history"] = pack_history(entry["expected"]["history"])
        for part in ("history", "logbook"):
            text = canon(entry["expected"][part])
            if (part, text) in first:
                entry["expected"][part] = {"same_as": first[(part, text)]}
            else:
                first[(part, text)] = name


def _dump(data: dict[str, Any]) -> str:
    """JSON with one history row, logbook row or call argument per line (small,
    and diffs read well)."""
    expand = {"spaces", "runs", "run_dirs", "call", "expected", "history"}

    def block(value: Any, key: str | None, depth: int) -> str:
        indent, inner = "  " * depth, "  " * (depth + 1)
        if isinstance(value, dict) and (depth <= 2 or key in expand) and set(value) != {"same_as"}:
            items = [f"{inner}{json.dumps(k)}: {block(v, k, depth + 1)}" for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + indent + "}"
        if key in ("rows", "logbook") and isinstance(value, list) and value:
            rows = [inner + json.dumps(v, allow_nan=False) for v in value]
            return "[\n" + ",\n".join(rows) + "\n" + indent + "]"
        return json.dumps(value, allow_nan=False)

    return block(data, None, 0) + "\n"


def main() -> None:
    import deap
    import numpy
    import pandas
    import scipy
    import sklearn

    os.chdir(ROOT)  # the paths in the run directories' meta.json (argv) stay relative
    calls = matrix()
    runs: dict[str, Any] = {}
    for name, call in calls.items():
        first = run_call(full_call(call, SPACES))
        again = run_call(full_call(call, SPACES))
        if canon(first) != canon(again):
            raise SystemExit(f"{name}: two identical runs differ; not recorded")
        runs[name] = {"call": call, "expected": first}
        print(f"{name}: {len(first['history'])} rows", flush=True)
    run_dirs = {"run_v1": _make_run_v1(calls, runs), "run_cli_v1": _make_run_cli_v1()}
    _store(runs)
    data = {
        "about": (
            "Golden histories of evotune's engine before its redesign, recorded by "
            "tests/data/golden/make_golden.py and replayed by tests/test_golden.py. "
            "Time-dependent values (fit/score times, elapsed, error texts) are not recorded; "
            "non-finite floats are the strings 'nan', 'inf', '-inf'."
        ),
        "recorded_with": {
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "pandas": pandas.__version__,
            "deap": deap.__version__,
        },
        "spaces": SPACES,
        "runs": runs,
        "run_dirs": run_dirs,
    }
    HISTORIES.write_text(_dump(data), encoding="utf-8")
    print(f"wrote {HISTORIES.relative_to(ROOT)}: {len(runs)} runs")


if __name__ == "__main__":
    main()
