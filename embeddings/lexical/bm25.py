"""BM25 "lucene" scores in numpy, exactly as bm25s 0.3.16 computes them, from row-sorted tokens.

Documents are a CSR of token ids (doc_ptr, token_ids), each row sorted, so a term frequency is
a run length; the score matrix is term-major CSC (data f32, indices i32, indptr i64) assembled
slice by slice; terms in at least half of a large collection also get a dense row of scores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

CHUNK_TOKENS = 1 << 23  # rebuild works on slices of ~8M tokens to bound temporaries
# Terms in at least this fraction of the docs also get a dense row of scores (no larger than
# their sparse column, a few times faster to add), in indexes of at least DENSE_MIN_DOCS.
DENSE_FRACTION = 0.5
DENSE_MIN_DOCS = 1 << 15


def row_of(dense_terms: np.ndarray, term: int) -> int:
    """Row of `term` in the dense block, -1 when it has none."""
    i = int(np.searchsorted(dense_terms, term))
    return i if i < len(dense_terms) and int(dense_terms[i]) == term else -1


def chunks(doc_ptr: np.ndarray) -> Iterable[tuple[int, int]]:
    """Doc ranges [d0, d1) of about CHUNK_TOKENS tokens each (at least one doc)."""
    n = len(doc_ptr) - 1
    d0 = 0
    while d0 < n:
        d1 = int(np.searchsorted(doc_ptr, doc_ptr[d0] + CHUNK_TOKENS, side="right")) - 1
        d1 = min(n, max(d0 + 1, d1))
        yield d0, d1
        d0 = d1


def lucene_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """float32 idf per term as bm25s computes it (math.log in float64, then rounded)."""
    idf = np.zeros(len(df), dtype=np.float32)
    values, inverse = np.unique(df, return_inverse=True)
    per_value = np.array(
        [math.log(1 + (n_docs - int(v) + 0.5) / (int(v) + 0.5)) if v else 0.0 for v in values],
        dtype=np.float32,
    )
    idf[:] = per_value[inverse]
    return idf


def doc_terms(
    doc_ptr: np.ndarray, tokens: np.ndarray, d0: int, d1: int, counts: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(term, tf, entries per doc) of docs [d0, d1): rows are sorted, so each (doc, term)
    pair is a run of equal ids and its term frequency the run's length. `counts=False`
    leaves tf and entries per doc empty (the first pass needs the terms only)."""
    p0, p1 = int(doc_ptr[d0]), int(doc_ptr[d1])
    t = tokens[p0:p1]
    none = np.empty(0, np.int64)
    if not len(t):
        return t[:0], none, np.zeros(d1 - d0, np.int64)
    run = np.empty(len(t), dtype=bool)
    run[0] = True
    np.not_equal(t[1:], t[:-1], out=run[1:])
    firsts = doc_ptr[d0:d1] - p0
    run[firsts[firsts < len(t)]] = True  # every doc starts a run (empty docs share a start)
    starts = np.flatnonzero(run)
    if not counts:
        return t[starts], none, none
    tf = np.empty(len(starts), dtype=np.int64)
    np.subtract(starts[1:], starts[:-1], out=tf[:-1])
    tf[-1] = len(t) - starts[-1]
    per_doc = np.diff(np.searchsorted(starts, doc_ptr[d0 : d1 + 1] - p0))
    return t[starts], tf, per_doc


def bm25_matrix(
    doc_ptr: np.ndarray, tokens: np.ndarray, n_terms: int, k1: float, b: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Term-major CSC (data, indices, indptr) of BM25 lucene scores from row-sorted tokens.

    Two passes over slices of docs: document frequencies first, then each slice's scores are
    transposed (scipy's linear CSR->CSC) and appended to every column, so columns stay
    doc-sorted and the only large allocations are the result's.
    """
    import scipy.sparse  # deferred: ~0.2 s to import, needed only when (re)building

    n_docs = len(doc_ptr) - 1
    df = np.zeros(n_terms, dtype=np.int64)
    for d0, d1 in chunks(doc_ptr):
        df += np.bincount(doc_terms(doc_ptr, tokens, d0, d1, False)[0], minlength=n_terms)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    nnz = int(indptr[-1])
    data = np.empty(nnz, dtype=np.float32)
    indices = np.empty(nnz, dtype=np.int32)
    if not nnz:
        return data, indices, indptr
    lens = doc_ptr[1:] - doc_ptr[:-1]
    idf = lucene_idf(df, n_docs).astype(np.float64)
    avg_len = lens.mean()  # float64, as bm25s's np.array(lengths).mean()
    denom = k1 * ((1 - b) + b * lens / avg_len)  # same operation order as bm25s
    heads = indptr[:-1].copy()  # next free slot of every column
    for d0, d1 in chunks(doc_ptr):
        term, tf, per_doc = doc_terms(doc_ptr, tokens, d0, d1)
        if not len(term):
            continue
        tf64 = tf.astype(np.float64)
        scores = (idf[term] * (tf64 / (np.repeat(denom[d0:d1], per_doc) + tf64))).astype(np.float32)
        entry_ptr = np.zeros(d1 - d0 + 1, dtype=np.int64)
        np.cumsum(per_doc, out=entry_ptr[1:])
        csc = scipy.sparse.csr_array((scores, term, entry_ptr), shape=(d1 - d0, n_terms)).tocsc()
        counts = np.diff(csc.indptr)
        cols = np.flatnonzero(counts)
        dest = np.repeat(heads[cols] - csc.indptr[cols], counts[cols])
        dest += np.arange(len(dest), dtype=np.int64)
        data[dest] = csc.data
        indices[dest] = csc.indices + d0
        heads[cols] += counts[cols]
    return data, indices, indptr


def dense_rows(
    data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, n_docs: int
) -> tuple[np.ndarray, np.ndarray]:
    """(terms, scores[terms x docs]) for the columns in >= DENSE_FRACTION of the docs."""
    df = indptr[1:] - indptr[:-1]
    if n_docs < DENSE_MIN_DOCS:
        return np.empty(0, np.int32), np.empty((0, n_docs), np.float32)
    terms = np.flatnonzero(df >= DENSE_FRACTION * n_docs).astype(np.int32)
    rows = np.zeros((len(terms), n_docs), dtype=np.float32)
    for r, t in enumerate(terms.tolist()):
        s, e = int(indptr[t]), int(indptr[t + 1])
        rows[r, indices[s:e]] = data[s:e]
    return terms, rows
