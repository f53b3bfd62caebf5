"""``evotune export-optuna RUN_DIR STORAGE``: a run as an Optuna study, so that
``optuna-dashboard STORAGE`` shows it live (history, importances, parallel
coordinates, contour, slice, timeline, Pareto front, intermediate values).

The run directory is read by the report's loader (:func:`evotune.report.load_run`,
the journal's one reader: JSON only, a torn last line dropped). One study per
run, named after the run directory unless ``--study-name`` says otherwise,
with the run's direction, or one direction per objective (and their names)
for a run with several. Each evaluation becomes one trial
(:mod:`evotune._optuna_trials` says how), added in one write, so a trial is
in the study whole or not at all. A trial carries its genome key as the user
attribute ``evotune_key``: exporting again adds only the evaluations not
there yet, which is also how ``--follow`` appends while the run goes.

``STORAGE`` is a file path, an Optuna journal file
(``JournalStorage(JournalFileBackend(path))``), or a ``sqlite:///`` URL.
Optuna and the dashboard are the optional extra ``optuna``.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evotune._figures._text import printable
from evotune._optuna_trials import KEY_ATTR, TrialMaker
from evotune.report import ReportError, Run, load_run

__all__ = ["ExportError", "OptunaExport", "add_command", "command"]

INSTALL_HINT = 'pip install ".[optuna]" from evotune\'s checkout'
#: the study's user attribute naming the run it holds (meta.json's "created")
RUN_ATTR = "evotune_run"
_SQLITE = "sqlite:///"


class ExportError(ValueError):
    """Bad input of ``evotune export-optuna``: the message names the argument."""


def _import_optuna() -> Any:
    try:
        import optuna
        from optuna.storages import journal  # noqa: F401  (Optuna 4 and later)
    except ImportError:
        raise ExportError(
            f"evotune export-optuna needs optuna, which is not installed: {INSTALL_HINT} "
            "(optuna-dashboard, also in the extra, shows the study)"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _read_run(path: Path, *, quiet_torn: bool = False) -> Run:
    with warnings.catch_warnings():
        if quiet_torn:  # a run writing its journal: a line cut short is normal
            warnings.filterwarnings("ignore", "(?s).*was cut short", RuntimeWarning)
        try:
            return load_run(path)
        except ReportError as exc:
            raise ExportError(f"RUN_DIR: {printable(str(exc))}") from None


def _check_file(path: Path, what: str) -> None:
    if path.is_dir():
        raise ExportError(f"STORAGE: {what} {str(path)!r} is a directory; give a file path")
    if not path.parent.is_dir():
        raise ExportError(f"STORAGE: the folder of {what} {str(path)!r} does not exist")


def _storage(optuna: Any, text: str) -> Any:
    """The Optuna storage ``text`` names, every check made before a file is created."""
    if text.startswith(_SQLITE):
        where = text[len(_SQLITE) :]
        if not where or where == ":memory:":
            raise ExportError(f"STORAGE: {text!r} names no database file")
        path = Path(where)
        _check_file(path, "the database")
        if path.is_file() and path.stat().st_size:
            with open(path, "rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    raise ExportError(f"STORAGE: {where!r} is not an SQLite database")
        return optuna.storages.RDBStorage(text)
    if "://" in text:
        raise ExportError(
            f"STORAGE: give a journal file path or a sqlite:/// URL, got {printable(text)!r}"
        )
    path = Path(text)
    _check_file(path, "the journal file")
    if path.is_file() and path.stat().st_size:
        with open(path, "rb") as fh:
            first = fh.readline()
        try:
            journal = json.loads(first)
        except ValueError:
            journal = None
        if not isinstance(journal, dict) or "op_code" not in journal:
            raise ExportError(f"STORAGE: {text!r} is not an Optuna journal file")
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


class OptunaExport:
    """A run directory's study in an Optuna storage, ready to take its trials.

    Everything given is checked before the storage is opened (which creates
    its file): Optuna installed, the run directory readable, the storage a
    file path or URL that can be one, the study (if there) of this run and
    its directions.

    Parameters
    ----------
    run_dir : path
        The run directory.
    storage : str
        A journal file path or a ``sqlite:///`` URL.
    study_name : str, optional
        Default: the run directory's name.

    Examples
    --------
    >>> import tempfile
    >>> storage = tempfile.mkdtemp() + "/optuna.log"
    >>> export = OptunaExport(example_run, storage)
    >>> export.push(export.run), export.push(export.run)   # the second adds nothing
    (11, 0)
    >>> len(export.study.trials)
    11
    """

    def __init__(self, run_dir: str | Path, storage: str, *, study_name: str | None = None) -> None:
        self.optuna = _import_optuna()
        self.run_dir = Path(run_dir)
        self.run = _read_run(self.run_dir)
        if study_name is not None and not study_name.strip():
            raise ExportError("--study-name must not be empty")
        self.study_name = study_name or self.run_dir.resolve().name
        created = self.run.meta.get("created")
        self.run_id = created if isinstance(created, (int, float)) else str(self.run_dir.resolve())
        first = TrialMaker(self.optuna, self.run)
        self.directions, self.metric_names = first.directions, first.metric_names
        self.storage_text = storage
        self.study = self._open_study(_storage(self.optuna, storage))
        self.done = {t.user_attrs.get(KEY_ATTR) for t in self.study.get_trials(deepcopy=False)}

    def _open_study(self, storage: Any) -> Any:
        optuna, name = self.optuna, self.study_name
        try:
            names = optuna.study.get_all_study_names(storage)
        except Exception as exc:  # a journal Optuna cannot replay
            raise ExportError(f"STORAGE: Optuna cannot read {self.storage_text!r}: {exc}") from None
        if name in names:
            study = optuna.load_study(study_name=name, storage=storage)
            held = [d.name.lower() for d in study.directions]
            if study.user_attrs.get(RUN_ATTR) != self.run_id or held != self.directions:
                raise ExportError(
                    f"--study-name: the study {printable(name)!r} in {self.storage_text!r} holds "
                    "another run (or other directions); give another --study-name"
                )
            return study
        study = optuna.create_study(storage=storage, study_name=name, directions=self.directions)
        study.set_user_attr(RUN_ATTR, self.run_id)
        study.set_user_attr("evotune_run_dir", str(self.run_dir.resolve()))
        if self.metric_names:
            with warnings.catch_warnings():  # experimental in Optuna 4 and 5
                warnings.simplefilter("ignore")
                study.set_metric_names(self.metric_names)
        return study

    def read(self) -> Run:
        """The run directory as it is now (a torn last line, normal while the
        run writes, dropped without a warning)."""
        self.run = _read_run(self.run_dir, quiet_torn=True)
        return self.run

    def push(self, run: Run, stop: threading.Event | None = None) -> int:
        """Add the trials of ``run``'s evaluations not in the study yet; return
        how many were added (fewer if ``stop`` is set meanwhile)."""
        maker: TrialMaker | None = None
        added = 0
        for ev in run.evaluations:
            key = str(ev.get("key"))
            if key in self.done:
                continue
            if stop is not None and stop.is_set():
                break
            maker = maker or TrialMaker(self.optuna, run)
            try:  # add_trial checks the trial before it writes anything
                self.study.add_trial(maker.trial(ev))
            except (ValueError, TypeError, OverflowError) as exc:
                # one record Optuna cannot take costs its trial, not the export
                warnings.warn(
                    f"evaluation {ev.get('candidate')} is not exported: {exc}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            self.done.add(key)
            added += 1
        return added

    @property
    def n_trials(self) -> int:
        return len(self.done - {None})


class _Stop(threading.Event):
    """Set by Ctrl-C or SIGTERM; ``signum`` says which came."""

    signum = 0


@contextmanager
def _deferred_signals() -> Iterator[_Stop]:
    """Ctrl-C and SIGTERM set the event instead of raising: a trial being
    written is finished (a write cut short could leave Optuna's journal
    file and its lock torn)."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_signal(signum: int, frame: Any) -> None:
        stop.signum = signum
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def follow(
    export: OptunaExport,
    *,
    interval: float,
    stop: _Stop,
    echo: Callable[[str], None],
) -> int:
    """Append the run's new evaluations every ``interval`` seconds until the
    run has finished (its journal's last session stopped) or ``stop`` is set.

    Returns
    -------
    int
        0 when the run finished, else 128 + the signal's number.

    Examples
    --------
    >>> import tempfile
    >>> export = OptunaExport(example_run, tempfile.mkdtemp() + "/optuna.log")
    >>> follow(export, interval=1.0, stop=_Stop(), echo=print)   # a finished run: one pass
    +11 trials (11 in study 'run')
    the run has finished (generations): 11 trials
    0
    """
    name = printable(export.study_name)
    while not stop.is_set():
        run = export.read()
        added = export.push(run, stop)
        if added:
            echo(f"+{added} trials ({export.n_trials} in study {name!r})")
        if run.stopped is not None and not stop.is_set():
            echo(f"the run has finished ({printable(run.stopped)}): {export.n_trials} trials")
            return 0
        stop.wait(interval)
    signum = stop.signum or int(signal.SIGINT)
    echo(f"stopped by {signal.Signals(signum).name}: {export.n_trials} trials in study {name!r}")
    return 128 + signum


def command(args: argparse.Namespace) -> int:
    """The ``export-optuna`` subcommand."""
    interval = args.interval
    if not (math.isfinite(interval) and interval > 0):
        raise ExportError(f"--interval must be a positive number of seconds, got {interval}")
    quiet = getattr(args, "quiet", False)

    def echo(line: str) -> None:
        if not quiet:
            print(line, flush=True)

    started = time.monotonic()
    with _deferred_signals() as stop:
        export = OptunaExport(args.directory, args.storage, study_name=args.study_name)
        before = export.n_trials
        where = shlex.quote(args.storage)
        if args.follow:
            echo(
                f"following {printable(str(export.run_dir))} into {printable(where)}; Ctrl-C stops"
            )
            return follow(export, interval=interval, stop=stop, echo=echo)
        added = export.push(export.run, stop)
        echo(
            f"exported {added} evaluations to study {printable(export.study_name)!r} "
            f"({export.n_trials} trials, {before} there before) in "
            f"{time.monotonic() - started:.1f} s"
        )
        echo(printable(f"see it with: optuna-dashboard {where}"))
        return 128 + stop.signum if stop.is_set() else 0


def add_command(sub: Any, common: argparse.ArgumentParser) -> None:
    """Declare ``evotune export-optuna`` on the CLI's subparsers."""
    cmd = sub.add_parser(
        "export-optuna",
        parents=[common],
        help="write a run's evaluations into an Optuna storage (for optuna-dashboard)",
        description="Write the evaluations of a run into an Optuna study (one trial each), "
        "so that `optuna-dashboard STORAGE` shows the run; exporting again adds only "
        "the new ones. Needs the extra: " + INSTALL_HINT + ".",
    )
    cmd.add_argument("directory", metavar="RUN_DIR", help="the run directory")
    cmd.add_argument(
        "storage", metavar="STORAGE", help="an Optuna journal file (path) or a sqlite:/// URL"
    )
    cmd.add_argument("--study-name", help="default: the run directory's name")
    cmd.add_argument(
        "--follow",
        action="store_true",
        help="keep appending new evaluations until the run has finished (or Ctrl-C)",
    )
    cmd.add_argument(
        "--interval", type=float, default=2.0, help="seconds between reads with --follow (2)"
    )
    cmd.set_defaults(func=command)
