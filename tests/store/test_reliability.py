"""Readers beside a writer, two writers, damaged or foreign stores, and `imr-graph check`."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from corpus_paths import REPO, SAMPLE_DIR

import imr_graph.store.ingest as ingest_mod
from embeddings import Encoder
from imr_graph.errors import StoreError
from imr_graph.index.files import STATE_FILE, index_dir, read_state
from imr_graph.index.indexes import Indexes
from imr_graph.letters.parse import parse_file
from imr_graph.query.search import search
from imr_graph.store.check import check_store
from imr_graph.store.ingest import ingest
from imr_graph.store.sqlite import Store, StoreBusyError, lock_holder


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    """A small indexed store (the bundled sample letters), copied by each test that breaks it."""
    d = tmp_path_factory.mktemp("built") / "store"
    with Store.open(d) as store:
        ingest(store, [SAMPLE_DIR], Indexes.open(store, encoder))
    assert all(c.ok for c in check_store(d))
    return d


@pytest.fixture()
def store_dir(built: Path, tmp_path: Path) -> Path:
    d = tmp_path / "store"
    shutil.copytree(built, d)
    return d


def cli(*args: str, timeout_s: str = "2") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IMR_GRAPH_LOCK_TIMEOUT": timeout_s}
    return subprocess.run(
        [sys.executable, "-m", "imr_graph.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line; a writer that waited first said once whom it waited for."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    if lines and lines[0].startswith("imr-graph: waiting for pid "):
        lines = lines[1:]
    assert proc.returncode != 0 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("imr-graph: error: ")
    return lines[0]


def _index_base(d: Path) -> Path:
    return index_dir(d / "index", read_state(d / "index"))


# ---- one writer, many readers -----------------------------------------------------------


def test_second_writer_waits_then_is_refused_with_the_holders_pid(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMR_GRAPH_LOCK_TIMEOUT", "0.5")
    with Store.open(store_dir) as holder, holder.writing():
        t0 = time.monotonic()
        proc = cli("ingest", str(SAMPLE_DIR), "--store", str(store_dir), "--no-index")
        line = _one_error_line(proc)
        assert time.monotonic() - t0 >= 2
        assert f"being written by another process (pid {os.getpid()})" in line
        assert "try again" in line
        with Store.open(store_dir) as other, pytest.raises(StoreBusyError):
            other.put_letters([])  # the library API is refused the same way


def test_second_writer_goes_on_when_the_first_ends(store_dir: Path) -> None:
    holder = Store.open(store_dir)
    lock = holder.writing()
    lock.__enter__()
    threading.Timer(1.0, lambda: lock.__exit__(None, None, None)).start()
    proc = cli("ingest", str(SAMPLE_DIR), "--store", str(store_dir), "--no-index", timeout_s="30")
    assert proc.returncode == 0, proc.stderr
    holder.close()


def test_killed_writer_leaves_no_stale_lock(tmp_path: Path) -> None:
    d = tmp_path / "store"
    code = (
        "import os, sys; from imr_graph.store.sqlite import Store; s = Store.open(sys.argv[1]); "
        "s.writing().__enter__(); os.kill(os.getpid(), 9)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(d)], cwd=REPO)
    assert proc.wait(timeout=60) == -signal.SIGKILL  # it died holding the lock, not before
    assert lock_holder(d) == proc.pid  # ... which it had taken: its pid is in the lock file
    t0 = time.monotonic()
    with Store.open(d) as s, s.writing(timeout=0):  # no wait: the kernel dropped the flock
        assert lock_holder(d) == os.getpid()
        assert s.put_letters([parse_file(sorted(SAMPLE_DIR.glob("*.txt"))[0])])[0]
    assert time.monotonic() - t0 < 5


def test_reader_sees_old_or_new_state_never_a_mix(
    tmp_path: Path, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader inside store.snapshot() sees one commit's SQL state and index files that match
    it exactly (or is told to retry), while a writer commits one letter at a time."""
    monkeypatch.setattr(ingest_mod, "BATCH", 1)
    d = tmp_path / "store"
    with Store.open(d) as s:
        Indexes.open(s, encoder)
    letters = sorted(SAMPLE_DIR.glob("*.txt"))
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with Store.open(d) as w:
                idx = Indexes.open(w, encoder)
                for _ in range(2):
                    ingest(w, letters, idx)
                    for key in sorted(w.letters()):
                        w.remove(key)
                        idx.sync()
                ingest(w, letters, idx)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            done.set()

    seen: dict[int, int] = {}
    retries = 0
    writer = threading.Thread(target=write)
    reader = Store.open(d, create=False)
    writer.start()
    while not done.is_set():
        with reader.snapshot():
            gen = reader.generation
            keys = {r[0] for r in reader.db.execute("SELECT key FROM letters")}
            rows = reader.item_rows()
            time.sleep(0.01)  # the writer may commit here; the snapshot must not move
            assert {r[0] for r in reader.db.execute("SELECT key FROM letters")} == keys
            assert reader.item_rows() == rows
            assert {r[1] for r in rows} <= keys  # no items without their letter
            per_letter = {k: sum(1 for r in rows if r[1] == k) for k in keys}
            assert all(n > 0 for n in per_letter.values())  # no letter without its items
            try:
                idx = Indexes.open(reader, encoder, repair=False)
            except StoreError:
                retries += 1  # indexes of another generation: the caller retries
                continue
            want = {r[0] for r in rows}
            assert idx.generation == gen
            assert {int(i) for i in idx.lexical.ids()} == want
            assert {int(i) for i in idx.requests.ids()} == want
            if want:
                hits = search(reader, "physical therapy", k=5, indexes=idx, mode="lexical")
                assert {h.item_id for h in hits} <= want
            seen[gen] = len(keys)
    writer.join()
    reader.close()
    assert not errors, errors
    assert len(seen) >= 3, (seen, retries)


def test_reader_keeps_its_loaded_indexes_while_a_writer_saves(
    store_dir: Path, encoder: Encoder
) -> None:
    with Store.open(store_dir) as r:
        old = Indexes.open(r, encoder, repair=False)
        before = {int(i) for i in old.lexical.ids()}
        with Store.open(store_dir) as w:
            victim = sorted(w.letters())[0]
            w.remove(victim)
            Indexes.open(w, encoder)  # syncs and saves a new index set, old files removed
        assert {int(i) for i in old.lexical.ids()} == before
        assert old.rationales.search(old.rationales.reconstruct(old.rationales.ids()[0]), 1)
        fresh = Indexes.open(r, encoder, repair=False)
        assert {int(i) for i in fresh.lexical.ids()} < before
    base = _index_base(store_dir)
    assert [p.name for p in (store_dir / "index").iterdir() if p.is_dir()] == [base.name]


# ---- damaged, missing, foreign ------------------------------------------------------------


def _corrupt_vectors(d: Path) -> None:
    (f,) = (_index_base(d) / "rationales").glob("vectors-*.faiss")
    f.write_bytes(f.read_bytes()[:100])


def _corrupt_lexical(d: Path) -> None:
    (_index_base(d) / "lexical" / "manifest.json").write_text('{"format_version": 2, "cou')


def _delete_manifest(d: Path) -> None:
    (_index_base(d) / "requests" / "manifest.json").unlink()


def _delete_state(d: Path) -> None:
    (d / "index" / STATE_FILE).unlink()


def _garbage_state(d: Path) -> None:
    (d / "index" / STATE_FILE).write_text("{not json")


def _delete_index(d: Path) -> None:
    shutil.rmtree(d / "index")


@pytest.mark.parametrize(
    "damage",
    [
        _corrupt_vectors,
        _corrupt_lexical,
        _delete_manifest,
        _delete_state,
        _garbage_state,
        _delete_index,
    ],
)
def test_damaged_indexes_are_detected_then_repaired(
    store_dir: Path, encoder: Encoder, damage
) -> None:  # noqa: ANN001
    damage(store_dir)
    failed = [c for c in check_store(store_dir) if not c.ok]
    assert failed and all("reindex" in c.reason for c in failed), failed
    with Store.open(store_dir) as s:
        with pytest.raises(StoreError, match="run `imr-graph reindex`") as info:
            Indexes.open(s, encoder, repair=False)
        assert "\n" not in str(info.value)
        Indexes.open(s, encoder)  # the writer lock is free: repaired in place
    assert all(c.ok for c in check_store(store_dir))


def test_indexes_behind_the_store_are_detected(store_dir: Path, encoder: Encoder) -> None:
    with Store.open(store_dir) as s:
        s.remove(sorted(s.letters())[0])  # SQL moves on, the indexes are not saved
        with pytest.raises(StoreError, match="behind the store.*reindex"):
            Indexes.open(s, encoder, repair=False)
    checks = check_store(store_dir)
    assert all(c.ok for c in checks)  # behind is not damage: the next open repairs it
    warned = {c.name: c.reason for c in checks if c.warning}
    assert set(warned) == {
        "generation",
        "rationale_vectors",
        "request_vectors",
        "lexical",
        "query_arrays",
    }
    assert re.fullmatch(
        r"lexical: \d+ \(\d+(, \d+)*(, \.\.\.)?\) not in the store; behind the store, "
        r"repaired on the next open \(or run `imr-graph reindex`\)",
        warned["lexical"],
    )


def test_search_cli_repairs_when_the_lock_is_free_else_says_so(store_dir: Path) -> None:
    _corrupt_lexical(store_dir)
    with Store.open(store_dir) as holder, holder.writing():
        line = _one_error_line(cli("search", "knee", "--store", str(store_dir), "--json"))
        assert f"pid {os.getpid()}" in line and "try again" in line
    proc = cli("search", "therapy", "--store", str(store_dir), "--json", "--mode", "lexical")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)
    assert all(c.ok for c in check_store(store_dir))


def test_newer_index_format_says_upgrade(store_dir: Path, encoder: Encoder) -> None:
    state_file = store_dir / "index" / STATE_FILE
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "format": 99}))
    with Store.open(store_dir) as s, pytest.raises(StoreError, match="upgrade imr-graph"):
        Indexes.open(s, encoder)  # never "repaired" over a newer version's files
    assert not next(c for c in check_store(store_dir) if c.name == "indexes").ok


@pytest.mark.parametrize("version,word", [("2", "upgrade imr-graph"), ("0", "re-ingest")])
def test_store_of_another_schema_version(store_dir: Path, version: str, word: str) -> None:
    with sqlite3.connect(store_dir / "store.sqlite") as db:
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (version,))
    with pytest.raises(StoreError, match=word):
        Store.open(store_dir)
    line = _one_error_line(cli("stats", "--store", str(store_dir)))
    assert word in line
    proc = cli("check", "--store", str(store_dir))
    assert proc.returncode == 1 and "FAIL open" in proc.stdout and word in proc.stdout


def test_garbage_database_is_one_line(tmp_path: Path) -> None:
    d = tmp_path / "store"
    d.mkdir()
    (d / "store.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a readable store database"):
        Store.open(d)
    assert "not a readable store database" in _one_error_line(cli("stats", "--store", str(d)))


def test_another_embedding_model_is_refused(store_dir: Path, encoder: Encoder) -> None:
    with Store.open(store_dir) as s, s.transaction():
        s._set_meta("model", "someone/other-model")
    bad = {c.name: c.reason for c in check_store(store_dir) if not c.ok}
    assert set(bad) == {"model"} and "reindex" in bad["model"]
    line = _one_error_line(cli("search", "knee", "--store", str(store_dir)))
    assert "embedded with someone/other-model" in line and "reindex" in line


# ---- imr-graph check ----------------------------------------------------------------------


def test_check_cli_ok_and_json(store_dir: Path) -> None:
    proc = cli("check", "--store", str(store_dir), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] and {c["name"] for c in out["checks"]} >= {
        "schema",
        "letters",
        "item_ids",
        "graph",
        "generation",
        "rationale_vectors",
        "request_vectors",
        "lexical",
        "model",
    }
    text = cli("check", "--store", str(store_dir))
    assert text.returncode == 0 and all(ln.startswith("OK") for ln in text.stdout.splitlines())


@pytest.mark.parametrize(
    "sql,name",
    [
        ("DELETE FROM items WHERE rowid = (SELECT min(rowid) FROM items)", "letters"),
        ("UPDATE items SET id = id + 1 WHERE rowid = (SELECT min(rowid) FROM items)", "item_ids"),
        ("UPDATE letters SET json = '{' WHERE rowid = (SELECT min(rowid) FROM letters)", "letters"),
    ],
)
def test_check_finds_sql_damage(store_dir: Path, sql: str, name: str) -> None:
    with sqlite3.connect(store_dir / "store.sqlite") as db:
        db.execute(sql)
    proc = cli("check", "--store", str(store_dir), "--no-index")
    assert proc.returncode == 1
    assert any(ln.startswith("FAIL") and name in ln for ln in proc.stdout.splitlines())


def test_check_of_a_store_ingested_without_indexes(tmp_path: Path) -> None:
    d = tmp_path / "store"
    with Store.open(d) as s:
        s.put_letters([parse_file(p) for p in sorted(SAMPLE_DIR.glob("*.txt"))[:2]])
    checks = {c.name: c for c in check_store(d)}
    assert all(c.ok for c in checks.values())
    assert "no search indexes" in checks["indexes"].reason
