"""Find the precedent: graph, dense and lexical candidates fused, explained and summarized.

Fusion is weighted reciprocal rank fusion (RRF, k=60): each retriever ranks candidates and an
item scores sum(w / (60 + rank)). The graph retriever ranks items by shared treatment concept
(same concept > broader/narrower > sibling) and by guideline sections reached through the
concept's items, each section weighted by its inverse item frequency so that catch-all sections
("Special Studies") count for little. The clinical summary only tilts the dense rationale query
(weight `summary_weight`), it never replaces the request.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embeddings import single_query_threads
from imr_graph.index.arrays import GraphArrays
from imr_graph.index.indexes import Indexes, item_of_window
from imr_graph.store.sqlite import Store

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

    # ---- retrievers ----------------------------------------------------------------------
    def graph_candidates(
        self, concepts: tuple[str, ...], regions: tuple[str, ...], pool: int | None = None
    ) -> dict[int, tuple[float, dict[str, Any]]]:
        """Items reached from the request's concepts, scored, with the path that reached them.

        Same concept 3, broader or narrower 2, sibling 1.5 (x0.8 for secondary concepts, the
        best relation counts); plus, additively, `section_boost` x the share of each of the
        concept's top sections (inverse-frequency weighted) that the item cites; +0.5 for a
        shared body region. Scored over arrays; only the best `pool` items are explained.
        """
        a = self.arrays
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
                steps.extend(
                    (sib, 1.5, "sibling") for sib in a.children.get(parent, []) if sib != c
                )
            steps.extend((child, 2.0, "narrower") for child in a.children.get(c, []))
            for concept, value, relation in steps:
                items = a.items_of(concept)
                if len(items):  # a concept's items are unique: no np.maximum.at needed
                    score[items] = np.maximum(score[items], value * primary)
                if value * primary > reached.get(concept, (0.0, ""))[0]:
                    reached[concept] = (value * primary, relation)
            own.append(c)
        shares: dict[int, float] = {}
        if own:
            w = a.concept_section_weights(own)
            total = w.sum() or 1.0
            for sp in np.argsort(-w, kind="stable")[: self.weights.sections]:
                if w[sp] <= 0:
                    break
                shares[int(sp)] = float(w[sp] / total)
                score[a.section_items(int(sp))] += self.weights.section_boost * shares[int(sp)]
        rset = set(regions)
        if rset:
            near = np.concatenate([a.region_items(r) for r in sorted(rset)])
            # an item in two of the regions appears twice: `+=` on a fancy index adds once
            score[near[score[near] > 0]] += 0.5
        best = _top(score, pool)
        out: dict[int, tuple[float, dict[str, Any]]] = {}
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
            why: dict[str, Any] = {}
            mine = [
                (reached[a.concepts[c]], a.concepts[c]) for c in cons if a.concepts[c] in reached
            ]
            if mine:
                (_, relation), concept = max(mine, key=lambda t: (t[0][0], t[1]))
                why.update(concept=concept, relation=relation)
            shared = [sp for sp in secs if sp in shares]
            if shared:
                why["shared_sections"] = [a.sections[sp] for sp in shared]
                why["section_share"] = round(sum(shares[sp] for sp in shared), 3)
            if region_pos.intersection(regs):
                why["region"] = sorted(rset)
            out[i] = (s, why)
        return out

    def dense_candidates(self, request: str, summary: str | None, n: int) -> dict[int, float]:
        rq = self._encode(request)
        q = rq
        if summary:
            q = rq + self.weights.summary_weight * self._encode(summary)
            q = q / (np.linalg.norm(q) or 1.0)
        out: dict[int, float] = {}
        with single_query_threads():
            s1, i1 = self.idx.requests.search(rq[None, :].astype(np.float32), n)
            s2, v2 = self.idx.rationales.search(q[None, :].astype(np.float32), n)
        p1 = self.arrays.positions(np.where(i1[0] >= 0, i1[0], -1))
        p2 = self.arrays.positions(np.where(v2[0] >= 0, item_of_window(v2[0]), -1))
        for s, p in zip(s1[0], p1, strict=True):
            if p >= 0:
                out[int(p)] = max(out.get(int(p), -1.0), float(s))
        for s, p in zip(s2[0], p2, strict=True):
            if p >= 0:
                # a rationale match counts a little less than a request match
                out[int(p)] = max(out.get(int(p), -1.0), 0.9 * float(s))
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

    def lexical_candidates(self, request: str, n: int) -> dict[int, float]:
        hits = self.idx.lexical.search(request, n)
        pos = self.arrays.positions(np.array([i for i, _ in hits], np.int64))
        return {int(p): float(s) for p, (_, s) in zip(pos, hits, strict=True) if p >= 0}

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
        mask = filter_mask(self.arrays, filters)
        lists: dict[str, list[tuple[int, float]]] = {}
        graph_why: dict[int, dict[str, Any]] = {}
        if "graph" in retrievers:
            gc = self.graph_candidates(concepts, regions, pool)
            graph_why = {i: why for i, (_, why) in gc.items()}
            lists["graph"] = sorted(((i, s) for i, (s, _) in gc.items()), key=_by_score)
        if "dense" in retrievers:
            # the encoder reads doses in context ("#90" says: a medication); BM25 would match
            # them literally across unrelated drugs, so the lexical query drops them
            dc = self.dense_candidates(request, summary, pool)
            lists["dense"] = sorted(dc.items(), key=_by_score)
        if "lexical" in retrievers:
            lc = self.lexical_candidates(strip_dosing(request), pool)
            lists["lexical"] = sorted(lc.items(), key=_by_score)
        weight = {"graph": w.graph, "dense": w.dense, "lexical": w.lexical}
        fused: dict[int, float] = defaultdict(float)
        signals: dict[int, dict[str, Any]] = defaultdict(dict)
        for name, ranked in lists.items():
            rank = seen = 0
            last: float | None = None
            for item, s in ranked:
                if mask is not None and not mask[item]:
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
            fused = self._section_rerank(dict(fused), mask, signals)
        ranked_items = sorted(fused.items(), key=_by_score)
        results = self._precedents(ranked_items[:k], signals)
        vote = ranked_items[: w.governing_depth]
        summary = self._summary(results, concepts, vote, filters.exclude_letters)
        return Answer(results, summary, concepts)

    def _section_rerank(
        self,
        fused: dict[int, float],
        mask: np.ndarray | None,
        signals: dict[int, dict[str, Any]],
    ) -> dict[int, float]:
        """One step of personalized PageRank on the item-section graph, seeded by the hits.

        The seed mass of the best `rerank_seeds` items flows to the sections they cite (MAXIMUS),
        scaled by each section's inverse item frequency, and back to every item citing those
        sections. Final score: (1 - rerank) * seed + rerank * section support, both in [0, 1].
        """
        w = self.weights
        a = self.arrays
        seeds = sorted(fused.items(), key=_by_score)[: w.rerank_seeds]
        total = sum(v for _, v in seeds) or 1.0
        mass = np.zeros(len(a.sections))
        for item, v in seeds:
            secs = a.item_sections(item)
            if len(secs):
                mass[secs] += (v / total) * a.idf[secs] / len(secs)
        support = a.support(mass)
        reach = {int(i) for i in _top(support, w.pool)}
        top_seed = max(fused.values()) or 1.0
        top_support = float(support.max()) if reach else 1.0
        out: dict[int, float] = {}
        for item in set(fused) | reach:
            if item not in fused and mask is not None and not mask[item]:
                continue
            sup = float(support[item]) / top_support
            out[item] = (1 - w.rerank) * fused.get(item, 0.0) / top_seed + w.rerank * sup
            if sup:
                signals[item]["section_rerank"] = {"support": round(sup, 4)}
        return out

    def _precedents(
        self, ranked: list[tuple[int, float]], signals: dict[int, dict[str, Any]]
    ) -> list[Precedent]:
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
                    signals[i],
                    a.date(i),
                )
            )
        return out

    def _summary(
        self,
        results: list[Precedent],
        concepts: tuple[str, ...],
        ranked: list[tuple[int, float]],
        exclude: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        a = self.arrays
        c = Counter(r.decision for r in results)
        out: dict[str, Any] = {
            "treatment_concepts": [
                {"id": x, "label": a.label(x) if x in a.concept_pos else x} for x in concepts
            ],
            "precedents": {"n": len(results), "upheld": c["upheld"], "overturned": c["overturned"]},
        }
        if concepts and concepts[0] in a.concept_pos:
            items = a.items_of(concepts[0], a.exclude_mask(exclude))
            n_over = int(a.overturned[items].sum())
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
        ranked: list[tuple[int, float]],
        concepts: tuple[str, ...] = (),
        exclude: frozenset[str] = frozenset(),
        top: int = 5,
    ) -> list[dict]:
        """Sections the best precedents cite (MAXIMUS), plus the concept's own citation prior.

        Votes: each precedent 1/rank, split among its sections; prior: the share of the primary
        concept's past items citing the section (so a well-known treatment's usual section wins
        unless the closest precedents say otherwise).
        """
        a = self.arrays
        score: Counter[str] = Counter()
        count: Counter[str] = Counter()
        if self.weights.concept_prior and concepts and concepts[0] in a.concept_pos:
            gone = a.exclude_mask(exclude)
            past = a.items_of(concepts[0], gone)
            if len(past):
                prior = a.concept_section_weights(concepts[:1], False, gone) / len(past)
                for sp in np.flatnonzero(prior):
                    score[a.sections[sp]] += self.weights.concept_prior * float(prior[sp])
        for r, (item, _) in enumerate(ranked, start=1):
            secs = [a.sections[s] for s in a.item_sections(item)]
            for sec in secs:
                # the closest precedents speak loudest; an item's vote is split among its sections
                score[sec] += 1.0 / r / len(secs)
                count[sec] += 1
        out = []
        for sec, s in score.most_common(top):
            out.append(
                {
                    "section": a.label(sec),
                    "id": sec,
                    "document": a.tables.sections[sec].get("document"),
                    "precedents_citing": count[sec],
                    "weight": round(s, 5),
                }
            )
        return out


def filter_mask(a: GraphArrays, f: Filters) -> np.ndarray | None:
    """Items that pass the filters (None when no filter is set), one numpy pass per filter."""
    if not f.active():
        return None
    t = a.tables
    ok = np.ones(a.n, bool)
    if f.exclude_letters:
        ok &= ~a.exclude_mask(f.exclude_letters)
    if f.decision:
        want = f.decision.lower()
        codes = [i for i, d in enumerate(a.decisions) if d == want]
        ok &= np.isin(np.asarray(a.a["item_decision"]), codes)
    if f.date_from or f.date_to:
        dates = np.asarray(a.a["letter_dates"])[np.asarray(a.item_letter)]
        ok &= dates != ""
        if f.date_from:
            ok &= dates >= f.date_from
        if f.date_to:
            ok &= dates <= f.date_to
    if f.guideline or f.document:
        docs = np.ones(len(a.documents), bool)
        for j, (did, d) in enumerate(t.documents.items()):
            if f.guideline and d["source"].upper() != f.guideline.upper():
                docs[j] = False
            if f.document and not _match(did, d["label"], f.document):
                docs[j] = False
        ok &= a.rows_matching("mdoc", docs)
    if f.section:
        secs = np.array([_match(s, d["label"], f.section) for s, d in t.sections.items()], bool)
        ok &= a.rows_matching("asec", secs)
    if f.region:
        regs = np.array([_match(r, lab, f.region) for r, lab in t.regions.items()], bool)
        ok &= a.rows_matching("reg", regs)
    if f.category:
        cons = np.array(
            [
                any(_match(c, t.categories.get(c, c), f.category) for c in cats)
                for cats in a.concept_categories()
            ],
            bool,
        )
        ok &= a.rows_matching("req", cons)
    if f.specialty:
        specs = np.array([_match(s, lab, f.specialty) for s, lab in t.specialties.items()], bool)
        ok &= a.letters_matching_specialty(specs)
    return ok


def _by_score(t: tuple[int, float]) -> tuple[float, int]:
    """Best score first; ties by position, i.e. by (letter key, item position)."""
    return (-t[1], t[0])


def _top(score: np.ndarray, n: int | None) -> np.ndarray:
    """Positions of the `n` highest positive scores, best first (ties by position).

    A strided sample guesses a cut that at least `n` scores reach, so that only the items
    above it are compared (1 ms instead of 5 over 1e6 scores); if fewer reach it, the cut is 0.
    """
    cut = _guess_cut(score, n) if n is not None else 0.0
    nz = _above(score, cut)
    if n is not None and len(nz) < n and cut > 0:
        nz = _above(score, 0.0)
    vals = score[nz]
    if n is not None and len(nz) > n:
        # the n-th best score; all above it, then the first of those tied with it by position
        cut = -np.partition(-vals, n - 1)[n - 1]
        above = vals > cut
        tied = np.flatnonzero(vals == cut)[: n - int(above.sum())]
        keep = np.sort(np.concatenate([np.flatnonzero(above), tied]))
        nz, vals = nz[keep], vals[keep]
    return nz[np.argsort(-vals, kind="stable")]


TOP_SAMPLE = 8192  # scores read to guess the cut


def _guess_cut(score: np.ndarray, n: int) -> float:
    """A score that, judging by a strided sample, about 2n + 8 strides of scores reach (0 when
    the array is too small to sample)."""
    stride = len(score) // TOP_SAMPLE
    if stride < 4:
        return 0.0
    sample = score[::stride]
    want = min(len(sample), (2 * n) // stride + 8)
    return max(0.0, float(np.partition(sample, len(sample) - want)[len(sample) - want]))


def _above(score: np.ndarray, cut: float) -> np.ndarray:
    """Positions with a score >= cut, and > 0 (a bool mask first: flatnonzero on floats is slow)."""
    return np.flatnonzero((score >= cut) & (score > 0) if cut > 0 else score > 0)


def _match(node_id: str, label: str | None, needle: str) -> bool:
    n = needle.casefold()
    return n in node_id.casefold() or n in str(label or "").casefold()
