"""Tests of the ``evotune`` command line."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pandas as pd
import pytest

from evotune.cli import main

GEN_LINE = re.compile(
    r"^generation\s+(\d+)\s+evaluations\s+(\d+)\s+best\s+(\d\.\d+)\s+mean\s+(\S+)\s+"
    r"failed\s+(\d+)\s+elapsed\s+([\d.]+)s$"
)
PARAMS = ["learning_rate", "max_leaf_nodes", "min_samples_leaf", "l2_regularization", "max_iter"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """`evotune demo` as a user types it, in a process of its own."""
    import os
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("demo") / "runs" / "demo"
    # one BLAS/OpenMP thread: the same result, and far steadier on a busy machine
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    small = ["--population-size", "4", "--generations", "2", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "evotune", "demo", *small],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    return proc.returncode, proc.stdout, out


def test_demo_exits_zero(demo_run):
    code, _, _ = demo_run
    assert code == 0


def test_demo_prints_one_line_per_generation(demo_run):
    _, text, out = demo_run
    lines = text.strip().splitlines()
    assert lines[0].startswith("evotune demo")
    assert "HistGradientBoostingClassifier" in lines[0]
    gen_lines = [m for m in (GEN_LINE.match(line) for line in lines) if m]
    assert [int(m.group(1)) for m in gen_lines] == [0, 1]
    evaluations = [int(m.group(2)) for m in gen_lines]
    assert 4 == evaluations[0] < evaluations[1] <= 8
    best = [float(m.group(3)) for m in gen_lines]
    assert best[0] <= best[1] <= 1.0
    # group 5 is the failed count, group 6 the elapsed seconds
    elapsed = [float(m.group(6)) for m in gen_lines]
    assert elapsed[0] <= elapsed[1]
    history = pd.read_csv(out / "history.csv")
    assert evaluations[-1] == len(history)
    assert best[-1] == pytest.approx(history["mean_score"].max(), abs=5e-5)


def test_demo_prints_best_params_and_score(demo_run):
    _, text, out = demo_run
    history = pd.read_csv(out / "history.csv")
    best_lines = [line for line in text.splitlines() if line.startswith("best accuracy")]
    assert len(best_lines) == 1
    m = re.match(r"best accuracy (\d\.\d{4}) with (\{.*\})$", best_lines[0])
    assert m, best_lines[0]
    assert float(m.group(1)) == pytest.approx(history["mean_score"].max(), abs=5e-5)
    for name in PARAMS:
        assert f"'{name}'" in m.group(2)
    assert f"{len(history)} evaluations" in text
    assert "history.csv" in text and "hall_of_fame.csv" in text


def test_demo_writes_csvs(demo_run):
    _, _, out = demo_run
    history = pd.read_csv(out / "history.csv")
    hof = pd.read_csv(out / "hall_of_fame.csv")
    assert list(history.columns) == (
        ["id", "generation", "origin"]
        + [f"param_{p}" for p in PARAMS]
        + [
            "mean_score",
            "std_score",
            "split0_score",
            "split1_score",
            "split2_score",
            "fit_time",
            "score_time",
            "status",
            "error",
        ]
    )
    assert 4 < len(history) <= 8
    assert set(history["generation"]) == {0, 1}
    assert (history["status"] == "ok").all()
    assert history["mean_score"].between(0, 1).all()
    assert not history[[f"param_{p}" for p in PARAMS]].duplicated().any()
    assert 0 < len(hof) <= len(history)
    assert hof["mean_score"].is_monotonic_decreasing
    assert hof["mean_score"].iloc[0] == history["mean_score"].max()


def test_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_demo_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--out", "--population-size", "--generations", "--n-jobs", "--random-state"):
        assert option in text


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_bad_argument_is_a_clean_error(tmp_path, capsys):
    code = main(
        ["demo", "--population-size", "1", "--generations", "2", "--out", str(tmp_path / "x")]
    )
    assert code == 2
    assert "population_size" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_console_script_is_declared():
    eps = [e for e in entry_points(group="console_scripts") if e.name == "evotune"]
    assert len(eps) == 1
    assert eps[0].value == "evotune.cli:main"


def test_python_dash_m_help():
    out = subprocess.run(
        [sys.executable, "-m", "evotune", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    assert "demo" in out.stdout


# ------------------------------------------------------------ run / resume / report
EXAMPLE_TOML = Path(__file__).parent.parent / "examples" / "experiment.toml"


def _cli(*args, cwd=None, timeout=300):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "evotune", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def wine_run(tmp_path_factory):
    """The issue's TOML run with `evotune run`, then extended with `resume`."""
    import shutil

    work = tmp_path_factory.mktemp("cli")
    toml = work / "anywhere.toml"
    shutil.copyfile(EXAMPLE_TOML, toml)
    out = work / "run"
    first = _cli("run", toml, "--out", out)
    second = _cli("resume", out, "--generations", "6")
    return out, first, second


def test_run_writes_the_run_directory(wine_run):
    out, first, _ = wine_run
    assert first.returncode == 0, first.stderr
    for name in (
        "journal.jsonl",
        "meta.json",
        "history.csv",
        "hall_of_fame.csv",
        "experiment.toml",
    ):
        assert (out / name).exists(), name
    assert first.stdout.count("generation") >= 4  # plain progress lines: not a terminal
    assert "best score" in first.stdout
    # it ends with the command that shows the run, as the demo does
    assert (
        first.stdout.strip()
        .splitlines()[-1]
        .startswith("see the leaderboard and plots with: evotune report ")
    )


def test_resume_extends_the_run_to_more_generations(wine_run):
    import pandas as pd

    out, _, second = wine_run
    assert second.returncode == 0, second.stderr
    history = pd.read_csv(out / "history.csv")
    assert history["generation"].max() == 5
    assert history["id"].is_unique
    assert not history.duplicated(subset=[c for c in history if c.startswith("param_")]).any()
    assert "stopped by generations" in second.stdout


def test_report_prints_a_leaderboard_and_writes_pngs(wine_run):
    out, _, _ = wine_run
    proc = _cli("report", out, "--top", "5")
    assert proc.returncode == 0, proc.stderr
    assert "mean_score" in proc.stdout and "(top 5 of " in proc.stdout
    pngs = sorted((out / "report").glob("*.png"))
    assert len(pngs) >= 3
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    as_json = _cli("report", out, "--json", "--no-plots")
    assert as_json.returncode == 0, as_json.stderr
    import json

    data = json.loads(as_json.stdout)
    assert len(data["leaderboard"]) == 10


def test_a_bad_experiment_is_one_line_exit_2_and_no_run_directory(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE_TOML.read_text().replace("low = 20, high = 200", "low = 200, high = 20"))
    out = tmp_path / "run"
    proc = _cli("run", bad, "--out", out)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evotune: error: space.n_estimators:")
    assert not out.exists()
    debug = _cli("run", bad, "--out", out, "--debug")
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_run_refuses_an_existing_run_without_resume(wine_run):
    out, _, _ = wine_run
    proc = _cli("run", out / "experiment.toml", "--out", out)
    assert proc.returncode == 2
    assert "--resume" in proc.stderr


def test_resume_of_a_directory_that_is_not_a_run(tmp_path):
    proc = _cli("resume", tmp_path)
    assert proc.returncode == 2 and "not a run directory" in proc.stderr


@pytest.mark.parametrize("command", ["run", "resume", "report", "demo"])
def test_every_command_has_help(command):
    proc = _cli(command, "--help")
    assert proc.returncode == 0 and "usage: evotune" in proc.stdout


@pytest.mark.slow  # a kill and a whole resume of the example experiment: minutes under load
def test_sigterm_exits_143_and_the_run_resumes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evotune", "run", str(EXAMPLE_TOML), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"type":"fold"') >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "evotune resume" in err
    again = _cli("resume", out)
    assert again.returncode == 0, again.stderr


def test_a_lost_scheduler_is_exit_1_with_one_line(monkeypatch, capsys, tmp_path):
    import evotune.cli as cli
    from evotune.backends.base import SchedulerLostError

    def lost(args):
        raise SchedulerLostError("lost the Dask scheduler at tcp://127.0.0.1:1; resume it")

    monkeypatch.setattr(cli, "_cmd_resume", lost)
    assert cli.main(["resume", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["evotune: error: lost the Dask scheduler at tcp://127.0.0.1:1; resume it"]


SMALL_TOML = """
[estimator]
class = "sklearn.linear_model.LogisticRegression"
params = { max_iter = 200 }

[data]
loader = "sklearn.datasets.load_iris"

[space]
C = { type = "float", low = 0.01, high = 100.0, log = true }

[search]
population_size = 4
generations = 2
cv = 3
n_jobs = 1
random_state = 0
"""


def test_a_full_disk_is_exit_74_with_one_line_naming_the_file(tmp_path, capsys):
    # before: exit 1 (a lost scheduler's code) and a 60-line traceback
    toml = tmp_path / "small.toml"
    toml.write_text(SMALL_TOML)
    out = tmp_path / "run"
    out.mkdir()
    (out / "journal.jsonl").symlink_to("/dev/full")  # every write: no space left
    assert main(["run", str(toml), "--out", str(out), "--resume", "--quiet"]) == 74
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(
        f"evotune: error: cannot write {out / 'journal.jsonl'}: No space left on device ("
    )
    assert "free on its file system" in err[0] and err[0].endswith("then resume the run")


# ------------------------------------------------------------ what a run directory may hold
def test_resume_never_calls_a_class_that_is_not_an_estimator(wine_run, tmp_path):
    """A run directory whose experiment.toml was edited to name another class:
    the class is refused before it is called with the file's parameters."""
    import shutil
    import time

    source, _, _ = wine_run
    out = tmp_path / "edited"
    shutil.copytree(source, out)
    marker = tmp_path / "marker"
    copy = out / "experiment.toml"
    spawn = f'args = [{sys.executable!r}, "-c", "open({str(marker)!r}, \'w\').close()"]'
    text = re.sub(
        r"^class = .*\nparams = .*$",
        f'class = "subprocess.Popen"\nparams = {{ {spawn} }}',
        copy.read_text(),
        count=1,
        flags=re.M,
    )
    assert "subprocess.Popen" in text
    copy.write_text(text)
    proc = _cli("resume", out)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("evotune: error: estimator.class: 'subprocess.Popen' in ")
    assert str(copy) in lines[0] and "not a scikit-learn estimator class" in lines[0]
    deadline = time.monotonic() + 2.0  # a spawned child would have written it by now
    while time.monotonic() < deadline:
        assert not marker.exists(), "resume called the class the edited file names"
        time.sleep(0.05)


def test_report_escapes_control_characters_from_the_journal(tmp_path):
    import json
    import unicodedata
    import warnings

    from evotune import Categorical, Float, Space, evolve

    def objective(p):
        if p["x"] > 0.5:
            raise ValueError("\x1b[31mboom\x9b2J\u202eevil\x07\rhidden")
        return p["x"]

    space = Space({"x": Float(0.0, 1.0), "k\x1b[1m\r": Categorical(["\x1b[2Jclear", "plain"])})
    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evolve(objective, space, population_size=8, generations=2, random_state=0, checkpoint=out)
    assert "\\u001b[31mboom" in (out / "journal.jsonl").read_text()  # the journal holds it
    proc = _cli("report", out, "--top", "20", "--no-plots")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    unsafe = [c for c in text if (unicodedata.category(c) == "Cc" and c != "\n") or c == "\u202e"]
    assert unsafe == []
    assert "ValueError: \\x1b[31mboom\\x9b2J\\u202eevil\\x07" in text
    assert "\\x1b[2Jclear" in text and "k\\x1b[1m\\x0d" in text
    as_json = _cli("report", out, "--json", "--no-plots")
    assert as_json.returncode == 0, as_json.stderr
    assert "\x1b" not in as_json.stdout
    assert json.loads(as_json.stdout)["leaderboard"][0]["k\x1b[1m\r"] in ("\x1b[2Jclear", "plain")


# ------------------------------------------------------------ issue 15: the command line
def _one_error_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("evotune: error: "), lines[0]
    return lines[0]


def _bad(tmp_path, old, new, name="bad.toml"):
    assert old in SMALL_TOML
    path = tmp_path / name
    path.write_text(SMALL_TOML.replace(old, new))
    return path


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("cv = 3", "cv = 1", "search.cv"),
        ("cv = 3", 'cv = 3\nscoring = "acuracy"', "search.scoring"),
        ("population_size = 4", "population_size = 1", "search.population_size"),
        ("generations = 2", "generations = 0", "search.generations"),
        ("n_jobs = 1", "n_jobs = 0", "search.n_jobs"),
    ],
)
def test_every_check_runs_before_any_file_and_names_the_key(tmp_path, old, new, key):
    # before: cv and scoring failed in the run, after runs/<name>/experiment.toml
    # was written, with sklearn's message and no key
    bad = _bad(tmp_path, old, new)
    proc = _cli("run", bad, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert key in _one_error_line(proc)
    assert not (tmp_path / "runs").exists()


def test_a_scoring_typo_names_the_close_scorer(tmp_path):
    bad = _bad(tmp_path, "cv = 3", 'cv = 3\nscoring = "acuracy"')
    line = _one_error_line(_cli("run", bad, cwd=tmp_path))
    assert "'acuracy'" in line and "did you mean 'accuracy'" in line


def test_a_csv_target_that_is_not_a_column_is_refused_before_any_file(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0] * 10, "label": [0, 1] * 10}).to_csv(
        tmp_path / "train.csv", index=False
    )
    toml = _bad(
        tmp_path, 'loader = "sklearn.datasets.load_iris"', 'csv = "train.csv"\ntarget = "lable"'
    )
    proc = _cli("run", toml, cwd=tmp_path)
    assert proc.returncode == 2
    line = _one_error_line(proc)
    assert "data.target" in line and "'lable'" in line
    assert not (tmp_path / "runs").exists()


def test_a_directory_in_which_nothing_ran_takes_the_corrected_file(tmp_path):
    # before: a run that wrote its journal's first record and stopped before
    # any evaluation (an unreachable scheduler) made the corrected file
    # "already hold a run" / "was run from another experiment file"
    from evotune.journal import RunDirectory

    out = tmp_path / "runs" / "small"
    out.mkdir(parents=True)
    (out / "experiment.toml").write_text("an older, wrong file")
    run = RunDirectory.open(out, {"space": {}, "settings": {}}, resume=False)
    run.record_start(False)
    run.close()
    assert (out / "meta.json").exists()
    toml = tmp_path / "small.toml"
    toml.write_text(SMALL_TOML)
    proc = _cli("run", toml, "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (out / "experiment.toml").read_text() == SMALL_TOML
    assert len(pd.read_csv(out / "history.csv")) > 0


def test_an_unreachable_scheduler_is_one_line_exit_69_and_no_directory(tmp_path):
    pytest.importorskip("distributed")
    import time

    toml = _bad(tmp_path, "n_jobs = 1", 'backend = "dask"\nscheduler = "tcp://127.0.0.1:1"')
    started = time.monotonic()
    proc = _cli("run", toml, cwd=tmp_path)
    assert time.monotonic() - started < 45  # before: 62 s (a 60 s wait) and exit 1
    assert proc.returncode == 69, proc.stderr
    line = _one_error_line(proc)
    assert "tcp://127.0.0.1:1" in line and "connect_timeout" in line
    assert not (tmp_path / "runs").exists()


def test_an_unreachable_ray_head_is_one_line_exit_69_and_no_directory(tmp_path):
    pytest.importorskip("ray")
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    toml = _bad(tmp_path, "n_jobs = 1", f'backend = "ray"\nscheduler = "{address}"')
    proc = _cli("run", toml, cwd=tmp_path)
    assert proc.returncode == 69, proc.stderr  # before: a traceback and exit 1
    line = _one_error_line(proc)
    assert f"Ray head at {address}" in line and "search.connect_timeout" in line
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_ray_cluster_not_found_by_auto_is_exit_69_and_no_directory(tmp_path):
    # "auto" is not probed before the run: the backend's own error is exit 69 too
    pytest.importorskip("ray")
    toml = _bad(tmp_path, "n_jobs = 1", 'backend = "ray"\nscheduler = "auto"\nconnect_timeout = 2')
    proc = _cli("run", toml, cwd=tmp_path, timeout=600)
    assert proc.returncode == 69, proc.stderr  # before: a traceback and exit 1
    assert "evotune: error: RayBackend: " in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (None, "no answer within 2 s"),
        (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 64, "not a Dask scheduler's"),
    ],
)
def test_a_port_that_accepts_but_is_no_scheduler_is_exit_69_too(tmp_path, reply, why):
    # before: another service's port (it accepts, never answers) held the run
    # forever, connect_timeout or not
    pytest.importorskip("distributed")
    import contextlib
    import socket
    import threading
    import time

    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn = server.accept()[0]
                accepted.append(conn)
                if reply is not None:  # another service's answer (a web server's)
                    conn.sendall(reply)

    threading.Thread(target=accept, daemon=True).start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    toml = _bad(
        tmp_path,
        "n_jobs = 1",
        f'backend = "dask"\nscheduler = "{address}"\nconnect_timeout = 2',
    )
    started = time.monotonic()
    try:
        proc = _cli("run", toml, cwd=tmp_path, timeout=600)
    finally:
        server.close()
        for conn in accepted:
            conn.close()
    assert proc.returncode == 69, proc.stderr
    line = _one_error_line(proc)
    assert address in line and why in line, line
    assert time.monotonic() - started < 300  # about 5 s; a generous multiple
    assert accepted  # the port was reached: it is the answer that never came
    assert not (tmp_path / "runs").exists()


def test_connect_timeout_is_checked_and_needs_a_scheduler(tmp_path):
    pytest.importorskip("distributed")
    zero = _bad(
        tmp_path,
        "n_jobs = 1",
        'backend = "dask"\nscheduler = "tcp://127.0.0.1:1"\nconnect_timeout = 0',
    )
    proc = _cli("run", zero, cwd=tmp_path)
    line = _one_error_line(proc)
    assert proc.returncode == 2 and "search.connect_timeout: must be > 0 seconds" in line
    alone = _bad(tmp_path, "n_jobs = 1", "connect_timeout = 5", name="alone.toml")
    proc = _cli("run", alone, cwd=tmp_path)
    line = _one_error_line(proc)
    assert proc.returncode == 2 and "search.connect_timeout: applies only with scheduler" in line
    assert not (tmp_path / "runs").exists()


def test_when_every_candidate_fails_the_one_line_gives_the_cause(tmp_path):
    # before: "All the 4 evaluations of the first generation failed." alone
    toml = _bad(tmp_path, "params = { max_iter = 200 }", 'params = { solver = "nonsense" }')
    proc = _cli("run", toml, "--quiet", cwd=tmp_path)
    assert proc.returncode == 2
    line = _one_error_line(proc)
    assert "All the 4 evaluations of the first generation failed." in line
    assert "failed with:" in line and "solver" in line


def test_debug_and_quiet_are_honoured_before_the_subcommand(tmp_path):
    # before: `evotune --quiet run` printed progress, `evotune --debug run` no traceback
    toml = tmp_path / "small.toml"
    toml.write_text(SMALL_TOML)
    quiet = _cli("--quiet", "run", toml, "--out", tmp_path / "q")
    assert quiet.returncode == 0, quiet.stderr
    assert not [x for x in quiet.stdout.splitlines() if GEN_LINE.match(x)], quiet.stdout
    assert "best score" in quiet.stdout
    bad = _bad(tmp_path, "cv = 3", "cv = 1")
    debug = _cli("--debug", "run", bad, "--out", tmp_path / "d")
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    after = _cli("run", bad, "--out", tmp_path / "d", "--debug")
    assert after.returncode == 2 and "Traceback" in after.stderr


def test_version():
    from evotune import __version__

    proc = _cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"evotune {__version__}"


@pytest.fixture(scope="module", params=["csv", "loader"])
def csv_run(request, tmp_path_factory):
    """The README's form, `csv = "train.csv"` beside the file, run from elsewhere;
    and the loader form, so that the resume tests below do not hang on the
    csv path alone."""
    work = tmp_path_factory.mktemp(f"{request.param}run")
    project = work / "project"
    project.mkdir()
    text = SMALL_TOML
    if request.param == "csv":
        from sklearn.datasets import load_iris

        load_iris(as_frame=True).frame.to_csv(project / "train.csv", index=False)
        text = text.replace(
            'loader = "sklearn.datasets.load_iris"', 'csv = "train.csv"\ntarget = "target"'
        )
    (project / "exp.toml").write_text(text)
    first = _cli("run", "project/exp.toml", cwd=work)
    out = work / "runs" / "exp"
    extended = _cli("resume", out, "--generations", "3")
    return out, first, extended


def test_a_csv_run_resumes_and_extends(csv_run):
    # before: resume read train.csv beside the run directory's copy: "does not exist"
    out, first, extended = csv_run
    assert first.returncode == 0, first.stderr
    assert extended.returncode == 0, extended.stderr
    assert pd.read_csv(out / "history.csv")["generation"].max() == 2


def test_a_resume_replays_once_in_one_line(csv_run):
    # before: each replayed generation was printed again, with "elapsed 0.0s"
    _, _, extended = csv_run
    lines = extended.stdout.splitlines()
    assert lines.count("replayed 8 evaluations from the journal") == 1
    gens = [int(m.group(1)) for m in (GEN_LINE.match(x) for x in lines) if m]
    assert gens == [2]


def test_a_resume_never_shrinks_the_run_and_an_extension_is_kept(csv_run):
    # before: --generations 1 after 3 rewrote history.csv to fewer rows without
    # a word, and a later plain resume forgot the extension
    out, _, _ = csv_run
    before = (out / "history.csv").read_text()
    shrink = _cli("resume", out, "--generations", "1")
    assert shrink.returncode == 2
    line = _one_error_line(shrink)
    assert "--generations 1" in line and "3 generations" in line
    assert (out / "history.csv").read_text() == before
    plain = _cli("resume", out, "--quiet")
    assert plain.returncode == 0, plain.stderr
    assert pd.read_csv(out / "history.csv")["generation"].max() == 2
    assert (out / "history.csv").read_text() == before


@pytest.mark.parametrize("command", ["run", "resume", "demo"])
def test_n_jobs_zero_is_one_line_naming_the_flag_and_no_directory(tmp_path, command):
    # before: `run small.toml --n-jobs 0` left runs/small/experiment.toml behind
    (tmp_path / "small.toml").write_text(SMALL_TOML)
    target = {"run": "small.toml", "resume": "runs/small", "demo": "--out=runs/demo"}[command]
    proc = _cli(command, target, "--n-jobs", "0", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--n-jobs must be a non-zero integer" in _one_error_line(proc)
    assert not (tmp_path / "runs").exists()


def test_a_finished_run_leaves_no_lock(csv_run):
    out, _, _ = csv_run
    assert not (out / "lock").exists()


def test_files_of_a_run_directory_follow_the_umask(tmp_path):
    # before: history.csv, hall_of_fame.csv and meta.json were 0600, the journal 0644
    import os
    import stat

    toml = tmp_path / "small.toml"
    toml.write_text(SMALL_TOML)
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "evotune", "run", str(toml), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert proc.returncode == 0, proc.stderr
    report = _cli("report", out)
    assert report.returncode == 0, report.stderr
    files = ["journal.jsonl", "meta.json", "history.csv", "hall_of_fame.csv", "run.json"]
    files += [str(p.relative_to(out)) for p in (out / "report").glob("*.png")]
    assert len(files) > 5
    for name in files:
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name


def test_the_failure_warning_shows_no_internal_path(tmp_path):
    toml = _bad(
        tmp_path,
        "C = { type",
        'solver = { type = "categorical", choices = ["lbfgs", "nonsense"] }\nC = { type',
    )
    text = toml.read_text().replace("generations = 2", "generations = 3")
    toml.write_text(text.replace("population_size = 4", "population_size = 6"))
    proc = _cli("run", toml, "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warned = [x for x in proc.stderr.splitlines() if "evaluations failed" in x]
    assert len(warned) == 1 and warned[0].startswith("evotune: warning: "), proc.stderr
    assert ".py:" not in proc.stderr


def test_the_demo_writes_a_run_directory_that_report_reads(demo_run):
    # before: `evotune report runs/demo` said "not a run directory"
    _, text, out = demo_run
    assert (
        text.strip().splitlines()[-1] == f"see the leaderboard and plots with: evotune report {out}"
    )
    proc = _cli("report", out, "--no-plots")
    assert proc.returncode == 0, proc.stderr
    assert "mean_score" in proc.stdout
    assert not (out / "lock").exists()


def test_install_commands_work_from_a_clone():
    from evotune.backends.base import DASK_MISSING

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    # the one mention of the PyPI form says what a release would change
    assert readme.count('pip install "evotune[') == 1 and "evotune[dask]" not in DASK_MISSING
    assert "A release on PyPI would" in readme
    assert 'pip install ".[dask]"' in readme and 'pip install ".[dask]"' in DASK_MISSING
    # and no message of the package gives the PyPI form (MLflow's gave it)
    package = Path(__file__).parent.parent / "evotune"
    pypi_form = [p.name for p in package.rglob("*.py") if "evotune[" in p.read_text()]
    assert pypi_form == []
