"""Citation audit: every citation whose source text the reader did not fully consume.

For each "Decision based on ..." segment of a guideline paragraph the audit compares the words
written with the parts the reader kept (document, year, sections, pages) and the words it drops
by design (guideline names, "Chapter", edition and version words, "(updated ..)" dates; see
docs/citations.md). It reports, one line per citation:

- leftover: words of a MTUS/ODG/ACOEM segment found in no field;
- edition-in-sections: a year, edition or version word among the sections;
- page-in-document / url-in-document / path-in-document / edition-in-document: a page marker, a
  URL fragment, a "/" path or an edition word inside the document name;
- chapter-in-sections: an ODG chapter name, "Chapter", or a guideline name read as a section;
- several-sources: an OTHER document holding two URLs, a URL and words, or ';'-joined parts.

It never changes a parse; it only says where the reader's rules ran out, so that a new batch of
letters shows its unknown kinds of citation at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imr_graph.letters.citations import (
    ODG_CHAPTERS,
    join_paragraph,
    paragraph_segments,
    segment_citations,
)
from imr_graph.letters.clean import to_lines
from imr_graph.letters.layout import find_parts
from imr_graph.letters.read import read_source
from kg.model import Citation

# words the reader drops by design (names of the guideline, structure, edition and version words)
_DROPPED = frozenset(
    """
    decision based on non mtus citation official disability guidelines guideline odg acoem
    american college of occupational and environmental medicine other medical treatment or evidence
    chapter chapters section sections topic subheading practice s page pages pg pp p the and a
    ed edition editions
    online web version procedure summary index work loss data institute annual
    st nd rd th california ca
    """.split()
)
_UPDATED = re.compile(r"\(?\s*(?:updated|revised|accessed)\s+[\d/\-.]+\s*\)?", re.I)
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)$", re.I)
_WORD = re.compile(r"[A-Za-z0-9]+")
_YEAR = re.compile(r"^\(?(?:19[89]\d|20[0-4]\d)\)?$")
_EDITION = re.compile(
    r"\b(?:\d+(?:st|nd|rd|th)\s+(?:annual\s+)?ed(?:ition)?\b\.?|edition|online\s+version|"
    r"web\s+version|procedure\s+summary|treatment\s+index|work\s+loss\s+data|version\s+\d)",
    re.I,
)
_YEAR_IN = re.compile(r"\(\s*(?:19[89]\d|20[0-4]\d)\s*\)|^(?:19[89]\d|20[0-4]\d)$")
_PAGE = re.compile(r"\b(?:pg|pp?|pages?)\b\.?\s*\d|\bpage\s*\(s\)", re.I)
_URL = re.compile(r"https?://|www\.|\.(?:com|org|gov|net|edu|html?)\b", re.I)
_CHAPTER_NAMES = "(?:" + "|".join([*ODG_CHAPTERS, r"Pain", r"Lower\s+Back"]) + ")"
# a section that is, or opens with, an ODG chapter name: a second chapter read as a topic
_ODG_CHAPTER_ONLY = re.compile(
    r"^(?:ODG\s+)?" + _CHAPTER_NAMES + r"(?:\s*(?:chapters?|sections?)\b.*|\s*[(\-–:/].*)?$", re.I
)
_GUIDELINE_NAME = re.compile(
    r"^(?:Official\s+Disability\s+Guidelines?(?:\s*\(ODG\))?|ODG|ACOEM|MTUS)$", re.I
)


@dataclass(frozen=True)
class AuditLine:
    file: str
    item: int
    paragraph: str  # "claims_administrator" | "maximus"
    problem: str
    citation: Citation | None
    segment: str

    def __str__(self) -> str:
        c = self.citation
        cited = (
            f"{c.guideline} | {c.document} | {c.year} | {'; '.join(c.sections)} | "
            f"{','.join(map(str, c.pages))}"
            if c
            else "-"
        )
        return (
            f"{self.file}: item {self.item} {self.paragraph}: {self.problem}: [{cited}] "
            f"<- {self.segment}"
        )


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _WORD.findall(_UPDATED.sub(" ", text))]


def _consumed(cites: list[Citation]) -> set[str]:
    out: set[str] = set()
    for c in cites:
        for text in (c.document, *c.sections):
            out.update(_tokens(text))
        if c.year:
            out.add(str(c.year))
        out.update(str(p) for p in c.pages)
    return out


def leftover_words(segment: str, cites: list[Citation]) -> list[str]:
    """Words of the segment kept in no field and not dropped by design."""
    kept = _consumed(cites)
    left = []
    for t in _tokens(segment):
        if t in kept or t in _DROPPED or _ORDINAL.match(t):
            continue
        left.append(t)
    return list(dict.fromkeys(left))


def citation_problems(c: Citation) -> list[str]:
    """What in one parsed citation is out of place (independent of its source text)."""
    out: list[str] = []
    doc = c.document
    for s in c.sections:
        if _EDITION.search(s) or _YEAR_IN.search(s.strip()):
            out.append(f"edition-in-sections {s!r}")
        if c.guideline == "OTHER":
            continue  # a book's 'Chapter 17: ..' is the part cited
        if (
            (c.guideline == "ODG" and _ODG_CHAPTER_ONLY.match(s.strip()))
            or re.search(r"\b(?:chapters?|sections?)\b", s, re.I)
            or _GUIDELINE_NAME.match(s.strip())
            or s.startswith("(")
        ):
            out.append(f"chapter-in-sections {s!r}")
    if c.guideline == "OTHER":
        urls = re.findall(r"(?:https?://|www\.)\S+", doc)
        if len(urls) > 1 or (urls and len(doc.split()) > 1) or ";" in doc:
            out.append("several-sources in document")
        if _PAGE.search(doc):
            out.append("page-in-document")
        if _EDITION.search(doc):
            out.append("edition-in-document")
        return out
    if _PAGE.search(doc):
        out.append("page-in-document")
    if _URL.search(doc):
        out.append("url-in-document")
    if "/" in doc:
        out.append("path-in-document")
    if _EDITION.search(doc) or re.search(r"\b(?:19[89]\d|20[0-4]\d)\b", doc):
        out.append("edition-in-document")
    return out


def audit_paragraph(
    text: str, file: str = "", item: int = 0, paragraph: str = ""
) -> list[AuditLine]:
    """Audit lines for one guideline paragraph (already joined into one string)."""
    out: list[AuditLine] = []
    for seg in paragraph_segments(text):
        cites = segment_citations(seg)
        for c in cites:
            for problem in citation_problems(c):
                out.append(AuditLine(file, item, paragraph, problem, c, seg))
        if any(c.guideline == "OTHER" for c in cites):
            # free text: only the structure checks above, and every URL written must be kept
            # (a reference read as source + title may leave its URL: the source names it)
            kept = " ".join(c.document for c in cites)
            titled = any(c.sections for c in cites if c.guideline == "OTHER")
            for url in re.findall(r"(?:https?://|www\.)[^\s,;]+", seg):
                if url.rstrip(".") not in kept and not titled:
                    out.append(
                        AuditLine(file, item, paragraph, f"leftover url {url!r}", cites[0], seg)
                    )
            continue
        left = leftover_words(seg, cites)
        if left:
            first = cites[0] if cites else None
            out.append(AuditLine(file, item, paragraph, f"leftover {' '.join(left)!r}", first, seg))
    return out


def audit_file(path: str | Path) -> Iterator[AuditLine]:
    """Audit lines for every guideline paragraph of one letter file."""
    src = read_source(path)
    parts = find_parts(to_lines(src.pages))
    name = Path(path).name
    for pos, raw in enumerate(parts.items):
        for label, lines in (
            ("claims_administrator", raw.claims_administrator),
            ("maximus", raw.maximus),
        ):
            if lines:
                text = join_paragraph([ln.text for ln in lines])
                yield from audit_paragraph(text, name, pos, label)
