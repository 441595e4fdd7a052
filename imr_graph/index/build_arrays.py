"""Building the query arrays from letters, through the same facts the networkx graph records.

Every letter goes through kg.facts.letter_facts (the walk the graph and the RDF use); a chunk of
letters becomes one part, parts are merged, then letters are sorted by key and items by (letter,
position) and the tables compacted to what the items use. The result is what
imr_graph.index.arrays.GraphArrays wraps, saves and memory-maps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from embeddings.csr import entry_rows, sorted_unique, take_rows
from kg.facts import MAXIMUS, concept_chain, letter_facts, smallest_label
from kg.model import Letter

_EMPTY = np.empty(0, np.int64)
# CSR relations of an item (ptr over items, idx into a table); "msec" = MAXIMUS sections
# "form" = a drug's route (kg/forms.py), "fact" = clinical facts (kg/clinical.py), "head" =
# the concepts of the request's head (kg.normalize.normalize_request)
ITEM_RELATIONS = ("req", "reg", "msec", "asec", "mdoc", "form", "fact", "head")
RELATION_TABLE = {
    "req": "concepts",
    "head": "concepts",
    "reg": "regions",
    "msec": "sections",
    "asec": "sections",
    "mdoc": "documents",
    "form": "forms",
    "fact": "clinical",
}
# the tables whose entries are plain labels (merged by keeping the smallest)
_LABEL_TABLES = ("categories", "regions", "specialties", "decisions", "forms", "clinical")
Arrays = dict[str, np.ndarray]


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
    forms: dict[str, str] = field(default_factory=dict)  # route -> route
    clinical: dict[str, str] = field(default_factory=dict)  # fact id -> fact

    def merge(self, other: Tables) -> None:
        """Union; a shared entry keeps the smallest label, as the graph's shared nodes do."""
        for name in ("concepts", "sections", "documents"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for k, v in theirs.items():
                if k not in mine:
                    mine[k] = dict(v)
                else:
                    mine[k]["label"] = smallest_label(mine[k]["label"], v["label"])
        for name in _LABEL_TABLES:
            mine, theirs = getattr(self, name), getattr(other, name)
            for k, v in theirs.items():
                mine[k] = smallest_label(mine.get(k), v)


# the tables items or letters index into (every table but the categories)
_INDEXED_TABLES = tuple(n for n in Tables.__dataclass_fields__ if n != "categories")


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
    t = Tables()
    pos: dict[str, dict[str, int]] = {k: {} for k in RELATION_TABLE.values()}
    pos["specialties"], pos["decisions"] = {}, {}

    def at(table: str, key: str) -> int:
        got = pos[table].get(key)
        if got is None:
            got = pos[table][key] = len(pos[table])
        return got

    keys, dates, specs = [], [], []
    ids, owner, positions, decisions = [], [], [], []
    rel: dict[str, list[list[int]]] = {r: [] for r in ITEM_RELATIONS}
    for li, letter in enumerate(letters):
        lf = letter_facts(letter)
        keys.append(letter.key)
        dates.append(letter.dates.decision_date or "")
        for sid, spec in lf.specialties:
            t.specialties[sid] = smallest_label(t.specialties.get(sid), spec)
        specs.append([at("specialties", sid) for sid, _ in lf.specialties])
        for f in lf.items:
            ids.append(f.int_id)
            owner.append(li)
            positions.append(f.item.position)
            t.decisions.setdefault(f.item.decision, f.item.decision)
            decisions.append(at("decisions", f.item.decision))
            for c in concept_chain(f.treatments):
                if c.id not in t.concepts:
                    t.concepts[c.id] = {
                        "label": c.label,
                        "parents": list(c.parents),
                        "category": c.category,
                    }
                    if c.category:
                        t.categories[c.category] = c.category_label or c.category
                at("concepts", c.id)
            rel["req"].append([at("concepts", c) for c in f.treatments])
            rel["head"].append([at("concepts", c) for c in f.heads])
            for r, label in f.regions:
                t.regions[r] = smallest_label(t.regions.get(r), label)
            rel["reg"].append([at("regions", r) for r, _ in f.regions])
            msec: list[int] = []
            asec: list[int] = []
            mdoc: list[int] = []
            for cf in f.citations:
                t.merge(
                    Tables(
                        sections={
                            sid: {"label": lab, "document": cf.document_id}
                            for sid, lab in cf.sections
                        },
                        documents={
                            cf.document_id: {"label": cf.document_label, "source": cf.source_label}
                        },
                    )
                )
                secs = [at("sections", sid) for sid, _ in cf.sections]
                asec.extend(s for s in secs if s not in asec)
                if cf.by == MAXIMUS:
                    msec.extend(s for s in secs if s not in msec)
                    d = at("documents", cf.document_id)
                    if d not in mdoc:
                        mdoc.append(d)
            rel["msec"].append(msec)
            rel["asec"].append(asec)
            rel["mdoc"].append(mdoc)
            if f.route:
                t.forms[f.route] = f.route
            rel["form"].append([at("forms", f.route)] if f.route else [])
            for fid, fact in f.clinical:
                t.clinical[fid] = fact
            rel["fact"].append([at("clinical", fid) for fid, _ in f.clinical])
    # table dicts must list keys in the order of their positions
    t.concepts = {k: t.concepts[k] for k in pos["concepts"]}
    t.sections = {k: t.sections[k] for k in pos["sections"]}
    t.regions = {k: t.regions[k] for k in pos["regions"]}
    t.documents = {k: t.documents[k] for k in pos["documents"]}
    t.specialties = {k: t.specialties[k] for k in pos["specialties"]}
    t.decisions = {k: k for k in pos["decisions"]}
    t.forms = {k: k for k in pos["forms"]}
    t.clinical = {k: t.clinical[k] for k in pos["clinical"]}
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


def build(letters: Iterable[Letter], chunk: int = 2000) -> tuple[Tables, Arrays]:
    """From letters, a chunk at a time (so a large store never holds all its Letters)."""
    parts: list[_Parts] = []
    buf: list[Letter] = []
    for letter in letters:
        buf.append(letter)
        if len(buf) >= chunk:
            parts.append(_parts_from_letters(buf))
            buf = []
    if buf or not parts:
        parts.append(_parts_from_letters(buf))
    return _finish(_merge(parts))


def updated(
    tables: Tables,
    arrays: Mapping[str, np.ndarray],
    removed: Iterable[str],
    added: Iterable[Letter],
) -> tuple[Tables, Arrays]:
    """Saved arrays without the `removed` letters and with `added` (replacing same keys)."""
    added = list(added)
    drop = set(removed) | {x.key for x in added}
    return _finish(_merge([_without(tables, arrays, drop), _parts_from_letters(added)]))


def _without(tables: Tables, a: Mapping[str, np.ndarray], letters: set[str]) -> _Parts:
    keys = np.asarray(a["letter_keys"])
    # dtype=str sizes the array to the longest key given: cast to the stored keys' width,
    # a longer key would be cut and could match (and drop) a stored key it starts with
    keep_l = ~np.isin(keys, np.array(sorted(letters), dtype=str))
    lrows = np.flatnonzero(keep_l)
    irows = np.flatnonzero(keep_l[np.asarray(a["item_letter"])])
    new_l = np.cumsum(keep_l) - 1
    return _Parts(
        tables,
        [str(k) for k in keys[lrows]],
        [str(d) for d in np.asarray(a["letter_dates"])[lrows]],
        _take(a["spec_ptr"], a["spec_idx"], lrows),
        np.asarray(a["item_ids"])[irows],
        new_l[np.asarray(a["item_letter"])[irows]],
        np.asarray(a["item_pos"])[irows],
        np.asarray(a["item_decision"])[irows],
        {r: _take(a[f"{r}_ptr"], a[f"{r}_idx"], irows) for r in ITEM_RELATIONS},
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
    for name in _INDEXED_TABLES:
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

    def cat_csr(
        pairs: list[tuple[np.ndarray, np.ndarray]], m: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        ptrs: list[np.ndarray] = [np.zeros(1, np.int64)]
        idxs: list[np.ndarray] = []
        off = 0
        for (ptr, idx), mm in zip(pairs, m, strict=True):
            ptrs.append(ptr[1:] + off)
            idxs.append(mm[idx] if len(idx) else _EMPTY)
            off += int(ptr[-1])
        return np.concatenate(ptrs), np.concatenate(idxs)

    rel = {
        r: cat_csr([p.rel[r] for p in parts], [mp[RELATION_TABLE[r]] for mp in maps])
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


def _finish(p: _Parts) -> tuple[Tables, dict[str, np.ndarray]]:
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
        "forms": used(t.forms, rel["form"][1]),
        "clinical": used(t.clinical, rel["fact"][1]),
    }
    nt = Tables(categories=dict(t.categories))
    remaps: dict[str, np.ndarray] = {}
    for name, names in keep.items():
        old = getattr(t, name)
        new = {k: old[k] for k in sorted(names) if k in old}
        setattr(nt, name, new)
        where = {k: i for i, k in enumerate(new)}
        remaps[name] = np.array([where.get(k, -1) for k in old], np.int64)
    nt.categories = {
        c["category"]: t.categories[c["category"]] for c in nt.concepts.values() if c["category"]
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
        arrays[f"{r}_idx"] = _remap(remaps[RELATION_TABLE[r]], rel[r][1])
    for name, r, table in (
        ("concept", "req", nt.concepts),
        ("region", "reg", nt.regions),
        ("section", "msec", nt.sections),
    ):
        ptr, idx = _inverse(arrays[f"{r}_ptr"], arrays[f"{r}_idx"], len(table))
        arrays[f"{name}_items_ptr"], arrays[f"{name}_items_idx"] = ptr, idx
    arrays.update(_concept_sections(arrays, len(nt.concepts), len(nt.sections)))
    return nt, arrays


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


def _take(ptr: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CSR rows `rows` as a (ptr, idx) pair."""
    out_ptr, out_idx = take_rows(ptr, idx, rows)
    return out_ptr, out_idx
