"""The one error type the letter reader raises, so callers can answer bad input in one line."""

from __future__ import annotations


class LetterError(Exception):
    """A letter that cannot be read or is not an IMR letter; str() is the one-line message."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class StoreError(Exception):
    """A store that cannot be opened or written; str() says what to run."""
