"""Text output of letters and precedent answers for the terminal."""

from __future__ import annotations

from imr_graph.query.answer import Answer, Precedent, Why
from kg.model import Letter


def _readable(letter: Letter) -> str:
    d = letter.dates
    lines = [
        f"{letter.letter}  case {letter.case_number or '-'}  priority {letter.priority or '-'}",
        f"  decided {d.decision_date or '-'}  injury {d.date_of_injury or '-'}  "
        f"patient {letter.patient.age or '?'} {letter.patient.sex or '?'}",
        f"  reviewer: {', '.join(letter.reviewer.specialties) or '-'} "
        f"({', '.join(letter.reviewer.licensure) or '-'})",
    ]
    for it in letter.items:
        lines.append(f"  [{it.position}] {it.decision.upper():10s} {it.request}")
        for who, cites in (
            ("MAXIMUS", it.maximus_citations),
            ("CA", it.claims_administrator_citations),
        ):
            for c in cites:
                where = "; ".join(c.sections) or ""
                pages = f" p.{','.join(map(str, c.pages))}" if c.pages else ""
                year = f" {c.year}" if c.year else ""
                lines.append(
                    f"        {who}: {c.guideline} {c.document}{year} {where}{pages}".rstrip()
                )
    for w in letter.warnings:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)


def why_line(why: Why) -> str:
    """Each retriever's rank, then the re-ranking's section support, on one line."""
    parts = [f"{name} #{sig.rank}" for name, sig in why.signals()]
    if why.section_support is not None:
        parts.append(f"section_rerank {why.section_support}")
    return ", ".join(parts)


def answer_lines(request: str, ans: Answer, by_letter: bool = False) -> list[str]:
    """The answer for the terminal: what was understood, the counts, the governing sections,
    then the same-treatment precedents and the related ones, each citable."""
    s = ans.summary
    concepts = ", ".join(c.label or c.id for c in s.treatment_concepts) or "(none recognized)"
    st = s.same_treatment
    lines = [f"request: {request}   treatment: {concepts}"]
    narrower = f" (incl. {st.narrower} of narrower kinds)" if st.narrower else ""
    lines.append(
        f"same treatment in the store: {st.n} items{narrower}, {st.upheld} upheld, "
        f"{st.overturned} overturned" + (f"  ({st.warning})" if st.warning else "")
    )
    if s.governing_sections:
        lines.append("likely governing sections:")
        lines.extend(
            f"  {g.name}  (cited by {g.precedents_citing} of the top {s.voters})"
            for g in s.governing_sections
        )
    if s.notice:
        lines.append(f"note: {s.notice}")
    groups = _groups(ans.results)
    n = 0
    for title, results in groups:
        if not results:
            continue
        lines.append("")
        lines.append(f"== {title} ==")
        if by_letter:
            for letter, items in _by_letter(results):
                lines.append(f"-- letter {letter} --")
                for r in items:
                    n += 1
                    lines.extend(_result_lines(n, r))
        else:
            for r in results:
                n += 1
                lines.extend(_result_lines(n, r))
    return lines


def _groups(results: tuple[Precedent, ...]) -> list[tuple[str, list[Precedent]]]:
    """Same treatment first, then the rest (a result not assessed counts as the rest)."""
    same = [r for r in results if r.match is not None and r.match.tier == 3]
    rest = [r for r in results if not (r.match is not None and r.match.tier == 3)]
    return [("same treatment", same), ("related treatments and other precedents", rest)]


def _by_letter(results: list[Precedent]) -> list[tuple[str, list[Precedent]]]:
    groups: dict[str, list[Precedent]] = {}
    for r in results:
        groups.setdefault(r.letter, []).append(r)
    return list(groups.items())


def _result_lines(n: int, r: Precedent) -> list[str]:
    """One citable result: case, date, outcome, match, reviewer, guideline, why, passage."""
    c = r.cite
    case = c.case if c else r.letter
    strength = f"  match {r.strength:.2f}" if r.strength is not None else ""
    mark = f" [{r.match.words}]" if r.match is not None else ""
    lines = [
        f"{n:2d}. {case} [{r.item}]  decided {r.decision_date or '?'}  {r.outcome}{strength}{mark}",
        f"    request: {r.request}",
    ]
    if c is not None:
        if c.specialties:
            lines.append(f"    reviewer: {', '.join(c.specialties)}")
        for g in c.guidelines:
            lines.append(f"    guideline: {g.words}")
        lines.append(f"    why: {c.why_text or why_line(r.why)}")
        if c.passage:
            lines.append(f"    passage: {c.passage}")
        lines.append(f"    cite: {c.citation}")
    else:
        lines.append(f"    sections: {'; '.join(r.sections) or '-'}   why: {why_line(r.why)}")
        lines.append(f"    {r.snippet[:160]}")
    return lines


CSV_FIELDS = (
    "rank",
    "group",
    "case_number",
    "item",
    "decision_date",
    "outcome",
    "request",
    "strength",
    "treatment_match",
    "reviewer_specialties",
    "guidelines",
    "why",
    "passage",
    "citation",
    "source",
)


def answer_rows(ans: Answer) -> list[dict[str, object]]:
    """One CSV row per result, in printed order."""
    rows = []
    n = 0
    for title, results in _groups(ans.results):
        for r in results:
            n += 1
            c = r.cite
            rows.append(
                {
                    "rank": n,
                    "group": title,
                    "case_number": c.case if c else r.letter,
                    "item": r.item,
                    "decision_date": r.decision_date or "",
                    "outcome": r.decision,
                    "request": r.request,
                    "strength": "" if r.strength is None else r.strength,
                    "treatment_match": r.match.words if r.match else "",
                    "reviewer_specialties": "; ".join(c.specialties) if c else "",
                    "guidelines": " | ".join(g.words for g in c.guidelines) if c else "",
                    "why": c.why_text if c else why_line(r.why),
                    "passage": c.passage if c else r.snippet,
                    "citation": c.citation if c else "",
                    "source": c.source if c else "",
                }
            )
    return rows


def group_by_letter(results: list[dict]) -> list[dict]:
    """JSON results grouped by letter, in the order of each letter's best result."""
    groups: dict[str, dict] = {}
    for r in results:
        g = groups.setdefault(
            r["letter"], {"letter": r["letter"], "score": r["score"], "items": []}
        )
        g["items"].append(r)
    return list(groups.values())
