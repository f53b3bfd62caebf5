"""The run directory: torn and corrupted journals, metadata checks, the lock."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
from _runs import SPACE, comparable, mixed

from evotune import Categorical, Float, Space, evolve
from evotune.journal import JournalError, RunDirectory, RunLockedError, build_meta
from evotune.report import load_run


def _run(ck, **kw):
    args = {"population_size": 6, "generations": 3, "random_state": 0, "checkpoint": ck}
    args.update(kw)
    return evolve(mixed, SPACE, **args)


def test_run_directory_layout(tmp_path):
    ck = tmp_path / "run"
    result = _run(ck, strategy="ga")  # generational: one ask and one tell per generation
    assert sorted(p.name for p in ck.iterdir()) == [
        "hall_of_fame.csv",
        "history.csv",
        "journal.jsonl",
        "meta.json",
    ]
    meta = json.loads((ck / "meta.json").read_text())
    assert meta["format_version"] == 1
    assert set(meta["space"]) == set(SPACE.names)
    assert meta["settings"]["population_size"] == 6
    assert {"numpy", "deap", "scikit-learn", "python"} <= set(meta["versions"])
    records = [json.loads(line) for line in (ck / "journal.jsonl").read_text().splitlines()]
    kinds = [r["type"] for r in records]
    assert kinds[0] == "start" and kinds[-1] == "stop"
    assert kinds.count("ask") == kinds.count("tell") == 3
    assert kinds.count("fold") == kinds.count("evaluation") == len(result.history)
    tells = [r for r in records if r["type"] == "tell"]
    assert all(r["rng"]["bit_generator"] == "PCG64" for r in tells)
    csv = pd.read_csv(ck / "history.csv")
    assert len(csv) == len(result.history)
    hof = pd.read_csv(ck / "hall_of_fame.csv")
    assert hof["mean_score"].iloc[0] == pytest.approx(result.best_score)


def test_existing_run_is_refused_without_resume(tmp_path):
    ck = tmp_path / "run"
    _run(ck)
    with pytest.raises(JournalError, match="resume=True"):
        _run(ck)


def test_torn_last_line_is_dropped_with_a_warning(tmp_path):
    ck = tmp_path / "run"
    _run(ck, generations=2)
    journal = ck / "journal.jsonl"
    with open(journal, "a") as fh:
        fh.write('{"type":"fold","key":"[[\\"x\\",0.1')  # cut mid-write, no newline
    with pytest.warns(RuntimeWarning, match="cut short"):
        resumed = _run(ck, resume=True, generations=3)
    straight = evolve(mixed, SPACE, population_size=6, generations=3, random_state=0)
    pd.testing.assert_frame_equal(comparable(resumed.history), comparable(straight.history))
    for line in journal.read_text().splitlines():
        json.loads(line)  # every line whole again


@pytest.mark.parametrize(
    "damage",
    ["garbage", "not-a-record"],
)
def test_corrupted_line_in_the_middle_is_an_error_naming_file_and_line(tmp_path, damage):
    ck = tmp_path / "run"
    _run(ck, generations=2)
    journal = ck / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    lines[3] = "{{{ not json\n" if damage == "garbage" else '"just a string"\n'
    journal.write_text("".join(lines))
    before = journal.read_bytes()
    with pytest.raises(JournalError, match=r"journal\.jsonl, line 4"):
        _run(ck, resume=True)
    assert journal.read_bytes() == before


def test_unknown_record_type_is_an_error(tmp_path):
    ck = tmp_path / "run"
    _run(ck, generations=2)
    with open(ck / "journal.jsonl", "a") as fh:
        fh.write('{"type":"mystery"}\n')
    with pytest.raises(JournalError, match="unknown record type"):
        _run(ck, resume=True)


def test_unknown_format_version_is_an_error(tmp_path):
    ck = tmp_path / "run"
    _run(ck, generations=2)
    meta = json.loads((ck / "meta.json").read_text())
    meta["format_version"] = 99
    (ck / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(JournalError, match="format_version 99"):
        _run(ck, resume=True)


def test_missing_meta_is_an_error_and_nothing_is_overwritten(tmp_path):
    ck = tmp_path / "run"
    _run(ck, generations=2)
    (ck / "meta.json").unlink()
    before = (ck / "journal.jsonl").read_bytes()
    with pytest.raises(JournalError, match=r"meta\.json is missing"):
        _run(ck, resume=True)
    assert (ck / "journal.jsonl").read_bytes() == before
    assert not (ck / "meta.json").exists()


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"random_state": 1}, "random_state"),
        ({"population_size": 7}, "population_size"),
        ({"strategy": "mu_plus_lambda"}, "strategy"),
    ],
)
def test_resume_with_other_settings_names_the_difference(tmp_path, change, what):
    ck = tmp_path / "run"
    _run(ck, generations=2)
    with pytest.raises(JournalError, match=what):
        _run(ck, resume=True, **change)


@pytest.mark.parametrize("strategy", ["ga", "model_based"])
def test_a_resume_never_shrinks_the_run(tmp_path, strategy):
    ck = tmp_path / "run"
    done = _run(ck, generations=4, strategy=strategy)
    views = (ck / "history.csv").read_bytes(), (ck / "hall_of_fame.csv").read_bytes()
    n = len(done.history)
    for fewer, name in (({"generations": 2}, "generations=2"), ({"max_evaluations": 3}, "max")):
        with pytest.raises(JournalError, match=rf"with {name}.*has done 4 generations \({n} "):
            _run(ck, resume=True, strategy=strategy, **{"generations": 4, **fewer})
        assert ((ck / "history.csv").read_bytes(), (ck / "hall_of_fame.csv").read_bytes()) == views
        assert not (ck / "lock").exists()
    again = _run(ck, resume=True, generations=4, strategy=strategy)  # the same budget: fine
    assert len(again.history) == n
    assert len(_run(ck, resume=True, generations=5, strategy=strategy).history) > n


@pytest.mark.parametrize("resume", [False, True])
def test_a_directory_whose_run_never_got_a_result_takes_another_run(tmp_path, resume):
    # before: a run stopped before its first result (an unreachable Dask
    # scheduler) left journal.jsonl and meta.json, and the corrected run was
    # refused ("already holds a run", or its settings differed)
    ck = tmp_path / "run"
    run = RunDirectory.open(ck, {"space": {}, "settings": {"population_size": 99}}, resume=False)
    run.record_start(False)
    run.close()
    assert (ck / "meta.json").exists() and (ck / "journal.jsonl").stat().st_size > 0
    result = _run(ck, resume=resume)
    assert len(result.history) > 0
    assert json.loads((ck / "meta.json").read_text())["settings"]["population_size"] == 6
    # a run with a result is kept: refused without resume, as before
    with pytest.raises(JournalError, match="already holds a run"):
        _run(ck)


def test_resume_with_another_space_or_data_is_an_error(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from evotune import CrossValScore

    X, y = load_iris(return_X_y=True)
    space = Space({"C": Float(1e-2, 1e2, log=True)})
    ck = tmp_path / "run"
    obj = CrossValScore(LogisticRegression(max_iter=200), X, y, cv=3)
    evolve(obj, space, population_size=4, generations=1, random_state=0, checkpoint=ck)
    other_space = Space({"C": Float(1e-3, 1e2, log=True)})
    with pytest.raises(JournalError, match="space differs"):
        evolve(
            obj,
            other_space,
            population_size=4,
            generations=2,
            random_state=0,
            checkpoint=ck,
            resume=True,
        )
    X2 = X.copy()
    X2[0, 0] += 1.0
    obj2 = CrossValScore(LogisticRegression(max_iter=200), X2, y, cv=3)
    with pytest.raises(JournalError, match="fingerprint differs"):
        evolve(
            obj2,
            space,
            population_size=4,
            generations=2,
            random_state=0,
            checkpoint=ck,
            resume=True,
        )


def test_a_live_run_holds_the_lock(tmp_path):
    ck = tmp_path / "run"
    meta = build_meta({"x": {}}, {}, {})
    holder = RunDirectory.open(ck, meta, resume=False)
    try:
        with pytest.raises(RunLockedError, match="in use by another live run"):
            _run(ck, resume=True)
    finally:
        holder.close()


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    ck = tmp_path / "run"
    _run(ck, generations=2)
    code = textwrap.dedent(
        f"""
        import fcntl, os, signal
        fh = open({str(ck / "lock")!r}, "a+")
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write(str(os.getpid())); fh.flush()
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    resumed = _run(ck, resume=True, generations=3)
    assert len(resumed.history) > 6


def test_objects_among_choices_are_stored_by_repr(tmp_path):
    from sklearn.linear_model import LogisticRegression

    space = Space({"model": Categorical([LogisticRegression(), None]), "x": Float(0, 1)})
    ck = tmp_path / "run"
    evolve(lambda p: p["x"], space, population_size=4, generations=1, random_state=0, checkpoint=ck)
    meta = json.loads((ck / "meta.json").read_text())
    assert meta["space"]["model"]["choices"] == [{"repr": "LogisticRegression()"}, None]
    for line in (ck / "journal.jsonl").read_text().splitlines():
        json.loads(line)


def test_generator_random_state_with_checkpoint_is_refused(tmp_path):
    with pytest.raises(ValueError, match="random_state"):
        _run(tmp_path / "run", random_state=np.random.default_rng(0))


def test_resume_needs_a_checkpoint():
    with pytest.raises(ValueError, match="checkpoint"):
        evolve(mixed, SPACE, resume=True)


def test_fsync_batches(tmp_path, monkeypatch):
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    _run(tmp_path / "run", generations=3)
    # at least one per generation, far fewer than one per record
    records = len((tmp_path / "run" / "journal.jsonl").read_text().splitlines())
    assert 3 <= len(calls) < records


# ------------------------------------------------- one reader, one rule
# Resume, the report and warm starts read a run directory through the same
# reader: a torn last line is dropped with one warning, and any other bad line
# is refused with an error naming the file and the line, whoever reads it.
READERS = ["resume", "report", "warm_start"]


def _read_as(reader, ck):
    """What one of the journal's three readers makes of the run directory ``ck``."""
    if reader == "resume":
        return comparable(_run(ck, resume=True, generations=3).history)
    if reader == "report":
        return load_run(ck).evaluations
    warm = evolve(
        mixed, SPACE, population_size=6, generations=1, random_state=1, initial_population=ck
    )
    return comparable(warm.history[warm.history["origin"] == "seeded"])


def _same(a, b):
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    else:
        assert a == b


def _damaged_run(tmp_path):
    """A two-generation run directory and an untouched copy of it."""
    ck, clean = tmp_path / "run", tmp_path / "clean"
    _run(ck, generations=2)
    shutil.copytree(ck, clean)
    return ck, clean, ck / "journal.jsonl"


@pytest.mark.parametrize("reader", READERS)
def test_a_torn_last_line_is_dropped_with_the_same_warning_by_every_reader(tmp_path, reader):
    ck, clean, journal = _damaged_run(tmp_path)
    number = len(journal.read_text().splitlines()) + 1
    # torn by a kill, then saved by an editor that ends the file with a newline
    # (before: the report warned "is cut short ... skipped", resume refused the
    # file, a warm start skipped the line without a word)
    with open(journal, "a") as fh:
        fh.write('{"type":"fold","key":"[[\\"x\\",0.1\n')
    expected = _read_as(reader, clean)
    warning = rf"{re.escape(str(journal))}: line {number} was cut short .*; it is dropped"
    with pytest.warns(RuntimeWarning, match=warning):
        got = _read_as(reader, ck)
    _same(got, expected)


def _alter(journal, damage):
    """Damage the journal's first evaluation record (a line in the middle);
    return its line number."""
    lines = journal.read_text().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if '"type":"evaluation"' in line)
    record = json.loads(lines[index])
    if damage == "garbage":
        lines[index] = lines[index][: len(lines[index]) // 2] + "\n"
    elif damage == "params not an object":
        lines[index] = json.dumps({**record, "params": "x=0.5"}) + "\n"
    else:  # an unknown record type
        lines[index] = json.dumps({**record, "type": "evaluated"}) + "\n"
    journal.write_text("".join(lines))
    return index + 1


# (resume and the report already refused a middle line that is not JSON:
# test_corrupted_line_in_the_middle_is_an_error_naming_file_and_line and
# test_report.py's test_corrupt_middle_line_is_an_error)
@pytest.mark.parametrize(
    ("reader", "damage"),
    [
        ("resume", "params not an object"),  # was accepted
        ("report", "params not an object"),  # was accepted
        ("report", "unknown type"),  # was skipped without a word
        ("warm_start", "garbage"),  # was skipped without a word
        ("warm_start", "params not an object"),  # was "unknown parameter '='"
    ],
)
def test_a_corrupt_or_altered_middle_line_is_refused_naming_file_and_line(tmp_path, reader, damage):
    ck, _, journal = _damaged_run(tmp_path)
    number = _alter(journal, damage)
    before = journal.read_bytes()
    with pytest.raises(ValueError, match=rf"{re.escape(str(journal))}, line {number}: "):
        _read_as(reader, ck)
    assert journal.read_bytes() == before


@pytest.mark.parametrize("reader", READERS)
def test_a_whole_but_altered_last_line_is_refused_not_dropped(tmp_path, reader):
    # a kill cuts a record short, so it is never valid JSON: a last line that
    # parses but is no record was altered (before: resume and the report dropped
    # it as torn, a warm start failed on it with an AttributeError)
    ck, _, journal = _damaged_run(tmp_path)
    number = len(journal.read_text().splitlines()) + 1
    with open(journal, "a") as fh:
        fh.write('"just a string"')
    with pytest.raises(ValueError, match=rf"{re.escape(str(journal))}, line {number}: not a"):
        _read_as(reader, ck)


def test_resume_keeps_a_whole_last_record_that_lost_its_newline(tmp_path):
    # before: the record was replayed, then cut off the file as if torn
    ck, _, journal = _damaged_run(tmp_path)
    journal.write_bytes(journal.read_bytes().rstrip(b"\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _run(ck, resume=True, generations=3)
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [r["type"] for r in records].count("stop") == 2  # the first session's one kept
    assert [r["generation"] for r in records if r["type"] == "tell"] == [0, 1, 2]


# ------------------------------------------- a lost journal, a run never started
def test_meta_json_is_written_after_the_journals_first_record(tmp_path):
    # so a meta.json beside an empty journal is a journal lost, never a run
    # killed before its first record
    ck = tmp_path / "run"
    run = RunDirectory.open(ck, build_meta({"x": {}}, {}, {}), resume=False)
    try:
        assert (ck / "journal.jsonl").read_bytes() == b"" and not (ck / "meta.json").exists()
        run.record_start(False, 1)
        assert (ck / "meta.json").exists()
        assert json.loads((ck / "journal.jsonl").read_text())["type"] == "start"
    finally:
        run.close()


@pytest.mark.parametrize("resume", [False, True])
def test_a_directory_whose_run_never_wrote_a_record_starts_afresh(tmp_path, resume):
    ck = tmp_path / "run"
    RunDirectory.open(ck, build_meta({"x": {}}, {}, {}), resume=False).close()
    assert sorted(p.name for p in ck.iterdir()) == ["journal.jsonl"]  # a clean close drops the lock
    result = _run(ck, resume=resume, generations=2)
    straight = evolve(mixed, SPACE, population_size=6, generations=2, random_state=0)
    pd.testing.assert_frame_equal(comparable(result.history), comparable(straight.history))


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        ("deleted", "is missing"),
        ("emptied", "holds no record"),
        ("blank lines", "holds no record"),
        ("a torn line only", "holds no record"),
    ],
)
def test_a_lost_journal_beside_meta_is_refused_naming_it(tmp_path, damage, what):
    # before: the run started again from nothing, without a word
    ck = tmp_path / "run"
    _run(ck, generations=2)
    journal = ck / "journal.jsonl"
    if damage == "deleted":
        journal.unlink()
    else:
        tail = {"emptied": "", "blank lines": "\n \n", "a torn line only": '{"type":"st'}
        journal.write_text(tail[damage])
    before = journal.read_bytes() if journal.exists() else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the torn line's own warning
        with pytest.raises(JournalError, match=rf"^{re.escape(str(journal))} {what}, though"):
            _run(ck, resume=True, generations=3)
    assert (journal.read_bytes() if journal.exists() else None) == before


# ------------------------------------------------------------ infinities
def _infinite(p):
    return {"a": math.inf, "b": mixed(p), "c": -math.inf}[p["kind"]]


def test_infinite_scores_are_kept_through_a_resume(tmp_path):
    # before: +inf and -inf were journaled as null and came back as NaN
    ck = tmp_path / "run"
    kw = {"population_size": 6, "strategy": "ga", "random_state": 0, "checkpoint": ck}
    evolve(_infinite, SPACE, generations=2, **kw)
    resumed = evolve(_infinite, SPACE, generations=3, resume=True, **kw)
    straight = evolve(
        _infinite, SPACE, population_size=6, generations=3, strategy="ga", random_state=0
    )
    scores = resumed.history["mean_score"]
    assert np.isposinf(scores).any() and np.isneginf(scores).any()
    pd.testing.assert_frame_equal(comparable(resumed.history), comparable(straight.history))
    csv = pd.read_csv(ck / "history.csv")
    assert csv["mean_score"].tolist() == scores.tolist()
    assert csv["split0_score"].tolist() == scores.tolist()


def test_a_lock_removed_by_its_holder_is_not_taken_by_a_stale_opener(tmp_path):
    # a finished run removes its lock (issue 15); one that opened the old file
    # before the removal must not hold a lock on a removed file
    import fcntl

    from evotune.journal import _Lock

    path = tmp_path / "lock"
    first = _Lock(path)
    first.acquire()
    stale = open(path, "a+")  # opened before the release, locked after it
    first.release()
    assert not path.exists()
    fcntl.flock(stale.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # the removed file: free
    second = _Lock(path)
    second.acquire()  # takes a fresh file at the path, never the removed one
    try:
        assert os.path.samestat(os.fstat(second.fh.fileno()), os.stat(path))
        assert not os.path.samestat(os.fstat(stale.fileno()), os.stat(path))
    finally:
        second.release()
        stale.close()
