"""What ``evotune run`` and ``resume`` check and record around a run directory.

Every check here runs before a file is written: the data are loaded and the
folds and scorer tried on them, an existing Dask scheduler is reached, and a
directory whose earlier run never evaluated anything is taken as empty (so a
corrected file is never refused for a run that failed at its start).

``run.json`` in a run directory records what ``evotune run`` resolved (the
directory relative data paths are read from) and what ``resume`` extended (the
number of generations), so a later resume finds the same data and never
shrinks the run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = [
    "EXIT_UNREACHABLE",
    "RUN_FILE",
    "UNREACHABLE_ERRORS",
    "SchedulerUnreachable",
    "clear_unstarted",
    "generations_done",
    "probe_scheduler",
    "read_run_file",
    "started",
    "write_run_file",
]

RUN_FILE = "run.json"
EXIT_UNREACHABLE = 69  # sysexits.h EX_UNAVAILABLE: a service is not there
# the backends' errors for a cluster that never answered, as (module, name):
# looked up in sys.modules, so that the CLI imports neither Dask nor Ray for them
UNREACHABLE_ERRORS = (
    ("evotune.backends._dask_client", "SchedulerUnreachableError"),
    ("evotune.backends._ray_link", "RayUnreachableError"),
)


class SchedulerUnreachable(RuntimeError):
    """The Dask scheduler or Ray head named by ``scheduler`` does not answer."""


def probe_scheduler(address: str, wait: float, backend: str = "dask") -> None:
    """Check that a Dask scheduler answers at ``address`` within ``wait``
    seconds (see :func:`evotune.backends._dask_client.check_scheduler`), or
    with ``backend="ray"`` that a Ray head's port takes a connection (``"auto"``
    is found by Ray itself when the run starts).

    Raises
    ------
    SchedulerUnreachable
        One line naming the address, the cause and the wait.

    Examples
    --------
    >>> try:
    ...     probe_scheduler("tcp://127.0.0.1:1", 1.0)
    ... except SchedulerUnreachable as exc:
    ...     print(str(exc)[:56])
    cannot reach the Dask scheduler at tcp://127.0.0.1:1 (Co
    """
    if backend == "ray":
        from evotune.backends._ray_link import host_port, refused

        target = host_port(address)
        why = None if target is None else refused(target, wait)
        if why is not None:
            raise SchedulerUnreachable(
                f"cannot reach the Ray head at {address} ({why} within {wait:g} s, "
                "search.connect_timeout); is `ray start --head` running there?"
            )
        return
    from evotune.backends._dask_client import SchedulerUnreachableError, check_scheduler

    try:
        check_scheduler(address, wait, setting="search.connect_timeout")
    except SchedulerUnreachableError as exc:
        raise SchedulerUnreachable(str(exc)) from None


def _journal(out: Path) -> Any:
    from evotune._journal_read import read_journal
    from evotune.journal import JOURNAL

    return read_journal(out / JOURNAL, keep=())


def started(out: Path) -> bool:
    """Whether the run in ``out`` evaluated anything (a fold or a candidate).

    A journal that cannot be read, or a directory a live run holds, counts as
    started: only a directory that certainly holds nothing is taken as empty.
    """
    from evotune._journal_read import JournalError
    from evotune.journal import JOURNAL, LOCK, META, RunLockedError, _Lock

    journal_path = out / JOURNAL
    if not journal_path.exists():
        return (out / META).exists()
    if not journal_path.is_file() or journal_path.is_symlink():
        return True  # not a file evotune made: never removed
    lock = _Lock(out / LOCK)
    try:
        lock.acquire()
    except (RunLockedError, OSError):
        return True
    try:
        journal = _journal(out)
    except (JournalError, OSError):
        return True
    finally:
        lock.release()
    return bool(journal.folds or journal.evaluated)


def clear_unstarted(out: Path, names: tuple[str, ...]) -> None:
    """Remove what a run that never evaluated anything left in ``out``."""
    from evotune.journal import HALL_OF_FAME, HISTORY, JOURNAL, LOCK, META

    for name in (JOURNAL, META, HISTORY, HALL_OF_FAME, LOCK, RUN_FILE, *names):
        try:
            (out / name).unlink()
        except FileNotFoundError:
            pass


def generations_done(out: Path) -> int:
    """Generations the run in ``out`` finished (0 if none, or no journal)."""
    from evotune.journal import JOURNAL

    path = out / JOURNAL
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    told = _journal(out).told
    return max(told) + 1 if told else 0


def read_run_file(out: Path) -> dict[str, Any]:
    """What ``run.json`` records, or ``{}`` (a run made before it existed)."""
    try:
        data = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_run_file(out: Path, **changes: Any) -> None:
    """Update ``run.json`` with ``changes``."""
    from evotune._atomic import atomic_open

    data = {**read_run_file(out), **changes}
    with atomic_open(out / RUN_FILE) as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")


def data_dir_of(experiment_path: str | os.PathLike[str]) -> str:
    """The absolute directory relative data paths of a file are read from."""
    return str(Path(experiment_path).absolute().parent)
