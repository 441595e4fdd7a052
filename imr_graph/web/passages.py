"""Passage search with dense and lexical hits fused by reciprocal rank (the page's default).

`imr_graph.query.search` answers one mode at a time; this fuses the two here, so that a sentence
pasted from a letter finds it (lexical, and a verbatim match of 8 words or more leads) and a
paraphrase finds its kin (dense).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imr_graph.store.sqlite import Store

RRF_K = 60
MODES = ("fused", "dense", "lexical")


@dataclass(frozen=True)
class Passage:
    """One hit: the item, its decision, the passage matched, and the rank in each mode."""

    score: float
    letter: str
    item: int
    request: str
    decision: str
    passage: str
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
            "ranks": self.ranks,
            "verbatim": self.verbatim,
        }


def search_passages(store: Store, indexes: Any, q: str, k: int, mode: str) -> list[Passage]:
    from imr_graph.query.search import search

    modes = ("dense", "lexical") if mode == "fused" else (mode,)
    pool = k * 3 if mode == "fused" else k
    best: dict[tuple[str, int], dict[str, Any]] = {}
    for m in modes:
        for rank, h in enumerate(search(store, q, k=pool, mode=m, indexes=indexes), start=1):
            key = (h.letter, h.item)
            hit = best.setdefault(key, {"score": 0.0, "hit": h, "ranks": {}, "passage": h.passage})
            hit["score"] += 1.0 / (RRF_K + rank) if mode == "fused" else h.score
            hit["ranks"][m] = rank
            if m == "lexical" and _verbatim(q, h.passage):  # a lexical hit's passage: the rationale
                hit["verbatim"] = True
            if m == "dense":
                hit["passage"] = h.passage  # a window, shorter than the whole rationale
    # a sentence pasted from a letter finds that letter first: verbatim matches lead
    ranked = sorted(
        best.items(), key=lambda kv: (not kv[1].get("verbatim"), -kv[1]["score"], kv[0])
    )[:k]
    return [
        Passage(
            v["score"],
            letter,
            item,
            v["hit"].request,
            v["hit"].decision,
            v["passage"],
            v["ranks"],
            bool(v.get("verbatim")),
        )
        for (letter, item), v in ranked
    ]


def _verbatim(q: str, text: str) -> bool:
    """The query occurs in the text word for word (case and spacing aside), 8 words or more."""
    words = q.casefold().split()
    return len(words) >= 8 and " ".join(words) in " ".join(text.casefold().split())
