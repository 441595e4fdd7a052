"""Errors raised by the embeddings package; messages are one line that says what to do."""

from __future__ import annotations


class EmbeddingsError(Exception):
    """Base class so callers can catch every embeddings failure in one place."""


class IndexMismatchError(EmbeddingsError):
    """A stored index was built with a different model or dimension than the one configured."""


class IndexCorruptError(EmbeddingsError):
    """A stored index is missing, unreadable or inconsistent with its manifest."""
