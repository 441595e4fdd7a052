"""`/letters/<id>`, `/sections/<id>` and `/graph/<node>`: what a result links to."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from imr_graph.web.answer_view import letter_href, section_href
from imr_graph.web.charts import stacked_bars
from imr_graph.web.cited_by import CITERS, by_year, citing_items, co_cited, is_citable
from imr_graph.web.neighbourhood import graph_href, neighbourhood, svg, to_json
from imr_graph.web.params import DECISIONS, REQUEST_MAX, BadInput, date_param
from imr_graph.web.respond import as_csv, as_json, page, served, split_format
from imr_graph.web.words import item_number, label, section_label
from kg import graph as G
from kg.model import letter_to_json


def letter(request: Request) -> Response:
    ident, fmt = split_format(request.path_params["ident"], ("", ".json"))
    s = served(request)
    with s.reading() as store:
        found = store.find_letter(ident)
    if found is None:
        raise BadInput(
            f"No letter {ident!r} in this store: check the case number, or search for it.", 404
        )
    if fmt == ".json":
        return as_json(request, letter_to_json(found))
    g = s.graph
    items = []
    for it in found.items:
        node = G.item_node(found.key, it.position)
        secs = sorted(set(G.out_nodes(g, node, G.CITES_SECTION))) if node in g else []
        more = {"request": it.request[:REQUEST_MAX], "exclude": found.key}
        items.append(
            {
                "it": it,
                "no": item_number(it.position),
                "sections": [(section_label(g, x), section_href(x)) for x in secs],
                "more_href": "/precedents?" + urlencode(more),
                "graph_href": graph_href(node),
            }
        )
    return page(
        request,
        "letter.html",
        title=f"IMR {found.case_number or found.key}",
        letter=found,
        items=items,
        graph_href=graph_href(G.letter_node(found.key)),
    )


def section(request: Request) -> Response:
    sid, fmt = split_format(request.path_params["sid"])
    s = served(request)
    g = s.graph
    if not is_citable(g, sid):
        raise BadInput(
            f"No guideline section or page {sid!r} in this store: follow a section link "
            "from a result or a letter.",
            404,
        )
    q = request.query_params
    decision = (q.get("decision") or "").strip().lower()
    if decision and decision not in DECISIONS:
        raise BadInput(f"decision={decision!r} is unknown: use upheld or overturned.")
    by = (q.get("by") or "").strip()
    if by and by not in CITERS:
        raise BadInput(f"by={by!r} is unknown: use maximus or claims_administrator.")
    date_from, date_to = date_param(q, "from"), date_param(q, "to")
    items = citing_items(g, sid, decision, by, date_from, date_to)
    d = g.nodes[sid]
    doc = d.get("document")
    head = {
        "id": sid,
        "label": str(d.get("label", sid)),
        "kind": d.get("kind"),
        "document": label(g, doc) if doc else None,
    }
    if fmt == ".json":
        return as_json(
            request,
            {
                "section": head,
                "filters": {"decision": decision, "by": by, "from": date_from, "to": date_to},
                "cited_by": [c.to_json() for c in items],
                "co_cited": [
                    {"id": i, "label": lab, "items": n} for i, lab, n in co_cited(g, sid, items)
                ],
                "computed_on": s.provenance.to_json(),
            },
        )
    if fmt == ".csv":
        rows = [
            [
                c.case,
                c.date,
                item_number(c.position),
                c.request,
                c.decision,
                "; ".join(c.by),
                str(request.base_url).rstrip("/") + letter_href(c.letter, c.position),
            ]
            for c in items
        ]
        header = [
            "case_number",
            "decision_date",
            "item",
            "request",
            "decision",
            "cited_by",
            "permalink",
        ]
        return as_csv(request, "cited-by", header, rows)
    return page(
        request,
        "section.html",
        title=f"Cited by: {head['label']}",
        head=head,
        items=items,
        chart=stacked_bars(by_year(items), f"Upheld and overturned by year: {head['label']}"),
        co=[(section_label(g, i), section_href(i), n) for i, _, n in co_cited(g, sid, items)],
        f={"decision": decision, "by": by, "from": date_from, "to": date_to},
        graph_href=graph_href(sid),
        letter_href=letter_href,
    )


def graph(request: Request) -> Response:
    node, fmt = split_format(request.path_params["node"], ("", ".json"))
    s = served(request)
    g = s.graph
    if node not in g:
        raise BadInput(
            f"No node {node!r} in the knowledge graph: follow a graph link from a letter or "
            "a section page.",
            404,
        )
    nodes, edges = neighbourhood(g, node)
    if fmt == ".json":
        return as_json(
            request,
            {"center": node, **to_json(nodes, edges), "computed_on": s.provenance.to_json()},
        )
    title = f"Around {label(g, node)}"
    kind = g.nodes[node].get("kind")
    page_href = ""
    if kind == G.LETTER:
        page_href = letter_href(node.removeprefix("letter:"))
    elif kind in (G.SECTION, G.PAGE):
        page_href = section_href(node)
    elif kind == G.ITEM:
        page_href = letter_href(str(g.nodes[node]["letter"]), int(g.nodes[node]["position"]))
    return page(
        request,
        "graph.html",
        title=title,
        center=node,
        nodes=nodes,
        edges=edges,
        drawing=svg(nodes, edges, title),
        labels={n.id: n.label for n in nodes},
        page_href=page_href,
    )
