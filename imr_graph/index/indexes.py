"""The store's search indexes: rationale windows and requests in FAISS, BM25 over items.

Indexes are derived data, saved as one set (`index/files.py`). When the recorded generation
differs from SQLite's (a crash between commit and save, a deleted file), `sync` rebuilds them
from the SQL rows, re-embedding nothing the embedding cache holds.

Repairs write, so they take the store's writer lock; a reader that finds the indexes behind
while another process writes waits for that writer's save (up to the lock timeout) instead.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings import (
    EmbeddingCache,
    EmbeddingsError,
    Encoder,
    IndexCorruptError,
    IndexMismatchError,
    LexicalIndex,
    ModelUnavailableError,
    VectorIndex,
    encode_with_cache,
)
from embeddings.csr import sorted_unique
from embeddings.storage import fsync_dir
from imr_graph import config
from imr_graph.errors import REINDEX, IndexesError, StoreError, needs_reindex
from imr_graph.index.arrays import GraphArrays
from imr_graph.index.files import (
    INDEX_FORMAT,
    STATE_FILE,
    index_root,
    load_files,
    read_state,
    write_state,
)
from imr_graph.index.ids import MAX_WINDOWS, item_of_window, window_id
from imr_graph.store.faults import crash_point
from imr_graph.store.lock import StoreBusyError, lock_holder, lock_timeout, waiting_note
from imr_graph.store.sqlite import Store
from kg.model import Letter


def make_encoder(model: str | None = None, store: Store | None = None) -> Encoder:
    """The application's encoder: `model`, else $IMR_GRAPH_MODEL, else the model `store` was
    embedded with, else the default (config.DEFAULT_MODEL); ONNX conversions go to the
    application's cache folder. Cheap: the model loads on first use."""
    if model is None and not os.environ.get(config.MODEL_ENV):
        model = (store.meta("model") if store is not None else None) or config.DEFAULT_MODEL
    return Encoder(
        model,
        model_env=config.MODEL_ENV,
        backend_cache=config.backend_cache_dir(),
        install_package=config.APP_NAME,
    )


log = logging.getLogger("imr_graph")


def lexical_text(request: str, rationale: str) -> str:
    """What BM25 indexes for an item: its request, then its rationale."""
    return f"{request}. {rationale}"


@dataclass
class Indexes:
    """Rationale vectors, request vectors, the BM25 index and the query arrays of one store."""

    store: Store
    encoder: Encoder
    rationales: VectorIndex
    requests: VectorIndex
    lexical: LexicalIndex
    generation: int
    _arrays: GraphArrays
    # letters whose query arrays are not updated yet (ingest defers it to its checkpoints:
    # an update re-sorts every item: 0.12 s at 1e5, 1.4-2 s at 1e6, per 64-letter batch)
    _gone: set[str] = field(default_factory=set)
    _added: set[str] = field(default_factory=set)

    @property
    def arrays(self) -> GraphArrays:
        """The query arrays, with every applied change (pending ones are applied first)."""
        if self._gone or self._added:
            added = self.store.iter_letters(sorted(self._added))
            self._arrays = self._arrays.updated(self._gone, added)
            self._gone, self._added = set(), set()
        return self._arrays

    @arrays.setter
    def arrays(self, value: GraphArrays) -> None:
        self._arrays, self._gone, self._added = value, set(), set()

    @property
    def folder(self) -> Path:
        return index_root(self.store)

    # ---- open ----------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        store: Store,
        encoder: Encoder | None = None,
        repair: bool = True,
        allow_model_change: bool = False,
        wait: float | None = None,
    ) -> Indexes:
        """Load the indexes; rebuild them when missing, damaged or behind the store (if repair).

        A store embedded with another model than the configured one is refused with a line
        that says to reindex, instead of answering with mismatched vectors.
        Repairing writes, so it needs the writer lock: when another process holds it (it is
        ingesting), this waits up to `wait` seconds (default: the lock timeout) for that
        writer to save consistent indexes, then gives up with a one-line StoreBusyError.
        With repair=False any problem is a one-line StoreError that says what to run. A
        repair is logged (a query that repairs says so). On a read-only store nothing is
        written: indexes behind the store answer as they are, with a warning; damaged ones
        are refused with the remedy.
        """
        enc = encoder or make_encoder(store=store)
        stored_model = store.meta("model")
        if stored_model and stored_model != enc.model_name and not allow_model_change:
            raise StoreError(
                f"store {store.path} was embedded with {stored_model} but the configured model "
                f"is {enc.model_name}: {REINDEX} to re-embed, or set "
                f"{config.MODEL_ENV}={stored_model}"
            )
        deadline = time.monotonic() + (lock_timeout() if wait is None else max(0.0, wait))
        said = False
        had_indexes = (index_root(store) / STATE_FILE).exists()
        while True:
            idx, problem = cls._try_load(store, enc)
            if idx is not None and problem is None:
                _prune_if_free(store)
                return idx
            assert problem is not None
            if store.read_only:
                if idx is None:
                    raise IndexesError(
                        f"{problem}, and {store.path} is read-only: {REINDEX} on a writable "
                        "copy of the store"
                    )
                log.warning(
                    "%s; %s is read-only, so this answer comes from the indexes as they are "
                    "(%s on a writable copy to bring them in step)",
                    problem,
                    store.path,
                    REINDEX,
                )
                return idx
            if not repair:
                raise StoreError(needs_reindex(problem))
            try:
                with store.writing(timeout=0):
                    # Under the lock nobody else writes: load again, then bring it in step.
                    idx, problem = cls._try_load(store, enc)
                    if idx is not None and problem is None:
                        return idx
                    try:
                        if idx is None:
                            idx = cls.empty(store, enc)
                        idx.sync()
                    except ModelUnavailableError:
                        raise StoreError(
                            f"store {store.path} was embedded with {enc.model_name}, which is "
                            "not available on this machine, and its indexes need repair "
                            f"({problem}): {REINDEX} --model NAME to re-embed with a model "
                            "you have"
                        ) from None
                    if had_indexes:  # a first build of a new store is no repair
                        log.warning("%s; repaired them from the store", problem)
                    return idx
            except StoreBusyError:
                if time.monotonic() >= deadline:
                    pid = lock_holder(store.path)
                    raise StoreBusyError(
                        f"search indexes of {store.path} are not in step with the store while "
                        f"another process (pid {pid or 'unknown'}) is writing it; try again "
                        "when it ends"
                    ) from None
                if not said:
                    waiting_note(store.path)
                    said = True
                time.sleep(0.1)

    @classmethod
    def _try_load(cls, store: Store, enc: Encoder) -> tuple[Indexes | None, str | None]:
        """(indexes, None) when in step with the store; else (loaded or None, one-line why,
        without the remedy)."""
        with store.snapshot():  # generation and item count from one SQL state
            gen = store.generation
            want = store.db.execute("SELECT count(*) FROM items").fetchone()[0]
        try:  # IndexesError (a newer format) goes up as it is: no repair can help
            files = load_files(store, enc.model_name)
        except IndexMismatchError as e:
            return None, e.problem
        except (IndexCorruptError, EmbeddingsError, OSError, ValueError, KeyError) as e:
            why = e.problem if isinstance(e, EmbeddingsError) else str(e)
            return None, f"search indexes of {store.path} are damaged or missing ({why})"
        state, rat, req, lex, arrays = files
        idx = cls(store, enc, rat, req, lex, int(state["generation"]), arrays)
        if idx.generation != gen or not _same_count(idx, want):
            return idx, (
                f"search indexes of {store.path} are behind the store (index generation "
                f"{idx.generation}, store {gen})"
            )
        return idx, None

    @classmethod
    def empty(cls, store: Store, encoder: Encoder) -> Indexes:
        dim = encoder.dim
        return cls(
            store,
            encoder,
            VectorIndex(dim, encoder.model_name),
            VectorIndex(dim, encoder.model_name),
            LexicalIndex(),
            -1,
            GraphArrays.build([]),
        )

    # ---- keeping in step -----------------------------------------------------------------
    def cache(self) -> EmbeddingCache:
        return EmbeddingCache(self.store.path / "embedding_cache.sqlite")

    def _embed(self, batches: list[list[str]], show_progress: bool) -> list[np.ndarray]:
        """Vectors of the rationale windows, then of the requests, through the cache.

        The cache is derived data: when it turns out damaged, it is set aside, started again
        empty (what it held is re-embedded) and the change is said in one line.
        """
        descs = ["embedding rationales", "embedding requests"]
        for attempt in (0, 1):
            try:
                with self.cache() as cache:
                    return [
                        _encode(self.encoder, cache, texts, show_progress and n == 0, descs[n])
                        for n, texts in enumerate(batches)
                    ]
            except sqlite3.DatabaseError as e:
                if attempt:
                    raise
                path = self.store.path / "embedding_cache.sqlite"
                log.warning(
                    "embedding cache %s is damaged (%s); it is derived data: started it again "
                    "empty, so its texts are embedded anew",
                    path,
                    e,
                )
                for part in (
                    path,
                    path.with_name(path.name + "-wal"),
                    path.with_name(path.name + "-shm"),
                ):
                    part.unlink(missing_ok=True)
        raise AssertionError("unreachable")

    def prepare(self, letters: Iterable[Letter], show_progress: bool = False) -> None:
        """Embed the letters' passages into the cache before their SQL commit.

        Ingest calls this first so that the slow part (the model) happens before the commit;
        the `apply` after the commit then reads the cache, and the window in which the SQL
        store is ahead of the saved indexes is short.
        """
        items = [(it.request, it.rationale) for letter in letters for it in letter.items]
        if not items:
            return
        enc = self.encoder
        windows = enc.split_windows_many([rat or req for req, rat in items])
        texts = [w for wins in windows for w in wins[:MAX_WINDOWS]]
        self._embed([texts, [req for req, _ in items]], show_progress)

    def apply(
        self,
        removed: list[int],
        added: list[int],
        show_progress: bool = False,
        save: bool = True,
    ) -> None:
        """Remove removed items, embed and add the added ones, then save (unless told not to:
        ingest saves at checkpoints, since a save rewrites every index file)."""
        with self.store.writing():
            if removed:
                self._remove_items(removed)
            found = self.store.items_by_id(added)
            if found:
                self._add_rows([(i, r[2], r[4]) for i, r in found.items()], show_progress)
            self._update_arrays(removed, {r[0] for r in found.values()})
            if save:
                self.save()

    def _update_arrays(self, removed: list[int], added_letters: set[str]) -> None:
        """Note the letters of removed items to drop and the `added_letters` to (re)read; the
        next read of `arrays` (or save) applies them. A letter added since the last update
        and removed again is simply not in the store any more when it is read."""
        a = self._arrays
        pos = a.positions(np.asarray(removed, np.int64))
        self._gone |= {a.letter_of(int(p)) for p in pos if p >= 0}
        self._added |= added_letters

    def sync(self, show_progress: bool = False) -> None:
        """Make the indexes hold exactly the store's items."""
        with self.store.writing():
            self._sync(show_progress)

    def _sync(self, show_progress: bool) -> None:
        # sorted numpy id sets: Python sets of 1e6 ids took seconds and ~100 MB each
        want = store_item_ids(self.store)
        have = list(indexed_item_ids(self.rationales, self.requests, self.lexical).values())
        every = sorted_unique(np.concatenate(have))
        stale = np.setdiff1d(every, want, assume_unique=True)
        complete = functools.reduce(lambda x, y: np.intersect1d(x, y, assume_unique=True), have)
        missing = np.setdiff1d(want, complete, assume_unique=True)
        if len(stale):
            self._remove_items(stale.tolist())
        if len(missing):
            self._remove_items(missing.tolist())
            self._add_rows(self._rows(missing.tolist()), show_progress)
        if self.generation != self.store.generation or self.arrays.n != len(want):
            # a replaced letter keeps its item ids, so only a rebuild is sure to be right
            self.arrays = GraphArrays.build(self.store.iter_letters())
        self.save()

    def rebuild(self, show_progress: bool = False) -> None:
        """Throw the indexes away and rebuild from the store (embedding cache still used)."""
        with self.store.writing():
            fresh = Indexes.empty(self.store, self.encoder)
            self.rationales, self.requests, self.lexical = (
                fresh.rationales,
                fresh.requests,
                fresh.lexical,
            )
            self._add_rows(self._rows(None), show_progress)
            crash_point("reindex.embedded")
            self.arrays = GraphArrays.build(self.store.iter_letters())
            self.save()

    def _rows(self, ids: list[int] | None) -> list[tuple[int, str, str]]:
        """(id, request, rationale) of the given items, or of all."""
        if ids is None:
            return self.store.db.execute("SELECT id, request, rationale FROM items").fetchall()
        return [(i, r[2], r[4]) for i, r in self.store.items_by_id(ids).items()]

    def _remove_items(self, item_ids: list[int]) -> None:
        ids = set(item_ids)
        have = np.asarray(self.rationales.ids(), np.int64)
        vids = have[np.isin(item_of_window(have), np.fromiter(ids, np.int64, len(ids)))]
        self.rationales.remove(vids)
        self.requests.remove(list(ids))
        self.lexical.remove(list(ids))

    def _add_rows(self, rows: list[tuple[int, str, str]], show_progress: bool) -> None:
        if not rows:
            return
        enc = self.encoder
        windows = enc.split_windows_many([r[2] or r[1] for r in rows])
        texts: list[str] = []
        vids: list[int] = []
        for (iid, _, _), wins in zip(rows, windows, strict=True):
            for n, w in enumerate(wins[:MAX_WINDOWS]):
                texts.append(w)
                vids.append(window_id(iid, n))
        vecs, rvecs = self._embed([texts, [r[1] for r in rows]], show_progress)
        self.rationales.add(np.asarray(vids, dtype=np.int64), vecs)
        self.requests.add(np.asarray([r[0] for r in rows], dtype=np.int64), rvecs)
        self.lexical.add([r[0] for r in rows], [lexical_text(r[1], r[2]) for r in rows])

    def save(self) -> None:
        """Write all three indexes into a fresh folder, then point indexes.json at it.

        The pointer swap is one atomic rename, so readers and crashes see the old set or the
        new one. Older folders (and a crashed save's leftovers) are removed afterwards; a
        reader still loading one of them retries with the new pointer.
        """
        with self.store.writing():
            folder = self.folder
            folder.mkdir(parents=True, exist_ok=True)
            gen = self.store.generation
            name = f"v{gen:08d}-{uuid.uuid4().hex[:8]}"
            base = folder / name
            self.rationales.save(base / "rationales")
            crash_point("save.rationales")
            self.requests.save(base / "requests")
            crash_point("save.requests")
            self.lexical.save(base / "lexical")
            crash_point("save.lexical")
            self.arrays.save(base / "graph")
            crash_point("save.arrays")
            fsync_dir(base / "graph")
            fsync_dir(base)
            model = self.encoder.model_name
            write_state(
                folder, {"format": INDEX_FORMAT, "generation": gen, "model": model, "dir": name}
            )
            crash_point("save.swapped")
            self.generation = gen
            _prune(folder, name)
            crash_point("save.pruned")
            if self.store.meta("model") != self.encoder.model_name:
                with self.store.transaction():
                    self.store._set_meta("model", self.encoder.model_name)


def _prune(folder: Path, keep: str) -> None:
    """Remove every index set but `keep` (older sets, a crashed save's leftovers)."""
    for old in folder.iterdir():
        if old.is_dir() and old.name != keep and old.name.startswith("v"):
            shutil.rmtree(old, ignore_errors=True)


def _prune_if_free(store: Store) -> None:
    """Remove index sets indexes.json does not name, left by a save killed between its
    pointer swap and its pruning; only when no writer holds the lock (a writer's new set is
    unnamed until its swap) and never on a read-only store."""
    folder = index_root(store)
    if store.read_only or sum(1 for p in folder.iterdir() if p.is_dir()) < 2:
        return
    try:
        with store.writing(timeout=0):
            state = read_state(folder)
            if state is not None and isinstance(state.get("dir"), str):
                _prune(folder, state["dir"])
    except StoreBusyError:
        pass  # the writer prunes when it saves


def _encode(
    enc: Encoder, cache: EmbeddingCache, texts: list[str], show_progress: bool, desc: str
) -> np.ndarray:
    if not texts:
        return np.empty((0, enc.dim), dtype=np.float32)
    if not show_progress:
        return encode_with_cache(enc, cache, texts)
    from tqdm import tqdm

    out = []
    step = 256
    with tqdm(total=len(texts), desc=desc, unit="passage", file=None) as bar:
        for i in range(0, len(texts), step):
            out.append(encode_with_cache(enc, cache, texts[i : i + step]))
            bar.update(len(texts[i : i + step]))
    return np.vstack(out)


def indexed_item_ids(
    rationales: VectorIndex, requests: VectorIndex, lexical: LexicalIndex
) -> dict[str, np.ndarray]:
    """The sorted item ids each index holds (rationale windows counted as their item)."""
    return {
        "rationale_vectors": sorted_unique(item_of_window(np.asarray(rationales.ids(), np.int64))),
        "request_vectors": sorted_unique(requests.ids()),
        "lexical": sorted_unique(lexical.ids()),
    }


def store_item_ids(store: Store) -> np.ndarray:
    """Every item id of the store, sorted (int64)."""
    cur = store.db.execute("SELECT id FROM items ORDER BY id")
    return np.fromiter((r[0] for r in cur), np.int64)


def _same_count(idx: Indexes, want: int) -> bool:
    """Cheap consistency on open: every part holds the store's item count (`check` compares
    the ids themselves); the generation check catches every change made through imr-graph."""
    return len(idx.lexical) == len(idx.requests) == idx.arrays.n == want
