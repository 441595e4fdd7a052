"""FAISS OpenMP thread control: one thread for interactive single queries, all cores for batches."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import faiss

_lock = threading.RLock()


def set_threads(n: int | None = None) -> None:
    """Set FAISS's OpenMP thread count (process-wide); None means all cores."""
    faiss.omp_set_num_threads(max(1, n if n is not None else (os.cpu_count() or 1)))


def get_threads() -> int:
    """Current FAISS OpenMP thread count."""
    return int(faiss.omp_get_max_threads())


@contextmanager
def single_query_threads() -> Iterator[None]:
    """Run the block with one OpenMP thread: a lone query gains nothing from waking a team.

    The setting is process-wide, so the block holds a lock to keep concurrent callers
    from restoring each other's value mid-search.
    """
    with _lock:
        previous = get_threads()
        faiss.omp_set_num_threads(1)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(previous)
