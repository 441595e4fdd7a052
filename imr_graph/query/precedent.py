"""Find the precedent: graph, dense and lexical candidates fused, explained and summarized.

The retrievers (`retrievers.py`) each rank candidates; weighted reciprocal rank fusion and one
step of section re-ranking (`fusion.py`) order them; the summary counts outcomes and votes for
the governing section (`sections.py`). The clinical summary only tilts the dense rationale query
(weight `summary_weight`), it never replaces the request. The answer is typed (`answer.py`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

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
from imr_graph.query.citable import cite_results, name_sections, query_terms
from imr_graph.query.filters import Filters, filter_mask
from imr_graph.query.fusion import by_score, rrf, section_rerank
from imr_graph.query.retrievers import dense_candidates, graph_candidates, lexical_candidates
from imr_graph.query.sections import governing_sections
from imr_graph.query.treatment import (
    NONE,
    SAME,
    TIER_STRENGTH,
    Asked,
    TreatmentMatch,
    has_words,
    match,
    read_request,
    same_treatment_items,
)
from imr_graph.store.sqlite import Store
from kg.model import Letter

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
    # ... in the order of the items below the same treatment: what a related treatment adds
    # is the guideline the same-treatment precedents were decided under
    rerank_related: float = 0.8
    rerank_seeds: int = 10
    # weight of the citations of every past item of the same treatment in the governing vote
    treatment_prior: float = 1.0


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
        self._item_text: dict[int, str] = {}
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
        by_treatment: bool = True,
    ) -> Answer:
        """The k best precedents for a request: same treatment first (`by_treatment`), then
        by fused and section re-ranked score; ValueError for a request without a word."""
        from kg.normalize import strip_dosing

        if not has_words(request):
            raise ValueError(
                f"request {request.strip()[:40]!r} has no words: give the treatment asked for, "
                "e.g. 'Norco 10/325 #90'"
            )
        w = self.weights
        a = self.arrays
        q = read_request(a, request, summary)
        concepts, regions = q.requested, q.regions
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
        matches: dict[int, TreatmentMatch] = {}
        if by_treatment and "graph" in retrievers:
            matches = self._matches(q, [i for i in fused if i in paths and paths[i].concept])

        def order(t: tuple[int, float]) -> tuple[float, ...]:
            """The same treatment first (the finer agreements first), then by score."""
            return (-_tier(matches, t[0]), -_detail(matches, t[0]), *by_score(t))

        support: dict[int, float] = {}
        if rerank and w.rerank > 0 and fused:
            # the seeds are the best in that order: the sections the same-treatment
            # precedents cite lift the rest, and order the related treatments below them
            group = [i for i in fused if _tier(matches, i)]
            fused, support = section_rerank(
                a, fused, mask, w.rerank, w.rerank_seeds, w.pool, order, group, w.rerank_related
            )
        ranked = sorted(fused.items(), key=order)
        whys = {i: _why(ranks.get(i, {}), paths.get(i), support.get(i)) for i, _ in ranked[:k]}
        results = self._precedents(ranked[:k], whys, matches, ranks)
        vote = ranked[: w.governing_depth]
        letters = self._letters({a.letter_of(i) for i, _ in ranked[: max(k, len(vote))]})
        # each precedent votes for the governing section as strongly as it matches the request
        votes = [_strength(matches.get(i), ranks.get(i, {})) for i, _ in vote] if matches else None
        block = self._summary(results, q, vote, filters.exclude_letters, letters, votes)
        if matches:
            same = sum(1 for r in results if r.match is not None and r.match.tier == SAME)
            block = replace(block, notice=_notice(concepts, same), same_in_results=same)
        labels = tuple(c.label for c in block.treatment_concepts)
        cited = cite_results(results, letters, vote, a, query_terms(request, labels))
        return Answer(cited, block, concepts)

    def _letters(self, keys: set[str]) -> dict[str, Letter]:
        """The letters of the results (JSON rows decoded; k letters a query)."""
        with self.store.snapshot():
            return {k: lt for k in sorted(keys) if (lt := self.store.letter(k)) is not None}

    def _matches(self, q: Asked, items: list[int]) -> dict[int, TreatmentMatch]:
        """Treatment tiers of the items the graph reached through a concept (their request
        texts, for the spinal levels, read from SQLite in one snapshot and cached by item id;
        their clinical facts from the arrays)."""
        a = self.arrays
        ids = {i: int(a.item_ids[i]) for i in items}
        todo = [iid for iid in ids.values() if iid not in self._item_text]
        if todo:
            with self.store.snapshot():
                rows = self.store.items_by_id(todo)
            if len(self._item_text) > 100_000:
                self._item_text.clear()
            for iid, (_, _, request, _, _) in rows.items():
                self._item_text[iid] = request
        return {i: match(a, q, i, self._item_text.get(iid, "")) for i, iid in ids.items()}

    def _precedents(
        self,
        ranked: list[tuple[int, float]],
        whys: dict[int, Why],
        matches: dict[int, TreatmentMatch],
        ranks: dict[int, dict[str, tuple[int, float]]],
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
                    _strength(matches.get(i), ranks.get(i, {})) if matches else None,
                    matches.get(i, TreatmentMatch(NONE)) if matches else None,
                )
            )
        return tuple(out)

    def _summary(
        self,
        results: tuple[Precedent, ...],
        q: Asked,
        ranked: list[tuple[int, float]],
        exclude: frozenset[str],
        letters: dict[str, Letter],
        votes: list[float] | None = None,
    ) -> Summary:
        """Outcomes of the results; every past item of the same treatment (the concept and the
        narrower ones, in the form and region asked for); the governing sections the
        precedents cite (weighted by `votes`, with those past items' citations as the prior),
        named with document and edition."""
        a = self.arrays
        concepts = q.requested
        c = Counter(r.decision for r in results)
        refs = tuple(ConceptRef(x, a.label(x) if x in a.concept_pos else x) for x in concepts)
        primary = q.concepts[0] if q.concepts else (concepts[0] if concepts else None)
        # none when the primary concept is unknown to the store; else it is q.concepts[0]
        items = same_treatment_items(a, q, a.exclude_mask(exclude))
        own = int(np.isin(items, a.items_of(q.concepts[0])).sum()) if len(items) else 0
        n_over = int(a.overturned[items].sum())
        same = SameTreatment(
            primary, len(items), len(items) - n_over, n_over, _few(len(items)), len(items) - own
        )
        gov = governing_sections(a, ranked, items, self.weights.treatment_prior, votes)
        gov = name_sections(
            gov, [(a.letter_of(i), a.position_in_letter(i)) for i, _ in ranked], letters, a
        )
        outcomes = Outcomes(len(results), c["upheld"], c["overturned"])
        return Summary(refs, outcomes, same, gov, voters=len(ranked))


def _few(n: int) -> str | None:
    """The small-sample warning of the same-treatment count."""
    if n == 0:
        return "no past items for this treatment"
    return f"only {n} past items for this treatment" if n < 10 else None


def _notice(concepts: tuple[str, ...], same: int) -> str | None:
    """Said above the results when none is the same treatment."""
    if same:
        return None
    if not concepts:
        return "no treatment recognized in the request; the nearest precedents by wording below"
    return "no precedent for this treatment; related treatments below"


def _tier(matches: dict[int, TreatmentMatch], i: int) -> int:
    """The group an item is ranked in: the same treatment, or the rest (ordered by score)."""
    m = matches.get(i)
    return 1 if m is not None and m.tier == SAME else 0


def _strength(m: TreatmentMatch | None, ranks: dict[str, tuple[int, float]]) -> float:
    """Absolute match strength in [0, 1], not normalized to the top: the strength the treatment
    tier guarantees (same treatment 0.8 + 0.05 per finer agreement), or 0.75 x the dense
    cosine similarity when that is higher, so words alone never read as the same treatment."""
    tier = m.tier if m is not None else NONE
    base = TIER_STRENGTH[tier] + (0.05 * max(0, min(m.detail, 4)) if m and tier == SAME else 0.0)
    dense = ranks.get("dense", (0, 0.0))[1]
    return round(min(1.0, max(base, 0.75 * max(0.0, dense))), 3)


def _why(ranks: dict[str, tuple[int, float]], path: GraphPath | None, support: float | None) -> Why:
    """An item's reasons from its rank in each list, its graph path and its section support."""

    def sig(name: str) -> Signal | None:
        if name not in ranks:
            return None
        rank, score = ranks[name]
        return Signal(rank, round(score, 4), (path or GraphPath()) if name == "graph" else None)

    return Why(sig("graph"), sig("dense"), sig("lexical"), support)


def _detail(matches: dict[int, TreatmentMatch], i: int) -> int:
    m = matches.get(i)
    return m.detail if m is not None and m.tier == SAME else 0
