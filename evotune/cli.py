"""The ``evotune`` command line.

``evotune demo`` tunes a ``HistGradientBoostingClassifier`` on scikit-learn's
bundled digits data, prints one line per generation and writes ``runs/demo/``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _print_generation(state: Any) -> None:
    rec = state.record
    mean = rec.get("mean", math.nan)
    print(
        f"generation {state.generation:>3}  evaluations {state.n_evaluations:>4}  "
        f"best {state.best_score:.4f}  mean {mean:.4f}  elapsed {state.elapsed:6.1f}s",
        flush=True,
    )


def _demo(args: argparse.Namespace) -> int:
    from sklearn.datasets import load_digits
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    from evotune import CrossValScore, Float, Integer, Space, evolve
    from evotune.backends.base import resolve_n_jobs

    X, y = load_digits(return_X_y=True)
    space = Space(
        {
            "learning_rate": Float(1e-3, 1.0, log=True),
            "max_leaf_nodes": Integer(8, 128),
            "min_samples_leaf": Integer(1, 64),
            "l2_regularization": Float(1e-6, 10.0, log=True),
            "max_iter": Integer(20, 100),
        }
    )
    objective = CrossValScore(
        HistGradientBoostingClassifier(early_stopping=False, random_state=0),
        X,
        y,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        scoring="accuracy",
    )
    print(
        f"evotune demo: HistGradientBoostingClassifier on digits ({X.shape[0]} samples), "
        f"{len(space)} parameters, population {args.population_size}, "
        f"{args.generations} generations, 3-fold accuracy, {resolve_n_jobs(args.n_jobs)} worker(s)",
        flush=True,
    )
    result = evolve(
        objective,
        space,
        population_size=args.population_size,
        generations=args.generations,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        callbacks=[_print_generation],
    )
    out = Path(args.out)
    result.save(out)
    print(f"best accuracy {result.best_score:.4f} with {result.best_params}")
    print(
        f"{result.n_evaluations} evaluations; wrote {out / 'history.csv'} and "
        f"{out / 'hall_of_fame.csv'}"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evotune", description="Evolutionary hyperparameter tuning."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="tune a gradient-boosting classifier on the bundled digits data",
        description="Tune HistGradientBoostingClassifier on scikit-learn's digits data "
        "over 5 parameters and write history.csv and hall_of_fame.csv.",
    )
    demo.add_argument("--out", default="runs/demo", help="output directory (default: runs/demo)")
    demo.add_argument("--population-size", type=int, default=12, help="default: 12")
    demo.add_argument("--generations", type=int, default=5, help="default: 5")
    demo.add_argument(
        "--n-jobs", type=int, default=-1, help="worker processes; -1 for all cores (default)"
    )
    demo.add_argument("--random-state", type=int, default=0, help="default: 0")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evotune`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from evotune._signals import Interrupted

    try:
        return int(args.func(args))
    except Interrupted as exc:
        print(f"evotune: interrupted by {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("evotune: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError) as exc:
        print(f"evotune: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
