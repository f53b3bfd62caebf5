"""The run directory: an append-only JSON-lines journal, its metadata and lock.

Layout of ``checkpoint="runs/name"``::

    meta.json          format version, space, settings, package versions, data fingerprint
    journal.jsonl      one JSON record per line, appended as the run goes
    history.csv        every evaluation so far (rewritten atomically, at most once a second)
    hall_of_fame.csv   the best distinct evaluations (rewritten atomically, at most once a second)
    lock               held (flock) by the live run

Records of the journal: ``start`` (a session), ``ask`` (a generation's
candidates), ``fold`` (one finished (candidate, fold) task), ``evaluation`` (a
finished candidate), ``tell`` (a generation boundary, with the random state
after it) and ``stop``; each carries a checksum (:mod:`evotune._journal_write`).
Every record is handed to the kernel as it is written, so a killed process
loses nothing; the file is fsynced at each generation boundary and at least
once a second while records arrive, so a power cut loses at most about a
second. A new run writes ``meta.json`` after the journal's first record, so a
``meta.json`` beside an empty or missing journal means the journal was lost,
and the run is refused rather than started again from nothing. A write that
fails for want of room raises :class:`DiskFullError` and leaves the journal
whole.

Resume replays the run from its seed: the engine asks the same candidates, and
every one whose folds are in the journal is answered from it; only what is
missing is dispatched. The random states recorded at generation boundaries
check that the replay follows the journal.

Reading a run directory never runs code: it is JSON, and objects among a
parameter's choices are stored by index and shown by ``repr``. Resume, the
report and warm starts read it through one reader, :func:`read_journal` and
:func:`read_meta` (in :mod:`evotune._journal_read`, served from here), with
one rule for damaged lines: a torn last line is dropped with a warning, any
other bad line is refused with an error naming the file and the line.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evotune._journal_read import FORMAT_VERSION, Journal, JournalError, read_journal, read_meta
from evotune._journal_write import (
    DiskFullError,
    JournalFile,
    dumps,
    storage_error,
    write_json_atomic,
)
from evotune._meta import build_meta, check_not_shrunk, check_resumable, package_versions
from evotune.records import Evaluation, FoldResult

__all__ = [
    "FORMAT_VERSION",
    "HALL_OF_FAME",
    "HISTORY",
    "JOURNAL",
    "LOCK",
    "META",
    "DiskFullError",
    "Journal",
    "JournalError",
    "RunDirectory",
    "RunLockedError",
    "build_meta",
    "dumps",
    "package_versions",
    "peek_meta",
    "read_journal",
    "read_meta",
]

# the names of a run directory's files: spelled here only, imported elsewhere
JOURNAL = "journal.jsonl"
META = "meta.json"
HISTORY = "history.csv"
HALL_OF_FAME = "hall_of_fame.csv"
LOCK = "lock"
FSYNC_INTERVAL = 1.0

logger = logging.getLogger("evotune")


class RunLockedError(RuntimeError):
    """Another live process is using this run directory."""


def _json_safe(value: Any) -> Any:
    """Parameters as JSON: plain scalars kept, other objects shown by repr."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return {"repr": repr(value)}


def _fold_to_json(result: FoldResult) -> dict[str, Any]:
    return {
        "score": result.score,
        "fit_time": result.fit_time,
        "score_time": result.score_time,
        "status": result.status,
        "error": result.error,
        "metrics": result.metrics,
        "worker": result.worker,
        "started": result.started,
        "finished": result.finished,
        "reports": [[step, value] for step, value in result.reports],
        **({"checkpoint": result.checkpoint} if result.checkpoint is not None else {}),
    }


def evaluation_record(ev: Evaluation) -> dict[str, Any]:
    """The journal's record of one evaluation (the report and the figures read it)."""
    return {
        "type": "evaluation",
        "candidate": ev.candidate_id,
        "generation": ev.generation,
        "origin": ev.origin,
        "key": ev.key,
        "params": _json_safe(ev.params),
        "mean_score": ev.mean_score,
        "std_score": ev.std_score,
        "fold_scores": ev.fold_scores,
        "fit_time": ev.fit_time,
        "score_time": ev.score_time,
        "status": ev.status,
        "error": ev.error,
        # per fold, for objectives a report computes (scorers, measures)
        **({"metrics": ev.metrics} if any(ev.metrics) else {}),
    }


class _Lock:
    """An exclusive ``flock`` on ``lock``: released by the kernel when the
    holder dies, so a lock left by a dead process is simply taken over.

    A clean release removes the file (a finished run leaves no ``lock``): it
    is unlinked while still held, and a taker checks after its ``flock``
    that the file it locked is still the one at the path (else it locked a
    removed file and tries again), so two runs never both hold the lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: Any = None

    def acquire(self) -> None:
        for _ in range(100):
            self._acquire_once()
            try:
                same = os.path.samestat(os.fstat(self.fh.fileno()), os.stat(self.path))
            except OSError:
                same = False
            if same:
                return
            self.fh.close()  # the file locked was removed by its last holder
            self.fh = None
        raise RunLockedError(f"the lock {self.path} keeps being replaced; try again")

    def _acquire_once(self) -> None:
        try:
            fh = open(self.path, "a+")
        except OSError as exc:
            raise storage_error(self.path, exc) from None
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - no flock (Windows): no protection
            pass
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise RunLockedError(
                f"the run directory {self.path.parent} is in use by another live run "
                f"(process {holder}); wait for it to finish or use another checkpoint"
            ) from None
        fh.seek(0)
        try:
            fh.truncate()
            os.write(fh.fileno(), f"{os.getpid()}\n".encode())
        except OSError:  # a full disk: the pid only tells who holds the lock
            pass
        self.fh = fh

    def release(self) -> None:
        if self.fh is not None:
            try:
                try:
                    os.unlink(self.path)  # while held: see the class's note
                except OSError:
                    pass
                self.fh.close()
            finally:
                self.fh = None


def _read_whole(journal: Path, meta: Path) -> Journal | None:
    """The journal of a started run (``meta`` beside it), read once for the
    resume; None when either file is missing or the journal cannot be read
    (the replay then says what is wrong)."""
    if not (meta.is_file() and journal.is_file()) or journal.stat().st_size == 0:
        return None
    try:
        return read_journal(journal, keep=())
    except (JournalError, OSError):
        return None


def _no_result(read: Journal) -> bool:
    """Whether a journal holds records but not one result (fold or evaluation)."""
    return read.end > 0 and not (read.folds or read.evaluated or read.told)


class RunDirectory:
    """A run's directory, opened for writing by the live run.

    Use :meth:`open`; it takes the lock, checks or writes ``meta.json`` and
    reads what an earlier run of it left.

    Attributes
    ----------
    folds : dict
        ``(key, fold) -> FoldResult`` of every fold the journal holds.
    asked : dict
        ``generation -> [keys]`` as asked before.
    told : dict
        ``generation -> random state after that generation``.
    meta : dict
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folds: dict[tuple[str, int], FoldResult] = {}
        self.asked: dict[int, list[str]] = {}
        self.told: dict[int, dict[str, Any]] = {}
        self.evaluated: set[str] = set()
        self.meta: dict[str, Any] = {}
        self._lock = _Lock(path / LOCK)
        self._fh: JournalFile | None = None
        self._meta_pending = False  # a new run's meta.json, written after its first record

    # --------------------------------------------------------------- open
    @classmethod
    def open(
        cls, path: str | os.PathLike[str], meta: dict[str, Any], *, resume: bool
    ) -> RunDirectory:
        """Open ``path`` for a run described by ``meta``.

        A new or empty directory starts a run (so does one whose run never
        wrote a record). An existing run is continued with ``resume=True``
        (after checking that ``meta`` matches it) and refused otherwise; so is
        a ``meta.json`` without a journal that holds a record.
        """
        root = Path(path)
        if root.exists() and not root.is_dir():
            raise JournalError(f"checkpoint {str(root)!r} exists and is not a directory")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(root, exc) from None
        run = cls(root)
        run._lock.acquire()
        try:
            journal, meta_path = root / JOURNAL, root / META
            read = _read_whole(journal, meta_path)
            if read is not None and _no_result(read):
                # a run stopped before its first result (an unreachable
                # scheduler, a bad objective): nothing to keep, nothing to
                # block the corrected run with
                for name in (JOURNAL, META, HISTORY, HALL_OF_FAME):
                    (root / name).unlink(missing_ok=True)
            # the journal's first record is written before meta.json: a journal
            # still empty without meta.json is a run that never started
            exists = meta_path.exists() or (journal.exists() and journal.stat().st_size > 0)
            if exists and not resume:
                raise JournalError(
                    f"the checkpoint directory {str(root)!r} already holds a run; pass "
                    "resume=True to continue it, or choose another directory"
                )
            if exists:
                if not meta_path.exists():
                    raise JournalError(
                        f"{meta_path} is missing, so the journal in {str(root)!r} cannot be "
                        "checked against this run; nothing was changed"
                    )
                run.meta = read_meta(meta_path)
                check_resumable(root, run.meta, meta)
                run._replay(journal, read)
                done = max(run.told) + 1 if run.told else 0
                check_not_shrunk(root, meta.get("settings", {}), done, len(run.evaluated))
            else:
                run.meta = dict(meta)
                run._meta_pending = True
            run._fh = JournalFile(journal)
        except BaseException:
            run._lock.release()
            raise
        return run

    def _replay(self, path: Path, journal: Journal | None = None) -> None:
        """Take what the earlier sessions journaled (the records themselves are
        not kept: resume needs the summary only). ``meta.json`` is written
        after the journal's first record, so a journal missing or without a
        record beside it was deleted or emptied: resuming would start the run
        again from nothing."""
        if not path.exists():
            raise _lost(path, "is missing", "deleted or moved")
        if journal is None:
            journal = read_journal(path, keep=())
        if journal.end == 0:
            raise _lost(path, "holds no record", "emptied or replaced")
        self.folds, self.asked = journal.folds, journal.asked
        self.told, self.evaluated = journal.told, journal.evaluated
        try:
            _mend_tail(path, journal.end)
        except OSError as exc:
            raise storage_error(path, exc) from None

    # -------------------------------------------------------------- write
    def append(self, record: dict[str, Any]) -> None:
        """Append one record: written at once, fsynced at least once a second.

        Raises
        ------
        DiskFullError
            If there is no room for it; the journal keeps its whole records.
        """
        if self._fh is None:
            raise RuntimeError("the run directory is closed")
        self._fh.write(record)
        if self._meta_pending:
            self._write_meta(self._fh)
        self.tick()

    def _write_meta(self, fh: JournalFile) -> None:
        """A new run's ``meta.json``, once its first record is on disk; if it
        cannot be written, the journal is emptied again (a run never started)."""
        fh.sync()
        try:
            write_json_atomic(self.path / META, self.meta)
        except OSError:
            fh.end = 0
            fh.cut()
            raise
        self._meta_pending = False

    def tick(self) -> None:
        """fsync if records are waiting and a second has passed."""
        fh = self._fh
        if fh is not None and fh.dirty and time.monotonic() - fh.last_sync >= FSYNC_INTERVAL:
            fh.sync()

    def sync(self) -> None:
        """fsync the records written since the last one."""
        if self._fh is not None:
            self._fh.sync()

    def record_start(self, resumed: bool, n_workers: int | None = None) -> None:
        self.append(
            {
                "type": "start",
                "pid": os.getpid(),
                "time": time.time(),
                "resumed": resumed,
                "n_workers": n_workers,
            }
        )

    def record_ask(self, generation: int, candidates: list[Any], *, append: bool = False) -> None:
        """Journal asked candidates; ``append`` adds them to the generation's
        earlier asks (the steady-state strategy asks one at a time)."""
        self.append(
            {
                "type": "ask",
                "generation": generation,
                **({"append": True} if append else {}),
                "keys": [c.key for c in candidates],
                "ids": [c.id for c in candidates],
                "origins": [c.origin for c in candidates],
                "params": [_json_safe(c.params) for c in candidates],
            }
        )

    def record_fold(self, key: str, fold: int, candidate_id: int, result: FoldResult) -> None:
        self.folds[(key, fold)] = result
        self.append(
            {
                "type": "fold",
                "key": key,
                "fold": fold,
                "candidate": candidate_id,
                "result": _fold_to_json(result),
            }
        )

    def record_evaluation(self, ev: Evaluation) -> None:
        self.append(evaluation_record(ev))

    def record_tell(
        self,
        generation: int,
        rng_state: dict[str, Any],
        n_evaluations: int,
        logbook: Mapping[str, Any] | None = None,
    ) -> None:
        self.told[generation] = rng_state
        self.append(
            {
                "type": "tell",
                "generation": generation,
                "rng": rng_state,
                "n_evaluations": n_evaluations,
                "logbook": _json_safe(dict(logbook or {})),
            }
        )
        self.sync()

    def record_stop(self, reason: str) -> None:
        """The session's last record, if the journal can still take one: it
        says why the session ended, and a resume needs it not."""
        if self._fh is None or self._fh.broken:
            return
        try:
            self.append({"type": "stop", "reason": reason, "time": time.time()})
        except OSError as exc:
            logger.warning("the stop record was not journaled: %s", exc)

    def close(self) -> None:
        try:
            if self._fh is not None:
                fh, self._fh = self._fh, None
                fh.close()
        finally:
            self._lock.release()


def _lost(path: Path, what: str, how: str) -> JournalError:
    return JournalError(
        f"{path} {what}, though {META} beside it says a run was started there: the journal "
        f"was {how}, and resuming would start the run again from nothing; nothing was "
        "changed (restore the journal, or start the run in another directory)"
    )


def _mend_tail(path: Path, end: int) -> None:
    """Cut what follows the last whole record (a torn line, blank lines) and end
    that record's line, so that the next append starts a line of its own."""
    with open(path, "r+b") as fh:
        if fh.seek(0, os.SEEK_END) > end:
            fh.truncate(end)
        if end:
            fh.seek(end - 1)
            if fh.read(1) != b"\n":
                fh.seek(end)
                fh.write(b"\n")


def peek_meta(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``meta.json`` of a run directory, or None where there is none."""
    meta = Path(path) / META
    if not meta.exists():
        return None
    return read_meta(meta)
