"""Tests of ``evotune.records``: the plain records, a layer that imports nothing of evotune."""

from __future__ import annotations

import ast
import json
import math
import pickle
import subprocess
import sys
from dataclasses import FrozenInstanceError, asdict
from pathlib import Path

import pytest

import evotune
from evotune import evaluation, records
from evotune._journal_read import _fold_from_json
from evotune.journal import _fold_to_json
from evotune.records import Candidate, Evaluation, FoldResult, Task

RECORDS = ("Candidate", "Task", "FoldResult", "Evaluation")
PACKAGE = Path(evotune.__file__).parent


def _evaluation() -> Evaluation:
    return Evaluation(
        candidate_id=3,
        generation=1,
        origin="crossover",
        key="C=1.0",
        params={"C": 1.0, "kernel": "rbf"},
        fold_scores=[0.8, 0.9],
        mean_score=0.85,
        std_score=0.05,
        fit_time=0.3,
        score_time=0.1,
        metrics=[{"test_score": 0.8}, {"test_score": 0.9}],
        fold_fit_times=[0.1, 0.2],
        fold_score_times=[0.05, 0.05],
    )


def _examples() -> list[object]:
    return [
        Candidate(3, 1, "crossover", "C=1.0", {"C": 1.0}, seed=7, expected_cost=2.5),
        Task("3:1", 3, {"C": 1.0}, 1, 7),
        FoldResult(0.9, 0.2, 0.1, metrics={"test_score": 0.9}, worker=2, started=1.0, finished=2.0),
        _evaluation(),
    ]


def test_importing_records_imports_nothing_else_of_evotune():
    code = (
        "import json, sys\n"
        "import evotune.records\n"
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m == 'evotune' or m.startswith('evotune.'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    # the package's own __init__ is lazy: only the records are imported
    # the package itself and its version come first; nothing else of evotune
    assert loaded == ["evotune", "evotune._version", "evotune.records"]


def test_records_source_imports_nothing_of_evotune():
    tree = ast.parse((PACKAGE / "records.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("evotune")
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith("evotune") for a in node.names)


@pytest.mark.parametrize("record", _examples(), ids=lambda r: type(r).__name__)
def test_records_round_trip_through_their_fields_and_pickle(record):
    cls = type(record)
    assert cls(**asdict(record)) == record
    assert pickle.loads(pickle.dumps(record)) == record


def test_a_fold_result_round_trips_through_the_journal_json():
    fold = FoldResult(0.5, 1.5, 0.25, metrics={"test_score": 0.5}, worker=1, started=2.0)
    back = _fold_from_json(json.loads(json.dumps(_fold_to_json(fold))))
    assert back.score == fold.score
    assert (back.fit_time, back.score_time, back.metrics) == (1.5, 0.25, {"test_score": 0.5})


def test_candidates_and_tasks_are_frozen():
    c, t = _examples()[:2]
    with pytest.raises(FrozenInstanceError):
        c.id = 4  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        t.fold = 2  # type: ignore[misc]


def test_defaults_and_ok():
    assert FoldResult(0.1).status == "ok" and FoldResult(0.1).metrics == {}
    assert math.isnan(Candidate(0, 0, "initial", "k", {}).expected_cost)
    assert _evaluation().ok
    assert records.STATUSES == ("ok", "failed", "timeout", "crashed", "raced", "nan", "pruned")
    assert records.FAILED_STATUSES == ("failed", "timeout", "crashed")


@pytest.mark.parametrize("name", RECORDS)
def test_the_public_paths_give_the_same_classes(name):
    cls = getattr(records, name)
    assert getattr(evaluation, name) is cls  # the documented path, kept for users
    assert cls.__module__ == "evotune.records"
    if name != "Task":
        assert getattr(evotune, name) is cls


def _modules_importing_records_from_elsewhere() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "evaluation.py" and path.parent == PACKAGE:
            continue  # the re-export itself
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("evotune")
                and node.module != "evotune.records"
                and {a.name for a in node.names} & set(RECORDS)
            ):
                found.append(f"{path.relative_to(PACKAGE)}: from {node.module}")
    return found


def test_the_package_imports_the_records_from_records():
    assert _modules_importing_records_from_elsewhere() == []
