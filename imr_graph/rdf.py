"""The store as linked data: its provenance, its triples, and SPARQL over them.

kg.rdf turns letters, a graph and a Provenance value into triples and runs SPARQL; this module
is the application side that knows the store: it reads the provenance from it, hands kg.rdf the
store's letters and graph, and owns the shipped queries (imr_graph/queries/*.rq).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from imr_graph.config import QUERY_DIR
from imr_graph.store.sqlite import Store
from kg.rdf import DEFAULT_BASE, Provenance, Triple, iter_triples, oxigraph_store, run_query


def tool_version() -> str:
    """The installed imr-graph version the export names as its software agent ('0' if none)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("imr-graph")
    except PackageNotFoundError:
        return "0"


def store_provenance(store: Store) -> Provenance:
    """The store's generation and latest ingest time, with this tool's version."""
    row = store.db.execute("SELECT max(ingested_at) FROM letters").fetchone()
    return Provenance(generation=store.generation, ended_at=row[0], version=tool_version())


def store_triples(store: Store, base: str = DEFAULT_BASE) -> Iterator[Triple]:
    """The export of an open store: its letters, its graph's shared nodes, its provenance."""
    return iter_triples(store.letters().values(), store.graph, base, store_provenance(store))


def shipped_queries() -> dict[str, Path]:
    """The SPARQL queries shipped with imr-graph, by name (`imr-graph sparql --list`)."""
    return {p.stem: p for p in sorted(QUERY_DIR.glob("*.rq"))}


def query_text(query: str) -> str:
    """A shipped query's text by its name; any other text is taken as SPARQL."""
    shipped = shipped_queries()
    return shipped[query].read_text(encoding="utf-8") if query in shipped else query


def sparql(
    store: Store,
    query: str,
    params: Mapping[str, str | int] | None = None,
    base: str = DEFAULT_BASE,
) -> tuple[list[str], list[list[Any]]]:
    """Run SPARQL (a shipped query name or query text) over the store's RDF: (names, rows).

    `params` set a query's `VALUES ?name { default }` blocks, like `imr-graph sparql --param`;
    ValueError when the query has no such block.
    """
    st = oxigraph_store(store_triples(store, base))
    return run_query(st, query_text(query), params)
