"""Leave-one-letter-out evaluation of precedent retrieval.

Each item of a held-out letter is asked as request + that letter's case summary against the other
letters. A precedent is relevant when its MAXIMUS citation names the same guideline section as
the held-out item's (same normalized document, and the same section or the same page).

Treatment-aware figures judge the same queries by treatment (query/treatment.py: the same
concept or a narrower one, in the same form and region): same@1 whether the first result is the
same treatment; same@10 the share of the top 10 that is, of what the other letters hold (at most
10); graded nDCG@10 gains 1 for the same section and 1 more for the same treatment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from imr_graph.query.filters import Filters
from imr_graph.query.precedent import PrecedentEngine
from imr_graph.query.treatment import SAME, match, read_request
from kg import graph as G

MODES: dict[str, tuple[str, ...]] = {
    "lexical": ("lexical",),
    "dense": ("dense",),
    "graph": ("graph",),
    "rrf": ("graph", "dense", "lexical"),  # fusion only, no section re-ranking
    "sections": ("graph", "dense", "lexical"),  # fusion + section re-ranking, no grouping
    "hybrid": ("graph", "dense", "lexical"),  # the same treatment first, then as `sections`
}
RERANKED = frozenset({"sections", "hybrid"})
TREATMENT_FIRST = frozenset({"hybrid"})


@dataclass(frozen=True)
class Scores:
    mode: str
    queries: int
    ndcg10: float
    recall10: float
    mrr: float
    section_hit1: float
    same1: float = 0.0  # first result the same treatment
    same10: float = 0.0  # share of the top 10 that is the same treatment (of what exists)
    graded_ndcg10: float = 0.0  # gain: same section 1 + same treatment 1
    treatment_queries: int = 0  # queries with a same-treatment item in another letter

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "queries": self.queries,
            "ndcg@10": round(self.ndcg10, 4),
            "recall@10": round(self.recall10, 4),
            "mrr": round(self.mrr, 4),
            "section_hit@1": round(self.section_hit1, 4),
            "same@1": round(self.same1, 4),
            "same@10": round(self.same10, 4),
            "graded_ndcg@10": round(self.graded_ndcg10, 4),
            "treatment_queries": self.treatment_queries,
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
    ids = np.array([g.nodes[j]["int_id"] for j in items], np.int64)
    pos_of = dict(zip(items, engine.arrays.positions(ids).tolist(), strict=True))
    same_of = {i: _same_treatment(engine, g, i, pos_of) for i, _, _ in queries}
    out = []
    for mode in modes:
        nd = rc = mrr = hit = s1 = s10 = gnd = 0.0
        for i, letter, relevant in queries:
            summary = letters[letter].summary if use_summary else None
            ans = engine.query(
                g.nodes[i]["request"],
                summary,
                k=k,
                filters=Filters(exclude_letters=frozenset({letter})),
                retrievers=MODES[mode],
                rerank=mode in RERANKED,
                by_treatment=mode in TREATMENT_FIRST,
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
            same = {j for j in same_of[i] if g.nodes[j]["letter"] != letter}
            if same:
                hits = [1.0 if x in same else 0.0 for x in got]
                s1 += hits[0] if hits else 0.0
                s10 += sum(hits) / min(k, len(same))
            graded = [gn + (1.0 if x in same else 0.0) for x, gn in zip(got, gains, strict=True)]
            best = sorted(
                (
                    (1.0 if j in relevant else 0.0) + (1.0 if j in same else 0.0)
                    for j in relevant | same
                ),
                reverse=True,
            )[:k]
            gideal = sum(gn / math.log2(r + 2) for r, gn in enumerate(best))
            gdcg = sum(gn / math.log2(r + 2) for r, gn in enumerate(graded))
            gnd += gdcg / gideal if gideal else 0.0
        n = len(queries) or 1
        nt = sum(1 for i, letter, _ in queries if _has_other(g, same_of[i], letter)) or 1
        out.append(
            Scores(
                mode,
                len(queries),
                nd / n,
                rc / n,
                mrr / n,
                hit / n,
                s1 / nt,
                s10 / nt,
                gnd / n,
                nt,
            )
        )
    return out


def _has_other(g: nx.MultiDiGraph, same: set[str], letter: str) -> bool:
    return any(g.nodes[j]["letter"] != letter for j in same)


def _same_treatment(
    engine: PrecedentEngine, g: nx.MultiDiGraph, item: str, pos_of: dict[str, int]
) -> set[str]:
    """Items (any letter) that are the same treatment as `item`, by the query's own judgement."""
    a = engine.arrays
    d = g.nodes[item]
    q = read_request(a, d["request"])
    if not q.concepts:
        return set()
    out = set()
    for j, pos in pos_of.items():
        if j != item and pos >= 0 and match(a, q, pos, g.nodes[j]["request"]).tier == SAME:
            out.add(j)
    return out
