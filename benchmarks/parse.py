"""Parse throughput: letter files -> `kg.model.Letter` records on one core.

Times the two phases separately on the real letters: reading (pypdfium2 text extraction, or
decoding a text file) and parsing the text into records (cleaning, sections, citations,
header). Each round parses every file; the table gives the median round and letters/s.

    taskset -c 0 python -m benchmarks.parse [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from imr_graph.letters.parse import parse_source
from imr_graph.letters.read import read_source

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PDFS = SHARED / "data/external/dwc-imr-letters-imrcrawler/pdf"
TEXTS = SHARED / "letters"


def machine() -> str:
    """CPU model, cores usable by this process / online, RAM: the header of every table."""
    model = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) / 2**20
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {usable}/{os.cpu_count()} cores usable, {ram:.1f} GiB RAM"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    groups = {
        "pdf (real, dwc-imr crawler)": sorted(PDFS.glob("*.pdf")),
        "txt (real, shared/letters)": sorted(TEXTS.glob("*.txt")),
    }
    print(f"# machine: {machine()}")
    print(f"# median of {args.rounds} rounds over every file, one process")
    header = (
        f"{'files':<28} | {'n':>4} | {'items':>5} | {'read s':>7} | {'parse s':>7} | "
        f"{'total s':>7} | {'letters/s':>9} | {'items/s':>7} | {'ms/letter':>9}"
    )
    print(header)
    print("-" * len(header))
    totals = {"read": 0.0, "parse": 0.0, "n": 0, "items": 0}
    for name, files in groups.items():
        if not files:
            print(f"{name:<28} | not run (no files)")
            continue
        reads: list[float] = []
        parses: list[float] = []
        items = 0
        for _ in range(args.rounds):
            t_read = t_parse = 0.0
            items = 0
            for f in files:
                t0 = time.perf_counter()
                src = read_source(f)
                t1 = time.perf_counter()
                letter = parse_source(src)
                t2 = time.perf_counter()
                t_read += t1 - t0
                t_parse += t2 - t1
                items += len(letter.items)
            reads.append(t_read)
            parses.append(t_parse)
        r, p = statistics.median(reads), statistics.median(parses)
        n = len(files)
        totals["read"] += r
        totals["parse"] += p
        totals["n"] += n
        totals["items"] += items
        print(
            f"{name:<28} | {n:>4} | {items:>5} | {r:>7.3f} | {p:>7.3f} | {r + p:>7.3f} | "
            f"{n / (r + p):>9.1f} | {items / (r + p):>7.1f} | {1000 * (r + p) / n:>9.2f}"
        )
    if totals["n"]:
        t = totals["read"] + totals["parse"]
        print(
            f"{'all':<28} | {totals['n']:>4} | {totals['items']:>5} | {totals['read']:>7.3f} | "
            f"{totals['parse']:>7.3f} | {t:>7.3f} | {totals['n'] / t:>9.1f} | "
            f"{totals['items'] / t:>7.1f} | {1000 * t / totals['n']:>9.2f}"
        )


if __name__ == "__main__":
    main()
