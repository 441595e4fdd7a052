"""Errors raised by the embeddings package; messages are one line: the problem, then the remedy.

The remedy for damaged derived data depends on the application that owns it, so callers pass
it in (`rebuild_hint=`); `problem` keeps the message without it for callers that add their own.
"""

from __future__ import annotations

DEFAULT_REBUILD_HINT = "rebuild the index from its source texts"


class EmbeddingsError(Exception):
    """Base class so callers can catch every embeddings failure in one place."""

    def __init__(self, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{problem}; {hint}" if hint else problem)
        self.problem = problem
        self.hint = hint


class IndexMismatchError(EmbeddingsError):
    """A stored index was built with a different model or dimension than the one configured."""


class IndexCorruptError(EmbeddingsError):
    """A stored index is missing, unreadable, inconsistent, or of a format this version skips."""


class ModelUnavailableError(EmbeddingsError):
    """The model is neither a local folder nor installed, and nothing is downloaded at run time."""
