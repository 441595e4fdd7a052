"""Find the precedent: graph, dense and lexical candidates fused, explained and summarized.

The retrievers (`retrievers.py`) each rank candidates; weighted reciprocal rank fusion and one
step of section re-ranking (`fusion.py`) order them; the summary counts outcomes and votes for
the governing section (`sections.py`). The clinical summary only tilts the dense rationale query
(weight `summary_weight`), it never replaces the request. The answer is typed (`answer.py`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from embeddings import single_query_threads
from imr_graph.index.arrays import GraphArrays
from imr_graph.index.indexes import Indexes
from imr_graph.query.answer import (
    Answer,
    ConceptRef,
    GraphPath,
    Outcomes,
    Precedent,
    SameTreatment,
    Signal,
    Summary,
    Why,
)
from imr_graph.query.filters import Filters, filter_mask
from imr_graph.query.fusion import by_score, rrf, section_rerank
from imr_graph.query.retrievers import dense_candidates, graph_candidates, lexical_candidates
from imr_graph.query.sections import governing_sections
from imr_graph.store.sqlite import Store

__all__ = ["Answer", "Filters", "PrecedentEngine", "Precedent", "Weights", "filter_mask"]
NO_FILTERS = Filters()


@dataclass(frozen=True)
class Weights:
    """Retriever weights in the fusion and the summary's share of the dense query."""

    graph: float = 1.0
    dense: float = 1.0
    lexical: float = 1.0
    summary_weight: float = 0.25
    pool: int = 200
    sections: int = 10  # how many of the concept's sections the graph walk follows
    section_boost: float = 2.0  # graph score added by a section at full share
    governing_depth: int = 10  # precedents whose sections vote for the governing section
    rerank: float = 0.5  # share of the section re-ranking in the final score (0 = off)
    rerank_seeds: int = 10
    concept_prior: float = 1.0  # weight of the concept's past citations in the governing vote


class PrecedentEngine:
    """Holds the store's query arrays and indexes loaded once; answers queries in milliseconds.

    Items are handled as array positions (see GraphArrays); SQLite gives the request and
    rationale text of the k results only, so nothing proportional to the store sits in Python.
    """

    def __init__(self, store: Store, indexes: Indexes | None = None, weights: Weights = Weights()):
        self.store = store
        self.idx = indexes or Indexes.open(store)
        self.weights = weights
        self._vec_cache: dict[str, np.ndarray] = {}
        self.arrays: GraphArrays = self.idx.arrays

    def _encode(self, text: str) -> np.ndarray:
        """One text on one thread (see single_query_threads); summaries are cached."""
        hit = self._vec_cache.get(text)
        if hit is not None:
            return hit
        with single_query_threads():
            vec = self.idx.encoder.encode([text])[0]
        if len(self._vec_cache) > 1024:
            self._vec_cache.clear()
        self._vec_cache[text] = vec
        return vec

    def query(
        self,
        request: str,
        summary: str | None = None,
        k: int = 10,
        filters: Filters = NO_FILTERS,
        retrievers: tuple[str, ...] = ("graph", "dense", "lexical"),
        rerank: bool = True,
    ) -> Answer:
        from kg.normalize import normalize_request, strip_dosing

        rc = normalize_request(request)
        concepts, regions = tuple(rc.treatments), tuple(rc.body_regions)
        w = self.weights
        a = self.arrays
        pool = w.pool * (4 if filters.active() else 1)
        mask = filter_mask(a, filters)
        lists: dict[str, list[tuple[int, float]]] = {}
        paths: dict[int, GraphPath] = {}
        if "graph" in retrievers:
            gc = graph_candidates(a, concepts, regions, pool, w.sections, w.section_boost)
            paths = {i: path for i, (_, path) in gc.items()}
            lists["graph"] = sorted(((i, s) for i, (s, _) in gc.items()), key=by_score)
        if "dense" in retrievers:
            # the encoder reads doses in context ("#90" says: a medication); BM25 would match
            # them literally across unrelated drugs, so the lexical query drops them
            dc = dense_candidates(
                self.idx, a, self._encode, request, summary, pool, w.summary_weight
            )
            lists["dense"] = sorted(dc.items(), key=by_score)
        if "lexical" in retrievers:
            lc = lexical_candidates(self.idx, a, strip_dosing(request), pool)
            lists["lexical"] = sorted(lc.items(), key=by_score)
        weight = {"graph": w.graph, "dense": w.dense, "lexical": w.lexical}
        fused, ranks = rrf(lists, weight, mask)
        support: dict[int, float] = {}
        if rerank and w.rerank > 0 and fused:
            fused, support = section_rerank(a, fused, mask, w.rerank, w.rerank_seeds, w.pool)
        ranked = sorted(fused.items(), key=by_score)
        whys = {i: _why(ranks.get(i, {}), paths.get(i), support.get(i)) for i, _ in ranked[:k]}
        results = self._precedents(ranked[:k], whys)
        vote = ranked[: w.governing_depth]
        return Answer(
            results, self._summary(results, concepts, vote, filters.exclude_letters), concepts
        )

    def _precedents(
        self, ranked: list[tuple[int, float]], whys: dict[int, Why]
    ) -> tuple[Precedent, ...]:
        """Results with their request and rationale from SQLite, read for all in one snapshot."""
        a = self.arrays
        out = []
        ids = [int(a.item_ids[i]) for i, _ in ranked]
        with self.store.snapshot():  # one SQL state for all the results
            rows = self.store.items_by_id(ids)
        for (i, score), iid in zip(ranked, ids, strict=True):
            _, _, request, _, rat = rows.get(iid, ("", 0, "", "", ""))
            snippet = rat if len(rat) <= 300 else rat[:297].rsplit(" ", 1)[0] + "..."
            secs = tuple(a.label(a.sections[s]) for s in a.item_sections(i))
            out.append(
                Precedent(
                    a.letter_of(i),
                    a.position_in_letter(i),
                    request,
                    a.decision(i),
                    score,
                    secs,
                    snippet,
                    whys[i],
                    a.date(i),
                )
            )
        return tuple(out)

    def _summary(
        self,
        results: tuple[Precedent, ...],
        concepts: tuple[str, ...],
        ranked: list[tuple[int, float]],
        exclude: frozenset[str] = frozenset(),
    ) -> Summary:
        a = self.arrays
        c = Counter(r.decision for r in results)
        refs = tuple(ConceptRef(x, a.label(x) if x in a.concept_pos else x) for x in concepts)
        if concepts and concepts[0] in a.concept_pos:
            items = a.items_of(concepts[0], a.exclude_mask(exclude))
            n_over = int(a.overturned[items].sum())
            same = SameTreatment(
                concepts[0],
                len(items),
                len(items) - n_over,
                n_over,
                f"only {len(items)} past items for this treatment concept"
                if len(items) < 10
                else None,
            )
        else:
            same = SameTreatment(
                concepts[0] if concepts else None,
                0,
                0,
                0,
                "no past items for this treatment concept",
            )
        gov = governing_sections(a, ranked, concepts, exclude, self.weights.concept_prior)
        return Summary(refs, Outcomes(len(results), c["upheld"], c["overturned"]), same, gov)


def _why(ranks: dict[str, tuple[int, float]], path: GraphPath | None, support: float | None) -> Why:
    """An item's reasons from its rank in each list, its graph path and its section support."""

    def sig(name: str) -> Signal | None:
        if name not in ranks:
            return None
        rank, score = ranks[name]
        return Signal(rank, round(score, 4), (path or GraphPath()) if name == "graph" else None)

    return Why(sig("graph"), sig("dense"), sig("lexical"), support)
