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


# ------------------------------------------------------------ evotune's layers
# modules that may use scikit-learn, the CLI, the report or the faces; the
# rest is the core, which never imports them
FACES = (
    "evotune.sklearn",
    "evotune.feature_selection",
    "evotune._faces",
    "evotune.experiment",
    "evotune._experiment_checks",
    "evotune.cli",
    "evotune._cli_checks",
    "evotune.report",
    "evotune.mlflow",
    "evotune._mlflow_log",  # the MLflow face's helpers (its artifacts are the report's PNGs)
    "evotune._optuna_export",  # `evotune export-optuna`: reads a run with the report's loader
    "evotune.wandb",
    "evotune._wandb_log",  # the W&B face's helpers (its images are the report's PNGs)
    "evotune.objective",
    "evotune.__main__",
)
# the bottom layers: they know nothing of the engine, the run or where work runs
BOTTOM = (
    "evotune.settings",
    "evotune.space",
    "evotune._parameters",
    "evotune._feature_mask",
    "evotune.genome",
    "evotune.records",
)
ABOVE_BOTTOM = (
    "evotune.engine",
    "evotune.run",
    "evotune.loop",
    "evotune.evaluation",
    "evotune.backends",
    "evotune.journal",
)


def _in(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _evotune_modules() -> dict[str, Path]:
    spec = importlib.util.find_spec("evotune")
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    out = {}
    for path in root.rglob("*.py"):
        parts = ("evotune", *path.relative_to(root).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module ``name`` imports, at any depth of its source: top level,
    inside functions and under ``TYPE_CHECKING`` alike."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in modules}
    out = set()
    for module in found:
        while module not in modules and "." in module:
            module = module.rpartition(".")[0]
        if module != name:
            out.add(module)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _evotune_modules()
    # the package itself is a lazy facade over every module: not a layer
    return {n: _imports(n, p, modules) - {"evotune"} for n, p in modules.items() if n != "evotune"}


def test_the_graph_sees_the_modules_it_checks():
    graph = _graph()
    assert {"evotune.engine", "evotune.run", "evotune.settings", "evotune.strategies.ga"} <= set(
        graph
    )
    assert "evotune.engine" in graph["evotune.run"]  # the test is not vacuous


def test_no_import_cycle_not_even_under_type_checking():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif not state.get(nxt):
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])
    assert cycles == []


def test_the_core_never_imports_scikit_learn_the_cli_the_report_or_the_faces():
    for name, deps in _graph().items():
        if _in(name, FACES):
            continue
        bad = {d for d in deps if _in(d, FACES) or d.split(".")[0] == "sklearn"}
        assert not bad, f"{name} imports {sorted(bad)}"


def test_the_bottom_layers_know_nothing_of_the_engine_or_the_run():
    for name, deps in _graph().items():
        if _in(name, BOTTOM):
            assert not {d for d in deps if _in(d, ABOVE_BOTTOM + FACES)}, name


def test_strategies_know_neither_backends_the_journal_nor_the_engine():
    for name, deps in _graph().items():
        if _in(name, ("evotune.strategies",)):
            assert not {d for d in deps if _in(d, ABOVE_BOTTOM + FACES)}, name


def test_the_engine_never_imports_backends_the_journal_or_the_run():
    deps = _graph()["evotune.engine"]
    assert not {
        d
        for d in deps
        if _in(d, ("evotune.backends", "evotune.journal", "evotune.run", "evotune.loop"))
    }


# ------------------------------------------------------------------ sizes
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80  # not counting the docstring


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def _function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from ``def`` to the end of the body, less the docstring's."""
    lines = (node.end_lineno or node.lineno) - node.lineno + 1
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        lines -= (first.end_lineno or first.lineno) - first.lineno + 1
    return lines


def test_modules_and_functions_are_small():
    too_big: list[str] = []
    seen: set[str] = set()
    for package in ("evotune", "operators"):
        root = _package_dir(package)
        for path in sorted(root.rglob("*.py")):
            name = path.relative_to(root.parent).as_posix()
            seen.add(name)
            text = path.read_text(encoding="utf-8")
            n_lines = len(text.splitlines())
            if n_lines > MAX_MODULE_LINES:
                too_big.append(f"{name}: {n_lines} lines (at most {MAX_MODULE_LINES})")
            for node in ast.walk(ast.parse(text, filename=str(path))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = _function_lines(node)
                    if length > MAX_FUNCTION_LINES:
                        too_big.append(
                            f"{name}:{node.lineno} {node.name}: {length} lines "
                            f"(at most {MAX_FUNCTION_LINES}, docstring not counted)"
                        )
    # the walk saw the packages (the test is not vacuous)
    assert {"evotune/space.py", "operators/schema.py"} <= seen
    assert not too_big, "too big:\n" + "\n".join(too_big)
