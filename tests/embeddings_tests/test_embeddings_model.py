"""Tests that need the real bundled all-MiniLM-L6-v2 model: encoder, windowing, cache, search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import (
    DEFAULT_MODEL_NAME,
    MODEL_ENV,
    EmbeddingCache,
    Encoder,
    IndexMismatchError,
    VectorIndex,
    encode_passages_with_cache,
    encode_with_cache,
)

PARAGRAPHS = [
    "The patient reports chronic low back pain radiating into the left leg, worse when sitting.",
    "Physical therapy twice weekly for six weeks improved shoulder range of motion.",
    "An MRI of the cervical spine showed a disc herniation at C5-C6 with foraminal narrowing.",
    "Opioid medication was tapered because of sedation and lack of functional improvement.",
    "The knee was injected with a corticosteroid after conservative care failed.",
    "Acupuncture sessions were requested to reduce anxiety-related insomnia.",
    "A functional restoration program was recommended to support return to work.",
    "Blood pressure remained elevated despite two antihypertensive medications.",
]


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """One real model for the whole session: loading it is the slow part."""
    enc = Encoder()
    assert enc.dim == 384
    return enc


@pytest.fixture(scope="session")
def paragraph_vectors(encoder: Encoder) -> np.ndarray:
    return encoder.encode(PARAGRAPHS)


def test_construction_is_lazy() -> None:
    enc = Encoder()
    assert enc.model_name == DEFAULT_MODEL_NAME
    assert enc._model is None  # nothing loaded until asked
    assert "not loaded" in repr(enc)


def test_model_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_MODEL", "all-MiniLM-L6-v2")
    assert Encoder(model_env="TOOL_MODEL").model_name == DEFAULT_MODEL_NAME
    monkeypatch.setenv("TOOL_MODEL", "someone/other-model")
    assert Encoder(model_env="TOOL_MODEL").model_name == "someone/other-model"
    assert Encoder("all-MiniLM-L6-v2", model_env="TOOL_MODEL").model_name == DEFAULT_MODEL_NAME
    assert Encoder(model_env=None).model_name == DEFAULT_MODEL_NAME  # no variable read
    monkeypatch.setenv(MODEL_ENV, "someone/third-model")  # the neutral default name
    assert Encoder().model_name == "someone/third-model"


def test_encode_shape_dtype_norm_order(encoder: Encoder, paragraph_vectors: np.ndarray) -> None:
    assert paragraph_vectors.shape == (len(PARAGRAPHS), 384)
    assert paragraph_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(paragraph_vectors, axis=1), 1.0, atol=1e-5)
    reversed_vectors = encoder.encode(PARAGRAPHS[::-1])
    np.testing.assert_allclose(reversed_vectors[::-1], paragraph_vectors, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        encoder.encode("a single string")


def test_paragraph_is_its_own_nearest_neighbour(paragraph_vectors: np.ndarray) -> None:
    index = VectorIndex(384, DEFAULT_MODEL_NAME)
    ids = np.arange(100, 100 + len(PARAGRAPHS))
    index.add(ids, paragraph_vectors)
    scores, found = index.search(paragraph_vectors, k=3)
    assert list(found[:, 0]) == list(ids)
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)


def test_semantic_query_finds_related_paragraph(
    encoder: Encoder, paragraph_vectors: np.ndarray
) -> None:
    index = VectorIndex(384, encoder.model_name)
    index.add(np.arange(len(PARAGRAPHS)), paragraph_vectors)
    _, found = index.search(encoder.encode(["neck disc bulge on imaging"]), k=1)
    assert found[0, 0] == 2


def test_removed_ids_leave_search_results(paragraph_vectors: np.ndarray) -> None:
    index = VectorIndex(384, DEFAULT_MODEL_NAME)
    index.add(np.arange(len(PARAGRAPHS)), paragraph_vectors)
    assert index.remove([0, 3]) == 2
    _, found = index.search(paragraph_vectors, k=len(PARAGRAPHS))
    assert not {0, 3} & set(found.ravel().tolist())
    assert len(index) == len(PARAGRAPHS) - 2
    with pytest.raises(KeyError):
        index.reconstruct(0)


def test_save_load_round_trip_and_mismatch(
    tmp_path: Path, encoder: Encoder, paragraph_vectors: np.ndarray
) -> None:
    index = VectorIndex(encoder.dim, encoder.model_name)
    index.add(np.arange(len(PARAGRAPHS)) * 7, paragraph_vectors)
    index.save(tmp_path / "vec")
    loaded = VectorIndex.load(tmp_path / "vec", encoder.model_name, encoder.dim)
    assert list(loaded.ids()) == list(index.ids())
    np.testing.assert_array_equal(loaded.reconstruct(14), paragraph_vectors[2])
    with pytest.raises(IndexMismatchError, match="all-mpnet-base-v2 .dim 768. is configured"):
        VectorIndex.load(tmp_path / "vec", "sentence-transformers/all-mpnet-base-v2", 768)


def test_long_paragraph_windows_map_to_owner(encoder: Encoder) -> None:
    long_text = " ".join(f"Visit {i}: lumbar pain was rated {i % 10} of 10." for i in range(150))
    windows = encoder.split_windows(long_text)
    assert len(windows) > 3
    window, _ = encoder.window_span()
    tokenizer = encoder.model.tokenizer
    for w in windows:
        assert w in long_text  # original characters, not detokenised text
        assert len(tokenizer(w, add_special_tokens=False)["input_ids"]) <= window
    # consecutive windows overlap
    assert windows[1][:30] in windows[0]
    assert encoder.split_windows(PARAGRAPHS[0]) == [PARAGRAPHS[0]]

    texts = [PARAGRAPHS[0], long_text, PARAGRAPHS[1]]
    vectors, owner = encoder.encode_passages(texts)
    assert vectors.shape == (len(windows) + 2, 384)
    assert owner.tolist() == [0] + [1] * len(windows) + [2]
    np.testing.assert_allclose(vectors[-1], encoder.encode([PARAGRAPHS[1]])[0], atol=1e-5)


def test_cache_hits_skip_the_model(tmp_path: Path, encoder: Encoder) -> None:
    with EmbeddingCache(tmp_path / "cache.sqlite") as cache:
        texts = [*PARAGRAPHS[:4], PARAGRAPHS[0]]  # one duplicate
        before = encoder.calls
        first = encode_with_cache(encoder, cache, texts)
        assert encoder.calls - before == 4  # the duplicate is sent once
        assert len(cache) == 4
        second = encode_with_cache(encoder, cache, texts)
        assert encoder.calls - before == 4
        np.testing.assert_array_equal(first, second)
        np.testing.assert_array_equal(first[0], first[4])
        encode_with_cache(encoder, cache, PARAGRAPHS[3:6])
        assert encoder.calls - before == 6
        assert cache.get_many("another/model", PARAGRAPHS[:1]) == [None]
    # persisted: a fresh connection still hits
    with EmbeddingCache(tmp_path / "cache.sqlite") as cache:
        before = encoder.calls
        _, owner = encode_passages_with_cache(encoder, cache, PARAGRAPHS[:4])
        assert encoder.calls == before
        assert owner.tolist() == [0, 1, 2, 3]
