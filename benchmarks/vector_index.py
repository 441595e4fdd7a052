"""Vector index kinds on synthetic 384-d unit vectors: exact, IVF-SQ8 (ours), HNSW-SQ8.

Run: python -m benchmarks.vector_index [--sizes 50000,100000,1000000] [--data latent,clustered]
         [--queries 200] [--hnsw-max 1000000] [--hnsw-m 16] [--pair 1300000,1000000]

For every data set and size: the exact index and the IVF-SQ8 index are built through
`embeddings.VectorIndex` (so with the module's own nlist/training/nprobe rules), HNSW-SQ8 with
FAISS directly; each is saved, then loaded in a fresh child process, once read fully and once
memory-mapped, which reports load time, RSS growth and single-query (k=200, one OpenMP thread)
latency and recall against exact search. `--pair` builds the two indexes of the project's
top scale (rationale windows and requests, clustered data) and loads both together in one child.
The result justifies the constants in `embeddings.vector_index`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from embeddings.ivf import ivf_probes  # noqa: E402
from embeddings.vector_index import VectorIndex  # noqa: E402

DIM = 384
K = 200
LATENT_DIM = 32
LATENT_NOISE = 0.02
BASES = 500  # clustered: copies of this many base vectors ...
CLUSTER_NOISE = 0.025  # ... plus this per-dimension Gaussian noise, as benchmarks/scale.py
EF_CONSTRUCTION = 40


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


def rss_mib() -> float:
    with open("/proc/self/statm", encoding="utf-8") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Data:
    """Deterministic generators for both distributions."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.basis = self.rng.standard_normal((LATENT_DIM, DIM), dtype=np.float32) / LATENT_DIM**0.5
        self.bases = self.latent(BASES)

    def latent(self, n: int) -> np.ndarray:
        """Low intrinsic dimension: a 32-d Gaussian projected to 384-d, plus a little noise.

        Sentence embeddings have an intrinsic dimension of a few dozen; with no cluster
        structure at all this is the hard case for IVF.
        """
        return self._blocks(
            n,
            lambda m: (
                self.rng.standard_normal((m, LATENT_DIM), dtype=np.float32) @ self.basis
                + LATENT_NOISE * self.rng.standard_normal((m, DIM), dtype=np.float32)
            ),
        )

    def clustered(self, n: int) -> np.ndarray:
        """Noisy copies of BASES vectors: how benchmarks/scale.py fakes 1e6 items."""
        return self._blocks(
            n,
            lambda m: (
                self.bases[self.rng.integers(0, BASES, m)]
                + self.rng.normal(0, CLUSTER_NOISE, (m, DIM)).astype(np.float32)
            ),
        )

    def queries(self, kind: str, n: int) -> np.ndarray:
        if kind == "latent":
            return self.latent(n)
        half = n // 2  # unseen noisy copies, and base vectors themselves (real requests)
        return np.vstack([self.clustered(n - half), self.bases[self.rng.integers(0, BASES, half)]])

    @staticmethod
    def _blocks(n: int, make) -> np.ndarray:
        out = np.empty((n, DIM), dtype=np.float32)
        for s in range(0, n, 100_000):
            m = min(100_000, n - s)
            block = np.ascontiguousarray(make(m), dtype=np.float32)
            faiss.normalize_L2(block)
            out[s : s + m] = block
        return out

    def make(self, kind: str, n: int) -> np.ndarray:
        return self.latent(n) if kind == "latent" else self.clustered(n)


# ---- child: load, measure memory and time, then query ---------------------------------------
def child(spec: dict) -> dict:
    """Load what `spec` names in this fresh process; report load time, RSS and query numbers."""
    faiss.omp_set_num_threads(1)
    queries = np.load(spec["queries"])
    truth = np.load(spec["truth"])
    rss0 = rss_mib()
    t0 = time.perf_counter()
    loaded = []
    for path in spec["paths"]:
        if spec["api"] == "vi":
            loaded.append(VectorIndex.load(path, mmap=spec["mmap"]))
        else:
            flags = faiss.IO_FLAG_MMAP_IFC if spec["mmap"] else 0
            loaded.append(faiss.read_index(path, flags))
    load_s = time.perf_counter() - t0
    rss_load = rss_mib() - rss0
    rows = []
    index = loaded[0]
    for setting in spec["settings"]:
        if spec["api"] == "vi":
            index.nprobe = setting

            def one(q: np.ndarray, index=index) -> np.ndarray:
                return index.search(q, K)[1]
        else:
            index.hnsw.efSearch = setting

            def one(q: np.ndarray, index=index) -> np.ndarray:
                return index.search(q[None, :], K)[1]

        lat, found = [], []
        faiss.cvar.indexIVF_stats.reset()
        faiss.cvar.hnsw_stats.reset()
        for q in queries:
            t = time.perf_counter()
            found.append(one(q)[0])
            lat.append(1000 * (time.perf_counter() - t))
        found_arr = np.array(found)
        ndis = faiss.cvar.indexIVF_stats.ndis + faiss.cvar.hnsw_stats.ndis
        rows.append(
            {
                "setting": setting,
                "r10": recall(truth, found_arr, 10),
                "r200": recall(truth, found_arr, K),
                "p50": float(np.percentile(lat, 50)),
                "p95": float(np.percentile(lat, 95)),
                "codes": ndis / len(queries) if ndis else len(index),
            }
        )
    for other in loaded[1:]:  # the pair: one query batch each, as a precedent query does
        for q in queries:
            other.search(q if spec["api"] == "vi" else q[None, :], K)
    return {"load_s": load_s, "rss_load": rss_load, "rss_end": rss_mib() - rss0, "rows": rows}


def recall(truth: np.ndarray, found: np.ndarray, k: int) -> float:
    hits = [len(set(t[:k]) & set(f[:k])) / k for t, f in zip(truth, found, strict=True)]
    return float(np.mean(hits))


def run_child(spec: dict) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.vector_index", "--child", json.dumps(spec)]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- parent ---------------------------------------------------------------------------------
def du_mib(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


COLS = (
    ("data", 9),
    ("n", 8),
    ("index", 9),
    ("param", 11),
    ("r@10", 5),
    ("r@200", 5),
    ("p50 ms", 6),
    ("p95 ms", 6),
    ("codes/q", 7),
    ("build s", 7),
    ("disk MiB", 8),
    ("load s", 6),
    ("RSS MiB", 7),
    ("mmap load s", 11),
    ("mmap RSS MiB", 12),
    ("mmap p50", 8),
)


def line(values: list[str]) -> str:
    return " | ".join(f"{v:>{w}}" for v, (_, w) in zip(values, COLS, strict=True))


def report(data: str, n: int, name: str, label, build_s: float, disk: float, full, mapped):
    """One line per search setting; the mapped load's numbers go on the setting it ran."""
    mapped_at = mapped["rows"][0]["setting"] if mapped else object()
    for i, row in enumerate(full["rows"]):
        first, here = i == 0, mapped is not None and row["setting"] == mapped_at
        values = [
            data,
            str(n),
            name,
            label(row["setting"]),
            f"{row['r10']:.3f}",
            f"{row['r200']:.3f}",
            f"{row['p50']:.2f}",
            f"{row['p95']:.2f}",
            f"{row['codes'] / 1000:.{0 if row['codes'] >= 10_000 else 1}f}k",
            f"{build_s:.1f}" if first else "",
            f"{disk:.0f}" if first else "",
            f"{full['load_s']:.3f}" if first else "",
            f"{full['rss_load']:.0f}" if first else "",
            f"{mapped['load_s']:.3f}" if here else "",
            f"{mapped['rss_load']:.0f}>{mapped['rss_end']:.0f}" if here else "",
            f"{mapped['rows'][0]['p50']:.2f}" if here else "",
        ]
        print(line(values), flush=True)


def bench(data_kind: str, n: int, args: argparse.Namespace, gen: Data, work: Path) -> None:
    x = gen.make(data_kind, n)
    queries = gen.queries(data_kind, args.queries)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    _, truth = faiss.knn(queries, x, K, metric=faiss.METRIC_INNER_PRODUCT)
    qpath, tpath = work / "queries.npy", work / "truth.npy"
    np.save(qpath, queries)
    np.save(tpath, truth)
    ids = np.arange(n, dtype=np.int64)
    base = {"queries": str(qpath), "truth": str(tpath)}

    for kind in ("flat", "ivf_sq8"):
        t0 = time.perf_counter()
        vi = VectorIndex(DIM, "bench", kind=kind)
        vi.add(ids, x)
        build_s = time.perf_counter() - t0
        folder = work / kind
        vi.save(folder)
        if kind == "flat":
            settings, label = [None], (lambda _s: "exact")
        else:  # the module's own rule (None), and nprobe pinned at half and twice its value
            nlist = vi._index.nlist
            chosen = ivf_probes(nlist, n)
            half, double = max(1, chosen // 2), min(nlist, chosen * 2)
            settings = [half, None, double] if double > half else [None]
            label = lambda s, nlist=nlist: f"{nlist}/{s or 'auto'}"  # noqa: E731
        del vi
        spec = {**base, "api": "vi", "paths": [str(folder)], "settings": settings}
        full = run_child({**spec, "mmap": False})
        mapped = run_child({**spec, "mmap": True, "settings": [None]})
        name = "exact" if kind == "flat" else "ivf-sq8"
        report(data_kind, n, name, label, build_s, du_mib(folder), full, mapped)

    if n <= args.hnsw_max:
        t0 = time.perf_counter()
        hnsw = faiss.IndexHNSWSQ(
            DIM, faiss.ScalarQuantizer.QT_8bit, args.hnsw_m, faiss.METRIC_INNER_PRODUCT
        )
        hnsw.hnsw.efConstruction = EF_CONSTRUCTION
        hnsw.train(x[: min(n, 100_000)])
        hnsw.add(x)
        build_s = time.perf_counter() - t0
        path = work / "hnsw.faiss"
        faiss.write_index(hnsw, str(path))
        del hnsw
        spec = {**base, "api": "faiss", "paths": [str(path)], "settings": [200, 400]}
        full = run_child({**spec, "mmap": False})
        try:
            mapped = run_child({**spec, "mmap": True, "settings": [200]})
        except RuntimeError:
            mapped = None
        name = f"hnsw{args.hnsw_m}-sq8"
        report(data_kind, n, name, lambda s: f"ef{s}", build_s, du_mib(path), full, mapped)


def pair(sizes: list[int], args: argparse.Namespace, gen: Data, work: Path) -> None:
    """The top scale: two clustered IVF-SQ8 indexes loaded together, fully and mapped."""
    paths = []
    for i, n in enumerate(sizes):
        x = gen.clustered(n)
        if i == 0:
            queries = gen.queries("clustered", args.queries)
            faiss.omp_set_num_threads(os.cpu_count() or 1)
            _, truth = faiss.knn(queries, x, K, metric=faiss.METRIC_INNER_PRODUCT)
            np.save(work / "queries.npy", queries)
            np.save(work / "truth.npy", truth)
        t0 = time.perf_counter()
        vi = VectorIndex(DIM, "bench")
        vi.add(np.arange(n, dtype=np.int64), x)
        print(f"# pair: built {vi.index_type} n={n} in {time.perf_counter() - t0:.0f} s")
        vi.save(work / f"pair{i}")
        paths.append(str(work / f"pair{i}"))
        del vi, x
    base = {
        "queries": str(work / "queries.npy"),
        "truth": str(work / "truth.npy"),
        "api": "vi",
        "paths": paths,
        "settings": [None],
    }
    disk = sum(du_mib(Path(p)) for p in paths)
    for mmap in (False, True):
        r = run_child({**base, "mmap": mmap})
        row = r["rows"][0]
        print(
            f"# pair {'+'.join(map(str, sizes))} mmap={mmap}: disk {disk:.0f} MiB, load both "
            f"{r['load_s']:.3f} s, RSS +{r['rss_load']:.0f} MiB after load, "
            f"+{r['rss_end']:.0f} MiB after {args.queries} queries on each; first index: "
            f"r@10 {row['r10']:.3f} r@200 {row['r200']:.3f} p50 {row['p50']:.2f} "
            f"p95 {row['p95']:.2f} ms",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="50000,100000,1000000")
    parser.add_argument("--data", default="latent,clustered")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--hnsw-max", type=float, default=1e6)
    parser.add_argument("--hnsw-m", type=int, default=16)
    parser.add_argument("--pair", default="", help="e.g. 1300000,1000000")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    print(f"# {machine()}")
    print(
        f"# dim={DIM}, k={K}; latency: {args.queries} single queries on 1 OpenMP thread in a "
        f"fresh process; RSS: growth on load; mmap: loaded with mmap=True (one setting, the "
        f"module's for ivf), RSS after load > after the queries"
    )
    print(
        "# param: ivf nlist/nprobe ('auto': the module's rule, nearest lists up to IVF_SCAN "
        "codes), hnsw efSearch; codes/q: vectors compared per query; build: 2 threads"
    )
    header = line([name for name, _ in COLS])
    print(header)
    print("-" * len(header))
    gen = Data()
    with tempfile.TemporaryDirectory(prefix="vi-bench-") as tmp:
        work = Path(tmp)
        for data_kind in args.data.split(","):
            for n in (int(float(s)) for s in args.sizes.split(",") if s):
                bench(data_kind, n, args, gen, work)
        if args.pair:
            pair([int(float(s)) for s in args.pair.split(",")], args, gen, work)


if __name__ == "__main__":
    main()
