"""BM25 keyword index at scale: build, save, memory-mapped load, RSS and query latency.

Synthetic documents of 150 tokens drawn from a Zipf distribution (s=1.07, ~100 distinct
words per doc) over a 50k-word vocabulary: the letters' own words (shared/letters) ranked by
frequency, then made-up words of their letters, so the commonest terms are in nearly every
doc (posting lists of n). Queries are 3-10 words drawn the same way (a snippet of a doc),
k=200, on one thread. Each size builds in one subprocess and loads/queries in a fresh one, so
RSS after load is what a reader pays.

    python -m benchmarks.lexical [--sizes 100000,1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from embeddings.lexical import ENGLISH_STOPWORDS, LexicalIndex

LETTERS = Path(__file__).resolve().parents[2] / "shared" / "letters"
VOCAB = 50_000
ZIPF_S = 1.07
DOC_TOKENS = 150
K = 200
BATCH = 50_000
UPDATES = 100


def vocabulary(size: int = VOCAB, seed: int = 0) -> list[str]:
    """Letter words by frequency, then invented words from their letters, `size` in all."""
    counts: Counter[str] = Counter()
    for path in sorted(LETTERS.glob("*.txt")):
        words = re.findall(r"[a-z]{2,}", path.read_text(encoding="utf-8", errors="ignore").lower())
        counts.update(w for w in words if w not in ENGLISH_STOPWORDS)
    words = [w for w, _ in counts.most_common()] or ["pain", "knee", "therapy"]
    seen = set(words)
    rng = np.random.default_rng(seed)
    while len(words) < size:
        a, b = rng.integers(0, min(len(words), 2000), 2)
        w = words[a][: rng.integers(2, 6)] + words[b][-int(rng.integers(2, 6)) :]
        if w not in seen and w not in ENGLISH_STOPWORDS and len(w) > 3:
            seen.add(w)
            words.append(w)
    return words[:size]


def zipf_words(rng: np.random.Generator, n: int, vocab_size: int) -> np.ndarray:
    """`n` word ranks drawn with p(rank r) proportional to r**-ZIPF_S."""
    p = 1.0 / np.arange(1, vocab_size + 1) ** ZIPF_S
    return rng.choice(vocab_size, size=n, p=p / p.sum()).astype(np.int32)


def docs(words: list[str], count: int, seed: int) -> list[str]:
    """`count` texts of DOC_TOKENS Zipf-drawn words, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    ranks = zipf_words(rng, count * DOC_TOKENS, len(words)).reshape(count, DOC_TOKENS)
    return [" ".join([words[r] for r in row]) for row in ranks.tolist()]


def rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(n: int, folder: Path) -> dict[str, float]:
    """Child 1: add (tokenise) n docs in batches, rebuild, save."""
    words = vocabulary()
    index = LexicalIndex()
    t_add = 0.0
    for start in range(0, n, BATCH):
        count = min(BATCH, n - start)
        texts = docs(words, count, seed=start)
        t0 = time.perf_counter()
        index.add(range(start, start + count), texts)
        t_add += time.perf_counter() - t0
    t0 = time.perf_counter()
    index.rebuild()
    t_rebuild = time.perf_counter() - t0
    t0 = time.perf_counter()
    index.save(folder)
    t_save = time.perf_counter() - t0
    disk = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
    return {
        "add_s": t_add,
        "rebuild_s": t_rebuild,
        "save_s": t_save,
        "disk_mib": disk,
        "build_peak_mib": peak_mib(),
    }


def query(n: int, folder: Path, n_queries: int) -> dict[str, float]:
    """Child 2: mmap load, queries, then a small update and the rebuild it causes."""
    base_rss = rss_mib()
    t0 = time.perf_counter()
    index = LexicalIndex.load(folder, mmap=True)
    load_s = time.perf_counter() - t0
    load_rss = rss_mib() - base_rss
    words = vocabulary()
    rng = np.random.default_rng(12345)
    queries = []
    for _ in range(n_queries):
        ranks = zipf_words(rng, int(rng.integers(3, 11)), len(words))
        queries.append(" ".join(words[r] for r in ranks))
    index.search(queries[0], K)  # first touch of the header pages
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q, K)
        times.append(1000 * (time.perf_counter() - t0))
    after_rss = rss_mib() - base_rss
    t0 = time.perf_counter()
    index.remove(range(0, UPDATES // 2))
    index.add(range(n, n + UPDATES // 2), docs(words, UPDATES // 2, seed=n))
    index.search(queries[0], K)
    update_s = time.perf_counter() - t0
    return {
        "load_s": load_s,
        "rss_load_mib": load_rss,
        "rss_queries_mib": after_rss,
        "p50_ms": statistics.median(times),
        "p95_ms": float(np.percentile(times, 95)),
        "update_s": update_s,
        "update_peak_mib": peak_mib(),
    }


def child(*args: str) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.lexical", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--workdir", default=None, help="where the indexes go (default: a tmpdir)")
    ap.add_argument("--build", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--query", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build is not None:
        print(json.dumps(build(args.build, Path(args.dir))))
        return
    if args.query is not None:
        print(json.dumps(query(args.query, Path(args.dir), args.queries)))
        return

    from benchmarks.parse import machine

    print(f"# machine: {machine()}")
    print(
        f"# docs: {DOC_TOKENS} Zipf(s={ZIPF_S}) tokens over {VOCAB} words; {args.queries} "
        f"queries of 3-10 words, k={K}, 1 thread; load/query in a fresh process (mmap)"
    )
    print(
        "# add/rebuild/save s and build peak MiB: building process; load s, RSS after load and "
        "after the queries, p50/p95 ms: a fresh process (mmap); upd: remove+add "
        f"{UPDATES // 2}+{UPDATES // 2} docs and the search that rebuilds"
    )
    print(HEADER)
    print("-" * len(HEADER))
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for n in [int(float(s)) for s in args.sizes.split(",")]:
            folder = Path(tmp) / f"lex-{n}"
            b = child("--build", str(n), "--dir", str(folder))
            q = child("--query", str(n), "--dir", str(folder), "--queries", str(args.queries))
            print(row(n, b, q), flush=True)


COLUMNS = [
    ("n", 7),
    ("add s", 5),
    ("rebuild s", 9),
    ("save s", 6),
    ("peak MiB", 8),
    ("load s", 6),
    ("RSS MiB", 7),
    ("+q MiB", 6),
    ("p50 ms", 6),
    ("p95 ms", 6),
    ("upd s", 5),
    ("upd MiB", 7),
    ("disk MiB", 8),
]
HEADER = "|".join(f"{name:>{w}}" for name, w in COLUMNS)


def row(n: int, b: dict[str, float], q: dict[str, float]) -> str:
    """One table line from the build (b) and query (q) children's figures."""
    values = [
        n,
        f"{b['add_s']:.0f}",
        f"{b['rebuild_s']:.1f}",
        f"{b['save_s']:.1f}",
        f"{b['build_peak_mib']:.0f}",
        f"{q['load_s']:.3f}",
        f"{q['rss_load_mib']:.1f}",
        f"{q['rss_queries_mib']:.0f}",
        f"{q['p50_ms']:.1f}",
        f"{q['p95_ms']:.1f}",
        f"{q['update_s']:.1f}",
        f"{q['update_peak_mib']:.0f}",
        f"{b['disk_mib']:.0f}",
    ]
    return "|".join(f"{v:>{w}}" for v, (_, w) in zip(values, COLUMNS, strict=True))


if __name__ == "__main__":
    main()
