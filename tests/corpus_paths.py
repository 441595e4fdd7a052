"""Where the letters are: the bundled sample always, ../shared when present (else skip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imr_graph.config import SAMPLE_DIR, shared_dir

__all__ = ["REPO", "SAMPLE_DIR", "all_letter_paths", "shared_dir"]

REPO = Path(__file__).resolve().parents[1]


def all_letter_paths() -> list[Path]:
    """The 145 letters of ../shared (140 PDFs + 5 text letters); skip the test without them."""
    shared = shared_dir()
    pdfs = sorted((shared / "data/external/dwc-imr-letters-imrcrawler/pdf").glob("*.pdf"))
    texts = sorted((shared / "letters").glob("*.txt"))
    if not pdfs:
        pytest.skip(f"real letters not found under {shared} (set IMR_GRAPH_SHARED)")
    return pdfs + texts
