"""Imports point one way: the import-linter contracts of pyproject.toml hold, and no package's
modules import each other in a circle.

The contracts (``[tool.importlinter]``): the layers of docs/architecture.md, estimators without
the config, click only in the command line, mlflow only in ``forecast.tracking``. A failure
lists the broken contracts and the imports that break them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(root: Path = ROOT) -> subprocess.CompletedProcess:
    """``lint-imports`` over the package under ``root`` with the contracts of pyproject.toml."""
    entry = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    command = [sys.executable, "-c", entry, "--config", str(ROOT / "pyproject.toml"),
               "--no-cache"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def broken(result: subprocess.CompletedProcess) -> list[str]:
    """The names of the contracts a ``lint-imports`` run reports broken."""
    return re.findall(r"^(.+) BROKEN$", result.stdout, flags=re.MULTILINE)


def test_every_import_contract_is_kept():
    result = lint_imports()
    report = result.stdout[result.stdout.find("Broken contracts"):]
    assert broken(result) == [], f"broken import contracts:\n{report}"
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_layers(tmp_path):
    shutil.copytree(ROOT / "forecast", tmp_path / "forecast",
                    ignore=shutil.ignore_patterns("__pycache__"))
    outputs = tmp_path / "forecast" / "io" / "outputs.py"
    outputs.write_text(outputs.read_text(encoding="utf-8")
                       + "\n\ndef _up():\n    from forecast.pipeline import chain  # noqa\n",
                       encoding="utf-8")
    result = lint_imports(tmp_path)
    assert "Layers import downwards (docs/architecture.md, Layers)" in broken(result)
    assert "forecast.io.outputs -> forecast.pipeline.chain" in result.stdout


def _sibling_cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Groups of modules directly under ``package`` that import each other in a circle (each
    counting what its submodules import), and modules that import their own package when the
    package imports its modules."""
    children = sorted(graph.find_children(package))
    reexports = any(m.startswith(package + ".")
                    for m in graph.find_modules_directly_imported_by(package))
    edges: dict[str, set[str]] = {}
    own = []
    for child in children:
        imported = set()
        for module in (child, *graph.find_descendants(child)):
            imported |= graph.find_modules_directly_imported_by(module)
        if reexports and package in imported:
            own.append([child, package])
        edges[child] = {other for other in children if other != child and any(
            m == other or m.startswith(other + ".") for m in imported)}
    return own + _cycles(edges)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_package_has_modules_that_import_each_other_in_a_circle():
    graph = grimp.build_graph("forecast", cache_dir=None)
    packages = sorted(m for m in graph.modules if graph.find_children(m))
    cycles = {p: c for p in packages if (c := _sibling_cycles(graph, p))}
    assert cycles == {}


def test_the_cycle_check_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
