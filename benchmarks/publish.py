"""Publish throughput to a local Oxigraph server, and the cost of publishing one changed letter.

Starts `oxigraph serve` (from `pip install oxigraph`) on a free loopback port with an empty data
folder, then for the 145 real letters (and, with --items, a store scaled up by copying them
under new case numbers, as benchmarks/export.py does):
- a full publish (every letter graph, the store graph, the ontology graph), in a warm process,
  twice, each into a fresh server: with one Graph Store PUT per letter (as before) and through
  the server's bulk loader (what a first publish does now);
  the drug library is loaded and the store's graph built before the clock starts, as they are
  for any command that reads the store;
- a publish with nothing changed (what a cron job pays);
- a publish after one letter is replaced (one item's decision changed).

    python benchmarks/publish.py [--store DIR] [--items 10000]

--store copies an existing store (its letters are not parsed again).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from export import cpu_model, real_letters, scaled  # noqa: E402

from imr_graph.endpoint import Endpoint  # noqa: E402
from imr_graph.publish import PublishReport, publish  # noqa: E402
from imr_graph.store.sqlite import Store  # noqa: E402
from kg.model import Letter  # noqa: E402
from kg.normalize import normalize_request  # noqa: E402


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    oxigraph = shutil.which("oxigraph")
    if oxigraph is None:
        sys.exit("benchmarks/publish.py: no `oxigraph` on PATH: pip install oxigraph")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [oxigraph, "serve", "--location", str(folder), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


def changed(letter: Letter) -> Letter:
    first = letter.items[0]
    flipped = "overturned" if first.decision == "upheld" else "upheld"
    return replace(
        letter,
        sha256="e" * 64,
        items=(replace(first, decision=flipped), *letter.items[1:]),
    )


def line(name: str, r: PublishReport) -> str:
    return (
        f"{name:30s} {r.seconds:8.3f} s {r.requests:6d} req {r.triples:9d} triples "
        f"{r.bytes / 1e6:8.2f} MB {r.triples_per_second:10.0f} triples/s"
    )


def bench(store: Store, label: str, work: Path) -> None:
    t0 = time.perf_counter()
    _ = store.graph
    t_graph = time.perf_counter() - t0
    counts = store.counts()
    print(
        f"\n{label}: {counts['letters']} letters, {counts['items']} items "
        f"(store graph built in {t_graph:.2f} s before timing)"
    )
    # before: one Graph Store PUT per letter, into a server of its own
    proc, url = start_server(work / f"oxigraph-{label}-put")
    try:
        with Endpoint(url, timeout=600) as ep:
            print(line("full publish, PUT per letter", publish(store, ep, bulk=False)))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    proc, url = start_server(work / f"oxigraph-{label}")
    try:
        with Endpoint(url, timeout=600) as ep:
            print(line("full publish, bulk load", publish(store, ep)))
            print(line("nothing changed", publish(store, ep)))
            victim = store.letter(sorted(store.letters())[len(store.letters()) // 2])
            assert victim is not None
            t0 = time.perf_counter()
            store.put_letters([changed(victim)])
            t_put = time.perf_counter() - t0
            r = publish(store, ep)
            print(line("one letter replaced", r) + f"  (+ store graph rebuilt: {t_put:.2f} s)")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", type=Path, help="copy this store instead of parsing the letters")
    ap.add_argument("--items", type=int, nargs="*", default=[], help="scaled-up store sizes")
    args = ap.parse_args()
    print(f"CPU: {cpu_model()}; python {sys.version.split()[0]}")
    normalize_request("Norco 10/325 #90")  # loads the drug library (~5 s) before any clock
    with tempfile.TemporaryDirectory(prefix="imr-publish-") as tmp:
        work = Path(tmp)
        if args.store:
            shutil.copytree(args.store, work / "real")
            store = Store.open(work / "real", create=False)
            letters = list(store.letters().values())
        else:
            letters = real_letters()
            store = Store.open(work / "real")
            store.put_letters(letters)
        bench(store, "real", work)
        store.close()
        for n in args.items:
            big = Store.open(work / f"scaled-{n}")
            big.put_letters(scaled(letters, n))
            bench(big, f"scaled to {n} items", work)
            big.close()


if __name__ == "__main__":
    main()
