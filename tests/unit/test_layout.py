"""The layout stays checked (issue 20): the import contracts, short files, no import loops.

- The contracts of ``[tool.importlinter]`` in pyproject.toml hold (``lint-imports``,
  which ``make lint`` runs too): schemas at the bottom, connectors and streams on it, the
  command line on top; only ``ioc.cli`` imports a command; the stream engines never
  import the faust runtime; connector sources and sinks are independent.
- No Python file of the repository is over 400 lines.
- No import cycle between modules of the first-party packages, at run time: an import
  under ``if TYPE_CHECKING:`` (annotations only) is not one.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

import grimp
import pytest

from ioc.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

PACKAGES = ("ioc", "connectors", "streams", "schemas")
MAX_LINES = 400


def _contracts() -> dict[str, dict[str, Any]]:
    data = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    linter = data["tool"]["importlinter"]
    assert sorted(linter["root_packages"]) == sorted(PACKAGES)
    return {c["id"]: c for c in linter["contracts"]}


def test_import_contracts_hold() -> None:
    # A fresh interpreter from the checkout: the contracts are about the files here.
    cli = "import sys; from importlinter.cli import lint_imports_command; lint_imports_command()"
    result = subprocess.run(
        [sys.executable, "-c", cli, "--no-cache", "--no-logo"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout


def test_the_contracts_cover_every_module_they_are_about() -> None:
    """A new module of streams or ioc falls under its contract without editing it."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    contracts = _contracts()
    engines = set(contracts["pure-streams"]["source_modules"])
    assert engines == graph.find_children("streams") - {"streams.runtime"}
    below_commands = set(contracts["commands"]["source_modules"])
    top = {"ioc.cli", "ioc.commands", "ioc.__main__"}
    assert below_commands == (graph.find_children("ioc") - top) | (set(PACKAGES) - {"ioc"})


def _python_files() -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "ls-files", "--cached", "--others",
         "--exclude-standard", "-z", "*.py"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return [name for name in listed.split("\0") if name and (PROJECT_ROOT / name).is_file()]


def test_no_python_file_is_over_400_lines() -> None:
    files = _python_files()
    assert len(files) > 100, "git listed too few files: the test tests nothing"
    long = {}
    for name in files:
        lines = len((PROJECT_ROOT / name).read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long[name] = lines
    assert not long, f"over {MAX_LINES} lines, split along a seam: {long}"


def strongly_connected(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The import cycles of a graph: its strongly connected components of two or more
    modules, or of one module importing itself (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in edges.get(node, ()):
                        cycles.append(sorted(component))
    return cycles


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"d"}}
    assert sorted(strongly_connected(edges)) == [["a", "b", "c"], ["e"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_first_party_modules() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    assert len(edges) > 150, "the graph is nearly empty: the test tests nothing"
    found = []
    for cycle in strongly_connected(edges):
        members = set(cycle)
        lines = [
            f"  {detail['importer']}:{detail['line_number']} {detail['line_contents']}"
            for importer in cycle
            for imported in sorted(edges[importer] & members)
            for detail in graph.get_import_details(importer=importer, imported=imported)
        ]
        found.append(" <-> ".join(cycle) + "\n" + "\n".join(lines))
    assert not found, "import cycles:\n" + "\n".join(found)
