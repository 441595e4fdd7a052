"""A small neighbourhood of the knowledge graph, laid out in rings and drawn as linked SVG."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import networkx as nx
from markupsafe import Markup, escape

from kg import graph as G

MAX_NODES = 50
CX, CY, W, H = 500, 340, 1000, 680  # the drawing's centre and size
_SKIP = frozenset({G.RATIONALE})  # a rationale is read on the letter page, not drawn


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str
    ring: int
    x: float
    y: float

    @property
    def href(self) -> str:
        return graph_href(self.id)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    rel: str


def graph_href(node: str) -> str:
    return "/graph/" + quote(node, safe=":")


def neighbourhood(g: nx.MultiDiGraph, center: str, limit: int = MAX_NODES) -> tuple:
    """Nodes within two steps of `center`, nearest first, at most `limit`; and their edges."""
    rings: list[list[str]] = [[center]]
    seen = {center}
    while len(seen) < limit and len(rings) < 3:
        nxt: list[str] = []
        for n in rings[-1]:
            around = set(g.successors(n)) | set(g.predecessors(n))
            for m in sorted(around, key=lambda v: (str(g.nodes[v].get("kind")), v)):
                if m in seen or g.nodes[m].get("kind") in _SKIP:
                    continue
                if len(seen) >= limit:
                    break
                seen.add(m)
                nxt.append(m)
        if not nxt:
            break
        rings.append(nxt)
    nodes = []
    for r, ring in enumerate(rings):
        radius = (0, 190, 310)[r]
        for i, n in enumerate(ring):
            a = 2 * math.pi * i / max(1, len(ring)) + (0.3 if r == 2 else 0)
            d = g.nodes[n]
            nodes.append(
                Node(
                    n,
                    str(d.get("label", n)),
                    str(d.get("kind", "")),
                    r,
                    CX + radius * math.cos(a),
                    CY + radius * math.sin(a),
                )
            )
    edges = sorted(
        {Edge(u, v, str(d.get("rel", ""))) for u, v, d in g.subgraph(seen).edges(data=True)},
        key=lambda e: (e.source, e.target, e.rel),
    )
    return nodes, edges


def svg(nodes: list[Node], edges: list[Edge], title: str) -> Markup:
    """Each node a link with a title; edges drawn first, so that nodes stay clickable."""
    pos = {n.id: n for n in nodes}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="group" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" class="graph" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for e in edges:
        a, b = pos[e.source], pos[e.target]
        out.append(
            f'<line x1="{a.x:.1f}" y1="{a.y:.1f}" x2="{b.x:.1f}" y2="{b.y:.1f}" '
            'stroke="#999" stroke-width="1"/>'
        )
    for n in nodes:
        short = n.label if len(n.label) <= 24 else n.label[:22] + "…"
        r = 9 if n.ring == 0 else 6
        left = n.x < CX - 1  # labels point away from the centre, so none runs off the edge
        dx, anchor = (-9, "end") if left else (9, "start")
        out.append(
            f'<a href="{escape(n.href)}"><title>{escape(n.label)} ({escape(n.kind)})</title>'
            f'<circle cx="{n.x:.1f}" cy="{n.y:.1f}" r="{r}" class="k-{escape(n.kind)}"/>'
            f'<text x="{n.x + dx:.1f}" y="{n.y + 4:.1f}" text-anchor="{anchor}">'
            f"{escape(short)}</text></a>"
        )
    out.append("</svg>")
    return Markup("".join(out))


def to_json(nodes: list[Node], edges: list[Edge]) -> dict[str, Any]:
    return {
        "nodes": [{"id": n.id, "label": n.label, "kind": n.kind, "ring": n.ring} for n in nodes],
        "edges": [{"source": e.source, "target": e.target, "rel": e.rel} for e in edges],
    }
