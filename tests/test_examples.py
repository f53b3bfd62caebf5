"""Every script under examples/ runs; the drop-in example honours n_iter."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _run(script: Path, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    # the checkout's evotune, whatever an editable install points at
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_there_are_examples():
    assert EXAMPLES


#: the examples that need PyTorch (its CPU wheels are too large for CI here):
#: each has a scikit-learn twin that runs below whatever is installed
TORCH = [p for p in EXAMPLES if "\n    import torch\n" in p.read_text(encoding="utf-8")]
HAS_TORCH = importlib.util.find_spec("torch") is not None


def test_the_pytorch_examples_have_scikit_learn_twins():
    assert {p.name for p in TORCH} == {"pytorch_pruning.py", "pytorch_pbt.py"}
    for script in TORCH:
        twin = re.search(r"``(\w+\.py)`` is the same", script.read_text(encoding="utf-8"))
        assert (
            twin
            and (ROOT / "examples" / twin.group(1)).exists()
            and twin.group(1) not in {p.name for p in TORCH}
        )


@pytest.mark.skipif(HAS_TORCH, reason="PyTorch is installed: the examples run instead")
@pytest.mark.parametrize("script", TORCH, ids=lambda p: p.name)
def test_a_pytorch_example_without_pytorch_says_what_it_needs(script, tmp_path):
    proc = _run(script, tmp_path, timeout=300)
    assert proc.returncode == 1
    assert "needs PyTorch: pip install torch" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    if script in TORCH and not HAS_TORCH:
        pytest.skip("needs PyTorch, not installed (its scikit-learn twin runs)")
    # the slowest example takes about 90 s on an idle 2-core machine; the limit
    # is a generous multiple so a loaded machine never races it
    proc = _run(script, tmp_path, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    assert "best" in proc.stdout


def test_the_drop_in_example_is_scikit_learns_and_honours_n_iter(tmp_path):
    # issue 15, item 1: scikit-learn's RandomizedSearchCV docstring example with
    # the class name changed, then the same with its keyword arguments
    # (param_distributions=, n_iter=, ...): n_iter candidates exactly. About
    # 15 s on a loaded 2-core machine; the limit is 40 times that.
    script = ROOT / "examples" / "sklearn_drop_in.py"
    text = script.read_text(encoding="utf-8")
    assert "clf = EvolutionarySearchCV(logistic, distributions, random_state=0)" in text
    assert "param_distributions=distributions" in text and "n_iter=n_iter" in text
    proc = _run(script, tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    counts = [int(n) for n in re.findall(r"^(\d+) candidates", proc.stdout, re.M)]
    assert counts == [10, 20], proc.stdout
