"""Served precedent queries under 1, 4 and 16 concurrent clients, beside the CLI batch.

On a copy of a store (never the original): distinct queries made of the store's own item
requests with their letter's case summary (first 1000 characters), so that no level is helped
by the encoder cache of an earlier one. In one run, in this order:

1. CLI batch: `imr-graph precedents --queries F --json` on N queries and on 1 query; the
   per-query cost is the difference divided by N - 1 (start-up and model load left out);
   then the batch's own loop in-process (engine.query + to_json + json.dumps per line), the
   reference the served throughput is compared with (the process figure carries start-up noise).
2. `imr-graph serve --port 0` on the copy; for each concurrency, C client threads, each with
   a keep-alive connection, ask `/precedents.json?request=..&summary=..` until N queries are
   answered: throughput, p50/p95 latency, errors (any status but 200).

    nice -n 10 python -m benchmarks.serve --store /tmp/full-m [--queries 60]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.parse import machine
from imr_graph.store.sqlite import Store

REPO = Path(__file__).resolve().parents[1]
LEVELS = (1, 4, 16)
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def distinct_queries(store_dir: Path) -> list[dict[str, str]]:
    """One query per distinct item request, with its letter's summary, in a stable order."""
    with Store.open(store_dir, create=False) as store:
        letters = store.letters()
        seen: set[str] = set()
        out = []
        for key in sorted(letters):
            for it in letters[key].items:
                req = " ".join(it.request.split())[:500]
                if req and req.casefold() not in seen:
                    seen.add(req.casefold())
                    out.append({"request": req, "summary": letters[key].summary[:1000]})
    return out


def cli_batch(store_dir: Path, queries: list[dict[str, str]], work: Path) -> float:
    """Seconds per query of `precedents --queries` (batch of N minus batch of 1, over N - 1)."""

    def run(qs: list[dict[str, str]]) -> float:
        f = work / f"q{len(qs)}.jsonl"
        f.write_text(
            "".join(json.dumps({"id": str(i), **q}) + "\n" for i, q in enumerate(qs)),
            encoding="utf-8",
        )
        cmd = [sys.executable, "-m", "imr_graph.cli", "precedents", "--queries", str(f)]
        t0 = time.perf_counter()
        subprocess.run(
            [*cmd, "--json", "--store", str(store_dir)],
            cwd=REPO,
            env=ENV,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - t0

    one = run(queries[:1])
    many = run(queries)
    return (many - one) / (len(queries) - 1)


def batch_loop(store_dir: Path, queries: list[dict[str, str]], warm: dict[str, str]) -> float:
    """Seconds per query of the batch's own loop (what `_batch` does per line), in-process."""
    from imr_graph.query.precedent import PrecedentEngine

    with Store.open(store_dir, create=False) as store:
        engine = PrecedentEngine(store)
        engine.query(warm["request"], warm["summary"])  # model and arrays loaded, not timed
        t0 = time.perf_counter()
        for i, q in enumerate(queries):
            out = {"id": str(i), **engine.query(q["request"], q["summary"], k=10).to_json()}
            json.dumps(out, ensure_ascii=False)
        return (time.perf_counter() - t0) / len(queries)


def start_server(store_dir: Path) -> tuple[subprocess.Popen[str], str, int]:
    cmd = [sys.executable, "-m", "imr_graph.cli", "serve", "--store", str(store_dir)]
    proc = subprocess.Popen(
        [*cmd, "--port", "0"], cwd=REPO, env=ENV, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    m = re.search(r"http://(127\.0\.0\.1):(\d+)/", line)
    if not m:
        proc.kill()
        raise SystemExit(f"serve did not start: {line.strip()}")
    host, port = m.group(1), int(m.group(2))
    conn = http.client.HTTPConnection(host, port, timeout=600)
    conn.request("GET", "/stats.json")  # answered once the store and model are loaded
    conn.getresponse().read()
    conn.close()
    return proc, host, port


def clients(host: str, port: int, queries: list[dict[str, str]], c: int) -> dict[str, float]:
    """C threads, keep-alive connections, one shared queue of queries: the level's figures."""
    todo: queue.Queue[dict[str, str]] = queue.Queue()
    for q in queries:
        todo.put(q)
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=600)
        while True:
            try:
                q = todo.get_nowait()
            except queue.Empty:
                break
            t0 = time.perf_counter()
            conn.request("GET", "/precedents.json?" + urlencode(q))
            r = conn.getresponse()
            r.read()
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                errors[0] += r.status != 200
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(c)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "clients": c,
        "queries": len(lat),
        "qps": len(lat) / wall,
        "p50_ms": 1000 * statistics.median(lat),
        "p95_ms": 1000 * lat[min(len(lat) - 1, int(0.95 * len(lat)))],
        "errors": errors[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True, help="store to copy (never written)")
    ap.add_argument("--queries", type=int, default=60, help="queries per level and for the batch")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="imr-serve-bench-") as tmp:
        work = Path(tmp)
        store_dir = work / "store"
        shutil.copytree(args.store, store_dir)
        qs = distinct_queries(store_dir)
        n = args.queries
        need = n * (1 + len(LEVELS)) + 4
        if len(qs) < need:
            n = (len(qs) - 4) // (1 + len(LEVELS))
        slices = [qs[i * n : (i + 1) * n] for i in range(1 + len(LEVELS))]
        cli_s = cli_batch(store_dir, slices[0], work)
        batch_s = batch_loop(store_dir, slices[0], qs[-4])
        proc, host, port = start_server(store_dir)
        try:
            clients(host, port, qs[-3:], 1)  # warm-up, distinct from every level
            rows = [clients(host, port, slices[i + 1], c) for i, c in enumerate(LEVELS)]
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    batch_qps = 1 / batch_s
    print(f"machine: {machine()}; load before: {os.getloadavg()[0]:.2f}")
    print(f"store: {args.store} (copied); {n} distinct queries per level (request + summary)")
    print(
        f"batch loop (in-process, as `precedents --queries` runs it): {1000 * batch_s:.1f} ms "
        f"per query = {batch_qps:.1f} queries/s"
    )
    print(
        f"CLI batch process (batch of {n} minus batch of 1, over {n - 1}): "
        f"{1000 * cli_s:.1f} ms per query"
    )
    print("| clients | queries | queries/s | vs batch | p50 ms | p95 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['clients']} | {r['queries']} | {r['qps']:.1f} | "
            f"{100 * r['qps'] / batch_qps:.0f} % | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['errors']} |"
        )


if __name__ == "__main__":
    main()
