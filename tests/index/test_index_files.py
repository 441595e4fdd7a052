"""The index set's pointer file and window ids: formats read, refused and repaired."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from corpus_paths import SAMPLE_DIR

from embeddings import Encoder, IndexCorruptError
from imr_graph.errors import REINDEX, IndexesError, StoreError
from imr_graph.index.files import STATE_FILE, index_root, load_files
from imr_graph.index.ids import MAX_WINDOWS, item_of_window, window_id, window_of
from imr_graph.index.indexes import Indexes, make_encoder
from imr_graph.store.ingest import ingest
from imr_graph.store.sqlite import Store


def test_window_ids_round_trip() -> None:
    for item in (0, 1, 12345, 2**40):
        for n in (0, 1, MAX_WINDOWS - 1):
            vid = window_id(item, n)
            assert item_of_window(vid) == item and window_of(vid) == n
    assert window_of(window_id(7, MAX_WINDOWS + 5)) == MAX_WINDOWS - 1  # the tail shares one
    vids = np.array([window_id(3, 2), window_id(9, 0)], np.int64)
    assert item_of_window(vids).tolist() == [3, 9]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return make_encoder()


@pytest.fixture()
def store(tmp_path: Path, encoder: Encoder) -> Store:
    s = Store.open(tmp_path / "store")
    ingest(
        s,
        [SAMPLE_DIR / sorted(p.name for p in SAMPLE_DIR.glob("*.txt"))[0]],
        Indexes.open(s, encoder),
    )
    return s


def _set_format(store: Store, fmt: int) -> None:
    path = index_root(store) / STATE_FILE
    path.write_text(json.dumps(json.loads(path.read_text()) | {"format": fmt}))


def test_an_older_index_set_reads_as_damaged_and_the_next_writer_rebuilds_it(
    store: Store, encoder: Encoder
) -> None:
    _set_format(store, 2)
    with pytest.raises(IndexCorruptError, match="format 2, which this version no longer reads"):
        load_files(store)
    with pytest.raises(StoreError) as info:
        Indexes.open(store, encoder, repair=False)
    line = str(info.value)
    assert "damaged or missing" in line and line.endswith(REINDEX) and "\n" not in line
    assert line.count("reindex") == 1  # the hint is not said twice
    Indexes.open(store, encoder)  # the writer lock is free: rebuilt in place
    assert load_files(store).state["format"] == 3


def test_a_newer_index_set_is_never_repaired(store: Store, encoder: Encoder) -> None:
    _set_format(store, 4)
    with pytest.raises(IndexesError, match="upgrade imr-graph, or run `imr-graph reindex`"):
        Indexes.open(store, encoder)
    assert json.loads((index_root(store) / STATE_FILE).read_text())["format"] == 4


def test_the_application_encoder_reads_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMR_GRAPH_MODEL", "someone/other-model")
    assert make_encoder().model_name == "someone/other-model"
    assert make_encoder("all-MiniLM-L6-v2").model_name.endswith("all-MiniLM-L6-v2")


def test_an_unnamed_index_set_is_pruned_only_when_no_writer_holds_the_lock(
    store: Store, encoder: Encoder
) -> None:
    """A set indexes.json does not name is either a killed save's old set (prune it) or a
    running writer's new one, unnamed until its swap (leave it): open prunes only when the
    writer lock is free."""
    named = json.loads((index_root(store) / STATE_FILE).read_text())["dir"]
    stray = index_root(store) / "v99999999-deadbeef"
    (stray / "graph").mkdir(parents=True)
    other = Store.open(store.path, create=False)  # a second handle: another writer's lock
    with other.writing(timeout=0):
        Indexes.open(store, encoder)
        assert stray.is_dir()
    Indexes.open(store, encoder)
    assert not stray.exists()
    assert [p.name for p in index_root(store).iterdir() if p.is_dir()] == [named]
    other.close()
