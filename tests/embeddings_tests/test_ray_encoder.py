"""The embedding pass on a local Ray: the same vectors as in process, the same answers after.

`imr-graph reindex --ray` on the sample store: every window's vector equals the in-process
encoder's (cosine >= 0.9999), a later local reindex embeds nothing (the cache holds it all),
and the batch precedents answers equal the reference. That test is skipped without Ray
(`imr-graph[ray]`); without it, --ray says in one line what to install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from corpus_paths import REPO, SAMPLE_DIR

from embeddings import EmbeddingCache
from imr_graph.cli import main
from imr_graph.index.indexes import Indexes, make_encoder
from imr_graph.store.sqlite import Store

DATA = Path(__file__).parents[1] / "data"


def _cli(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **extra_env}
    cmd = [sys.executable, "-m", "imr_graph.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO, env=env)


def _assert_in_process_vectors(store_dir: Path) -> None:
    """The cache holds every window's vector as the in-process encoder makes it, and the
    manifest's model is the in-process one: a local reindex embeds nothing."""
    with Store.open(store_dir, create=False) as store:
        local = make_encoder(None, store)  # the application's (the store's model)
        letters = list(store.letters().values())
        items = [it for x in letters for it in x.items]
        windows = local.split_windows_many([it.rationale or it.request for it in items])
        texts = [w for wins in windows for w in wins]  # (no sample item has 64 windows)
        texts += [it.request for it in items]
        with EmbeddingCache(store_dir / "embedding_cache.sqlite") as cache:
            from_ray = cache.get_many(local.model_name, texts)
        assert all(v is not None for v in from_ray)
        got = np.vstack([v for v in from_ray if v is not None])
        want = local.encode(texts)
        cosine = (got * want).sum(axis=1) / (
            np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1)
        )
        assert cosine.min() >= 0.9999
        idx = Indexes.empty(store, local)
        calls = local.calls
        idx.rebuild()
        assert local.calls == calls


@pytest.mark.slow
def test_reindex_on_local_ray_gives_the_in_process_vectors(tmp_path: Path) -> None:
    pytest.importorskip("ray.data", reason="Ray is the optional extra imr-graph[ray]")
    store_dir = tmp_path / "store"
    ok = _cli("ingest", str(SAMPLE_DIR), "--store", str(store_dir), "--no-index", "--json")
    assert ok.returncode == 0, ok.stderr
    out = _cli("reindex", "--store", str(store_dir), "--json", "--ray")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["items"] > 0

    _assert_in_process_vectors(store_dir)

    answers = _cli(
        "precedents",
        "--queries",
        str(DATA / "precedent_queries.jsonl"),
        "--json",
        "--store",
        str(store_dir),
    )
    assert answers.returncode == 0, answers.stderr
    got_answers = [json.loads(line) for line in answers.stdout.splitlines()]
    want_answers = [json.loads(line) for line in (DATA / "precedents_sample_answers.jsonl").open()]
    assert [a["id"] for a in got_answers] == [a["id"] for a in want_answers]
    for g, w in zip(got_answers, want_answers, strict=True):
        assert [r["item"] for r in g["results"]] == [r["item"] for r in w["results"]], g["id"]


def test_without_ray_the_flag_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_ray(name: str, *args: object, **kwargs: object) -> object:
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_ray)
    r = CliRunner().invoke(main, ["reindex", "--store", "/nonexistent", "--ray"])
    assert r.exit_code == 1
    assert r.stderr.strip() == (
        "imr-graph: error: --ray needs Ray Data, which is not installed: "
        "pip install 'imr-graph[ray]'"
    )


def test_a_failed_ray_pass_leaves_the_indexes_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass Ray could not finish (a worker lost past its retries) is one line and exit 1;
    the saved indexes are the ones from before, and they still check out."""
    pytest.importorskip("ray.data", reason="Ray is the optional extra imr-graph[ray]")
    from embeddings.ray_encoder import RayEncoder

    store_dir = tmp_path / "store"
    runner = CliRunner()
    assert (
        runner.invoke(main, ["ingest", str(SAMPLE_DIR), "--store", str(store_dir)]).exit_code == 0
    )
    state = (store_dir / "index" / "indexes.json").read_text()
    (store_dir / "embedding_cache.sqlite").unlink()  # so that the pass has texts to embed

    def lost(self: RayEncoder, texts: object, batch_size: int = 64, **_: object) -> np.ndarray:
        raise RuntimeError("ActorDiedError: the actor died unexpectedly before finishing this task")

    monkeypatch.setattr(RayEncoder, "encode", lost)
    monkeypatch.setattr(RayEncoder, "shutdown", lambda self: None)
    r = runner.invoke(main, ["reindex", "--store", str(store_dir), "--ray"])
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1 and "ActorDiedError" in r.stderr
    assert (store_dir / "index" / "indexes.json").read_text() == state
    assert runner.invoke(main, ["check", "--store", str(store_dir)]).exit_code == 0


@pytest.mark.slow
def test_a_ray_worker_killed_mid_pass_is_retried_or_reported(tmp_path: Path) -> None:
    """A real worker death: the first encoder actor to get a batch kills its own process
    (os._exit, as a lost node). Ray Data restarts it and retries the batch, and the pass gives
    the in-process vectors; or the pass fails in one line with a non-zero exit. Either way
    `check` passes on the store afterwards (its indexes are not left behind silently)."""
    pytest.importorskip("ray.data", reason="Ray is the optional extra imr-graph[ray]")
    from embeddings.ray_encoder import FAULT_ENV

    store_dir = tmp_path / "store"
    ok = _cli("ingest", str(SAMPLE_DIR), "--store", str(store_dir), "--no-index", "--json")
    assert ok.returncode == 0, ok.stderr
    marker = tmp_path / "killed"
    out = _cli("reindex", "--store", str(store_dir), "--json", "--ray", **{FAULT_ENV: str(marker)})
    assert marker.exists()  # a worker did die mid-pass
    if out.returncode == 0:
        assert json.loads(out.stdout)["items"] > 0
        _assert_in_process_vectors(store_dir)
    else:
        assert out.stderr.count("\n") == 1, out.stderr
    check = _cli("check", "--store", str(store_dir))
    assert check.returncode == 0, check.stdout + check.stderr
    print(f"reindex exit {out.returncode}; check: {check.stdout.strip().splitlines()[-1]}")
