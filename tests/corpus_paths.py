"""Where the letters are: the bundled sample always, ../shared when present (else skip)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "imr_graph" / "sample"


def shared_dir() -> Path:
    env = os.environ.get("IMR_GRAPH_SHARED")
    return Path(env) if env else REPO.parent / "shared"


def all_letter_paths() -> list[Path]:
    """The 145 letters of ../shared (140 PDFs + 5 text letters); skip the test without them."""
    shared = shared_dir()
    pdfs = sorted((shared / "data/external/dwc-imr-letters-imrcrawler/pdf").glob("*.pdf"))
    texts = sorted((shared / "letters").glob("*.txt"))
    if not pdfs:
        pytest.skip(f"real letters not found under {shared} (set IMR_GRAPH_SHARED)")
    return pdfs + texts
