"""Find the precedent: graph, dense and lexical candidates fused, explained and summarized.

Fusion is weighted reciprocal rank fusion (RRF, k=60): each retriever ranks candidates and an
item scores sum(w / (60 + rank)). The graph retriever ranks items by shared treatment concept
(same concept > broader/narrower > sibling) and by guideline sections reached through the
concept's items, each section weighted by its inverse item frequency so that catch-all sections
("Special Studies") count for little. The clinical summary only tilts the dense rationale query
(weight `summary_weight`), it never replaces the request.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embeddings import single_query_threads
from kg import graph as G

from .graph_arrays import GraphArrays
from .indexes import Indexes, item_of_window
from .store import Store

RRF_K = 60


@dataclass(frozen=True)
class Filters:
    """Restrictions that apply before ranking; None means no restriction."""

    decision: str | None = None
    guideline: str | None = None  # MTUS | ODG | ACOEM | OTHER
    document: str | None = None  # substring of the document label or its id
    section: str | None = None  # substring of a cited section label or its id
    region: str | None = None
    category: str | None = None
    specialty: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    exclude_letters: frozenset[str] = frozenset()

    def active(self) -> bool:
        return any(v for k, v in self.__dict__.items() if k != "exclude_letters") or bool(
            self.exclude_letters
        )


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


@dataclass(frozen=True)
class Precedent:
    letter: str
    item: int
    request: str
    decision: str
    score: float
    sections: tuple[str, ...]
    snippet: str
    why: dict[str, Any]
    decision_date: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "letter": self.letter,
            "item": self.item,
            "request": self.request,
            "decision": self.decision,
            "score": round(self.score, 6),
            "sections": list(self.sections),
            "snippet": self.snippet,
            "decision_date": self.decision_date,
            "why": self.why,
        }


@dataclass
class Answer:
    results: list[Precedent]
    summary: dict[str, Any]
    concepts: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {"results": [r.to_json() for r in self.results], "summary": self.summary}


class PrecedentEngine:
    """Holds the store, its graph and indexes loaded once; answers queries in milliseconds."""

    def __init__(self, store: Store, indexes: Indexes | None = None, weights: Weights = Weights()):
        self.store = store
        self.g = store.graph
        self.idx = indexes or Indexes.open(store)
        self.weights = weights
        self._vec_cache: dict[str, np.ndarray] = {}
        self.arrays = GraphArrays(self.g)
        self._by_int: dict[int, str] = {self.g.nodes[n]["int_id"]: n for n in self.arrays.items}
        self._n_items = self.arrays.n

    # ---- graph helpers -------------------------------------------------------------------
    def _out(self, n: str, rel: str, by: str | None = None) -> list[str]:
        return G.out_nodes(self.g, n, rel, by)

    def _in(self, n: str, rel: str) -> list[str]:
        return G.in_nodes(self.g, n, rel)

    def _sections(self, item: str, by: str | None = "maximus") -> list[str]:
        return self._out(item, G.CITES_SECTION, by)

    def _idf(self, section: str) -> float:
        pos = self.arrays.sec_pos.get(section)
        return float(self.arrays.idf[pos]) if pos is not None else math.log(1 + self._n_items)

    # ---- filters -------------------------------------------------------------------------
    def _passes(self, item: str, f: Filters) -> bool:
        d = self.g.nodes[item]
        if d["letter"] in f.exclude_letters:
            return False
        if f.decision and d["decision"] != f.decision.lower():
            return False
        date = d.get("decision_date")
        if f.date_from and (not date or date < f.date_from):
            return False
        if f.date_to and (not date or date > f.date_to):
            return False
        if f.guideline or f.document:
            eds = self._out(item, G.CITES_EDITION, "maximus")
            docs = [doc for e in eds for doc in self._out(e, G.EDITION_OF)]
            if f.guideline and not any(
                self.g.nodes[s].get("label", "").upper() == f.guideline.upper()
                for doc in docs
                for s in self._out(doc, G.FROM_SOURCE)
            ):
                return False
            if f.document and not any(_match(doc, self.g.nodes[doc], f.document) for doc in docs):
                return False
        if f.section and not any(
            _match(s, self.g.nodes[s], f.section) for s in self._sections(item, None)
        ):
            return False
        if f.region and not any(
            _match(r, self.g.nodes[r], f.region) for r in self._out(item, G.CONCERNS_REGION)
        ):
            return False
        if f.category and not any(
            _match(c, self.g.nodes[c], f.category) for c in self._categories(item)
        ):
            return False
        if f.specialty:
            ln = G.letter_node(d["letter"])
            if not any(
                _match(s, self.g.nodes[s], f.specialty) for s in self._out(ln, G.REVIEWED_BY)
            ):
                return False
        return True

    def _categories(self, item: str) -> set[str]:
        return G.categories(self.g, self._out(item, G.REQUESTS))

    # ---- retrievers ----------------------------------------------------------------------
    def graph_candidates(
        self, concepts: tuple[str, ...], regions: tuple[str, ...], pool: int | None = None
    ) -> dict[str, tuple[float, dict[str, Any]]]:
        """Items reached from the request's concepts, scored, with the path that reached them.

        Same concept 3, broader or narrower 2, sibling 1.5 (x0.8 for secondary concepts, the
        best relation counts); plus, additively, `section_boost` x the share of each of the
        concept's top sections (inverse-frequency weighted) that the item cites; +0.5 for a
        shared body region. Scored over arrays; only the best `pool` items are explained.
        """
        a = self.arrays
        score = np.zeros(a.n)
        reached: dict[str, tuple[float, str]] = {}  # concept -> (score, relation)
        own: list[np.ndarray] = []
        for rank, c in enumerate(concepts):
            if c not in self.g:
                continue
            primary = 1.0 if rank == 0 else 0.8
            steps = [(c, 3.0, "same")]
            for parent in self._out(c, G.BROADER):
                steps.append((parent, 2.0, "broader"))
                steps.extend(
                    (sib, 1.5, "sibling") for sib in self._in(parent, G.BROADER) if sib != c
                )
            steps.extend((child, 2.0, "narrower") for child in self._in(c, G.BROADER))
            for concept, value, relation in steps:
                items = a.items_of(concept)
                if len(items):
                    np.maximum.at(score, items, value * primary)
                if value * primary > reached.get(concept, (0.0, ""))[0]:
                    reached[concept] = (value * primary, relation)
            own.append(a.items_of(c))
        shares: dict[int, float] = {}
        if own:
            w = a.section_weights(np.concatenate(own))
            total = w.sum() or 1.0
            for sp in np.argsort(-w, kind="stable")[: self.weights.sections]:
                if w[sp] <= 0:
                    break
                shares[int(sp)] = float(w[sp] / total)
                score[a.section_items[sp]] += self.weights.section_boost * shares[int(sp)]
        rset = set(regions)
        if rset:
            hit = np.zeros(a.n, bool)
            for r in rset:
                hit[a.region_items.get(r, np.empty(0, np.int64))] = True
            score[hit & (score > 0)] += 0.5
        nz = np.flatnonzero(score)
        best = nz[np.argsort(-score[nz], kind="stable")[: pool or len(nz)]]
        out: dict[str, tuple[float, dict[str, Any]]] = {}
        for i in best:
            item = a.items[i]
            why: dict[str, Any] = {}
            mine = [(reached[c], c) for c in self._out(item, G.REQUESTS) if c in reached]
            if mine:
                (_, relation), concept = max(mine, key=lambda t: (t[0][0], t[1]))
                why.update(concept=concept, relation=relation)
            shared = [int(sp) for sp in a.item_sections(i) if int(sp) in shares]
            if shared:
                why["shared_sections"] = [a.sections[sp] for sp in shared]
                why["section_share"] = round(sum(shares[sp] for sp in shared), 3)
            if rset and rset & set(self._out(item, G.CONCERNS_REGION)):
                why["region"] = sorted(rset)
            out[item] = (float(score[i]), why)
        return out

    def dense_candidates(self, request: str, summary: str | None, n: int) -> dict[str, float]:
        rq = self._encode(request)
        q = rq
        if summary:
            q = rq + self.weights.summary_weight * self._encode(summary)
            q = q / (np.linalg.norm(q) or 1.0)
        out: dict[str, float] = {}
        with single_query_threads():
            s1, i1 = self.idx.requests.search(rq[None, :].astype(np.float32), n)
            s2, v2 = self.idx.rationales.search(q[None, :].astype(np.float32), n)
        for s, i in zip(s1[0], i1[0], strict=True):
            node = self._by_int.get(int(i))
            if i >= 0 and node:
                out[node] = max(out.get(node, -1.0), float(s))
        for s, v in zip(s2[0], v2[0], strict=True):
            node = self._by_int.get(item_of_window(int(v))) if v >= 0 else None
            if node:
                # a rationale match counts a little less than a request match
                out[node] = max(out.get(node, -1.0), 0.9 * float(s))
        return out

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

    def lexical_candidates(self, request: str, n: int) -> dict[str, float]:
        out = {}
        for iid, s in self.idx.lexical.search(request, n):
            node = self._by_int.get(int(iid))
            if node:
                out[node] = float(s)
        return out

    # ---- the query -----------------------------------------------------------------------
    def query(
        self,
        request: str,
        summary: str | None = None,
        k: int = 10,
        filters: Filters = Filters(),
        retrievers: tuple[str, ...] = ("graph", "dense", "lexical"),
        rerank: bool = True,
    ) -> Answer:
        from kg.normalize import normalize_request, strip_dosing

        rc = normalize_request(request)
        concepts, regions = tuple(rc.treatments), tuple(rc.body_regions)
        w = self.weights
        pool = w.pool * (4 if filters.active() else 1)
        lists: dict[str, list[tuple[str, float]]] = {}
        graph_why: dict[str, dict[str, Any]] = {}
        if "graph" in retrievers:
            gc = self.graph_candidates(concepts, regions, pool)
            graph_why = {i: why for i, (_, why) in gc.items()}
            lists["graph"] = sorted(
                ((i, s) for i, (s, _) in gc.items()), key=lambda t: (-t[1], t[0])
            )
        if "dense" in retrievers:
            # the encoder reads doses in context ("#90" says: a medication); BM25 would match
            # them literally across unrelated drugs, so the lexical query drops them
            dc = self.dense_candidates(request, summary, pool)
            lists["dense"] = sorted(dc.items(), key=lambda t: (-t[1], t[0]))
        if "lexical" in retrievers:
            lc = self.lexical_candidates(strip_dosing(request), pool)
            lists["lexical"] = sorted(lc.items(), key=lambda t: (-t[1], t[0]))
        weight = {"graph": w.graph, "dense": w.dense, "lexical": w.lexical}
        fused: dict[str, float] = defaultdict(float)
        signals: dict[str, dict[str, Any]] = defaultdict(dict)
        for name, ranked in lists.items():
            rank = seen = 0
            last: float | None = None
            for item, s in ranked:
                if not self._passes(item, filters):
                    continue
                seen += 1
                if s != last:  # tied scores share a rank: other retrievers break the tie
                    rank, last = seen, s
                fused[item] += weight[name] / (RRF_K + rank)
                sig: dict[str, Any] = {"rank": rank, "score": round(s, 4)}
                if name == "graph":
                    sig.update(graph_why.get(item, {}))
                signals[item][name] = sig
        if rerank and w.rerank > 0 and fused:
            fused = self._section_rerank(dict(fused), filters, signals)
        ranked_items = sorted(fused.items(), key=lambda t: (-t[1], t[0]))
        results = [self._precedent(i, s, signals[i]) for i, s in ranked_items[:k]]
        vote = ranked_items[: w.governing_depth]
        summary = self._summary(results, concepts, vote, filters.exclude_letters)
        return Answer(results, summary, concepts)

    def _section_rerank(
        self, fused: dict[str, float], filters: Filters, signals: dict[str, dict[str, Any]]
    ) -> dict[str, float]:
        """One step of personalized PageRank on the item-section graph, seeded by the hits.

        The seed mass of the best `rerank_seeds` items flows to the sections they cite (MAXIMUS),
        scaled by each section's inverse item frequency, and back to every item citing those
        sections. Final score: (1 - rerank) * seed + rerank * section support, both in [0, 1].
        """
        w = self.weights
        a = self.arrays
        seeds = sorted(fused.items(), key=lambda t: (-t[1], t[0]))[: w.rerank_seeds]
        total = sum(v for _, v in seeds) or 1.0
        mass = np.zeros(len(a.sections))
        for item, v in seeds:
            secs = a.item_sections(a.pos[item])
            if len(secs):
                mass[secs] += (v / total) * a.idf[secs] / len(secs)
        support = a.support(mass)
        nz = np.flatnonzero(support)
        reach = {a.items[i] for i in nz[np.argsort(-support[nz], kind="stable")[: w.pool]]}
        top_seed = max(fused.values()) or 1.0
        top_support = float(support.max()) if len(nz) else 1.0
        out: dict[str, float] = {}
        for item in set(fused) | reach:
            if item not in fused and not self._passes(item, filters):
                continue
            sup = float(support[a.pos[item]]) / top_support
            out[item] = (1 - w.rerank) * fused.get(item, 0.0) / top_seed + w.rerank * sup
            if sup:
                signals[item]["section_rerank"] = {"support": round(sup, 4)}
        return out

    def _precedent(self, item: str, score: float, why: dict[str, Any]) -> Precedent:
        d = self.g.nodes[item]
        secs = tuple(self.g.nodes[s]["label"] for s in self._sections(item))
        rat = self.g.nodes[f"rationale:{d['letter']}/{d['position']}"]["text"]
        snippet = rat if len(rat) <= 300 else rat[:297].rsplit(" ", 1)[0] + "..."
        return Precedent(
            d["letter"],
            d["position"],
            d["request"],
            d["decision"],
            score,
            secs,
            snippet,
            why,
            d.get("decision_date"),
        )

    def _summary(
        self,
        results: list[Precedent],
        concepts: tuple[str, ...],
        ranked: list[tuple[str, float]],
        exclude: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        c = Counter(r.decision for r in results)
        out: dict[str, Any] = {
            "treatment_concepts": [
                {"id": x, "label": self.g.nodes[x].get("label") if x in self.g else x}
                for x in concepts
            ],
            "precedents": {"n": len(results), "upheld": c["upheld"], "overturned": c["overturned"]},
        }
        if concepts and concepts[0] in self.g:
            items = self.arrays.items_of(concepts[0], self.arrays.exclude_mask(exclude))
            n_over = int(self.arrays.overturned[items].sum())
            block: dict[str, Any] = {
                "concept": concepts[0],
                "n": len(items),
                "upheld": len(items) - n_over,
                "overturned": n_over,
            }
            if len(items) < 10:
                block["warning"] = f"only {len(items)} past items for this treatment concept"
            out["same_treatment"] = block
        else:
            out["same_treatment"] = {
                "concept": concepts[0] if concepts else None,
                "n": 0,
                "upheld": 0,
                "overturned": 0,
                "warning": "no past items for this treatment concept",
            }
        out["governing_sections"] = self.governing_sections(ranked, concepts, exclude)
        return out

    def governing_sections(
        self,
        ranked: list[tuple[str, float]],
        concepts: tuple[str, ...] = (),
        exclude: frozenset[str] = frozenset(),
        top: int = 5,
    ) -> list[dict]:
        """Sections the best precedents cite (MAXIMUS), plus the concept's own citation prior.

        Votes: each precedent 1/rank, split among its sections; prior: the share of the primary
        concept's past items citing the section (so a well-known treatment's usual section wins
        unless the closest precedents say otherwise).
        """
        score: Counter[str] = Counter()
        count: Counter[str] = Counter()
        if self.weights.concept_prior and concepts and concepts[0] in self.g:
            a = self.arrays
            past = a.items_of(concepts[0], a.exclude_mask(exclude))
            if len(past):
                prior = a.section_weights(past, idf=False) / len(past)
                for sp in np.flatnonzero(prior):
                    score[a.sections[sp]] += self.weights.concept_prior * float(prior[sp])
        for r, (item, _) in enumerate(ranked, start=1):
            secs = self._sections(item)
            for sec in secs:
                # the closest precedents speak loudest; an item's vote is split among its sections
                score[sec] += 1.0 / r / len(secs)
                count[sec] += 1
        out = []
        for sec, s in score.most_common(top):
            node = self.g.nodes[sec]
            out.append(
                {
                    "section": node["label"],
                    "id": sec,
                    "document": node.get("document"),
                    "precedents_citing": count[sec],
                    "weight": round(s, 5),
                }
            )
        return out


def _match(node_id: str, attrs: dict[str, Any], needle: str) -> bool:
    n = needle.casefold()
    return n in node_id.casefold() or n in str(attrs.get("label", "")).casefold()
