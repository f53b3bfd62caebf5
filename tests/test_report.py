"""The report on a run directory: loading, the leaderboard, the plots, safety."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from evotune import Categorical, Float, Integer, Space, evolve
from evotune.journal import dumps
from evotune.loop import AllFailedError
from evotune.report import (
    ReportError,
    Run,
    format_leaderboard,
    leaderboard,
    leaderboard_json,
    load_run,
    worker_timeline,
    write_plots,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

SPACE = Space(
    {
        "x": Float(-2.0, 2.0),
        "lr": Float(1e-4, 1.0, log=True),
        "kernel": Categorical(["rbf", "poly"]),
        "degree": Integer(2, 5, when={"kernel": "poly"}),
    }
)


def objective(p):
    """Fails for x > 1.2, so every run has failed rows."""
    if p["x"] > 1.2:
        raise ValueError("x too large")
    return -((p["x"] - 0.3) ** 2) - (math.log10(p["lr"]) + 2) ** 2 + 0.1 * p.get("degree", 0)


def slow_objective(p):
    time.sleep(0.02)  # long enough that both workers of the pool get tasks
    return objective(p)


def _evolve(path, fn=objective, space=SPACE, **kw):
    settings = {"population_size": 8, "generations": 3, "random_state": 0, **kw}
    with pytest.warns(UserWarning, match="failed"):
        evolve(fn, space, checkpoint=path, **settings)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {
        "max": _evolve(root / "max"),
        "min": _evolve(root / "min", direction="minimize"),
        "pool": _evolve(root / "pool", fn=slow_objective, n_jobs=2, population_size=6),
    }


# ------------------------------------------------------------------ loading
def test_load_run_fields(runs):
    run = load_run(runs["max"])
    assert isinstance(run, Run)
    assert run.path == runs["max"]
    assert run.direction == "maximize"
    assert run.stopped == "generations"
    assert set(run.space) == {"x", "lr", "kernel", "degree"}
    assert run.space["lr"]["log"] is True
    assert run.meta["settings"]["population_size"] == 8

    ids = [ev["candidate"] for ev in run.evaluations]
    assert ids == sorted(ids)
    keys = [ev["key"] for ev in run.evaluations]
    assert len(keys) == len(set(keys))
    assert len(run.evaluations) == len(
        [line for line in (runs["max"] / "history.csv").read_text().splitlines()[1:] if line]
    )
    assert [g["generation"] for g in run.generations] == [0, 1, 2]
    for g in run.generations:
        assert {"evaluations", "failed", "mean", "std", "elapsed"} <= set(g)
    assert len(run.folds) == len(run.evaluations)  # a plain callable is one task
    assert run.n_failed == sum(1 for ev in run.evaluations if ev["status"] != "ok") > 0
    assert run.best is not None and run.best["status"] == "ok"


def test_duplicate_records_keep_the_first(runs, tmp_path):
    path = tmp_path / "dup"
    shutil.copytree(runs["max"], path)
    journal = path / "journal.jsonl"
    lines = journal.read_text().splitlines()
    first_eval = next(json.loads(x) for x in lines if '"type":"evaluation"' in x)
    first_tell = next(json.loads(x) for x in lines if '"type":"tell"' in x)
    again = dict(first_eval, mean_score=999.0)
    tell_again = dict(first_tell, logbook=dict(first_tell["logbook"], mean=999.0))
    # records as the writer writes them, with their checksums (an altered copy is refused)
    del again["crc"], tell_again["crc"]
    with open(journal, "a") as fh:
        fh.write(dumps(again) + "\n" + dumps(tell_again) + "\n")
    run = load_run(path)
    assert len(run.evaluations) == len(load_run(runs["max"]).evaluations)
    assert all(ev["mean_score"] != 999.0 for ev in run.evaluations)
    assert [g["generation"] for g in run.generations] == [0, 1, 2]
    assert run.generations[0]["mean"] != 999.0


def test_torn_last_line_is_skipped(runs, tmp_path):
    path = tmp_path / "torn"
    shutil.copytree(runs["max"], path)
    with open(path / "journal.jsonl", "ab") as fh:
        fh.write(b'{"type":"evaluation","candidate":99,"key":"[[\\"x\\",0.')
    with pytest.warns(RuntimeWarning, match="cut short"):
        run = load_run(path)
    assert len(run.evaluations) == len(load_run(runs["max"]).evaluations)
    assert run.stopped == "generations"


def test_corrupt_middle_line_is_an_error(runs, tmp_path):
    path = tmp_path / "corrupt"
    shutil.copytree(runs["max"], path)
    journal = path / "journal.jsonl"
    lines = journal.read_text().splitlines()
    lines[3] = lines[3][: len(lines[3]) // 2]
    journal.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReportError, match="line 4"):
        load_run(path)


def test_missing_or_invalid_directory_names_the_path(runs, tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ReportError, match="nowhere"):
        load_run(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReportError, match=r"meta\.json") as err:
        load_run(empty)
    assert str(empty) in str(err.value)
    no_journal = tmp_path / "no_journal"
    no_journal.mkdir()
    shutil.copy(runs["max"] / "meta.json", no_journal / "meta.json")
    with pytest.raises(ReportError, match=r"journal\.jsonl") as err:
        load_run(no_journal)
    assert str(no_journal) in str(err.value)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ReportError, match=r"file\.txt"):
        load_run(a_file)
    bad_meta = tmp_path / "bad_meta"
    shutil.copytree(runs["max"], bad_meta)
    (bad_meta / "meta.json").write_text("{not json")
    with pytest.raises(ReportError, match="bad_meta"):
        load_run(bad_meta)
    assert issubclass(ReportError, ValueError)


def test_stopped_is_none_when_a_resumed_session_did_not_stop(runs, tmp_path):
    path = tmp_path / "live"
    shutil.copytree(runs["max"], path)
    with open(path / "journal.jsonl", "a") as fh:
        fh.write(json.dumps({"type": "start", "pid": 1, "time": time.time(), "resumed": True}))
        fh.write("\n")
    assert load_run(path).stopped is None
    assert "no stop record" in format_leaderboard(load_run(path))


# -------------------------------------------------------------- leaderboard
def _scores(frame):
    ok = frame[frame["status"] == "ok"]
    return list(ok["mean_score"])


def test_leaderboard_maximize_best_first_failed_last(runs):
    run = load_run(runs["max"])
    board = leaderboard(run, top=None)
    assert list(board.columns) == [
        *("rank", "id", "generation", "mean_score", "std_score"),
        *run.space,  # one column per parameter, in meta.json's order
        *("fit_time", "status"),
    ]
    assert set(board.columns[5:-2]) == {"x", "lr", "kernel", "degree"}
    assert list(board["rank"]) == list(range(1, len(run.evaluations) + 1))
    scores = _scores(board)
    assert scores == sorted(scores, reverse=True)
    status = list(board["status"])
    n_ok = status.count("ok")
    assert n_ok < len(status)  # there are failed rows ...
    assert status[:n_ok] == ["ok"] * n_ok  # ... and they come last
    assert board["mean_score"].iloc[n_ok:].isna().all()
    assert board.iloc[0]["id"] == run.best["candidate"]
    assert len(leaderboard(run, top=3)) == 3


def test_leaderboard_minimize(runs):
    run = load_run(runs["min"])
    assert run.direction == "minimize"
    board = leaderboard(run, top=None)
    scores = _scores(board)
    assert scores == sorted(scores)
    status = list(board["status"])
    n_ok = status.count("ok")
    assert status[:n_ok] == ["ok"] * n_ok and n_ok < len(status)
    assert board.iloc[0]["mean_score"] == min(scores)


def test_inactive_parameters_are_empty(runs):
    run = load_run(runs["max"])
    board = leaderboard(run, top=None)
    rbf = board[board["kernel"] == "rbf"]
    poly = board[board["kernel"] == "poly"]
    assert len(rbf) and len(poly)
    assert rbf["degree"].isna().all()
    assert poly["degree"].map(lambda v: isinstance(v, int)).all()  # no int -> float upcast
    rows = leaderboard_json(run, top=None)["leaderboard"]
    for row in rows:
        assert ("degree" in row["inactive"]) == (row["kernel"] == "rbf")


def test_top_is_checked(runs):
    run = load_run(runs["max"])
    for bad in (0, -1, 1.5, "3", True):
        with pytest.raises(ValueError, match="top"):
            leaderboard(run, top=bad)


def test_format_leaderboard_text(runs):
    run = load_run(runs["max"])
    text = format_leaderboard(run, top=5)
    best = run.best["mean_score"]
    assert f"{best:.6g}" in text
    assert str(runs["max"]) in text
    assert f"{len(run.evaluations)} evaluations" in text
    assert f"{run.n_failed} failed" in text
    assert "stopped: generations" in text
    assert "x too large" in text  # what the failures were
    assert "(top 5 of" in text
    header = next(line for line in text.splitlines() if line.startswith("rank"))
    for name in ("mean_score", "kernel", "degree", "lr", "status"):
        assert name in header
    table = text.splitlines()[text.splitlines().index(header) + 2 :]
    assert len([line for line in table if line[:4].strip().isdigit()]) == 5


def test_leaderboard_json_round_trips(runs):
    run = load_run(runs["max"])
    data = leaderboard_json(run, top=None)
    text = json.dumps(data, allow_nan=False)  # NaN would fail here
    back = json.loads(text)
    assert back["run"] == str(runs["max"])
    assert back["direction"] == "maximize"
    assert back["n_evaluations"] == len(run.evaluations)
    assert back["n_failed"] == run.n_failed
    assert back["best"]["id"] == run.best["candidate"]
    assert back["best"]["score"] == pytest.approx(run.best["mean_score"])
    assert back["best"]["params"] == run.best["params"]
    failed = [row for row in back["leaderboard"] if row["status"] != "ok"]
    assert failed and all(row["mean_score"] is None for row in failed)
    assert back["leaderboard"][0]["rank"] == 1


def test_parameter_named_like_a_column(tmp_path):
    space = Space({"status": Categorical(["a", "b"]), "x": Float(0, 1)})
    path = tmp_path / "named"
    evolve(
        lambda p: p["x"], space, population_size=4, generations=1, random_state=0, checkpoint=path
    )
    board = leaderboard(load_run(path))
    assert "param_status" in board.columns
    assert set(board["status"]) == {"ok"}
    assert set(board["param_status"]) <= {"a", "b"}


def test_a_list_of_dicts_is_reported_by_the_names_the_model_got(tmp_path):
    # issue 14 (8): a list of dicts keeps each dict's parameters under internal
    # names ("C@0"); the leaderboard and the plots show the public ones
    space = [
        {"model": ["lr"], "C": Float(1e-4, 1e2, log=True)},
        {"model": ["svc"], "C": Float(1e-2, 1e3, log=True), "degree": Integer(2, 5)},
        {},
    ]
    path = tmp_path / "branches"
    evolve(
        lambda p: p.get("C", 1.0),
        space,
        population_size=8,
        generations=2,
        random_state=0,
        checkpoint=path,
    )
    run = load_run(path)
    assert run.param_names == ["model", "C", "degree"]
    assert run.space["C"]["low"] == 1e-4 and run.space["C"]["high"] == 1e3
    assert run.space["C"]["log"] is True
    assert run.space["model"]["choices"] == ["lr", "svc"]
    board = leaderboard(run, top=None)
    assert {"model", "C", "degree"} <= set(board.columns)
    assert not any("@" in c or "branch" in c for c in board.columns)
    shown = board[board["model"].notna() & (board["model"] != "")]
    assert len(shown) >= 4 and set(shown["model"]) <= {"lr", "svc"}
    for p in write_plots(run, tmp_path / "out"):
        _check_png(p)


# ------------------------------------------------------------------- plots
def _check_png(path: Path):
    import matplotlib.image

    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
    assert float(np.std(image[..., :3])) > 0.01  # not a blank canvas


def test_write_plots_writes_three_pngs(runs, tmp_path):
    run = load_run(runs["max"])
    paths = write_plots(run, tmp_path / "out")
    assert [p.name for p in paths] == ["progress.png", "parameters.png", "timeline.png"]
    for p in paths:
        assert p.parent == tmp_path / "out"
        _check_png(p)
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left


def test_write_plots_default_directory(runs, tmp_path):
    path = tmp_path / "copy"
    shutil.copytree(runs["min"], path)
    paths = write_plots(load_run(path))
    assert all(p.parent == path / "report" and p.exists() for p in paths)


def test_timeline_has_two_lanes_with_two_jobs(runs):
    tl = worker_timeline(load_run(runs["pool"]))
    assert tl.lanes == [0, 1]
    assert len(tl.bars) == len(load_run(runs["pool"]).folds)
    assert 0 < tl.busy_fraction <= 1
    assert tl.busy_fraction <= tl.work_fraction <= 1
    assert tl.span >= tl.work_span > 0
    assert all(0 <= start <= end <= tl.span + 1e-9 for _, start, end, _ in tl.bars)


def test_timeline_serial_is_one_lane(runs):
    tl = worker_timeline(load_run(runs["max"]))
    assert tl.lanes == [0]
    statuses = {b[3] for b in tl.bars}
    assert statuses == {"ok", "failed"}


def _fold(worker, started, finished, status="ok"):
    return {
        "type": "fold",
        "key": "k",
        "fold": 0,
        "candidate": 0,
        "result": {"worker": worker, "started": started, "finished": finished, "status": status},
    }


def test_timeline_helper_computes_busy_fraction():
    run = Run(
        path=Path("synthetic"),
        meta={},
        folds=[
            _fold(0, 100.0, 102.0),
            _fold(1, 101.0, 102.0, "failed"),
            _fold(0, 102.0, 104.0),
            _fold(1, math.nan, 103.0),  # never ran: skipped
            _fold(1, 0.0, 103.0),  # a backend's "unknown": skipped
        ],
        starts=[100.0],
    )
    tl = worker_timeline(run)
    assert tl.lanes == [0, 1]
    assert tl.skipped == 2
    assert tl.span == pytest.approx(4.0)
    assert tl.busy == pytest.approx(5.0)
    assert tl.busy_fraction == pytest.approx(5.0 / 8.0)
    assert sorted(tl.bars) == [(0, 0.0, 2.0, "ok"), (0, 2.0, 4.0, "ok"), (1, 1.0, 2.0, "failed")]


def test_timeline_cuts_out_the_pause_before_a_resume():
    run = Run(
        path=Path("synthetic"),
        meta={},
        folds=[_fold(0, 101.0, 102.0), _fold(0, 5001.0, 5002.0)],
        starts=[100.0, 5000.0],
    )
    tl = worker_timeline(run)
    assert tl.span == pytest.approx(4.0)
    assert tl.work_span == pytest.approx(2.0)
    assert tl.resumes == [pytest.approx(2.0)]
    assert sorted(tl.bars) == [(0, 1.0, 2.0, "ok"), (0, 3.0, 4.0, "ok")]
    assert tl.busy_fraction == pytest.approx(0.5)
    assert tl.work_fraction == pytest.approx(1.0)


def test_timeline_of_nothing():
    tl = worker_timeline(Run(path=Path("synthetic"), meta={}))
    assert tl.lanes == [] and tl.bars == [] and math.isnan(tl.busy_fraction)


# -------------------------------------------------------------- edge cases
def test_generation_zero_only_and_single_parameter(tmp_path):
    path = tmp_path / "g0"
    evolve(
        lambda p: -((p["x"] - 0.5) ** 2),
        {"x": Float(0, 1)},
        population_size=5,
        generations=1,
        random_state=0,
        checkpoint=path,
    )
    run = load_run(path)
    assert [g["generation"] for g in run.generations] == [0]
    assert list(leaderboard(run).columns[5:-2]) == ["x"]
    assert "5 evaluations, 0 failed" in format_leaderboard(run)
    for p in write_plots(run, tmp_path / "out"):
        _check_png(p)


def test_all_failed_run(tmp_path):
    path = tmp_path / "failed"

    def boom(p):
        raise RuntimeError("always fails")

    with pytest.raises(AllFailedError):
        evolve(boom, SPACE, population_size=4, generations=2, random_state=0, checkpoint=path)
    run = load_run(path)
    assert len(run.evaluations) == 4 and run.n_failed == 4
    assert run.best is None
    assert run.stopped == "error"
    board = leaderboard(run)
    assert set(board["status"]) == {"failed"} and board["mean_score"].isna().all()
    assert "no successful evaluation" in format_leaderboard(run)
    data = json.loads(json.dumps(leaderboard_json(run), allow_nan=False))
    assert data["best"] == {"score": None, "params": None, "id": None}
    assert data["n_failed"] == 4
    for p in write_plots(run, tmp_path / "out"):
        _check_png(p)


def test_empty_journal(runs, tmp_path):
    path = tmp_path / "fresh"
    path.mkdir()
    shutil.copy(runs["max"] / "meta.json", path / "meta.json")
    (path / "journal.jsonl").write_text("")
    run = load_run(path)
    assert run.evaluations == [] and run.stopped is None
    assert leaderboard(run).empty
    assert "no evaluation" in format_leaderboard(run)
    json.dumps(leaderboard_json(run), allow_nan=False)
    for p in write_plots(run, tmp_path / "out"):
        assert p.read_bytes()[:8] == PNG_SIGNATURE


OBJECT_CHECK = textwrap.dedent(
    """
    import json, pickle, sys

    def refuse(*args, **kwargs):
        raise AssertionError("the report unpickled something")

    pickle.loads = pickle.load = refuse
    pickle.Unpickler = refuse

    from evotune.report import leaderboard_json, load_run, format_leaderboard, write_plots

    run = load_run(sys.argv[1])
    data = leaderboard_json(run, top=None)
    text = format_leaderboard(run, top=None)
    assert "sklearn" not in sys.modules, sorted(m for m in sys.modules if "sklearn" in m)
    paths = write_plots(run, sys.argv[2])
    assert "sklearn" not in sys.modules
    assert "matplotlib.pyplot" not in sys.modules  # the caller's backend is left alone
    print(json.dumps({"data": data, "text": text, "paths": [str(p) for p in paths]}))
    """
)


def test_object_choices_are_never_imported_or_unpickled(tmp_path):
    from sklearn.linear_model import LogisticRegression

    space = Space({"model": Categorical([LogisticRegression(), None]), "x": Float(0, 1)})
    path = tmp_path / "objects"
    evolve(
        lambda p: p["x"] + (0.5 if p["model"] is None else 0.0),
        space,
        population_size=6,
        generations=2,
        random_state=0,
        checkpoint=path,
    )
    script = tmp_path / "check.py"
    script.write_text(OBJECT_CHECK)
    done = subprocess.run(
        [sys.executable, str(script), str(path), str(tmp_path / "plots")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    models = {json.dumps(row["model"]) for row in out["data"]["leaderboard"]}
    assert models <= {json.dumps({"repr": "LogisticRegression()"}), "null"}
    assert json.dumps({"repr": "LogisticRegression()"}) in models
    assert "LogisticRegression()" in out["text"]
    for p in out["paths"]:
        _check_png(Path(p))
    # the DataFrame shows an object by its repr
    board = leaderboard(load_run(path), top=None)
    assert set(board["model"]) <= {"LogisticRegression()", None}


def test_format_leaderboard_escapes_control_characters(tmp_path):
    """Error text, choices and names from the journal reach the terminal
    escaped, and the columns still line up."""
    import unicodedata
    import warnings

    def fails_loudly(p):
        if p["x"] > 0.5:
            raise ValueError("\x1b[31mboom\x9b2J\u202eevil\x07\rhidden")
        return p["x"]

    space = Space({"x": Float(0.0, 1.0), "k\x1b[1m\r": Categorical(["\x1b[2Jclear", "plain"])})
    path = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evolve(
            fails_loudly, space, population_size=8, generations=2, random_state=0, checkpoint=path
        )
    run = load_run(path)
    assert any("\x1b[31mboom" in str(ev.get("error")) for ev in run.evaluations)
    text = format_leaderboard(run, top=None)
    unsafe = [c for c in text if (unicodedata.category(c) == "Cc" and c != "\n") or c == "\u202e"]
    assert unsafe == []
    assert "ValueError: \\x1b[31mboom\\x9b2J\\u202eevil\\x07" in text
    assert "\\x1b[2Jclear" in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("rank"))
    assert "k\\x1b[1m\\x0d" in header
    rows = lines[lines.index(header) + 2 :]
    column = header.index("status")
    assert len(rows) == len(run.evaluations)
    assert all(row[column:].strip() in ("ok", "failed") for row in rows)
    # the DataFrame and the JSON keep the values as they are
    assert set(leaderboard(run, top=None)["k\x1b[1m\r"]) == {"\x1b[2Jclear", "plain"}


# ---- issue 15, item 14: the same figures from memory and from the run directory ----


def test_result_figures_match_the_reports_of_its_run_directory(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from evotune._figures import draw_parameters, draw_progress, draw_timeline

    ck = tmp_path / "run"
    res = evolve(
        lambda p: -((p["x"] - 0.5) ** 2) - 0.1 * p.get("degree", 0),
        SPACE,
        population_size=6,
        generations=3,
        strategy="ga",
        random_state=0,
        checkpoint=ck,
    )
    run = load_run(ck)

    def lines(fig):
        return [
            (line.get_label(), list(line.get_xdata()), list(line.get_ydata()))
            for ax in fig.axes
            for line in ax.get_lines()
        ]

    def texts(fig):
        return [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]

    for memory, disk in [
        (res.plot_progress(), draw_progress(run)),
        (res.plot_parameters(), draw_parameters(run)),
    ]:
        assert lines(memory) == lines(disk)
        assert texts(memory) == texts(disk)
    memory, disk = res.plot_timeline(), draw_timeline(run)
    assert [t.get_text() for t in memory.axes[0].get_yticklabels()] == ["worker 0"]
    n_bars = [sum(len(c.get_paths()) for c in f.axes[0].collections) for f in (memory, disk)]
    assert n_bars == [res.n_evaluations, res.n_evaluations]
