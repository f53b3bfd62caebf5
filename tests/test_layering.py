"""The operators package is the lowest layer: it must never import evotune."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

EXPECTED_SUBMODULES = {"crossover", "mutation", "schema", "selection"}


def _operators_dir() -> Path:
    # find_spec on a top-level package locates it without executing it
    spec = importlib.util.find_spec("operators")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def test_importing_operators_does_not_import_evotune():
    code = "\n".join(
        [
            "import importlib, json, pkgutil, sys",
            "import operators",
            "names = [m.name for m in pkgutil.walk_packages(operators.__path__, 'operators.')]",
            "for name in names:",
            "    importlib.import_module(name)",
            "print(json.dumps({",
            "    'submodules': names,",
            "    'loaded': sorted(m for m in sys.modules if m.startswith('operators')),",
            "    'evotune': sorted(m for m in sys.modules",
            "                      if m == 'evotune' or m.startswith('evotune.')),",
            "}))",
        ]
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    # the import really happened (the test is not vacuous) ...
    assert {n.rsplit(".", 1)[-1] for n in report["submodules"]} >= EXPECTED_SUBMODULES
    assert {f"operators.{n}" for n in EXPECTED_SUBMODULES} <= set(report["loaded"])
    # ... and evotune stayed out
    assert report["evotune"] == []


def test_operators_source_never_names_evotune_imports():
    files = sorted(_operators_dir().rglob("*.py"))
    assert {f.stem for f in files} >= EXPECTED_SUBMODULES | {"__init__"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "import evotune" not in text, path
        assert "from evotune" not in text, path
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
                assert node.level <= 1, f"{path}: relative import reaches above operators"
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, (ast.Attribute, ast.Name))
                and getattr(node.func, "attr", getattr(node.func, "id", ""))
                in {"import_module", "__import__"}
            ):
                modules = [a.value for a in node.args if isinstance(a, ast.Constant)]
            else:
                continue
            for m in modules:
                assert str(m).split(".")[0] != "evotune", f"{path}: imports {m}"
