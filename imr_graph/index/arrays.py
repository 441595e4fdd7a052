"""The query engine's view of the graph: items, concepts, sections, regions as numpy arrays.

Built from letters through the same facts the networkx graph records (kg.facts, in
imr_graph.index.build_arrays), saved with the search indexes as .npy files and memory-mapped on
load. Opening a 1e6-item store thus maps files instead of rebuilding a graph of Python objects
(about 200 s and 24 GiB with networkx); networkx stays for notebooks, stats and RDF export.
Item positions are sorted by (letter key, item position), so a letter's items are contiguous.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from embeddings.csr import entry_rows, sorted_positions, take_rows
from imr_graph.index import build_arrays
from imr_graph.index.build_arrays import ITEM_RELATIONS, Tables
from kg.model import Letter

# 2: + concept_secs_*; 3: + form_* (drug routes), fact_* (clinical facts), head_* (the
# concepts of a request's head); 4: routes re-read (a strength in % or mg/g is a topical's).
# Older sets are refused (`imr-graph reindex` rebuilds them; a writable store repairs them on
# open)
FORMAT = 4
TABLES = "tables.json"
_EMPTY = np.empty(0, np.int64)
# per concept: the sections its items cite, how many items cite each, and their split votes
_CONCEPT_SECS = ("concept_secs_ptr", "concept_secs_idx", "concept_secs_n", "concept_secs_split")
_ARRAYS = (
    "letter_keys",
    "letter_dates",
    "letter_ptr",
    "spec_ptr",
    "spec_idx",
    "item_ids",
    "id_order",
    "item_letter",
    "item_pos",
    "item_decision",
    *(f"{r}_{p}" for r in ITEM_RELATIONS for p in ("ptr", "idx")),
    *(f"{t}_items_{p}" for t in ("concept", "region", "section") for p in ("ptr", "idx")),
    *_CONCEPT_SECS,
)

__all__ = ["FORMAT", "TABLES", "GraphArrays", "Tables"]


class GraphArrays:
    """Items as positions 0..n-1 with their concepts, sections, regions, letters and outcomes."""

    def __init__(self, tables: Tables, arrays: dict[str, np.ndarray]) -> None:
        self.tables = tables
        self.a = arrays
        self._concept_cats: list[set[str]] | None = None
        self._sorted_ids: np.ndarray | None = None
        self.n = len(arrays["item_ids"])
        self.concepts = list(tables.concepts)
        self.sections = list(tables.sections)
        self.regions = list(tables.regions)
        self.documents = list(tables.documents)
        self.specialties = list(tables.specialties)
        self.decisions = list(tables.decisions)
        self.forms = list(tables.forms)
        self.clinical = list(tables.clinical)
        self.concept_pos = {c: i for i, c in enumerate(self.concepts)}
        self.region_pos = {r: i for i, r in enumerate(self.regions)}
        self.children: dict[str, list[str]] = {}
        for c, d in tables.concepts.items():
            for p in d["parents"]:
                self.children.setdefault(p, []).append(c)
        self.letter_keys = arrays["letter_keys"]
        self.item_ids = arrays["item_ids"]
        self.item_letter = arrays["item_letter"]
        over = self.decisions.index("overturned") if "overturned" in self.decisions else -1
        self.overturned = np.asarray(arrays["item_decision"]) == over
        self.sec_ptr, self.sec_idx = arrays["msec_ptr"], arrays["msec_idx"]
        df = np.diff(arrays["section_items_ptr"]).astype(np.float64)
        self.idf = np.log((1 + self.n) / (1 + df))

    # ---- building ------------------------------------------------------------------------
    @classmethod
    def build(cls, letters: Iterable[Letter], chunk: int = 2000) -> GraphArrays:
        """From letters, a chunk at a time (so a large store never holds all its Letters)."""
        return cls(*build_arrays.build(letters, chunk))

    def updated(self, removed_letters: Iterable[str], added: Iterable[Letter]) -> GraphArrays:
        """A new GraphArrays without `removed_letters` and with `added` (replacing same keys)."""
        return GraphArrays(*build_arrays.updated(self.tables, self.a, removed_letters, added))

    # ---- persistence ---------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """One .npy per array plus tables.json (the caller makes the folder swap atomic)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(folder / f"{name}.npy", np.asarray(self.a[name]), allow_pickle=False)
        t = self.tables
        doc = {
            "format": FORMAT,
            "items": self.n,
            "letters": len(self.letter_keys),
            **{name: getattr(t, name) for name in Tables.__dataclass_fields__},
        }
        (folder / TABLES).write_text(json.dumps(doc, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> GraphArrays:
        """Read a saved set; ValueError/OSError/KeyError when missing or inconsistent."""
        doc = json.loads((folder / TABLES).read_text())
        fmt = doc.get("format") if isinstance(doc, dict) else None
        if fmt != FORMAT:
            raise ValueError(
                f"{folder / TABLES}: query arrays format {fmt}, this imr-graph reads {FORMAT}: "
                "run `imr-graph reindex`"
            )
        t = Tables(**{k: doc[k] for k in Tables.__dataclass_fields__})
        arrays = {
            # a plain ndarray view of the map: np.memmap's __getitem__ costs ~1 us a call
            name: np.load(
                folder / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False
            ).view(np.ndarray)
            for name in _ARRAYS
        }
        out = cls(t, arrays)
        if out.n != doc["items"] or len(out.letter_keys) != doc["letters"]:
            raise ValueError(f"{folder}: arrays do not match {TABLES}")
        for r in ITEM_RELATIONS:
            if len(arrays[f"{r}_ptr"]) != out.n + 1:
                raise ValueError(f"{folder}: {r} does not cover the items")
        return out

    # ---- lookups -------------------------------------------------------------------------
    def positions(self, item_ids: np.ndarray) -> np.ndarray:
        """Positions of FAISS/BM25 item ids; -1 for ids not in the arrays."""
        ids = np.asarray(item_ids, np.int64)
        order = self.a["id_order"]
        if not self.n:
            return np.full(len(ids), -1, np.int64)
        if self._sorted_ids is None:  # gathered once, not on every query (8 MB at 1e6)
            self._sorted_ids = self.item_ids[order]
        at = sorted_positions(self._sorted_ids, ids)
        return np.where(at >= 0, order[at], -1)

    def _row(self, rel: str, i: int) -> np.ndarray:
        ptr = self.a[f"{rel}_ptr"]
        return self.a[f"{rel}_idx"][ptr[i] : ptr[i + 1]]

    def rows(self, rel: str, items: np.ndarray) -> list[list[int]]:
        """The `rel` targets of many items at once (one numpy gather, then Python lists)."""
        ptr, flat = take_rows(self.a[f"{rel}_ptr"], self.a[f"{rel}_idx"], np.asarray(items))
        values = flat.tolist()
        bounds = ptr.tolist()
        return [values[bounds[j] : bounds[j + 1]] for j in range(len(items))]

    def item_concepts(self, i: int) -> list[str]:
        return [self.concepts[c] for c in self._row("req", i)]

    def item_heads(self, i: int) -> list[str]:
        """The concepts of item i's request head: its own treatment (see normalize_request)."""
        return [self.concepts[c] for c in self._row("head", i)]

    def item_route(self, i: int) -> str | None:
        """A drug item's route or form (kg/forms.py); None for procedures and when unsaid."""
        row = self._row("form", i)
        return self.forms[int(row[0])] if len(row) else None

    def item_facts(self, i: int) -> frozenset[str]:
        """The clinical facts of item i (kg/clinical.py: heading, applied guideline, rationale)."""
        return frozenset(self.tables.clinical[self.clinical[int(c)]] for c in self._row("fact", i))

    def has_rows(self, rel: str, items: np.ndarray) -> np.ndarray:
        """Whether each of `items` has at least one `rel` target (a bool per item)."""
        ptr = self.a[f"{rel}_ptr"]
        items = np.asarray(items, np.int64)
        return np.asarray(ptr[items + 1] > ptr[items])

    def routes(self, items: np.ndarray) -> np.ndarray:
        """Each item's route as an index into `forms`, -1 where none is said."""
        items = np.asarray(items, np.int64)
        has = self.has_rows("form", items)
        out = np.full(len(items), -1, np.int64)
        out[has] = self.a["form_idx"][self.a["form_ptr"][items[has]]]
        return out

    def item_regions(self, i: int) -> list[str]:
        return [self.regions[r] for r in self._row("reg", i)]

    def item_sections(self, i: int) -> np.ndarray:
        """Positions of the sections MAXIMUS cited for item i."""
        return self._row("msec", i)

    def letter_of(self, i: int) -> str:
        return str(self.letter_keys[self.item_letter[i]])

    def position_in_letter(self, i: int) -> int:
        return int(self.a["item_pos"][i])

    def decision(self, i: int) -> str:
        return self.decisions[int(self.a["item_decision"][i])]

    def date(self, i: int) -> str | None:
        return str(self.a["letter_dates"][self.item_letter[i]]) or None

    def parents(self, concept: str) -> list[str]:
        d = self.tables.concepts.get(concept)
        return list(d["parents"]) if d else []

    def label(self, node: str) -> str:
        """Label of a concept, section, region, document or specialty id (else the id)."""
        t = self.tables
        for records in (t.concepts, t.sections, t.documents):
            if node in records:
                return str(records[node]["label"])
        for labels in (t.regions, t.specialties, t.categories):
            if node in labels:
                return labels[node]
        return node

    def _inv(self, name: str, pos: int | None) -> np.ndarray:
        if pos is None:
            return _EMPTY
        ptr = self.a[f"{name}_items_ptr"]
        return np.asarray(self.a[f"{name}_items_idx"][ptr[pos] : ptr[pos + 1]])

    def narrower(self, concept: str) -> list[str]:
        """Every concept below `concept` (its narrower kinds, at any depth)."""
        out: list[str] = []
        todo = list(self.children.get(concept, []))
        while todo:
            c = todo.pop()
            if c not in out and c != concept:
                out.append(c)
                todo.extend(self.children.get(c, []))
        return out

    def items_of(self, concept: str, exclude: np.ndarray | None = None) -> np.ndarray:
        items = self._inv("concept", self.concept_pos.get(concept))
        return items[~exclude[items]] if exclude is not None and len(items) else items

    def region_items(self, region: str) -> np.ndarray:
        return self._inv("region", self.region_pos.get(region))

    def section_items(self, sp: int) -> np.ndarray:
        return self._inv("section", sp)

    def exclude_mask(self, letters: frozenset[str]) -> np.ndarray | None:
        if not letters:
            return None
        mask = np.zeros(self.n, bool)
        ptr = self.a["letter_ptr"]
        for k in letters:
            at = int(np.searchsorted(self.letter_keys, k))
            if at < len(self.letter_keys) and self.letter_keys[at] == k:
                mask[ptr[at] : ptr[at + 1]] = True
        return mask

    # ---- filters -------------------------------------------------------------------------
    def rows_matching(
        self, rel: str, targets: np.ndarray, items: np.ndarray | None = None
    ) -> np.ndarray:
        """Items with at least one `rel` target among `targets` (a bool mask over the table):
        over every item, or over `items` only (their rows gathered, in that order)."""
        ptr, idx = self.a[f"{rel}_ptr"], self.a[f"{rel}_idx"]
        if items is not None:
            ptr, idx = take_rows(ptr, idx, items)
        return _any_in_row(ptr, idx, targets)

    def letters_matching_specialty(self, targets: np.ndarray) -> np.ndarray:
        """Items whose letter's reviewer has a specialty among `targets` (mask over the table)."""
        letters = _any_in_row(self.a["spec_ptr"], self.a["spec_idx"], targets)
        return letters[np.asarray(self.item_letter)] if self.n else np.zeros(0, bool)

    def concept_categories(self) -> list[set[str]]:
        """Each concept's categories, following broader concepts up (as kg.graph.categories)."""
        if self._concept_cats is None:
            self._concept_cats = self._categories_of_concepts()
        return self._concept_cats

    def _categories_of_concepts(self) -> list[set[str]]:
        memo: dict[str, set[str]] = {}

        def up(c: str, seen: frozenset[str]) -> set[str]:
            if c in memo:
                return memo[c]
            d = self.tables.concepts.get(c, {})
            out = {d["category"]} if d.get("category") else set()
            for p in d.get("parents", []):
                if p not in seen:
                    out |= up(p, seen | {p})
            memo[c] = out
            return out

        return [up(c, frozenset({c})) for c in self.concepts]


def _any_in_row(ptr: np.ndarray, idx: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each CSR row: does it hold any index where `targets` is True?"""
    n = len(ptr) - 1
    idx = np.asarray(idx)
    if not len(idx) or not targets.any():
        return np.zeros(n, bool)
    out = np.zeros(n, bool)
    out[entry_rows(ptr)[targets[idx]]] = True
    return out
