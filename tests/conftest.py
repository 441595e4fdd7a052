"""Shared fixtures for the letter-parser tests (tests/test_parse_*.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from imr_graph.config import SAMPLE_DIR, shared_dir
from imr_graph.errors import LetterError
from imr_graph.letters.parse import parse_source
from imr_graph.letters.read import Source, read_source
from kg.model import Letter

SEED_LETTERS = sorted(SAMPLE_DIR.glob("*.txt"))


def corpus_dir() -> Path:
    return shared_dir() / "data" / "external" / "dwc-imr-letters-imrcrawler"


@pytest.fixture(scope="session")
def shared() -> Path:
    d = shared_dir()
    if not (d / "gold").is_dir():
        pytest.skip(f"shared data not found at {d} (set IMR_GRAPH_SHARED)")
    return d


@pytest.fixture(scope="session")
def pdf_dir() -> Path:
    d = corpus_dir() / "pdf"
    if not d.is_dir() or not any(d.glob("*.pdf")):
        pytest.skip(f"real letter PDFs not found at {d} (set IMR_GRAPH_SHARED)")
    return d


@dataclass(frozen=True)
class Parsed:
    """One real PDF read once per session: its page texts and its parse (or the error)."""

    path: Path
    source: Source | None
    letter: Letter | None
    error: LetterError | None

    @property
    def text(self) -> str:
        return "\n".join(self.source.pages) if self.source else ""


@pytest.fixture(scope="session")
def corpus(pdf_dir: Path) -> dict[str, Parsed]:
    """Every real PDF, read and parsed once per test session (stem -> Parsed)."""
    out: dict[str, Parsed] = {}
    for p in sorted(pdf_dir.glob("*.pdf")):
        src = None
        try:
            src = read_source(p)
            out[p.stem] = Parsed(p, src, parse_source(src), None)
        except LetterError as e:
            out[p.stem] = Parsed(p, src, None, e)
    return out
