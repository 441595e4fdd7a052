"""The embedding pass in process vs on a local Ray: same windows, same model, windows/s.

Windows are the rationale windows of a store's items (as `imr-graph reindex` makes them),
encoded once by the in-process Encoder and once per worker count by the RayEncoder (Ray Data
`map_batches` over actors, on a local Ray started with this machine's cores). A Ray pass is
timed end to end (actor start and model load included: that is what one reindex pays once),
after `ray.init`, which is timed apart.

    python benchmarks/ray_embed.py --store /tmp/full-m [--limit 600] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from export import cpu_model  # noqa: E402

from embeddings import Encoder  # noqa: E402
from embeddings.ray_encoder import RayEncoder  # noqa: E402
from imr_graph.store.sqlite import Store  # noqa: E402


def windows(store_dir: Path, limit: int) -> list[str]:
    enc = Encoder(None)
    with Store.open(store_dir, create=False) as store:
        items = [it for x in store.letters().values() for it in x.items]
    per = enc.split_windows_many([it.rationale or it.request for it in items])
    return [w for wins in per for w in wins][:limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=600, help="windows encoded per pass")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    args = ap.parse_args()
    texts = windows(args.store, args.limit)
    print(f"CPU: {cpu_model()}; python {sys.version.split()[0]}; {len(texts)} windows")
    local = Encoder(None)
    local.encode(texts[:8])  # model loaded before the clock, as in a long ingest
    t0 = time.perf_counter()
    want = local.encode(texts)
    t_local = time.perf_counter() - t0
    print(f"{'in process':24s} {t_local:8.2f} s {len(texts) / t_local:8.1f} windows/s")
    ray_enc = RayEncoder(None)
    t0 = time.perf_counter()
    gpus, cpus = ray_enc.resources()
    print(f"{'ray.init (local)':24s} {time.perf_counter() - t0:8.2f} s  ({cpus} CPUs, {gpus} GPUs)")
    for n in args.workers:
        ray_enc.concurrency = n
        t0 = time.perf_counter()
        got = ray_enc.encode(texts)
        dt = time.perf_counter() - t0
        cos = float((got * want).sum(axis=1).min())
        print(
            f"{f'ray, {n} actor(s)':24s} {dt:8.2f} s {len(texts) / dt:8.1f} windows/s "
            f"ratio {t_local / dt:5.2f}x  min cosine {cos:.6f}"
        )
        assert np.isfinite(got).all()
    ray_enc.shutdown()


if __name__ == "__main__":
    main()
