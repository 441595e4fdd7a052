"""BM25 keyword search: the tokenizer, the score arithmetic, and the saved index."""

from embeddings.lexical.index import LexicalIndex
from embeddings.lexical.tokenizer import ENGLISH_STOPWORDS, Tokenizer, tokenizer_fingerprint

__all__ = ["ENGLISH_STOPWORDS", "LexicalIndex", "Tokenizer", "tokenizer_fingerprint"]
