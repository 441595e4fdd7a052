"""What makes a precedent citable: case, date, outcome in words, reviewer, guideline document
and edition with section, the passage that matched with the query's words marked, a plain-words
`why`, and one citation line. Read from the result letters only (k letters a query).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from imr_graph.query.answer import Citable, CitedGuideline, GoverningSection, Precedent
from kg.model import Letter

if TYPE_CHECKING:
    from imr_graph.index.arrays import GraphArrays

PASSAGE_CHARS = 320
_STOP = frozenset(
    "a an and the of for to in on with or by at per x mg mcg ml gm gr qty times week weeks "
    "visits sessions one two three four six twelve request requested retrospective refills "
    "refill prescription purchase rental additional".split()
)
_TOKEN = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def guidelines_of(letter: Letter | None, position: int) -> tuple[CitedGuideline, ...]:
    """The MAXIMUS citations of one item, normalized as the graph records them."""
    from kg.facts import citation_facts

    if letter is None or not 0 <= position < len(letter.items):
        return ()
    out = []
    for c in letter.items[position].maximus_citations:
        f = citation_facts(c, "maximus")
        edition = f.edition if f.edition != "unspecified" else None
        secs = tuple((sid, label) for sid, label in f.sections)
        out.append(CitedGuideline(f.document_label, f.document_id, edition, secs, c.pages))
    return tuple(out)


def query_terms(request: str, concept_labels: tuple[str, ...]) -> frozenset[str]:
    """The words a passage is searched and marked for: the request's and its concepts' labels,
    less doses, counts and filler."""
    words = _TOKEN.findall(f"{request} {' '.join(concept_labels)}".casefold())
    return frozenset(w for w in words if len(w) > 2 and not w[0].isdigit() and w not in _STOP)


def passage(rationale: str, terms: frozenset[str], limit: int = PASSAGE_CHARS) -> str:
    """The sentences of the rationale with the most query words, cut near `limit` characters,
    query words marked **so**, "..." where text was left out."""
    text = " ".join(rationale.split())
    if not text:
        return ""
    sentences = _SENTENCE.split(text)

    def hits(s: str) -> int:
        return len({w for w in _TOKEN.findall(s.casefold())} & terms)

    best = max(range(len(sentences)), key=lambda i: (hits(sentences[i]), -i))
    start = end = best
    length = len(sentences[best])
    while end + 1 < len(sentences) and length + len(sentences[end + 1]) < limit:
        end += 1
        length += len(sentences[end]) + 1
    chosen = " ".join(sentences[start : end + 1])
    cut = len(chosen) > limit
    if cut:
        chosen = chosen[:limit].rsplit(" ", 1)[0]
    out = _mark(chosen, terms)
    before = "... " if start > 0 else ""
    after = " ..." if cut or end + 1 < len(sentences) else ""
    return before + out + after


def _mark(text: str, terms: frozenset[str]) -> str:
    return _TOKEN.sub(
        lambda m: f"**{m.group(0)}**" if m.group(0).casefold() in terms else m.group(0), text
    )


def citation_line(
    case: str,
    date: str | None,
    position: int,
    decision: str,
    guidelines: tuple[CitedGuideline, ...],
) -> str:
    """One line to paste into a report, items numbered from 1 as the letter numbers them:
    `IMR CM16-0243394 (decided 2017-01-20), item 2, Upheld, ODG Pain (Chronic), Lidoderm`."""
    parts = [f"IMR {case}" + (f" (decided {date})" if date else ""), f"item {position + 1}"]
    parts.append(decision.capitalize())
    for g in guidelines:
        doc = f"{g.document} ({g.edition})" if g.edition else g.document
        parts.append(", ".join([doc, *(label for _, label in g.sections)]))
    return ", ".join(parts)


def why_words(
    match_words: list[str],
    guidelines: tuple[CitedGuideline, ...],
    top_citing: dict[str, int],
    depth: int,
    signals: list[str],
) -> str:
    """Why, in plain words: the treatment match, the shared guideline, the retrievers' say."""
    parts = list(match_words)
    for g in guidelines:
        for sid, label in g.sections:
            if top_citing.get(sid, 0) > 1:
                doc = f"{g.document} {g.edition}" if g.edition else g.document
                parts.append(f"cites {doc}, {label}, like {top_citing[sid]} of the top {depth}")
                break
        else:
            continue
        break
    parts.extend(signals)
    return "; ".join(parts)


def name_sections(
    gov: tuple[GoverningSection, ...],
    voters: list[tuple[str, int]],
    letters: dict[str, Letter],
    a: GraphArrays,
) -> tuple[GoverningSection, ...]:
    """Governing sections the precedents cite (not the concept's history alone), each named
    with its document and the editions the citing precedents name."""
    editions: dict[str, set[str]] = {}
    for key, pos in voters:
        for g in guidelines_of(letters.get(key), pos):
            for sid, _ in g.sections:
                if g.edition:
                    editions.setdefault(sid, set()).add(g.edition)
    out = []
    for s in gov:
        if not s.precedents_citing:
            continue
        doc = a.label(s.document) if s.document else None
        out.append(replace(s, document_label=doc, editions=tuple(sorted(editions.get(s.id, ())))))
    return tuple(out)


def cite_results(
    results: tuple[Precedent, ...],
    letters: dict[str, Letter],
    voters: list[tuple[int, float]],
    a: GraphArrays,
    terms: frozenset[str],
) -> tuple[Precedent, ...]:
    """Each result with its case, reviewer, guidelines, marked passage, why and citation."""
    top_citing: dict[str, int] = {}
    for i, _ in voters:
        for sp in a.item_sections(i):
            top_citing[a.sections[sp]] = top_citing.get(a.sections[sp], 0) + 1
    out = []
    for r in results:
        letter = letters.get(r.letter)
        case = (letter.case_number if letter else None) or r.letter
        specs = letter.reviewer.specialties if letter else ()
        guides = guidelines_of(letter, r.item)
        rationale = letter.items[r.item].rationale if letter and r.item < len(letter.items) else ""
        why = why_words(_match_words(r, a), guides, top_citing, len(voters), _signal_words(r))
        line = citation_line(case, r.decision_date, r.item, r.decision, guides)
        source = letter.source if letter and letter.source else r.letter
        cite = Citable(case, specs, guides, passage(rationale, terms), why, line, source)
        out.append(replace(r, cite=cite))
    return tuple(out)


def _match_words(r: Precedent, a: GraphArrays) -> list[str]:
    m = r.match
    if m is None or m.concept is None:
        return []
    label = a.label(m.concept)
    form = f" ({m.route})" if m.route and m.route not in label.casefold() else ""
    head = f"{m.words}: {label}{form}"
    return [head, *m.agrees, *m.differs]


def _signal_words(r: Precedent) -> list[str]:
    out = []
    if r.why.dense is not None and r.why.dense.rank <= 10:
        out.append(f"request or passage similar (dense #{r.why.dense.rank})")
    if r.why.lexical is not None and r.why.lexical.rank <= 10:
        out.append(f"same words (lexical #{r.why.lexical.rank})")
    if r.why.section_support is not None and r.why.section_support >= 0.5:
        out.append("cites the sections the closest precedents cite")
    return out
