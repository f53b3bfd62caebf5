"""Kill a real run with SIGKILL at several points, resume it, and compare with
the same run left alone; damage its journal and check what a resume says."""

from __future__ import annotations

import json
import re
import shutil
import time
import warnings

import pandas as pd
import pytest
from _runs import SPACE, comparable, mixed, pid_alive, run_script, write_script

from evotune import FunctionObjective, evolve

# kill-and-resume: every test kills and resumes real runs (deselect with -m "not slow")
pytestmark = pytest.mark.slow


def _as_script_objective():
    """``mixed`` under the name the script's objective has in its journal."""
    obj = FunctionObjective(mixed)
    obj.fingerprint = lambda: {"objective": "__main__.objective"}  # type: ignore[method-assign]
    return obj


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    ck = tmp_path_factory.mktemp("ref") / "run"
    # the script's strategy (_runs.SCRIPT): the GA
    r = evolve(
        mixed, SPACE, population_size=8, generations=5, strategy="ga", random_state=0, checkpoint=ck
    )
    return r


def _history(ck):
    return pd.read_csv(ck / "history.csv")


def _compare_csv(ck, reference):
    got = _history(ck).drop(columns=["fit_time", "score_time"])
    ref = comparable(reference.history)
    assert len(got) == len(ref) == 8 + 4 * 7  # elitism 1: 7 new per later generation
    assert list(got["id"]) == list(ref["id"])
    assert got["mean_score"].tolist() == pytest.approx(ref["mean_score"].tolist(), rel=1e-12)
    assert list(got["param_kind"]) == list(ref["param_kind"])
    assert got["param_n"].tolist() == ref["param_n"].tolist()


@pytest.mark.parametrize(
    "env",
    [
        {"KILL_AT": "5"},  # in the middle of generation 0
        {"KILL_AT": "19"},  # in the middle of generation 2
        {"KILL_GEN": "2"},  # right after the boundary of generation 2
    ],
    ids=["mid-gen0", "mid-gen2", "boundary-gen2"],
)
def test_sigkill_then_resume_equals_uninterrupted(tmp_path, reference, env):
    script = write_script(tmp_path)
    ck = tmp_path / "run"
    first = run_script(script, ck, env=env)
    assert first.returncode == -9, first.stderr
    lines = (ck / "journal.jsonl").read_text().splitlines()
    folds_before = sum(1 for line in lines if json.loads(line)["type"] == "fold")
    assert folds_before > 0
    second = run_script(script, ck)
    assert second.returncode == 0, second.stderr
    assert "done 36" in second.stdout
    # nothing that had finished ran again: the journal has one fold per evaluation
    records = [json.loads(line) for line in (ck / "journal.jsonl").read_text().splitlines()]
    keys = [r["key"] for r in records if r["type"] == "fold"]
    assert len(keys) == len(set(keys)) == 36
    # in-process: the resumed result equals the uninterrupted one exactly
    again = evolve(
        _as_script_objective(),
        SPACE,
        population_size=8,
        generations=5,
        strategy="ga",
        random_state=0,
        checkpoint=ck,
        resume=True,
    )
    pd.testing.assert_frame_equal(comparable(again.history), comparable(reference.history))
    assert again.best_params == reference.best_params
    assert again.best_score == reference.best_score
    pd.testing.assert_frame_equal(
        again.hall_of_fame.drop(columns=["fit_time", "score_time"]),
        reference.hall_of_fame.drop(columns=["fit_time", "score_time"]),
    )
    _compare_csv(ck, reference)


def test_parent_killed_workers_exit_and_resume_on_pool(tmp_path, reference):
    script = write_script(tmp_path)
    ck = tmp_path / "run"
    pids = tmp_path / "pids"
    pids.mkdir()
    # the first candidate with n == 13 makes its worker SIGKILL the parent
    first = run_script(script, ck, n_jobs=2, env={"KILL_PARENT_AT": "13", "PIDS": str(pids)})
    assert first.returncode == -9, first.stderr
    workers = [int(p.name) for p in pids.iterdir()]
    assert workers
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(pid_alive(p) for p in workers):
        time.sleep(0.1)
    assert not [p for p in workers if pid_alive(p)], "workers outlived their parent"
    second = run_script(script, ck, n_jobs=2)
    assert second.returncode == 0, second.stderr
    _compare_csv(ck, reference)


def test_sigterm_stops_cleanly_and_resumes(tmp_path, reference):
    import os
    import signal
    import subprocess
    import sys

    script = write_script(tmp_path)
    ck = tmp_path / "run"
    pids = tmp_path / "pids"
    pids.mkdir()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ck), "2", "5"],
        env={**os.environ, "SLOW": "0.05", "PIDS": str(pids)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = ck / "journal.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"type":"fold"') >= 10:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "resume" in err.lower()
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert records[-1] == {**records[-1], "type": "stop", "reason": "interrupted"}
    workers = [int(p.name) for p in pids.iterdir()]
    assert workers
    # the stopped run shut its pool down, but on a loaded machine a worker's
    # exit can lag behind: poll up to a generous deadline instead of guessing
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(pid_alive(p) for p in workers):
        time.sleep(0.1)
    assert not [p for p in workers if pid_alive(p)], "workers outlived the stopped run"
    second = run_script(script, ck, n_jobs=1)
    assert second.returncode == 0, second.stderr
    _compare_csv(ck, reference)


def test_raising_generations_extends_a_finished_run(tmp_path):
    ck = tmp_path / "run"
    evolve(mixed, SPACE, population_size=8, generations=3, random_state=0, checkpoint=ck)
    extended = evolve(
        mixed,
        SPACE,
        population_size=8,
        generations=5,
        random_state=0,
        checkpoint=ck,
        resume=True,
    )
    straight = evolve(mixed, SPACE, population_size=8, generations=5, random_state=0)
    pd.testing.assert_frame_equal(comparable(extended.history), comparable(straight.history))


def test_seed_is_drawn_and_stored_when_none(tmp_path):
    ck = tmp_path / "run"
    kw = dict(population_size=6, strategy="ga")  # elitism 1: 5 new in generation 1
    first = evolve(mixed, SPACE, generations=2, checkpoint=ck, **kw)
    seed = json.loads((ck / "meta.json").read_text())["settings"]["random_state"]
    assert isinstance(seed, int)
    again = evolve(mixed, SPACE, generations=3, checkpoint=ck, resume=True, **kw)
    straight = evolve(mixed, SPACE, generations=3, random_state=seed, **kw)
    pd.testing.assert_frame_equal(comparable(again.history), comparable(straight.history))
    assert len(first.history) == 6 + 5


SLOW_SHUTDOWN = """
import sys, time
sys.path.insert(0, {tests!r})
from _runs import SPACE, mixed
from evotune import evolve
from evotune.backends import SerialBackend
from evotune._signals import Interrupted

class SlowToStop(SerialBackend):
    def shutdown(self):
        print("cleaning up", flush=True)
        time.sleep(20)
        super().shutdown()

def slow(p):
    time.sleep(0.05)
    return mixed(p)

try:
    evolve(slow, SPACE, population_size=8, generations=50, random_state=0,
           checkpoint={ck!r}, backend=SlowToStop())
except Interrupted as exc:
    sys.exit(exc.exit_code)
"""


def _start(code):
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for_folds(journal, n, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"type":"fold"') >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the run made no progress")


def test_ctrl_c_stops_with_130_and_a_second_one_exits_at_once(tmp_path):
    import signal
    from pathlib import Path

    ck = tmp_path / "run"
    proc = _start(SLOW_SHUTDOWN.format(tests=str(Path(__file__).parent), ck=str(ck)))
    _wait_for_folds(ck / "journal.jsonl", 3)
    proc.send_signal(signal.SIGINT)
    assert proc.stdout.readline().strip() == "cleaning up"  # the slow cleanup has begun
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)
    assert time.monotonic() - start < 5, "the second Ctrl-C did not exit at once"
    assert proc.returncode == 130
    # whatever was journaled is whole and resumable
    for line in (ck / "journal.jsonl").read_text().splitlines():
        json.loads(line)


# ------------------------------------------------- a journal walked through faults
# Each fault of the README's table, done to a real run's journal; the resume
# gives the one-line outcome the table documents.
KW = dict(population_size=6, strategy="ga", random_state=0)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished two-generation run, and the same run made in one go to three."""
    ck = tmp_path_factory.mktemp("faults") / "run"
    evolve(mixed, SPACE, generations=2, checkpoint=ck, **KW)
    return ck, evolve(mixed, SPACE, generations=3, **KW)


def _middle(lines, kind):
    """The index of the ``kind`` record nearest the middle of the journal."""
    indices = [i for i, line in enumerate(lines) if f'"type":"{kind}"'.encode() in line]
    return min(indices, key=lambda i: abs(i - len(lines) // 2))


def _empty(journal):
    journal.write_bytes(b"")
    return rf"^{re.escape(str(journal))} holds no record, though meta\.json beside it says"


def _deleted(journal):
    journal.unlink()
    return rf"^{re.escape(str(journal))} is missing, though meta\.json beside it says"


def _torn(journal):
    with open(journal, "ab") as fh:  # killed while writing a fold record
        fh.write(b'{"type":"fold","key":"[[\\"x\\",0.1')
    return None


def _flipped_byte(journal):
    lines = journal.read_bytes().split(b"\n")
    i = _middle(lines, "ask")
    line = bytearray(lines[i])
    line[len(line) // 2] ^= 0x01
    lines[i] = bytes(line)
    journal.write_bytes(b"\n".join(lines))
    return rf"^{re.escape(str(journal))}, line {i + 1}: "


def _altered_digit(journal):
    lines = journal.read_bytes().split(b"\n")
    i = _middle(lines, "fold")
    match = re.search(rb'"score":-?\d\.(\d)', lines[i])
    digit = int(match.group(1))
    lines[i] = lines[i][: match.start(1)] + b"%d" % ((digit + 1) % 10) + lines[i][match.end(1) :]
    journal.write_bytes(b"\n".join(lines))
    return rf"^{re.escape(str(journal))}, line {i + 1}: checksum mismatch"


def _foreign_json(journal):
    journal.write_text(json.dumps({"name": "a-package", "version": "1.0"}, indent=2))
    return rf"^{re.escape(str(journal))}, line 1: not valid JSON"


FAULTS = {
    "empty": _empty,
    "deleted": _deleted,
    "torn last line": _torn,
    "flipped byte": _flipped_byte,
    "altered digit": _altered_digit,
    "foreign JSON file": _foreign_json,
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_of_a_journal_gives_its_one_line_outcome(tmp_path, finished, fault):
    from evotune import JournalError

    clean, straight = finished
    ck = tmp_path / "run"
    shutil.copytree(clean, ck)
    journal, meta = ck / "journal.jsonl", (ck / "meta.json").read_bytes()
    refusal = FAULTS[fault](journal)
    before = journal.read_bytes() if journal.exists() else None
    if refusal is None:  # the torn line is dropped; the rest resumes as if never cut
        with pytest.warns(RuntimeWarning, match=r"line \d+ was cut short .*; it is dropped$"):
            resumed = evolve(mixed, SPACE, generations=3, checkpoint=ck, resume=True, **KW)
        pd.testing.assert_frame_equal(comparable(resumed.history), comparable(straight.history))
        for line in journal.read_text().splitlines():
            json.loads(line)  # every line whole again
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(JournalError, match=refusal) as caught:
            evolve(mixed, SPACE, generations=3, checkpoint=ck, resume=True, **KW)
    assert "\n" not in str(caught.value)  # one line
    # nothing was changed: not the journal, not meta.json
    assert (journal.read_bytes() if journal.exists() else None) == before
    assert (ck / "meta.json").read_bytes() == meta
