"""Writing the journal (evotune/_journal_write.py): checksummed lines, the
infinities kept, and a full disk met with one line and a whole journal.

A full disk is made for real, without root: ``/dev/full`` in place of the
journal (every write fails with ENOSPC), and a subprocess whose file size
limit (``RLIMIT_FSIZE``, with SIGXFSZ ignored) makes a write past it fail with
EFBIG halfway through a record.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pandas as pd
import pytest
from _runs import SPACE, comparable, mixed

from evotune import DiskFullError, evolve
from evotune._journal_read import CHECKSUM, checksum, read_journal
from evotune._journal_write import JournalFile, dumps, storage_error
from evotune.journal import JOURNAL, META

TESTS = str(Path(__file__).parent)


def test_a_record_is_one_line_with_the_checksum_of_its_content_last():
    record = {"type": "fold", "key": '[["x",0.5]]', "fold": 0, "result": {"score": 0.25}}
    line = dumps(record)
    assert "\n" not in line
    body = json.dumps(record, separators=(",", ":"))
    assert line == body[:-1] + f',"{CHECKSUM}":{checksum(body)}}}'
    assert json.loads(line) == {**record, CHECKSUM: checksum(body)}


def test_infinities_are_text_and_nan_is_null():
    record = {"type": "evaluation", "mean_score": -math.inf, "fold_scores": [math.inf, math.nan]}
    data = json.loads(dumps(record))
    assert data["mean_score"] == "-inf" and data["fold_scores"] == ["inf", None]


@pytest.mark.parametrize(
    "value",
    [
        'é ü 中文 \u2028 \x00 \\ "',  # escapes, non-ASCII, separators JSON allows in strings
        2**70,
        -0.0,
        5e-324,
        1e16,
        0.1 + 0.2,
        [1, [2, {"a": None}]],
        {"2": 1, "1": 2},  # key order is the record's, not sorted
    ],
)
def test_a_written_record_reads_back_whole_and_checked(tmp_path, value):
    path = tmp_path / JOURNAL
    journal = JournalFile(path)
    record = {"type": "stop", "reason": "generations", "value": value}
    journal.write(record)
    journal.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (got,) = read_journal(path).records
    assert json.dumps(got["value"]) == json.dumps(value)


def test_other_write_errors_name_the_file():
    exc = storage_error("runs/a/journal.jsonl", OSError(errno.EIO, "Input/output error"))
    assert not isinstance(exc, DiskFullError) and exc.errno == errno.EIO
    assert str(exc) == "[Errno 5] Input/output error: 'runs/a/journal.jsonl'"


def _one_line_full(exc, path, why):
    text = str(exc)
    assert "\n" not in text, text
    assert text.startswith(f"cannot write {path}: {why}"), text
    assert re.search(r"\(\S+ \S*B free on its file system", text), text
    assert text.endswith("the journal is whole: make room, then resume the run"), text


def test_a_full_device_is_one_line_naming_the_file_and_the_free_space(tmp_path):
    # before: OSError: [Errno 28] No space left on device, three times chained,
    # the file unnamed
    ck = tmp_path / "run"
    ck.mkdir()
    (ck / JOURNAL).symlink_to("/dev/full")  # every write: ENOSPC
    with pytest.raises(DiskFullError) as caught:
        evolve(mixed, SPACE, population_size=4, generations=2, random_state=0, checkpoint=ck)
    exc = caught.value
    _one_line_full(exc, ck / JOURNAL, "No space left on device")
    assert exc.errno == errno.ENOSPC and exc.filename == str(ck / JOURNAL)
    assert exc.__cause__ is None and exc.__suppress_context__  # not a chain of three
    assert "needed" in str(exc)  # the size of the record that did not fit
    # the run never started: no meta.json, and the directory is free to start it
    assert not (ck / META).exists()
    (ck / JOURNAL).unlink()
    result = evolve(mixed, SPACE, population_size=4, generations=2, random_state=0, checkpoint=ck)
    assert len(result.history) == 8


LIMITED = textwrap.dedent(
    """
    import resource, signal, sys
    sys.path.insert(0, {tests!r})
    from _runs import SPACE, mixed
    from evotune import DiskFullError, evolve
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, resource.RLIM_INFINITY))
    try:
        evolve(mixed, SPACE, population_size=8, generations=5, strategy="ga",
               random_state=0, checkpoint={ck!r})
    except DiskFullError as exc:
        print(exc)
        sys.exit(74)
    """
)


@pytest.fixture(scope="module")
def straight():
    return evolve(mixed, SPACE, population_size=8, generations=5, strategy="ga", random_state=0)


def test_a_run_past_its_file_size_limit_stops_in_one_line_and_resumes(tmp_path, straight):
    ck = tmp_path / "run"
    full = tmp_path / "full"
    evolve(
        mixed,
        SPACE,
        population_size=8,
        generations=5,
        strategy="ga",
        random_state=0,
        checkpoint=full,
    )
    limit = (full / JOURNAL).stat().st_size // 2  # the run stops halfway
    proc = subprocess.run(
        [sys.executable, "-c", LIMITED.format(tests=TESTS, limit=limit, ck=str(ck))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 74, proc.stderr
    assert proc.stderr == ""  # no traceback, no second error on the way out
    (line,) = proc.stdout.splitlines()
    _one_line_full(line, ck / JOURNAL, "File too large")
    # the journal ends with a whole record: what the failed write began was cut off
    data = (ck / JOURNAL).read_bytes()
    assert 0 < len(data) <= limit and data.endswith(b"}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a torn line
        journal = read_journal(ck / JOURNAL)
    assert journal.folds and journal.end == len(data)
    assert journal.records[-1]["type"] != "stop"  # nothing written after the failure
    # with room again, the run resumes to the end the uninterrupted run reaches
    resumed = evolve(
        mixed,
        SPACE,
        population_size=8,
        generations=5,
        strategy="ga",
        random_state=0,
        checkpoint=ck,
        resume=True,
    )
    pd.testing.assert_frame_equal(comparable(resumed.history), comparable(straight.history))
    keys = [r["key"] for r in read_journal(ck / JOURNAL).records if r["type"] == "fold"]
    assert len(keys) == len(set(keys)) == len(straight.history)  # nothing ran twice


def test_a_failed_write_cuts_its_partial_record_and_refuses_more(tmp_path):
    code = textwrap.dedent(
        """
        import resource, signal, sys
        from evotune._journal_write import JournalFile
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, resource.RLIM_INFINITY))
        journal = JournalFile(sys.argv[1])
        n = 0
        try:
            while True:
                journal.write({"type": "stop", "reason": "x" * 150, "n": n})
                n += 1
        except OSError as exc:
            print(type(exc).__name__, n)
        try:
            journal.write({"type": "stop", "reason": "after"})
        except RuntimeError as exc:
            print("refused:", exc)
        journal.close()
        """
    )
    path = tmp_path / JOURNAL
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(TESTS).parent)},
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    n = int(first.split()[1])
    assert first == f"DiskFullError {n}" and n > 0
    assert second == f"refused: {path} is closed for writing"
    data = path.read_bytes()
    assert len(data) < 1000 and data.count(b"\n") == n and data.endswith(b"}\n")
    assert [r["n"] for r in read_journal(path).records] == list(range(n))
