"""A read-only array view of the item/concept/section part of the graph, for the query hot path.

Walking networkx edge views in Python costs time linear in the items a concept has (2.8 s p95 at
1e5 items, benchmarks/query.py); the same scoring over CSR-like numpy arrays costs milliseconds.
Built once per engine from the graph; the graph stays the source for explanations.
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import numpy as np

from kg import graph as G

_EMPTY = np.empty(0, np.int64)


class GraphArrays:
    """Items as positions 0..n-1 with their concepts, MAXIMUS sections, regions and outcomes."""

    def __init__(self, g: nx.MultiDiGraph) -> None:
        self.items: list[str] = []
        letters: list[str] = []
        overturned: list[bool] = []
        for n, d in g.nodes(data=True):
            if d.get("kind") == G.ITEM:
                self.items.append(n)
                letters.append(d["letter"])
                overturned.append(d["decision"] == "overturned")
        self.pos = {n: i for i, n in enumerate(self.items)}
        self.n = len(self.items)
        self.overturned = np.array(overturned, bool)
        self.letter_items: dict[str, np.ndarray] = {
            k: np.array(v, np.int64) for k, v in _group(letters).items()
        }
        by_concept: dict[str, list[int]] = defaultdict(list)
        by_region: dict[str, list[int]] = defaultdict(list)
        item_secs: list[list[int]] = [[] for _ in self.items]
        self.sections: list[str] = []
        self.sec_pos: dict[str, int] = {}
        by_section: list[list[int]] = []
        for u, v, d in g.edges(data=True):
            i = self.pos.get(u)
            if i is None:
                continue
            rel = d.get("rel")
            if rel == G.REQUESTS:
                by_concept[v].append(i)
            elif rel == G.CONCERNS_REGION:
                by_region[v].append(i)
            elif rel == G.CITES_SECTION and d.get("by") == "maximus":
                s = self.sec_pos.get(v)
                if s is None:
                    s = self.sec_pos[v] = len(self.sections)
                    self.sections.append(v)
                    by_section.append([])
                by_section[s].append(i)
                item_secs[i].append(s)
        self.concept_items = {c: np.unique(np.array(v, np.int64)) for c, v in by_concept.items()}
        self.region_items = {r: np.unique(np.array(v, np.int64)) for r, v in by_region.items()}
        self.section_items = [np.array(v, np.int64) for v in by_section]
        self.n_secs = np.array([len(s) for s in item_secs], np.int64)
        self.sec_ptr = np.concatenate([[0], np.cumsum(self.n_secs)])
        self.sec_idx = np.array([s for ss in item_secs for s in ss], np.int64)
        self.entry_item = np.repeat(np.arange(self.n), self.n_secs)
        df = np.array([len(x) for x in self.section_items], np.float64)
        self.idf = np.log((1 + self.n) / (1 + df))

    def item_sections(self, i: int) -> np.ndarray:
        return self.sec_idx[self.sec_ptr[i] : self.sec_ptr[i + 1]]

    def exclude_mask(self, letters: frozenset[str]) -> np.ndarray | None:
        if not letters:
            return None
        mask = np.zeros(self.n, bool)
        for k in letters:
            mask[self.letter_items.get(k, _EMPTY)] = True
        return mask

    def items_of(self, concept: str, exclude: np.ndarray | None = None) -> np.ndarray:
        items = self.concept_items.get(concept, _EMPTY)
        return items[~exclude[items]] if exclude is not None and len(items) else items

    def section_weights(self, items: np.ndarray, idf: bool = True) -> np.ndarray:
        """Per-section sum over items' MAXIMUS sections (inverse-frequency weighted or split)."""
        if not len(items):
            return np.zeros(len(self.sections))
        mark = np.zeros(self.n, bool)
        mark[items] = True
        take = mark[self.entry_item]
        flat = self.sec_idx[take]
        if idf:
            w = self.idf[flat]
        else:  # each item's vote split among its sections
            w = 1.0 / self.n_secs[self.entry_item[take]]
        return np.bincount(flat, weights=w, minlength=len(self.sections))

    def support(self, section_mass: np.ndarray) -> np.ndarray:
        """Mass of every item: the sum of the masses of the sections it cites."""
        out = np.zeros(self.n)
        for s in np.flatnonzero(section_mass):
            out[self.section_items[s]] += section_mass[s]
        return out


def _group(keys: list[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        out[k].append(i)
    return out
