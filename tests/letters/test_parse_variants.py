"""The same letter in other clothes parses to the same items.

Each variant of a letter (typeset into a new PDF, extracted by another PDF library, CRLF line
endings, re-wrapped lines, page furniture) must give the same items as the original parse:
request, decision, partial-certification fields, citations, and the rationale text with
whitespace folded.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from imr_graph.letters.parse import parse_file, parse_source
from imr_graph.letters.read import Source, read_source
from kg.model import Letter

REPO = Path(__file__).resolve().parents[2]
SEEDS = sorted((REPO / "imr_graph" / "sample").glob("*.txt"))
# real letters with partly certified items, OTHER/ACOEM/ODG citations, many items, hyphens
REAL = [
    "CM16-0232543",
    "CM16-0243453",
    "CM17-0007300",
    "CM17-0009441",
    "CM17-0009995",
    "CM17-0010362",
    "CM17-0013240",
    "CM17-0014449",
]
TITLE = "Independent Medical Review - Final Determination"
_LATIN1 = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2022": "*",
        "\u2026": "...",
        "\ufffe": "-",
        "\x02": "-",
    }
)


# ---- reading the originals -------------------------------------------------------------------


def latin1(text: str) -> str:
    return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def fold(text: str | None) -> str | None:
    return None if text is None else " ".join(latin1(text).split())


def items_of(letter: Letter) -> list[dict]:
    """What a variant must reproduce: the items, compared with whitespace folded."""
    out = []
    for it in letter.items:
        cites = {}
        for side, cs in (
            ("ca", it.claims_administrator_citations),
            ("mx", it.maximus_citations),
        ):
            cites[side] = [
                (c.guideline, fold(c.document), c.year, [fold(s) for s in c.sections], c.pages)
                for c in cs
            ]
        out.append(
            {
                "request": fold(it.request),
                "decision": it.decision,
                "original_request": fold(it.original_request),
                "authorized_portion": fold(it.authorized_portion),
                "citations": cites,
                "rationale": fold(it.rationale),
            }
        )
    return out


def letter_fields(letter: Letter) -> dict:
    return {
        "case_number": letter.case_number,
        "priority": letter.priority,
        "dates": letter.dates,
        "licensure": letter.reviewer.licensure,
        "specialties": [fold(s) for s in letter.reviewer.specialties],
        "patient": letter.patient,
    }


def assert_same(variant: Letter, original: Letter, what: str) -> None:
    got, want = items_of(variant), items_of(original)
    assert len(got) == len(want), (
        f"{what}: {len(got)} items, original {len(want)}: "
        f"{[g['request'] for g in got]} != {[w['request'] for w in want]}"
    )
    for n, (g, w) in enumerate(zip(got, want, strict=True)):
        for key in w:
            assert g[key] == w[key], (
                f"{what}: item {n} {key}:\n  got  {g[key]!r}\n  want {w[key]!r}"
            )
    assert letter_fields(variant) == letter_fields(original), what


class Original:
    """A letter as first read: its parse and its text, page by page."""

    def __init__(self, letter: Letter, pages: tuple[str, ...], case: str) -> None:
        self.letter = letter
        self.pages = pages
        self.case = case

    @property
    def text(self) -> str:
        return "\f".join(self.pages)


_cache: dict[str, Original] = {}


def original(key: str, pdf_dir: Path | None = None) -> Original:
    if key not in _cache:
        if pdf_dir is None:
            path = REPO / "imr_graph" / "sample" / f"{key}.txt"
            text = path.read_text(encoding="utf-8")
            _cache[key] = Original(parse_file(path), (text,), "CM14-0012345")
        else:
            src = read_source(pdf_dir / f"{key}.pdf")
            # the original text with PDFium's CRLFs made plain newlines
            pages = tuple(p.replace("\r\n", "\n") for p in src.pages)
            _cache[key] = Original(parse_source(src), pages, key)
    return _cache[key]


def parse_text(text: str, name: str = "variant.txt") -> Letter:
    return parse_source(Source(name, tuple(text.split("\f")), "", "text"))


# ---- paragraphs --------------------------------------------------------------------------------


def join_wrapped(lines: list[str]) -> str:
    """Join a paragraph's lines the way a reader would: a line-end hyphen stays, no space."""
    text = ""
    for ln in (x.strip() for x in lines):
        if not ln:
            continue
        if text.endswith("-") and not text.endswith(" -") and ln[:1].isalnum():
            text += ln
        else:
            text = f"{text} {ln}" if text else ln
    return text


def seed_paragraphs(text: str) -> list[str]:
    """The doubled seed format: a line, an empty line; a paragraph break is a longer blank run."""
    paras: list[list[str]] = [[]]
    blank = 0
    for ln in text.split("\n"):
        if ln.strip():
            if blank >= 2 and paras[-1]:
                paras.append([])
            paras[-1].append(ln)
            blank = 0
        else:
            blank += 1
    return [join_wrapped(p) for p in paras if p]


def wrap(paragraph: str, width: int) -> list[str]:
    """Wrap at spaces only; 'GUIDANCE- LUMBAR' is not broken after its hyphen (ambiguous)."""
    protected = re.sub(r"(?<=\w)- ", "-\u00a0", paragraph)
    lines = textwrap.wrap(protected, width, break_on_hyphens=False, break_long_words=False) or [""]
    return [ln.replace("\u00a0", " ") for ln in lines]


# ---- variants ----------------------------------------------------------------------------------


def typeset(paragraphs: list[str], path: Path, gap: float) -> Path:
    """A typeset PDF: core font, running title header and 'Page N of M' footer on every page."""
    from fpdf import FPDF

    class Doc(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", "B", 9)
            self.cell(0, 6, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(2)

        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("Helvetica", "", 8)
            self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = Doc(format="letter")
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    for para in paragraphs:
        # a space after a hyphen must not become a line break (see wrap())
        text = re.sub(r"(?<=\w)- ", "-\u00a0", latin1(para))
        pdf.multi_cell(0, 4.5, text, new_x="LMARGIN", new_y="NEXT")
        if gap:
            pdf.ln(gap)
    pdf.output(str(path))
    return path


def crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def rewrap_paragraphs(text: str, width: int | None) -> str:
    """Seed letters: each paragraph re-wrapped at `width`, or on one line (None)."""
    out = []
    for para in seed_paragraphs(text):
        out.extend([para] if width is None else wrap(para, width))
    return "\n".join(out) + "\n"


def rewrap_lines(text: str, width: int) -> str:
    """Real letters (no paragraph marks in the text): every long line wrapped at `width`."""
    pages = []
    for page in text.split("\f"):
        out = []
        for ln in page.split("\n"):
            out.extend(wrap(ln, width) if ln.strip() else [ln])
        pages.append("\n".join(out))
    return "\f".join(pages)


def with_furniture(text: str, case: str, every: int = 45) -> str:
    """Page breaks every `every` lines: footer, form feed, running header lines."""
    lines = [ln for ln in text.replace("\f", "\n").split("\n") if ln.strip()]
    chunks = [lines[i : i + every] for i in range(0, len(lines), every)]
    n = len(chunks)
    pages = []
    for k, chunk in enumerate(chunks, start=1):
        head = [TITLE, case] if k > 1 else [TITLE]
        foot = ["", f"Page {k} of {n}"]
        pages.append("\n".join(head + chunk + foot))
    return "\f".join(pages)


def pypdf_text(pdf: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    if reader.is_encrypted:
        reader.decrypt("")
    return "\f".join(page.extract_text() or "" for page in reader.pages)


# ---- tests -------------------------------------------------------------------------------------

SEED_IDS = [p.stem for p in SEEDS]


@pytest.mark.parametrize("seed", SEED_IDS)
class TestSeedVariants:
    def test_typeset_pdf(self, seed: str, tmp_path: Path) -> None:
        o = original(seed)
        pdf = typeset(seed_paragraphs(o.text), tmp_path / f"{seed}.pdf", gap=2)
        assert_same(parse_file(pdf), o.letter, "typeset PDF")

    def test_crlf(self, seed: str) -> None:
        o = original(seed)
        assert_same(parse_text(crlf(o.text)), o.letter, "CRLF")

    @pytest.mark.parametrize("width", [50, None], ids=["width50", "one-line-paragraphs"])
    def test_reflowed(self, seed: str, width: int | None) -> None:
        o = original(seed)
        assert_same(parse_text(rewrap_paragraphs(o.text, width)), o.letter, f"reflow {width}")

    def test_reflowed_crlf(self, seed: str) -> None:
        o = original(seed)
        text = crlf(rewrap_paragraphs(o.text, 50))
        assert_same(parse_text(text), o.letter, "reflow 50 + CRLF")

    def test_page_furniture(self, seed: str) -> None:
        o = original(seed)
        assert_same(parse_text(with_furniture(o.text, o.case)), o.letter, "page furniture")

    def test_page_furniture_reflowed(self, seed: str) -> None:
        o = original(seed)
        text = with_furniture(rewrap_paragraphs(o.text, 50), o.case, every=40)
        assert_same(parse_text(text), o.letter, "reflow 50 + page furniture")


@pytest.mark.parametrize("case", REAL)
class TestRealVariants:
    def test_pypdf_extraction(self, case: str, pdf_dir: Path, tmp_path: Path) -> None:
        o = original(case, pdf_dir)
        txt = tmp_path / f"{case}.txt"
        txt.write_text(pypdf_text(pdf_dir / f"{case}.pdf"), encoding="utf-8")
        assert_same(parse_file(txt), o.letter, "pypdf text")

    def test_crlf(self, case: str, pdf_dir: Path) -> None:
        o = original(case, pdf_dir)
        assert_same(parse_text(crlf(o.text)), o.letter, "CRLF")

    def test_narrow_lines(self, case: str, pdf_dir: Path) -> None:
        o = original(case, pdf_dir)
        assert_same(parse_text(rewrap_lines(o.text, 50)), o.letter, "lines wrapped at 50")

    def test_page_furniture(self, case: str, pdf_dir: Path) -> None:
        o = original(case, pdf_dir)
        assert_same(parse_text(with_furniture(o.text, case)), o.letter, "page furniture")


@pytest.mark.parametrize("case", REAL[:2])
def test_real_letter_typeset_pdf(case: str, pdf_dir: Path, tmp_path: Path) -> None:
    o = original(case, pdf_dir)
    lines = [ln for ln in o.text.replace("\f", "\n").split("\n") if ln.strip()]
    pdf = typeset(lines, tmp_path / f"{case}.pdf", gap=0)
    assert_same(parse_file(pdf), o.letter, "typeset PDF")
