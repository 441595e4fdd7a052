"""The optional ONNX Runtime backends (`model@onnx`, `model@onnx-int8`) against the torch model.

Tests that run a backend skip when the `onnx` extra (onnxruntime, onnx) is not installed;
the spec parsing and the missing-extra error are tested everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from embeddings import DEFAULT_MODEL_NAME, EmbeddingCache, Encoder, encode_with_cache, onnx
from embeddings.onnx import BackendUnavailableError, split_spec
from embeddings.threads import single_query_threads
from imr_graph.index.indexes import make_encoder

SENTENCES = [
    "The patient reports chronic low back pain radiating into the left leg, worse when sitting.",
    "Norco 10/325 #90",
    "An MRI of the cervical spine showed a disc herniation at C5-C6 with foraminal narrowing.",
    "Opioid medication was tapered because of sedation and lack of functional improvement.",
    "Lumbar epidural steroid injection at L4-5 is not medically necessary per MTUS guidelines.",
    "A functional restoration program was recommended to support return to work.",
]

# Measured (docs/benchmarks.md): int8 per-channel vs torch fp32 on 500 letter paragraphs,
# mean cosine 0.993, min 0.985; the bound leaves room for other CPUs' int8 kernels.
INT8_MIN_COSINE = 0.97


def test_split_spec() -> None:
    assert split_spec("all-MiniLM-L6-v2") == ("all-MiniLM-L6-v2", None)
    assert split_spec("all-MiniLM-L6-v2@onnx-int8") == ("all-MiniLM-L6-v2", "onnx-int8")
    assert split_spec("org/model@ONNX") == ("org/model", "onnx")
    with pytest.raises(ValueError, match="unknown embedding backend 'int4'"):
        split_spec("all-MiniLM-L6-v2@int4")


def test_folder_with_at_sign_is_a_plain_path(tmp_path: Path) -> None:
    folder = tmp_path / "model@onnx"
    folder.mkdir()
    assert split_spec(str(folder)) == (str(folder), None)


@pytest.mark.parametrize("blocked", ["onnxruntime", "onnx"])
def test_missing_extra_is_one_line_error(monkeypatch: pytest.MonkeyPatch, blocked: str) -> None:
    monkeypatch.setitem(sys.modules, blocked, None)  # what a failed import looks like
    with pytest.raises(BackendUnavailableError) as info:
        Encoder("all-MiniLM-L6-v2@onnx-int8", install_package="tool")
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith("pip install 'tool[onnx]'")
    assert blocked in message
    assert isinstance(info.value, ImportError)
    with pytest.raises(BackendUnavailableError) as info:
        Encoder("all-MiniLM-L6-v2@onnx-int8")  # no package named: the modules are
    assert str(info.value).endswith("pip install onnxruntime onnx")


def test_application_names_its_extra_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.setenv("IMR_GRAPH_MODEL", "all-MiniLM-L6-v2@onnx")
    with pytest.raises(BackendUnavailableError, match=r"pip install 'imr-graph\[onnx\]'"):
        make_encoder()


@pytest.fixture(scope="module")
def backend_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Converted models go to a temp folder, never the user's cache."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    root = tmp_path_factory.mktemp("backends")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(onnx.CACHE_ENV, str(root))
        yield root


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return Encoder().encode(SENTENCES)


@pytest.fixture(scope="module")
def int8(backend_cache: Path) -> Encoder:
    enc = Encoder("all-MiniLM-L6-v2@onnx-int8")
    enc.encode(SENTENCES[:1])  # builds the model into backend_cache
    return enc


def test_model_names_differ(backend_cache: Path) -> None:
    names = {
        Encoder().model_name,
        Encoder("all-MiniLM-L6-v2@onnx").model_name,
        Encoder("all-MiniLM-L6-v2@onnx-int8").model_name,
    }
    assert names == {
        DEFAULT_MODEL_NAME,
        f"{DEFAULT_MODEL_NAME}@onnx",
        f"{DEFAULT_MODEL_NAME}@onnx-int8",
    }
    assert Encoder("all-MiniLM-L6-v2@onnx-int8").backend == "onnx-int8"
    assert Encoder().backend is None


def test_onnx_fp32_gives_the_torch_vectors(backend_cache: Path, reference: np.ndarray) -> None:
    enc = Encoder("all-MiniLM-L6-v2@onnx")
    vectors = enc.encode(SENTENCES)
    np.testing.assert_allclose(np.einsum("ij,ij->i", vectors, reference), 1.0, atol=1e-4)


def test_int8_vectors_close_to_fp32(int8: Encoder, reference: np.ndarray) -> None:
    vectors = int8.encode(SENTENCES)
    assert vectors.shape == reference.shape == (len(SENTENCES), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.einsum("ij,ij->i", vectors, reference)
    assert cosines.min() >= INT8_MIN_COSINE, cosines
    # each sentence still finds itself among the fp32 vectors
    assert list((vectors @ reference.T).argmax(axis=1)) == list(range(len(SENTENCES)))
    np.testing.assert_allclose(int8.encode(SENTENCES[::-1])[::-1], vectors, atol=1e-6)
    assert int8.encode([]).shape == (0, 384)


def test_int8_windows_and_dims_match_the_source_model(int8: Encoder) -> None:
    fp32 = Encoder()
    long_text = " ".join(f"Visit {i}: lumbar pain was rated {i % 10} of 10." for i in range(150))
    assert int8.dim == fp32.dim == 384
    assert int8.max_tokens == fp32.max_tokens
    assert int8.split_windows(long_text) == fp32.split_windows(long_text)
    assert int8.device == "cpu"


def test_int8_vector_does_not_depend_on_the_batch(int8: Encoder) -> None:
    together = int8.encode(SENTENCES)
    with single_query_threads():  # one worker: same vectors as the thread pool gives
        alone = np.vstack([int8.encode([s]) for s in SENTENCES])
    np.testing.assert_allclose(alone, together, atol=1e-6)


def test_built_once_then_reused(int8: Encoder, backend_cache: Path) -> None:
    folders = [p for p in backend_cache.iterdir() if "onnx-int8" in p.name]
    assert len(folders) == 1 and (folders[0] / "model.onnx").is_file()
    before = (folders[0] / "model.onnx").stat().st_mtime_ns
    Encoder("all-MiniLM-L6-v2@onnx-int8").encode(SENTENCES[:1])
    assert (folders[0] / "model.onnx").stat().st_mtime_ns == before
    assert not [p for p in backend_cache.iterdir() if p.name.endswith(".tmp")]


def test_cache_keeps_backend_vectors_apart(int8: Encoder, tmp_path: Path) -> None:
    with EmbeddingCache(tmp_path / "cache.sqlite") as cache:
        encode_with_cache(int8, cache, SENTENCES)
        assert cache.get_many(DEFAULT_MODEL_NAME, SENTENCES) == [None] * len(SENTENCES)
        before = int8.calls
        encode_with_cache(int8, cache, SENTENCES)
        assert int8.calls == before
