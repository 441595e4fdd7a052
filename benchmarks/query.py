"""The graph retriever on networkx against the same scoring on CSR arrays (the proposed fix).

`PrecedentEngine.graph_candidates` walks networkx edge views in Python and builds a `why`
dict for every item of the request's concepts, so its cost grows with how many past items
share the concept (linear in the store). This script loads a store built by
`benchmarks/scale.py`, derives compact arrays from the engine's graph once (concept -> items,
item -> MAXIMUS sections, section -> items, item -> regions), and scores the same 100 real
requests both ways: same scores, top-`pool` overlap reported, time per query compared.

    python -m benchmarks.scale --items 100000 --repeats 1      # builds /tmp/imr-scale/store-*
    python -m benchmarks.query --items 10000 100000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.parse import machine  # noqa: E402


class GraphArrays:
    """Read-only CSR view of the item/concept/section part of the graph, built once."""

    def __init__(self, engine) -> None:
        from kg import graph as G

        g = engine.g
        self.items = [n for n, d in g.nodes(data=True) if d.get("kind") == G.ITEM]
        pos = {n: i for i, n in enumerate(self.items)}
        self.n = len(self.items)
        by_concept: dict[str, list[int]] = defaultdict(list)
        by_section: dict[str, list[int]] = defaultdict(list)
        by_region: dict[str, list[int]] = defaultdict(list)
        item_secs: list[list[int]] = [[] for _ in self.items]
        self.sections: list[str] = []
        sec_pos: dict[str, int] = {}
        for u, v, d in g.edges(data=True):
            i = pos.get(u)
            if i is None:
                continue
            rel = d.get("rel")
            if rel == G.REQUESTS:
                by_concept[v].append(i)
            elif rel == G.CONCERNS_REGION:
                by_region[v].append(i)
            elif rel == G.CITES_SECTION and d.get("by") == "maximus":
                by_section[v].append(i)
                if v not in sec_pos:
                    sec_pos[v] = len(self.sections)
                    self.sections.append(v)
                item_secs[i].append(sec_pos[v])
        self.concept_items = {c: np.array(sorted(set(v)), np.int64) for c, v in by_concept.items()}
        self.section_items = [np.array(by_section[s], np.int64) for s in self.sections]
        self.region_items = {r: np.array(v, np.int64) for r, v in by_region.items()}
        self.sec_ptr = np.cumsum([0] + [len(s) for s in item_secs])
        self.sec_idx = np.array([s for ss in item_secs for s in ss], np.int64)
        df = np.array([len(x) for x in self.section_items], np.float64)
        self.idf = np.log((1 + engine._n_items) / (1 + df))
        self.entry_item = np.repeat(np.arange(self.n), np.diff(self.sec_ptr))

    def candidates(self, engine, concepts, regions, sections: int, boost: float, pool: int):
        """Same scores as graph_candidates; only the best `pool` items are materialised."""
        from kg import graph as G

        score = np.zeros(self.n)
        empty = np.empty(0, np.int64)
        concept_items = []
        for rank, c in enumerate(concepts):
            if c not in engine.g:
                continue
            primary = 1.0 if rank == 0 else 0.8
            own = self.concept_items.get(c, empty)
            np.maximum.at(score, own, 3.0 * primary)
            concept_items.append(own)
            for parent in engine._out(c, G.BROADER):
                np.maximum.at(score, self.concept_items.get(parent, empty), 2.0 * primary)
                for sib in engine._in(parent, G.BROADER):
                    if sib != c:
                        np.maximum.at(score, self.concept_items.get(sib, empty), 1.5 * primary)
            for child in engine._in(c, G.BROADER):
                np.maximum.at(score, self.concept_items.get(child, empty), 2.0 * primary)
        if concept_items:
            mark = np.zeros(self.n, bool)
            mark[np.concatenate(concept_items)] = True
            flat = self.sec_idx[mark[self.entry_item]]  # sections of the concept's items
            w = np.bincount(flat, weights=self.idf[flat], minlength=len(self.sections))
            total = w.sum() or 1.0
            top = np.argsort(-w, kind="stable")[:sections]
            for s in top:
                if w[s] <= 0:
                    break
                score[self.section_items[s]] += boost * w[s] / total
        if regions:
            hit = np.zeros(self.n, bool)
            for r in regions:
                hit[self.region_items.get(r, empty)] = True
            score[hit & (score > 0)] += 0.5
        nz = np.flatnonzero(score)
        best = nz[np.argsort(-score[nz], kind="stable")[:pool]]
        return {self.items[i]: float(score[i]) for i in best}


def run(store_dir: Path, n_queries: int) -> dict:
    from embeddings import Encoder
    from imr_graph.indexes import Indexes
    from imr_graph.precedent import PrecedentEngine
    from imr_graph.store import Store
    from kg.normalize import normalize_request

    store = Store.open(store_dir, create=False)
    engine = PrecedentEngine(store, Indexes.open(store, Encoder(), repair=False))
    t0 = time.perf_counter()
    arrays = GraphArrays(engine)
    t_arrays = time.perf_counter() - t0
    real = [x for k, x in store.letters().items() if not k.startswith("SYN")]
    requests = sorted({it.request for x in real for it in x.items})
    queries = random.Random(0).sample(requests, min(n_queries, len(requests)))
    w = engine.weights
    old, new, overlap, cands = [], [], [], []
    for q in queries:
        rc = normalize_request(q)
        c, r = tuple(rc.treatments), tuple(rc.body_regions)
        t0 = time.perf_counter()
        ref = engine.graph_candidates(c, r)
        old.append(1000 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        got = arrays.candidates(engine, c, r, w.sections, w.section_boost, w.pool)
        new.append(1000 * (time.perf_counter() - t0))
        cands.append(len(ref))
        top_ref = sorted(ref.items(), key=lambda t: (-t[1][0], t[0]))[: w.pool]
        if top_ref:
            # compare score multisets: ties make the ids at the cut arbitrary
            a = sorted(round(s, 9) for _, (s, _) in top_ref)
            b = sorted(round(s, 9) for s in got.values())
            overlap.append(float(a == b))
    store.close()
    return {
        "items": arrays.n,
        "arrays_s": t_arrays,
        "old_p50": statistics.median(old),
        "old_p95": float(np.percentile(old, 95)),
        "new_p50": statistics.median(new),
        "new_p95": float(np.percentile(new, 95)),
        "cands_p95": float(np.percentile(cands, 95)),
        "same_top": statistics.mean(overlap) if overlap else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/imr-scale"))
    args = ap.parse_args()
    print(f"# machine: {machine()}")
    print(f"# graph retriever only, {args.queries} real requests, one at a time (ms)")
    h = (
        f"{'items':>8} | {'arrays s':>8} | {'networkx p50':>12} | {'networkx p95':>12} |"
        f" {'CSR p50':>7} | {'CSR p95':>7} | {'cands p95':>9} | {'same top-pool scores':>20}"
    )
    print(h)
    print("-" * len(h))
    for n in args.items:
        d = args.workdir / f"store-{n}"
        if not (d / "index" / "indexes.json").exists():
            print(f"{n:>8} | not run (no store at {d}: run benchmarks.scale first)")
            continue
        r = run(d, args.queries)
        print(
            f"{r['items']:>8} | {r['arrays_s']:>8.1f} | {r['old_p50']:>12.1f} |"
            f" {r['old_p95']:>12.1f} | {r['new_p50']:>7.2f} | {r['new_p95']:>7.2f} |"
            f" {r['cands_p95']:>9.0f} | {r['same_top']:>20.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
