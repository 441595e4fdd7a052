"""The store a notebook explores: built once from the letters at hand, reused on re-runs."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from imr_graph.config import (
    NOTEBOOK_SAMPLE_ENV,
    SAMPLE_DIR,
    STORE_ENV,
    shared_dir,
    shared_pdf_dir,
)
from imr_graph.store.sqlite import Store


def build_store(
    path: str | Path, paths: Iterable[str | Path], refresh: bool = False, progress: bool = False
) -> Store:
    """Open (creating) the store at `path` and ingest `paths` into it, search indexes included.

    A store that already holds letters is reused as is unless `refresh`, so a notebook re-run
    does not re-read every PDF; letters that fail to parse are skipped (see `imr-graph ingest`).
    """
    from imr_graph.index.indexes import Indexes
    from imr_graph.store.ingest import ingest

    store = Store.open(path, create=True)
    if refresh or not store.letters():
        ingest(store, paths, Indexes.open(store), progress=progress)
    return store


def notebook_store() -> tuple[Store, list[Path]]:
    """The store the notebooks explore, and the letters it was filled from.

    $IMR_GRAPH_STORE, else a folder in the user cache; filled from the 145 letters of ../shared
    (or $IMR_GRAPH_SHARED) when present, else from the bundled sample;
    IMR_GRAPH_NOTEBOOK_SAMPLE=1 forces the sample (the tests do).
    """
    from platformdirs import user_cache_dir

    pdfs = shared_pdf_dir()
    full = os.environ.get(NOTEBOOK_SAMPLE_ENV) != "1" and any(pdfs.glob("*.pdf"))
    paths = [pdfs, shared_dir() / "letters", SAMPLE_DIR] if full else [SAMPLE_DIR]
    default = Path(user_cache_dir("imr-graph")) / f"notebook-store-{'full' if full else 'sample'}"
    return build_store(os.environ.get(STORE_ENV) or default, paths), paths
