"""Free-text search over rationale paragraphs: dense (FAISS), lexical (BM25), or both fused.

`search` answers one mode; `search_passages` fuses the two by reciprocal rank (the default of
the CLI's `search` and the web page `/search`), so that a sentence pasted from a letter finds it
(lexical, and a verbatim match of 8 words or more leads) and a paraphrase finds its kin (dense).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from embeddings import single_query_threads
from imr_graph.index.ids import item_of_window, window_of
from imr_graph.index.indexes import Indexes
from imr_graph.query.fusion import RRF_K
from imr_graph.store.sqlite import Store

MODES = ("fused", "dense", "lexical")

VERBATIM_WORDS = 8


@dataclass(frozen=True)
class Hit:
    """One item found by one mode: its score there and the passage matched."""

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


@dataclass(frozen=True)
class Passage(Hit):
    """One hit of `search_passages`: a Hit with its rank in each mode asked."""

    ranks: dict[str, int]
    verbatim: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 6),
            "letter": self.letter,
            "item": self.item,
            "request": self.request,
            "decision": self.decision,
            "passage": self.passage,
            "item_id": self.item_id,
            "ranks": self.ranks,
            "verbatim": self.verbatim,
        }


def search_passages(
    store: Store, query: str, k: int = 10, mode: str = "fused", indexes: Indexes | None = None
) -> list[Passage]:
    """Passages for `query`: one mode's hits, or dense and lexical fused by reciprocal rank.

    Fused, each mode is asked for 3k items; a lexical hit whose rationale holds the query word
    for word (8 words or more) leads, so a sentence pasted from a letter finds that letter first.
    """
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is unknown: use fused, dense or lexical")
    idx = indexes or Indexes.open(store)
    fused = mode == "fused"
    modes = ("dense", "lexical") if fused else (mode,)
    pool = k * 3 if fused else k
    score: dict[int, float] = {}
    first: dict[int, Hit] = {}
    passage: dict[int, str] = {}
    ranks: dict[int, dict[str, int]] = {}
    verbatim: set[int] = set()
    for m in modes:
        for rank, h in enumerate(search(store, query, k=pool, mode=m, indexes=idx), start=1):
            i = h.item_id
            first.setdefault(i, h)
            score[i] = score.get(i, 0.0) + (1.0 / (RRF_K + rank) if fused else h.score)
            ranks.setdefault(i, {})[m] = rank
            if m == "dense" or i not in passage:
                passage[i] = h.passage  # a dense window is shorter than the whole rationale
            if m == "lexical" and _verbatim(query, h.passage):  # the whole rationale
                verbatim.add(i)
    ranked = sorted(
        score, key=lambda i: (i not in verbatim, -score[i], first[i].letter, first[i].item)
    )[:k]
    return [
        Passage(
            score[i],
            first[i].letter,
            first[i].item,
            first[i].request,
            first[i].decision,
            passage[i],
            i,
            ranks[i],
            i in verbatim,
        )
        for i in ranked
    ]


def _verbatim(query: str, text: str) -> bool:
    """The query occurs in the text word for word (case and spacing aside), 8 words or more."""
    words = query.casefold().split()
    return len(words) >= VERBATIM_WORDS and " ".join(words) in " ".join(text.casefold().split())
