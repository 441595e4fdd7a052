"""Named crash points, so that tests kill a writer at a chosen state of its work, not at a time.

Writers call `crash_point(NAME)` between their phases (each SQL commit, each index file save).
When `$IMR_GRAPH_CRASH_AT` names that point (`NAME`, or `NAME#N` for its N-th pass in this
process) the process SIGKILLs itself there, exactly like a `kill -9` or a power cut would;
unset, a call is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

from imr_graph.errors import StoreError

CRASH_ENV = "IMR_GRAPH_CRASH_AT"

# every point a writer announces, in the order a run meets them
POINTS = (
    "ingest.embedded",  # a batch's passages are in the embedding cache, its SQL not committed
    "put.uncommitted",  # letters written inside the open SQL transaction
    "put.committed",  # the batch's SQL transaction committed, indexes not yet updated
    "ingest.applied",  # indexes updated in memory after a commit, not saved
    "remove.uncommitted",  # a letter's rows deleted inside the open SQL transaction
    "remove.committed",  # the removal committed, indexes not yet updated
    "reindex.embedded",  # every item re-embedded in memory, nothing saved
    "save.rationales",  # a fresh index folder holds the rationale vectors only
    "save.requests",  # ... and the request vectors
    "save.lexical",  # ... and the BM25 index
    "save.arrays",  # ... and the query arrays: complete, but indexes.json still names the old
    "save.swapped",  # indexes.json names the new folder, the old folders are still there
    "save.pruned",  # old index folders removed, the store's model not yet recorded
)

_passes: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Kill this process here when $IMR_GRAPH_CRASH_AT names this point (tests only)."""
    at = os.environ.get(CRASH_ENV)
    if at:
        _maybe_crash(at, name)


def _maybe_crash(at: str, name: str) -> None:
    want, _, nth = at.partition("#")
    if want not in POINTS or not (nth or "1").isdigit() or int(nth or "1") < 1:
        raise StoreError(
            f"${CRASH_ENV}={at!r} names no crash point: use one of {', '.join(POINTS)}, "
            "optionally with #N (its N-th pass), or unset it"
        )
    if want != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == int(nth or "1"):
        os.kill(os.getpid(), signal.SIGKILL)
