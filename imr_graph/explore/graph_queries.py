"""Questions to the graph a notebook asks: open a store, walk the graph, count outcomes.

Traversals are plain functions over `Store.graph` so they read like the questions people ask:
which items requested this treatment, which letters cite this section, how often is it overturned.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from imr_graph.rdf import shipped_queries as shipped_queries  # the notebooks' api.shipped_queries
from imr_graph.rdf import sparql as sparql  # and api.sparql
from imr_graph.store.sqlite import Store
from kg import graph as G


def load_store(path: str | Path | None = None) -> Store:
    """Open an existing store (default: $IMR_GRAPH_STORE or the user's data dir)."""
    return Store.open(path, create=False, read_only=True)


@dataclass(frozen=True)
class Rate:
    """Outcome counts for one group of items."""

    key: str
    label: str
    items: int
    upheld: int
    overturned: int

    @property
    def overturn_rate(self) -> float:
        return self.overturned / self.items if self.items else 0.0


def resolve_treatment(text_or_id: str) -> tuple[str, ...]:
    """A concept id as is, or the concepts a request text normalizes to."""
    if ":" in text_or_id and " " not in text_or_id:
        return (text_or_id,)
    from kg.normalize import normalize_request

    return tuple(normalize_request(text_or_id).treatments)


def narrower_closure(g: nx.MultiDiGraph, concept: str) -> set[str]:
    """The concept and every concept below it (via broader edges), as present in the graph."""
    seen = {concept}
    todo = [concept]
    while todo:
        c = todo.pop()
        for child in G.in_nodes(g, c, G.BROADER) + G.in_nodes(g, c, G.IN_CATEGORY):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def items_for_treatment(store: Store, treatment: str, narrower: bool = True) -> list[str]:
    """Item nodes whose request names the treatment (a concept id or a request text) or, with
    `narrower`, a narrower one, anywhere in it: a graph walk for exploring. The same treatment
    by the precedent rules (the request's head, route and region) is what `imr-graph items
    --treatment` and the answer's count give (`query.treatment.same_treatment_items`)."""
    g = store.graph
    out: set[str] = set()
    for c in resolve_treatment(treatment):
        if c not in g:
            continue
        concepts = narrower_closure(g, c) if narrower else {c}
        for cc in concepts:
            out.update(G.in_nodes(g, cc, G.REQUESTS))
    return sorted(out)


def letters_citing(store: Store, node: str, by: str | None = None) -> list[str]:
    """Letters whose items cite a section, page or edition node (by MAXIMUS, CA or either)."""
    g = store.graph
    if node not in g:
        return []
    letters = set()
    for u, _, d in g.in_edges(node, data=True):
        if d.get("rel") in (G.CITES_SECTION, G.CITES_PAGE, G.CITES_EDITION) and (
            by is None or d.get("by") == by
        ):
            letters.add(g.nodes[u]["letter"])
    return sorted(letters)


def find_nodes(store: Store, kind: str, text: str = "") -> list[tuple[str, str]]:
    """(id, label) of nodes of a kind whose label contains text (case-insensitive)."""
    t = text.casefold()
    return sorted(
        (n, str(d.get("label", "")))
        for n, d in store.graph.nodes(data=True)
        if d.get("kind") == kind and t in str(d.get("label", "")).casefold()
    )


def overturn_rates(
    store: Store, by: str, min_items: int = 1, cited_by: str = "maximus"
) -> list[Rate]:
    """Upheld/overturned counts grouped by treatment, category, section, document or specialty."""
    g = store.graph
    groups: dict[str, set[str]] = defaultdict(set)
    for n, d in g.nodes(data=True):
        if d.get("kind") != G.ITEM:
            continue
        for key in _group_keys(g, n, by, cited_by):
            groups[key].add(n)
    out = []
    for key, items in groups.items():
        c = Counter(g.nodes[i]["decision"] for i in items)
        if len(items) >= min_items:
            label = str(g.nodes[key].get("label", key)) if key in g else key
            out.append(Rate(key, label, len(items), c["upheld"], c["overturned"]))
    return sorted(out, key=lambda r: (-r.items, r.key))


def _group_keys(g: nx.MultiDiGraph, item: str, by: str, cited_by: str) -> set[str]:
    if by == "treatment":
        return set(G.out_nodes(g, item, G.REQUESTS)[:1])
    if by == "category":
        # the primary treatment's categories; a request mapped to a category itself ("injection
        # ... of lidocaine") is in that category, as the shipped SPARQL query counts it
        first = G.out_nodes(g, item, G.REQUESTS)[:1]
        own = {c for c in first if g.nodes[c].get("kind") == G.CATEGORY}
        return G.categories(g, first) | own
    if by in ("section", "document", "edition", "page"):
        rel = {"section": G.CITES_SECTION, "page": G.CITES_PAGE}.get(by, G.CITES_EDITION)
        keys = set(G.out_nodes(g, item, rel, cited_by))
        if by == "document":
            keys = {doc for k in keys for doc in G.out_nodes(g, k, G.EDITION_OF)}
        return keys
    if by == "specialty":
        letter = G.letter_node(g.nodes[item]["letter"])
        return set(G.out_nodes(g, letter, G.REVIEWED_BY))
    if by == "region":
        return set(G.out_nodes(g, item, G.CONCERNS_REGION))
    if by == "year":
        date = g.nodes[item].get("decision_date") or ""
        return {date[:4] or "unknown"}
    raise ValueError(
        f"unknown grouping {by!r}: treatment, category, section, page, document, "
        "edition, specialty, region or year"
    )


def neighbourhood(store: Store, letter_key: str) -> nx.MultiDiGraph:
    """A letter with its items and what they reach in one hop (treatments, sections, outcomes)."""
    g = store.graph
    ln = G.letter_node(letter_key)
    nodes = {ln}
    for item in G.out_nodes(g, ln, G.HAS_ITEM):
        nodes.add(item)
        for _, v, d in g.out_edges(item, data=True):
            if d.get("rel") != G.HAS_RATIONALE:
                nodes.add(v)
    nodes.update(G.out_nodes(g, ln, G.REVIEWED_BY))
    return g.subgraph(nodes).copy()


def co_cited_sections(store: Store, min_count: int = 2) -> list[tuple[str, str, int]]:
    """Pairs of sections cited together for the same item (either side), with how often."""
    g = store.graph
    pairs: Counter[tuple[str, str]] = Counter()
    for n, d in g.nodes(data=True):
        if d.get("kind") != G.ITEM:
            continue
        secs = sorted(set(G.out_nodes(g, n, G.CITES_SECTION)))
        for i in range(len(secs)):
            for j in range(i + 1, len(secs)):
                pairs[(secs[i], secs[j])] += 1
    return sorted(
        ((a, b, c) for (a, b), c in pairs.items() if c >= min_count), key=lambda t: (-t[2], t[:2])
    )


@dataclass(frozen=True)
class Cited:
    """How often one guideline node (section or document) is cited."""

    key: str
    label: str
    source: str
    items: int
    letters: int


def most_cited(
    store: Store, by: str = "section", source: str | None = None, cited_by: str | None = "maximus"
) -> list[Cited]:
    """Guideline sections (by="section") or documents (by="document") by items citing them.

    `source` keeps one guideline family (MTUS, ODG, ACOEM, OTHER; case-insensitive);
    `cited_by` is "maximus", "claims_administrator" or None for either side.
    """
    if by not in ("section", "document"):
        raise ValueError(f"unknown grouping {by!r}: section or document")
    g = store.graph
    items: dict[str, set[str]] = defaultdict(set)
    for u, v, d in g.edges(data=True):
        if d.get("rel") not in (G.CITES_SECTION, G.CITES_EDITION):
            continue
        if cited_by is not None and d.get("by") != cited_by:
            continue
        if by == "section" and d["rel"] == G.CITES_SECTION:
            items[v].add(u)
        elif by == "document" and d["rel"] == G.CITES_EDITION:
            for doc in G.out_nodes(g, v, G.EDITION_OF):
                items[doc].add(u)
    out = []
    for key, its in items.items():
        doc = key if by == "document" else g.nodes[key].get("document", "")
        src = next(iter(G.out_nodes(g, doc, G.FROM_SOURCE)), "") if doc in g else ""
        src_label = str(g.nodes[src].get("label", "")) if src else ""
        if source is not None and src_label.casefold() != source.casefold():
            continue
        letters = {g.nodes[i]["letter"] for i in its}
        label = str(g.nodes[key].get("label", key))
        out.append(Cited(key, label, src_label, len(its), len(letters)))
    return sorted(out, key=lambda c: (-c.items, -c.letters, c.key))


def node_label(store: Store, node: str) -> str:
    """A node's label; a guideline section's with its document, since labels such as
    "Special Studies" or "Summary" recur in many documents."""
    g = store.graph
    if node not in g:
        return node
    d = g.nodes[node]
    label = str(d.get("label", node))
    doc = d.get("document")
    if d.get("kind") == G.SECTION and doc in g:
        return f"{label} ({g.nodes[doc].get('label', doc)})"
    return label
