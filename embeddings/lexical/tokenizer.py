"""Text -> BM25 terms: lowercase words of two or more characters, minus stopwords, stemmed.

The fingerprint of a tokenizer is stored with an index, since stored token ids are only valid
for the tokenizer that made them (PyStemmer installed or not, other stopwords).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

from embeddings.lexical.stopwords import ENGLISH_STOPWORDS

__all__ = ["ENGLISH_STOPWORDS", "UTF8", "Tokenizer", "find_stemmer", "tokenizer_fingerprint"]

UTF8 = ("utf-8", "surrogatepass")  # terms as bytes, lone surrogates included

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_PROBE = (
    "The patients were running; generalised studies showed connected knees, injections "
    "and physical therapies for C5-C6 in 2024."
)


def find_stemmer() -> Callable[[list[str]], list[str]] | None:
    """English Snowball stemmer from PyStemmer when installed; otherwise no stemming."""
    try:
        import Stemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english").stemWords


class Tokenizer:
    """Lowercase word tokens of two or more characters, minus English stopwords, stemmed if able."""

    def __init__(
        self,
        stopwords: Iterable[str] = ENGLISH_STOPWORDS,
        stemmer: Callable[[list[str]], list[str]] | None = None,
    ) -> None:
        self.stopwords = frozenset(stopwords)
        self.stemmer = stemmer

    def __call__(self, text: str) -> list[str]:
        words = [w for w in _TOKEN.findall(text.lower()) if w not in self.stopwords]
        return self.stemmer(words) if self.stemmer is not None else words


def tokenizer_fingerprint(tokenizer: Callable[[str], list[str]]) -> str:
    """Hash of the tokens of a fixed probe text: stored token ids are only valid for the
    tokenizer that made them (e.g. PyStemmer installed or not)."""
    tokens = tokenizer(_PROBE)
    return hashlib.sha256("\x1f".join(tokens).encode(*UTF8)).hexdigest()[:16]
