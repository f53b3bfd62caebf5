"""The one reader of a run directory (evotune/_journal_read.py): what it reads
from the journal and meta.json, and its one rule for damaged lines."""

from __future__ import annotations

import json
import math
import re
import warnings
import zlib

import pytest
from _runs import SPACE, mixed

from evotune import evolve
from evotune._journal_read import (
    CHECKSUM,
    RECORD_TYPES,
    Journal,
    JournalError,
    read_journal,
    read_meta,
)
from evotune.journal import JOURNAL, META


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    ck = tmp_path_factory.mktemp("reader") / "run"
    result = evolve(mixed, SPACE, population_size=6, generations=3, random_state=0, checkpoint=ck)
    return ck, result


def _journal_copy(run_dir, tmp_path, tail=b""):
    """A copy of the run's journal, with ``tail`` appended; and the number of
    the first line after the copied ones."""
    data = (run_dir[0] / JOURNAL).read_bytes()
    path = tmp_path / JOURNAL
    path.write_bytes(data + tail)
    return path, data.count(b"\n") + 1


def _no_warning(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_journal(path, **kw)


def test_the_summary_of_a_run(run_dir):
    ck, result = run_dir
    path = ck / JOURNAL
    journal = _no_warning(path)
    lines = path.read_text().splitlines()
    assert isinstance(journal, Journal) and journal.path == path
    assert journal.records == [json.loads(line) for line in lines]
    assert not journal.torn and journal.end == path.stat().st_size
    assert sorted(journal.asked) == sorted(journal.told) == [0, 1, 2]
    assert sum(len(keys) for keys in journal.asked.values()) == len(result.history)
    evaluations = journal.of_type("evaluation")
    assert sorted(r["candidate"] for r in evaluations) == sorted(result.history["id"])
    assert journal.evaluated == {r["key"] for r in evaluations}
    assert {key for key, _ in journal.folds} == journal.evaluated  # one task each
    for r in evaluations:
        fold = journal.folds[(r["key"], 0)]
        assert fold.score == pytest.approx(r["mean_score"]) and fold.status == r["status"]
    assert journal.of_type("stop") == [r for r in journal.records if r["type"] == "stop"]
    assert [r["type"] for r in journal.of_type("tell")] == ["tell"] * 3


def test_keep_chooses_the_records_held_not_the_ones_checked(run_dir, tmp_path):
    full = _no_warning(run_dir[0] / JOURNAL)
    none = _no_warning(run_dir[0] / JOURNAL, keep=())
    assert none.records == []
    assert (none.asked, none.folds, none.told, none.evaluated) == (
        full.asked,
        full.folds,
        full.told,
        full.evaluated,
    )
    evaluations = _no_warning(run_dir[0] / JOURNAL, keep=("evaluation",))
    assert evaluations.records == full.of_type("evaluation")
    # a record that is not kept is checked all the same
    path, number = _journal_copy(run_dir, tmp_path, b'{"type":"tell","generation":3}\n')
    with pytest.raises(JournalError, match=rf"line {number}: 'tell' record without 'rng'"):
        read_journal(path, keep=())


def test_asks_that_append_extend_their_generation(tmp_path):
    path = tmp_path / JOURNAL
    records = [
        {"type": "ask", "generation": 0, "keys": ["a", "b"]},
        {"type": "ask", "generation": 0, "append": True, "keys": ["c"]},
        {"type": "ask", "generation": 1, "keys": ["d"]},
        {"type": "ask", "generation": 1, "keys": ["e"]},  # asked again: replaced
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert _no_warning(path).asked == {0: ["a", "b", "c"], 1: ["e"]}


@pytest.mark.parametrize(
    "tail",
    [
        b'{"type":"fold","key":"[[\\"x\\",0.1',  # killed mid-line
        b'{"type":"fold","key":"[[\\"x\\",0.1\n',  # ... then saved by an editor
        b"\x00" * 37,  # a power cut: the file grew, its last block was never written
        '{"type":"evaluation","params":{"kind":"é'.encode()[:-1],  # cut inside a character
    ],
    ids=["killed", "editor", "power-cut", "mid-character"],
)
def test_a_torn_last_line_is_dropped_with_a_warning_naming_file_and_line(run_dir, tmp_path, tail):
    clean = _no_warning(run_dir[0] / JOURNAL)
    path, number = _journal_copy(run_dir, tmp_path, tail)
    message = rf"^{re.escape(str(path))}: line {number} was cut short .*; it is dropped$"
    with pytest.warns(RuntimeWarning, match=message):
        journal = read_journal(path)
    assert journal.torn
    assert journal.records == clean.records
    assert journal.end == clean.end < path.stat().st_size  # what a resume keeps
    assert path.read_bytes().endswith(tail)  # reading changes nothing


def test_a_whole_last_record_without_its_newline_is_kept(run_dir, tmp_path):
    path, _ = _journal_copy(run_dir, tmp_path)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    journal = _no_warning(path)
    assert not journal.torn and journal.end == path.stat().st_size
    assert journal.records[-1]["type"] == "stop"


MIDDLE = {
    "not JSON": "{{{ not json",
    "cut short": '{"type":"fold","key":"[[\\"x\\",0.1',
    "not an object": '"just a string"',
    "no type": '{"generation":0,"keys":[]}',
    "type not a string": '{"type":["ask"]}',
    "unknown type": '{"type":"mystery"}',
    "fold without result": '{"type":"fold","key":"k","fold":0}',
    "fold number not a number": '{"type":"fold","key":"k","fold":"one","result":{"score":1}}',
    "result without score": '{"type":"fold","key":"k","fold":0,"result":{}}',
    "metrics not an object": '{"type":"fold","key":"k","fold":0,"result":{"score":1,"metrics":[]}}',
    "ask keys not an array": '{"type":"ask","generation":0,"keys":"ab"}',
    "tell rng not an object": '{"type":"tell","generation":0,"rng":"PCG64"}',
    "evaluation without key": '{"type":"evaluation","params":{}}',
    "params not an object": '{"type":"evaluation","key":"k","params":"x=1"}',
}


@pytest.mark.parametrize("damage", list(MIDDLE))
def test_a_bad_line_elsewhere_is_refused_naming_file_and_line(run_dir, tmp_path, damage):
    path, _ = _journal_copy(run_dir, tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = MIDDLE[damage] + "\n"
    path.write_text("".join(lines))
    with pytest.raises(JournalError, match=rf"^{re.escape(str(path))}, line 4: "):
        read_journal(path)


@pytest.mark.parametrize(
    "line",
    ['"just a string"', "[1, 2]", '{"type":"mystery"}', '{"type":"tell","generation":3}'],
)
def test_a_whole_but_altered_last_line_is_refused_not_dropped(run_dir, tmp_path, line):
    path, number = _journal_copy(run_dir, tmp_path, line.encode())
    with pytest.raises(JournalError, match=rf"^{re.escape(str(path))}, line {number}: "):
        _no_warning(path)


def test_blank_lines_hold_no_record(run_dir, tmp_path):
    clean = _no_warning(run_dir[0] / JOURNAL)
    path, _ = _journal_copy(run_dir, tmp_path, b"\n  \n")
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([*lines[:3], b"", *lines[3:]]))
    journal = _no_warning(path)
    assert journal.records == clean.records and not journal.torn
    assert journal.end == clean.end + 1 < path.stat().st_size  # the trailing blanks are past it


def test_an_empty_journal_holds_nothing(tmp_path):
    path = tmp_path / JOURNAL
    path.write_bytes(b"")
    journal = _no_warning(path)
    assert journal.records == [] and journal.end == 0 and not journal.torn
    assert (journal.asked, journal.folds, journal.told, journal.evaluated) == ({}, {}, {}, set())


def test_an_unreadable_journal_is_an_error_naming_it(tmp_path):
    with pytest.raises(JournalError, match=re.escape(str(tmp_path / JOURNAL))):
        read_journal(tmp_path / JOURNAL)


def test_record_types_are_those_the_writer_writes(run_dir):
    kinds = {r["type"] for r in read_journal(run_dir[0] / JOURNAL).records}
    assert kinds == set(RECORD_TYPES)


def test_read_meta(run_dir, tmp_path):
    meta = read_meta(run_dir[0] / META)
    assert meta["format_version"] == 1 and meta["settings"]["population_size"] == 6
    path = tmp_path / META
    for text, why in [
        ("{not json", "is not readable JSON"),
        ("[1]", "must hold a JSON object, got list"),
        ('{"format_version": 2}', "has format_version 2"),
    ]:
        path.write_text(text)
        with pytest.raises(JournalError, match=rf"^{re.escape(str(path))} {why}"):
            read_meta(path)
    with pytest.raises(JournalError, match="is not readable JSON"):
        read_meta(tmp_path / "missing" / META)


# ------------------------------------------------------------ checksums
def _lines(run_dir, tmp_path):
    path, _ = _journal_copy(run_dir, tmp_path)
    return path, path.read_bytes().split(b"\n")


def test_every_record_carries_the_checksum_of_its_content(run_dir):
    for line in (run_dir[0] / JOURNAL).read_text().splitlines():
        record = json.loads(line)
        crc = record.pop(CHECKSUM)
        assert line.endswith(f',"{CHECKSUM}":{crc}}}')  # the last field
        assert crc == zlib.crc32(json.dumps(record, separators=(",", ":")).encode())


@pytest.mark.parametrize("where", ["middle", "last"])
def test_an_altered_digit_is_refused_naming_file_and_line(run_dir, tmp_path, where):
    # valid JSON, a plausible score: before, it was read as if the run had made it
    path, lines = _lines(run_dir, tmp_path)
    folds = [i for i, line in enumerate(lines) if b'"type":"fold"' in line]
    i = folds[len(folds) // 2] if where == "middle" else len(lines) - 2
    # the first digit of the first number: the fold's number, the stop's time
    first = re.search(rb'":-?(\d)', lines[i])
    digit = b"%d" % ((int(first.group(1)) + 1) % 10)
    lines[i] = lines[i][: first.start(1)] + digit + lines[i][first.end(1) :]
    path.write_bytes(b"\n".join(lines))
    json.loads(lines[i])  # still valid JSON
    with pytest.raises(JournalError, match=rf"^{re.escape(str(path))}, line {i + 1}: checksum mis"):
        _no_warning(path)


def test_every_flipped_bit_of_a_record_is_refused_or_changes_nothing(run_dir, tmp_path):
    """One bit flipped anywhere in a record (its checksum and its field names
    included) is refused naming the line, unless the content is the same
    (``1e-05`` read as ``1E-05``)."""
    path, lines = _lines(run_dir, tmp_path)
    i = [n for n, line in enumerate(lines) if b'"type":"evaluation"' in line][2]
    clean = _no_warning(run_dir[0] / JOURNAL)
    for pos in range(len(lines[i])):
        for bit in (0x01, 0x20):
            line = bytearray(lines[i])
            line[pos] ^= bit
            path.write_bytes(b"\n".join([*lines[:i], bytes(line), *lines[i + 1 :]]))
            try:
                journal = _no_warning(path)
            except JournalError as exc:
                assert str(exc).startswith(f"{path}, line {i + 1}: "), (pos, bit, str(exc))
            else:
                assert journal.records == clean.records, (pos, bit, bytes(line))


def test_a_record_that_lost_its_checksum_among_checksummed_ones_is_refused(run_dir, tmp_path):
    path, lines = _lines(run_dir, tmp_path)
    i = len(lines) // 2
    record = json.loads(lines[i])
    record["crc-was-here"] = record.pop(CHECKSUM)  # renamed: no checksum to check
    lines[i] = json.dumps(record, separators=(",", ":")).encode()
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(JournalError, match=rf", line {i + 1}: no checksum, though this session"):
        _no_warning(path)


def _without_checksums(lines):
    out = []
    for line in lines:
        if line.strip():
            record = json.loads(line)
            del record[CHECKSUM]
            line = json.dumps(record, separators=(",", ":")).encode()
        out.append(line)
    return out


def test_a_journal_without_checksums_still_reads(run_dir, tmp_path):
    # the journals of evotune before checksums: every line checked by its fields
    path, lines = _lines(run_dir, tmp_path)
    path.write_bytes(b"\n".join(_without_checksums(lines)))
    clean = _no_warning(run_dir[0] / JOURNAL)
    journal = _no_warning(path)
    assert (journal.asked, journal.folds, journal.told, journal.evaluated) == (
        clean.asked,
        clean.folds,
        clean.told,
        clean.evaluated,
    )
    assert [{k: v for k, v in r.items() if k != CHECKSUM} for r in clean.records] == (
        journal.records
    )


def test_a_session_with_checksums_after_one_without_reads(run_dir, tmp_path):
    # a run of an older evotune resumed by this one: each session checked its way
    path, lines = _lines(run_dir, tmp_path)
    sessions = [i for i, line in enumerate(lines) if b'"type":"start"' in line]
    assert sessions == [0]
    old = _without_checksums(lines[:-1])  # all of the run, then a new session
    new = [lines[0], *lines[1:3]]
    path.write_bytes(b"\n".join([*old, *new, b""]))
    assert len(_no_warning(path).records) == len(old) + len(new)
    # and in the new session a record without its checksum is refused
    path.write_bytes(b"\n".join([*old, *new, *_without_checksums(lines[3:4]), b""]))
    number = len(old) + len(new) + 1
    with pytest.raises(JournalError, match=rf", line {number}: no checksum"):
        _no_warning(path)


def test_a_whole_last_line_that_is_not_json_is_refused_not_dropped(run_dir, tmp_path):
    # ends with its checksum and brace, as only a whole record does: it was
    # altered after it was written, not torn by a kill
    path, lines = _lines(run_dir, tmp_path)
    lines[-2] = lines[-2].replace(b'"type":', b'"type";', 1)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(JournalError, match=rf", line {len(lines) - 1}: not valid JSON"):
        _no_warning(path)


# ------------------------------------------------------------ infinities
def test_infinities_are_read_back_in_numeric_fields_only(tmp_path):
    from evotune.journal import dumps

    inf = math.inf
    records = [
        {"type": "ask", "generation": 0, "keys": ["k"], "params": [{"p": "inf"}]},
        {
            "type": "fold",
            "key": "k",
            "fold": 0,
            "result": {"score": -inf, "fit_time": 0.1, "metrics": {"test_a": inf}},
        },
        {
            "type": "evaluation",
            "key": "k",
            "params": {"p": "inf", "q": "-inf"},  # text parameters stay text
            "mean_score": -inf,
            "std_score": math.nan,
            "fold_scores": [-inf, 1.5],
            "metrics": [{"test_a": inf}],
            "error": "inf",
        },
        {"type": "tell", "generation": 0, "rng": {}, "logbook": {"best": inf, "mean": -inf}},
    ]
    path = tmp_path / JOURNAL
    path.write_text("".join(dumps(r) + "\n" for r in records))
    journal = _no_warning(path)
    fold, evaluation, tell = journal.records[1:]
    assert journal.folds[("k", 0)].score == -inf
    assert journal.folds[("k", 0)].metrics == {"test_a": inf}
    assert fold["result"]["score"] == -inf
    assert evaluation["mean_score"] == -inf and math.isnan(evaluation["std_score"] or math.nan)
    assert evaluation["fold_scores"] == [-inf, 1.5] and evaluation["metrics"] == [{"test_a": inf}]
    assert evaluation["params"] == {"p": "inf", "q": "-inf"} and evaluation["error"] == "inf"
    assert tell["logbook"] == {"best": inf, "mean": -inf}
    assert journal.records[0]["params"] == [{"p": "inf"}]


def test_a_record_written_out_again_with_the_same_content_reads(run_dir, tmp_path):
    # the checksum is of the content: spaces, key order or escapes of another
    # writer (an editor, jq) change no value, so the record is the same
    path, lines = _lines(run_dir, tmp_path)
    i = len(lines) // 2
    record = json.loads(lines[i])
    crc = record.pop(CHECKSUM)
    lines[i] = json.dumps({CHECKSUM: crc, **record}, ensure_ascii=False).encode()
    path.write_bytes(b"\n".join(lines))
    assert _no_warning(path).records == _no_warning(run_dir[0] / JOURNAL).records
