"""The test suite's own rule: what starts real processes or many runs is `slow`.

`pytest -m "not slow"` is the quick loop the README gives; these tests keep
the marks it relies on (every example script, kill-and-resume, Dask clusters)
from being lost, and the README's word on them from drifting.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
FILES = [
    "tests/test_dask.py",
    "tests/test_resume.py",
    "tests/test_examples.py",
    "tests/test_cli.py",
    "tests/test_pareto.py",
]


def _collected(marker: str) -> set[str]:
    collect = ["--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *collect, *FILES],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1200,
    )
    assert proc.returncode in (0, 5), proc.stdout + proc.stderr  # 5: nothing collected
    return {line for line in proc.stdout.splitlines() if "::" in line}


def test_processes_and_many_runs_are_marked_slow():
    slow, quick = _collected("slow"), _collected("not slow")
    assert slow and quick
    # whole modules: Dask clusters and kill-and-resume of real runs
    assert not [t for t in quick if t.startswith(("tests/test_dask.py", "tests/test_resume.py"))]
    assert any(t.startswith("tests/test_dask.py") for t in slow)
    assert any(t.startswith("tests/test_resume.py") for t in slow)
    # every example script, and the kills of a real process elsewhere
    examples = {t for t in slow if "test_example_runs[" in t}
    scripts = sorted(p.name for p in (ROOT / "examples").glob("*.py"))
    assert sorted(t.split("[")[1].rstrip("]") for t in examples) == scripts
    for name in (
        "tests/test_cli.py::test_sigterm_exits_143_and_the_run_resumes",
        "tests/test_pareto.py::test_the_front_survives_kill_and_resume",
    ):
        assert name in slow


def test_the_readme_gives_the_quick_loop_and_the_full_run():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert '.venv/bin/python -m pytest -m "not slow"' in readme
    assert "marked `slow`" in readme
