"""The ``evotune`` command line: run, resume, report, demo, export-optuna.

Exit status: 0 success, 2 bad input (a one-line error; ``--debug`` shows the
traceback), 1 a lost Dask scheduler or Ray head (the run can be resumed), 69
one that cannot be reached (sysexits' EX_UNAVAILABLE: nothing ran and no file
was written), 74 a full disk (sysexits' EX_IOERR: the journal is whole,
resume once there is room), 130 interrupted by Ctrl-C, 143 by SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shlex
import shutil
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

EXPERIMENT_COPY = "experiment.toml"
EXIT_DISK_FULL = 74  # sysexits.h EX_IOERR


class UsageError(ValueError):
    """Bad input from the command line."""


def _progress(args: argparse.Namespace) -> list[Any]:
    if getattr(args, "quiet", False):
        return []
    from evotune.callbacks import ProgressBar

    return [ProgressBar(sys.stdout)]


def _print_result(result: Any, out: Path | None) -> None:
    best = "nan" if not math.isfinite(result.best_score) else f"{result.best_score:.6g}"
    print(f"best score {best} with {result.best_params}")
    where = f"; run directory {out}" if out is not None else ""
    print(f"{result.n_evaluations} evaluations, stopped by {result.stop_reason}{where}")
    if out is not None:
        print(f"see the leaderboard and plots with: evotune report {shlex.quote(str(out))}")


def _recorded_strategy(out: Path) -> dict[str, Any]:
    """``{"strategy": name}`` of the run in ``out``, when its file named none.

    The file is the one the run was made from (``evotune run`` checks its
    copy), so a strategy it leaves out is the default of the day the run
    started: a run made while the default was ``"ga"`` resumes as the GA.
    """
    from evotune.journal import peek_meta
    from evotune.strategies import STRATEGY_NAMES

    recorded = (peek_meta(out) or {}).get("settings", {}).get("strategy")
    return {"strategy": recorded} if recorded in STRATEGY_NAMES else {}


def _prepare(experiment: Any) -> tuple[Any, Any]:
    """The experiment's data, with every check that needs them or the
    network made: before any file is written."""
    from evotune._cli_checks import probe_scheduler
    from evotune.experiment import CONNECT_TIMEOUT

    X, y = experiment.data.load()
    experiment.check_objective(X, y)
    if "scheduler" in experiment.search:
        wait = float(experiment.search.get("connect_timeout", CONNECT_TIMEOUT))
        backend = experiment.search.get("backend", "dask")
        probe_scheduler(experiment.search["scheduler"], wait, backend)
    return X, y


def _run_experiment(
    experiment: Any,
    data: tuple[Any, Any],
    out: Path,
    *,
    resume: bool,
    overrides: dict[str, Any],
    args: argparse.Namespace,
) -> int:
    from evotune import evolve

    objective = experiment.objective(*data)
    kwargs = experiment.evolve_kwargs()
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    if resume and "strategy" not in kwargs:
        kwargs.update(_recorded_strategy(out))
    result = evolve(
        objective,
        experiment.space,
        checkpoint=out,
        resume=resume,
        callbacks=_progress(args),
        **kwargs,
    )
    _print_result(result, out)
    return 0


def _generations(experiment: Any, out: Path, asked: int | None) -> int | None:
    """The run's number of generations: ``asked`` (``--generations``) or the
    one a resume recorded, never fewer than the run has done (a resume never
    shrinks a run's history); an extension is recorded in ``run.json``."""
    from evotune._cli_checks import generations_done, read_run_file, write_run_file

    recorded = read_run_file(out).get("generations")
    if asked is None:
        return recorded if isinstance(recorded, int) else None
    done = generations_done(out)
    if asked < done:
        raise UsageError(
            f"--generations {asked} is fewer than the {done} generations {out} has done; "
            f"a resume only continues or extends a run (give {done} or more)"
        )
    file_total = experiment.search.get("generations", 10)
    if asked != file_total or recorded is not None:
        write_run_file(out, generations=asked)
    return asked


def _cmd_run(args: argparse.Namespace) -> int:
    from evotune._cli_checks import clear_unstarted, data_dir_of, started, write_run_file
    from evotune.experiment import load_experiment

    experiment = load_experiment(args.experiment)  # every check before any file is written
    out = Path(args.out) if args.out else Path("runs") / Path(args.experiment).stem
    data = _prepare(experiment)
    ran = out.is_dir() and started(out)
    if ran and not args.resume:
        raise UsageError(f"{out} already holds a run; add --resume to continue it, or choose --out")
    copy = out / EXPERIMENT_COPY
    if ran and copy.exists() and copy.read_text(encoding="utf-8") != experiment.text:
        raise UsageError(f"{out} was run from another experiment file ({copy} differs)")
    generations = None
    if ran:
        generations = _generations(experiment, out, None)  # an extension a resume recorded
    elif out.is_dir():
        # a directory in which nothing ran takes the corrected file
        clear_unstarted(out, (EXPERIMENT_COPY,))
    made = [p for p in (out, *out.parents) if not p.exists()]  # to remove if nothing runs
    out.mkdir(parents=True, exist_ok=True)
    overrides = {"n_jobs": args.n_jobs, "generations": generations}
    try:
        if not ran or not copy.exists():
            shutil.copyfile(args.experiment, copy)
            write_run_file(out, data_dir=data_dir_of(args.experiment))
        return _run_experiment(experiment, data, out, resume=ran, overrides=overrides, args=args)
    except BaseException:
        if not ran:
            _remove_unstarted(out, made)
        raise


def _remove_unstarted(out: Path, made: list[Path]) -> None:
    """After a run that failed before its first evaluation (a scheduler that
    does not answer Dask, Ctrl-C at once): no file of it and no directory
    this command made is left behind."""
    from evotune._cli_checks import clear_unstarted, started

    if not out.is_dir() or started(out):
        return
    clear_unstarted(out, (EXPERIMENT_COPY,))
    for path in made:
        try:
            path.rmdir()  # only if empty
        except OSError:
            return


def _cmd_resume(args: argparse.Namespace) -> int:
    from evotune._cli_checks import read_run_file
    from evotune.experiment import load_experiment

    out = Path(args.directory)
    copy = out / EXPERIMENT_COPY
    if not copy.exists():
        raise UsageError(f"{out} is not a run directory made by `evotune run` (no {copy.name})")
    if args.generations is not None and args.generations < 1:
        raise UsageError(f"--generations must be >= 1, got {args.generations}")
    # relative data paths: from where `evotune run` found the file (older
    # runs, without run.json: beside the copy, as before)
    experiment = load_experiment(copy, data_dir=read_run_file(out).get("data_dir"))
    data = _prepare(experiment)
    overrides = {
        "generations": _generations(experiment, out, args.generations),
        "n_jobs": args.n_jobs,
    }
    return _run_experiment(experiment, data, out, resume=True, overrides=overrides, args=args)


def _cmd_report(args: argparse.Namespace) -> int:
    # a run directory is someone's data: everything of it printed here is
    # escaped (format_leaderboard escapes its cells; json.dumps escapes every
    # control character but DEL), and an error quoting it is too
    from evotune.report import (
        ReportError,
        format_leaderboard,
        leaderboard_json,
        load_run,
        write_html,
        write_plots,
    )
    from evotune.report._text import printable

    if args.top < 1:
        raise UsageError(f"--top must be >= 1, got {args.top}")
    try:
        run = load_run(args.directory)
    except ReportError as exc:
        raise ReportError(printable(str(exc))) from None
    if args.json:
        print(json.dumps(leaderboard_json(run, top=args.top), indent=2).replace("\x7f", "\\u007f"))
    else:
        print(format_leaderboard(run, top=args.top))
    paths = [] if args.no_plots else write_plots(run)
    if args.html:
        paths.append(write_html(run, top=args.top))
    if not args.json:
        for path in paths:
            print(printable(f"wrote {path}"))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from sklearn.datasets import load_digits
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    from evotune import CrossValScore, Float, Integer, Space, evolve
    from evotune._cli_checks import started
    from evotune.backends.factory import resolve_n_jobs

    out = Path(args.out)
    if out.is_dir() and started(out):
        raise UsageError(f"{out} already holds a run; remove it or choose --out")
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
        f"{args.generations} generations, 3-fold accuracy, "
        f"{resolve_n_jobs(args.n_jobs)} worker(s)",
        flush=True,
    )
    from evotune.callbacks import ProgressBar

    callbacks = [] if args.quiet else [ProgressBar(sys.stdout, plain=True)]
    result = evolve(
        objective,
        space,
        population_size=args.population_size,
        generations=args.generations,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        callbacks=callbacks,
        checkpoint=out,  # a run directory, as `evotune run` makes: `report` reads it
    )
    from evotune.journal import HALL_OF_FAME, HISTORY

    print(f"best accuracy {result.best_score:.4f} with {result.best_params}")
    print(f"{result.n_evaluations} evaluations; wrote {out / HISTORY} and {out / HALL_OF_FAME}")
    print(f"see the leaderboard and plots with: evotune report {shlex.quote(str(out))}")
    return 0


def _parser() -> argparse.ArgumentParser:
    # --debug and --quiet are taken before and after the subcommand: the
    # subcommands' copies default to SUPPRESS, so they never reset a flag
    # given before the subcommand (argparse's sub-parser defaults would)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks of errors"
    )
    common.add_argument(
        "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress output"
    )

    parser = argparse.ArgumentParser(
        prog="evotune",
        description="Evolutionary hyperparameter tuning: run, resume and report long searches.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--version", action="version", version=f"evotune {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        parents=[common],
        help="run an experiment file",
        description="Run the experiment a TOML file declares; the run directory gets the "
        "journal, history.csv, hall_of_fame.csv and a copy of the file.",
    )
    run.add_argument("experiment", help="the experiment file (TOML)")
    run.add_argument("--out", help="run directory (default: runs/<experiment name>)")
    run.add_argument("--n-jobs", type=int, help="worker processes (overrides the file)")
    run.add_argument("--resume", action="store_true", help="continue the run in --out")
    run.set_defaults(func=_cmd_run)

    resume = sub.add_parser(
        "resume",
        parents=[common],
        help="continue or extend a run",
        description="Continue a run that was stopped, or extend a finished one.",
    )
    resume.add_argument("directory", help="the run directory")
    resume.add_argument("--generations", type=int, help="new total number of generations")
    resume.add_argument("--n-jobs", type=int, help="worker processes")
    resume.set_defaults(func=_cmd_resume)

    report = sub.add_parser(
        "report",
        parents=[common],
        help="leaderboard and plots of a run",
        description="Print the leaderboard of a run and write PNG plots (and with --html, "
        "report.html) into DIR/report/. Reading a run directory never runs code from it.",
    )
    report.add_argument("directory", help="the run directory")
    report.add_argument("--top", type=int, default=10, help="rows of the leaderboard (10)")
    report.add_argument("--json", action="store_true", help="print the leaderboard as JSON")
    report.add_argument("--no-plots", action="store_true", help="do not write the PNGs")
    report.add_argument("--html", action="store_true", help="also write one offline report.html")
    report.set_defaults(func=_cmd_report)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="tune a gradient-boosting classifier on the bundled digits data",
        description="Tune HistGradientBoostingClassifier on scikit-learn's digits data "
        "over 5 parameters; the output is a run directory that `evotune report` reads.",
    )
    demo.add_argument("--out", default="runs/demo", help="output directory (default: runs/demo)")
    demo.add_argument("--population-size", type=int, default=12, help="default: 12")
    demo.add_argument("--generations", type=int, default=5, help="default: 5")
    demo.add_argument(
        "--n-jobs", type=int, default=-1, help="worker processes; -1 for all cores (default)"
    )
    demo.add_argument("--random-state", type=int, default=0, help="default: 0")
    demo.set_defaults(func=_cmd_demo)

    from evotune._optuna_export import add_command  # export-optuna: its parser and handler

    add_command(sub, common)
    return parser


def _version() -> str:
    from evotune._version import __version__

    return str(__version__)


def _one_line(exc: BaseException) -> str:
    from evotune.loop import AllFailedError

    text = str(exc).strip().splitlines()
    if not text:
        return type(exc).__name__
    if isinstance(exc, AllFailedError) and len(text) > 1:
        # the first line says that all failed, the next one why (the most
        # frequent error): without it the one line drops the cause
        return f"{text[0]} {text[1]}"
    return text[0]


_PACKAGE = str(Path(__file__).resolve().parent)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """evotune's own warnings as ``evotune: warning: ...`` (the file and line
    of evotune's code tell a user nothing); others as Python shows them."""
    if str(Path(filename).resolve()).startswith(_PACKAGE):
        print(f"evotune: warning: {message}", file=file or sys.stderr)
    else:
        _default_show(message, category, filename, lineno, file, line)


_default_show = warnings.showwarning


def _check_flags(args: argparse.Namespace) -> None:
    """The flags' own checks, named as typed, before a command reads anything."""
    n_jobs = getattr(args, "n_jobs", None)
    if n_jobs is not None and n_jobs == 0:
        raise UsageError("--n-jobs must be a non-zero integer (-1: all cores), got 0")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evotune`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="evotune: %(message)s",
    )
    warnings.showwarning = _show_warning
    from evotune._cli_checks import EXIT_UNREACHABLE, UNREACHABLE_ERRORS, SchedulerUnreachable
    from evotune._signals import Interrupted
    from evotune.backends.base import SchedulerLostError
    from evotune.experiment import ExperimentError
    from evotune.journal import DiskFullError, JournalError, RunLockedError

    try:
        _check_flags(args)
        return int(args.func(args))
    except BrokenPipeError:
        # the reader went away (`evotune report DIR | head`): not an error
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Interrupted as exc:
        print(f"evotune: interrupted by {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("evotune: interrupted", file=sys.stderr)
        return 130
    except DiskFullError as exc:
        # not bad input: the run directory's disk is full; the journal is whole
        if args.debug:
            traceback.print_exc()
        print(f"evotune: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_DISK_FULL
    except SchedulerUnreachable as exc:
        # the cluster is not there: nothing ran and nothing was written
        if args.debug:
            traceback.print_exc()
        print(f"evotune: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except SchedulerLostError as exc:
        # not bad input: the cluster went away; the journal is whole
        if args.debug:
            traceback.print_exc()
        print(f"evotune: error: {exc}", file=sys.stderr)
        return 1
    except (
        UsageError,
        ExperimentError,
        JournalError,
        RunLockedError,
        ValueError,
        TypeError,
    ) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"evotune: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        # looked up, not imported: a run that never loaded a backend cannot raise its error
        unreachable = [getattr(sys.modules.get(m), n, None) for m, n in UNREACHABLE_ERRORS]
        if not isinstance(exc, tuple(e for e in unreachable if e is not None)):
            raise
        if args.debug:
            traceback.print_exc()
        print(f"evotune: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_UNREACHABLE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
