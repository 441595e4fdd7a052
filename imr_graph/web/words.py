"""A result said in words: decision, why it is there, its citation line, the query's terms marked.

Reads only the `precedents --json` contract (a result's dict and the answer's top results) and
the graph's labels; keys a later answer adds (a plain-words why, a citation line) win when present.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import networkx as nx
from markupsafe import Markup, escape

from kg import graph as G

DECISION_WORDS = {
    "upheld": "Upheld (denial stands)",
    "overturned": "Overturned (treatment approved)",
}
RELATION_WORDS = {
    "same": "same treatment",
    "broader": "a broader treatment",
    "narrower": "a narrower treatment",
    "sibling": "a related treatment",
}
_STOP = frozenset(
    "the and for with of to in on at by or an a is are was be as from this that per mg ml "
    "x qty tab tabs times week weeks day days each right left bilateral request".split()
)


def decision_words(decision: str) -> str:
    return DECISION_WORDS.get(decision, decision.capitalize() or "Unknown")


def label(g: nx.MultiDiGraph, node: str) -> str:
    return str(g.nodes[node].get("label", node)) if node in g else node


def section_label(g: nx.MultiDiGraph, node: str) -> str:
    """A section's label with its document: "Special Studies" alone names a dozen sections."""
    doc = g.nodes[node].get("document") if node in g else None
    return f"{label(g, node)} ({label(g, doc)})" if doc else label(g, node)


def item_number(position: int) -> int:
    """Items are numbered from 1 on pages and citations (the store counts from 0)."""
    return int(position) + 1


def cited_sections(g: nx.MultiDiGraph, r: dict[str, Any]) -> list[str]:
    """A result's MAXIMUS sections: graph ids when the graph has the item, else its labels."""
    item = G.item_node(str(r.get("letter", "")), int(r.get("item", 0)))
    if item in g:
        return sorted(set(G.out_nodes(g, item, G.CITES_SECTION, by="maximus")))
    return list(r.get("sections") or ())


def section_votes(
    g: nx.MultiDiGraph, results: list[dict[str, Any]], top: int = 10
) -> tuple[Counter[str], int]:
    """How many of the `top` best results cite each section."""
    best = results[:top]
    return Counter(s for r in best for s in cited_sections(g, r)), len(best)


def why_words(r: dict[str, Any], g: nx.MultiDiGraph, votes: Counter[str], n_best: int) -> list[str]:
    """Why a result is there, as short phrases (the answer's own words when it has them)."""
    for key in ("why_words", "why_text", "explanation"):
        own = r.get(key)
        if isinstance(own, str) and own.strip():
            return [own.strip()]
        if isinstance(own, list) and all(isinstance(x, str) for x in own) and own:
            return list(own)
    why = r.get("why")
    if isinstance(why, str):
        return [why]
    if not isinstance(why, dict):
        return []
    out: list[str] = []
    graph = why.get("graph") or {}
    if graph.get("concept"):
        rel = RELATION_WORDS.get(graph.get("relation", ""), "treatment")
        out.append(f"{rel}: {label(g, graph['concept'])}")
    shared = sorted(
        ((votes.get(sec, 0), sec) for sec in cited_sections(g, r)), key=lambda t: (-t[0], t[1])
    )
    common = [sec for n, sec in shared if n > 1]
    if common:
        n, top = votes[common[0]], common[0]
        name = section_label(g, top) if top in g else top
        out.append(f"cites {name}, like {n} of the {n_best} best matches")
        if len(common) > 1:
            more = len(common) - 1
            out.append(f"{more} more section{'s' if more > 1 else ''} the best matches cite")
    elif shared and graph.get("shared_sections"):
        top = shared[0][1]
        name = section_label(g, top) if top in g else top
        out.append(f"cites {name}, a section this treatment's precedents cite")
    if graph.get("region"):
        out.append("same body region: " + ", ".join(label(g, x) for x in graph["region"]))
    if "dense" in why:
        out.append("request or rationale similar in meaning")
    if "lexical" in why:
        out.append("shares words with the request")
    if not out and "section_rerank" in why:
        out.append("cites the sections the best matches cite")
    return out


def citation_line(r: dict[str, Any], g: nx.MultiDiGraph) -> str:
    """`IMR CM16-0240518 (decided 2017-01-05), item 1, Upheld, MTUS Low Back Complaints, ...`"""
    for key in ("citation", "citation_line"):
        if isinstance(r.get(key), str) and r[key].strip():
            return str(r[key]).strip()
    letter = r.get("letter", "")
    node = G.letter_node(letter)
    case = g.nodes[node].get("case_number") if node in g else None
    head = f"IMR {case or letter}"
    if r.get("decision_date"):
        head += f" (decided {r['decision_date']})"
    parts = [head, f"item {item_number(r.get('item', 0))}", str(r.get("decision", "")).capitalize()]
    parts.extend(_cited(g, G.item_node(letter, int(r.get("item", 0))), r.get("sections") or ()))
    return ", ".join(p for p in parts if p)


def _cited(g: nx.MultiDiGraph, item: str, fallback: Any) -> list[str]:
    """The item's MAXIMUS sections as 'Document, Section', grouped by document."""
    if item not in g:
        return list(fallback)
    by_doc: dict[str, list[str]] = {}
    for s in sorted(set(G.out_nodes(g, item, G.CITES_SECTION, by="maximus"))):
        doc = g.nodes[s].get("document")
        by_doc.setdefault(label(g, doc) if doc else "", []).append(label(g, s))
    if not by_doc:
        return list(fallback)
    return [", ".join([d, *secs]) if d else ", ".join(secs) for d, secs in sorted(by_doc.items())]


def query_terms(text: str) -> list[str]:
    """The words of a query worth marking in a passage: no doses, numbers or stop words."""
    words = re.findall(r"[A-Za-z][A-Za-z\-]{2,}", text)
    seen: dict[str, None] = {}
    for w in words:
        lw = w.casefold()
        if lw not in _STOP:
            seen.setdefault(lw, None)
    return sorted(seen, key=len, reverse=True)


def mark_terms(text: str, terms: list[str]) -> Markup:
    """`text` escaped, each word that starts with a query term wrapped in <mark>."""
    if not terms:
        return Markup(escape(text))
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")", re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[last : m.start()]))
        out.append(Markup("<mark>") + escape(m.group(0)) + Markup("</mark>"))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
