"""`precedents --json` is the batch mode's contract: the same queries give the same answers.

The reference file was written by `imr-graph precedents --queries tests/data/precedent_queries.jsonl
--json` on a store of the bundled sample. A change that means to alter the answers (a ranking
change) rewrites it with IMR_GRAPH_WRITE_ANSWERS=1 and says so in its commit; a refactor must
leave it untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_paths import REPO, SAMPLE_DIR

DATA = Path(__file__).parents[1] / "data"
QUERIES = DATA / "precedent_queries.jsonl"
ANSWERS = DATA / "precedents_sample_answers.jsonl"


def _rounded(obj: object) -> object:
    """Scores to 4 decimals (float sums may differ in the last bits across CPUs); a source file
    by its name (the checkout's folder differs from machine to machine)."""
    if isinstance(obj, float):
        return round(obj, 4)
    if isinstance(obj, dict):
        return {
            k: Path(v).name if k == "source" and isinstance(v, str) else _rounded(v)
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "imr_graph.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO, env=env)


def test_batch_answers_equal_the_reference(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    sample = str(SAMPLE_DIR.relative_to(REPO))  # sources recorded relative to the checkout
    assert _cli("ingest", sample, "--store", store, "--json").returncode == 0
    out = _cli("precedents", "--queries", str(QUERIES), "--json", "--store", store)
    assert out.returncode == 0, out.stderr
    got = [json.loads(line) for line in out.stdout.splitlines()]
    if os.environ.get("IMR_GRAPH_WRITE_ANSWERS") == "1":
        ANSWERS.write_text(out.stdout, encoding="utf-8")
        pytest.skip("reference answers rewritten")
    want = [json.loads(line) for line in ANSWERS.read_text(encoding="utf-8").splitlines()]
    assert len(got) == len(want) == sum(1 for _ in QUERIES.open())
    for g, w in zip(got, want, strict=True):
        assert g["id"] == w["id"]
        assert _rounded(g) == _rounded(w), f"answer to {g['id']} changed"
