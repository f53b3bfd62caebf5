"""Writing a run directory: journal records as checksummed strict-JSON lines,
appended so that a failed write leaves the journal whole, and failed writes of
any of its files reported in one line that names the file.

A record is its compact JSON (``NaN`` as ``null``, ``±inf`` as ``"inf"`` /
``"-inf"``: JSON has no infinity) with ``"crc"``, the CRC-32 of that text,
added as its last field; :mod:`evotune._journal_read` checks it and reads the
infinities back. Each record is handed to the kernel in one ``write`` as it
comes (a killed process loses nothing); the file is fsynced when the run
directory asks (each generation, and at least once a second).

A write that fails (a full disk, a quota, the process's file size limit) cuts
off what it wrote of its record, so the journal still ends with a whole
record, refuses further records, and raises :class:`DiskFullError` (or an
``OSError`` naming the file, for any other failure): free space and resume.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evotune._atomic import atomic_open
from evotune._journal_read import CHECKSUM, checksum

__all__ = ["DiskFullError", "JournalFile", "dumps", "storage_error", "write_json_atomic"]

# a full device, a full quota, the file size limit (ulimit -f): more room fixes each
FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class DiskFullError(OSError):
    """A file of a run directory could not be written for want of room: no
    space left on its device, a disk quota, or the process's file size limit.

    The message is one line naming the file and the free space; the journal is
    left whole, so the run resumes once there is room.

    Examples
    --------
    >>> import errno
    >>> exc = storage_error("runs/a/journal.jsonl", OSError(errno.EFBIG, "File too large"), 80)
    >>> isinstance(exc, DiskFullError), exc.filename
    (True, 'runs/a/journal.jsonl')
    """

    def __str__(self) -> str:  # the message alone, not "[Errno 28] ...: 'file'"
        return str(self.args[0]) if self.args else ""


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def _free(path: Path) -> str:
    try:
        return _size(shutil.disk_usage(path.parent).free)
    except OSError:
        return "unknown space"


def storage_error(path: str | os.PathLike[str], exc: OSError, need: int | None = None) -> OSError:
    """``exc``, a failed write of ``path``, as an error whose message is one line
    naming the file: a :class:`DiskFullError` when more room would fix it
    (saying the free space and, if known, the bytes the write needed), else an
    ``OSError`` of the same errno with the file name added."""
    path = Path(path)
    if exc.errno not in FULL:
        return OSError(exc.errno, exc.strerror or str(exc), str(path))
    why = exc.strerror or os.strerror(exc.errno or 0)
    if exc.errno == errno.EFBIG:
        why += " (the file size limit of this process, `ulimit -f`, is reached)"
    needed = f"; this write needed {_size(need)}" if need else ""
    error = DiskFullError(
        f"cannot write {path}: {why} ({_free(path)} free on its file system{needed}); "
        "the journal is whole: make room, then resume the run"
    )
    error.errno, error.filename = exc.errno, str(path)
    return error


def _encode(value: Any) -> Any:
    """NaN as null and ±inf as "inf" / "-inf": strict JSON (jq, browsers) that
    loses no infinity."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _finite(value: Any) -> Any:
    """NaN and infinities as null (``meta.json``: settings compared, not scores)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def dumps(record: Mapping[str, Any]) -> str:
    """One record as a strict-JSON line with its checksum last.

    Examples
    --------
    >>> dumps({"type": "stop", "score": float("-inf")})
    '{"type":"stop","score":"-inf","crc":4075397995}'
    """
    try:  # the common all-finite record takes the fast path
        body = json.dumps(record, separators=(",", ":"), allow_nan=False)
    except ValueError:
        body = json.dumps(_encode(record), separators=(",", ":"), allow_nan=False)
    return f'{body[:-1]}{"," if len(body) > 2 else ""}"{CHECKSUM}":{checksum(body)}}}'


def write_json_atomic(path: Path, data: Any) -> None:
    """``data`` as indented JSON, written whole or not at all; a failure is one
    line naming the file."""
    try:
        with atomic_open(path) as fh:
            # insertion order kept: the space's parameters stay in the user's order
            fh.write(json.dumps(_finite(data), indent=2, allow_nan=False) + "\n")
    except OSError as exc:
        raise storage_error(path, exc) from None


class JournalFile:
    """The journal, open for appending records.

    Parameters
    ----------
    path : path
        The journal file; created if missing, appended to if not.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "journal.jsonl"
    >>> journal = JournalFile(path)
    >>> journal.write({"type": "stop", "reason": "generations"})
    >>> journal.close()
    >>> path.read_text()
    '{"type":"stop","reason":"generations","crc":2250222212}\\n'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise storage_error(self.path, exc) from None
        self.end = os.lseek(self._fd, 0, os.SEEK_END)  # the end of the last whole record
        self.broken = False
        self.dirty = False
        self.last_sync = time.monotonic()

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record in one ``write``; on a failure cut off what was
        written of it, refuse any later record and raise the failure."""
        if self._fd is None or self.broken:
            raise RuntimeError(f"{self.path} is closed for writing")
        data = (dumps(record) + "\n").encode("utf-8")
        view = memoryview(data)
        try:
            while view:  # a write may be short (a file size limit, a signal)
                written = os.write(self._fd, view)
                if not written:  # pragma: no cover - no progress is no room
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
        except OSError as exc:
            self.cut()
            raise storage_error(self.path, exc, len(data)) from None
        self.end += len(data)
        self.dirty = True

    def cut(self) -> None:
        """Cut the file back to its last whole record (freeing, not needing,
        space) and take no more records."""
        self.broken = True
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, self.end)
            except OSError:  # pragma: no cover - the reader drops a torn last line
                pass

    def sync(self) -> None:
        """fsync the records written since the last one."""
        if self._fd is not None and self.dirty and not self.broken:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                self.broken = True
                raise storage_error(self.path, exc) from None
            self.dirty = False
        self.last_sync = time.monotonic()

    def close(self) -> None:
        """fsync (unless a write failed) and close."""
        if self._fd is None:
            return
        try:
            self.sync()
        finally:
            os.close(self._fd)
            self._fd = None
