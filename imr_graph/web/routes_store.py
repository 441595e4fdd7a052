"""`/search` (rationale passages) and `/stats` (the store at a glance)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from imr_graph.query.search import MODES, search_passages
from imr_graph.web.answer_view import letter_href, section_href
from imr_graph.web.charts import Bar, stacked_bars
from imr_graph.web.params import QUERY_MAX, BadInput, k_param, text_param
from imr_graph.web.respond import as_csv, as_json, page, path_format, served
from imr_graph.web.served import Served
from imr_graph.web.words import item_number, mark_terms, query_terms, section_label
from kg import graph as G

STATS_ROWS = 15


def search(request: Request) -> Response:
    fmt = path_format(request)
    q = request.query_params
    text = text_param(q, "q", QUERY_MAX, "search text")
    mode = (q.get("mode") or "fused").strip().lower()
    if mode not in MODES:
        raise BadInput(f"mode={mode!r} is unknown: use fused, dense or lexical.")
    k = k_param(q)
    s = served(request)
    hits = []
    if text:
        with s.reading() as store:
            hits = search_passages(store, text, k=k, mode=mode, indexes=s.engine.idx)
    elif fmt:
        raise BadInput("The search text is empty: give q=, e.g. a sentence from a rationale.")
    if fmt == ".json":
        return as_json(
            request,
            {
                "q": text,
                "mode": mode,
                "k": k,
                "hits": [h.to_json() for h in hits],
                "computed_on": s.provenance.to_json(),
            },
        )
    if fmt == ".csv":
        base = str(request.base_url).rstrip("/")
        rows = [
            [
                h.letter,
                item_number(h.item),
                h.request,
                h.decision,
                round(h.score, 6),
                h.passage,
                base + letter_href(h.letter, h.item),
            ]
            for h in hits
        ]
        header = ["letter", "item", "request", "decision", "score", "passage", "permalink"]
        return as_csv(request, "passages", header, rows)
    terms = query_terms(text)
    shown = [
        {
            "h": h,
            "href": letter_href(h.letter, h.item),
            "case": _case(s, h.letter),
            "no": item_number(h.item),
            "passage": mark_terms(
                h.passage if len(h.passage) <= 700 else h.passage[:697] + "…", terms
            ),
        }
        for h in hits
    ]
    return page(
        request,
        "search.html",
        title=f"Passages like {text}" if text else "Search the rationales",
        q=text,
        mode=mode,
        k=k,
        hits=shown,
        modes=MODES,
    )


def stats(request: Request) -> Response:
    fmt = path_format(request)
    s = served(request)
    cached = s.stats()
    st, rates = cached["store"], cached["rates"]
    if fmt == ".json":
        return as_json(
            request,
            {
                **{k: v for k, v in st.items() if k != "unmapped_requests"},
                "items_unmapped": st["items_unmapped"],
                "rates": {
                    by: [
                        {
                            "id": r.key,
                            "label": r.label,
                            "items": r.items,
                            "upheld": r.upheld,
                            "overturned": r.overturned,
                        }
                        for r in rs
                    ]
                    for by, rs in rates.items()
                },
                "computed_on": s.provenance.to_json(),
            },
        )
    charts = {}
    for by, rs in rates.items():
        bars = [Bar(_label(s, by, r.key, r.label), r.upheld, r.overturned) for r in rs[:STATS_ROWS]]
        charts[by] = {
            "svg": stacked_bars(bars, f"Outcomes by {by}: the {len(bars)} most frequent"),
            "rows": [(r, _label(s, by, r.key, r.label), _link(by, r.key)) for r in rs[:STATS_ROWS]],
            "more": max(0, len(rs) - STATS_ROWS),
        }
    return page(request, "stats.html", title="The store at a glance", st=st, charts=charts)


def _link(by: str, key: str) -> str:
    """Where a row of the stats tables leads: a section to its cited-by page."""
    return section_href(key) if by == "section" else ""


def _label(s: Served, by: str, key: str, fallback: str) -> str:
    return section_label(s.graph, key) if by == "section" and key in s.graph else fallback


def _case(s: Served, letter: str) -> str:
    node = G.letter_node(letter)
    return str((s.graph.nodes[node].get("case_number") if node in s.graph else None) or letter)
