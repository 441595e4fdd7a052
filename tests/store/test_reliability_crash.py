"""kill -9 at every commit and save boundary of ingest, remove and reindex; nothing is lost.

Each case runs one real `imr-graph` command in its own process with $IMR_GRAPH_CRASH_AT naming a
crash point (imr_graph/store/faults.py), so the kill lands at that state on any machine, fast or
busy, with the bundled sample letters alone. After the kill:

- the child died by SIGKILL (the point was reached: no kill that misses passes unnoticed);
- the store opens and `check` passes, or finds exactly the indexes behind the store (which the
  next open repairs), and the index files it points at load;
- the SQL store holds the state before the command or after it, never a part of it;
- rerunning the command, then opening the indexes as any query does, converges to the state of
  an uninterrupted run: same letters, item ids, generation, index contents and search answers.

A randomized soak (kill points and pass numbers drawn at random, real letters when ../shared is
there) is marked `slow` and runs only with `pytest -m slow`.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import crash_child
import numpy as np
import pytest
from click.testing import CliRunner
from corpus_paths import REPO, SAMPLE_DIR

from embeddings import Encoder
from imr_graph.cli import main
from imr_graph.config import shared_letter_paths
from imr_graph.errors import StoreError
from imr_graph.index.files import load_files
from imr_graph.index.indexes import Indexes, make_encoder
from imr_graph.query.search import search
from imr_graph.store.check import check_store
from imr_graph.store.faults import CRASH_ENV, POINTS, crash_point
from imr_graph.store.sqlite import Store

KILLED = -signal.SIGKILL
FIRST = "000_a6fb61ff4979abe4"
BEHIND = {"generation", "rationale_vectors", "request_vectors", "lexical", "query_arrays"}
SAVE = ("save.rationales", "save.requests", "save.lexical", "save.arrays")
SWAP = ("save.swapped", "save.pruned")
QUERIES = ("opioid weaning for chronic low back pain", "physical therapy visits after surgery")


@dataclass(frozen=True)
class Case:
    """One kill: the command, where it dies, and what the store must show right after."""

    command: str  # ingest | remove | reindex
    crash_at: str  # NAME or NAME#N
    sql: str  # "before" | "after": the SQL state the kill must leave
    indexes: str  # "in step" | "behind"

    @property
    def id(self) -> str:
        return f"{self.command}@{self.crash_at}"


# A fresh ingest saves an empty index set when it first opens the indexes (save #1), so the
# ingest's own save is pass #2 of each save point.
CASES = [
    Case("ingest", "ingest.embedded", "before", "in step"),
    Case("ingest", "put.uncommitted", "before", "in step"),
    Case("ingest", "put.committed", "after", "behind"),
    Case("ingest", "ingest.applied", "after", "behind"),
    *(Case("ingest", f"{p}#2", "after", "behind") for p in SAVE),
    *(Case("ingest", f"{p}#2", "after", "in step") for p in SWAP),
    Case("remove", "remove.uncommitted", "before", "in step"),
    Case("remove", "remove.committed", "after", "behind"),
    *(Case("remove", p, "after", "behind") for p in SAVE),
    *(Case("remove", p, "after", "in step") for p in SWAP),
    Case("reindex", "reindex.embedded", "before", "in step"),
    *(Case("reindex", p, "before", "in step") for p in (*SAVE, *SWAP)),
]


def _argv(command: str, store: Path) -> list[str]:
    if command == "ingest":
        return ["ingest", str(SAMPLE_DIR), "--store", str(store), "--json"]
    if command == "remove":
        return ["remove", FIRST, "--store", str(store), "--json"]
    return ["reindex", "--store", str(store), "--json"]


def _sql_state(store_dir: Path) -> dict:
    """What the SQL store holds: generation, and per letter its content hash and item ids."""
    with Store.open(store_dir, create=False) as s:
        items: dict[str, list[int]] = {}
        for iid, key, *_ in s.item_rows():
            items.setdefault(key, []).append(iid)
        letters = {k: (x.sha256, tuple(sorted(items.get(k, [])))) for k, x in s.letters().items()}
        return {"generation": s.generation, "letters": letters}


def _index_state(store_dir: Path, encoder: Encoder) -> dict:
    """What the search indexes hold and answer, as a reader that opens them sees it."""
    with Store.open(store_dir, create=False) as s:
        idx = Indexes.open(s, encoder)  # repairs when behind, as every query does
        answers = {
            (q, mode): [(h.item_id, round(h.score, 4)) for h in search(s, q, 5, mode, idx)]
            for q in QUERIES
            for mode in ("dense", "lexical")
        }
        return {
            "generation": idx.generation,
            "rationale_windows": sorted(int(i) for i in idx.rationales.ids()),
            "requests": sorted(int(i) for i in idx.requests.ids()),
            "lexical": sorted(int(i) for i in idx.lexical.ids()),
            "arrays": np.asarray(idx.arrays.item_ids).tolist(),
            "answers": answers,
            "model": s.meta("model"),
        }


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return make_encoder()  # the application's default, as the CLI child uses


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> dict[str, Path]:
    """Stores each command starts from and ends at, made by uninterrupted child processes."""
    root = tmp_path_factory.mktemp("crash")
    out: dict[str, Path] = {}
    full = root / "full"
    assert crash_child.run(_argv("ingest", full), root / "ingest.log") == 0
    out["ingest:before"] = root / "empty"
    out["ingest:after"] = full
    for command in ("remove", "reindex"):
        d = root / command
        shutil.copytree(full, d)
        assert crash_child.run(_argv(command, d), root / f"{command}.log") == 0
        out[f"{command}:before"] = full
        out[f"{command}:after"] = d
    for d in (full, out["remove:after"], out["reindex:after"]):
        assert all(c.ok and not c.warning for c in check_store(d)), check_store(d)
    with Store.open(full, create=False) as s:
        assert s.counts() == {"letters": 5, "items": 16, "upheld": 14, "overturned": 2}
    return out


def _start(case: Case, states: dict[str, Path], where: Path) -> Path:
    d = where / "store"
    if case.command != "ingest":
        shutil.copytree(states[f"{case.command}:before"], d)
    elif case.crash_at != "ingest.embedded":
        # a warm embedding cache saves the model's time; the kill after embedding starts cold
        d.mkdir()
        shutil.copy(states["ingest:after"] / "embedding_cache.sqlite", d)
    return d


def _assert_right_after_kill(d: Path, case: Case, states: dict[str, Path]) -> None:
    assert (d / "store.sqlite").exists()
    with Store.open(d, create=False):
        pass  # the store opens
    want = states[f"{case.command}:{case.sql}"]
    if case.command == "ingest" and case.sql == "before":
        assert _sql_state(d)["letters"] == {}
    else:
        assert _sql_state(d) == _sql_state(want)  # whole commits only
    checks = check_store(d)
    failed = {c.name for c in checks if not c.ok}
    assert not failed, [c for c in checks if not c.ok]  # a kill never leaves damage
    warned = {c.name for c in checks if c.warning}
    assert next(c for c in checks if c.name == "indexes").ok  # the files it points at load
    if case.indexes == "in step":
        assert not warned, [c for c in checks if c.warning]
    else:
        # behind the store is a warning (repaired on the next open), not damage
        assert warned == BEHIND, [c for c in checks if c.warning]
        gen = next(c for c in checks if c.name == "generation")
        assert re.search(r"indexes reflect generation \d+, store is at \d+", gen.reason)
        with Store.open(d, create=False) as s:
            with pytest.raises(StoreError, match="behind the store"):
                Indexes.open(s, repair=False)  # a reader that may not repair is told so
            load_files(s)  # the set indexes.json names is whole


def _rerun(case: Case, d: Path) -> None:
    """The user runs the same command again (in this process: the model is loaded once)."""
    res = CliRunner().invoke(main, _argv(case.command, d))
    if case.command == "remove" and case.sql == "after":
        # the letter is already gone: one line that says so, not a traceback
        assert res.exit_code == 1
        assert res.output.strip().splitlines() == [f"imr-graph: error: no letter '{FIRST}' in {d}"]
    else:
        assert res.exit_code == 0, res.output


_REF_INDEX: dict[Path, dict] = {}


def _assert_converged(d: Path, case: Case, states: dict[str, Path], encoder: Encoder) -> None:
    ref = states[f"{case.command}:after"]
    assert _sql_state(d) == _sql_state(ref)
    if ref not in _REF_INDEX:
        _REF_INDEX[ref] = _index_state(ref, encoder)
    assert _index_state(d, encoder) == _REF_INDEX[ref]
    assert all(c.ok and not c.warning for c in check_store(d)), check_store(d)
    folders = [p.name for p in (d / "index").iterdir() if p.is_dir()]
    assert len(folders) == 1, folders  # a crashed save's half-written or old folder is gone


def test_every_crash_point_is_called_and_tested() -> None:
    called = set()
    for f in (REPO / "imr_graph").rglob("*.py"):
        called |= set(re.findall(r'crash_point\("([^"]+)"\)', f.read_text()))
    assert called == set(POINTS)
    tested = {c.crash_at.split("#")[0] for c in CASES}
    assert tested == set(POINTS)
    assert {c.command for c in CASES} == {"ingest", "remove", "reindex"}


def test_a_bad_crash_point_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CRASH_ENV, raising=False)
    crash_point("put.committed")  # unset: nothing happens
    monkeypatch.setenv(CRASH_ENV, "put.comitted")
    with pytest.raises(StoreError, match=r"names no crash point.*or unset it") as info:
        crash_point("put.committed")
    assert "\n" not in str(info.value)
    monkeypatch.setenv(CRASH_ENV, "put.committed#0")
    with pytest.raises(StoreError, match="names no crash point"):
        crash_point("put.committed")
    monkeypatch.setenv(CRASH_ENV, "put.committed#99")
    crash_point("put.committed")  # another pass: nothing happens


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_kill_at_crash_point(
    case: Case, states: dict[str, Path], encoder: Encoder, tmp_path: Path
) -> None:
    d = _start(case, states, tmp_path)
    rc = crash_child.run(_argv(case.command, d), tmp_path / "child.log", crash_at=case.crash_at)
    assert rc == KILLED, (rc, (tmp_path / "child.log").read_text()[-2000:])
    _assert_right_after_kill(d, case, states)
    _rerun(case, d)
    _assert_converged(d, case, states, encoder)


def test_a_save_killed_after_its_swap_leaves_no_old_folder_after_a_rerun(
    states: dict[str, Path], tmp_path: Path
) -> None:
    """Killed between the index pointer swap and the pruning, the previous index folder is
    removed by the next command that opens the indexes (a rerun finds everything in step and
    saves nothing, so the pruning is Indexes.open's)."""
    case = Case("remove", "save.swapped", "after", "in step")
    d = _start(case, states, tmp_path)
    assert crash_child.run(_argv("remove", d), tmp_path / "log", crash_at=case.crash_at) == KILLED
    assert len([p for p in (d / "index").iterdir() if p.is_dir()]) == 2  # the old one is left
    _rerun(case, d)
    with Store.open(d, create=False) as s:
        Indexes.open(s)
    folders = [p.name for p in (d / "index").iterdir() if p.is_dir()]
    assert len(folders) == 1, folders


def test_kill_through_the_real_entry_point(
    states: dict[str, Path], encoder: Encoder, tmp_path: Path
) -> None:
    """`python -m imr_graph.cli` itself, killed after its commit, exits by SIGKILL."""
    case = Case("ingest", "put.committed", "after", "behind")
    d = tmp_path / "store"
    env = {**os.environ, CRASH_ENV: case.crash_at, "IMR_GRAPH_LOCK_TIMEOUT": "5"}
    proc = subprocess.run(
        [sys.executable, "-m", "imr_graph.cli", *_argv("ingest", d)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == KILLED, proc.stderr[-2000:]
    assert proc.stdout == ""  # killed before it could report
    _assert_right_after_kill(d, case, states)
    _rerun(case, d)
    _assert_converged(d, case, states, encoder)


# ---- randomized soak (slow) -------------------------------------------------------------

SOAK_ROUNDS = int(os.environ.get("IMR_GRAPH_SOAK_ROUNDS", "12"))
SOAK_SEED = int(os.environ.get("IMR_GRAPH_CRASH_SEED", "20240611"))


@pytest.mark.slow
def test_randomized_kill_soak(tmp_path: Path, encoder: Encoder) -> None:
    """Random commands, crash points and pass numbers on the real letters (else the sample)."""
    rng = random.Random(SOAK_SEED)
    letters = shared_letter_paths() or sorted(SAMPLE_DIR.glob("*.txt"))
    src = tmp_path / "letters"
    src.mkdir()
    for p in letters:
        shutil.copy(p, src / p.name)
    ref = tmp_path / "ref"
    assert crash_child.run(["ingest", str(src), "--store", str(ref), "--json"], tmp_path / "r") == 0
    ref_sql = _sql_state(ref)
    keys = sorted(ref_sql["letters"])
    log = []
    for n in range(SOAK_ROUNDS):
        d = tmp_path / f"round{n}"
        command = rng.choice(["ingest", "ingest", "remove", "reindex"])
        if command == "ingest":
            d.mkdir()  # a warm embedding cache, so that the rounds go by quickly
            shutil.copy(ref / "embedding_cache.sqlite", d / "embedding_cache.sqlite")
            argv = ["ingest", str(src), "--store", str(d), "--json"]
        else:
            shutil.copytree(ref, d)
            victim = rng.choice(keys)
            argv = (
                ["remove", victim, "--store", str(d)]
                if command == "remove"
                else ["reindex", "--store", str(d)]
            )
        at = f"{rng.choice(POINTS)}#{rng.randint(1, 3)}"
        rc = crash_child.run(argv, tmp_path / f"round{n}.log", crash_at=at)
        assert rc in (0, KILLED), (command, at, rc)
        log.append((command, at, "killed" if rc == KILLED else "completed"))
        sql_checks = check_store(d, indexes=False)
        assert all(c.ok for c in sql_checks), (command, at, sql_checks)
        got = _sql_state(d)["letters"]
        assert all(got[k] == ref_sql["letters"][k] for k in got), (command, at)  # whole letters
        res = CliRunner().invoke(main, argv)  # the rerun
        assert res.exit_code in (0, 1), res.output
        with Store.open(d, create=False) as s:
            Indexes.open(s, encoder)
        assert all(c.ok for c in check_store(d)), (command, at, check_store(d))
        want = dict(ref_sql["letters"])
        if command == "remove":
            want.pop(argv[1])
        assert _sql_state(d)["letters"] == want, (command, at)
        shutil.rmtree(d)
    print("\n".join(map(str, log)))
    assert any(row[2] == "killed" for row in log), log
