"""Where things are: the package's data folders and the public corpus beside the checkout.

The one place that knows `../shared` and `$IMR_GRAPH_SHARED`; tests, notebooks and benchmarks
ask here.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SAMPLE_DIR = PACKAGE_DIR / "sample"
QUERY_DIR = PACKAGE_DIR / "queries"
SHARED_ENV = "IMR_GRAPH_SHARED"


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
