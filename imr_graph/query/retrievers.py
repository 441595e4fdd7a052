"""The three candidate sources of a precedent query: the graph, dense vectors, BM25.

Each returns {item position: score}; the graph's also says how it reached each item. The graph
retriever ranks items by shared treatment concept (same concept > broader/narrower > sibling) and
by guideline sections reached through the concept's items, each section weighted by its inverse
item frequency so that catch-all sections ("Special Studies") count for little.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from embeddings import single_query_threads
from embeddings.csr import top_k
from imr_graph.index.arrays import GraphArrays
from imr_graph.index.indexes import Indexes, item_of_window
from imr_graph.query.answer import GraphPath
from imr_graph.query.sections import concept_section_weights


def graph_candidates(
    a: GraphArrays,
    concepts: tuple[str, ...],
    regions: tuple[str, ...],
    pool: int | None,
    sections: int = 10,
    section_boost: float = 2.0,
) -> dict[int, tuple[float, GraphPath]]:
    """Items reached from the request's concepts, scored, with the path that reached them.

    Same concept 3, broader or narrower 2, sibling 1.5 (x0.8 for secondary concepts, the
    best relation counts); plus, additively, `section_boost` x the share of each of the
    concept's top `sections` (inverse-frequency weighted) that the item cites; +0.5 for a
    shared body region. Scored over arrays; only the best `pool` items are explained.
    """
    score = np.zeros(a.n)
    reached: dict[str, tuple[float, str]] = {}  # concept -> (score, relation)
    own: list[str] = []
    for rank, c in enumerate(concepts):
        if c not in a.concept_pos:
            continue
        primary = 1.0 if rank == 0 else 0.8
        steps = [(c, 3.0, "same")]
        for parent in a.parents(c):
            steps.append((parent, 2.0, "broader"))
            steps.extend((sib, 1.5, "sibling") for sib in a.children.get(parent, []) if sib != c)
        steps.extend((child, 2.0, "narrower") for child in a.children.get(c, []))
        for target, value, relation_of in steps:
            items = a.items_of(target)
            if len(items):  # a concept's items are unique: no np.maximum.at needed
                score[items] = np.maximum(score[items], value * primary)
            if value * primary > reached.get(target, (0.0, ""))[0]:
                reached[target] = (value * primary, relation_of)
        own.append(c)
    shares: dict[int, float] = {}
    if own:
        w = concept_section_weights(a, own)
        total = w.sum() or 1.0
        for sp in np.argsort(-w, kind="stable")[:sections]:
            if w[sp] <= 0:
                break
            shares[int(sp)] = float(w[sp] / total)
            score[a.section_items(int(sp))] += section_boost * shares[int(sp)]
    rset = set(regions)
    if rset:
        near = np.concatenate([a.region_items(r) for r in sorted(rset)])
        # an item in two of the regions appears twice: `+=` on a fancy index adds once
        score[near[score[near] > 0]] += 0.5
    best = top_k(score, pool)
    out: dict[int, tuple[float, GraphPath]] = {}
    region_pos = {a.region_pos[r] for r in rset if r in a.region_pos}
    rows = zip(
        best.tolist(),
        score[best].tolist(),
        a.rows("req", best),
        a.rows("msec", best),
        a.rows("reg", best),
        strict=True,
    )
    for i, s, cons, secs, regs in rows:
        concept: str | None = None
        relation: str | None = None
        mine = [(reached[a.concepts[c]], a.concepts[c]) for c in cons if a.concepts[c] in reached]
        if mine:
            (_, relation), concept = max(mine, key=lambda t: (t[0][0], t[1]))
        shared = [sp for sp in secs if sp in shares]
        out[i] = (
            s,
            GraphPath(
                concept=concept,
                relation=relation,
                shared_sections=tuple(a.sections[sp] for sp in shared),
                section_share=round(sum(shares[sp] for sp in shared), 3) if shared else None,
                region=tuple(sorted(rset)) if region_pos.intersection(regs) else (),
            ),
        )
    return out


def dense_candidates(
    idx: Indexes,
    a: GraphArrays,
    encode: Callable[[str], np.ndarray],
    request: str,
    summary: str | None,
    n: int,
    summary_weight: float = 0.25,
) -> dict[int, float]:
    """Items whose request, or a window of whose rationale, is nearest the query vector.

    The request vector asks the request index; request + `summary_weight` x summary asks the
    rationale windows (the summary tilts the query, it never replaces the request).
    """
    rq = encode(request)
    q = rq
    if summary:
        q = rq + summary_weight * encode(summary)
        q = q / (np.linalg.norm(q) or 1.0)
    out: dict[int, float] = {}
    with single_query_threads():
        s1, i1 = idx.requests.search(rq[None, :].astype(np.float32), n)
        s2, v2 = idx.rationales.search(q[None, :].astype(np.float32), n)
    p1 = a.positions(np.where(i1[0] >= 0, i1[0], -1))
    p2 = a.positions(np.where(v2[0] >= 0, item_of_window(v2[0]), -1))
    for s, p in zip(s1[0], p1, strict=True):
        if p >= 0:
            out[int(p)] = max(out.get(int(p), -1.0), float(s))
    for s, p in zip(s2[0], p2, strict=True):
        if p >= 0:
            # a rationale match counts a little less than a request match
            out[int(p)] = max(out.get(int(p), -1.0), 0.9 * float(s))
    return out


def lexical_candidates(idx: Indexes, a: GraphArrays, request: str, n: int) -> dict[int, float]:
    """BM25 over requests and rationales (the caller strips dosing from the request)."""
    hits = idx.lexical.search(request, n)
    pos = a.positions(np.array([i for i, _ in hits], np.int64))
    return {int(p): float(s) for p, (_, s) in zip(pos, hits, strict=True) if p >= 0}
