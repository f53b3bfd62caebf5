"""Checkpoints of trainings (strategy="pbt"): saved under content hashes, and
removed once nothing alive refers to them.

A worker saves a checkpoint to a temporary name in the run's checkpoint
folder, fsyncs it, hashes it and renames it to its hash; only then does it
return the hash, so a journal record never refers to a file that is not
whole on disk. The driver's :class:`Keeper` holds the set of hashes in use
(the checkpoints the asked candidates continue from, and those the finished
ones saved) and deletes a file when its hash leaves that set, so at most the
population plus one checkpoint per worker in flight are on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["InUse", "Keeper", "save_checkpoint"]

# no leading dot: torch.save names its archive after the file and refuses one
_TMP = "tmp-"


def save_checkpoint(directory: str | os.PathLike[str], write: Callable[[str], None]) -> str:
    """Call ``write(path)`` on a temporary path in ``directory``, then store
    the file under its content hash; returns the hash.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> h = save_checkpoint(d, lambda p: open(p, "w").write("weights"))
    >>> (Path(d) / h).read_text()
    'weights'
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{_TMP}{uuid.uuid4().hex}"
    try:
        write(str(tmp))
        if not tmp.is_file():
            raise FileNotFoundError(
                f"save_checkpoint(path) wrote no file at {str(tmp)!r}: a Trainable must "
                "save its checkpoint as one file at the path it is given"
            )
        digest = hashlib.sha256()
        with open(tmp, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
            os.fsync(f.fileno())
        name = digest.hexdigest()[:32]
        os.replace(tmp, folder / name)  # the same bytes under the same name: idempotent
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return name


class Keeper:
    """The driver's side: delete a checkpoint once its hash is no longer in use.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> a = save_checkpoint(d, lambda p: open(p, "w").write("a"))
    >>> k = Keeper(d)
    >>> k.retain([a]); k.retain([]); (d / a).exists()
    False
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._alive: set[str] = set()

    def retain(self, in_use: Iterable[str | None]) -> None:
        """Only the checkpoints ``in_use`` are needed from now on: delete the
        ones that were and are no longer (never one it has not seen in use,
        so a resumed run's replay deletes nothing it will need)."""
        now = {h for h in in_use if h is not None}
        for name in sorted(self._alive - now):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()
        self._alive = now

    def sweep(self, keep: Iterable[str | None] = ()) -> None:
        """Delete every checkpoint and temporary file but ``keep`` (the end of
        a run: files of trainings a crash interrupted, or never journaled)."""
        kept = {h for h in keep if h is not None}
        if not self.directory.is_dir():
            return
        for path in self.directory.iterdir():
            if path.is_file() and path.name not in kept:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        self._alive &= kept


class InUse:
    """Which checkpoints a generational run still needs, as it goes: those the
    asked candidates continue from until each finishes, those the finished
    ones saved until the strategy has chosen which the next generation
    continues from (``told``)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.keeper = Keeper(directory)
        self._open: dict[int, str | None] = {}
        self._saved: set[str] = set()

    def asked(self, candidates: Iterable[Any]) -> None:
        self._open = {c.id: c.checkpoint for c in candidates}
        self._saved = set()
        self._retain()

    def finished(self, candidate_id: int, saved: str | None) -> None:
        self._open.pop(candidate_id, None)
        if saved is not None:
            self._saved.add(saved)
        self._retain()

    def told(self, in_use: Iterable[str]) -> None:
        self._open = {}
        self._saved = set(in_use)
        self._retain()

    def end(self) -> None:
        """The run ended: keep what the next generation would continue from."""
        self.keeper.sweep(keep=[*self._saved, *self._open.values()])

    def _retain(self) -> None:
        self.keeper.retain([*self._open.values(), *self._saved])
