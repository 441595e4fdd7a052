"""A cold precedent query from the shell, before and after, side by side, and where the time goes.

    python -m benchmarks.startup [--before REV] [--store-fp32 DIR] [--store-int8 DIR] [--runs 5]

Each run is a fresh `python -m imr_graph.cli precedents --request ... --summary ...` process,
timed from the shell (wall and CPU). "before" is the code at git revision REV (default: the
commit before issue 16), extracted with `git archive` into a temporary folder and run against
a store embedded with the fp32 torch model, which is what that code defaults to; "after" is
this checkout, against the fp32 store (lazy imports only) and against a store embedded with the
ONNX int8 model (the new default). Then one more run of each with `python -X importtime` says
which packages the time goes to. Without store paths, both stores are built from the bundled
sample letters in a temporary folder (their answers differ from a 145-letter store's, their
start-up hardly does).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEFORE = "0881ffd"  # PART1 DONE, the last commit before issue 16's start-up work
REQUEST = ["--request", "Norco 10/325 #90", "--summary", "chronic low back pain, on opioids"]
GROUPS = (
    "sentence_transformers",
    "transformers",
    "torch",
    "onnxruntime",
    "tokenizers",
    "faiss",
    "networkx",
    "rdflib",
    "scipy",
    "bm25s",
    "numpy",
    "imr_graph",
    "embeddings",
    "kg",
)


def _env(code: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1"}


def _run(code: Path, store: Path, extra: list[str] | None = None) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, stderr) of one cold query process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            *(extra or []),
            "-m",
            "imr_graph.cli",
            "precedents",
            *REQUEST,
            "--store",
            str(store),
        ],
        capture_output=True,
        text=True,
        env=_env(code),
        cwd=code,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark run failed in {code}: {proc.stderr.strip()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stderr


def _imports(stderr: str) -> dict[str, float]:
    """Seconds of `-X importtime` per top-level package (cumulative time of its first import)."""
    out: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        cum, name = line.split("|")[1:3]
        top = name.strip()
        if top in GROUPS and top not in out:  # cumulative: includes what it imported itself
            out[top] = int(cum) / 1e6
    return out


def _checkout(rev: str, into: Path) -> Path:
    into.mkdir(parents=True)
    tar = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=tar.stdout, check=True)
    return into


def _build(code: Path, folder: Path, model: str) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "imr_graph.cli",
            "ingest",
            str(REPO / "imr_graph" / "sample"),
            "--store",
            str(folder),
            "--model",
            model,
            "--quiet",
        ],
        env=_env(code),
        cwd=code,
        check=True,
        capture_output=True,
    )
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=BEFORE, help="git revision of the 'before' code")
    ap.add_argument("--store-fp32", type=Path, help="store embedded with all-MiniLM-L6-v2")
    ap.add_argument("--store-int8", type=Path, help="store embedded with ...@onnx-int8")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="imr-startup-") as tmp:
        old = _checkout(args.before, Path(tmp) / "before")
        fp32 = args.store_fp32 or _build(REPO, Path(tmp) / "fp32", "all-MiniLM-L6-v2")
        int8 = args.store_int8 or _build(REPO, Path(tmp) / "int8", "all-MiniLM-L6-v2@onnx-int8")
        setups = [
            (f"before ({args.before}), fp32 store", old, fp32),
            ("after, fp32 store (lazy imports)", REPO, fp32),
            ("after, int8 store (new default)", REPO, int8),
        ]
        load = os.getloadavg()
        print(
            f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"python {platform.python_version()}, load average {load[0]:.1f} at start; "
            f"{args.runs} cold processes each, medians"
        )
        print(f"{'setup':40s} {'wall s':>7s} {'min s':>6s} {'CPU s':>6s}  imports (s)")
        base = None
        for name, code, store in setups:
            _run(code, store)  # page cache warm: every setup reads the same files
            runs = [_run(code, store) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            imports = _imports(_run(code, store, ["-X", "importtime"])[2])
            top = ", ".join(
                f"{k} {v:.2f}" for k, v in sorted(imports.items(), key=lambda kv: -kv[1])[:5]
            )
            base = base or wall
            print(
                f"{name:40s} {wall:7.2f} {min(r[0] for r in runs):6.2f} {cpu:6.2f}  {top}"
                f"{'' if wall == base else f'  (wall {wall / base:.0%} of before)'}"
            )


if __name__ == "__main__":
    main()
