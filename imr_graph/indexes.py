"""The store's search indexes: rationale windows and requests in FAISS, BM25 over items.

Indexes are derived data. Each save records the store generation it reflects; when that differs
from SQLite's (a crash between commit and save, a deleted file), `sync` rebuilds them from the
SQL rows, re-embedding nothing that the embedding cache already holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings import (
    EmbeddingCache,
    EmbeddingsError,
    Encoder,
    IndexCorruptError,
    IndexMismatchError,
    LexicalIndex,
    VectorIndex,
    encode_with_cache,
    read_manifest,
)
from embeddings.atomic_files import atomic_write

from .errors import StoreError
from .store import Store

WINDOW_BITS = 6  # vector id = item id << 6 | window number
MAX_WINDOWS = 1 << WINDOW_BITS
STATE_FILE = "indexes.json"


def window_id(item_id: int, n: int) -> int:
    return (item_id << WINDOW_BITS) | min(n, MAX_WINDOWS - 1)


def item_of_window(vid: int) -> int:
    return vid >> WINDOW_BITS


def lexical_text(request: str, rationale: str) -> str:
    return f"{request}. {rationale}"


@dataclass
class Indexes:
    """Rationale vectors, request vectors and the BM25 index of one store."""

    store: Store
    encoder: Encoder
    rationales: VectorIndex
    requests: VectorIndex
    lexical: LexicalIndex
    generation: int

    @property
    def folder(self) -> Path:
        return self.store.path / "index"

    # ---- open ----------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        store: Store,
        encoder: Encoder | None = None,
        repair: bool = True,
        allow_model_change: bool = False,
    ) -> Indexes:
        """Load the indexes; rebuild them when missing or behind the store (if repair).

        A store embedded with another model than the configured one is refused with a line
        that says to run `imr-graph reindex`, instead of answering with mismatched vectors.
        """
        enc = encoder or Encoder(None)
        stored_model = store.meta("model")
        if stored_model and stored_model != enc.model_name and not allow_model_change:
            raise StoreError(
                f"store {store.path} was embedded with {stored_model} but the configured model "
                f"is {enc.model_name}: run `imr-graph reindex` to re-embed, or set "
                f"IMR_GRAPH_MODEL={stored_model}"
            )
        folder = store.path / "index"
        state = _read_state(folder)
        try:
            if state is None:
                raise IndexCorruptError("no index state")
            rat = VectorIndex.load(folder / "rationales", expected_model=enc.model_name)
            req = VectorIndex.load(folder / "requests", expected_model=enc.model_name)
            lex = LexicalIndex.load(folder / "lexical")
            idx = cls(store, enc, rat, req, lex, int(state["generation"]))
        except IndexMismatchError as e:
            if not repair:
                raise StoreError(str(e)) from None
            idx = cls.empty(store, enc)
        except (IndexCorruptError, EmbeddingsError, OSError, ValueError, KeyError) as e:
            if not repair:
                raise StoreError(
                    f"search indexes of {store.path} are damaged or missing ({e}): "
                    "run `imr-graph reindex`"
                ) from None
            idx = cls.empty(store, enc)
        if idx.generation != store.generation or not _same_ids(idx, store):
            if not repair:
                raise StoreError(
                    f"search indexes of {store.path} are behind the store: run `imr-graph reindex`"
                )
            idx.sync()
        return idx

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
        )

    # ---- keeping in step -----------------------------------------------------------------
    def cache(self) -> EmbeddingCache:
        return EmbeddingCache(self.store.path / "embedding_cache.sqlite")

    def apply(self, removed: list[int], added: list[int], show_progress: bool = False) -> None:
        """Remove vectors of removed items, embed and add the added ones, then save."""
        if removed:
            self._remove_items(removed)
        if added:
            rows = self._rows(added)
            self._add_rows(rows, show_progress)
        self.save()

    def sync(self, show_progress: bool = False) -> None:
        """Make the indexes hold exactly the store's items."""
        want = {r[0] for r in self.store.item_rows()}
        have = {int(i) for i in self.lexical.ids()}
        have_vec = {item_of_window(int(v)) for v in self.rationales.ids()}
        have_req = {int(i) for i in self.requests.ids()}
        stale = (have | have_vec | have_req) - want
        missing = want - (have & have_vec & have_req)
        if stale:
            self._remove_items(sorted(stale))
        if missing:
            self._remove_items(sorted(missing))
            self._add_rows(self._rows(sorted(missing)), show_progress)
        self.save()

    def rebuild(self, show_progress: bool = False) -> None:
        """Throw the indexes away and rebuild from the store (embedding cache still used)."""
        fresh = Indexes.empty(self.store, self.encoder)
        self.rationales, self.requests, self.lexical = (
            fresh.rationales,
            fresh.requests,
            fresh.lexical,
        )
        self._add_rows(self._rows(None), show_progress)
        self.save()

    def _rows(self, ids: list[int] | None) -> list[tuple[int, str, str]]:
        rows = self.store.db.execute("SELECT id, request, rationale FROM items").fetchall()
        if ids is None:
            return rows
        want = set(ids)
        return [r for r in rows if r[0] in want]

    def _remove_items(self, item_ids: list[int]) -> None:
        ids = set(item_ids)
        vids = [int(v) for v in self.rationales.ids() if item_of_window(int(v)) in ids]
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
        with self.cache() as cache:
            vecs = _encode(enc, cache, texts, show_progress, "embedding rationales")
            rvecs = _encode(enc, cache, [r[1] for r in rows], False, "embedding requests")
        self.rationales.add(np.asarray(vids, dtype=np.int64), vecs)
        self.requests.add(np.asarray([r[0] for r in rows], dtype=np.int64), rvecs)
        self.lexical.add([r[0] for r in rows], [lexical_text(r[1], r[2]) for r in rows])

    def save(self) -> None:
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        self.rationales.save(folder / "rationales")
        self.requests.save(folder / "requests")
        self.lexical.save(folder / "lexical")
        gen = self.store.generation
        state = {"generation": gen, "model": self.encoder.model_name}

        def write(p: Path) -> None:
            p.write_text(json.dumps(state))

        atomic_write(folder / STATE_FILE, write)
        self.generation = gen
        if self.store.meta("model") != self.encoder.model_name:
            with self.store.transaction():
                self.store._set_meta("model", self.encoder.model_name)


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


def _read_state(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def _same_ids(idx: Indexes, store: Store) -> bool:
    want = {r[0] for r in store.db.execute("SELECT id FROM items")}
    return want == {int(i) for i in idx.lexical.ids()} == {int(i) for i in idx.requests.ids()}


def manifest_model(store: Store) -> str | None:
    try:
        return read_manifest(store.path / "index" / "rationales").model_name
    except EmbeddingsError:
        return None
