"""A guideline section (or page) and the items that cite it: counts by year, co-cited sections."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import networkx as nx

from imr_graph.web.charts import Bar
from kg import graph as G

CITERS = ("maximus", "claims_administrator")


@dataclass(frozen=True)
class Citing:
    """One item that cites the section, and who cited it (MAXIMUS, the claims administrator)."""

    letter: str
    case: str
    position: int
    request: str
    decision: str
    date: str
    by: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "letter": self.letter,
            "case_number": self.case,
            "item": self.position,
            "request": self.request,
            "decision": self.decision,
            "decision_date": self.date or None,
            "cited_by": list(self.by),
        }


def is_citable(g: nx.MultiDiGraph, node: str) -> bool:
    return node in g and g.nodes[node].get("kind") in (G.SECTION, G.PAGE)


def citing_items(
    g: nx.MultiDiGraph,
    node: str,
    decision: str = "",
    by: str = "",
    date_from: str = "",
    date_to: str = "",
) -> list[Citing]:
    """Items citing `node`, newest first, filtered by decision, citing party and date."""
    rel = G.CITES_SECTION if g.nodes[node].get("kind") == G.SECTION else G.CITES_PAGE
    who: dict[str, set[str]] = defaultdict(set)
    for u, _, d in g.in_edges(node, data=True):
        if d.get("rel") == rel:
            who[u].add(str(d.get("by", "")))
    out = []
    for item, parties in who.items():
        d = g.nodes[item]
        letter = g.nodes.get(G.letter_node(d["letter"]), {})
        date = str(d.get("decision_date") or letter.get("decision_date") or "")
        if decision and d["decision"] != decision:
            continue
        if by and by not in parties:
            continue
        if date_from and (not date or date < date_from):
            continue
        if date_to and (not date or date > date_to):
            continue
        out.append(
            Citing(
                d["letter"],
                str(letter.get("case_number") or d["letter"]),
                int(d["position"]),
                str(d["request"]),
                str(d["decision"]),
                date,
                tuple(sorted(p for p in parties if p)),
            )
        )
    return sorted(out, key=lambda c: (c.date or "0000", c.letter, -c.position), reverse=True)


def by_year(items: list[Citing]) -> list[Bar]:
    c: dict[str, Counter[str]] = defaultdict(Counter)
    for it in items:
        c[it.date[:4] or "undated"][it.decision] += 1
    return [Bar(y, v["upheld"], v["overturned"]) for y, v in sorted(c.items())]


def co_cited(g: nx.MultiDiGraph, node: str, items: list[Citing], top: int = 10) -> list[tuple]:
    """Sections the same items also cite (MAXIMUS), most often first: (id, label, count)."""
    c: Counter[str] = Counter()
    for it in items:
        inode = G.item_node(it.letter, it.position)
        c.update(set(G.out_nodes(g, inode, G.CITES_SECTION, by="maximus")) - {node})
    return [
        (s, str(g.nodes[s].get("label", s)), n)
        for s, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    ]
