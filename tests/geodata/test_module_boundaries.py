"""geodata's modules import each other without cycles and use no other module's private names.

Read from the source with ``ast``, imports inside functions included (a cycle
hidden in a function is still a cycle).  Private *modules* (``geodata._errors``,
``geodata._validate``, ``geodata._atomic``) are shared by design; a private
*name* (``_x``) belongs to its module alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[2]


def _imports() -> tuple[nx.DiGraph, list[str]]:
    graph: nx.DiGraph = nx.DiGraph()
    private: list[str] = []
    for path in sorted((ROOT / "geodata").glob("*.py")):
        module = f"geodata.{path.stem}"
        graph.add_node(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("geodata"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    target = full if (ROOT / (full.replace(".", "/") + ".py")).exists() else node.module
                    if target != module and target != "geodata":
                        graph.add_edge(module, target)
                    if alias.name.startswith("_") and target == node.module:
                        private.append(f"{module} line {node.lineno}: from {node.module} "
                                       f"import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("geodata.") and alias.name != module:
                        graph.add_edge(module, alias.name)
    return graph, private


def test_geodata_modules_import_no_private_name_of_another() -> None:
    _, private = _imports()
    assert private == []


def test_geodata_modules_have_no_import_cycle() -> None:
    graph, _ = _imports()
    assert len(graph) > 10  # the scan found the modules
    assert graph.has_edge("geodata.network", "geodata.cache")
    assert list(nx.simple_cycles(graph)) == []
