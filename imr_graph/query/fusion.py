"""Fusing the retrievers' rankings: weighted reciprocal rank fusion, then section re-ranking.

RRF (k=60): each retriever ranks candidates and an item scores sum(w / (60 + rank)), tied scores
sharing a rank. The re-ranking is one step of personalized PageRank over the item-section graph,
seeded by the best fused items; below the same-treatment precedents the section support weighs
more (`related_share`), since what a related treatment adds is the guideline it was decided under.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from embeddings.csr import top_k
from imr_graph.index.arrays import GraphArrays
from imr_graph.query.sections import support

RRF_K = 60

Ranked = list[tuple[int, float]]  # (item position, score), best first


def by_score(t: tuple[int, float]) -> tuple[float, int]:
    """Best score first; ties by position, i.e. by (letter key, item position)."""
    return (-t[1], t[0])


def rrf(
    lists: dict[str, Ranked], weights: dict[str, float], mask: np.ndarray | None
) -> tuple[dict[int, float], dict[int, dict[str, tuple[int, float]]]]:
    """Fused scores, and each item's (rank, score) in every list that holds it.

    Items outside `mask` are skipped before ranking, so filters do not leave gaps in the ranks.
    """
    fused: dict[int, float] = defaultdict(float)
    ranks: dict[int, dict[str, tuple[int, float]]] = defaultdict(dict)
    for name, ranked in lists.items():
        rank = seen = 0
        last: float | None = None
        for item, s in ranked:
            if mask is not None and not mask[item]:
                continue
            seen += 1
            if s != last:  # tied scores share a rank: other retrievers break the tie
                rank, last = seen, s
            fused[item] += weights[name] / (RRF_K + rank)
            ranks[item][name] = (rank, s)
    return dict(fused), ranks


def section_rerank(
    a: GraphArrays,
    fused: dict[int, float],
    mask: np.ndarray | None,
    share: float,
    seeds: int,
    pool: int,
    seed_order: Callable[[tuple[int, float]], Any] = by_score,
    same: Collection[int] = (),
    related_share: float | None = None,
) -> tuple[dict[int, float], dict[int, float]]:
    """One step of personalized PageRank on the item-section graph, seeded by the hits.

    The seed mass of the best `seeds` items flows to the sections they cite (MAXIMUS), scaled
    by each section's inverse item frequency, and back to every item citing those sections.
    Final score: (1 - share) * seed + share * section support, both in [0, 1]; when `same`
    (the same-treatment items, ranked first by the caller) is not empty, every other item
    mixes with `related_share` instead. Returns the scores and each supported item's
    support. `seed_order` picks the seeds (default: score).
    """
    top = sorted(fused.items(), key=seed_order)[:seeds]
    total = sum(v for _, v in top) or 1.0
    mass = np.zeros(len(a.sections))
    for item, v in top:
        secs = a.item_sections(item)
        if len(secs):
            mass[secs] += (v / total) * a.idf[secs] / len(secs)
    sup_all = support(a, mass)
    reach = {int(i) for i in top_k(sup_all, pool)}
    top_seed = max(fused.values()) or 1.0
    top_support = float(sup_all.max()) if reach else 1.0
    out: dict[int, float] = {}
    sup_of: dict[int, float] = {}
    first = set(same)
    rest = share if related_share is None or not first else related_share
    for item in set(fused) | reach:
        if item not in fused and mask is not None and not mask[item]:
            continue
        sup = float(sup_all[item]) / top_support
        mix = share if item in first else rest
        out[item] = (1 - mix) * fused.get(item, 0.0) / top_seed + mix * sup
        if sup:
            sup_of[item] = round(sup, 4)
    return out, sup_of
