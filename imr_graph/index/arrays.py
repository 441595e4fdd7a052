"""The query engine's view of the graph: items, concepts, sections, regions as numpy arrays.

Built from letters through the same facts the networkx graph records (kg.graph.concept_facts,
citation_facts, item_concepts), saved with the search indexes as .npy files and memory-mapped on
load. Opening a 1e6-item store thus maps files instead of rebuilding a graph of Python objects
(about 200 s and 24 GiB with networkx); networkx stays for notebooks, stats and RDF export.
Item positions are sorted by (letter key, item position), so a letter's items are contiguous.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings.csr import entry_rows, sorted_positions, sorted_unique, take_rows
from kg import graph as G
from kg.model import Letter
from kg.vocab import load_vocabulary

FORMAT = 2  # 2: + concept_secs_* (format-1 sets derive them on load; the next save writes 2)
TABLES = "tables.json"
_EMPTY = np.empty(0, np.int64)
# CSR relations of an item (ptr over items, idx into a table); "msec" = MAXIMUS sections
ITEM_RELATIONS = ("req", "reg", "msec", "asec", "mdoc")
_RELATION_TABLE = {
    "req": "concepts",
    "reg": "regions",
    "msec": "sections",
    "asec": "sections",
    "mdoc": "documents",
}
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


@dataclass
class Tables:
    """The small vocabularies the arrays index into, keyed by node id (as in the graph)."""

    concepts: dict[str, dict] = field(default_factory=dict)  # label, parents, category
    categories: dict[str, str] = field(default_factory=dict)  # id -> label
    sections: dict[str, dict] = field(default_factory=dict)  # label, document
    regions: dict[str, str] = field(default_factory=dict)
    documents: dict[str, dict] = field(default_factory=dict)  # label, source
    specialties: dict[str, str] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)

    def merge(self, other: Tables) -> None:
        """Union; a shared entry keeps the smallest label, as the graph's shared nodes do."""
        for name in ("concepts", "sections", "documents"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for k, v in theirs.items():
                if k not in mine:
                    mine[k] = dict(v)
                elif v["label"] < mine[k]["label"]:
                    mine[k]["label"] = v["label"]
        for name in ("categories", "regions", "specialties", "decisions"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for k, v in theirs.items():
                if k not in mine or v < mine[k]:
                    mine[k] = v


@dataclass
class _Parts:
    """Items and letters before sorting: index arrays into per-part table orders."""

    tables: Tables
    letter_keys: list[str]
    letter_dates: list[str]
    spec: tuple[np.ndarray, np.ndarray]  # CSR over letters into specialties
    item_ids: np.ndarray
    item_letter: np.ndarray
    item_pos: np.ndarray
    item_decision: np.ndarray
    rel: dict[str, tuple[np.ndarray, np.ndarray]]  # CSR over items into tables


def _csr(rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    lens = np.fromiter((len(r) for r in rows), np.int64, count=len(rows))
    ptr = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(lens, out=ptr[1:])
    idx = np.fromiter((x for r in rows for x in r), np.int64, count=int(ptr[-1]))
    return ptr, idx


def _parts_from_letters(letters: Iterable[Letter]) -> _Parts:
    vocab = load_vocabulary()
    t = Tables()
    pos: dict[str, dict[str, int]] = {k: {} for k in _RELATION_TABLE.values()}
    pos["specialties"], pos["decisions"] = {}, {}

    def at(table: str, key: str) -> int:
        got = pos[table].get(key)
        if got is None:
            got = pos[table][key] = len(pos[table])
        return got

    def concept(cid: str) -> int:
        if cid not in t.concepts:
            f = G.concept_facts(cid, vocab)
            t.concepts[cid] = {"label": f.label, "parents": list(f.parents), "category": f.category}
            if f.category:
                t.categories[f.category] = f.category_label or f.category
            for p in f.parents:
                concept(p)
        return at("concepts", cid)

    keys, dates, specs = [], [], []
    ids, owner, positions, decisions = [], [], [], []
    rel: dict[str, list[list[int]]] = {r: [] for r in ITEM_RELATIONS}
    for li, letter in enumerate(letters):
        keys.append(letter.key)
        dates.append(letter.dates.decision_date or "")
        row = []
        for spec in letter.reviewer.specialties:
            sid = f"specialty:{G.slug(spec)}"
            if sid not in t.specialties or spec < t.specialties[sid]:
                t.specialties[sid] = spec
            row.append(at("specialties", sid))
        specs.append(row)
        for item in letter.items:
            ids.append(G.item_int_id(letter.key, item.position))
            owner.append(li)
            positions.append(item.position)
            t.decisions.setdefault(item.decision, item.decision)
            decisions.append(at("decisions", item.decision))
            ic = G.item_concepts(item)
            rel["req"].append([concept(c) for c in ic.treatments])
            for r in ic.regions:
                label = G.concept_label(vocab, r)
                if r not in t.regions or label < t.regions[r]:
                    t.regions[r] = label
            rel["reg"].append([at("regions", r) for r in ic.regions])
            msec: list[int] = []
            asec: list[int] = []
            mdoc: list[int] = []
            for by, cites in zip(
                G.CITED_BY,
                (item.maximus_citations, item.claims_administrator_citations),
                strict=True,
            ):
                for c in cites:
                    f = G.citation_facts(c, by)
                    t.merge(
                        Tables(
                            sections={
                                sid: {"label": lab, "document": f.document_id}
                                for sid, lab in f.sections
                            },
                            documents={
                                f.document_id: {"label": f.document_label, "source": f.source_label}
                            },
                        )
                    )
                    secs = [at("sections", sid) for sid, _ in f.sections]
                    asec.extend(s for s in secs if s not in asec)
                    if by == "maximus":
                        msec.extend(s for s in secs if s not in msec)
                        d = at("documents", f.document_id)
                        if d not in mdoc:
                            mdoc.append(d)
            rel["msec"].append(msec)
            rel["asec"].append(asec)
            rel["mdoc"].append(mdoc)
    # table dicts must list keys in the order of their positions
    t.concepts = {k: t.concepts[k] for k in pos["concepts"]}
    t.sections = {k: t.sections[k] for k in pos["sections"]}
    t.regions = {k: t.regions[k] for k in pos["regions"]}
    t.documents = {k: t.documents[k] for k in pos["documents"]}
    t.specialties = {k: t.specialties[k] for k in pos["specialties"]}
    t.decisions = {k: k for k in pos["decisions"]}
    return _Parts(
        t,
        keys,
        dates,
        _csr(specs),
        np.array(ids, np.int64),
        np.array(owner, np.int64),
        np.array(positions, np.int64),
        np.array(decisions, np.int64),
        {r: _csr(rows) for r, rows in rel.items()},
    )


def _merge(parts: list[_Parts]) -> _Parts:
    """One part from many: tables unioned, indexes remapped, letters and items concatenated."""
    if len(parts) == 1:
        return parts[0]
    t = Tables()
    for p in parts:
        t.merge(p.tables)
    # union tables keep first-seen order; then remap every part's indexes into them
    order: dict[str, dict[str, int]] = {}
    for name in ("concepts", "sections", "regions", "documents", "specialties", "decisions"):
        keys: dict[str, int] = {}
        for p in parts:
            for k in getattr(p.tables, name):
                keys.setdefault(k, len(keys))
        order[name] = keys
        setattr(t, name, {k: getattr(t, name)[k] for k in keys})

    def remap(p: _Parts, name: str) -> np.ndarray:
        return np.array([order[name][k] for k in getattr(p.tables, name)], np.int64)

    maps = [{n: remap(p, n) for n in order} for p in parts]
    base = np.cumsum([0] + [len(p.letter_keys) for p in parts])

    def cat_csr(pairs: list[tuple[np.ndarray, np.ndarray]], m: list[np.ndarray]):
        ptrs, idxs, off = [np.zeros(1, np.int64)], [], 0
        for (ptr, idx), mm in zip(pairs, m, strict=True):
            ptrs.append(ptr[1:] + off)
            idxs.append(mm[idx] if len(idx) else _EMPTY)
            off += int(ptr[-1])
        return np.concatenate(ptrs), np.concatenate(idxs)

    rel = {
        r: cat_csr([p.rel[r] for p in parts], [mp[_RELATION_TABLE[r]] for mp in maps])
        for r in ITEM_RELATIONS
    }
    return _Parts(
        t,
        [k for p in parts for k in p.letter_keys],
        [d for p in parts for d in p.letter_dates],
        cat_csr([p.spec for p in parts], [mp["specialties"] for mp in maps]),
        np.concatenate([p.item_ids for p in parts]),
        np.concatenate([p.item_letter + b for p, b in zip(parts, base[:-1], strict=True)]),
        np.concatenate([p.item_pos for p in parts]),
        np.concatenate(
            [mp["decisions"][p.item_decision] for p, mp in zip(parts, maps, strict=True)]
        ),
        rel,
    )


def _inverse(ptr: np.ndarray, idx: np.ndarray, n_targets: int) -> tuple[np.ndarray, np.ndarray]:
    """target -> sorted unique items, from item -> targets."""
    pairs = sorted_unique(np.asarray(idx) * (len(ptr) + 1) + entry_rows(ptr))  # (target, item)
    tgt, items = pairs // (len(ptr) + 1), pairs % (len(ptr) + 1)
    out_ptr = np.zeros(n_targets + 1, np.int64)
    np.cumsum(np.bincount(tgt, minlength=n_targets), out=out_ptr[1:])
    return out_ptr, items


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
        parts, buf = [], []
        for letter in letters:
            buf.append(letter)
            if len(buf) >= chunk:
                parts.append(_parts_from_letters(buf))
                buf = []
        if buf or not parts:
            parts.append(_parts_from_letters(buf))
        return cls._finish(_merge(parts))

    def updated(self, removed_letters: Iterable[str], added: Iterable[Letter]) -> GraphArrays:
        """A new GraphArrays without `removed_letters` and with `added` (replacing same keys)."""
        added = list(added)
        drop = set(removed_letters) | {x.key for x in added}
        return GraphArrays._finish(_merge([self._without(drop), _parts_from_letters(added)]))

    def _without(self, letters: set[str]) -> _Parts:
        a = self.a
        keys = np.asarray(self.letter_keys)
        # dtype=str sizes the array to the longest key given: cast to the stored keys' width,
        # a longer key would be cut and could match (and drop) a stored key it starts with
        keep_l = ~np.isin(keys, np.array(sorted(letters), dtype=str))
        lrows = np.flatnonzero(keep_l)
        irows = np.flatnonzero(keep_l[np.asarray(a["item_letter"])])
        new_l = np.cumsum(keep_l) - 1
        return _Parts(
            self.tables,
            [str(k) for k in keys[lrows]],
            [str(d) for d in np.asarray(a["letter_dates"])[lrows]],
            take_rows(a["spec_ptr"], a["spec_idx"], lrows),
            np.asarray(a["item_ids"])[irows],
            new_l[np.asarray(a["item_letter"])[irows]],
            np.asarray(a["item_pos"])[irows],
            np.asarray(a["item_decision"])[irows],
            {r: take_rows(a[f"{r}_ptr"], a[f"{r}_idx"], irows) for r in ITEM_RELATIONS},
        )

    @classmethod
    def _finish(cls, p: _Parts) -> GraphArrays:
        """Sort letters by key and items by (letter, position); drop unused table entries."""
        keys = np.array(p.letter_keys, dtype=str) if p.letter_keys else np.empty(0, "<U1")
        lorder = np.argsort(keys, kind="stable")
        lrank = np.empty(len(keys), np.int64)
        lrank[lorder] = np.arange(len(keys))
        iorder = np.lexsort((p.item_pos, lrank[p.item_letter])) if len(p.item_ids) else _EMPTY
        rel = {r: take_rows(*p.rel[r], iorder) for r in ITEM_RELATIONS}
        spec = take_rows(*p.spec, lorder)
        # compact tables to what the items use (concepts with their broader chains)
        t = p.tables

        def used(table: dict, idx: np.ndarray) -> set[str]:
            names = list(table)  # once per table: indexing the dict's keys per entry is O(n^2)
            return {names[i] for i in sorted_unique(idx).tolist()}

        used_c = used(t.concepts, rel["req"][1])
        todo = list(used_c)
        while todo:
            for parent in t.concepts[todo.pop()]["parents"]:
                if parent not in used_c:
                    used_c.add(parent)
                    todo.append(parent)
        used_s = used(t.sections, rel["asec"][1])
        keep = {
            "concepts": used_c,
            "sections": used_s,
            "regions": used(t.regions, rel["reg"][1]),
            "documents": used(t.documents, rel["mdoc"][1])
            | {t.sections[s]["document"] for s in used_s},
            "specialties": used(t.specialties, spec[1]),
            "decisions": used(t.decisions, p.item_decision),
        }
        nt = Tables(categories=dict(t.categories))
        remaps: dict[str, np.ndarray] = {}
        for name, used in keep.items():
            old = getattr(t, name)
            new = {k: old[k] for k in sorted(used) if k in old}
            setattr(nt, name, new)
            where = {k: i for i, k in enumerate(new)}
            remaps[name] = np.array([where.get(k, -1) for k in old], np.int64)
        nt.categories = {
            c["category"]: t.categories[c["category"]]
            for c in nt.concepts.values()
            if c["category"]
        }
        arrays: dict[str, np.ndarray] = {
            "letter_keys": keys[lorder],
            "letter_dates": np.array(p.letter_dates, dtype="<U10")[lorder]
            if p.letter_dates
            else np.empty(0, "<U10"),
        }
        counts = np.bincount(lrank[p.item_letter], minlength=len(keys))
        arrays["letter_ptr"] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        arrays["spec_ptr"], arrays["spec_idx"] = spec[0], _remap(remaps["specialties"], spec[1])
        arrays["item_ids"] = p.item_ids[iorder]
        arrays["id_order"] = np.argsort(arrays["item_ids"], kind="stable")
        arrays["item_letter"] = lrank[p.item_letter][iorder]
        arrays["item_pos"] = p.item_pos[iorder]
        arrays["item_decision"] = _remap(remaps["decisions"], p.item_decision[iorder])
        for r in ITEM_RELATIONS:
            arrays[f"{r}_ptr"] = rel[r][0]
            arrays[f"{r}_idx"] = _remap(remaps[_RELATION_TABLE[r]], rel[r][1])
        for name, r, table in (
            ("concept", "req", nt.concepts),
            ("region", "reg", nt.regions),
            ("section", "msec", nt.sections),
        ):
            ptr, idx = _inverse(arrays[f"{r}_ptr"], arrays[f"{r}_idx"], len(table))
            arrays[f"{name}_items_ptr"], arrays[f"{name}_items_idx"] = ptr, idx
        arrays.update(_concept_sections(arrays, len(nt.concepts), len(nt.sections)))
        return cls(nt, arrays)

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
            **{
                name: getattr(t, name)
                for name in (
                    "concepts",
                    "categories",
                    "sections",
                    "regions",
                    "documents",
                    "specialties",
                    "decisions",
                )
            },
        }
        (folder / TABLES).write_text(json.dumps(doc, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> GraphArrays:
        """Read a saved set; ValueError/OSError/KeyError when missing or inconsistent."""
        doc = json.loads((folder / TABLES).read_text())
        fmt = doc.get("format") if isinstance(doc, dict) else None
        if fmt not in (1, FORMAT):
            raise ValueError(f"{folder / TABLES}: unknown format")
        t = Tables(**{k: doc[k] for k in Tables.__dataclass_fields__})
        arrays = {
            # a plain ndarray view of the map: np.memmap's __getitem__ costs ~1 us a call
            name: np.load(
                folder / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False
            ).view(np.ndarray)
            for name in _ARRAYS
            if fmt == FORMAT or name not in _CONCEPT_SECS
        }
        if fmt == 1:  # derived from the saved arrays (~1 s at 1e6) until the next save
            arrays.update(_concept_sections(arrays, len(t.concepts), len(t.sections)))
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
        for table in (t.concepts, t.sections, t.documents):
            if node in table:
                return table[node]["label"]
        for table in (t.regions, t.specialties, t.categories):
            if node in table:
                return table[node]
        return node

    def _inv(self, name: str, pos: int | None) -> np.ndarray:
        if pos is None:
            return _EMPTY
        ptr = self.a[f"{name}_items_ptr"]
        return np.asarray(self.a[f"{name}_items_idx"][ptr[pos] : ptr[pos + 1]])

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
    def rows_matching(self, rel: str, targets: np.ndarray) -> np.ndarray:
        """Items with at least one `rel` target among `targets` (a bool mask over the table)."""
        return _any_in_row(self.a[f"{rel}_ptr"], self.a[f"{rel}_idx"], targets)

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


def _concept_sections(a: dict[str, np.ndarray], n_concepts: int, n_sections: int) -> dict:
    """concept -> sections cited by its items, with item counts and split votes (CSR)."""
    cptr, citems = a["concept_items_ptr"], np.asarray(a["concept_items_idx"])
    sptr, flat = take_rows(a["msec_ptr"], a["msec_idx"], citems)
    lens = np.diff(sptr)
    owner = np.repeat(entry_rows(cptr), lens)
    keys, at = np.unique(owner * max(n_sections, 1) + flat, return_inverse=True)
    ptr = np.zeros(n_concepts + 1, np.int64)
    np.cumsum(np.bincount(keys // max(n_sections, 1), minlength=n_concepts), out=ptr[1:])
    return {
        "concept_secs_ptr": ptr,
        "concept_secs_idx": (keys % max(n_sections, 1)).astype(np.int64),
        "concept_secs_n": np.bincount(at, minlength=len(keys)).astype(np.int64),
        "concept_secs_split": np.bincount(
            at, weights=np.repeat(1.0 / np.maximum(lens, 1), lens), minlength=len(keys)
        ),
    }


def _remap(m: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return m[idx] if len(idx) else _EMPTY


def _any_in_row(ptr: np.ndarray, idx: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each CSR row: does it hold any index where `targets` is True?"""
    n = len(ptr) - 1
    idx = np.asarray(idx)
    if not len(idx) or not targets.any():
        return np.zeros(n, bool)
    out = np.zeros(n, bool)
    out[entry_rows(ptr)[targets[idx]]] = True
    return out
