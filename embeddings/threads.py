"""Thread control: one thread for interactive single queries, all cores for batches.

Covers FAISS's OpenMP team and, when torch is loaded, its intra-op pool (encoding one query
on two threads took 400 ms on a busy 2-core machine, on one thread 11 ms).
"""

from __future__ import annotations

import os
import sys
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
    """Run the block with one FAISS and one torch thread: a lone query gains nothing from a team.

    The settings are process-wide, so the block holds a lock to keep concurrent callers
    from restoring each other's value mid-search.
    """
    torch = sys.modules.get("torch")  # only if already loaded: never import it for this
    with _lock:
        previous = get_threads()
        previous_torch = torch.get_num_threads() if torch is not None else 0
        faiss.omp_set_num_threads(1)
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(previous)
            if torch is not None:
                torch.set_num_threads(previous_torch)
