"""Fixtures for the web tests: a store of the bundled sample and the app over it, built once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus_paths import SAMPLE_DIR
from starlette.testclient import TestClient

from imr_graph.index.indexes import Indexes
from imr_graph.store.ingest import ingest
from imr_graph.store.sqlite import Store

SAMPLE_LETTERS = sorted(SAMPLE_DIR.glob("*.txt"))


def build_sample_store(folder: Path) -> Path:
    """The five bundled letters ingested with their indexes; the store is closed afterwards."""
    with Store.open(folder) as store:
        report = ingest(store, [SAMPLE_DIR], Indexes.open(store))
    assert not report.failed
    return folder


@pytest.fixture(scope="session", name="sample_store")
def sample_store_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_store(tmp_path_factory.mktemp("web") / "store")


@pytest.fixture(scope="session", name="client")
def client_fixture(sample_store: Path) -> Iterator[TestClient]:
    from imr_graph.web.app import create_app

    app = create_app(sample_store, allowed_hosts=["testserver", "127.0.0.1", "localhost"])
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
