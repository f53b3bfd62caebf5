"""The one reader of a run directory: ``meta.json`` and the journal, as JSON only.

Resume (:class:`evotune.journal.RunDirectory`), the report
(:func:`evotune.report.load_run`) and warm starts from a run directory
(``initial_population=path``) all read through this module, so they see the
same records and follow one rule for a damaged journal:

- a torn last line, one that is not valid JSON (the writer was killed while
  writing it, or is writing it now), is dropped with a :class:`RuntimeWarning`
  naming the file and the line;
- any other line that is not valid JSON, and any line, the last one included,
  that is valid JSON but not a record as the writer writes it (not an object,
  an unknown ``type``, a field missing or of the wrong kind, a checksum that
  does not match), is refused with a :class:`JournalError` naming the file
  and the line.

A line cut short by a kill is never valid JSON (every record is an object, so
the closing brace comes last), which is why only unparseable text counts as
torn: a whole line that is wrong was written wrong or altered later. A last
line that ends the way only a whole record ends (with its checksum and the
closing brace) was whole when written, so it is refused, not dropped.

Every record carries ``crc``, the CRC-32 (:func:`zlib.crc32`) of the record
without it, as compact JSON in its own key order (the text the writer wrote
before adding the field): a record altered in place, one digit of a score, is
refused. Records without ``crc`` (sessions of an evotune before it) are
checked by their fields only; within a session (from one ``start`` record to
the next) whose records carry it, a record without it is refused, so renaming
the field cannot pass an altered record. Lines of whitespace hold no record
and are passed over.

JSON has no infinity: a score or time of ``±inf`` is written as the string
``"inf"`` or ``"-inf"`` (and NaN as ``null``), and read back as the float in
the numeric fields (scores, times, metrics, the logbook), never in parameters.

This module only reads: cutting a torn line off the file is the resumed run's
job. The file names are declared in :mod:`evotune.journal`, which imports this
module and serves its names.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evotune.records import FoldResult

__all__ = [
    "CHECKSUM",
    "FORMAT_VERSION",
    "RECORD_TYPES",
    "Journal",
    "JournalError",
    "checksum",
    "read_journal",
    "read_meta",
]

FORMAT_VERSION = 1
RECORD_TYPES = ("start", "ask", "fold", "evaluation", "tell", "stop")
CHECKSUM = "crc"
# how only a whole record's line ends: its checksum, then the closing brace
_WHOLE_END = re.compile(rb',"crc":(\d+)\}\s*$')
# the numbers JSON cannot hold, as the writer spells them (NaN is null)
INFINITIES = {"inf": math.inf, "-inf": -math.inf}


def checksum(body: str) -> int:
    """The CRC-32 of a record's compact JSON text (without its ``crc`` field).

    Examples
    --------
    >>> checksum('{"type":"stop","reason":"generations"}')
    2250222212
    """
    return zlib.crc32(body.encode("utf-8"))


class JournalError(ValueError):
    """A run directory that cannot be read or resumed as it is: a corrupt or
    altered file, another format version, or a mismatch with the run resuming it."""


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A run's ``meta.json``, checked to be a JSON object of this format version.

    Parameters
    ----------
    path : path
        The ``meta.json`` file (:data:`evotune.journal.META` in a run directory).

    Returns
    -------
    dict
        Format version, space, settings, data fingerprint, package versions.

    Raises
    ------
    JournalError
        If the file cannot be read, is not a JSON object, or has another
        ``format_version``.

    Examples
    --------
    >>> from evotune.journal import META, read_meta
    >>> read_meta(example_run / META)["settings"]["population_size"]
    6
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise JournalError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise JournalError(f"{path} must hold a JSON object, got {type(data).__name__}")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise JournalError(
            f"{path} has format_version {version!r}; this evotune reads version "
            f"{FORMAT_VERSION} only"
        )
    return data


@dataclass
class Journal:
    """What a run's journal holds, every record checked.

    Attributes
    ----------
    path : Path
        The journal file.
    records : list of dict
        The records of the types :func:`read_journal` was asked to keep, in
        file order, as the JSON objects they are on disk (their ``crc`` kept,
        ``"inf"`` / ``"-inf"`` in numeric fields read as floats).
    asked : dict
        ``generation -> [keys]`` of the ``ask`` records (an ``append`` record
        adds to its generation's keys).
    folds : dict
        ``(key, fold) -> FoldResult`` of the ``fold`` records (the last one of
        each task).
    told : dict
        ``generation -> random state after that generation`` of the ``tell``
        records.
    evaluated : set of str
        Keys of the genomes with an ``evaluation`` record.
    end : int
        Bytes of the file up to the end of the last whole record's line: what
        follows (a torn line, blank lines) holds no record.
    torn : bool
        Whether a torn last line was dropped.

    Examples
    --------
    >>> from evotune.journal import JOURNAL, read_journal
    >>> journal = read_journal(example_run / JOURNAL)
    >>> sorted(journal.asked), sorted(journal.told), journal.torn
    ([0, 1], [0, 1], False)
    >>> len(journal.of_type("evaluation")) == len(journal.evaluated) == len(journal.folds)
    True
    """

    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    asked: dict[int, list[str]] = field(default_factory=dict)
    folds: dict[tuple[str, int], FoldResult] = field(default_factory=dict)
    told: dict[int, dict[str, Any]] = field(default_factory=dict)
    evaluated: set[str] = field(default_factory=set)
    end: int = 0
    torn: bool = False

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The kept records of one type, in file order."""
        return [record for record in self.records if record["type"] == kind]


def read_journal(path: str | os.PathLike[str], *, keep: Collection[str] = RECORD_TYPES) -> Journal:
    """Read a run's journal under the one rule for damaged lines.

    Parameters
    ----------
    path : path
        The journal file (:data:`evotune.journal.JOURNAL` in a run directory).
    keep : collection of str, default all record types
        The types of the records to keep as dicts in :attr:`Journal.records`.
        Every record is checked and summarised whatever this says; a resume
        keeps none, so a long run's journal is not held in memory twice.

    Returns
    -------
    Journal

    Raises
    ------
    JournalError
        If the file cannot be read, or a line other than a torn last one is not
        a record as the writer writes it; the message names the file and line.

    Warns
    -----
    RuntimeWarning
        If the last line is torn (not valid JSON); it is dropped.

    Examples
    --------
    >>> from evotune.journal import JOURNAL, read_journal
    >>> journal = read_journal(example_run / JOURNAL, keep=("stop",))
    >>> [record["reason"] for record in journal.records]
    ['generations']
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"{path} cannot be read: {exc}") from None
    journal = Journal(path)
    # split bytes, not text: a line torn inside a multi-byte character must
    # not make the whole file undecodable
    lines = data.split(b"\n")
    last = max((i for i, raw in enumerate(lines) if raw.strip()), default=-1)
    start, checked = 0, False
    for i, raw in enumerate(lines):
        line_end = min(start + len(raw) + 1, len(data))  # with its newline, if it has one
        if raw.strip():
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
                if i != last or _WHOLE_END.search(raw):
                    raise _corrupt(path, i + 1, f"not valid JSON ({exc})") from None
                warnings.warn(
                    f"{path}: line {i + 1} was cut short (the writer was stopped while "
                    "writing it); it is dropped",
                    RuntimeWarning,
                    stacklevel=2,
                )
                journal.torn = True
                break
            has_crc = _verify(path, record, i + 1, raw)
            _take(journal, record, i + 1, decode=b'inf"' in raw)  # most lines hold no inf
            # a session of an older evotune (its start record has no checksum)
            # writes none; in one that writes them, a record without one was altered
            if not has_crc and checked and record["type"] != "start":
                raise _corrupt(path, i + 1, "no checksum, though this session's records have one")
            checked = has_crc
            if record["type"] in keep:
                journal.records.append(record)
            journal.end = line_end
        start += len(raw) + 1
    return journal


def _corrupt(path: Path, number: int, why: str) -> JournalError:
    return JournalError(
        f"{path}, line {number}: {why}; the journal was corrupted or altered (nothing was changed)"
    )


def _verify(path: Path, record: Any, number: int, raw: bytes) -> bool:
    """Check a record's ``crc`` against its content; return whether it has one."""
    if not isinstance(record, dict) or CHECKSUM not in record:
        return False
    crc = record[CHECKSUM]
    # the line as the writer wrote it: its text without the field is the JSON
    # the checksum is of (a line written otherwise is checked by its content)
    tail = _WHOLE_END.search(raw)
    if tail and int(tail.group(1)) == crc and zlib.crc32(raw[: tail.start()] + b"}") == crc:
        return True
    del record[CHECKSUM]
    body = json.dumps(record, separators=(",", ":"), allow_nan=False)
    record[CHECKSUM] = crc  # kept, in its place at the end, as on disk
    if isinstance(crc, bool) or not isinstance(crc, int):
        raise _corrupt(path, number, f"checksum {crc!r} is not a number")
    if checksum(body) != crc:
        raise _corrupt(
            path,
            number,
            f"checksum mismatch (the record's content has crc {checksum(body)}, the line "
            f"says {crc})",
        )
    return True


def _take(journal: Journal, record: Any, number: int, *, decode: bool = True) -> None:
    """Check one parsed line and add it to the summary: the fields every reader
    relies on must be there, of the kind the writer writes; with ``decode``,
    infinities written as text are read back first."""
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        raise _corrupt(journal.path, number, "not a journal record (a JSON object with a type)")
    kind = record["type"]
    if kind not in RECORD_TYPES:
        raise _corrupt(journal.path, number, f"unknown record type {kind!r}")
    try:
        if decode:
            _decode_numbers(record)
        if kind == "fold":
            key = (str(record["key"]), int(record["fold"]))
            journal.folds[key] = _fold_from_json(_of(record, "result", dict))
        elif kind == "ask":
            generation = int(record["generation"])
            keys = [str(k) for k in _of(record, "keys", list)]
            if record.get("append"):
                journal.asked.setdefault(generation, []).extend(keys)
            else:
                journal.asked[generation] = keys
        elif kind == "tell":
            journal.told[int(record["generation"])] = _of(record, "rng", dict)
        elif kind == "evaluation":
            _of(record, "params", dict)  # warm starts take the parameters from here
            journal.evaluated.add(str(record["key"]))
    except KeyError as exc:
        raise _corrupt(journal.path, number, f"{kind!r} record without {exc}") from None
    except (AttributeError, TypeError, ValueError) as exc:
        raise _corrupt(journal.path, number, f"malformed {kind!r} record ({exc})") from None


def _of(record: Mapping[str, Any], name: str, expected: type) -> Any:
    """``record[name]``, which must be a JSON object (dict) or array (list)."""
    value = record[name]
    if not isinstance(value, expected):
        raise TypeError(f"{name!r} must be a JSON {'object' if expected is dict else 'array'}")
    return value


# the fields of each record type that hold numbers (or lists and objects of them)
_NUMERIC = {
    "evaluation": ("mean_score", "std_score", "fold_scores", "fit_time", "score_time", "metrics"),
    "tell": ("logbook",),
}
_RESULT_NUMERIC = ("score", "fit_time", "score_time", "started", "finished", "metrics")


def _decode_numbers(record: dict[str, Any]) -> None:
    """``"inf"`` and ``"-inf"`` back to floats, in place, in the numeric fields
    only: a parameter's value ``"inf"`` stays a string."""
    fields: Any = _NUMERIC.get(record["type"], ())
    target = record
    if record["type"] == "fold" and isinstance(record.get("result"), dict):
        target, fields = record["result"], _RESULT_NUMERIC
    for name in fields:
        if name in target:
            target[name] = _infinities(target[name])


def _infinities(value: Any) -> Any:
    if isinstance(value, str):
        return INFINITIES.get(value, value)
    if isinstance(value, list):
        return [_infinities(v) for v in value]
    if isinstance(value, dict):
        return {k: _infinities(v) for k, v in value.items()}
    return value


def _num(value: Any, default: float = math.nan) -> float:
    return default if value is None else float(value)


def _fold_from_json(data: Mapping[str, Any]) -> FoldResult:
    metrics = data.get("metrics")
    if metrics is not None and not isinstance(metrics, dict):
        raise TypeError("'metrics' must be a JSON object")
    return FoldResult(
        score=_num(data["score"]),
        fit_time=_num(data.get("fit_time"), 0.0),
        score_time=_num(data.get("score_time"), 0.0),
        status=str(data.get("status", "ok")),
        error=data.get("error"),
        metrics={k: _num(v) for k, v in (metrics or {}).items()},
        worker=int(data.get("worker", 0)),
        started=_num(data.get("started")),
        finished=_num(data.get("finished")),
        reports=[(int(step), float(value)) for step, value in data.get("reports") or []],
        checkpoint=_checkpoint(data.get("checkpoint")),
    )


def _checkpoint(value: Any) -> str | None:
    if value is not None and not (isinstance(value, str) and value.isalnum()):
        raise TypeError("'checkpoint' must be a content hash (letters and digits)")
    return value
