"""The saved index set of a store: `index/indexes.json` names one folder of index files.

Each save writes all the indexes into a fresh folder `index/v<gen>-<id>/`, then atomically
replaces `indexes.json`, which names that folder, the store generation it reflects and the
model. A reader loads one whole set or the previous one, never a mix. Only format 3 is read:
an older set reads as damaged, and the next writer (or `imr-graph reindex`) rebuilds it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from embeddings import IndexCorruptError, LexicalIndex, VectorIndex
from embeddings.storage import atomic_write, load_consistently
from imr_graph.errors import REINDEX, IndexesError
from imr_graph.index.arrays import GraphArrays
from imr_graph.store.sqlite import Store

STATE_FILE = "indexes.json"
INDEX_FORMAT = 3  # the index folder holds rationales/, requests/, lexical/ and graph/


class IndexFiles(NamedTuple):
    """One consistent set of saved indexes and the state that named it."""

    state: dict[str, Any]
    rationales: VectorIndex
    requests: VectorIndex
    lexical: LexicalIndex
    arrays: GraphArrays


def index_root(store: Store) -> Path:
    """The folder that holds `indexes.json` and the index sets."""
    return store.path / "index"


def read_state(folder: Path) -> dict[str, Any] | None:
    """indexes.json as a dict; None when it is absent or unreadable."""
    try:
        state = json.loads((folder / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def write_state(folder: Path, state: dict[str, Any]) -> None:
    """Point indexes.json at a new set in one atomic rename."""
    text = json.dumps(state)
    atomic_write(folder / STATE_FILE, lambda p: p.write_text(text))


def index_dir(folder: Path, state: dict[str, Any]) -> Path:
    """The folder holding the index files that `state` (indexes.json) points at."""
    name = state.get("dir")
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name[0] == ".":
        raise IndexCorruptError(f"{folder / STATE_FILE} names a bad folder {name!r}")
    return folder / name


def _checked_state(store: Store, folder: Path) -> dict[str, Any]:
    state = read_state(folder)
    if state is None:
        if (folder / STATE_FILE).exists():
            raise IndexCorruptError(f"{folder / STATE_FILE} is unreadable")
        raise IndexCorruptError(f"no index state at {folder / STATE_FILE}")
    fmt = state.get("format", 1)
    if not isinstance(fmt, int) or fmt > INDEX_FORMAT:
        raise IndexesError(
            f"search indexes of {store.path} use format {fmt}, newer than this imr-graph "
            f"reads ({INDEX_FORMAT}): upgrade imr-graph, or {REINDEX}"
        )
    if fmt != INDEX_FORMAT:
        raise IndexCorruptError(
            f"{folder / STATE_FILE} has format {fmt}, which this version no longer reads"
        )
    if not isinstance(state.get("generation"), int):
        raise IndexCorruptError(f"{folder / STATE_FILE} has no generation")
    return state


def load_files(store: Store, expected_model: str | None = None) -> IndexFiles:
    """Read indexes.json and the indexes and query arrays it points at (no model, no repair).

    Raises IndexCorruptError when anything is missing, unreadable or of an older format,
    IndexMismatchError when `expected_model` differs from the one the vectors were built with
    (both ending in the reindex remedy), and IndexesError for indexes written by a newer
    imr-graph. A reader that races saves retries up to twice.
    """
    folder = index_root(store)

    def load(state: dict[str, Any]) -> IndexFiles:
        base = index_dir(folder, state)
        # memory-mapped: opening reads nothing; the first write copies the index to memory
        model = expected_model
        rat = VectorIndex.load(base / "rationales", model, rebuild_hint=REINDEX, mmap=True)
        req = VectorIndex.load(base / "requests", model, rebuild_hint=REINDEX, mmap=True)
        lex = LexicalIndex.load(base / "lexical", rebuild_hint=REINDEX, mmap=True)
        return IndexFiles(state, rat, req, lex, _load_arrays(base / "graph"))

    # a writer may swap the pointer (and remove these files) between the two reads
    return load_consistently(lambda: _checked_state(store, folder), load, retries=2)


def _load_arrays(folder: Path) -> GraphArrays:
    """The saved query arrays, memory-mapped."""
    try:
        return GraphArrays.load(folder, mmap=True)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IndexCorruptError(f"query arrays at {folder} are unreadable ({e})", REINDEX) from None
