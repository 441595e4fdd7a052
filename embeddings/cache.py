"""SQLite cache of embeddings keyed by (model name, sha256 of text), so re-runs skip the model."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np

from embeddings.windows import flatten_windows

_SQL_VARS = 500  # keys per SELECT ... IN (...), well under SQLite's variable limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embedding (
    model TEXT NOT NULL,
    text_sha256 BLOB NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, text_sha256)
) WITHOUT ROWID
"""


class TextEncoder(Protocol):
    """What the cache needs from an encoder."""

    @property
    def model_name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], batch_size: int = ...) -> np.ndarray: ...


class WindowingEncoder(TextEncoder, Protocol):
    """An encoder that can also cut long texts into model-sized windows."""

    def split_windows_many(self, texts: Sequence[str]) -> list[list[str]]: ...


def text_key(text: str) -> bytes:
    """Cache key of a text: its sha256 digest."""
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Persistent map (model, text) -> float32 vector; one transaction per batch, WAL journal."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM embedding").fetchone()[0])

    def get_many(self, model_name: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        """Cached vectors aligned with `texts`; None where the text was never stored."""
        keys = [text_key(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _SQL_VARS):
            chunk = unique[start : start + _SQL_VARS]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT text_sha256, dim, vector FROM embedding "
                f"WHERE model = ? AND text_sha256 IN ({marks})",
                [model_name, *chunk],
            )
            for key, dim, blob in rows:
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape[0] == dim:
                    found[key] = vec
        return [found.get(k) for k in keys]

    def put_many(self, model_name: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one vector per text in a single transaction."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(f"expected {len(texts)} vectors, got array of shape {vectors.shape}")
        dim = vectors.shape[1]
        rows = [
            (model_name, text_key(t), dim, v.tobytes()) for t, v in zip(texts, vectors, strict=True)
        ]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO embedding VALUES (?, ?, ?, ?)", rows)


def encode_with_cache(
    encoder: TextEncoder, cache: EmbeddingCache, texts: Sequence[str], batch_size: int = 64
) -> np.ndarray:
    """Embed `texts`, sending only cache misses (each distinct text once) to the encoder."""
    texts = list(texts)
    model = encoder.model_name
    cached = cache.get_many(model, texts)
    missing = list(dict.fromkeys(t for t, v in zip(texts, cached, strict=True) if v is None))
    fresh: dict[str, np.ndarray] = {}
    if missing:
        vectors = encoder.encode(missing, batch_size=batch_size)
        cache.put_many(model, missing, vectors)
        fresh = dict(zip(missing, vectors, strict=True))
    if not texts:
        return np.empty((0, encoder.dim), dtype=np.float32)
    rows = [v if v is not None else fresh[t] for t, v in zip(texts, cached, strict=True)]
    return np.vstack(rows).astype(np.float32, copy=False)


def encode_passages_with_cache(
    encoder: WindowingEncoder, cache: EmbeddingCache, texts: Sequence[str], batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Window long texts, then embed through the cache; returns (vectors, owner)."""
    windows, owner = flatten_windows(encoder.split_windows_many(list(texts)))
    return encode_with_cache(encoder, cache, windows, batch_size=batch_size), owner
