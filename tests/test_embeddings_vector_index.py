"""VectorIndex mechanics on synthetic unit vectors: ids, removal, kinds, persistence, errors."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embeddings import (
    IndexCorruptError,
    IndexMismatchError,
    VectorIndex,
    get_threads,
    read_manifest,
    set_threads,
    single_query_threads,
)

DIM = 16
MODEL = "test/model"


def unit_vectors(ids: np.ndarray | list[int], salt: int = 0) -> np.ndarray:
    """Deterministic random unit vector per id, so the same id always has the same vector."""
    rows = [np.random.default_rng([int(i) + 1_000_000, salt]).standard_normal(DIM) for i in ids]
    out = np.array(rows, dtype=np.float32).reshape(-1, DIM)
    faiss.normalize_L2(out)
    return out


def filled(kind: str, n: int = 50, **kw: object) -> VectorIndex:
    index = VectorIndex(DIM, MODEL, kind=kind, **kw)  # type: ignore[arg-type]
    ids = np.arange(n, dtype=np.int64) * 3 - 20  # negative ids are fine too
    index.add(ids, unit_vectors(ids))
    return index


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_self_search_and_removal(kind: str) -> None:
    index = filled(kind)
    ids = index.ids()
    scores, found = index.search(unit_vectors(ids), k=1)
    assert found[:, 0].tolist() == ids.tolist()
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    gone = ids[::2]
    assert index.remove(gone) == len(gone)
    assert index.remove(gone) == 0
    assert len(index) == len(ids) - len(gone)
    _, found = index.search(unit_vectors(ids), k=5)
    assert not set(gone.tolist()) & set(found.ravel().tolist())
    assert set(index.ids().tolist()) == set(ids[1::2].tolist())


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_readd_replaces_vector(kind: str) -> None:
    index = filled(kind, n=10)
    new = unit_vectors([4], salt=9)
    index.add([4], new)
    assert len(index) == 10
    np.testing.assert_allclose(index.reconstruct(4), new[0], atol=1e-6)
    _, found = index.search(new, k=2)
    assert found[0, 0] == 4 and found[0, 1] != 4


def test_auto_switches_to_hnsw_past_threshold_and_back_on_compaction() -> None:
    index = VectorIndex(DIM, MODEL, approx_threshold=20)
    index.add(np.arange(15), unit_vectors(np.arange(15)))
    assert index.index_type == "flat"
    index.add(np.arange(15, 40), unit_vectors(np.arange(15, 40)))
    assert index.index_type == "hnsw"
    assert index.ids().tolist() == list(range(40))
    index.remove(range(25))  # tombstones pass a quarter: compacts, small enough for exact
    assert index.index_type == "flat"
    assert index.ids().tolist() == list(range(25, 40))
    np.testing.assert_allclose(index.reconstruct(30), unit_vectors([30])[0], atol=1e-6)


def test_search_edge_cases() -> None:
    index = VectorIndex(DIM, MODEL)
    scores, found = index.search(unit_vectors([1]), k=5)
    assert scores.shape == (1, 0) and found.shape == (1, 0)
    index.add([1, 2], unit_vectors([1, 2]))
    scores, found = index.search(unit_vectors([1])[0], k=5)  # 1-D query, k clipped
    assert found.shape == (1, 2)
    with pytest.raises(ValueError):
        index.add([3, 3], unit_vectors([3, 3]))
    with pytest.raises(ValueError):
        index.add([3], np.ones((1, DIM + 1), dtype=np.float32))
    with pytest.raises(ValueError):
        index.search(np.ones((1, DIM + 1), dtype=np.float32), 1)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_save_load_round_trip(tmp_path: Path, kind: str) -> None:
    index = filled(kind)
    index.remove(index.ids()[:5])
    index.save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["count"] == len(index) == 45
    assert manifest["index_type"] == kind
    assert {"model_name", "dim", "faiss_version", "numpy_version", "format_version"} <= set(
        manifest
    )
    loaded = VectorIndex.load(tmp_path, expected_model=MODEL, expected_dim=DIM)
    assert loaded.index_type == kind
    assert loaded.ids().tolist() == index.ids().tolist()
    q = unit_vectors(index.ids()[:7])
    np.testing.assert_array_equal(loaded.search(q, 3)[1], index.search(q, 3)[1])
    # saving again replaces the data files and leaves no temp files behind
    loaded.add([999], unit_vectors([999]))
    loaded.save(tmp_path)
    assert VectorIndex.load(tmp_path).ids().tolist()[-1] == 999
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not [n for n in names if n.endswith(".tmp")]
    assert len([n for n in names if n.startswith("vectors-")]) == 1


def test_mismatch_message_names_both_models(tmp_path: Path) -> None:
    filled("flat").save(tmp_path)
    with pytest.raises(IndexMismatchError) as err:
        VectorIndex.load(tmp_path, expected_model="other/model", expected_dim=384)
    message = str(err.value)
    assert "\n" not in message
    assert "test/model (dim 16)" in message and "other/model (dim 384)" in message
    assert "reindex" in message
    with pytest.raises(IndexMismatchError):
        VectorIndex.load(tmp_path, expected_dim=17)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_corrupt_files_raise(tmp_path: Path, kind: str) -> None:
    filled(kind).save(tmp_path)
    manifest = read_manifest(tmp_path)
    vec_file = tmp_path / manifest.vectors_file
    good = vec_file.read_bytes()

    vec_file.write_bytes(good[: len(good) // 2])
    with pytest.raises(IndexCorruptError, match="unreadable"):
        VectorIndex.load(tmp_path, MODEL, DIM)

    vec_file.unlink()
    with pytest.raises(IndexCorruptError, match="missing"):
        VectorIndex.load(tmp_path, MODEL, DIM)

    vec_file.write_bytes(good)
    data = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**data, "count": 49}))
    with pytest.raises(IndexCorruptError, match="manifest says 49"):
        VectorIndex.load(tmp_path, MODEL, DIM)

    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="unreadable"):
        VectorIndex.load(tmp_path, MODEL, DIM)

    (tmp_path / "manifest.json").unlink()
    with pytest.raises(IndexCorruptError):
        VectorIndex.load(tmp_path, MODEL, DIM)


def test_thread_controls() -> None:
    set_threads(2)
    assert get_threads() == 2
    with single_query_threads():
        assert get_threads() == 1
    assert get_threads() == 2
    set_threads(None)


ops = st.lists(
    st.tuples(st.sampled_from(["add", "remove"]), st.sets(st.integers(-5, 40), max_size=12)),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops, kind=st.sampled_from(["flat", "hnsw", "auto"]))
def test_ids_follow_reference_set(ops: list[tuple[str, set[int]]], kind: str) -> None:
    index = VectorIndex(DIM, MODEL, kind=kind, approx_threshold=15)  # type: ignore[arg-type]
    reference: dict[int, int] = {}  # id -> salt of its current vector
    for step, (op, id_set) in enumerate(ops):
        ids = sorted(id_set)
        if op == "add":
            index.add(ids, unit_vectors(ids, salt=step))
            reference.update((i, step) for i in ids)
        else:
            assert index.remove(ids) == len(set(ids) & set(reference))
            for i in ids:
                reference.pop(i, None)
        assert index.ids().tolist() == sorted(reference)
        assert len(index) == len(reference)
    for i, salt in reference.items():
        np.testing.assert_allclose(index.reconstruct(i), unit_vectors([i], salt)[0], atol=1e-6)
    if reference:
        live = sorted(reference)
        q = np.vstack([unit_vectors([i], reference[i]) for i in live])
        _, found = index.search(q, k=1)
        assert set(found.ravel().tolist()) <= set(live)
