"""The errors the application raises, so the CLI can answer each in one line; and the one remedy
for derived index data that is damaged, behind, or built by another model."""

from __future__ import annotations

REINDEX = "run `imr-graph reindex`"
"""The remedy for search indexes (derived data): the only place that names the command."""


class LetterError(Exception):
    """A letter that cannot be read or is not an IMR letter; str() is the one-line message."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class StoreError(Exception):
    """A store that cannot be opened or written; str() says what to run."""


class ValueProblem(Exception):
    """A value the user gave that this store cannot use (a date, a filter); str() names the
    option and value and says what would work. The CLI answers it as a usage error (exit 2)."""


class IndexesError(StoreError):
    """The store's search indexes cannot be used as they are; str() ends with the remedy."""


def needs_reindex(problem: str) -> str:
    """`problem` followed by the reindex remedy, one line."""
    return f"{problem}: {REINDEX}"
