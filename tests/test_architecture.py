"""The layout's rules, checked on the source: layering, no import cycle, small modules.

Imports inside functions count (grimp reads every import statement). `lint-imports` (the
`[tool.importlinter]` contract in pyproject.toml) checks the layering too, in CI.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("embeddings", "kg", "imr_graph")
LAYER = {"embeddings": 0, "kg": 1, "imr_graph": 2}
MAX_LINES = 600


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def _edges(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    return [
        (m, i)
        for m in graph.modules
        for i in graph.find_modules_directly_imported_by(m)
        if i.split(".")[0] in LAYER
    ]


def test_imports_point_down_the_layers(graph: grimp.ImportGraph) -> None:
    upward = [
        f"{a} imports {b}"
        for a, b in _edges(graph)
        if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]]
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycle_between_modules(graph: grimp.ImportGraph) -> None:
    g = nx.DiGraph(_edges(graph))
    cycles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_no_module_over_600_lines() -> None:
    long = {
        str(p.relative_to(REPO)): n
        for pkg in PACKAGES
        for p in (REPO / pkg).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long


def test_embeddings_knows_nothing_of_imr() -> None:
    named = [
        f"{p.relative_to(REPO)}:{i}"
        for p in (REPO / "embeddings").rglob("*.py")
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "imr" in line.lower()
    ]
    assert not named, named
