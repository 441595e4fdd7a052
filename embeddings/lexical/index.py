"""BM25 keyword search over the same int64 id space as the vector index, in numpy.

Scores: BM25 "lucene" (k1=1.5, b=0.75) exactly as bm25s 0.3.16 computes them (`bm25.py`; a
test compares with a fresh bm25s index). bm25s is not used to build: its per-document Python
loop took 5.6 s at 1e5 docs, this build 1.9 s.

Format 2 (the only one read): plain .npy files named in `manifest.json` (swapped last, so a
save is atomic): the term-major CSC score matrix (data f32, indices i32 = doc position, indptr
i64); doc ids (i64, position order = id order, so `in`/`ids()`/`remove` are a searchsorted);
every document's token ids as a CSR (doc_ptr i64, token_ids i32, each row sorted); the
vocabulary (UTF-8 bytes + offsets, term ids in string order for a binary search); and a dense
row of scores for each term in >= half the docs. `load(mmap=True)` maps it all, builds nothing.

Texts are not kept. `add` tokenises only new texts and `remove` sets tombstones; the next
`search`/`save` rebuilds from the token CSR. Every change costs a full rebuild (BM25's idf
and average length are global): batch them. Measurements (`python -m benchmarks.lexical`,
1e5 and 1e6 documents) are in docs/benchmarks.md, "Lexical index".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.csr import copy_rows, sorted_positions, take_rows
from embeddings.errors import DEFAULT_REBUILD_HINT, IndexCorruptError, IndexMismatchError
from embeddings.lexical.bm25 import CHUNK_TOKENS, bm25_matrix, dense_rows, row_of
from embeddings.lexical.tokenizer import UTF8, Tokenizer, find_stemmer, tokenizer_fingerprint
from embeddings.storage import (
    atomic_write,
    load_consistently,
    new_generation,
    prune,
    read_manifest,
    write_manifest,
)

FORMAT_VERSION = 2
METHOD = "lucene"

# name -> dtype of every array file; the manifest maps each name to a file of this save.
ARRAYS: dict[str, np.dtype] = {
    "doc_ids": np.dtype(np.int64),
    "doc_ptr": np.dtype(np.int64),
    "token_ids": np.dtype(np.int32),
    "vocab_bytes": np.dtype(np.uint8),
    "vocab_ptr": np.dtype(np.int64),
    "vocab_order": np.dtype(np.int32),
    "score_data": np.dtype(np.float32),
    "score_indices": np.dtype(np.int32),
    "score_indptr": np.dtype(np.int64),
    "dense_terms": np.dtype(np.int32),
    "dense_scores": np.dtype(np.float32),  # 2-D: one row of n scores per dense term
}
_FILE_NAME = re.compile(r"^(" + "|".join(ARRAYS) + r")-[0-9a-f]{12}\.npy$")


class LexicalIndex:
    """Keyword (BM25) search: `add` texts under int64 ids, `search` returns (id, score) pairs.

    State is a saved-or-built base (arrays, possibly memory-mapped and then never written)
    plus pending changes: tombstones for removed base docs and token ids of added ones.
    """

    def __init__(
        self,
        tokenizer: Callable[[str], list[str]] | None = None,
        k1: float = 1.5,
        b: float = 0.75,
    ) -> None:
        self.tokenizer = tokenizer or Tokenizer(stemmer=find_stemmer())
        self.k1 = k1
        self.b = b
        self._origin = "keyword index"
        self._hint = DEFAULT_REBUILD_HINT
        self._set_base(
            doc_ids=np.empty(0, np.int64),
            doc_ptr=np.zeros(1, np.int64),
            token_ids=np.empty(0, np.int32),
            vocab_bytes=np.empty(0, np.uint8),
            vocab_ptr=np.zeros(1, np.int64),
            vocab_order=np.empty(0, np.int32),
            score_data=np.empty(0, np.float32),
            score_indices=np.empty(0, np.int32),
            score_indptr=np.zeros(1, np.int64),
            dense_terms=np.empty(0, np.int32),
            dense_scores=np.empty((0, 0), np.float32),
        )

    def _set_base(self, **arrays: np.ndarray) -> None:
        self._a: dict[str, np.ndarray] = arrays
        self._dead: np.ndarray | None = None  # tombstones over base positions
        self._n_dead = 0
        self._pending: dict[int, bytes] = {}  # added id -> its sorted int32 token ids
        self._new_terms: list[str] = []  # terms first seen since the base, ids V, V+1, ...
        self._term_ids: dict[str, int] | None = None  # built on the first add

    # ---- membership -------------------------------------------------------------------

    def _n_base(self) -> int:
        return len(self._a["doc_ids"])

    def _base_positions(self, ids: np.ndarray) -> np.ndarray:
        """Base position of each id, -1 where absent or removed."""
        pos = sorted_positions(self._a["doc_ids"], ids)
        if self._dead is not None:
            hit = pos >= 0
            pos[hit] = np.where(self._dead[pos[hit]], -1, pos[hit])
        return pos

    def __len__(self) -> int:
        return self._n_base() - self._n_dead + len(self._pending)

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, int | np.integer):
            return False
        key = int(item)
        if key in self._pending:
            return True
        return bool(self._base_positions(np.array([key], dtype=np.int64))[0] >= 0)

    def ids(self) -> np.ndarray:
        """Indexed ids, sorted."""
        base = self._a["doc_ids"]
        if self._dead is not None:
            base = base[~self._dead]
        if not self._pending:
            return np.array(base, dtype=np.int64)
        new = np.fromiter(self._pending, dtype=np.int64, count=len(self._pending))
        return np.sort(np.concatenate([base, new]))

    # ---- changes ----------------------------------------------------------------------

    def _terms(self) -> dict[str, int]:
        """term -> id for tokenising new texts; materialised from the vocabulary once."""
        if self._term_ids is None:
            vb = self._a["vocab_bytes"].tobytes()
            vp = self._a["vocab_ptr"].tolist()
            terms = [vb[a:z].decode(*UTF8) for a, z in zip(vp[:-1], vp[1:], strict=True)]
            self._term_ids = {t: i for i, t in enumerate(terms)}
            for t in self._new_terms:
                self._term_ids[t] = len(self._term_ids)
        return self._term_ids

    def add(self, ids: Iterable[int], texts: Sequence[str]) -> None:
        """Index `texts` under `ids`; an id already present gets the new text."""
        id_list = [int(i) for i in ids]
        if len(id_list) != len(texts):
            raise ValueError(f"{len(id_list)} ids for {len(texts)} texts")
        for i, t in zip(id_list, texts, strict=True):
            if not isinstance(t, str):
                raise TypeError(f"text for id {i} is {type(t).__name__}, not str")
        if not id_list:
            return
        self._kill_base(np.array(id_list, dtype=np.int64))
        terms = self._terms()
        new_terms = self._new_terms
        for i, t in zip(id_list, texts, strict=True):
            row = []
            for w in self.tokenizer(t):
                tid = terms.get(w)
                if tid is None:
                    tid = terms[w] = len(terms)
                    new_terms.append(w)
                row.append(tid)
            row.sort()
            self._pending[i] = np.array(row, dtype=np.int32).tobytes()

    def _kill_base(self, ids: np.ndarray) -> int:
        pos = self._base_positions(np.unique(ids))
        pos = pos[pos >= 0]
        if len(pos):
            if self._dead is None:
                self._dead = np.zeros(self._n_base(), dtype=bool)
            self._dead[pos] = True
            self._n_dead += len(pos)
        return len(pos)

    def remove(self, ids: Iterable[int]) -> int:
        """Drop `ids` (unknown ids are ignored); returns how many were removed."""
        wanted = {int(i) for i in ids}
        removed = 0
        for i in [i for i in wanted if i in self._pending]:
            del self._pending[i]
            wanted.discard(i)
            removed += 1
        if wanted:
            removed += self._kill_base(np.fromiter(wanted, dtype=np.int64, count=len(wanted)))
        return removed

    @property
    def dirty(self) -> bool:
        """Whether changes wait for a rebuild (done by the next `search` or `save`)."""
        return bool(self._pending) or self._n_dead > 0

    # ---- rebuilding -------------------------------------------------------------------

    def rebuild(self) -> None:
        """Fold pending changes into the base and recompute the BM25 matrix (no tokenising)."""
        doc_ids, doc_ptr, tokens = self._merged_rows()
        vocab = self._rebuild_vocab(tokens)
        tokens = vocab.pop("token_ids")
        remapped = vocab.pop("_remapped")
        doc_ptr = np.ascontiguousarray(doc_ptr, dtype=np.int64)
        n_terms = len(vocab["vocab_ptr"]) - 1
        data, indices, indptr = bm25_matrix(doc_ptr, tokens, n_terms, self.k1, self.b)
        dense_terms, dense_scores = dense_rows(data, indices, indptr, len(doc_ptr) - 1)
        term_ids = self._term_ids
        self._set_base(
            doc_ids=np.array(doc_ids, dtype=np.int64),
            doc_ptr=doc_ptr,
            token_ids=tokens,
            score_data=data,
            score_indices=indices,
            score_indptr=indptr,
            dense_terms=dense_terms,
            dense_scores=dense_scores,
            **vocab,
        )
        if not remapped:
            self._term_ids = term_ids  # ids unchanged: keep the dict for the next add

    def _merged_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(doc ids, doc_ptr, token ids) of the live base rows and the pending ones, in id
        order, copied once into one new array (the base may be memory-mapped)."""
        a = self._a
        doc_ids, doc_ptr, tokens = a["doc_ids"], a["doc_ptr"], a["token_ids"]
        if self._dead is None and not self._pending:
            return doc_ids, doc_ptr, tokens
        live = np.flatnonzero(~self._dead) if self._dead is not None else np.arange(len(doc_ids))
        new_ids = np.sort(np.fromiter(self._pending, dtype=np.int64, count=len(self._pending)))
        rows = [self._pending[int(i)] for i in new_ids]
        new_lens = np.fromiter((len(r) // 4 for r in rows), dtype=np.int64, count=len(rows))
        new_tokens = np.frombuffer(b"".join(rows), dtype=np.int32)
        del rows
        new_start = np.zeros(len(new_ids), dtype=np.int64)
        np.cumsum(new_lens[:-1], out=new_start[1:])
        all_ids = np.concatenate([doc_ids[live], new_ids])
        lens = np.concatenate([(doc_ptr[1:] - doc_ptr[:-1])[live], new_lens])
        order = np.argsort(all_ids, kind="stable")  # sources -> id order
        where = np.empty(len(order), dtype=np.int64)  # source row -> final row
        where[order] = np.arange(len(order))
        ptr = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(lens[order], out=ptr[1:])
        out = np.empty(int(ptr[-1]), dtype=np.int32)
        n_live = len(live)
        copy_rows(tokens, doc_ptr[live], lens[:n_live], out, ptr[where[:n_live]])
        copy_rows(new_tokens, new_start, new_lens, out, ptr[where[n_live:]])
        return all_ids[order], ptr, out

    def _rebuild_vocab(self, tokens: np.ndarray) -> dict[str, Any]:
        """Vocabulary with the new terms appended and unused terms dropped (tokens remapped;
        the remap keeps id order, so rows stay sorted)."""
        vb, vp, order = self._a["vocab_bytes"], self._a["vocab_ptr"], self._a["vocab_order"]
        n_old = len(vp) - 1
        if self._new_terms:
            encoded = [t.encode(*UTF8) for t in self._new_terms]
            lens = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
            vb = np.concatenate([vb, np.frombuffer(b"".join(encoded), dtype=np.uint8)])
            vp = np.concatenate([vp, vp[-1] + np.cumsum(lens)])
            # Old ids are already in string order and the new ones are sorted apart, so this
            # sort merges two runs (linear in timsort).
            raw = vb.tobytes()
            bounds = vp.tolist()

            def term(i: int) -> bytes:
                return raw[bounds[i] : bounds[i + 1]]

            new_ids = sorted(range(n_old, len(bounds) - 1), key=term)
            order = np.array(sorted([*order.tolist(), *new_ids], key=term), dtype=np.int32)
        n_terms = len(vp) - 1
        counts = np.zeros(n_terms, dtype=np.int64)
        for p0 in range(0, len(tokens), CHUNK_TOKENS):  # bincount copies its input to intp
            part = tokens[p0 : p0 + CHUNK_TOKENS]
            if int(part.min()) < 0 or int(part.max()) >= n_terms:
                raise IndexCorruptError(
                    f"{self._origin} has token ids outside its vocabulary", self._hint
                )
            counts += np.bincount(part, minlength=n_terms)
        used = counts > 0
        out: dict[str, Any] = {"_remapped": False}
        if not used.all():
            keep = np.flatnonzero(used)
            remap = (np.cumsum(used) - 1).astype(np.int32)
            if tokens is self._a["token_ids"] or not tokens.flags.writeable:
                tokens = tokens.copy()  # never write into the current base
            for p0 in range(0, len(tokens), CHUNK_TOKENS):  # in place, in slices
                tokens[p0 : p0 + CHUNK_TOKENS] = remap[tokens[p0 : p0 + CHUNK_TOKENS]]
            vp, vb = take_rows(vp, vb, keep)
            order = remap[order[used[order]]]
            out["_remapped"] = True
        out.update(
            token_ids=np.ascontiguousarray(tokens, dtype=np.int32),
            vocab_bytes=np.ascontiguousarray(vb, dtype=np.uint8),
            vocab_ptr=np.ascontiguousarray(vp, dtype=np.int64),
            vocab_order=np.ascontiguousarray(order, dtype=np.int32),
        )
        return out

    # ---- searching --------------------------------------------------------------------

    def _term_id(self, term: str) -> int:
        """Id of `term` in the (clean) vocabulary, -1 if absent: binary search in string order."""
        if self._term_ids is not None:
            return self._term_ids.get(term, -1)
        key = term.encode(*UTF8)
        vb, vp, order = self._a["vocab_bytes"], self._a["vocab_ptr"], self._a["vocab_order"]
        lo, hi = 0, len(order)
        while lo < hi:
            mid = (lo + hi) // 2
            tid = int(order[mid])
            if vb[vp[tid] : vp[tid + 1]].tobytes() < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(order):
            tid = int(order[lo])
            if vb[vp[tid] : vp[tid + 1]].tobytes() == key:
                return tid
        return -1

    def search(self, query: str, k: int = 10) -> list[tuple[int, float]]:
        """Best `k` ids for `query` with their BM25 scores, highest first; only scores > 0.

        Ties go to the lower id. A term repeated in the query counts again, as in bm25s.
        """
        if self.dirty:
            self.rebuild()
        if k <= 0 or self._n_base() == 0:
            return []
        terms = [t for t in (self._term_id(w) for w in self.tokenizer(query)) if t >= 0]
        if not terms:
            return []
        try:
            positions, scores = self._top(terms, k)
        except (IndexError, ValueError) as exc:
            raise IndexCorruptError(f"{self._origin} is damaged", self._hint) from exc
        doc_ids = self._a["doc_ids"]
        return [(int(doc_ids[p]), float(s)) for p, s in zip(positions, scores, strict=True)]

    def _top(self, terms: list[int], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions, scores) of the best k: every query term's column added in query order
        (float32, as bm25s sums), a dense row where the term has one."""
        a = self._a
        data, indices, indptr = a["score_data"], a["score_indices"], a["score_indptr"]
        dense, dense_terms = a["dense_scores"], a["dense_terms"]
        scores = np.zeros(self._n_base(), dtype=np.float32)
        for t in terms:
            row = row_of(dense_terms, t)
            if row >= 0:
                scores += dense[row]  # 0.0 where the term is absent: the sum is unchanged
                continue
            s, e = int(indptr[t]), int(indptr[t + 1])
            # doc positions are unique within a column, so fancy += adds each once;
            # intp indices scatter ~1.6x faster than int32 ones
            scores[indices[s:e].astype(np.intp)] += data[s:e]
        positive = scores[scores > 0]
        if len(positive) > k:
            # the k-th best among the positives only: introselect is slow on runs of zeros
            positive.partition(len(positive) - k)  # in place: it is a fresh array
            kth = positive[len(positive) - k]
            cand = np.flatnonzero(scores >= kth)
        else:
            cand = np.flatnonzero(scores > 0)
        best = scores[cand]
        top = np.lexsort((cand, -best))[:k]
        return cand[top], best[top]

    # ---- persistence ------------------------------------------------------------------

    def save(self, directory: Path | str) -> Path:
        """Write the arrays under fresh names, then swap the manifest; old files go last."""
        if self.dirty:
            self.rebuild()
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        gen = new_generation()
        files = {name: f"{name}-{gen}.npy" for name in ARRAYS}
        for name, file in files.items():
            arr = np.ascontiguousarray(self._a[name], dtype=ARRAYS[name])
            atomic_write(folder / file, _npy_writer(arr))
        a = self._a
        write_manifest(
            folder,
            {
                "format_version": FORMAT_VERSION,
                "count": len(a["doc_ids"]),
                "n_tokens": len(a["token_ids"]),
                "n_terms": len(a["vocab_ptr"]) - 1,
                "nnz": len(a["score_data"]),
                "n_dense": len(a["dense_terms"]),
                "vocab_bytes": len(a["vocab_bytes"]),
                "k1": self.k1,
                "b": self.b,
                "method": METHOD,
                "tokenizer": tokenizer_fingerprint(self.tokenizer),
                "files": files,
            },
        )
        prune((p for p in folder.iterdir() if _FILE_NAME.match(p.name)), set(files.values()))
        return folder

    @classmethod
    def load(
        cls,
        directory: Path | str,
        tokenizer: Callable[[str], list[str]] | None = None,
        *,
        rebuild_hint: str = DEFAULT_REBUILD_HINT,
        mmap: bool = False,
    ) -> LexicalIndex:
        """Open an index written by `save` (format 2).

        With `mmap=True` the arrays are memory-mapped read-only: opening costs a few reads
        and pages come in as queries touch them. `add`/`remove` still work: the next
        `search`/`save` rebuilds into memory. IndexCorruptError (message ending in
        `rebuild_hint`) when anything is missing, truncated, inconsistent or of another
        format; IndexMismatchError when `tokenizer` tokenises differently from the one that
        built it.
        """
        folder = Path(directory)
        return load_consistently(
            lambda: read_manifest(folder, "keyword index", FORMAT_VERSION, rebuild_hint),
            lambda m: cls._from_files(folder, m, tokenizer, rebuild_hint, mmap),
        )

    @classmethod
    def _from_files(
        cls,
        folder: Path,
        m: dict[str, Any],
        tokenizer: Callable[[str], list[str]] | None,
        hint: str,
        mmap: bool,
    ) -> LexicalIndex:
        where = f"keyword index at {folder}"
        try:
            files = {name: str(m["files"][name]) for name in ARRAYS}
            count, n_tokens = int(m["count"]), int(m["n_tokens"])
            n_terms, nnz = int(m["n_terms"]), int(m["nnz"])
            n_bytes, n_dense = int(m["vocab_bytes"]), int(m["n_dense"])
            k1, b, method, fingerprint = float(m["k1"]), float(m["b"]), m["method"], m["tokenizer"]
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"{where} has an incomplete manifest", hint) from exc
        if method != METHOD:
            raise IndexCorruptError(f"{where} uses BM25 method {method!r}, not {METHOD}", hint)
        expected = {
            "doc_ids": (count,),
            "doc_ptr": (count + 1,),
            "token_ids": (n_tokens,),
            "vocab_bytes": (n_bytes,),
            "vocab_ptr": (n_terms + 1,),
            "vocab_order": (n_terms,),
            "score_data": (nnz,),
            "score_indices": (nnz,),
            "score_indptr": (n_terms + 1,),
            "dense_terms": (n_dense,),
            "dense_scores": (n_dense, count),
        }
        arrays: dict[str, np.ndarray] = {}
        for name, file in files.items():
            if "/" in file or "\\" in file or not _FILE_NAME.match(file):
                raise IndexCorruptError(f"{where} names a bad file {file!r}", hint)
            path = folder / file
            try:
                arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
            except FileNotFoundError as exc:
                raise IndexCorruptError(f"keyword index file {path} is missing", hint) from exc
            except (OSError, ValueError, EOFError) as exc:
                raise IndexCorruptError(
                    f"keyword index file {path} is unreadable or truncated", hint
                ) from exc
            if arr.dtype != ARRAYS[name] or arr.shape != expected[name]:
                raise IndexCorruptError(
                    f"keyword index file {path} holds {arr.dtype}{list(arr.shape)} but its "
                    f"manifest says {ARRAYS[name]}{list(expected[name])}",
                    hint,
                )
            arrays[name] = np.asarray(arr)  # plain ndarray view: cheaper to slice than memmap
        ends = [
            ("doc_ptr", n_tokens),
            ("vocab_ptr", n_bytes),
            ("score_indptr", nnz),
        ]
        doc_ids, dense_terms = arrays["doc_ids"], arrays["dense_terms"]
        if (
            any(int(arrays[p][0]) != 0 or int(arrays[p][-1]) != end for p, end in ends)
            or (count > 1 and not bool(np.all(doc_ids[1:] > doc_ids[:-1])))
            or (n_dense and not bool(np.all(dense_terms[1:] > dense_terms[:-1])))
        ):
            raise IndexCorruptError(f"{where} has inconsistent arrays", hint)
        index = cls(tokenizer, k1=k1, b=b)
        if tokenizer_fingerprint(index.tokenizer) != fingerprint:
            raise IndexMismatchError(
                f"{where} was built with another tokenizer (stemming or stopwords differ)", hint
            )
        index._set_base(**arrays)
        index._origin, index._hint = where, hint
        return index


def _npy_writer(arr: np.ndarray) -> Callable[[Path], None]:
    """A writer of `arr` as .npy for `atomic_write` (binds the array now, not at call time)."""

    def write(path: Path) -> None:
        with open(path, "wb") as f:
            np.save(f, arr, allow_pickle=False)

    return write
