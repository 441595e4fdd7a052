"""Exact (IndexFlatIP) vs approximate (HNSW) query latency on synthetic 384-d unit vectors.

Run: python -m benchmarks.vector_index [--sizes 10000,100000,1000000] [--queries 200]
The result justifies `embeddings.vector_index.APPROX_THRESHOLD`.
"""

from __future__ import annotations

import argparse
import os
import time

import faiss
import numpy as np

DIM = 384
HNSW_M = 32
EF_CONSTRUCTION = 40
EF_SEARCHES = (64, 128)
K = 10
LATENT_DIM = 32
NOISE = 0.02


def machine() -> str:
    """CPU model and core count, for the table header."""
    model = "unknown cpu"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, faiss {faiss.__version__}"


def synthetic(n: int, rng: np.random.Generator, basis: np.ndarray) -> np.ndarray:
    """Unit vectors with low intrinsic dimension (latent Gaussian projected to 384-d plus noise).

    Sentence embeddings have an intrinsic dimension of a few dozen; uniform 384-d noise would
    understate HNSW recall, while latency hardly depends on the distribution.
    """
    out = np.empty((n, DIM), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):
        m = min(step, n - start)
        latent = rng.standard_normal((m, basis.shape[0]), dtype=np.float32)
        block = latent @ basis + NOISE * rng.standard_normal((m, DIM), dtype=np.float32)
        faiss.normalize_L2(block)
        out[start : start + m] = block
    return out


def per_query_ms(index: faiss.Index, queries: np.ndarray) -> float:
    """Median latency of single-vector queries, as an interactive search issues them."""
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q[None, :], K)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((LATENT_DIM, DIM), dtype=np.float32) / LATENT_DIM**0.5
    queries = synthetic(args.queries, rng, basis)

    cores = os.cpu_count() or 1
    print(f"# {machine()}")
    print(f"# dim={DIM} k={K} HNSW M={HNSW_M} efConstruction={EF_CONSTRUCTION}")
    print(f"# latency: median of {args.queries} single queries, 1 OpenMP thread unless noted")
    cols = [
        ("n", 9),
        ("exact ms", 9),
        (f"exact {cores}thr", 10),
        *[(f"hnsw{ef} ms", 10) for ef in EF_SEARCHES],
        *[(f"recall{ef}", 9) for ef in EF_SEARCHES],
        ("build s", 8),
    ]
    header = " | ".join(f"{name:>{width}}" for name, width in cols)
    print(header)
    print("-" * len(header))
    for n in sizes:
        data = synthetic(n, rng, basis)
        faiss.omp_set_num_threads(cores)
        exact = faiss.IndexFlatIP(DIM)
        exact.add(data)
        hnsw = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = EF_CONSTRUCTION
        t0 = time.perf_counter()
        hnsw.add(data)
        build_s = time.perf_counter() - t0
        _, truth = exact.search(queries, K)
        exact_all_ms = per_query_ms(exact, queries)
        faiss.omp_set_num_threads(1)
        exact_ms = per_query_ms(exact, queries)
        hnsw_ms, recalls = [], []
        for ef in EF_SEARCHES:
            hnsw.hnsw.efSearch = ef
            _, approx = hnsw.search(queries, K)
            hits = [len(set(t) & set(a)) / K for t, a in zip(truth, approx, strict=True)]
            recalls.append(float(np.mean(hits)))
            hnsw_ms.append(per_query_ms(hnsw, queries))
        values = [
            f"{n:>9}",
            f"{exact_ms:>9.2f}",
            f"{exact_all_ms:>10.2f}",
            *[f"{v:>10.2f}" for v in hnsw_ms],
            *[f"{r:>9.3f}" for r in recalls],
            f"{build_s:>8.1f}",
        ]
        print(" | ".join(values), flush=True)
        del data, exact, hnsw


if __name__ == "__main__":
    main()
