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
from embeddings.errors import DEFAULT_REBUILD_HINT
from embeddings.ivf import IVF_MIN_TRAIN, IVF_SCAN

DIM = 16
MODEL = "test/model"


def unit_vectors(ids: np.ndarray | list[int], salt: int = 0) -> np.ndarray:
    """Deterministic random unit vector per id, so the same id always has the same vector."""
    rows = [np.random.default_rng([int(i) + 1_000_000, salt]).standard_normal(DIM) for i in ids]
    out = np.array(rows, dtype=np.float32).reshape(-1, DIM)
    faiss.normalize_L2(out)
    return out


def filled(kind: str, n: int = 50, **kw: object) -> VectorIndex:
    """`n` vectors; IVF-SQ8 gets IVF_MIN_TRAIN more, since it keeps fewer exact."""
    index = VectorIndex(DIM, MODEL, kind=kind, **kw)  # type: ignore[arg-type]
    n += IVF_MIN_TRAIN if kind == "ivf_sq8" else 0
    ids = np.arange(n, dtype=np.int64) * 3 - 20  # negative ids are fine too
    index.add(ids, unit_vectors(ids))
    assert index.index_type == kind
    return index


KINDS = ["flat", "ivf_sq8"]


def atol(index: VectorIndex) -> float:
    """Reconstruction tolerance: IVF-SQ8 stores 8-bit codes, exact float32."""
    return 2e-2 if index.index_type == "ivf_sq8" else 1e-6


@pytest.mark.parametrize("kind", KINDS)
def test_self_search_and_removal(kind: str) -> None:
    index = filled(kind)
    ids = index.ids()
    assert ids.dtype == np.int64 and (np.diff(ids) > 0).all()
    scores, found = index.search(unit_vectors(ids), k=1)
    assert found[:, 0].tolist() == ids.tolist()
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=atol(index))
    gone = ids[::2]
    assert index.remove(gone) == len(gone)
    assert index.remove(gone) == 0
    assert len(index) == len(ids) - len(gone)
    assert int(gone[0]) not in index and int(ids[1]) in index and "x" not in index
    _, found = index.search(unit_vectors(ids), k=5)
    assert not set(gone.tolist()) & set(found.ravel().tolist())
    assert set(index.ids().tolist()) == set(ids[1::2].tolist())


@pytest.mark.parametrize("kind", KINDS)
def test_readd_replaces_vector(kind: str) -> None:
    index = filled(kind, n=10)
    before = len(index)
    new = unit_vectors([4], salt=9)
    index.add([4], new)
    assert len(index) == before
    np.testing.assert_allclose(index.reconstruct(4), new[0], atol=atol(index))
    _, found = index.search(new, k=2)
    assert found[0, 0] == 4 and found[0, 1] != 4


def test_auto_switches_to_ivf_past_threshold_and_back_below_half() -> None:
    index = VectorIndex(DIM, MODEL, approx_threshold=1500)
    index.add(np.arange(1000), unit_vectors(np.arange(1000)))
    assert index.index_type == "flat"
    index.add(np.arange(1000, 1600), unit_vectors(np.arange(1000, 1600)))
    assert index.index_type == "ivf_sq8"
    assert index.ids().tolist() == list(range(1600))
    index.remove(range(800))  # under the threshold but above half of it: stays
    assert index.index_type == "ivf_sq8"
    index.remove(range(800, 850))  # half the threshold: back to exact
    assert index.index_type == "flat"
    assert index.ids().tolist() == list(range(850, 1600))
    np.testing.assert_allclose(index.reconstruct(900), unit_vectors([900])[0], atol=2e-2)


def test_small_collections_stay_exact_under_every_policy() -> None:
    for kind in ("auto", "ivf_sq8"):
        index = VectorIndex(DIM, MODEL, kind=kind, approx_threshold=10)  # type: ignore[arg-type]
        index.add(np.arange(IVF_MIN_TRAIN), unit_vectors(np.arange(IVF_MIN_TRAIN)))
        assert index.index_type == "flat"
        index.add([-7], unit_vectors([-7]))
        assert index.index_type == "ivf_sq8"


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


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(tmp_path: Path, kind: str) -> None:
    index = filled(kind)
    size = len(index)
    index.remove(index.ids()[:5])
    index.save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["count"] == len(index) == size - 5
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
    assert 999 in VectorIndex.load(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not [n for n in names if n.endswith(".tmp")]
    assert len([n for n in names if n.startswith("vectors-")]) == 1


def test_mismatch_message_names_both_models(tmp_path: Path) -> None:
    filled("flat").save(tmp_path)
    with pytest.raises(IndexMismatchError) as err:
        VectorIndex.load(tmp_path, "other/model", 384, rebuild_hint="run `tool reindex`")
    message = str(err.value)
    assert "\n" not in message
    assert "test/model (dim 16)" in message and "other/model (dim 384)" in message
    assert message.endswith("; run `tool reindex`") and "reindex" not in err.value.problem
    with pytest.raises(IndexMismatchError):
        VectorIndex.load(tmp_path, expected_dim=17)


@pytest.mark.parametrize("kind", KINDS)
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
@given(ops=ops, kind=st.sampled_from(["flat", "ivf_sq8", "auto"]))
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
        np.testing.assert_allclose(
            index.reconstruct(i), unit_vectors([i], salt)[0], atol=atol(index)
        )
    if reference:
        live = sorted(reference)
        q = np.vstack([unit_vectors([i], reference[i]) for i in live])
        _, found = index.search(q, k=1)
        assert set(found.ravel().tolist()) <= set(live)


def clustered(n: int, centres: int, dim: int, seed: int = 0) -> np.ndarray:
    """Noisy copies of a few base vectors, as benchmarks/scale.py fakes a large store."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((centres, dim)).astype(np.float32)
    faiss.normalize_L2(base)
    out = base[rng.integers(0, centres, n)] + rng.normal(0, 0.025, (n, dim)).astype(np.float32)
    faiss.normalize_L2(out)
    return out


def test_ivf_lifecycle_with_mmap(tmp_path: Path) -> None:
    """The large kind at a small forced threshold: writes, persistence, mapped loads, writes."""
    index = VectorIndex(DIM, MODEL, approx_threshold=1200)
    ids = np.arange(1400, dtype=np.int64) - 200  # -1 is a valid id too
    index.add(ids, unit_vectors(ids))
    assert index.index_type == "ivf_sq8"
    index.remove(ids[:50])
    index.add(ids[:10], unit_vectors(ids[:10], salt=3))  # re-add with new vectors
    live = np.sort(np.concatenate([ids[:10], ids[50:]]))
    assert index.ids().tolist() == live.tolist() and len(index) == 1360
    _, found = index.search(unit_vectors([-1]), 1)
    assert found[0, 0] == -1
    params = index.search_params()  # nearest lists until IVF_SCAN codes have been compared
    assert params.max_codes == IVF_SCAN and params.nprobe == index._index.nlist
    q = unit_vectors(ids[5:25], salt=3)
    want = index.search(q, 5)[1]
    index.save(tmp_path)
    assert read_manifest(tmp_path).format_version == 2
    full = VectorIndex.load(tmp_path, MODEL, DIM)
    mapped = VectorIndex.load(tmp_path, MODEL, DIM, mmap=True)
    assert mapped.mapped and not full.mapped and mapped.index_type == "ivf_sq8"
    for loaded in (full, mapped):
        assert loaded.ids().tolist() == live.tolist()
        np.testing.assert_array_equal(loaded.search(q, 5)[1], want)
        np.testing.assert_allclose(loaded.reconstruct(-197), unit_vectors([-197], 3)[0], atol=2e-2)
    # writing to the mapped index copies it first; the files on disk stay as they were
    assert mapped.remove([0, 1, 2]) == 3
    assert not mapped.mapped
    mapped.add([5000, 5], unit_vectors([5000, 5], salt=4))
    assert 5000 in mapped and 0 not in mapped and len(mapped) == 1358
    _, found = mapped.search(unit_vectors([5000, 5], salt=4), 1)
    assert found[:, 0].tolist() == [5000, 5]
    assert 0 in VectorIndex.load(tmp_path, mmap=True)
    mapped.save(tmp_path)
    again = VectorIndex.load(tmp_path, mmap=True)
    assert again.ids().tolist() == mapped.ids().tolist()
    # saving a mapped index that was never written to
    again.save(tmp_path / "copy")
    assert VectorIndex.load(tmp_path / "copy").ids().tolist() == mapped.ids().tolist()


def test_mmap_load_then_write(tmp_path: Path) -> None:
    kind = "flat"
    index = filled(kind)
    index.save(tmp_path)
    mapped = VectorIndex.load(tmp_path, MODEL, DIM, mmap=True)
    assert mapped.mapped and mapped.index_type == kind
    q = unit_vectors(index.ids()[:7])
    np.testing.assert_array_equal(mapped.search(q, 3)[1], index.search(q, 3)[1])
    mapped.remove(index.ids()[:2])
    mapped.add([777], unit_vectors([777]))
    assert not mapped.mapped
    assert mapped.search(unit_vectors([777]), 1)[1][0, 0] == 777
    assert len(mapped) == len(index) - 1


def test_ivf_recall_on_clustered_vectors() -> None:
    """Probing a fraction of the lists keeps recall against exact search on clustered data."""
    dim, n = 32, 6000
    data = clustered(n + 50, centres=40, dim=dim)
    base, queries = data[:n], data[n:]
    ids = np.arange(n, dtype=np.int64) * 7
    exact = VectorIndex(dim, kind="flat")
    exact.add(ids, base)
    approx = VectorIndex(dim, kind="ivf_sq8", nprobe=16)
    approx.add(ids, base)
    assert approx.search_params().nprobe == 16 < approx._index.nlist
    for k, floor in ((10, 0.9), (100, 0.9)):
        truth = exact.search(queries, k)[1]
        found = approx.search(queries, k)[1]
        recall = np.mean([len(set(t) & set(f)) / k for t, f in zip(truth, found, strict=True)])
        assert recall >= floor, (k, recall)


def test_ivf_unfilled_slots_and_retraining() -> None:
    index = VectorIndex(DIM, MODEL, kind="ivf_sq8", nprobe=1)
    first = IVF_MIN_TRAIN + 1
    index.add(np.arange(first), unit_vectors(np.arange(first)))
    assert index.index_type == "ivf_sq8" and index._trained_count == first
    nlist = index._index.nlist
    index.add(np.arange(first, 8 * first), unit_vectors(np.arange(first, 8 * first)))
    assert index._trained_count == first  # 8x is not past 8x
    index.add([-5], unit_vectors([-5]))  # now it is: retrained on the decoded vectors
    assert index._trained_count == 8 * first + 1 and index._index.nlist > nlist
    assert index.ids().tolist() == [-5, *range(8 * first)]
    scores, found = index.search(unit_vectors([3]), k=400)
    assert (found[0] == -1).any() and np.isneginf(scores[0][found[0] == -1]).all()
    assert found[0, 0] == 3


@pytest.mark.parametrize("kind", KINDS)
def test_old_or_newer_format_is_refused_with_the_callers_hint(tmp_path: Path, kind: str) -> None:
    filled(kind).save(tmp_path)
    path = tmp_path / "manifest.json"
    good = json.loads(path.read_text())
    path.write_text(json.dumps(good | {"format_version": 1}))
    hint = "run `tool reindex`"
    with pytest.raises(IndexCorruptError, match="format 1, which this version no longer") as err:
        VectorIndex.load(tmp_path, MODEL, DIM, rebuild_hint=hint)
    assert str(err.value).endswith(hint) and "\n" not in str(err.value)
    path.write_text(json.dumps(good | {"format_version": 3}))
    with pytest.raises(IndexCorruptError, match="newer than this version reads") as err:
        VectorIndex.load(tmp_path, MODEL, DIM)
    assert str(err.value).endswith(DEFAULT_REBUILD_HINT)


def test_ivf_ids_follow_reference_under_random_ops() -> None:
    """Bookkeeping of the large kind (sorted ids, real removal, retraining) against a dict."""
    rng = np.random.default_rng(5)
    index = VectorIndex(DIM, MODEL, kind="ivf_sq8")
    start = np.arange(1100)
    index.add(start, unit_vectors(start))
    reference = dict.fromkeys(start.tolist(), 0)  # id -> salt of its current vector
    for step in range(1, 25):
        ids = np.unique(rng.integers(-50, 1500, int(rng.integers(1, 200))))
        if rng.random() < 0.5:
            index.add(ids, unit_vectors(ids, salt=step))
            reference.update((int(i), step) for i in ids)
        else:
            assert index.remove(ids) == len(set(ids.tolist()) & set(reference))
            for i in ids.tolist():
                reference.pop(i, None)
        assert index.ids().tolist() == sorted(reference) and len(index) == len(reference)
    assert index.index_type == "ivf_sq8"
    sample = sorted(reference)[::40]
    for i in sample:
        np.testing.assert_allclose(
            index.reconstruct(i), unit_vectors([i], reference[i])[0], atol=2e-2
        )
    q = np.vstack([unit_vectors([i], reference[i]) for i in sample])
    assert index.search(q, 1)[1][:, 0].tolist() == sample
