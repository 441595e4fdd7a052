"""Text in, vectors and nearest neighbours out: encoder, cache, vector and BM25 indexes."""

from embeddings.cache import (
    EmbeddingCache,
    encode_passages_with_cache,
    encode_with_cache,
)
from embeddings.encoder import DEFAULT_MODEL_NAME, MODEL_ENV, Encoder
from embeddings.errors import (
    DEFAULT_REBUILD_HINT,
    EmbeddingsError,
    IndexCorruptError,
    IndexMismatchError,
    ModelUnavailableError,
)
from embeddings.lexical import LexicalIndex, Tokenizer
from embeddings.threads import get_threads, set_threads, single_query_threads
from embeddings.vector_index import APPROX_THRESHOLD, Manifest, VectorIndex, read_manifest

__all__ = [
    "APPROX_THRESHOLD",
    "DEFAULT_MODEL_NAME",
    "DEFAULT_REBUILD_HINT",
    "MODEL_ENV",
    "EmbeddingCache",
    "EmbeddingsError",
    "Encoder",
    "IndexCorruptError",
    "IndexMismatchError",
    "LexicalIndex",
    "Manifest",
    "ModelUnavailableError",
    "Tokenizer",
    "VectorIndex",
    "encode_passages_with_cache",
    "encode_with_cache",
    "get_threads",
    "read_manifest",
    "set_threads",
    "single_query_threads",
]
