"""Export throughput (triples/s) for N-Triples and Turtle on stores scaled up from real letters.

The 145 real letters (140 PDFs + 5 text letters under ../shared) are copied N times with new
case numbers (dataclasses.replace on Letter), put in a temporary store, and exported; the graph
is built before timing so the figures are the export's own. With --engines, also times loading
the 145-letter store into pyoxigraph and rdflib and running the shipped queries on each.

    python benchmarks/export.py --items 10000 100000 [--engines]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imr_graph.letters.parse import parse_file  # noqa: E402
from imr_graph.rdf import store_triples  # noqa: E402
from imr_graph.store.sqlite import Store  # noqa: E402
from kg import rdf  # noqa: E402
from kg.model import Letter  # noqa: E402

SHARED = REPO.parent / "shared"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def real_letters() -> list[Letter]:
    pdfs = sorted((SHARED / "data/external/dwc-imr-letters-imrcrawler/pdf").glob("*.pdf"))
    txts = sorted((SHARED / "letters").glob("*.txt")) or sorted(
        (REPO / "imr_graph/sample").glob("*.txt")
    )
    return [parse_file(p) for p in pdfs + txts]


def scaled(letters: list[Letter], n_items: int) -> list[Letter]:
    per_copy = sum(len(x.items) for x in letters)
    copies = max(1, -(-n_items // per_copy))
    out = list(letters)
    for c in range(1, copies):
        for x in letters:
            key = f"CM{90 + c % 10:02d}-{c:03d}{abs(hash(x.key)) % 10**6:06d}"
            out.append(
                replace(
                    x,
                    case_number=key,
                    letter=f"{x.letter}-copy{c}",
                    sha256=f"{c:08x}" + x.sha256[8:],
                )
            )
    return out


def bench_export(letters: list[Letter], workdir: Path) -> dict[str, float]:
    store = Store.open(workdir)
    t0 = time.perf_counter()
    store.put_letters(letters)
    t_put = time.perf_counter() - t0
    t0 = time.perf_counter()
    _ = store.graph
    t_graph = time.perf_counter() - t0
    row: dict[str, float] = {
        "letters": len(letters),
        "items": store.counts()["items"],
        "put_s": t_put,
        "graph_s": t_graph,
    }
    for fmt in ("nt", "ttl"):
        buf = io.BytesIO()
        t0 = time.perf_counter()
        n = rdf.write(store_triples(store), fmt, buf)
        secs = time.perf_counter() - t0
        row["triples"] = n
        row[f"{fmt}_s"] = secs
        row[f"{fmt}_tps"] = n / secs
        row[f"{fmt}_mb"] = len(buf.getvalue()) / 1e6
    store.close()
    return row


def bench_engines(letters: list[Letter], workdir: Path) -> None:
    import pyoxigraph as ox
    from rdflib import Graph

    store = Store.open(workdir)
    store.put_letters(letters)
    triples = list(store_triples(store))
    nt = rdf.export_bytes(triples, "nt")
    queries = {p.stem: p.read_text() for p in sorted((REPO / "imr_graph/queries").glob("*.rq"))}
    t0 = time.perf_counter()
    st = ox.Store()
    st.bulk_load(nt, format=ox.RdfFormat.N_TRIPLES)
    ox_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    g = Graph().parse(data=nt.decode(), format="nt")
    rl_load = time.perf_counter() - t0
    print(f"\nSPARQL engines on {len(letters)} letters ({len(triples)} triples)")
    print(f"{'query':40s} {'pyoxigraph':>12s} {'rdflib':>12s} rows")
    print(f"{'(load N-Triples)':40s} {ox_load:11.3f}s {rl_load:11.3f}s")
    prefixes = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in rdf.PREFIXES.items())
    for name, q in queries.items():
        t0 = time.perf_counter()
        n_ox = len(rdf.run_query(st, q)[1])
        t_ox = time.perf_counter() - t0
        t0 = time.perf_counter()
        n_rl = len(list(g.query(prefixes + q if "PREFIX imr:" not in q else q)))
        t_rl = time.perf_counter() - t0
        print(f"{name:40s} {t_ox:11.3f}s {t_rl:11.3f}s {n_ox}/{n_rl}")
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, nargs="+", default=[10_000])
    ap.add_argument("--engines", action="store_true", help="also compare pyoxigraph and rdflib")
    args = ap.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, python {platform.python_version()}")
    base = real_letters()
    if args.engines:
        with tempfile.TemporaryDirectory() as d:
            bench_engines(base, Path(d))
    print(
        f"\n{'items':>8s} {'letters':>8s} {'triples':>9s} {'graph s':>8s} "
        f"{'nt s':>7s} {'nt triples/s':>13s} {'nt MB':>7s} {'ttl s':>7s} {'ttl triples/s':>14s}"
    )
    for n in [0, *args.items]:
        letters = base if n == 0 else scaled(base, n)
        with tempfile.TemporaryDirectory() as d:
            r = bench_export(letters, Path(d))
        print(
            f"{r['items']:8d} {r['letters']:8d} {r['triples']:9d} {r['graph_s']:8.1f} "
            f"{r['nt_s']:7.2f} {r['nt_tps']:13,.0f} {r['nt_mb']:7.1f} {r['ttl_s']:7.2f} "
            f"{r['ttl_tps']:14,.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
