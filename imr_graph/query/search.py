"""Free-text search over rationale paragraphs: dense (FAISS) or lexical (BM25)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from embeddings import single_query_threads
from imr_graph.index.ids import item_of_window, window_of
from imr_graph.index.indexes import Indexes
from imr_graph.store.sqlite import Store


@dataclass(frozen=True)
class Hit:
    score: float
    letter: str
    item: int
    request: str
    decision: str
    passage: str
    item_id: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def search(
    store: Store, query: str, k: int = 10, mode: str = "dense", indexes: Indexes | None = None
) -> list[Hit]:
    idx = indexes or Indexes.open(store)
    scored: list[tuple[int, float, int | None]]  # (item, score, best window's vector id)
    if mode == "lexical":
        scored = [(iid, s, None) for iid, s in idx.lexical.search(query, k)]
    else:
        with single_query_threads():
            qv = idx.encoder.encode([query])
            scores, vids = idx.rationales.search(np.asarray(qv, dtype=np.float32), k * 4)
        best: dict[int, tuple[float, int]] = {}
        for s, v in zip(scores[0], vids[0], strict=True):
            if v < 0:
                continue
            iid = item_of_window(int(v))
            if iid not in best or s > best[iid][0]:
                best[iid] = (float(s), int(v))
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:k]
        scored = [(iid, s, vid) for iid, (s, vid) in ranked]
    with store.snapshot():  # one SQL state for all the hits
        rows = store.items_by_id([s[0] for s in scored])
    windows: dict[int, list[str]] = {}
    hits = []
    for iid, s, vid in scored:
        if iid not in rows:
            continue
        key, pos, request, decision, rationale = rows[iid]
        passage = rationale
        if vid is not None:
            if iid not in windows:
                windows[iid] = idx.encoder.split_windows(rationale) or [rationale]
            n = window_of(vid)
            passage = windows[iid][min(n, len(windows[iid]) - 1)]
        hits.append(Hit(float(s), key, pos, request, decision, passage, iid))
    return hits
