"""`imr-graph export` writes the same bytes from two processes with different hash seeds.

tests/kg_tests/test_rdf.py compares two exports made inside one process, where set and dict orders
repeat by construction; a store exported twice on two machines (or in two CI runs) differs in
PYTHONHASHSEED, which is what reorders sets of strings. Each process here exports every format.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus_paths import REPO, SAMPLE_DIR

from imr_graph.cli import main
from kg import rdf

_EXPORT_ALL = """
import hashlib, json, sys
from click.testing import CliRunner
from imr_graph.cli import main
store, out, formats = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
digests = {}
for fmt in formats:
    path = f"{out}.{fmt}"
    res = CliRunner().invoke(main, ["export", "--format", fmt, "--out", path, "--store", store])
    assert res.exit_code == 0, res.output
    digests[fmt] = hashlib.sha256(open(path, "rb").read()).hexdigest()
print(json.dumps({"digests": digests, "seed_check": hash("imr-graph")}))
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rdfproc") / "store"
    res = CliRunner().invoke(main, ["ingest", str(SAMPLE_DIR), "--store", str(path), "--no-index"])
    assert res.exit_code == 0, res.output
    return path


def _export_all(store: Path, out: Path, seed: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    proc = subprocess.run(
        [sys.executable, "-c", _EXPORT_ALL, str(store), str(out), ",".join(rdf.FORMATS)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_exports_are_byte_identical_across_hash_seeds(store: Path, tmp_path: Path) -> None:
    a = _export_all(store, tmp_path / "a", "1")
    b = _export_all(store, tmp_path / "b", "2")
    assert a["seed_check"] != b["seed_check"]  # the two processes did hash strings differently
    assert set(a["digests"]) == set(rdf.FORMATS)
    for fmt in rdf.FORMATS:
        assert a["digests"][fmt] == b["digests"][fmt], fmt
        data = (tmp_path / f"a.{fmt}").read_bytes()
        assert data == (tmp_path / f"b.{fmt}").read_bytes(), fmt
        assert len(data) > 10_000, fmt  # a real export, not two empty files
    nt = (tmp_path / "a.nt").read_bytes()
    assert hashlib.sha256(nt).hexdigest() == a["digests"]["nt"]
    assert nt.count(b"\n") == 1042  # the sample's triples, as `imr-graph validate` counts them
