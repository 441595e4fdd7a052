"""Letter file -> `kg.model.Letter`: read, clean, find parts, read each part.

The single entry point the CLI, the store and the tests use; every failure is a LetterError.
"""

from __future__ import annotations

import re
from pathlib import Path

from imr_graph.errors import LetterError
from imr_graph.letters import header
from imr_graph.letters.citations import join_paragraph, parse_guideline_paragraph
from imr_graph.letters.clean import Line, fold, join_lines, to_lines, word_vocabulary
from imr_graph.letters.layout import RAT_LABEL, RawItem, find_parts
from imr_graph.letters.read import Source, read_bytes, read_source
from kg.model import Item, Letter

_ORIGINAL = re.compile(
    r"^(?P<orig>.+?)\s+was\s+the\s+original\s+request\.\s*(?P<auth>.+?)\s+was\s+authorized\s+by\s+"
    r"the\s+Claims\s+Administrator\.\s*The\s+remaining\s+IMR\s+eligible\s+portion\s+of\s+the\s+"
    r"original\s+request,?\s*(?:is\s+)?(?P<z>.+?)(?:\s+is)?\s*$",
    re.I,
)
_ORIGINAL2 = re.compile(
    r"^(?P<orig>.+?)\s+was\s+the\s+original\s+request\.\s*The\s+Claims\s+Administrator\s+"
    r"authorized\s+(?P<auth>.+?),?\s+leaving\s+the\s+original\s+request\s+IMR\s+eligible\.\s*"
    r"The\s+original\s+request,?\s*(?P<z>.+?)(?:\s+is)?\s*$",
    re.I,
)

_CREDENTIALS = re.compile(r"State\(s\)\s+of\s+Licensure|Certification\(s\)\s*/\s*Specialty", re.I)


def parse_file(path: str | Path) -> Letter:
    """Parse one letter file (.pdf or text)."""
    return parse_source(read_source(path))


def parse_bytes(data: bytes, name: str) -> Letter:
    return parse_source(read_bytes(data, name))


def parse_source(src: Source) -> Letter:
    lines = to_lines(src.pages)
    vocab = word_vocabulary(lines)
    parts = find_parts(lines)
    name = src.path
    if not parts.items:
        if not (parts.has_how_made or parts.has_summary or parts.has_issues):
            raise LetterError(name, "not an IMR determination letter (no IMR sections found)")
        n_rat = sum(1 for ln in lines if RAT_LABEL.search(ln.text))
        if n_rat:
            raise LetterError(
                name, f"unexpected layout: {n_rat} decision rationale(s) but no item decisions"
            )
        raise LetterError(name, "IMR letter without disputed items (section missing or cut off)")
    warnings: list[str] = []
    head_text = fold(" ".join(ln.text for ln in parts.head))
    case, prio, head_dates = header.header_fields(head_text)
    has_header = case is not None or any(head_dates.values())
    if not has_header and parts.head:
        warnings.append("header block unreadable")
    elif has_header and case is None:
        warnings.append("header block without a case number")
    if not parts.has_summary:
        warnings.append("no CLINICAL CASE SUMMARY section")
    summary = join_lines([ln.text for ln in parts.summary], vocab)
    how = fold(" ".join(ln.text for ln in parts.how_made))
    items = []
    for pos, raw in enumerate(parts.items):
        item, item_warnings = _item(pos, raw, vocab)
        items.append(item)
        warnings.extend(item_warnings)
    if not has_header and not parts.head and _is_2016_style(how, items):
        # letters with a credentials block and dated MTUS editions come with a header block
        warnings.append("no header block: case number and header dates unknown")
    stem = Path(name).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return Letter(
        letter=stem,
        case_number=case,
        priority=prio,
        dates=header.dates(head_dates, summary, has_header),
        reviewer=header.reviewer(how),
        patient=header.patient(summary),
        items=tuple(items),
        summary=summary,
        source=name,
        sha256=src.sha256,
        format="2016" if has_header else "2013",
        warnings=tuple(warnings),
    )


def _is_2016_style(how_made: str, items: list[Item]) -> bool:
    cites = [c for it in items for c in it.claims_administrator_citations + it.maximus_citations]
    return bool(_CREDENTIALS.search(how_made)) and any(c.year for c in cites)


def _text(lines: tuple[Line, ...] | None, vocab: frozenset[str]) -> str:
    return join_lines([ln.text for ln in lines], vocab) if lines else ""


def _item(pos: int, raw: RawItem, vocab: frozenset[str]) -> tuple[Item, list[str]]:
    warnings: list[str] = []
    heading = fold(join_lines([ln.text for ln in raw.heading], vocab)).rstrip(":").strip()
    request, original, authorized = _partial(heading)
    if raw.rationale is None:
        warnings.append(f"item {pos}: no decision rationale")
    if raw.claims_administrator is None:
        warnings.append(f"item {pos}: no Claims Administrator guideline paragraph")
    if raw.maximus is None:
        warnings.append(f"item {pos}: no MAXIMUS guideline paragraph")
    ca = _citations(raw.claims_administrator)
    mx = _citations(raw.maximus)
    pages = sorted(
        {
            ln.page
            for part in (raw.heading, raw.claims_administrator, raw.maximus, raw.rationale)
            for ln in (part or ())
        }
    )
    item = Item(
        position=pos,
        request=request,
        decision=raw.decision,
        claims_administrator_citations=ca,
        maximus_citations=mx,
        rationale=fold(_text(raw.rationale, vocab)),
        original_request=original,
        authorized_portion=authorized,
        pages=tuple(pages),
    )
    return item, warnings


def _citations(lines: tuple[Line, ...] | None) -> tuple:
    if not lines:
        return ()
    return parse_guideline_paragraph(join_paragraph([ln.text for ln in lines]))


def _partial(heading: str) -> tuple[str, str | None, str | None]:
    for pat in (_ORIGINAL, _ORIGINAL2):
        m = pat.match(heading)
        if m:
            return m.group("z").strip(" ,"), m.group("orig").strip(), m.group("auth").strip(" ,")
    return heading, None, None
