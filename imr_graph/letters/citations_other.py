"""Read OTHER citations (sources outside MTUS, ODG and ACOEM): references, URLs, manuals.

Kinds: one source, a bare URL, several sources in one citation, a source followed by its parts,
and a reference written as 'Title. Source. ..' whose source names come from the vocabulary.
"""

from __future__ import annotations

import re

from imr_graph.letters.citation_words import VERSION_WORDS as _VERSION_WORDS
from imr_graph.letters.citation_words import YEAR as _YEAR
from kg.model import Citation

_URL = re.compile(r"(?:https?://|www\.)[^\s,;]*[^\s,;.)]")
_ACCESSED = re.compile(r",?\s*\(?\s*accessed\s+(?:on\s+)?[\d/.\-]+\s*\)?[.,]?\s*", re.I)
_PART = re.compile(
    r"^(?:Chapter|Section|Sec\.|Part|Appendix|§|\d+(?:\.\d+)*\s*[-–:.]?\s*[A-Za-z])", re.I
)
_AUTHORS = re.compile(r"^(?:[A-Z][\w'-]+\s+[A-Z]{1,3}\.?,?\s*)+(?:et\s+al\.?\s*|[.,]\s*)?")
_REF_NOISE = re.compile(r"\b(?:Topic\s+\d+|version\s+[\d.]+\d)\b[.,]?", re.I)


def read_other(text: str) -> list[Citation]:
    """OTHER sources. Kinds: one source ('U.S. Food and Drug Administration, <quotation>'), a bare
    URL, several sources in one citation (two URLs; references each ending 'accessed <date>';
    ';'-joined names), a source followed by its parts ('Manual; Chapter 12-..; 30.6-..' or
    'Green's Operative Hand Surgery, 6th ed Chapter 17: ..'), a reference 'Title. Source. ..'."""
    text = text.strip(" .:")
    if not text:
        return []
    out: list[Citation] = []
    for ref in _ACCESSED.split(text):
        for piece in re.split(r"\s*;\s*", ref):
            piece = piece.strip(" .,")
            if not piece:
                continue
            year = _YEAR.match(piece)
            if out and year and len(piece) < 20:  # '...; 2007 Jan. 10': the reference's date
                if out[-1].year is None:
                    out[-1] = Citation(
                        "OTHER", out[-1].document, int(year.group(1)), out[-1].sections, ()
                    )
                continue
            if out and _PART.match(piece):  # a part of the source before it
                last = out[-1]
                out[-1] = Citation("OTHER", last.document, last.year, last.sections + (piece,), ())
                continue
            out.extend(_other_source(piece))
    return out


def _other_source(text: str) -> list[Citation]:
    text = _VERSION_WORDS.sub(" ", text).strip(" .,:")
    text = " ".join(text.split())
    if not text:
        return []
    known = _known_other_source(text)
    if known:
        start, end = known
        name = text[start:end]
        title = _AUTHORS.sub("", text[:start]).strip(" .,:")
        after = _URL.sub(" ", text[end:]).strip(" .,:")
        parts = [p.strip(" .,:") for p in re.split(r",?\s*(?=\bChapter\s+\d)", after)]
        if (
            len(parts) > 1
        ):  # 'Green's Operative Hand Surgery, 6th ed Chapter 17: .., Chapter 30: ..'
            return [Citation("OTHER", name, None, tuple(p for p in parts if p), ())]
        if not title:  # 'University of Michigan Health System. Gastroesophageal reflux disease.'
            first = re.split(r"\.\s+|,\s+", after, maxsplit=1)[0].strip(" .,:")
            quoted = _PROSE.match(first) or len(first) > 160  # 'FDA, Ambien is indicated ..'
            place = re.search(r"\(\w\w\)\s*:", first)  # 'Ann Arbor (MI): ..'
            title = first if first and not quoted and not place else ""
        title = re.sub(r"(?:\s*[.,:])+\s*$", "", _REF_NOISE.sub("", title)).strip()
        year = _YEAR.search(after)
        return [
            Citation(
                "OTHER", name, int(year.group(1)) if year else None, (title,) if title else (), ()
            )
        ]
    urls = _URL.findall(text)
    if urls:
        rest = _URL.sub(" ", text).strip(" .,:")
        cites = [Citation("OTHER", u, None, (), ()) for u in urls]
        if re.search(r"[A-Za-z]{3}", rest):
            cites = _other_source(rest) + cites
        return cites
    # 'Green's Operative Hand Surgery, Chapter 17: Distal Radius Fractures, Chapter 30: ..'
    doc, *parts = re.split(r",?\s+(?=Chapter\s+\d)", text)
    if parts:
        return [
            Citation("OTHER", doc.strip(" .,:"), None, tuple(p.strip(" .,") for p in parts), ())
        ]
    head, _, rest = text.partition(", ")
    # 'U.S. Food and Drug Administration, Ambien is indicated ...': a quotation follows the name
    if rest and (_PROSE.match(rest) or len(rest) > 160):
        text = head
    return [Citation("OTHER", text.strip(), None, (), ())]


def _known_other_source(text: str) -> tuple[int, int] | None:
    """Where the text names a source of the vocabulary (kg/data/guidelines.ttl), longest first."""
    masked = _URL.sub(lambda m: "\x00" * len(m.group(0)), text)  # not inside a URL
    best = None  # the source named first; of two at one place, the longer
    for label in _other_labels():
        pat = r"(?<![\w.])" + re.escape(label).replace(r"\ ", r"\s+") + r"(?![\w])"
        m = re.search(pat, masked, re.I)
        if m and (best is None or (m.start(), -m.end()) < (best[0], -best[1])):
            best = (m.start(), m.end())
    return best


def _other_labels() -> tuple[str, ...]:
    global _LABELS
    if _LABELS is None:
        from kg.vocab import GUIDELINES, load_vocabulary

        vocab = load_vocabulary()
        labels = {
            label
            for c in vocab.in_scheme(GUIDELINES)
            if "gsrc:other" in vocab.ancestors(c.id)
            for label in c.labels
            if len(label) > 5  # abbreviations ('FDA') name a source only on their own
        }
        _LABELS = tuple(sorted(labels, key=len, reverse=True))
    return _LABELS


_LABELS: tuple[str, ...] | None = None


_PROSE = re.compile(
    r"^[A-Z][\w-]*\s+(?:is|are|has|have|was|were|should|may|can|recommends?|states?|notes?)\b"
)
