"""The store's vector and lexical indexes with the real model, kept in step with the letters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from corpus_paths import SAMPLE_DIR

from embeddings import Encoder
from imr_graph.errors import StoreError
from imr_graph.index.arrays import _ARRAYS, GraphArrays
from imr_graph.index.ids import item_of_window
from imr_graph.index.indexes import Indexes
from imr_graph.query.search import search
from imr_graph.store.ingest import ingest
from imr_graph.store.sqlite import Store


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


@pytest.fixture()
def indexed(tmp_path: Path, encoder: Encoder) -> tuple[Store, Indexes]:
    store = Store.open(tmp_path / "store")
    idx = Indexes.open(store, encoder)
    ingest(store, [SAMPLE_DIR], idx)
    return store, idx


def _item_sets(idx: Indexes) -> tuple[set[int], set[int], set[int]]:
    return (
        {item_of_window(int(v)) for v in idx.rationales.ids()},
        {int(i) for i in idx.requests.ids()},
        {int(i) for i in idx.lexical.ids()},
    )


def test_every_rationale_is_its_own_nearest_neighbour(indexed: tuple[Store, Indexes]) -> None:
    store, idx = indexed
    for iid, key, pos, _request, _decision, rationale in store.item_rows():
        hits = search(store, rationale, k=1, indexes=idx)
        assert (hits[0].letter, hits[0].item) == (key, pos)
        assert hits[0].item_id == iid


def test_indexes_hold_exactly_the_store_items(indexed: tuple[Store, Indexes]) -> None:
    store, idx = indexed
    want = {r[0] for r in store.item_rows()}
    assert all(s == want for s in _item_sets(idx))


def test_removing_a_letter_removes_its_vectors(indexed: tuple[Store, Indexes]) -> None:
    store, idx = indexed
    victim = sorted(store.letters())[0]
    gone = set(store.remove(victim))
    idx.sync()
    for s in _item_sets(idx):
        assert not (s & gone)
    reopened = Indexes.open(Store.open(store.path), idx.encoder)
    for s in _item_sets(reopened):
        assert not (s & gone)
    assert all(
        h.letter != victim for h in search(store, "spinal cord stimulator", k=16, indexes=idx)
    )


def test_deferred_array_updates_equal_a_rebuild(indexed: tuple[Store, Indexes]) -> None:
    """apply(save=False), as ingest between checkpoints, only notes the changed letters; the
    arrays read afterwards equal arrays built from the store, through add, re-add and remove."""
    store, idx = indexed
    keys = sorted(store.letters())
    letters = {k: store.letter(k) for k in keys}
    idx.apply(store.remove(keys[0]), [], save=False)  # in the arrays: dropped
    *_, removed, added = store.put_letters([letters[keys[0]]])
    idx.apply(removed, added, save=False)  # back
    idx.apply(store.remove(keys[1]), [], save=False)
    *_, removed, added = store.put_letters([letters[keys[1]]])
    idx.apply(removed, added, save=False)
    idx.apply(store.remove(keys[1]), [], save=False)  # added while pending, then removed
    assert idx._gone and idx._added
    fresh = GraphArrays.build(store.iter_letters())
    got = idx.arrays
    assert not idx._gone and not idx._added
    assert got.n == fresh.n == sum(len(x.items) for k, x in letters.items() if k != keys[1])
    for name in _ARRAYS:
        assert np.array_equal(np.asarray(got.a[name]), np.asarray(fresh.a[name])), name
    idx.save()
    assert Indexes.open(store, idx.encoder, repair=False).arrays.n == fresh.n


def test_reingest_embeds_nothing_twice(indexed: tuple[Store, Indexes], tmp_path: Path) -> None:
    store, idx = indexed
    victim = sorted(store.letters())[1]
    store.remove(victim)
    idx.sync()
    before = idx.encoder.calls
    ingest(store, [SAMPLE_DIR], idx)  # the removed letter comes back: all cache hits
    assert idx.encoder.calls == before
    idx.rebuild()  # a full rebuild also only reads the cache
    assert idx.encoder.calls == before
    assert all(s == {r[0] for r in store.item_rows()} for s in _item_sets(idx))


def test_store_embedded_with_another_model_is_refused(indexed: tuple[Store, Indexes]) -> None:
    store, idx = indexed
    with store.transaction():
        store._set_meta("model", "someone/other-model")
    with pytest.raises(StoreError, match="reindex"):
        Indexes.open(store, idx.encoder)


def test_search_cli_json(indexed: tuple[Store, Indexes]) -> None:
    store, _ = indexed
    for mode in ("dense", "lexical"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "imr_graph.cli",
                "search",
                "topical ketamine neuropathic pain",
                "--k",
                "3",
                "--mode",
                mode,
                "--json",
                "--store",
                str(store.path),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        hits = json.loads(proc.stdout)
        assert 1 <= len(hits) <= 3
        assert "ketamine" in hits[0]["request"].lower()
        for h in hits:
            assert {"score", "letter", "item", "request", "decision", "passage"} <= set(h)
