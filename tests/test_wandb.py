"""WandbCallback with real W&B, offline (no mocks, no network): what it wrote is
read back from the offline runs' own files (``run-<id>.wandb``: W&B's
transaction log of ``wandb.proto`` records)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest
import wandb
from scipy.stats import randint
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier
from wandb.proto import wandb_internal_pb2

from evotune import Categorical, EvolutionarySearchCV, Float, Integer, evolve
from evotune.wandb import INSTALL_HINT, WandbCallback

ROOT = Path(__file__).parent.parent
PNGS = {"progress", "parameters", "timeline"}


def _threads() -> set[int]:
    return {t.ident for t in threading.enumerate() if t.ident is not None}


def _children() -> set[int]:
    """The live child processes of this one (Linux: read from /proc)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            out.add(int(stat.parent.name))
    return out


# ---- reading an offline run back ---------------------------------------------------
# The .wandb file: a 7-byte header (":W&B", a 2-byte magic, a version byte), then
# LevelDB-log framing in 32 KiB blocks: each chunk a 7-byte header (CRC, length,
# type: 1 full, 2 first, 3 middle, 4 last) and a piece of one serialized Record.
_BLOCK, _HEADER = 32768, 7


def _records(path: Path) -> list:
    data = path.read_bytes()
    assert data[:4] == b":W&B", path
    records, pending, pos = [], b"", _HEADER
    while pos + _HEADER <= len(data):
        if _BLOCK - pos % _BLOCK < _HEADER:  # a block's tail too short for a header
            pos += _BLOCK - pos % _BLOCK
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + _HEADER])
        chunk = data[pos + _HEADER : pos + _HEADER + length]
        pos += _HEADER + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending + chunk)
            records.append(record)
            pending = b""
        elif kind in (2, 3):
            pending += chunk
    return records


def _put(out: dict, item) -> None:
    """Set one config, history or summary item: W&B writes a nested value as
    one item per leaf, keyed by its path (``nested_key``)."""
    path = [item.key] if item.key else list(item.nested_key)
    for part in path[:-1]:
        out = out.setdefault(part, {})
    out[path[-1]] = json.loads(item.value_json)


class _Offline:
    """What one offline run wrote: run, config, history by step, summary, exit."""

    def __init__(self, sync_dir: str | Path) -> None:
        self.dir = Path(sync_dir)
        (path,) = self.dir.glob("run-*.wandb")
        self.run = None
        self.config: dict = {}
        self.history: dict[int, dict] = {}
        self.summary: dict = {}
        self.artifacts: list = []
        self.exit_code = None
        for record in _records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                self.run = record.run
                for item in record.run.config.update:
                    _put(self.config, item)
            elif kind == "config":
                for item in record.config.update:
                    _put(self.config, item)
            elif kind == "history":
                row: dict = {}
                for item in record.history.item:
                    _put(row, item)
                self.history.setdefault(row["_step"], {}).update(row)
            elif kind == "summary":
                for item in record.summary.update:
                    _put(self.summary, item)
            elif kind == "artifact":
                self.artifacts.append(record.artifact)
            elif kind == "exit":
                self.exit_code = record.exit.exit_code

    def file(self, logged: dict) -> Path:
        """The local file of a logged table or image."""
        return self.dir / "files" / logged["path"]


def _run_dirs(root: Path) -> dict[str, Path]:
    return {p.name.rsplit("-", 1)[1]: p for p in (root / "wandb").glob("offline-run-*")}


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """W&B offline, every file of it under tmp_path; returns the runs' folder."""
    root = tmp_path / "wandb-files"
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(root))
    for name in ("CACHE", "DATA", "CONFIG", "ARTIFACT"):
        monkeypatch.setenv(f"WANDB_{name}_DIR", str(tmp_path / f"wandb-{name.lower()}"))
    root.mkdir()
    return root


def _peak(p):
    return -((p["x"] - 1.0) ** 2) - abs(p["n"] - 3)


def _small_run(*callbacks, generations=2, **kwargs):
    """A small run of `_peak` (4 genomes a generation) with `callbacks`."""
    space = {"x": Float(-3, 3), "n": Integer(0, 6)}
    settings = {"population_size": 4, "generations": generations, "random_state": 0}
    return evolve(_peak, space, **settings, callbacks=list(callbacks), **kwargs)


@pytest.mark.slow  # W&B's service process
def test_evolve_logs_config_logbook_summary_table_images_and_run_dir(offline, tmp_path):
    before, children = _threads(), _children()
    run_dir = tmp_path / "run"
    tracker = WandbCallback(project="peak", name="first", tags=["tuning"], notes="a try")
    space = {"x": Float(-3, 3), "n": Integer(0, 6)}
    res = evolve(
        _peak,
        space,
        population_size=5,
        generations=3,
        strategy="ga",
        random_state=0,
        callbacks=[tracker],
        checkpoint=run_dir,
    )
    assert set(_run_dirs(offline)) == {tracker.run_id}  # no run per evaluation by default
    run = _Offline(tracker.sync_dir)
    assert run.exit_code == 0
    assert (run.run.project, run.run.display_name) == ("peak", "first")
    assert run.run.job_type == "evolution"
    assert list(run.run.tags) == ["tuning"] and run.run.notes == "a try"

    config = run.config
    assert config["population_size"] == 5 and config["strategy"] == "ga"
    assert config["random_state"] == 0 and config["generations"] == 3  # from meta.json
    assert config["space"] == {"x": "Float(-3.0, 3.0)", "n": "Integer(0, 6)"}
    assert config["evotune"]["direction"] == "maximize"
    assert config["evotune"]["run_dir"] == str(run_dir.resolve())

    # the logbook: one history row per generation, step = generation
    assert sorted(run.history) == list(range(len(res.logbook))) == [0, 1, 2]
    for gen, row in run.history.items():
        book = res.logbook.iloc[gen]
        assert row["best"] == pytest.approx(book["best"])
        assert row["mean"] == pytest.approx(book["mean"])
        assert row["evaluations"] == book["evaluations"] and row["failed"] == book["failed"]
    assert run.history[2]["n_evaluations"] == res.n_evaluations

    # the summary: the best candidate
    summary = run.summary
    assert summary["best_score"] == pytest.approx(res.best_score)
    assert summary["best_params"] == pytest.approx(res.best_params)
    assert summary["best_candidate_id"] == int(res.hall_of_fame["id"].iloc[0])
    assert summary["stop_reason"] == "generations"
    assert summary["n_evaluations"] == res.n_evaluations

    # the history as a table, the report's PNGs as images (in the last generation's row)
    last = run.history[2]
    assert last["history"]["_type"] == "table-file"
    table = json.loads(run.file(last["history"]).read_text())
    assert table["columns"] == [str(c) for c in res.history.columns]
    assert len(table["data"]) == res.n_evaluations
    ids = table["columns"].index("id")
    assert sorted(row[ids] for row in table["data"]) == sorted(res.history["id"])
    images = {k.split("/", 1)[1]: v for k, v in last.items() if k.startswith("report/")}
    assert set(images) == PNGS
    for image in images.values():
        png = run.file(image)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000

    # the run directory as an artifact
    (artifact,) = [a for a in run.artifacts if a.type == "evotune-run"]
    assert artifact.name == "evotune-run"
    logged = {entry.path for entry in artifact.manifest.contents}
    on_disk = {str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file()}
    assert {"journal.jsonl", "meta.json", "history.csv"} <= logged <= on_disk
    assert not (run_dir / "report").exists()  # the run directory is left as it was
    assert _threads() <= before  # W&B's threads are gone
    assert _children() <= children  # and so is its service process


def _probe(p):
    """1.0 in a worker forked from a process that marked this module, 0.0 in a
    spawned one (which imports the module afresh)."""
    return float(len(_MARKS)) + 0 * p["x"]


_MARKS: list[str] = []

# a process of its own: other tests of the suite may leave threads in this one
_FORK = """
import json, sys, threading
from evotune import Float, evolve
from evotune.wandb import WandbCallback
from tests import test_wandb as here

here._small_run(WandbCallback(project="fork", mode="offline", dir=sys.argv[1]))
threads = [t.name for t in threading.enumerate()]
here._MARKS.append("parent")
res = evolve(here._probe, {"x": Float(0, 1)}, population_size=4, generations=2, n_jobs=2,
             random_state=0)
print(json.dumps({"threads": threads, "n": res.n_evaluations,
                  "scores": sorted(set(res.history["mean_score"]))}))
"""


@pytest.mark.slow  # W&B's service process and a process pool, in a process of their own
def test_after_a_run_the_process_pool_still_forks(offline, tmp_path):
    # mode given to the callback only (no WANDB_MODE): W&B's telemetry would
    # otherwise keep threads of its own, and the pool would have to spawn
    env = {k: v for k, v in os.environ.items() if k != "WANDB_MODE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-c", _FORK, str(tmp_path / "w")]
    # about 10 s on a loaded 2-core machine; the limit is a generous multiple
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["threads"] == ["MainThread"]  # W&B's threads and service are gone
    assert out["n"] == 8
    assert out["scores"] == [1.0]  # every worker was forked: it saw the parent's memory


@pytest.mark.slow  # W&B's service process and a process pool
def test_search_cv_with_a_process_pool_logs_every_generation(offline):
    X, y = load_iris(return_X_y=True)
    tracker = WandbCallback(project="iris", log_report=False)
    search = EvolutionarySearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [1, 2, 3, None], "min_samples_split": randint(2, 10)},
        cv=3,
        population_size=4,
        generations=2,
        n_jobs=2,  # scored in worker processes, logged in this one
        random_state=0,
        callbacks=[tracker],
    )
    search.fit(X, y)
    run = _Offline(tracker.sync_dir)
    assert run.exit_code == 0
    assert sorted(run.history) == [0, 1]
    assert run.summary["best_score"] == pytest.approx(search.best_score_)
    assert not any(k.startswith("report/") or k == "history" for k in run.history[1])
    assert run.artifacts == []  # no run directory, no table


def _picky(p):
    if p["kind"] == "bad":
        raise ValueError("no good")
    return p["x"]


@pytest.mark.slow  # W&B's service process, a run per evaluation
def test_one_run_per_evaluation_only_when_asked(offline, tmp_path):
    tracker = WandbCallback(
        project="picky", log_evaluations=True, log_report=False, log_artifact=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # evolve's "N evaluations failed"
        res = evolve(
            _picky,
            {"x": Float(0, 1), "kind": Categorical(["good", "bad", None])},
            population_size=5,
            generations=2,
            random_state=0,
            callbacks=[tracker],
            checkpoint=tmp_path / "run",
        )
    failed = [e for e in res.evaluations if e.status == "failed"]
    assert failed and len(failed) < res.n_evaluations
    runs = _run_dirs(offline)
    assert set(runs) == {tracker.run_id, *tracker.evaluation_run_ids.values()}
    assert sorted(tracker.evaluation_run_ids) == [e.candidate_id for e in res.evaluations]
    parent = _Offline(runs[tracker.run_id])
    assert parent.run.run_group == tracker.run_id  # the group of its evaluations
    assert parent.artifacts == []  # log_artifact=False: no run directory, even with one
    for ev in res.evaluations:
        run = _Offline(runs[tracker.evaluation_run_ids[ev.candidate_id]])
        assert run.run.display_name == f"candidate-{ev.candidate_id}"
        assert (run.run.run_group, run.run.job_type) == (tracker.run_id, "evaluation")
        assert {k: run.config[k] for k in ev.params} == ev.params
        assert run.config["evotune"]["generation"] == ev.generation
        assert run.summary["status"] == ev.status
        if ev.status == "failed":
            assert run.exit_code == 1
            assert run.summary["error"].startswith("ValueError: no good")
            assert "mean_score" not in run.summary and "fit_time" in run.summary
        else:
            assert run.exit_code == 0
            assert run.summary["mean_score"] == pytest.approx(ev.mean_score)
            assert run.summary["split0_score"] == pytest.approx(ev.fold_scores[0])


class _TearDownWandb:
    """Shuts W&B down under the callback after the first generation."""

    def on_generation_end(self, state):
        if state.generation == 0:
            wandb.teardown()


@pytest.mark.slow  # W&B's service process
def test_wandb_failing_mid_run_is_one_warning_and_a_complete_result(offline):
    before = _threads()
    tracker = WandbCallback(project="flaky")
    with pytest.warns(RuntimeWarning, match=r"could not log .* the run goes on") as caught:
        res = _small_run(tracker, _TearDownWandb(), generations=3)
    assert res.n_evaluations == 12 and len(res.logbook) == 3 and res.best_params
    assert sum(issubclass(w.category, RuntimeWarning) for w in caught) == 1
    run = _Offline(tracker.sync_dir)
    assert sorted(run.history) == [0]  # what was logged before W&B went away is kept
    assert _threads() <= before  # W&B's threads are gone


class _StopHard:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def on_generation_end(self, state):
        if state.generation == 1:
            raise self.exc


@pytest.mark.slow  # W&B's service process
@pytest.mark.parametrize(
    ("exc", "code", "reason"),
    [(KeyboardInterrupt(), 130, "interrupted"), (RuntimeError("disk full"), 1, "error")],
)
def test_an_interrupted_or_failed_run_ends_its_wandb_run(offline, exc, code, reason):
    before = _threads()
    tracker = WandbCallback(project="cut")
    with pytest.raises(type(exc)):
        _small_run(tracker, _StopHard(exc), generations=5)
    run = _Offline(tracker.sync_dir)
    assert run.exit_code == code
    assert run.summary["stop_reason"] == reason
    if reason == "error":
        assert run.summary["error"] == "RuntimeError: disk full"
    assert "best_score" not in run.summary
    assert sorted(run.history) == [0, 1]
    assert _threads() <= before  # W&B's threads are gone


@pytest.mark.slow  # W&B's service process
def test_a_run_without_run_directory_logs_the_pngs_from_memory(offline, tmp_path):
    tracker = WandbCallback(project="memory")
    _small_run(tracker)
    run = _Offline(tracker.sync_dir)
    assert {k.split("/", 1)[1] for k in run.history[1] if k.startswith("report/")} == PNGS
    assert [a.type for a in run.artifacts] == ["run_table"]  # the table's; no run directory
    assert "wandb-files" in {p.name for p in tmp_path.iterdir()}


@pytest.mark.slow  # W&B's service process
def test_a_run_of_the_users_own_is_left_running(offline):
    own = wandb.init(project="mine")  # the global wandb.run, as a user script makes it
    try:
        tracker = WandbCallback(project="peak", log_report=False)
        _small_run(tracker)
        assert wandb.run is own
        own.log({"after": 1.0})  # still running: not finished, not torn down
    finally:
        own.finish()
        wandb.teardown()  # W&B's writer has closed every file after this
    assert _Offline(own.settings.sync_dir).history[0]["after"] == 1.0
    assert _Offline(tracker.sync_dir).exit_code == 0


def test_mode_disabled_writes_nothing(tmp_path):
    before = _threads()
    tracker = WandbCallback(mode="disabled", dir=tmp_path / "w")
    res = _small_run(tracker, checkpoint=tmp_path / "run")
    assert res.n_evaluations == 8 and tracker.sync_dir is None
    assert not (tmp_path / "w" / "wandb").exists()
    assert _threads() <= before  # W&B's threads are gone


@pytest.mark.parametrize("cause", ["dir", "project"])
def test_a_run_that_cannot_start_is_an_error_before_any_work(offline, tmp_path, cause):
    before, calls = _threads(), []
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where W&B's folder would go")
    tracker = WandbCallback(project="p", dir=tmp_path)  # both were fine when it was made
    if cause == "dir":
        tracker.dir = blocked / "below"  # a folder that cannot be made
        message = r"WandbCallback: cannot start a W&B run\b.*blocked/below"
    else:
        tracker.project = "a/b"  # a name wandb.init refuses
        message = r"cannot start a W&B run \(project 'a/b'.*Invalid project name"
    with pytest.raises(RuntimeError, match=message):
        evolve(
            lambda p: calls.append(p) or 0.0,
            {"x": Float(0, 1)},
            population_size=4,
            callbacks=[tracker],
            checkpoint=tmp_path / "run",
        )
    assert calls == [] and tracker.run_id is None
    assert not list((tmp_path / "wandb-files").iterdir())  # no W&B file either
    assert _threads() <= before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"project": 5}, r"'project' must be a non-empty string or None, got 5"),
        ({"entity": " "}, r"'entity' must be a non-empty string or None"),
        ({"name": 3}, r"'name' must be a non-empty string or None, got 3"),
        ({"group": ""}, r"'group' must be a non-empty string or None"),
        ({"notes": 1}, r"'notes' must be a string or None, got 1"),
        ({"tags": "a"}, r"'tags' must be a list of non-empty strings or None, got 'a'"),
        ({"tags": ["a", ""]}, r"'tags' must be a list of non-empty strings"),
        ({"project": "a/b"}, r"'project' is refused by W&B: Invalid project name 'a/b'"),
        ({"tags": ["t" * 65]}, r"'tags' is refused by W&B: Tag 'tt.*' is 65 characters"),
        ({"mode": "cloud"}, r"'mode' must be one of 'online', 'offline', .* got 'cloud'"),
        ({"log_evaluations": 1}, r"'log_evaluations' must be True or False, got 1"),
        ({"log_report": "yes"}, r"'log_report' must be True or False, got 'yes'"),
        ({"log_artifact": None}, r"'log_artifact' must be True or False, got None"),
        ({"dir": 1.5}, r"'dir' must be a path or None, got 1.5"),
        ({"run_dir": 2}, r"'run_dir' must be a path or None, got 2"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        WandbCallback(**kwargs)


def test_a_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match=r"'dir' '.*/f' exists and is not a directory"):
        WandbCallback(dir=tmp_path / "f")


def test_a_missing_wandb_is_one_line_naming_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # what `import wandb` sees uninstalled
    with pytest.raises(ImportError, match=r'pip install "\.\[wandb\]" from evotune') as info:
        WandbCallback()
    assert INSTALL_HINT in str(info.value) and len(str(info.value).splitlines()) == 1


def test_importing_evotune_does_not_import_wandb():
    code = (
        "import sys, evotune, evotune.wandb\n"
        "assert evotune.WandbCallback is evotune.wandb.WandbCallback\n"
        "print('wandb' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"


def test_repr_and_copy_keep_the_settings():
    import copy

    tracker = WandbCallback(project="e", mode="offline", log_evaluations=True)
    assert repr(tracker).startswith("WandbCallback(project='e', entity=None, name=None")
    twin = copy.deepcopy(tracker)
    assert (twin.project, twin.mode, twin.log_evaluations, twin.run_id) == (
        "e",
        "offline",
        True,
        None,
    )
