"""Embedding throughput: the cached, windowed pipeline against the raw sentence-transformers call.

Run: python -m benchmarks.embed [PARAGRAPHS.txt] [--n 500] [--rounds 5] [--backend onnx-int8]
The pipeline should keep at least 0.9 of the raw model's paragraphs/s on a cold cache.

`--backend B` (repeatable; onnx, onnx-int8: see embeddings/onnx.py) adds rows for
that backend's raw encode and pipeline, timed in the same interleaved rounds, and a second
table: single-query latency on one thread and the cosine of its vectors to the torch model's.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embeddings import EmbeddingCache, Encoder, encode_passages_with_cache, single_query_threads
from embeddings.onnx import BACKENDS
from imr_graph.index.indexes import make_encoder

LETTERS = Path("/work/shared/letters")
CHUNK_WORDS = 80
BATCH_SIZE = 64
SINGLE_QUERIES = 50


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, for the table header."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown cpu"


def chunk_words(words: list[str], n: int) -> list[str]:
    """Distinct ~80-word chunks; shifted starting offsets stretch a small corpus to `n`."""
    out: dict[str, None] = {}
    for shift in range(0, CHUNK_WORDS, CHUNK_WORDS // 4):
        for start in range(shift, len(words) - CHUNK_WORDS // 2, CHUNK_WORDS):
            out[" ".join(words[start : start + CHUNK_WORDS])] = None
            if len(out) >= n:
                return list(out)
    return list(out)


def synthetic(n: int) -> list[str]:
    """Made-up clinical-sounding paragraphs when no corpus is available."""
    rng = random.Random(0)
    vocab = (
        "patient reports pain lumbar cervical knee shoulder therapy physical medication "
        "opioid tapering injection MRI imaging herniation disc radiating numbness weakness "
        "function improvement work restrictions follow-up visit examination tenderness range "
        "motion surgery consultation guidelines treatment request evidence chronic acute"
    ).split()
    return [
        " ".join(rng.choice(vocab) for _ in range(rng.randint(40, 120))) + "." for _ in range(n)
    ]


def load_paragraphs(path: Path | None, n: int) -> tuple[list[str], str]:
    """Paragraphs from a file (one per line), else from the shared letters, else synthetic."""
    if path is not None:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        return [ln for ln in lines if ln][:n], str(path)
    if LETTERS.is_dir():
        words: list[str] = []
        for letter in sorted(LETTERS.glob("*.txt")):
            words.extend(letter.read_text(encoding="utf-8", errors="replace").split())
        paragraphs = chunk_words(words, n)
        if paragraphs:
            source = f"{LETTERS}/*.txt in {CHUNK_WORDS}-word chunks"
            if len(paragraphs) < n:
                paragraphs += synthetic(n - len(paragraphs))
                source += " + synthetic"
            return paragraphs, source
    return synthetic(n), "synthetic"


def timed(run: Callable[[], int]) -> tuple[float, float, int]:
    """Wall seconds, process CPU seconds, and texts sent to the model, for one run.

    CPU seconds are reported too because on a shared machine other processes inflate wall
    time of whichever method they happen to overlap.
    """
    w0, c0 = time.perf_counter(), time.process_time()
    sent = run()
    return time.perf_counter() - w0, time.process_time() - c0, sent


def pipeline_run(encoder: Encoder, paragraphs: list[str]) -> Callable[[], int]:
    """The real path: windows + a cold SQLite embedding cache, texts sent to the model."""

    def run() -> int:
        with tempfile.TemporaryDirectory() as tmp:
            with EmbeddingCache(Path(tmp) / "cache.sqlite") as cache:
                before = encoder.calls
                encode_passages_with_cache(encoder, cache, paragraphs, batch_size=BATCH_SIZE)
                return encoder.calls - before

    return run


def single_query_ms(encoder: Encoder, queries: list[str]) -> float:
    """Median ms of `Encoder.encode([q])` inside `single_query_threads()` (one thread)."""
    times = []
    with single_query_threads():
        encoder.encode(queries[:3])  # warm-up (and the one-thread ONNX session)
        for q in queries:
            t0 = time.perf_counter()
            encoder.encode([q])
            times.append(time.perf_counter() - t0)
    times.sort()
    return 1000 * times[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paragraphs", nargs="?", type=Path, help="text file, one paragraph a line")
    parser.add_argument("--n", type=int, default=500, help="number of paragraphs")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--backend",
        action="append",
        default=[],
        choices=list(BACKENDS),
        help="also time this optional backend (repeatable)",
    )
    args = parser.parse_args()

    paragraphs, source = load_paragraphs(args.paragraphs, args.n)
    encoder = Encoder()
    model = encoder.model
    model.encode(paragraphs[:BATCH_SIZE], batch_size=BATCH_SIZE)  # warm-up

    def raw() -> int:
        model.encode(paragraphs, batch_size=BATCH_SIZE, convert_to_numpy=True)
        return len(paragraphs)

    by_length = sorted(paragraphs, key=len, reverse=True)

    def raw_presorted() -> int:
        model.encode(by_length, batch_size=BATCH_SIZE, convert_to_numpy=True)
        return len(by_length)

    methods = [
        ("raw SentenceTransformer.encode", raw),
        ("raw, pre-sorted by length", raw_presorted),
        ("pipeline: windows + cache (cold)", pipeline_run(encoder, paragraphs)),
    ]
    base_name = encoder.model_name
    others: list[Encoder] = []
    for backend in args.backend:
        other = make_encoder(f"{base_name}@{backend}")  # the application's backend cache
        other.encode(paragraphs[:BATCH_SIZE], batch_size=BATCH_SIZE)  # builds once, warm-up
        others.append(other)

        def backend_raw(m: Any = other.model) -> int:  # bound per backend
            m.encode(paragraphs, batch_size=BATCH_SIZE, normalize_embeddings=True)
            return len(paragraphs)

        methods += [
            (f"{backend}: raw encode", backend_raw),
            (f"{backend}: pipeline (cold)", pipeline_run(other, paragraphs)),
        ]
    wall: dict[str, float] = {name: float("inf") for name, _ in methods}  # best round
    cpu: dict[str, float] = {name: float("inf") for name, _ in methods}
    sent: dict[str, int] = {}
    for _ in range(args.rounds):  # interleaved so drift hits every method alike
        for name, run in methods:
            w, c, sent[name] = timed(run)
            wall[name], cpu[name] = min(wall[name], w), min(cpu[name], c)

    words = sum(len(p.split()) for p in paragraphs) / len(paragraphs)
    print(f"# {cpu_model()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}")
    print(f"# model {encoder.model_name} on {encoder.device}, batch {BATCH_SIZE}")
    print(f"# {len(paragraphs)} paragraphs (mean {words:.0f} words) from {source}")
    print(f"# best of {args.rounds} interleaved rounds")
    header = (
        f"{'method':<34} | {'texts sent':>10} | {'wall s':>7} | {'para/s':>7} | {'ratio':>5} | "
        f"{'cpu s':>6} | {'cpu ratio':>9}"
    )
    print(header)
    print("-" * len(header))
    base = methods[0][0]
    for name, _ in methods:
        rate = len(paragraphs) / wall[name]
        print(
            f"{name:<34} | {sent[name]:>10} | {wall[name]:>7.2f} | {rate:>7.1f} | "
            f"{wall[base] / wall[name]:>5.2f} | {cpu[name]:>6.2f} | {cpu[base] / cpu[name]:>9.2f}"
        )
    if not others:
        return

    queries = paragraphs[:SINGLE_QUERIES]
    reference = encoder.encode(paragraphs, batch_size=BATCH_SIZE)
    print()
    print(f"# single query: median of {len(queries)} one-paragraph encodes on one thread")
    header = (
        f"{'backend':<34} | {'1-query ms':>10} | {'x torch':>7} | "
        f"{'mean cos to torch':>17} | {'min cos':>7}"
    )
    print(header)
    print("-" * len(header))
    torch_ms = single_query_ms(encoder, queries)
    rows = [("torch fp32 (sentence-transformers)", torch_ms, "1.0000", "1.0000")]
    for other in others:
        ms = single_query_ms(other, queries)
        vectors = other.encode(paragraphs, batch_size=BATCH_SIZE)
        if vectors.shape == reference.shape:
            cos = np.einsum("ij,ij->i", vectors, reference)
            rows.append((str(other.backend), ms, f"{cos.mean():.4f}", f"{cos.min():.4f}"))
        else:  # a backend with its own vector space: not comparable
            rows.append((str(other.backend), ms, "n/a", "n/a"))
    for label, ms, mean_cos, min_cos in rows:
        print(f"{label:<34} | {ms:>10.1f} | {torch_ms / ms:>7.2f} | {mean_cos:>17} | {min_cos:>7}")


if __name__ == "__main__":
    main()
