"""A damaged `store.sqlite` met during a command: one line naming the file and the remedy.

The damage is made the two ways a disk or a careless copy makes it: pages after the schema
zeroed (the store opens, then a read meets the hole; a writer's check at open finds it first),
and the file truncated (SQLite sees it at open). Reads and writes alike answer with the file,
the cause and the remedy, exit 1, and write nothing in the folder.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus_paths import SAMPLE_DIR

from imr_graph.cli import main

PAGE = 4096  # SQLite's default page size, the store's
REMEDY = "restore it from a backup or re-ingest the letters into a new store"


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.stdout, res.stderr


def files(folder: Path) -> dict[str, tuple[int, str]]:
    """Every path under `folder` (and the folder) with its mtime and content digest."""
    out = {".": (folder.stat().st_mtime_ns, "")}
    for p in sorted(folder.rglob("*")):
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        out[str(p.relative_to(folder))] = (p.stat().st_mtime_ns, digest)
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("damaged") / "store"
    code, _, err = run("ingest", str(SAMPLE_DIR), "--store", str(path), "--quiet")
    assert code == 0, err
    return path


def damage(store: Path, tmp_path: Path, how: str) -> Path:
    """A copy of `store` whose store.sqlite is damaged `how`."""
    copy = tmp_path / "s"
    shutil.copytree(store, copy)
    db = copy / "store.sqlite"
    data = bytearray(db.read_bytes())
    assert len(data) > 8 * PAGE
    if how == "zeroed":  # the header and the schema pages kept: the store opens
        data[3 * PAGE :] = bytes(len(data) - 3 * PAGE)
    else:
        del data[len(data) // 2 :]
    db.write_bytes(bytes(data))
    return copy


COMMANDS = [
    ["precedents", "--request", "Norco 10/325 #90"],
    ["search", "topical ketamine"],
    ["stats"],
    ["ingest", str(SAMPLE_DIR), "--quiet"],
]


@pytest.mark.parametrize("how", ["zeroed", "truncated"])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_a_damaged_store_is_one_line_and_nothing_is_written(
    store: Path, tmp_path: Path, how: str, args: list[str]
) -> None:
    copy = damage(store, tmp_path, how)
    before = files(copy)
    code, out, err = run(*args, "--store", str(copy))
    assert code == 1
    assert out == ""
    assert err.strip().splitlines() == [
        f"imr-graph: error: {copy / 'store.sqlite'}: not a readable store database "
        f"(database disk image is malformed); {REMEDY}"
    ]
    assert files(copy) == before


def test_check_names_the_damage_in_one_fail_line(store: Path, tmp_path: Path) -> None:
    copy = damage(store, tmp_path, "zeroed")
    before = files(copy)
    code, out, _ = run("check", "--store", str(copy))
    assert code == 1
    assert out.strip().splitlines() == [
        f"FAIL sqlite             {copy / 'store.sqlite'}: not a readable store database "
        f"(database disk image is malformed); {REMEDY}"
    ]
    assert files(copy) == before
