"""Nearest-neighbour index over int64 ids on FAISS: exact when small, HNSW past a measured size.

Threshold, from `python -m benchmarks.vector_index` (Intel Xeon, 2 cores shared with other
work, faiss 1.15.1; 384-d unit vectors of intrinsic dimension 32; median single-query
latency in ms; HNSW M=32, efConstruction=40, built with 2 threads):

        n | exact 1thr | exact 2thr | hnsw ef64 | hnsw ef128 | recall ef64 | ef128 | build s
    10000 |     0.60   |     0.71   |    0.21   |    0.35    |    0.998    | 1.000 |    0.6
    30000 |     1.69   |     2.14   |    0.28   |    0.50    |    0.987    | 1.000 |    2.6
   100000 |    12.7    |    16.0    |    0.49   |    0.89    |    0.956    | 0.992 |   13.1
   300000 |    39.9    |    50.4    |    0.67   |    1.25    |    0.907    | 0.975 |   62.0
  1000000 |   146      |   507      |    0.84   |    1.57    |    0.843    | 0.950 |  406

Exact search costs <= ~13 ms per query up to 1e5 vectors, about what encoding the query
costs, and it is the only kind with perfect recall, cheap removal and no build time. Past
1e5 it grows linearly (40 ms at 3e5, 146 ms at 1e6) while HNSW stays under 2 ms, so
`APPROX_THRESHOLD` is 100_000 and HNSW searches with efSearch=128 (recall 0.99 at 1e5, 0.95
at 1e6, still ~1.5 ms). A lone query is slower on 2 OpenMP threads than on 1, hence
`single_query_threads` around single-row searches.

Removal from HNSW: FAISS's HNSW cannot delete, and wrapping it in IndexIDMap2 would leave
the removed vector under the same id, so re-adding that id would make duplicates. Instead the
HNSW graph is addressed by internal positions, `_labels` maps positions to ids, and removed
positions become tombstones excluded during the graph search with an IDSelector (no over-fetch
needed). Tombstones are saved as they are (saving never rebuilds: that costs minutes at 1e6);
the graph is rebuilt from the live vectors once tombstones pass a quarter of it, which
amortises the rebuild over many removals.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from embeddings.atomic_files import atomic_write
from embeddings.errors import IndexCorruptError, IndexMismatchError
from embeddings.threads import single_query_threads

APPROX_THRESHOLD = 100_000
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REBUILD_HINT = "run `imr-graph reindex`"
HNSW_M = 32
EF_CONSTRUCTION = 40
EF_SEARCH = 128
TOMBSTONE_FRACTION = 0.25

IndexKind = Literal["flat", "hnsw"]


@dataclass(frozen=True)
class Manifest:
    """What `save` records next to the vectors, checked again by `load`."""

    model_name: str
    dim: int
    index_type: IndexKind
    count: int
    faiss_version: str
    numpy_version: str
    format_version: int
    vectors_file: str
    labels_file: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            model_name=str(data["model_name"]),
            dim=int(data["dim"]),
            index_type=data["index_type"],
            count=int(data["count"]),
            faiss_version=str(data["faiss_version"]),
            numpy_version=str(data["numpy_version"]),
            format_version=int(data["format_version"]),
            vectors_file=str(data["vectors_file"]),
            labels_file=data.get("labels_file"),
        )


def _as_ids(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError("ids must be a 1-D sequence of integers")
    return arr.astype(np.int64, copy=False)


class VectorIndex:
    """Inner-product search over unit vectors keyed by int64 ids.

    `kind="auto"` starts exact (IndexIDMap2 over IndexFlatIP) and moves to HNSW once the
    collection passes `approx_threshold`; "flat" or "hnsw" pin the kind. Adding an id that is
    already present replaces its vector.
    """

    def __init__(
        self,
        dim: int,
        model_name: str = "",
        *,
        kind: Literal["auto", "flat", "hnsw"] = "auto",
        approx_threshold: int = APPROX_THRESHOLD,
        ef_search: int = EF_SEARCH,
    ) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        self.dim = dim
        self.model_name = model_name
        self.policy = kind
        self.approx_threshold = approx_threshold
        self.ef_search = ef_search
        self._kind: IndexKind = "hnsw" if kind == "hnsw" else "flat"
        self._flat: faiss.IndexIDMap2 | None = None
        self._hnsw: faiss.IndexHNSWFlat | None = None
        self._labels = np.empty(0, dtype=np.int64)  # hnsw position -> id
        self._pos: dict[int, int] = {}  # live id -> hnsw position
        self._dead: set[int] = set()  # hnsw positions removed
        self._selector: Any = None
        self._live: set[int] = set()
        self._reset(self._kind)

    def _reset(self, kind: IndexKind) -> None:
        self._kind = kind
        self._flat = None
        self._hnsw = None
        self._labels = np.empty(0, dtype=np.int64)
        self._pos = {}
        self._dead = set()
        self._selector = None
        self._live = set()
        if kind == "flat":
            self._flat = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        else:
            self._hnsw = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            self._hnsw.hnsw.efConstruction = EF_CONSTRUCTION

    @property
    def index_type(self) -> IndexKind:
        """Kind of FAISS index in use now."""
        return self._kind

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, int | np.integer) and int(item) in self._live

    def __repr__(self) -> str:
        return (
            f"VectorIndex({self._kind}, dim={self.dim}, n={len(self)}, model={self.model_name!r})"
        )

    def ids(self) -> np.ndarray:
        """Live ids, sorted."""
        return np.array(sorted(self._live), dtype=np.int64)

    def add(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert vectors under `ids`; an id already present gets the new vector."""
        id_arr = _as_ids(ids)
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[1] != self.dim:
            raise ValueError(f"vectors must have shape (n, {self.dim}), got {vecs.shape}")
        if vecs.shape[0] != id_arr.shape[0]:
            raise ValueError(f"{id_arr.shape[0]} ids for {vecs.shape[0]} vectors")
        if len(np.unique(id_arr)) != len(id_arr):
            raise ValueError("duplicate ids in one add() call")
        if id_arr.size == 0:
            return
        present = [int(i) for i in id_arr if int(i) in self._live]
        if present:
            self.remove(present)
        if (
            self.policy == "auto"
            and self._kind == "flat"
            and len(self) + len(id_arr) > self.approx_threshold
        ):
            old_ids, old_vecs = self._live_items()
            self._reset("hnsw")
            self._add_hnsw(old_ids, old_vecs)
        if self._kind == "flat":
            assert self._flat is not None
            self._flat.add_with_ids(vecs, id_arr)
        else:
            self._add_hnsw(id_arr, vecs)
        self._live.update(int(i) for i in id_arr)

    def _add_hnsw(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        assert self._hnsw is not None
        start = self._hnsw.ntotal
        self._hnsw.add(vecs)
        self._labels = np.concatenate([self._labels, ids])
        self._pos.update((int(i), start + k) for k, i in enumerate(ids))
        self._live.update(int(i) for i in ids)

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Drop `ids` (unknown ids are ignored); returns how many were removed."""
        targets = [int(i) for i in _as_ids(ids) if int(i) in self._live]
        if not targets:
            return 0
        if self._kind == "flat":
            assert self._flat is not None
            self._flat.remove_ids(np.array(targets, dtype=np.int64))
        else:
            for i in targets:
                self._dead.add(self._pos.pop(i))
            self._selector = None
        self._live.difference_update(targets)
        if self._kind == "hnsw" and len(self._dead) > TOMBSTONE_FRACTION * len(self._labels):
            self.compact()
        return len(targets)

    def compact(self) -> None:
        """Rebuild the HNSW graph without tombstones (exact when small enough under "auto")."""
        if self._kind != "hnsw" or not self._dead:
            return
        ids, vecs = self._live_items()
        small = self.policy == "auto" and len(ids) <= self.approx_threshold
        self._reset("flat" if small else "hnsw")
        if self._kind == "flat":
            assert self._flat is not None
            self._flat.add_with_ids(vecs, ids)
            self._live.update(int(i) for i in ids)
        else:
            self._add_hnsw(ids, vecs)

    def _live_items(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything live, in storage order."""
        if self._kind == "flat":
            assert self._flat is not None
            n = self._flat.ntotal
            ids = faiss.vector_to_array(self._flat.id_map).astype(np.int64)
            vecs = self._flat.index.reconstruct_n(0, n) if n else np.empty((0, self.dim))
            return ids, np.ascontiguousarray(vecs, dtype=np.float32)
        assert self._hnsw is not None
        n = self._hnsw.ntotal
        if n == 0:
            return np.empty(0, dtype=np.int64), np.empty((0, self.dim), dtype=np.float32)
        alive = np.ones(n, dtype=bool)
        alive[list(self._dead)] = False
        vecs = self._hnsw.reconstruct_n(0, n)[alive]
        return self._labels[alive], np.ascontiguousarray(vecs, dtype=np.float32)

    def reconstruct(self, id_: int) -> np.ndarray:
        """Stored vector of `id_`; KeyError when absent."""
        key = int(id_)
        if key not in self._live:
            raise KeyError(key)
        if self._kind == "flat":
            assert self._flat is not None
            return self._flat.reconstruct(key)
        assert self._hnsw is not None
        return self._hnsw.reconstruct(self._pos[key])

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product: (scores, ids), each (n_queries, min(k, len)).

        A single query runs on one OpenMP thread; batches use the configured thread count.
        Slots HNSW could not fill hold id -1 and score -inf.
        """
        q = np.ascontiguousarray(query_vectors, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (n, {self.dim}), got {q.shape}")
        k = min(int(k), len(self))
        if k <= 0 or q.shape[0] == 0:
            return np.empty((q.shape[0], 0), np.float32), np.empty((q.shape[0], 0), np.int64)
        if q.shape[0] == 1:
            with single_query_threads():
                return self._search(q, k)
        return self._search(q, k)

    def _search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._kind == "flat":
            assert self._flat is not None
            scores, ids = self._flat.search(q, k)
            return scores, ids.astype(np.int64, copy=False)
        assert self._hnsw is not None
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.ef_search, k)
        if self._dead:
            if self._selector is None:
                dead = np.fromiter(self._dead, dtype=np.int64, count=len(self._dead))
                batch = faiss.IDSelectorBatch(dead)
                self._selector = (faiss.IDSelectorNot(batch), batch)  # keep both alive
            params.sel = self._selector[0]
        scores, pos = self._hnsw.search(q, k, params=params)
        ids = np.where(pos >= 0, self._labels[np.maximum(pos, 0)], -1)
        scores = np.where(pos >= 0, scores, -np.inf).astype(np.float32)
        return scores, ids

    # ---- persistence -------------------------------------------------------------------

    def save(self, directory: Path | str) -> Path:
        """Write the index atomically: data files under fresh names, then swap the manifest."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        gen = uuid.uuid4().hex[:12]
        vectors_file = f"vectors-{gen}.faiss"
        labels_file: str | None = None
        index = self._flat if self._kind == "flat" else self._hnsw
        atomic_write(folder / vectors_file, lambda p: faiss.write_index(index, str(p)))
        if self._kind == "hnsw":
            labels_file = f"labels-{gen}.npz"
            dead = np.array(sorted(self._dead), dtype=np.int64)
            atomic_write(
                folder / labels_file,
                lambda p: _write_npz(p, labels=self._labels, dead=dead),
            )
        manifest = {
            "format_version": FORMAT_VERSION,
            "model_name": self.model_name,
            "dim": self.dim,
            "index_type": self._kind,
            "count": len(self),
            "faiss_version": faiss.__version__,
            "numpy_version": np.__version__,
            "vectors_file": vectors_file,
            "labels_file": labels_file,
        }
        text = json.dumps(manifest, indent=2) + "\n"
        atomic_write(folder / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))
        keep = {MANIFEST, vectors_file, labels_file}
        for old in [*folder.glob("vectors-*.faiss"), *folder.glob("labels-*.npz")]:
            if old.name not in keep:
                old.unlink(missing_ok=True)
        return folder

    @classmethod
    def load(
        cls,
        directory: Path | str,
        expected_model: str | None = None,
        expected_dim: int | None = None,
        *,
        kind: Literal["auto", "flat", "hnsw"] = "auto",
        approx_threshold: int = APPROX_THRESHOLD,
        rebuild_hint: str = REBUILD_HINT,
    ) -> VectorIndex:
        """Read an index saved by `save`, checking it matches the configured model and dim.

        Raises IndexMismatchError for another model/dim, IndexCorruptError for anything
        missing, unreadable or inconsistent.
        """
        folder = Path(directory)
        for attempt in range(2):
            manifest = read_manifest(folder, rebuild_hint)
            _check_expected(folder, manifest, expected_model, expected_dim, rebuild_hint)
            try:
                return cls._from_files(folder, manifest, kind, approx_threshold, rebuild_hint)
            except IndexCorruptError:
                # A concurrent save may have swapped the manifest and removed the old files.
                if attempt == 0 and read_manifest(folder, rebuild_hint) != manifest:
                    continue
                raise
        raise AssertionError("unreachable")

    @classmethod
    def _from_files(
        cls,
        folder: Path,
        m: Manifest,
        kind: Literal["auto", "flat", "hnsw"],
        approx_threshold: int,
        hint: str,
    ) -> VectorIndex:
        vec_path = folder / m.vectors_file
        if not vec_path.is_file():
            raise IndexCorruptError(f"vector index file {vec_path} is missing; {hint}")
        try:
            raw = faiss.read_index(str(vec_path))
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "read error"
            raise IndexCorruptError(
                f"vector index file {vec_path} is unreadable ({first[:120]}); {hint}"
            ) from exc
        if raw.d != m.dim:
            raise IndexCorruptError(
                f"vector index file {vec_path} holds dim {raw.d} but its manifest says {m.dim}; "
                f"{hint}"
            )
        index = cls(m.dim, m.model_name, kind=kind, approx_threshold=approx_threshold)
        if m.index_type == "flat":
            flat = raw
            if not isinstance(flat, faiss.IndexIDMap2):
                raise IndexCorruptError(f"{vec_path} is not an exact id-mapped index; {hint}")
            ids = faiss.vector_to_array(flat.id_map).astype(np.int64)
            index._reset("flat")
            index._flat = flat
            index._live = {int(i) for i in ids}
            live_ok = len(index._live) == len(ids) == flat.ntotal
        elif m.index_type == "hnsw":
            hnsw = raw
            if not isinstance(hnsw, faiss.IndexHNSWFlat) or m.labels_file is None:
                raise IndexCorruptError(f"{vec_path} is not an HNSW index; {hint}")
            labels, dead = _read_labels(folder / m.labels_file, hint)
            if len(labels) != hnsw.ntotal or (
                dead.size and (dead.min() < 0 or dead.max() >= len(labels))
            ):
                raise IndexCorruptError(
                    f"{folder / m.labels_file} does not match {vec_path}; {hint}"
                )
            index._reset("hnsw")
            index._hnsw = hnsw
            index._labels = labels
            index._dead = {int(p) for p in dead}
            alive = np.ones(len(labels), dtype=bool)
            alive[dead] = False
            live_pos = np.flatnonzero(alive)
            index._pos = {int(labels[p]): int(p) for p in live_pos}
            index._live = set(index._pos)
            live_ok = len(index._live) == len(live_pos)
        else:
            raise IndexCorruptError(f"unknown index type {m.index_type!r} in manifest; {hint}")
        if not live_ok or len(index) != m.count:
            raise IndexCorruptError(
                f"vector index at {folder} holds {len(index)} vectors but its manifest says "
                f"{m.count}; {hint}"
            )
        return index


def read_manifest(folder: Path | str, rebuild_hint: str = REBUILD_HINT) -> Manifest:
    """Parse `manifest.json` of a saved index; IndexCorruptError when absent or malformed."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        manifest = Manifest.from_json(data)
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"no vector index manifest at {path}; {rebuild_hint}") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(
            f"vector index manifest {path} is unreadable; {rebuild_hint}"
        ) from exc
    if manifest.format_version > FORMAT_VERSION:
        raise IndexCorruptError(
            f"vector index at {folder} uses format {manifest.format_version}, newer than this "
            f"version reads ({FORMAT_VERSION}); upgrade or {rebuild_hint}"
        )
    return manifest


def _check_expected(
    folder: Path, m: Manifest, model: str | None, dim: int | None, hint: str
) -> None:
    if (model is None or model == m.model_name) and (dim is None or dim == m.dim):
        return
    want_model = model if model is not None else m.model_name
    want_dim = f" (dim {dim})" if dim is not None else ""
    raise IndexMismatchError(
        f"vector index at {folder} was built with model {m.model_name} (dim {m.dim}) "
        f"but {want_model}{want_dim} is configured; {hint}"
    )


def _read_labels(path: Path, hint: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            labels = np.asarray(data["labels"], dtype=np.int64)
            dead = np.asarray(data["dead"], dtype=np.int64)
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(
            f"vector index labels {path} are missing or unreadable; {hint}"
        ) from exc
    return labels, dead


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
