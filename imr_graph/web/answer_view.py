"""A precedent answer (the `precedents --json` dict) made ready for the page and the CSV."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import networkx as nx
from markupsafe import Markup

from imr_graph.web.words import (
    citation_line,
    item_number,
    label,
    mark_terms,
    query_terms,
    section_label,
    section_votes,
    why_words,
)
from kg import graph as G


@dataclass(frozen=True)
class SectionLink:
    label: str
    href: str


@dataclass(frozen=True)
class ResultView:
    """One result as the page shows it; `raw` is the answer's own dict, untouched."""

    rank: int
    raw: dict[str, Any]
    case: str
    letter_href: str
    item_no: int
    sections: tuple[SectionLink, ...]
    passage: Markup
    why: tuple[str, ...]
    citation: str


def letter_href(letter: str, position: int | None = None) -> str:
    href = "/letters/" + quote(letter, safe="")
    return href + (f"#item-{item_number(position)}" if position is not None else "")


def section_href(section_id: str) -> str:
    return "/sections/" + quote(section_id, safe=":")


def section_links(g: nx.MultiDiGraph, letter: str, position: int, fallback: Any) -> tuple:
    """The item's MAXIMUS sections with links; the answer's labels when the graph lacks it."""
    item = G.item_node(letter, position)
    ids = sorted(set(G.out_nodes(g, item, G.CITES_SECTION, by="maximus"))) if item in g else []
    if ids:
        return tuple(SectionLink(section_label(g, s), section_href(s)) for s in ids)
    return tuple(SectionLink(str(s), "") for s in fallback or ())


def result_views(g: nx.MultiDiGraph, answer: dict[str, Any], request_text: str) -> list[ResultView]:
    results = answer.get("results", [])
    votes, n_best = section_votes(g, results)
    concepts = answer.get("summary", {}).get("treatment_concepts") or []
    terms = query_terms(" ".join([request_text, *(str(c.get("label") or "") for c in concepts)]))
    out = []
    for rank, r in enumerate(results, start=1):
        letter, pos = str(r["letter"]), int(r["item"])
        ln = G.letter_node(letter)
        case = (g.nodes[ln].get("case_number") if ln in g else None) or letter
        out.append(
            ResultView(
                rank=rank,
                raw=r,
                case=case,
                letter_href=letter_href(letter, pos),
                item_no=item_number(pos),
                sections=section_links(g, letter, pos, r.get("sections")),
                passage=mark_terms(str(r.get("snippet", "")), terms),
                why=tuple(why_words(r, g, votes, n_best)),
                citation=citation_line(r, g),
            )
        )
    return out


def group_by_letter(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results grouped by letter, best letter first (what `precedents --by-letter` adds)."""
    groups: dict[str, dict[str, Any]] = {}
    for r in results:
        grp = groups.setdefault(
            r["letter"], {"letter": r["letter"], "score": r["score"], "items": []}
        )
        grp["items"].append(r)
    return list(groups.values())


def csv_rows(views: list[ResultView], base_url: str) -> list[list[Any]]:
    rows = []
    for v in views:
        r = v.raw
        rows.append(
            [
                v.case,
                r.get("decision_date") or "",
                v.item_no,
                r.get("request", ""),
                r.get("decision", ""),
                "; ".join(s.label for s in v.sections),
                r.get("score", ""),
                "; ".join(v.why),
                base_url.rstrip("/") + v.letter_href,
            ]
        )
    return rows


CSV_HEADER = [
    "case_number",
    "decision_date",
    "item",
    "request",
    "decision",
    "sections",
    "score",
    "why",
    "permalink",
]


def summary_view(g: nx.MultiDiGraph, summary: dict[str, Any]) -> dict[str, Any]:
    """The summary block with section links; missing keys become empty, never an error."""
    gov = []
    for s in summary.get("governing_sections") or ():
        doc = s.get("document")
        gov.append(
            {
                "label": s.get("section", s.get("id", "")),
                "document": label(g, doc) if doc else "",
                "href": section_href(s["id"]) if s.get("id") else "",
                "citing": s.get("precedents_citing"),
            }
        )
    return {
        "concepts": [c.get("label") or c.get("id") for c in summary.get("treatment_concepts", [])],
        "precedents": summary.get("precedents") or {},
        "same_treatment": summary.get("same_treatment") or {},
        "governing": gov,
        "extra": {
            k: v
            for k, v in summary.items()
            if k not in ("treatment_concepts", "precedents", "same_treatment", "governing_sections")
        },
    }
