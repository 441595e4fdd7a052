"""Scale: a store grown from the real letters to 1e4..1e6 items, then loaded and queried.

For each scale point:

1. build (own subprocess): the 145 real letters are copied with new case numbers
   (dataclasses.replace on Letter: case_number, letter, sha256) and written through the real
   `Store.put_letters` in batches of `imr_graph.store.ingest.BATCH` letters. Vectors are perturbed
   copies of the real ones (the real rationale windows and requests are embedded once with the
   real Encoder, then Gaussian noise is added and the rows renormalised) put straight into
   `Indexes.rationales/requests`; the BM25 texts go into `Indexes.lexical`; the query arrays
   are built from the stored letters by `GraphArrays.build`; `Indexes.save()` records the
   store generation so the store opens without any re-embedding.
2. measure (own subprocess per repeat, so memory is clean): Store.open, Indexes.open (which
   memory-maps the saved indexes and arrays) and PrecedentEngine init are the load time; then
   the model is loaded, then 100 precedent queries drawn from the real requests run one at a
   time, FAISS and torch on 1 thread. RSS is read after load, after the model and after the
   queries (mapped pages the queries touched count from then on).

    python -m benchmarks.scale --items 10000 100000 1000000 [--repeats 3] [--budget-s 3600]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.parse import PDFS, TEXTS, machine  # noqa: E402

NOISE = 0.025  # per-dimension sigma: ||noise|| ~ 0.49, cosine to the source vector ~ 0.9
SEED = 0


# ---- shared helpers ------------------------------------------------------------------------
def rss_mib() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def du_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def base_files(workdir: Path) -> tuple[Path, Path]:
    return workdir / "base_letters.json", workdir / "base_vectors.npz"


def prepare_base(workdir: Path) -> None:
    """Parse the real letters and embed their rationale windows and requests, once."""
    from embeddings import Encoder
    from imr_graph.index.indexes import MAX_WINDOWS
    from imr_graph.letters.parse import parse_file
    from kg.model import letter_to_json

    letters_file, vectors_file = base_files(workdir)
    enc = Encoder()
    if letters_file.exists() and vectors_file.exists():
        with np.load(vectors_file) as z:
            if str(z["model"]) == enc.model_name:
                return
    files = sorted(PDFS.glob("*.pdf")) + sorted(TEXTS.glob("*.txt"))
    letters = [parse_file(f) for f in files]
    items = [it for x in letters for it in x.items]
    windows = enc.split_windows_many([it.rationale or it.request for it in items])
    texts, owner = [], []
    for j, ws in enumerate(windows):
        for w in ws[:MAX_WINDOWS]:
            texts.append(w)
            owner.append(j)
    t0 = time.perf_counter()
    rat = enc.encode(texts)
    req = enc.encode([it.request for it in items])
    print(
        f"# embedded {len(texts)} windows + {len(items)} requests in "
        f"{time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    workdir.mkdir(parents=True, exist_ok=True)
    letters_file.write_text(json.dumps([letter_to_json(x) for x in letters]))
    np.savez(vectors_file, rat=rat, owner=np.array(owner), req=req, model=np.array(enc.model_name))


def load_base(workdir: Path):
    from kg.model import letter_from_json

    letters_file, vectors_file = base_files(workdir)
    letters = [letter_from_json(d) for d in json.loads(letters_file.read_text())]
    with np.load(vectors_file) as z:
        return letters, z["rat"], z["owner"], z["req"], str(z["model"])


def synthetic_letters(base, n_items: int):
    """The real letters (copy 0) then copies with new case numbers, up to >= n_items items."""
    out, count, c = [], 0, 0
    while count < n_items:
        for i, x in enumerate(base):
            if count >= n_items:
                break
            if c == 0:
                y = x
            else:
                key = f"SYN{c:07d}-{i:03d}"
                y = replace(
                    x,
                    case_number=key,
                    letter=f"{x.letter}-syn{c}",
                    sha256=hashlib.sha256(f"{key}:{x.sha256}".encode()).hexdigest(),
                )
            out.append((i, y))
            count += len(x.items)
        c += 1
    return out


# ---- build ---------------------------------------------------------------------------------
def build(workdir: Path, n_items: int) -> dict:
    import faiss

    from embeddings import Encoder, LexicalIndex, VectorIndex
    from imr_graph.index.arrays import GraphArrays
    from imr_graph.index.indexes import Indexes, lexical_text, window_id
    from imr_graph.store.ingest import BATCH
    from imr_graph.store.sqlite import Store
    from kg.graph import item_int_id

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    base, rat, owner, req, model = load_base(workdir)
    # base item j -> its letter and position; its windows are rows owner == j of `rat`
    base_items = [(li, it) for li, x in enumerate(base) for it in x.items]
    first_item = np.cumsum([0] + [len(x.items) for x in base])
    win_rows = [np.flatnonzero(owner == j) for j in range(len(base_items))]

    store_dir = workdir / f"store-{n_items}"
    shutil.rmtree(store_dir, ignore_errors=True)
    pairs = synthetic_letters(base, n_items)
    store = Store.open(store_dir)
    t0 = time.perf_counter()
    for s in range(0, len(pairs), BATCH):
        store.put_letters([y for _, y in pairs[s : s + BATCH]])
    t_sql = time.perf_counter() - t0
    n = store.counts()["items"]

    # vectors: one perturbed copy of the source item's windows / request per synthetic item
    rng = np.random.default_rng(SEED)
    vids, vrows, iids, irows = [], [], [], []
    for i, y in pairs:
        for it in y.items:
            j = int(first_item[i]) + it.position
            iid = item_int_id(y.key, it.position)
            iids.append(iid)
            irows.append(j)
            for w, r in enumerate(win_rows[j]):
                vids.append(window_id(iid, w))
                vrows.append(r)

    def perturb(src: np.ndarray, rows: list[int]) -> np.ndarray:
        out = src[np.asarray(rows)].astype(np.float32)
        for s in range(0, len(out), 100_000):
            blk = out[s : s + 100_000]
            blk += rng.normal(0, NOISE, blk.shape).astype(np.float32)
            faiss.normalize_L2(blk)
        return out

    enc = Encoder(model)
    dim = rat.shape[1]
    idx = Indexes(
        store,
        enc,
        VectorIndex(dim, model),
        VectorIndex(dim, model),
        LexicalIndex(),
        -1,
        GraphArrays.build([]),
    )
    t0 = time.perf_counter()
    idx.rationales.add(np.asarray(vids, dtype=np.int64), perturb(rat, vrows))
    t_rat = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx.requests.add(np.asarray(iids, dtype=np.int64), perturb(req, irows))
    t_req = time.perf_counter() - t0
    t0 = time.perf_counter()
    step = 50_000  # texts made a chunk at a time: 1e6 rationales would hold ~1.5 GB of str
    flat = [(y.key, it) for _, y in pairs for it in y.items]
    for s in range(0, len(flat), step):
        chunk = flat[s : s + step]
        idx.lexical.add(
            [item_int_id(k, it.position) for k, it in chunk],
            [lexical_text(it.request, it.rationale) for _, it in chunk],
        )
    del flat
    if hasattr(idx.lexical, "rebuild"):
        idx.lexical.rebuild()
    t_lex = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx.arrays = GraphArrays.build(store.iter_letters())
    t_arrays = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx.save()
    t_save = time.perf_counter() - t0
    store.close()
    sql = sum(f.stat().st_size for f in store_dir.glob("store.sqlite*")) / 2**20
    return {
        "items": n,
        "letters": len(pairs),
        "windows": len(vids),
        "sql_s": t_sql,
        "rat_index_s": t_rat,
        "rat_kind": idx.rationales.index_type,
        "req_index_s": t_req,
        "req_kind": idx.requests.index_type,
        "lex_add_s": t_lex,
        "arrays_s": t_arrays,
        "index_save_s": t_save,
        "sql_mib": sql,
        "index_mib": du_mib(store_dir / "index"),
        "disk_mib": du_mib(store_dir),
        "build_peak_mib": peak_mib(),
    }


# ---- measure -------------------------------------------------------------------------------
def measure(workdir: Path, n_items: int, n_queries: int, profile: bool) -> dict:
    from embeddings import Encoder, set_threads
    from imr_graph.index.indexes import Indexes
    from imr_graph.query.precedent import PrecedentEngine
    from imr_graph.store.sqlite import Store
    from kg.normalize import normalize_request, strip_dosing

    set_threads(1)
    store_dir = workdir / f"store-{n_items}"
    base = load_base(workdir)[0]
    requests = sorted({it.request for x in base for it in x.items})
    rng = random.Random(SEED)
    queries = rng.sample(requests, min(n_queries, len(requests)))
    rss0 = rss_mib()
    t = {}
    t0 = time.perf_counter()
    store = Store.open(store_dir, create=False)
    t["open"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx = Indexes.open(store, Encoder(), repair=False)  # never re-embeds: fails instead
    t["indexes"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine = PrecedentEngine(store, idx)
    t["engine"] = time.perf_counter() - t0
    load = sum(t.values())
    rss_load = rss_mib()
    t0 = time.perf_counter()
    idx.encoder.encode(["warm up"])
    t["model"] = time.perf_counter() - t0
    rss_ready = rss_mib()
    t0 = time.perf_counter()
    engine.query(queries[0])
    t["first_query"] = time.perf_counter() - t0
    for q in queries[1:3]:
        engine.query(q)
    lat = []
    for q in queries:
        t0 = time.perf_counter()
        engine.query(q)
        lat.append(1000 * (time.perf_counter() - t0))
    rss_queries = rss_mib()
    # where a query's time goes: each retriever alone, same queries (encoder cached after 1st)
    stages: dict[str, list[float]] = {"encode": [], "graph": [], "dense": [], "lexical": []}
    pool = engine.weights.pool
    for q in queries:
        engine._vec_cache.clear()
        t0 = time.perf_counter()
        engine._encode(q)
        stages["encode"].append(1000 * (time.perf_counter() - t0))
        rc = normalize_request(q)
        t0 = time.perf_counter()
        gc = engine.graph_candidates(tuple(rc.treatments), tuple(rc.body_regions), pool)
        stages["graph"].append(1000 * (time.perf_counter() - t0))
        stages.setdefault("graph_cands", []).append(len(gc))
        t0 = time.perf_counter()
        engine.dense_candidates(q, None, pool)
        stages["dense"].append(1000 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        engine.lexical_candidates(strip_dosing(q), pool)
        stages["lexical"].append(1000 * (time.perf_counter() - t0))
    if profile:
        from pyinstrument import Profiler

        prof = Profiler(interval=0.0005)
        prof.start()
        for q in queries[:30]:
            engine.query(q)
        prof.stop()
        out = workdir / f"profile-query-{n_items}.txt"
        out.write_text(prof.output_text(unicode=False, color=False, show_all=False))
    return {
        "items": engine.arrays.n,
        "t": t,
        "load_s": load,
        "rss_start_mib": rss0,
        "rss_load_mib": rss_load,
        "rss_ready_mib": rss_ready,
        "rss_queries_mib": rss_queries,
        "peak_mib": peak_mib(),
        "p50_ms": float(np.percentile(lat, 50)),
        "p95_ms": float(np.percentile(lat, 95)),
        "max_ms": max(lat),
        "stages_p50": {k: float(np.median(v)) for k, v in stages.items()},
        "stages_p95": {k: float(np.percentile(v, 95)) for k, v in stages.items()},
        "rat_kind": idx.rationales.index_type,
    }


# ---- update --------------------------------------------------------------------------------
def update(workdir: Path, n_items: int) -> dict:
    """One ingest batch of new letters into the built store, then their removal, through the
    steps `imr_graph.store.ingest` takes (embed into the cache, put_letters, apply, save); the store
    ends with the same letters it started with."""
    from embeddings import Encoder
    from imr_graph.index.indexes import Indexes
    from imr_graph.store.ingest import BATCH
    from imr_graph.store.sqlite import Store

    base = load_base(workdir)[0]
    store = Store.open(workdir / f"store-{n_items}", create=False)
    idx = Indexes.open(store, Encoder(), repair=False)
    before = store.counts()["items"]
    tag = f"UPD{time.time_ns() % 10**9:09d}"
    batch = [
        replace(
            x,
            case_number=f"{tag}-{i:03d}",
            letter=f"{x.letter}-{tag}",
            sha256=hashlib.sha256(f"{tag}:{i}:{x.sha256}".encode()).hexdigest(),
            # new text, so the embedding cache misses as for letters never seen
            items=tuple(
                replace(it, request=f"{it.request} {tag}", rationale=f"{it.rationale} {tag}")
                for it in x.items
            ),
        )
        for i, x in enumerate(base[:BATCH])
    ]
    idx.encoder.encode(["warm up"])
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    idx.prepare(store.changed(batch))
    t["embed"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    *_, removed, added = store.put_letters(batch)
    t["sql"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx.apply(removed, added, save=False)
    t["apply"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx.save()
    t["save"] = time.perf_counter() - t0
    grown = Indexes.open(store, idx.encoder, repair=False).arrays.n  # in step, or it raises
    t0 = time.perf_counter()
    gone = [i for x in batch for i in store.remove(x.key)]
    idx.apply(gone, [], save=True)
    t["remove"] = time.perf_counter() - t0
    after = Indexes.open(store, idx.encoder, repair=False).arrays.n
    store.close()
    if grown != before + len(added) or after != before:
        raise SystemExit(f"update: {before} -> {grown} -> {after} items")
    return {"items": before, "letters": len(batch), "added_items": len(added), "t": t}


# ---- orchestration -------------------------------------------------------------------------
def run_child(args: list[str], timeout: float, mem_cap_mib: float, log: Path) -> dict | str:
    """Run this script in a child; a dict from its RESULT line, or why there is none."""
    import psutil

    cmd = [sys.executable, "-m", "benchmarks.scale", *args]
    with open(log, "a") as err:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True)
        ps = psutil.Process(proc.pid)
        t0 = time.perf_counter()
        peak = 0.0
        while proc.poll() is None:
            try:
                peak = max(peak, ps.memory_info().rss / 2**20)
            except psutil.Error:
                pass
            if peak > mem_cap_mib:
                proc.kill()
                proc.wait()
                return f"killed at {peak / 1024:.1f} GiB RSS (cap {mem_cap_mib / 1024:.0f} GiB)"
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                proc.wait()
                return f"killed after {timeout:.0f} s (time budget)"
            time.sleep(0.25)
        out = proc.stdout.read() if proc.stdout else ""
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return f"exit {proc.returncode}, no result (see {log})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=float, nargs="+", default=[1e4, 1e5, 1e6])
    ap.add_argument("--repeats", type=int, default=3, help="measure subprocesses per point")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--budget-s", type=float, default=3600, help="wall time per scale point")
    ap.add_argument("--mem-cap-gib", type=float, default=20)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/imr-scale"))
    ap.add_argument("--reuse", action="store_true", help="keep stores built by an earlier run")
    ap.add_argument("--profile", action="store_true", help="pyinstrument 30 queries per point")
    ap.add_argument(
        "--update", action="store_true", help="also time one 64-letter ingest batch and its removal"
    )
    ap.add_argument("--child", choices=["build", "measure", "update"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    workdir: Path = args.workdir
    if args.child:
        n = int(args.items[0])
        if args.child == "build":
            res = build(workdir, n)
        elif args.child == "update":
            res = update(workdir, n)
        else:
            res = measure(workdir, n, args.queries, args.profile)
        print("RESULT " + json.dumps(res), flush=True)
        return

    workdir.mkdir(parents=True, exist_ok=True)
    prepare_base(workdir)
    log = workdir / "children.log"
    cap = args.mem_cap_gib * 1024
    rows: list[tuple[int, dict | str, dict | str]] = []
    updates: list[tuple[int, dict | str]] = []
    measured: list[tuple[int, dict, dict]] = []
    for n in [int(x) for x in args.items]:
        store_dir = workdir / f"store-{n}"
        t0 = time.perf_counter()
        if (
            args.reuse
            and (store_dir / "index" / "indexes.json").exists()
            and (workdir / f"build-{n}.json").exists()
        ):
            b: dict | str = json.loads((workdir / f"build-{n}.json").read_text())
        else:
            b = run_child(
                ["--child", "build", "--items", str(n), "--workdir", str(workdir)],
                args.budget_s,
                cap,
                log,
            )
            if isinstance(b, dict):
                (workdir / f"build-{n}.json").write_text(json.dumps(b))
        if isinstance(b, str):
            rows.append((n, f"not run: build {b}", ""))
            continue
        reps: list[dict] = []
        why = ""
        for r in range(args.repeats):
            left = args.budget_s - (time.perf_counter() - t0)
            if left <= 0:
                why = f"budget spent after {r} repeats"
                break
            child = [
                "--child",
                "measure",
                "--items",
                str(n),
                "--workdir",
                str(workdir),
                "--queries",
                str(args.queries),
            ]
            if args.profile and r == 0:
                child.append("--profile")
            m = run_child(child, left if r else max(left, 60), cap, log)
            if isinstance(m, str):
                why = m
                break
            reps.append(m)
        if not reps:
            rows.append((n, b, f"not run: measure {why}"))
            continue
        med = median_result(reps)
        med["repeats"] = len(reps)
        rows.append((n, b, med))
        measured.append((n, b, med))
        (workdir / f"measure-{n}.json").write_text(json.dumps(reps))
        if args.update:
            u = run_child(
                ["--child", "update", "--items", str(n), "--workdir", str(workdir)],
                max(60.0, args.budget_s - (time.perf_counter() - t0)),
                cap,
                log,
            )
            updates.append((n, u))
    report(rows, measured, args)
    if updates:
        report_updates(updates)


def report_updates(updates: list[tuple[int, dict | str]]) -> None:
    print(
        "\n# update (s): one ingest batch of 64 new letters into the store (embed with the model"
        " on 2 threads,\n# SQL, index apply, save), then removing them again (remove, apply, save)"
    )
    h = (
        f"{'items':>8} | {'new items':>9} | {'embed':>6} | {'SQL':>5} | {'apply':>5} |"
        f" {'save':>5} | {'add total':>9} | {'remove':>6}"
    )
    print(h)
    print("-" * len(h))
    for n, u in updates:
        if isinstance(u, str):
            print(f"{n:>8} | not run: {u}")
            continue
        t = u["t"]
        total = t["embed"] + t["sql"] + t["apply"] + t["save"]
        print(
            f"{u['items']:>8} | {u['added_items']:>9} | {t['embed']:>6.1f} | {t['sql']:>5.2f} |"
            f" {t['apply']:>5.2f} | {t['save']:>5.1f} | {total:>9.1f} | {t['remove']:>6.1f}"
        )


def median_result(reps: list[dict]) -> dict:
    out = dict(reps[0])
    for k, v in reps[0].items():
        if isinstance(v, float):
            out[k] = statistics.median(r[k] for r in reps)
        elif isinstance(v, dict):
            out[k] = {kk: statistics.median(r[k][kk] for r in reps) for kk in v}
    return out


def report(rows, measured, args) -> None:
    print(f"# machine: {machine()}")
    print(f"# python {sys.version.split()[0]}; FAISS and torch on 1 thread for queries")
    print(
        f"# queries: {args.queries} real requests, one at a time, k=10, all three retrievers;"
        " median of the repeats (each in a fresh process)"
    )
    print(
        "# ingest/s: SQL + BM25 + query arrays + vector index build, per item, without the"
        " embedding pass (the model's rate is in the embed table)"
    )
    h1 = (
        f"{'items':>8} | {'letters':>7} | {'ingest/s':>8} | {'disk MiB':>8} | {'load s':>6} |"
        f" {'model s':>7} | {'RSS load':>8} | {'RSS model':>9} | {'RSS queries':>11} |"
        f" {'peak MiB':>8} | {'p50 ms':>7} | {'p95 ms':>7} | rep"
    )
    print(h1)
    print("-" * len(h1))
    for n, b, m in rows:
        if isinstance(b, str):
            print(f"{n:>8} | {b}")
            continue
        ingest = b["items"] / (
            b["sql_s"] + b["rat_index_s"] + b["req_index_s"] + b["lex_add_s"] + b["arrays_s"]
        )
        if isinstance(m, str):
            print(f"{b['items']:>8} | {b['letters']:>7} | {ingest:>8.0f} | {m}")
            continue
        print(
            f"{b['items']:>8} | {b['letters']:>7} | {ingest:>8.0f} | {b['disk_mib']:>8.0f} |"
            f" {m['load_s']:>6.2f} | {m['t']['model']:>7.2f} | {m['rss_load_mib']:>8.0f} |"
            f" {m['rss_ready_mib']:>9.0f} | {m['rss_queries_mib']:>11.0f} |"
            f" {m['peak_mib']:>8.0f} | {m['p50_ms']:>7.1f} | {m['p95_ms']:>7.1f} |"
            f" {m['repeats']:>3}"
        )
    print("\n# load breakdown (s): Store.open, Indexes.open (maps files), engine init; model")
    h2 = (
        f"{'items':>8} | {'open':>5} | {'indexes':>7} | {'engine':>6} | {'load':>5} |"
        f" {'model':>5} | {'1st query':>9}"
    )
    print(h2)
    print("-" * len(h2))
    for _, _, m in measured:
        t = m["t"]
        print(
            f"{m['items']:>8} | {t['open']:>5.2f} | {t['indexes']:>7.2f} | {t['engine']:>6.2f} |"
            f" {m['load_s']:>5.2f} | {t['model']:>5.2f} | {t['first_query']:>9.2f}"
        )
    print("\n# build: index kinds and times (s); disk (MiB)")
    h3 = (
        f"{'items':>8} | {'windows':>7} | {'SQL':>6} | {'rationale idx':>15} |"
        f" {'request idx':>15} | {'bm25':>6} | {'arrays':>6} | {'save':>5} | {'SQL MiB':>7} |"
        f" {'index MiB':>9} | {'build peak':>10}"
    )
    print(h3)
    print("-" * len(h3))
    for _, b, _ in rows:
        if isinstance(b, str):
            continue
        print(
            f"{b['items']:>8} | {b['windows']:>7} | {b['sql_s']:>6.1f} |"
            f" {b['rat_kind']:>5} {b['rat_index_s']:>9.1f} |"
            f" {b['req_kind']:>5} {b['req_index_s']:>9.1f} | {b['lex_add_s']:>6.1f} |"
            f" {b['arrays_s']:>6.1f} | {b['index_save_s']:>5.1f} | {b['sql_mib']:>7.0f} |"
            f" {b['index_mib']:>9.0f} | {b['build_peak_mib']:>10.0f}"
        )
    print("\n# query stages alone, p50 / p95 ms (graph_cands: items the graph retriever returns)")
    keys = ["encode", "graph", "dense", "lexical", "graph_cands"]
    print(f"{'items':>8} | " + " | ".join(f"{k:>15}" for k in keys))
    for _, _, m in measured:
        cells = [f"{m['stages_p50'][k]:>7.1f}/{m['stages_p95'][k]:<7.1f}" for k in keys]
        print(f"{m['items']:>8} | " + " | ".join(cells))
    targets = {100_000: 50.0, 1_000_000: 100.0}
    print("\n# targets: p95 <= 50 ms at 1e5, <= 100 ms at 1e6; load <= 5 s and RSS < 4 GiB at 1e6")
    for n, _, m in measured:
        if n in targets:
            ok = "met" if m["p95_ms"] <= targets[n] else "MISSED"
            print(f"{n:>8}: p95 {m['p95_ms']:.1f} ms vs {targets[n]:.0f} ms: {ok}")
        if n == 1_000_000:
            peak = max(m["rss_queries_mib"], m["peak_mib"]) / 1024
            print(
                f"{n:>8}: load {m['load_s']:.2f} s (+ model {m['t']['model']:.2f} s) vs 5 s:"
                f" {'met' if m['load_s'] + m['t']['model'] <= 5 else 'MISSED'};"
                f" peak RSS {peak:.2f} GiB vs 4 GiB: {'met' if peak < 4 else 'MISSED'}"
            )


if __name__ == "__main__":
    main()
