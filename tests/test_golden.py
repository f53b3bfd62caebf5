"""Golden histories: every run recorded from the engine before its redesign
(tests/data/golden/histories.json, made by make_golden.py there) must give
exactly the same history today, and the stored run directories written by
that engine must still resume and report.

The comparison is exact: ids, generations, origins, statuses and parameters
by value and type, and every float to the last bit (``canon`` compares the
JSON texts, and a float's repr round-trips exactly), not with a tolerance:
the runs are serial and seeded, so nothing but the code decides them, and
make_golden.py records every run twice and found them identical.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _golden import (
    GOLDEN,
    canon,
    expected,
    full_call,
    journal_rows,
    load_histories,
    run_call,
    unpack_history,
)

import evotune

DATA = load_histories()
RUNS = sorted(DATA["runs"])


def assert_same(got: dict, want: dict, name: str) -> None:
    """Exact equality of two outcomes, reported at the first differing row."""
    for part in ("history", "logbook"):
        g, w = got[part], want[part]
        for k, (a, b) in enumerate(zip(g, w)):
            if canon(a) != canon(b):
                pytest.fail(f"{name}: {part} row {k} differs\n got: {a}\nwant: {b}")
        assert len(g) == len(w), f"{name}: {len(g)} {part} rows, recorded {len(w)}"
    for part in ("best_params", "best_score", "stop_reason", "pareto_front_ids", "best_index"):
        if part in want:
            assert canon(got.get(part)) == canon(want[part]), f"{name}: {part} differs"


def test_the_matrix_is_recorded():
    faces = {DATA["runs"][n]["call"]["face"] for n in RUNS}
    strategies = {DATA["runs"][n]["call"]["kwargs"]["strategy"] for n in RUNS}
    seeds = {DATA["runs"][n]["call"]["kwargs"]["random_state"] for n in RUNS}
    assert faces == {"evolve", "search"}
    assert strategies == {"ga", "mu_plus_lambda", "mu_comma_lambda", "steady_state"}
    assert {0, 1} <= seeds
    statuses = {row["status"] for n in RUNS for row in expected(DATA, n)["history"]}
    assert {"ok", "raced", "failed"} <= statuses  # racing and failures are exercised
    origins = {row["origin"] for n in RUNS for row in expected(DATA, n)["history"]}
    assert {"initial", "seeded", "crossover", "mutation"} <= origins
    for n in RUNS:
        has_objectives = "objectives" in DATA["runs"][n]["call"]["kwargs"]
        assert (expected(DATA, n)["pareto_front_ids"] is not None) == has_objectives, n


@pytest.mark.parametrize("name", RUNS)
def test_history_is_the_recorded_one(name):
    call = full_call(DATA["runs"][name]["call"], DATA["spaces"])
    assert_same(run_call(call), expected(DATA, name), name)


# ------------------------------------------------------------ run directories


def _copy(name: str, tmp_path: Path) -> Path:
    copy = tmp_path / name
    shutil.copytree(GOLDEN / name, copy)
    return copy


def _cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m evotune ...`` on the evotune this test imported."""
    env = dict(os.environ)
    root = str(Path(evotune.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "evotune", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_stored_run_directories_hold_no_lock_or_report():
    for name in DATA["run_dirs"]:
        held = {p.name for p in (GOLDEN / name).iterdir()}
        assert {"meta.json", "journal.jsonl"} <= held
        assert not held & {"lock", "report"}, name


def test_run_v1_resumes_to_the_recorded_full_run(tmp_path):
    info = DATA["run_dirs"]["run_v1"]
    copy = _copy(info["path"], tmp_path)
    stored = journal_rows(copy)
    assert len(stored) == info["n_evaluations_stored"]
    full = expected(DATA, info["entry"])
    # the stored part is the beginning of the full run
    assert canon(stored) == canon(sorted(full["history"], key=lambda r: r["id"])[: len(stored)])
    # as on another machine: other package versions, command line and start
    # time in meta.json (what a resume does not check)
    meta_path = copy / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["versions"] = {name: "0.0.0" for name in meta["versions"]}
    meta["argv"] = ["/elsewhere/run.py"]
    meta["created"] = 0.0
    meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    call = full_call(DATA["runs"][info["entry"]]["call"], DATA["spaces"])
    resumed = run_call(call, checkpoint=copy, resume=True, max_evaluations=None)
    assert_same(resumed, full, "run_v1 resumed")
    assert len(journal_rows(copy)) == len(full["history"])


def test_report_on_run_v1(tmp_path):
    """`evotune report` reads the stored run: the leaderboard (as JSON, which
    still writes the plots) and the three PNGs."""
    copy = _copy(DATA["run_dirs"]["run_v1"]["path"], tmp_path)
    proc = _cli("report", copy, "--json", "--top", "5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["n_evaluations"] == DATA["run_dirs"]["run_v1"]["n_evaluations_stored"]
    assert len(report["leaderboard"]) == 5
    for png in ("progress.png", "parameters.png", "timeline.png"):
        path = copy / "report" / png
        assert path.exists(), png
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_resume_of_run_cli_v1_gives_the_recorded_history(tmp_path):
    info = DATA["run_dirs"]["run_cli_v1"]
    copy = _copy(info["path"], tmp_path)
    assert len(journal_rows(copy)) == info["n_evaluations_stored"]
    proc = _cli("resume", copy, "--generations", info["generations"], "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "stopped by generations" in proc.stdout
    got = journal_rows(copy)
    want = sorted(unpack_history(info["history"]), key=lambda r: r["id"])
    for k, (a, b) in enumerate(zip(got, want)):
        assert canon(a) == canon(b), f"row {k}\n got: {a}\nwant: {b}"
    assert len(got) == len(want)
