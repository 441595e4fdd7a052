"""Nearest-neighbour index over int64 ids on FAISS: exact when small, IVF-SQ8 past a measured size.

Kinds. Up to APPROX_THRESHOLD (50_000) vectors: exact IndexIDMap2 over IndexFlatIP. Past it:
IVF-SQ8 (IndexIVFScalarQuantizer, 8-bit per dimension, inner product, residuals to the list
centroid), 392 bytes per vector with its id. "hnsw" (HNSWFlat, fp32) stays readable and
writable for format-1 stores but "auto" never picks it again. At the project's top scale
(1.3e6 rationale windows + 1e6 requests) the two indexes take 889 MiB on disk; loading both
took 0.62 s and +899 MiB RSS, or with `mmap=True` 0.026 s and +40 MiB (+901 MiB once 200
queries had touched every list); one query with k=200 on one thread: p50 8.3 ms, p95 9.0 ms
(mapped 8.2 / 10.8), recall@10 0.960, recall@200 0.980 on the clustered data.

Measured with `python -m benchmarks.vector_index --pair 1300000,1000000` on an Intel Xeon,
2 cores shared with other people's jobs (load average 2-6 during the run, so latencies are
indicative: a quieter run gave exact 1e5 11.1-11.4 ms, ivf 1e6 auto 7.7-8.4 ms), faiss 1.15.1;
384-d unit vectors; 200 single queries, k=200, 1 OpenMP thread, in a fresh process. "latent":
32-d Gaussian projected to 384-d (no cluster structure: IVF's hard case); "clust.": copies of
500 base vectors plus N(0, 0.025) per dimension, renormalised, as benchmarks/scale.py fakes
1e6 items (queries: half fresh copies, half the base vectors). IVF param nlist/nprobe, "auto"
= this module's rule; codes/q = vectors compared per query; HNSW-SQ8 with M=16,
efConstruction=40 (M=32 would not fit the memory target: ~650 bytes per vector).

    data     n   index      param      r@10 r@200 p50 ms p95 ms codes/q
    latent  5e4  exact      exact     1.000 1.000   8.22  13.75    50k
    latent  5e4  ivf-sq8    1024/512  0.990 0.990   1.48   5.59    25k
    latent  5e4  ivf-sq8    1024/auto 0.991 0.996   2.85   7.26    50k
    latent  5e4  hnsw16-sq8 ef200     0.980 0.904   0.87   5.00   3.8k
    latent  5e4  hnsw16-sq8 ef400     0.991 0.975   1.59   5.77   6.6k
    latent  1e5  exact      exact     1.000 1.000  18.83  21.86   100k
    latent  1e5  ivf-sq8    1024/512  0.992 0.992   3.75   7.74    50k
    latent  1e5  ivf-sq8    1024/auto 0.993 0.996  11.67  13.77   100k
    latent  1e5  hnsw16-sq8 ef200     0.969 0.859   0.93   5.07   4.1k
    latent  1e5  hnsw16-sq8 ef400     0.991 0.954   1.71   5.96   7.2k
    latent  1e6  exact      exact     1.000 1.000 217.75 227.10  1000k
    latent  1e6  ivf-sq8    4096/205  0.910 0.795   4.54   8.88    51k
    latent  1e6  ivf-sq8    4096/auto 0.964 0.911  12.32  15.12   100k
    latent  1e6  ivf-sq8    4096/820  0.988 0.979  23.74  26.77   201k
    latent  1e6  hnsw16-sq8 ef200     0.859 0.661   2.30   2.70   4.7k
    latent  1e6  hnsw16-sq8 ef400     0.943 0.819   4.04   4.59   8.7k
    clust.  5e4  exact      exact     1.000 1.000   5.02   7.16    50k
    clust.  5e4  ivf-sq8    1024/512  0.982 0.998   1.26   1.44    25k
    clust.  5e4  ivf-sq8    1024/auto 0.982 0.998   2.25   2.52    50k
    clust.  5e4  hnsw16-sq8 ef200     0.957 0.976   0.22   0.33   0.5k
    clust.  5e4  hnsw16-sq8 ef400     0.957 0.993   0.41   0.53   1.0k
    clust.  1e5  exact      exact     1.000 1.000  15.39  16.16   100k
    clust.  1e5  ivf-sq8    1024/512  0.970 0.999   3.38   4.02    50k
    clust.  1e5  ivf-sq8    1024/auto 0.970 0.999   7.20   7.90   100k
    clust.  1e5  hnsw16-sq8 ef200     0.943 0.986   0.20   0.29   0.4k
    clust.  1e5  hnsw16-sq8 ef400     0.943 0.993   0.43   0.54   0.9k
    clust.  1e6  exact      exact     1.000 1.000 148.80 151.01  1000k
    clust.  1e6  ivf-sq8    4096/205  0.957 0.981   4.63   5.15    52k
    clust.  1e6  ivf-sq8    4096/auto 0.957 0.981   8.68   8.92   100k
    clust.  1e6  ivf-sq8    4096/820  0.957 0.981  17.05  17.91   203k
    clust.  1e6  hnsw16-sq8 ef200     0.896 0.919   0.99   1.23   1.5k
    clust.  1e6  hnsw16-sq8 ef400     0.909 0.939   1.25   1.44   1.8k

Build (2 threads), disk, full load (time, RSS growth) and memory-mapped load (time, RSS after
load > after the queries, p50 ms of the queries):

    data     n   index      build s  MiB load s   RSS mmap s mmap RSS   p50
    latent  5e4  exact         0.1    74  0.082    77  0.004     4>78   7.20
    latent  5e4  ivf-sq8       4.4    21  0.023    21  0.003     4>24   2.43
    latent  5e4  hnsw16-sq8   13.5    25  0.029    26  0.003     9>29   0.74
    latent  1e5  exact         0.2   147  0.151   153  0.012    8>155  15.17
    latent  1e5  ivf-sq8       5.3    40  0.041    41  0.007     5>43   7.60
    latent  1e5  hnsw16-sq8   34.9    50  0.049    51  0.005    16>54   0.85
    latent  1e6  exact         5.4  1472  1.317  1530  0.121  73>1539 158.83
    latent  1e6  ivf-sq8      98.7   388  0.321   389  0.016   16>392  11.94
    latent  1e6  hnsw16-sq8  630.8   504  0.392   505  0.050  150>519   1.68
    clust.  5e4  exact         0.1    74  0.057    77  0.004     4>78   3.84
    clust.  5e4  ivf-sq8       0.9    21  0.018    21  0.002     4>24   2.45
    clust.  5e4  hnsw16-sq8    1.1    25  0.017    26  0.002     8>28   0.19
    clust.  1e5  exact         0.1   147  0.114   153  0.007    8>155  11.34
    clust.  1e5  ivf-sq8       1.5    40  0.029    41  0.003     5>43   7.21
    clust.  1e5  hnsw16-sq8    7.7    50  0.034    51  0.005    16>54   0.19
    clust.  1e6  exact         2.0  1472  1.014  1530  0.077  73>1539 113.91
    clust.  1e6  ivf-sq8      30.7   388  0.269   389  0.014   16>392   9.46
    clust.  1e6  hnsw16-sq8  155.5   504  0.392   505  0.047  150>519   0.68

Decisions, from these numbers:

- Threshold 50_000 (was 100_000): exact search with k=200 costs 3-8 ms at 5e4 but 11-19 ms
  at 1e5, over the ~10 ms a single search may take, while IVF-SQ8 scanning every list at
  1e5 costs 5-12 ms with recall@200 0.996-0.999. Below it results stay exact.
- IVF-SQ8 over HNSW-SQ8: at 1e6 on the latent data HNSW's recall@200 is 0.66/0.82 (ef
  200/400) against IVF's 0.91; it builds 5-6x slower (155-630 s against 31-99 s), takes 30%
  more memory, cannot delete (tombstones) and its graph is read even when mapped (150 MiB
  RSS). HNSW is faster on clustered data (1 ms) but at lower recall (0.94 against 0.98).
- nlist = the power of two nearest 4*sqrt(n) (1024 at 5e4-1e5, 4096 at 1e6-1.3e6): at 1e6
  with 12.5% of the codes scanned, 4096 lists gave recall@200 0.94 where 1024 gave 0.89.
  k-means on 32 sampled vectors per list, 10 iterations: about half of the build time.
- Search: the nearest lists until IVF_SCAN = 100_000 codes (FAISS max_codes; nprobe capped
  at twice the mean-based count): ~8 ms, recall@200 0.91 (latent) / 0.98 (clustered, where
  0.98 is the 8-bit ceiling: near-tied neighbours swap, hence recall@10 0.96). Counting codes
  rather than lists bounds the time where clustered data makes lists uneven. `nprobe=` pins it.
- Training: when "auto" first passes the threshold, on a sample of the vectors present and
  arriving (3.8 s to switch at 1e5). Retrained from the decoded vectors once the collection is
  RETRAIN_GROWTH (8) times what it was trained on. Back to exact at half the threshold
  (0.2 s), so add/remove around the threshold does not retrain each time. Never trained on
  fewer than IVF_MIN_TRAIN (1000) vectors: each dimension's 8-bit range comes from the
  sample, and from a handful of vectors later ones would be clipped or erased.
- Removal is real (IndexIVF.remove_ids, 8 ms at 1e6): no tombstones. Live ids are one sorted
  int64 array (membership by searchsorted): loading builds no Python object per vector.
  `reconstruct` under IVF-SQ8 decodes 8-bit codes and scans the lists' ids (8-18 ms at 1e6).
- mmap: IVF lists via IO_FLAG_MMAP (read-only OnDiskInvertedLists; their per-query prefetch
  threads are switched off: 7.8 -> 4.5 ms at 3e5), flat/HNSW codes via IO_FLAG_MMAP_IFC. The
  first write (or save) copies the data into memory (0.15 s at 1e6), so a mapped index stays
  writable; writing into IFC-mapped codes would abort() the process, hence the copy always.
- Formats: 2 adds "ivf_sq8" (ids in ids-*.npz, `trained_count` in the manifest); format-1
  stores (flat, hnsw with labels/dead) still load; under "auto", `compact()` turns a
  format-1 HNSW store into the current kind.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np
from faiss.contrib.inspect_tools import get_invlist

from embeddings.atomic_files import atomic_write, load_consistently
from embeddings.csr import sorted_positions
from embeddings.errors import IndexCorruptError, IndexMismatchError
from embeddings.threads import single_query_threads

APPROX_THRESHOLD = 50_000
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
REBUILD_HINT = "run `imr-graph reindex`"
# IVF-SQ8, the kind "auto" uses past the threshold (values from the tables above)
IVF_LISTS_PER_SQRT = 4  # nlist: the power of two nearest 4 * sqrt(n at training)
IVF_MIN_LIST = 16  # ... but lists of at least 16 vectors on average (small forced thresholds)
IVF_MIN_TRAIN = 1_000  # fewer vectors are kept exact whatever the policy: 8-bit ranges
# trained on a handful of vectors would clip (or, from one vector, erase) later ones
IVF_TRAIN_PER_LIST = 32  # k-means sample size per list
IVF_TRAIN_ITERS = 10
IVF_SCAN = 100_000  # codes one query scans: nprobe = IVF_SCAN / mean list length
RETRAIN_GROWTH = 8  # retrain once the collection is 8x what the lists were trained on
SHRINK_FRACTION = 0.5  # "auto" goes back to exact below half the threshold (hysteresis)
# HNSW over fp32: format-1 stores and kind="hnsw" only
HNSW_M = 32
EF_CONSTRUCTION = 40
EF_SEARCH = 128
TOMBSTONE_FRACTION = 0.25
CHUNK = 65_536  # vectors decoded at a time when rebuilding
UNFILLED = -1e30  # FAISS scores the slots it could not fill -FLT_MAX

# per-index state a rebuild swaps in at once
_STATE = ("_kind", "_index", "_ids", "_slot", "_labels", "_alive", "_selector")
_STATE += ("_trained_count", "_mapped")

IndexKind = Literal["flat", "ivf_sq8", "hnsw"]
KindPolicy = Literal["auto", "flat", "ivf_sq8", "hnsw"]
KINDS: tuple[str, ...] = ("flat", "ivf_sq8", "hnsw")


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


def ivf_lists(n: int) -> int:
    """Number of IVF lists for a collection of `n` vectors (see IVF_LISTS_PER_SQRT)."""
    if n <= 0:
        return 1
    target = 2 ** round(math.log2(max(1.0, IVF_LISTS_PER_SQRT * math.sqrt(n))))
    return int(max(1, min(target, n // IVF_MIN_LIST)))


def ivf_probes(nlist: int, ntotal: int) -> int:
    """Lists one query visits so that it scans about IVF_SCAN codes."""
    if ntotal <= 0:
        return 1
    return int(min(nlist, max(1, math.ceil(IVF_SCAN * nlist / ntotal))))


class VectorIndex:
    """Inner-product search over unit vectors keyed by int64 ids.

    `kind="auto"` starts exact (IndexIDMap2 over IndexFlatIP), moves to IVF-SQ8 once the
    collection passes `approx_threshold` and back to exact at half of it. "flat" and "hnsw"
    (fp32 HNSW, what format-1 stores past 1e5 hold) pin the kind; "ivf_sq8" pins IVF-SQ8 from
    IVF_MIN_TRAIN vectors on (fewer stay exact under every policy). Adding an id that is
    already present replaces its vector. Live ids are a sorted int64 array, so loading builds
    no per-vector Python objects.
    """

    def __init__(
        self,
        dim: int,
        model_name: str = "",
        *,
        kind: KindPolicy = "auto",
        approx_threshold: int = APPROX_THRESHOLD,
        ef_search: int = EF_SEARCH,
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
        self.ef_search = ef_search
        self.nprobe = nprobe  # None: lists up to IVF_SCAN codes; an int pins nprobe
        self._kind: IndexKind = "flat"
        self._index: Any = None
        self._ids = np.empty(0, dtype=np.int64)  # live ids, sorted
        self._slot: np.ndarray | None = None  # hnsw: position of each of _ids in the graph
        self._labels = np.empty(0, dtype=np.int64)  # hnsw: position -> id
        self._alive = np.empty(0, dtype=bool)  # hnsw: position not removed
        self._selector: Any = None
        self._trained_count = 0  # ivf: collection size the lists were trained on
        self._mapped = False  # data files memory-mapped: copy before writing
        self._reset("hnsw" if kind == "hnsw" else "flat")

    def _reset(self, kind: IndexKind, index: Any = None) -> None:
        """Empty state of `kind`, around `index` when given (a fresh one otherwise)."""
        self._kind = kind
        self._ids = np.empty(0, dtype=np.int64)
        self._slot = np.empty(0, dtype=np.int64) if kind == "hnsw" else None
        self._labels = np.empty(0, dtype=np.int64)
        self._alive = np.empty(0, dtype=bool)
        self._selector = None
        self._trained_count = 0
        self._mapped = False
        if index is not None:
            self._index = index
        elif kind == "flat":
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        elif kind == "ivf_sq8":
            raise AssertionError("an IVF index is only made trained, by _rebuild")
        else:
            self._index = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efConstruction = EF_CONSTRUCTION

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
        if self._kind == "hnsw" and (~self._alive).sum() > TOMBSTONE_FRACTION * self._alive.size:
            self.compact()
        elif self._kind == "ivf_sq8":
            switch = self._switch_at()
            if switch is not None and len(self) <= SHRINK_FRACTION * switch:
                self._rebuild("flat")
        return int(present.size)

    def compact(self) -> None:
        """Rebuild from the live vectors as the kind the policy wants for the current size.

        Drops HNSW tombstones, retrains IVF lists, and under "auto" turns a format-1 HNSW
        store into the current kind (exact or IVF-SQ8). Exact indexes have nothing to do.
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
            return "hnsw" if self.policy == "hnsw" else "flat"
        return "flat" if len(self) <= switch else "ivf_sq8"

    def _insert(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """Add new (absent) ids to the current index and to `_ids`."""
        slots = None
        if self._kind == "hnsw":
            start = self._index.ntotal
            self._index.add(vecs)
            self._labels = np.concatenate([self._labels, ids])
            self._alive = np.concatenate([self._alive, np.ones(ids.size, dtype=bool)])
            slots = np.arange(start, start + ids.size, dtype=np.int64)
        else:
            self._index.add_with_ids(vecs, ids)
        order = np.argsort(ids, kind="stable")
        at = np.searchsorted(self._ids, ids[order])
        self._ids = np.insert(self._ids, at, ids[order])
        if slots is not None and self._slot is not None:
            self._slot = np.insert(self._slot, at, slots[order])

    def _drop(self, present: np.ndarray, at: np.ndarray) -> None:
        """Remove live ids (`at` = their positions in `_ids`) without changing kind."""
        if self._kind == "hnsw":
            assert self._slot is not None
            self._alive[self._slot[at]] = False
            self._slot = np.delete(self._slot, at)
            self._selector = None
        else:
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
        old = _Items(self._kind, self._index, self._labels, self._alive)
        # fill a fresh object and take its state at the end: an error leaves self as it was
        fresh = VectorIndex(self.dim, self.model_name, kind=self.policy)
        if kind == "ivf_sq8":
            fresh._reset(kind, self._train_ivf(old, extra_vecs, total))
            fresh._trained_count = total
        else:
            fresh._reset(kind)
        for ids, vecs in old:
            fresh._insert(ids, vecs)
        if extra_ids.size:
            fresh._insert(extra_ids, extra_vecs)
        for name in _STATE:
            setattr(self, name, getattr(fresh, name))

    def _train_ivf(self, source: _Items, extra: np.ndarray, total: int) -> Any:
        """A trained, empty IVF-SQ8 for `total` vectors, trained on a sample of them."""
        nlist = ivf_lists(total)
        n_train = min(total, max(IVF_TRAIN_PER_LIST * nlist, 1_000))
        rng = np.random.default_rng(total)
        pick = np.sort(rng.choice(total, size=n_train, replace=False))
        parts, offset = [], 0
        for _, vecs in source:
            lo, hi = np.searchsorted(pick, [offset, offset + len(vecs)])
            parts.append(vecs[pick[lo:hi] - offset])
            offset += len(vecs)
        parts.append(extra[pick[pick >= offset] - offset])
        sample = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
        index = _new_ivf(self.dim, nlist)
        # widen each dimension's trained min..max by 1/sqrt(sample) of it on both sides so
        # that later vectors are rarely clipped; costs 6% of precision at the 1000-vector
        # minimum, 1% at a 32k sample
        index.sq.rangestat_arg = 1.0 / math.sqrt(len(sample))
        index.train(sample)
        return index

    def _ensure_writable(self) -> None:
        """Copy memory-mapped data into process memory before the first write (or save)."""
        if not self._mapped:
            return
        if self._kind == "ivf_sq8":
            mapped = self._index.invlists
            lists = faiss.ArrayInvertedLists(self._index.nlist, self._index.code_size)
            for lst in range(self._index.nlist):
                list_ids, codes = get_invlist(mapped, lst)
                if list_ids.size:
                    lists.add_entries(
                        lst, list_ids.size, faiss.swig_ptr(list_ids), faiss.swig_ptr(codes)
                    )
            self._index.replace_invlists(lists, True)
            lists.this.disown()
        else:  # flat / HNSW codes mapped with IO_FLAG_MMAP_IFC: a write would abort()
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
        if self._kind == "hnsw":
            assert self._slot is not None
            return self._index.reconstruct(int(self._slot[at[0]]))
        invlists = self._index.invlists
        for lst in range(self._index.nlist):
            size = invlists.list_size(lst)
            if size == 0:
                continue
            ptr = invlists.get_ids(lst)
            try:
                hit = np.flatnonzero(faiss.rev_swig_ptr(ptr, size) == key)
            finally:
                invlists.release_ids(lst, ptr)
            if hit.size:
                return _decode_list(self._index, lst, int(hit[0]))[1][0]
        raise IndexCorruptError(f"id {key} is live but in no IVF list; {REBUILD_HINT}")

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product: (scores, ids), each (n_queries, min(k, len)).

        A single query runs on one OpenMP thread; batches use the configured thread count.
        Slots the approximate kinds could not fill hold id -1 and score -inf.
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
        """FAISS search parameters the current kind uses (nprobe / efSearch)."""
        if self._kind == "ivf_sq8":
            params = faiss.SearchParametersIVF()
            nlist = self._index.nlist
            if self.nprobe is not None:
                params.nprobe = min(self.nprobe, nlist)
            else:  # nearest lists until IVF_SCAN codes: bounded even where lists are uneven
                params.nprobe = min(nlist, 2 * ivf_probes(nlist, self._index.ntotal))
                params.max_codes = IVF_SCAN
            return params
        if self._kind == "hnsw":
            params = faiss.SearchParametersHNSW()
            params.efSearch = self.ef_search
            if not self._alive.all():
                if self._selector is None:
                    batch = faiss.IDSelectorBatch(np.flatnonzero(~self._alive).astype(np.int64))
                    self._selector = (faiss.IDSelectorNot(batch), batch)  # keep both alive
                params.sel = self._selector[0]
            return params
        return None

    def _search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._kind == "flat":
            scores, ids = self._index.search(q, k)
            return scores, ids.astype(np.int64, copy=False)
        params = self.search_params()
        if self._kind == "hnsw":
            params.efSearch = max(self.ef_search, k)
            scores, pos = self._index.search(q, k, params=params)
            filled = pos >= 0
            ids = np.where(filled, self._labels[np.maximum(pos, 0)], -1)
        else:
            scores, ids = self._index.search(q, k, params=params)
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
        gen = uuid.uuid4().hex[:12]
        vectors_file = f"vectors-{gen}.faiss"
        labels_file: str | None = None
        index = self._index
        atomic_write(folder / vectors_file, lambda p: faiss.write_index(index, str(p)))
        if self._kind == "hnsw":
            labels_file = f"labels-{gen}.npz"
            dead = np.flatnonzero(~self._alive).astype(np.int64)
            atomic_write(
                folder / labels_file,
                lambda p: _write_npz(p, labels=self._labels, dead=dead),
            )
        elif self._kind == "ivf_sq8":
            labels_file = f"ids-{gen}.npz"
            atomic_write(folder / labels_file, lambda p: _write_npz(p, ids=self._ids))
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
            "trained_count": self._trained_count if self._kind == "ivf_sq8" else None,
        }
        text = json.dumps(manifest, indent=2) + "\n"
        atomic_write(folder / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))
        keep = {MANIFEST, vectors_file, labels_file}
        old_files = [*folder.glob("vectors-*.faiss"), *folder.glob("labels-*.npz")]
        for old in [*old_files, *folder.glob("ids-*.npz")]:
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
        kind: KindPolicy = "auto",
        approx_threshold: int = APPROX_THRESHOLD,
        rebuild_hint: str = REBUILD_HINT,
        mmap: bool = False,
    ) -> VectorIndex:
        """Read an index saved by `save` (format 1 or 2), checking model and dim.

        `mmap=True` maps the data file instead of reading it (IVF lists via IO_FLAG_MMAP,
        flat and HNSW codes via IO_FLAG_MMAP_IFC): loading is near-instant and resident
        memory grows with what searches touch. The first write (add/remove/compact/save)
        copies the data into memory, so the index stays fully writable.

        Raises IndexMismatchError for another model/dim, IndexCorruptError for anything
        missing, unreadable or inconsistent.
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
            raise IndexCorruptError(f"unknown index type {m.index_type!r} in manifest; {hint}")
        vec_path = folder / m.vectors_file
        if not vec_path.is_file():
            raise IndexCorruptError(f"vector index file {vec_path} is missing; {hint}")
        flags = 0
        if mmap:
            flags = faiss.IO_FLAG_MMAP if m.index_type == "ivf_sq8" else faiss.IO_FLAG_MMAP_IFC
        try:
            raw = faiss.read_index(str(vec_path), flags)
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
        index._reset(m.index_type, raw)
        if m.index_type == "flat":
            if not isinstance(raw, faiss.IndexIDMap2):
                raise IndexCorruptError(f"{vec_path} is not an exact id-mapped index; {hint}")
            ids = np.sort(faiss.vector_to_array(raw.id_map).astype(np.int64))
            ok = ids.size == raw.ntotal
        elif m.index_type == "ivf_sq8":
            if not isinstance(raw, faiss.IndexIVFScalarQuantizer) or m.labels_file is None:
                raise IndexCorruptError(f"{vec_path} is not an IVF-SQ8 index; {hint}")
            ids = _read_npz(folder / m.labels_file, ("ids",), hint)[0]
            ok = ids.size == raw.ntotal and raw.metric_type == faiss.METRIC_INNER_PRODUCT
            index._trained_count = int(m.trained_count or ids.size)
        else:
            if not isinstance(raw, faiss.IndexHNSWFlat) or m.labels_file is None:
                raise IndexCorruptError(f"{vec_path} is not an HNSW index; {hint}")
            labels, dead = _read_npz(folder / m.labels_file, ("labels", "dead"), hint)
            if labels.size != raw.ntotal or (
                dead.size and (dead.min() < 0 or dead.max() >= labels.size)
            ):
                raise IndexCorruptError(
                    f"{folder / m.labels_file} does not match {vec_path}; {hint}"
                )
            alive = np.ones(labels.size, dtype=bool)
            alive[dead] = False
            live_pos = np.flatnonzero(alive)
            order = np.argsort(labels[live_pos], kind="stable")
            ids = labels[live_pos][order]
            index._labels, index._alive = labels, alive
            index._slot = live_pos[order].astype(np.int64)
            ok = True
        if ids.size > 1 and not bool((np.diff(ids) > 0).all()):
            ok = False  # duplicate (or unsorted) ids
        index._ids = ids
        index._mapped = mmap
        if mmap and m.index_type == "ivf_sq8":
            # the mapped lists prefetch each query's lists on 32 new threads by default:
            # measured 7.8 ms per query against 4.5 without, the pages being in memory anyway
            faiss.downcast_InvertedLists(raw.invlists).prefetch_nthread = 0
        if not ok or len(index) != m.count:
            raise IndexCorruptError(
                f"vector index at {folder} holds {len(index)} vectors but its manifest says "
                f"{m.count}; {hint}"
            )
        return index


@dataclass
class _Items:
    """The live (id, vector) pairs of one index, iterable in chunks; what rebuilds read from."""

    kind: IndexKind
    index: Any
    labels: np.ndarray
    alive: np.ndarray

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
        elif self.kind == "hnsw":
            n = index.ntotal
            for s in range(0, n, CHUNK):
                m = min(CHUNK, n - s)
                keep = self.alive[s : s + m]
                vecs = index.reconstruct_n(s, m)[keep]
                yield self.labels[s : s + m][keep], np.ascontiguousarray(vecs)
        elif index.is_trained and index.ntotal:
            ids_parts: list[np.ndarray] = []
            vec_parts: list[np.ndarray] = []
            rows = 0
            for lst in range(index.nlist):
                if index.invlists.list_size(lst) == 0:
                    continue
                list_ids, vecs = _decode_list(index, lst)
                ids_parts.append(list_ids)
                vec_parts.append(vecs)
                rows += list_ids.size
                if rows >= CHUNK:
                    yield np.concatenate(ids_parts), np.concatenate(vec_parts)
                    ids_parts, vec_parts, rows = [], [], 0
            if rows:
                yield np.concatenate(ids_parts), np.concatenate(vec_parts)


def _new_ivf(dim: int, nlist: int) -> Any:
    """Empty IVF-SQ8 (inner product, residuals to the list centroid) with our k-means settings."""
    index = faiss.index_factory(dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = IVF_TRAIN_ITERS
    index.cp.min_points_per_centroid = 1  # the sample is sized on purpose: no warning
    index.cp.seed = 1234
    return index


def _decode_list(index: Any, lst: int, offset: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, decoded vectors) of IVF list `lst`, or of its one entry at `offset`."""
    list_ids, codes = get_invlist(index.invlists, lst)
    if offset is not None:
        list_ids, codes = list_ids[offset : offset + 1], codes[offset : offset + 1]
    vecs = index.sq.decode(np.ascontiguousarray(codes))
    if index.by_residual:
        vecs += index.quantizer.reconstruct(lst)[None, :]
    return list_ids, vecs


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


def _read_npz(path: Path, keys: tuple[str, ...], hint: str) -> list[np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return [np.asarray(data[key], dtype=np.int64) for key in keys]
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(
            f"vector index labels {path} are missing or unreadable; {hint}"
        ) from exc


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
