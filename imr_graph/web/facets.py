"""Facet counts beside a result list, and the filter values the store knows (unknown = 4xx)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import networkx as nx

from imr_graph.web.params import BadInput, PrecedentParams
from imr_graph.web.words import label, section_label
from kg import graph as G

FILTER_KINDS = {
    "document": (G.DOCUMENT, "guideline document"),
    "section": (G.SECTION, "guideline section"),
    "region": (G.REGION, "body region"),
    "category": (G.CATEGORY, "treatment category"),
    "specialty": (G.SPECIALTY, "reviewer specialty"),
}


@dataclass(frozen=True)
class FacetValue:
    """One clickable value: the label shown, its count, and the address that narrows to it."""

    label: str
    count: int
    href: str
    active: bool

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "count": self.count, "href": self.href, "active": self.active}


def known_values(g: nx.MultiDiGraph) -> dict[str, list[tuple[str, str]]]:
    """(id, label) of every node a substring filter can match, by filter name (read once)."""
    out: dict[str, list[tuple[str, str]]] = {name: [] for name in FILTER_KINDS}
    by_kind = {kind: name for name, (kind, _) in FILTER_KINDS.items()}
    for n, d in g.nodes(data=True):
        name = by_kind.get(d.get("kind", ""))
        if name:
            out[name].append((n, str(d.get("label", n))))
    return out


def check_filter_values(known: dict[str, list[tuple[str, str]]], p: PrecedentParams) -> None:
    """Refuse a substring filter that matches nothing in the store, naming a few known values."""
    for name, (_, words) in FILTER_KINDS.items():
        needle = getattr(p, name).casefold()
        if not needle:
            continue
        known_here = known[name]
        if any(needle in n.casefold() or needle in lab.casefold() for n, lab in known_here):
            continue
        examples = ", ".join(sorted({lab for _, lab in known_here})[:5])
        raise BadInput(
            f"{name}={getattr(p, name)!r} matches no {words} in this store: "
            f"use part of a name such as {examples or '(none stored)'}."
        )


def facets(
    g: nx.MultiDiGraph, results: list[dict[str, Any]], p: PrecedentParams
) -> dict[str, list[FacetValue]]:
    """Counts over `results` for decision, document, section, region, specialty and year."""
    counts: dict[str, Counter[str]] = {
        k: Counter() for k in ("decision", "document", "section", "region", "specialty", "year")
    }
    for r in results:
        item = G.item_node(r["letter"], int(r["item"]))
        counts["decision"][r["decision"]] += 1
        secs = set(G.out_nodes(g, item, G.CITES_SECTION, by="maximus")) if item in g else set()
        counts["section"].update(secs)
        counts["document"].update({g.nodes[s].get("document") for s in secs} - {None})
        if item in g:
            counts["region"].update(set(G.out_nodes(g, item, G.CONCERNS_REGION)))
        if r.get("decision_date"):
            counts["year"][str(r["decision_date"])[:4]] += 1
        ln = G.letter_node(r["letter"])
        if ln in g:
            counts["specialty"].update(set(G.out_nodes(g, ln, G.REVIEWED_BY)))
    out: dict[str, list[FacetValue]] = {}
    for name, c in counts.items():
        values = []
        for value, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:12]:
            if name == "year":
                change = {"date_from": f"{value}-01-01", "date_to": f"{value}-12-31"}
                active = p.date_from == change["date_from"] and p.date_to == change["date_to"]
                shown = value
            else:
                change = {name: value}
                active = getattr(p, name) == value
                shown = value.capitalize() if name == "decision" else label(g, value)
                if name == "section":
                    shown = section_label(g, value)
            values.append(FacetValue(shown, n, "/precedents?" + p.query_string(**change), active))
        out[name] = values
    return out
