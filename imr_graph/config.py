"""Where things are and what they are called: every `IMR_GRAPH_*` variable and default folder.

The one place that knows `../shared`, the user data and cache folders, and the names of the
environment variables; the store, the encoder factory, tests, notebooks and benchmarks ask here.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "imr-graph"
"""The distribution name: user data/cache folder names and `pip install 'imr-graph[extra]'`."""

PACKAGE_DIR = Path(__file__).resolve().parent
SAMPLE_DIR = PACKAGE_DIR / "sample"
QUERY_DIR = PACKAGE_DIR / "queries"

DEFAULT_MODEL = "all-MiniLM-L6-v2@onnx-int8"
"""The embedding model of a new store: MiniLM run by ONNX Runtime with int8 weights (no torch
on the query path; `imr-graph eval` as good as fp32, see docs/benchmarks.md). A store keeps
the model it was embedded with unless --model or $IMR_GRAPH_MODEL says otherwise."""

STORE_ENV = "IMR_GRAPH_STORE"
"""The store folder when --store is not given."""
MODEL_ENV = "IMR_GRAPH_MODEL"
"""The embedding model when --model is not given (a name, a folder, or `name@onnx-int8`)."""
BACKEND_CACHE_ENV = "IMR_GRAPH_BACKEND_CACHE"
"""Where ONNX conversions of the model are kept (default: the user cache folder)."""
LOCK_TIMEOUT_ENV = "IMR_GRAPH_LOCK_TIMEOUT"
"""Seconds a second writer waits for the store's writer lock."""
SHARED_ENV = "IMR_GRAPH_SHARED"
"""The public corpus folder (tests, notebooks, benchmarks)."""
NOTEBOOK_SAMPLE_ENV = "IMR_GRAPH_NOTEBOOK_SAMPLE"
"""`1`: the notebooks build their store from the bundled sample, not the shared corpus."""
ENDPOINT_TOKEN_ENV = "IMR_GRAPH_ENDPOINT_TOKEN"
"""A bearer token for the SPARQL server of `publish` / `sparql --endpoint`."""
ENDPOINT_USER_ENV = "IMR_GRAPH_ENDPOINT_USER"
"""Basic-auth user for the SPARQL server (when no token is set)."""
ENDPOINT_PASSWORD_ENV = "IMR_GRAPH_ENDPOINT_PASSWORD"
"""Basic-auth password for the SPARQL server."""


def default_store_dir() -> Path:
    """--store default: $IMR_GRAPH_STORE, else `store` in the user's data dir."""
    env = os.environ.get(STORE_ENV)
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "store"


def backend_cache_dir() -> Path:
    """Converted (ONNX) models: $IMR_GRAPH_BACKEND_CACHE, else `backends` in the user cache."""
    env = os.environ.get(BACKEND_CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME)) / "backends"


def shared_dir() -> Path:
    """The read-only corpus folder: $IMR_GRAPH_SHARED, else `shared/` beside the checkout."""
    env = os.environ.get(SHARED_ENV)
    return Path(env) if env else PACKAGE_DIR.parent.parent / "shared"


def shared_pdf_dir() -> Path:
    """The 140 public 2016-2017 letters (AES-encrypted PDFs) inside the shared folder."""
    return shared_dir() / "data" / "external" / "dwc-imr-letters-imrcrawler" / "pdf"


def shared_letter_paths() -> list[Path]:
    """The public letters of the shared folder (PDFs, then text letters); empty without it."""
    shared = shared_dir()
    return sorted(shared_pdf_dir().glob("*.pdf")) + sorted((shared / "letters").glob("*.txt"))
