"""kill -9 an ingest at random moments; the store must open consistent and a re-ingest finish it.

Each round runs `python -m imr_graph.cli ingest` in a subprocess on a fresh store and SIGKILLs it
after a delay drawn (stratified, seeded) across the whole run: start-up and model load, parsing,
embedding, the SQL commits and the index saves. After the kill:

- the SQL store opens and passes every SQL/graph check (no letter half in: a letter's row and
  all its items, or nothing), and only whole letters of the input are in it;
- if an index state file exists, the index set it names loads (saves are atomic);
- opening the indexes repairs them and then everything agrees (`check_store` all OK);
- a second ingest completes the store to exactly what an uninterrupted ingest produces.

Rounds: --no-index on the real letters (three SQL commits of 64, 64, 17 letters), and full
indexing on a 25-letter subset with a cold embedding cache (kills land mostly in embedding) or
a warm one (kills land in the commit and the index save). Without ../shared the bundled sample
letters are used.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus_paths import REPO, SAMPLE_DIR, shared_dir

from embeddings import Encoder
from imr_graph.index.files import STATE_FILE, load_files, read_state
from imr_graph.index.indexes import Indexes
from imr_graph.store.check import check_store
from imr_graph.store.ingest import ingest
from imr_graph.store.sqlite import Store

NO_INDEX_ROUNDS = 12
FULL_ROUNDS = 12
SEED = int(os.environ.get("IMR_GRAPH_CRASH_SEED", "20240611"))


def _letters(tmp: Path) -> tuple[list[Path], Path]:
    """(all letters, folder with a subset for the indexed rounds)."""
    shared = shared_dir()
    pdfs = sorted((shared / "data/external/dwc-imr-letters-imrcrawler/pdf").glob("*.pdf"))
    texts = sorted((shared / "letters").glob("*.txt"))
    sub = tmp / "subset"
    sub.mkdir()
    if not pdfs:
        for p in sorted(SAMPLE_DIR.glob("*.txt")):
            shutil.copy(p, sub / p.name)
        return [SAMPLE_DIR], sub
    for p in [*pdfs[6::7], *texts]:
        shutil.copy(p, sub / p.name)
    return [*pdfs, *texts], sub


def _cli(paths: list[Path], store: Path, no_index: bool) -> list[str]:
    cmd = [sys.executable, "-m", "imr_graph.cli", "ingest", *map(str, paths)]
    cmd += ["--store", str(store), "--json"]
    return cmd + (["--no-index"] if no_index else [])


def _run(cmd: list[str], kill_after: float | None) -> tuple[float, int]:
    env = {**os.environ, "IMR_GRAPH_LOCK_TIMEOUT": "5"}
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if kill_after is None:
        rc = proc.wait(timeout=300)
        return time.monotonic() - t0, rc
    try:
        rc = proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait()
    return time.monotonic() - t0, rc


def _snapshot(store_dir: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    with Store.open(store_dir, create=False) as s:
        items: dict[str, list[int]] = {}
        for iid, key, *_ in s.item_rows():
            items.setdefault(key, []).append(iid)
        return {k: (x.sha256, tuple(sorted(items.get(k, [])))) for k, x in s.letters().items()}


def _assert_after_kill(store_dir: Path, full: dict, encoder: Encoder | None) -> str:
    """Check the killed store; returns what was in it (letters, index generation)."""
    if not (store_dir / "store.sqlite").exists():
        return "no store yet"  # killed before the store was created: nothing in
    sql_checks = check_store(store_dir, indexes=False)
    assert all(c.ok for c in sql_checks), [c for c in sql_checks if not c.ok]
    # only whole letters of the input: same content and the same item ids as a full ingest
    snap = _snapshot(store_dir)
    for key, got in snap.items():
        assert got == full[key], key
    if encoder is None:
        return f"{len(snap)} letters"
    with Store.open(store_dir, create=False) as store:
        state = read_state(store.path / "index")
        if state is not None:
            load_files(store)  # an index state that exists names a complete set of files
        else:
            assert not (store.path / "index" / STATE_FILE).exists()
        behind = state is None or state["generation"] != store.generation
        Indexes.open(store, encoder)  # repairs when behind
    checks = check_store(store_dir)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    return f"{len(snap)} letters, indexes {'behind' if behind else 'in step'}"


def _complete(store_dir: Path, paths: list[Path], full: dict, encoder: Encoder | None) -> None:
    with Store.open(store_dir) as store:
        idx = Indexes.open(store, encoder) if encoder is not None else None
        report = ingest(store, paths, idx)
        assert not report.failed, report.failed
    assert _snapshot(store_dir) == full
    checks = check_store(store_dir, indexes=encoder is not None)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]


def _delays(rng: random.Random, n: int, lo: float, hi: float) -> list[float]:
    """Stratified: one delay in each of n equal slices of [lo, hi], shuffled."""
    out = [lo + (hi - lo) * (i + rng.random()) / n for i in range(n)]
    rng.shuffle(out)
    return out


def test_kill_9_during_ingest_leaves_a_consistent_store(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    all_paths, subset = _letters(tmp_path)
    encoder = Encoder()

    # Reference runs, uninterrupted: what the store must become, and how long each kind takes.
    ref_all = tmp_path / "ref_all"
    t_noindex, rc = _run(_cli(all_paths, ref_all, no_index=True), None)
    assert rc == 0
    ref_sub = tmp_path / "ref_sub"
    t_cold, rc = _run(_cli([subset], ref_sub, no_index=False), None)
    assert rc == 0
    full_all, full_sub = _snapshot(ref_all), _snapshot(ref_sub)
    assert all(c.ok for c in check_store(ref_sub))
    warm_cache = ref_sub / "embedding_cache.sqlite"

    killed = 0
    log = []
    for n, delay in enumerate(_delays(rng, NO_INDEX_ROUNDS, 0.2, t_noindex * 0.98)):
        d = tmp_path / f"noindex{n}"
        took, rc = _run(_cli(all_paths, d, no_index=True), delay)
        killed += rc == -signal.SIGKILL
        log.append(("no-index", round(delay, 2), rc, _assert_after_kill(d, full_all, None)))
        _complete(d, all_paths, full_all, None)
        shutil.rmtree(d)

    cold = _delays(rng, FULL_ROUNDS // 2, 0.3, t_cold * 1.05)
    warm_total = None
    for n in range(FULL_ROUNDS):
        d = tmp_path / f"full{n}"
        d.mkdir()
        is_warm = n % 2 == 1
        if is_warm:
            shutil.copy(warm_cache, d / "embedding_cache.sqlite")
            if warm_total is None:  # how long an uninterrupted warm run takes
                warm_total, rc = _run(_cli([subset], d, no_index=False), None)
                assert rc == 0
                shutil.rmtree(d)
                d.mkdir()
                shutil.copy(warm_cache, d / "embedding_cache.sqlite")
                warm = _delays(rng, FULL_ROUNDS // 2, 0.3, warm_total * 1.05)
            delay = warm.pop()
        else:
            delay = cold.pop()
        took, rc = _run(_cli([subset], d, no_index=False), delay)
        killed += rc == -signal.SIGKILL
        found = _assert_after_kill(d, full_sub, encoder)
        log.append(("warm" if is_warm else "cold", round(delay, 2), rc, found))
        _complete(d, [subset], full_sub, encoder)
        shutil.rmtree(d)

    print(f"\nreference: no-index {t_noindex:.1f}s, cold {t_cold:.1f}s, warm {warm_total:.1f}s")
    print("rounds (kind, kill delay s, rc, found after the kill):")
    for row in log:
        print("  ", row)
    assert killed >= 20, log


@pytest.mark.parametrize("phase", ["commit", "save"])
def test_kill_between_commit_and_index_save_is_repaired(
    tmp_path: Path, phase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic version of the window the random kills aim at, in one process."""
    encoder = Encoder()
    store = Store.open(tmp_path / "store")
    idx = Indexes.open(store, encoder)

    class Crash(BaseException):
        pass

    def boom(*a: object, **k: object) -> None:
        raise Crash

    if phase == "commit":
        monkeypatch.setattr(Indexes, "apply", boom)  # dies right after the SQL commit
    else:
        monkeypatch.setattr(type(idx.lexical), "save", boom)  # dies half-way through a save
    with pytest.raises(Crash):
        ingest(store, [SAMPLE_DIR], idx)
    store.close()
    monkeypatch.undo()
    checks = check_store(tmp_path / "store")
    assert not next(c for c in checks if c.name == "generation").ok
    assert all(c.ok for c in checks if c.name in ("letters", "graph", "indexes"))
    with Store.open(tmp_path / "store") as s2:
        Indexes.open(s2, encoder)
    assert all(c.ok for c in check_store(tmp_path / "store"))
