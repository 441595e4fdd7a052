"""Leave-one-letter-out evaluation of precedent retrieval.

Each item of a held-out letter is asked as request + that letter's case summary against the other
letters. A precedent is relevant when its MAXIMUS citation names the same guideline section as
the held-out item's (same normalized document, and the same section or the same page).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from imr_graph.query.filters import Filters
from imr_graph.query.precedent import PrecedentEngine
from kg import graph as G

MODES: dict[str, tuple[str, ...]] = {
    "lexical": ("lexical",),
    "dense": ("dense",),
    "graph": ("graph",),
    "rrf": ("graph", "dense", "lexical"),  # fusion only, no section re-ranking
    "hybrid": ("graph", "dense", "lexical"),
}
RERANKED = frozenset({"hybrid"})


@dataclass(frozen=True)
class Scores:
    mode: str
    queries: int
    ndcg10: float
    recall10: float
    mrr: float
    section_hit1: float

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "queries": self.queries,
            "ndcg@10": round(self.ndcg10, 4),
            "recall@10": round(self.recall10, 4),
            "mrr": round(self.mrr, 4),
            "section_hit@1": round(self.section_hit1, 4),
        }


def citation_keys(engine: PrecedentEngine, item: str) -> set[str]:
    """What 'names the same guideline section' compares: section ids and document+page ids."""
    g = engine.store.graph
    keys = set(G.out_nodes(g, item, G.CITES_SECTION, "maximus"))
    for p in G.out_nodes(g, item, G.CITES_PAGE, "maximus"):
        ed = G.out_nodes(g, p, G.PAGE_OF)
        docs = [d for e in ed for d in G.out_nodes(g, e, G.EDITION_OF)]
        for d in docs:
            keys.add(f"{d}#p{g.nodes[p]['page']}")
    return keys


def evaluate(
    engine: PrecedentEngine,
    modes: tuple[str, ...] = tuple(MODES),
    k: int = 10,
    use_summary: bool = True,
    limit: int | None = None,
) -> list[Scores]:
    g = engine.store.graph
    items = sorted(n for n, d in g.nodes(data=True) if d.get("kind") == G.ITEM)
    keys = {i: citation_keys(engine, i) for i in items}
    by_key: dict[str, set[str]] = {}
    for i, ks in keys.items():
        for kk in ks:
            by_key.setdefault(kk, set()).add(i)
    letters = engine.store.letters()
    queries = []
    for i in items:
        if not keys[i]:
            continue
        letter = g.nodes[i]["letter"]
        relevant = {j for kk in keys[i] for j in by_key[kk] if g.nodes[j]["letter"] != letter}
        if not relevant:
            continue
        queries.append((i, letter, relevant))
    if limit:
        queries = queries[:limit]
    out = []
    for mode in modes:
        nd = rc = mrr = hit = 0.0
        for i, letter, relevant in queries:
            summary = letters[letter].summary if use_summary else None
            ans = engine.query(
                g.nodes[i]["request"],
                summary,
                k=k,
                filters=Filters(exclude_letters=frozenset({letter})),
                retrievers=MODES[mode],
                rerank=mode in RERANKED,
            )
            got = [G.item_node(r.letter, r.item) for r in ans.results]
            gains = [1.0 if x in relevant else 0.0 for x in got]
            dcg = sum(gn / math.log2(r + 2) for r, gn in enumerate(gains))
            ideal = sum(1 / math.log2(r + 2) for r in range(min(k, len(relevant))))
            nd += dcg / ideal if ideal else 0.0
            rc += sum(gains) / min(k, len(relevant))
            first = next((r for r, gn in enumerate(gains) if gn), None)
            mrr += 1 / (first + 1) if first is not None else 0.0
            gov = ans.summary.governing_sections
            hit += 1.0 if gov and gov[0].id in keys[i] else 0.0
        n = len(queries) or 1
        out.append(Scores(mode, len(queries), nd / n, rc / n, mrr / n, hit / n))
    return out
