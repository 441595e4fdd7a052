"""IVF-SQ8 mechanics for VectorIndex: list count, training, probing, decoding, unmapping.

Every constant is justified by the measurements in docs/benchmarks.md, "Vector index".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import faiss
import numpy as np
from faiss.contrib.inspect_tools import get_invlist

IVF_LISTS_PER_SQRT = 4  # nlist: the power of two nearest 4 * sqrt(n at training)
IVF_MIN_LIST = 16  # ... but lists of at least 16 vectors on average (small forced thresholds)
IVF_MIN_TRAIN = 1_000  # fewer vectors are kept exact whatever the policy: 8-bit ranges
# trained on a handful of vectors would clip (or, from one vector, erase) later ones
IVF_TRAIN_PER_LIST = 32  # k-means sample size per list
IVF_TRAIN_ITERS = 10
IVF_SCAN = 100_000  # codes one query scans: nprobe = IVF_SCAN / mean list length
CHUNK = 65_536  # vectors decoded at a time when rebuilding


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


def search_params(index: Any, nprobe: int | None) -> Any:
    """nprobe pinned, else the nearest lists until IVF_SCAN codes (bounded where lists are
    uneven)."""
    params = faiss.SearchParametersIVF()
    nlist = index.nlist
    if nprobe is not None:
        params.nprobe = min(nprobe, nlist)
    else:
        params.nprobe = min(nlist, 2 * ivf_probes(nlist, index.ntotal))
        params.max_codes = IVF_SCAN
    return params


def train(dim: int, source: Iterable[np.ndarray], extra: np.ndarray, total: int) -> Any:
    """A trained, empty IVF-SQ8 for `total` vectors (those of `source`, chunk by chunk, then
    `extra`), trained on a sample of them."""
    nlist = ivf_lists(total)
    n_train = min(total, max(IVF_TRAIN_PER_LIST * nlist, 1_000))
    rng = np.random.default_rng(total)
    pick = np.sort(rng.choice(total, size=n_train, replace=False))
    parts, offset = [], 0
    for vecs in source:
        lo, hi = np.searchsorted(pick, [offset, offset + len(vecs)])
        parts.append(vecs[pick[lo:hi] - offset])
        offset += len(vecs)
    parts.append(extra[pick[pick >= offset] - offset])
    sample = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
    index: Any = faiss.index_factory(dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = IVF_TRAIN_ITERS
    index.cp.min_points_per_centroid = 1  # the sample is sized on purpose: no warning
    index.cp.seed = 1234
    # widen each dimension's trained min..max by 1/sqrt(sample) of it on both sides so
    # that later vectors are rarely clipped; costs 6% of precision at the 1000-vector
    # minimum, 1% at a 32k sample
    index.sq.rangestat_arg = 1.0 / math.sqrt(len(sample))
    index.train(sample)
    return index


def decode_list(index: Any, lst: int, offset: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, decoded vectors) of IVF list `lst`, or of its one entry at `offset`."""
    list_ids, codes = get_invlist(index.invlists, lst)
    if offset is not None:
        list_ids, codes = list_ids[offset : offset + 1], codes[offset : offset + 1]
    vecs = index.sq.decode(np.ascontiguousarray(codes))
    if index.by_residual:
        vecs += index.quantizer.reconstruct(lst)[None, :]
    return list_ids, vecs


def items(index: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, decoded vectors) of every entry, list by list, about CHUNK rows at a time."""
    if not (index.is_trained and index.ntotal):
        return
    ids_parts: list[np.ndarray] = []
    vec_parts: list[np.ndarray] = []
    rows = 0
    for lst in range(index.nlist):
        if index.invlists.list_size(lst) == 0:
            continue
        list_ids, vecs = decode_list(index, lst)
        ids_parts.append(list_ids)
        vec_parts.append(vecs)
        rows += list_ids.size
        if rows >= CHUNK:
            yield np.concatenate(ids_parts), np.concatenate(vec_parts)
            ids_parts, vec_parts, rows = [], [], 0
    if rows:
        yield np.concatenate(ids_parts), np.concatenate(vec_parts)


def find(index: Any, key: int) -> np.ndarray | None:
    """The decoded vector stored under `key`, scanning the lists' ids; None when absent."""
    invlists = index.invlists
    for lst in range(index.nlist):
        size = invlists.list_size(lst)
        if size == 0:
            continue
        ptr = invlists.get_ids(lst)
        try:
            hit = np.flatnonzero(faiss.rev_swig_ptr(ptr, size) == key)
        finally:
            invlists.release_ids(lst, ptr)
        if hit.size:
            vec: np.ndarray = decode_list(index, lst, int(hit[0]))[1][0]
            return vec
    return None


def load_lists_into_memory(index: Any) -> None:
    """Replace memory-mapped inverted lists by in-memory copies, so the index can be written."""
    mapped = index.invlists
    lists: Any = faiss.ArrayInvertedLists(index.nlist, index.code_size)
    for lst in range(index.nlist):
        list_ids, codes = get_invlist(mapped, lst)
        if list_ids.size:
            lists.add_entries(lst, list_ids.size, faiss.swig_ptr(list_ids), faiss.swig_ptr(codes))
    index.replace_invlists(lists, True)
    lists.this.disown()  # the index owns them now


def no_prefetch(index: Any) -> None:
    """Stop memory-mapped lists from prefetching each query's lists on 32 new threads: measured
    7.8 ms per query against 4.5 without, the pages being in memory anyway."""
    lists: Any = faiss.downcast_InvertedLists(index.invlists)
    lists.prefetch_nthread = 0
