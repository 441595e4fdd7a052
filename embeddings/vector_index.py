"""Nearest-neighbour index over int64 ids on FAISS: exact when small, IVF-SQ8 past a measured size.

Kinds. Up to APPROX_THRESHOLD (50_000) vectors: exact IndexIDMap2 over IndexFlatIP. Past it:
IVF-SQ8 (IndexIVFScalarQuantizer, 8-bit per dimension, inner product, residuals to the list
centroid), 392 bytes per vector with its id. The measurements behind every constant below
(exact vs IVF-SQ8 vs HNSW-SQ8 at 5e4-1e6 vectors, build, disk, load, mmap) and the decisions
drawn from them are in docs/benchmarks.md, "Vector index" (`python -m benchmarks.vector_index`).

- Search: the nearest lists until IVF_SCAN codes (FAISS max_codes; nprobe capped at twice the
  mean-based count); `nprobe=` pins it.
- Training: when "auto" first passes the threshold, on a sample of the vectors present and
  arriving; retrained from the decoded vectors once the collection is RETRAIN_GROWTH times
  what it was trained on; back to exact at SHRINK_FRACTION of the threshold; never trained
  on fewer than IVF_MIN_TRAIN vectors.
- Removal is real (IndexIVF.remove_ids): no tombstones. Live ids are one sorted int64 array.
- mmap: IVF lists via IO_FLAG_MMAP, flat codes via IO_FLAG_MMAP_IFC; the first write (or
  save) copies the data into memory, so a mapped index stays writable.
- Format 2 only: a manifest of another format is refused with the caller's rebuild hint.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from embeddings import ivf
from embeddings.csr import sorted_positions
from embeddings.errors import DEFAULT_REBUILD_HINT, IndexCorruptError, IndexMismatchError
from embeddings.ivf import CHUNK, IVF_MIN_TRAIN
from embeddings.storage import (
    MANIFEST,
    atomic_write,
    load_consistently,
    new_generation,
    prune,
    write_manifest,
)
from embeddings.storage import read_manifest as read_manifest_file
from embeddings.threads import single_query_threads

APPROX_THRESHOLD = 50_000
FORMAT_VERSION = 2
RETRAIN_GROWTH = 8  # retrain once the collection is 8x what the lists were trained on
SHRINK_FRACTION = 0.5  # "auto" goes back to exact below half the threshold (hysteresis)
UNFILLED = -1e30  # FAISS scores the slots it could not fill -FLT_MAX

# per-index state a rebuild swaps in at once
_STATE = ("_kind", "_index", "_ids", "_trained_count", "_mapped")

IndexKind = Literal["flat", "ivf_sq8"]
KindPolicy = Literal["auto", "flat", "ivf_sq8"]
KINDS: tuple[str, ...] = ("flat", "ivf_sq8")


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
    trained_count: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        trained = data.get("trained_count")
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
            trained_count=None if trained is None else int(trained),
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

    `kind="auto"` starts exact (IndexIDMap2 over IndexFlatIP), moves to IVF-SQ8 once the
    collection passes `approx_threshold` and back to exact at half of it. "flat" pins the
    exact kind; "ivf_sq8" pins IVF-SQ8 from IVF_MIN_TRAIN vectors on (fewer stay exact under
    every policy). Adding an id that is already present replaces its vector. Live ids are a
    sorted int64 array, so loading builds no per-vector Python objects.
    """

    def __init__(
        self,
        dim: int,
        model_name: str = "",
        *,
        kind: KindPolicy = "auto",
        approx_threshold: int = APPROX_THRESHOLD,
        nprobe: int | None = None,
    ) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        if kind not in ("auto", *KINDS):
            raise ValueError(f"kind must be 'auto' or one of {KINDS}, got {kind!r}")
        self.dim = dim
        self.model_name = model_name
        self.policy = kind
        self.approx_threshold = approx_threshold
        self.nprobe = nprobe  # None: lists up to IVF_SCAN codes; an int pins nprobe
        self._kind: IndexKind = "flat"
        self._index: Any = None
        self._ids = np.empty(0, dtype=np.int64)  # live ids, sorted
        self._trained_count = 0  # ivf: collection size the lists were trained on
        self._mapped = False  # data files memory-mapped: copy before writing
        self._hint = DEFAULT_REBUILD_HINT  # remedy named when the data turns out damaged
        self._reset("flat")

    def _reset(self, kind: IndexKind, index: Any = None) -> None:
        """Empty state of `kind`, around `index` when given (a fresh one otherwise)."""
        self._kind = kind
        self._ids = np.empty(0, dtype=np.int64)
        self._trained_count = 0
        self._mapped = False
        if index is not None:
            self._index = index
        elif kind == "flat":
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        else:
            raise AssertionError("an IVF index is only made trained, by _rebuild")

    @property
    def index_type(self) -> IndexKind:
        """Kind of FAISS index in use now."""
        return self._kind

    @property
    def mapped(self) -> bool:
        """Whether the data is still memory-mapped from the files `load(mmap=True)` opened."""
        return self._mapped

    def __len__(self) -> int:
        return int(self._ids.size)

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, int | np.integer):
            return False
        return bool(sorted_positions(self._ids, np.array([int(item)], np.int64))[0] >= 0)

    def __repr__(self) -> str:
        return (
            f"VectorIndex({self._kind}, dim={self.dim}, n={len(self)}, model={self.model_name!r})"
        )

    def ids(self) -> np.ndarray:
        """Live ids, sorted (int64; a copy)."""
        return self._ids.copy()

    def _present(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, positions in `_ids`) of the live ones among `ids`, sorted and unique."""
        uniq = np.unique(ids)
        at = sorted_positions(self._ids, uniq)
        ok = at >= 0
        return uniq[ok], at[ok]

    # ---- writes ------------------------------------------------------------------------

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
        self._ensure_writable()
        present, at = self._present(id_arr)
        if present.size:
            self._drop(present, at)
        total = len(self) + id_arr.size
        switch = self._switch_at()
        if self._kind == "flat" and switch is not None and total > switch:
            self._rebuild("ivf_sq8", id_arr, vecs)
        elif self._kind == "ivf_sq8" and total > RETRAIN_GROWTH * self._trained_count:
            self._rebuild("ivf_sq8", id_arr, vecs)
        else:
            self._insert(id_arr, vecs)

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Drop `ids` (unknown ids are ignored); returns how many were removed."""
        present, at = self._present(_as_ids(ids))
        if not present.size:
            return 0
        self._ensure_writable()
        self._drop(present, at)
        if self._kind == "ivf_sq8":
            switch = self._switch_at()
            if switch is not None and len(self) <= SHRINK_FRACTION * switch:
                self._rebuild("flat")
        return int(present.size)

    def compact(self) -> None:
        """Rebuild from the live vectors as the kind the policy wants for the current size.

        Retrains IVF lists, or goes back to exact where the policy wants it for this size.
        Exact indexes have nothing to do.
        """
        self._ensure_writable()
        want = self._wanted_kind()
        if want == "flat" and self._kind == "flat":
            return
        self._rebuild(want)

    def _switch_at(self) -> int | None:
        """Size past which the policy wants IVF-SQ8 (None: never)."""
        if self.policy == "auto":
            return max(self.approx_threshold, IVF_MIN_TRAIN)
        return IVF_MIN_TRAIN if self.policy == "ivf_sq8" else None

    def _wanted_kind(self) -> IndexKind:
        switch = self._switch_at()
        if switch is None:
            return "flat"
        return "flat" if len(self) <= switch else "ivf_sq8"

    def _insert(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """Add new (absent) ids to the current index and to `_ids`."""
        self._index.add_with_ids(vecs, ids)
        order = np.argsort(ids, kind="stable")
        at = np.searchsorted(self._ids, ids[order])
        self._ids = np.insert(self._ids, at, ids[order])

    def _drop(self, present: np.ndarray, at: np.ndarray) -> None:
        """Remove live ids (`at` = their positions in `_ids`) without changing kind."""
        self._index.remove_ids(present)
        self._ids = np.delete(self._ids, at)

    def _rebuild(
        self,
        kind: IndexKind,
        extra_ids: np.ndarray | None = None,
        extra_vecs: np.ndarray | None = None,
    ) -> None:
        """Rebuild as `kind` from the live vectors (decoded ones for IVF) plus `extra`."""
        if extra_ids is None or extra_vecs is None:
            extra_ids = np.empty(0, dtype=np.int64)
            extra_vecs = np.empty((0, self.dim), dtype=np.float32)
        total = len(self) + extra_ids.size
        old = _Items(self._kind, self._index)
        # fill a fresh object and take its state at the end: an error leaves self as it was
        fresh = VectorIndex(self.dim, self.model_name, kind=self.policy)
        if kind == "ivf_sq8":
            trained = ivf.train(self.dim, (vecs for _, vecs in old), extra_vecs, total)
            fresh._reset(kind, trained)
            fresh._trained_count = total
        else:
            fresh._reset(kind)
        for ids, vecs in old:
            fresh._insert(ids, vecs)
        if extra_ids.size:
            fresh._insert(extra_ids, extra_vecs)
        for name in _STATE:
            setattr(self, name, getattr(fresh, name))

    def _ensure_writable(self) -> None:
        """Copy memory-mapped data into process memory before the first write (or save)."""
        if not self._mapped:
            return
        if self._kind == "ivf_sq8":
            ivf.load_lists_into_memory(self._index)
        else:  # flat codes mapped with IO_FLAG_MMAP_IFC: a write would abort()
            self._index = faiss.deserialize_index(faiss.serialize_index(self._index))
        self._mapped = False

    # ---- reads -------------------------------------------------------------------------

    def reconstruct(self, id_: int) -> np.ndarray:
        """Stored vector of `id_` (as decoded from 8 bits under IVF-SQ8); KeyError when absent."""
        key = int(id_)
        present, at = self._present(np.array([key], dtype=np.int64))
        if not present.size:
            raise KeyError(key)
        if self._kind == "flat":
            return self._index.reconstruct(key)
        found = ivf.find(self._index, key)
        if found is None:
            raise IndexCorruptError(f"id {key} is live but in no IVF list", self._hint)
        return found

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product: (scores, ids), each (n_queries, min(k, len)).

        A single query runs on one OpenMP thread; batches use the configured thread count.
        Slots IVF-SQ8 could not fill hold id -1 and score -inf.
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

    def search_params(self) -> Any:
        """FAISS search parameters the current kind uses (nprobe and max_codes for IVF-SQ8)."""
        return ivf.search_params(self._index, self.nprobe) if self._kind == "ivf_sq8" else None

    def _search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._kind == "flat":
            scores, ids = self._index.search(q, k)
            return scores, ids.astype(np.int64, copy=False)
        scores, ids = self._index.search(q, k, params=self.search_params())
        filled = scores > UNFILLED  # user ids may be -1 themselves: test the score
        scores = np.where(filled, scores, -np.inf).astype(np.float32)
        return scores, np.where(filled, ids, -1).astype(np.int64, copy=False)

    # ---- persistence -------------------------------------------------------------------

    def save(self, directory: Path | str) -> Path:
        """Write the index atomically: data files under fresh names, then swap the manifest.

        A memory-mapped index is first copied into memory (its mapped IVF lists cannot be
        written out), so saving a loaded index costs what a full load does.
        """
        self._ensure_writable()
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        gen = new_generation()
        vectors_file = f"vectors-{gen}.faiss"
        ids_file: str | None = None
        index = self._index
        atomic_write(folder / vectors_file, lambda p: faiss.write_index(index, str(p)))
        if self._kind == "ivf_sq8":
            ids_file = f"ids-{gen}.npz"
            ids = self._ids
            atomic_write(folder / ids_file, lambda p: _write_ids(p, ids))
        write_manifest(
            folder,
            {
                "format_version": FORMAT_VERSION,
                "model_name": self.model_name,
                "dim": self.dim,
                "index_type": self._kind,
                "count": len(self),
                "faiss_version": faiss.__version__,
                "numpy_version": np.__version__,
                "vectors_file": vectors_file,
                "labels_file": ids_file,
                "trained_count": self._trained_count if self._kind == "ivf_sq8" else None,
            },
        )
        data_files = [*folder.glob("vectors-*.faiss"), *folder.glob("ids-*.npz")]
        prune(data_files, {vectors_file, ids_file or ""})
        return folder

    @classmethod
    def load(
        cls,
        directory: Path | str,
        expected_model: str | None = None,
        expected_dim: int | None = None,
        *,
        kind: KindPolicy = "auto",
        approx_threshold: int = APPROX_THRESHOLD,
        rebuild_hint: str = DEFAULT_REBUILD_HINT,
        mmap: bool = False,
    ) -> VectorIndex:
        """Read an index saved by `save` (format 2), checking model and dim.

        `mmap=True` maps the data file instead of reading it (IVF lists via IO_FLAG_MMAP,
        flat codes via IO_FLAG_MMAP_IFC): loading is near-instant and resident memory grows
        with what searches touch. The first write (add/remove/compact/save) copies the data
        into memory, so the index stays fully writable.

        Raises IndexMismatchError for another model/dim, IndexCorruptError for anything
        missing, unreadable, inconsistent or of another format; both end in `rebuild_hint`.
        """
        folder = Path(directory)

        def read() -> Manifest:
            m = read_manifest(folder, rebuild_hint)
            _check_expected(folder, m, expected_model, expected_dim, rebuild_hint)
            return m

        return load_consistently(
            read,
            lambda m: cls._from_files(folder, m, kind, approx_threshold, rebuild_hint, mmap),
        )

    @classmethod
    def _from_files(
        cls,
        folder: Path,
        m: Manifest,
        kind: KindPolicy,
        approx_threshold: int,
        hint: str,
        mmap: bool,
    ) -> VectorIndex:
        if m.index_type not in KINDS:
            raise IndexCorruptError(f"unknown index type {m.index_type!r} in manifest", hint)
        vec_path = folder / m.vectors_file
        if not vec_path.is_file():
            raise IndexCorruptError(f"vector index file {vec_path} is missing", hint)
        flags = 0
        if mmap:
            flags = faiss.IO_FLAG_MMAP if m.index_type == "ivf_sq8" else faiss.IO_FLAG_MMAP_IFC
        try:
            raw: Any = faiss.read_index(str(vec_path), flags)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "read error"
            raise IndexCorruptError(
                f"vector index file {vec_path} is unreadable ({first[:120]})", hint
            ) from exc
        if raw.d != m.dim:
            raise IndexCorruptError(
                f"vector index file {vec_path} holds dim {raw.d} but its manifest says {m.dim}",
                hint,
            )
        index = cls(m.dim, m.model_name, kind=kind, approx_threshold=approx_threshold)
        index._reset(m.index_type, raw)
        if m.index_type == "flat":
            if not isinstance(raw, faiss.IndexIDMap2):
                raise IndexCorruptError(f"{vec_path} is not an exact id-mapped index", hint)
            ids = np.sort(faiss.vector_to_array(raw.id_map).astype(np.int64))
            ok = ids.size == raw.ntotal
        else:
            if not isinstance(raw, faiss.IndexIVFScalarQuantizer) or m.labels_file is None:
                raise IndexCorruptError(f"{vec_path} is not an IVF-SQ8 index", hint)
            ids = _read_ids(folder / m.labels_file, hint)
            ok = ids.size == raw.ntotal and raw.metric_type == faiss.METRIC_INNER_PRODUCT
            index._trained_count = int(m.trained_count or ids.size)
        if ids.size > 1 and not bool((np.diff(ids) > 0).all()):
            ok = False  # duplicate (or unsorted) ids
        index._ids = ids
        index._mapped = mmap
        index._hint = hint
        if mmap and m.index_type == "ivf_sq8":
            ivf.no_prefetch(raw)
        if not ok or len(index) != m.count:
            raise IndexCorruptError(
                f"vector index at {folder} holds {len(index)} vectors but its manifest says "
                f"{m.count}",
                hint,
            )
        return index


@dataclass
class _Items:
    """The live (id, vector) pairs of one index, iterable in chunks; what rebuilds read from."""

    kind: IndexKind
    index: Any

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) of everything live, in storage order, CHUNK-ish rows at a time."""
        index = self.index
        if self.kind == "flat":
            n = index.ntotal
            ids = faiss.vector_to_array(index.id_map).astype(np.int64)
            inner = faiss.downcast_index(index.index)
            for s in range(0, n, CHUNK):
                m = min(CHUNK, n - s)
                yield ids[s : s + m], np.ascontiguousarray(inner.reconstruct_n(s, m))
        else:
            yield from ivf.items(index)


def read_manifest(folder: Path | str, rebuild_hint: str = DEFAULT_REBUILD_HINT) -> Manifest:
    """Parse `manifest.json` of a saved index; IndexCorruptError when absent, malformed or of
    another format than FORMAT_VERSION."""
    path = Path(folder)
    data = read_manifest_file(path, "vector index", FORMAT_VERSION, rebuild_hint)
    try:
        return Manifest.from_json(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(
            f"vector index manifest {path / MANIFEST} is unreadable", rebuild_hint
        ) from exc


def _check_expected(
    folder: Path, m: Manifest, model: str | None, dim: int | None, hint: str
) -> None:
    if (model is None or model == m.model_name) and (dim is None or dim == m.dim):
        return
    want_model = model if model is not None else m.model_name
    want_dim = f" (dim {dim})" if dim is not None else ""
    raise IndexMismatchError(
        f"vector index at {folder} was built with model {m.model_name} (dim {m.dim}) "
        f"but {want_model}{want_dim} is configured",
        hint,
    )


def _read_ids(path: Path, hint: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as data:
            return np.asarray(data["ids"], dtype=np.int64)
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(f"vector index ids {path} are missing or unreadable", hint) from exc


def _write_ids(path: Path, ids: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.savez(f, ids=ids)
