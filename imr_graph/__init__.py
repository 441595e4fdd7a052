"""imr-graph: IMR determination letters as a knowledge graph with precedent search.

The public API, loaded on first use so that `import imr_graph` stays cheap (no numpy, no model):

    from imr_graph import parse_file, load_store, PrecedentEngine, Filters
    letter = parse_file("letter.pdf")
    engine = PrecedentEngine(load_store(".store"))
    answer = engine.query("Lumbar ESI at L4-5", filters=Filters(decision="overturned"))
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imr_graph.explore.graph_queries import load_store
    from imr_graph.letters.parse import parse_bytes, parse_file
    from imr_graph.query.answer import Answer, Precedent, Summary, Why, explain
    from imr_graph.query.filters import Filters
    from imr_graph.query.precedent import PrecedentEngine
    from imr_graph.store.sqlite import Store

_WHERE = {
    "parse_file": "imr_graph.letters.parse",
    "parse_bytes": "imr_graph.letters.parse",
    "load_store": "imr_graph.explore.graph_queries",
    "Store": "imr_graph.store.sqlite",
    "PrecedentEngine": "imr_graph.query.precedent",
    "Filters": "imr_graph.query.filters",
    "Answer": "imr_graph.query.answer",
    "Precedent": "imr_graph.query.answer",
    "Summary": "imr_graph.query.answer",
    "Why": "imr_graph.query.answer",
    "explain": "imr_graph.query.answer",
}
__all__ = [
    "Answer",
    "Filters",
    "Precedent",
    "PrecedentEngine",
    "Store",
    "Summary",
    "Why",
    "explain",
    "load_store",
    "parse_bytes",
    "parse_file",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first asked for."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'imr_graph' has no attribute {name!r}")
    value = getattr(import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
