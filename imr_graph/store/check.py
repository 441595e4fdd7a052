"""`imr-graph check`: verify a store's invariants, each as OK or FAIL with a one-line reason.

The SQL store is the system of record; the graph, the vectors and the BM25 index are derived
from it. `check_store` reads everything without writing or repairing (no model is loaded), so it
can run beside a writer and tells exactly which derived part disagrees with the SQL rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from imr_graph.errors import StoreError
from imr_graph.store.sqlite import SCHEMA_VERSION, Store, damage_of, damaged
from kg import graph as G
from kg.model import letter_from_json


@dataclass(frozen=True)
class Check:
    """One invariant: ok, a warning (derived data behind the store, repaired on the next
    open: not damage), or a failure (damage, exit 1)."""

    name: str
    ok: bool
    reason: str
    warning: bool = False

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _ok(name: str, reason: str) -> Check:
    return Check(name, True, reason)


def _warn(name: str, reason: str) -> Check:
    return Check(name, True, reason, warning=True)


def _fail(name: str, reason: str) -> Check:
    return Check(name, False, reason)


def _ids(ids: np.ndarray, limit: int = 3) -> str:
    shown = ", ".join(str(i) for i in ids[:limit].tolist())
    return f"{len(ids)} ({shown}{', ...' if len(ids) > limit else ''})"


def _diff(what: str, have: np.ndarray, want: np.ndarray) -> str | None:
    """None when the sorted unique id arrays are equal, else one line on what differs."""
    if np.array_equal(have, want):
        return None
    parts = []
    extra = np.setdiff1d(have, want, assume_unique=True)
    lost = np.setdiff1d(want, have, assume_unique=True)
    if len(extra):
        parts.append(f"{_ids(extra)} not in the store")
    if len(lost):
        parts.append(f"{_ids(lost)} store items missing")
    return f"{what}: " + "; ".join(parts)


def check_store(store: Store | str | Path, indexes: bool = True) -> list[Check]:
    """All checks of one store, in order; a store that does not open is one FAIL."""
    if not isinstance(store, Store):
        try:
            opened = Store.open(store, create=False, read_only=True)
        except StoreError as e:
            return [_fail("open", str(e))]
        try:
            return check_store(opened, indexes)
        finally:
            opened.close()
    try:
        with store.snapshot():  # one SQL state for every check
            return _checks(store, indexes)
    except sqlite3.DatabaseError:
        why = damage_of(store.db)
        if why is None:
            raise
        return [_fail("sqlite", str(damaged(store.path / "store.sqlite", why)))]


def _checks(store: Store, with_indexes: bool) -> list[Check]:
    out: list[Check] = []
    db = store.db
    v = store.meta("schema_version")
    out.append(
        _ok("schema", f"schema version {v}")
        if v == str(SCHEMA_VERSION)
        else _fail("schema", f"schema version {v}, this imr-graph uses {SCHEMA_VERSION}")
    )
    qc = db.execute("PRAGMA quick_check").fetchone()[0]
    out.append(
        _ok("sqlite", "quick_check ok") if qc == "ok" else _fail("sqlite", f"quick_check: {qc}")
    )

    # letters: JSON parses, key matches, items rows match the JSON's items
    rows = db.execute("SELECT key, sha256, json FROM letters ORDER BY key").fetchall()
    items = db.execute(
        "SELECT id, letter_key, position, request, decision, rationale FROM items"
    ).fetchall()
    by_letter: dict[str, dict[int, tuple]] = {}
    for iid, key, pos, req, dec, rat in items:
        by_letter.setdefault(key, {})[pos] = (iid, req, dec, rat)
    letters = {}
    bad: list[str] = []
    for key, sha, text in rows:
        try:
            letter = letter_from_json(json.loads(text))
        except Exception as e:  # any failure is a FAIL line
            bad.append(f"{key}: JSON does not parse ({type(e).__name__})")
            continue
        letters[key] = letter
        if letter.key != key or letter.sha256 != sha:
            bad.append(f"{key}: JSON is for {letter.key} / another file")
            continue
        want = {it.position: (it.request, it.decision, it.rationale) for it in letter.items}
        have = {p: r[1:] for p, r in by_letter.get(key, {}).items()}
        if want != have:
            bad.append(f"{key}: {len(want)} items in its JSON, {len(have)} matching rows differ")
    orphans = set(by_letter) - {r[0] for r in rows}
    if orphans:
        bad.append(f"items of {len(orphans)} missing letter(s), e.g. {sorted(orphans)[0]}")
    out.append(
        _fail("letters", f"{len(bad)} problem(s): {bad[0]}")
        if bad
        else _ok("letters", f"{len(rows)} letters, {len(items)} items, JSON and rows agree")
    )

    wrong = [r for r in items if r[0] != G.item_int_id(r[1], r[2])]
    out.append(
        _fail("item_ids", f"{len(wrong)} item(s) without their stable id, e.g. {wrong[0][1]}")
        if wrong
        else _ok("item_ids", "every item id is item_int_id(letter, position)")
    )

    n_items = sum(len(x.items) for x in letters.values())
    try:
        g = G.build_graph(letters.values())
        kinds = Counter(d.get("kind") for _, d in g.nodes(data=True))
        graph_items = {n for n, d in g.nodes(data=True) if d.get("kind") == G.ITEM}
        want_nodes = {G.item_node(r[1], r[2]) for r in items}
        if kinds[G.LETTER] != len(letters) or kinds[G.ITEM] != n_items:
            out.append(
                _fail(
                    "graph",
                    f"{kinds[G.LETTER]} letter / {kinds[G.ITEM]} item nodes for "
                    f"{len(letters)} letters / {n_items} items",
                )
            )
        elif graph_items != want_nodes:
            diff = len(graph_items ^ want_nodes)
            out.append(_fail("graph", f"item nodes differ from the item rows by {diff}"))
        else:
            out.append(_ok("graph", f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges"))
    except Exception as e:
        out.append(_fail("graph", f"graph does not build: {type(e).__name__}: {e}"))

    if with_indexes:
        out.extend(_index_checks(store, [r[0] for r in items]))
    return out


def _index_checks(store: Store, item_ids: list[int]) -> list[Check]:
    from embeddings import EmbeddingsError
    from embeddings.csr import sorted_unique
    from imr_graph.errors import IndexesError, needs_reindex
    from imr_graph.index.files import load_files
    from imr_graph.index.indexes import indexed_item_ids

    want = sorted_unique(item_ids)
    gen = store.generation
    model = store.meta("model")
    folder = store.path / "index"
    if model is None and not folder.exists():
        if len(want):
            return [_ok("indexes", "no search indexes (ingested with --no-index)")]
        return [_ok("indexes", "empty store, no search indexes")]
    try:
        state, rat, req, lex, arrays = load_files(store)
    except (EmbeddingsError, IndexesError, OSError, ValueError) as e:
        line = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "reindex" not in line:
            line = needs_reindex(line)
        return [_fail("indexes", line)]
    out = [_ok("indexes", f"index files load ({state['dir']})")]
    igen = state["generation"]
    behind = igen < gen  # a writer committed, then stopped before saving the indexes
    repaired = "behind the store, repaired on the next open (or run `imr-graph reindex`)"
    if igen == gen:
        out.append(_ok("generation", f"indexes reflect store generation {gen}"))
    elif behind:
        out.append(
            _warn("generation", f"indexes reflect generation {igen}, store is at {gen}: {repaired}")
        )
    else:
        out.append(
            _fail(
                "generation",
                needs_reindex(f"indexes reflect generation {igen}, ahead of the store's {gen}"),
            )
        )
    held = {**indexed_item_ids(rat, req, lex), "query_arrays": sorted_unique(arrays.item_ids)}
    for name, have in held.items():
        d = _diff(name, have, want)
        if not d:
            out.append(_ok(name, f"{len(have)} items, same as the store"))
        else:
            out.append(_warn(name, f"{d}; {repaired}") if behind else _fail(name, d))
    models = {rat.model_name, req.model_name, state.get("model")}
    if len(models) != 1 or model not in models:
        out.append(
            _fail(
                "model",
                needs_reindex(
                    f"store meta says {model}, index manifests say {sorted(map(str, models))}"
                ),
            )
        )
    else:
        out.append(_ok("model", f"{model}"))
    out.append(_cache_check(store))
    return out


def _cache_check(store: Store) -> Check:
    """The embedding cache is derived data: damage is reported; the next writer rebuilds it."""

    path = store.path / "embedding_cache.sqlite"
    if not path.exists():
        return _ok("embedding_cache", "none yet")
    verdict = "unreadable"
    for mode in ("mode=ro", "immutable=1"):  # immutable: a read-only folder without its -shm
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
            try:
                verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                db.close()
            break
        except sqlite3.OperationalError as e:
            verdict = str(e)
        except sqlite3.DatabaseError as e:
            verdict = str(e)
            break
    if verdict == "ok":
        return _ok("embedding_cache", "quick_check ok")
    return _fail(
        "embedding_cache",
        f"{path} is damaged ({verdict}); it is derived data: the next ingest or reindex "
        "rebuilds it",
    )
