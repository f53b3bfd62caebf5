"""Files a reader never sees half-written: a temporary file, fsync, rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` sets it:
    racy with other threads); Linux shows it in /proc, elsewhere it is set
    back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", *, fsync: bool = True
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on a clean exit it is flushed,
    fsynced (unless ``fsync=False``) and renamed over ``path``, on an error it
    is removed. Without the fsync a reader still never sees half a file, but a
    power cut may leave the old one or an empty one: for files that can be
    rebuilt from the journal.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_open(target) as fh:
    ...     _ = fh.write("whole")
    >>> target.read_text()
    'whole'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        # mkstemp makes the file 0600; the renamed file follows the umask as
        # one made by open() does (the journal beside it does)
        os.fchmod(fd, 0o666 & ~_umask())
        newline = None if "b" in mode else ""  # CSV and JSON written as given
        with os.fdopen(fd, mode, newline=newline) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
