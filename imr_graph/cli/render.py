"""Text output of letters and precedent answers for the terminal."""

from __future__ import annotations

from imr_graph.query.answer import Answer, Why
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


def answer_lines(request: str, ans: Answer) -> list[str]:
    """The precedent answer for the terminal: concepts, same-treatment counts, sections, results."""
    s = ans.summary
    concepts = ", ".join(c.label or c.id for c in s.treatment_concepts) or "(none)"
    st = s.same_treatment
    lines = [
        f"request: {request}   concepts: {concepts}",
        f"same treatment in store: {st.n} items, {st.upheld} upheld, {st.overturned} overturned"
        + (f"  ({st.warning})" if st.warning else ""),
        "likely governing sections: "
        + "; ".join(f"{g.section} ({g.precedents_citing})" for g in s.governing_sections),
    ]
    for r in ans.results:
        lines.append(
            f"{round(r.score, 6):.4f} {r.letter}[{r.item}] {r.decision.upper():10s} {r.request}"
        )
        lines.append(f"        sections: {'; '.join(r.sections) or '-'}   why: {why_line(r.why)}")
        lines.append(f"        {r.snippet[:160]}")
    return lines


def group_by_letter(results: list[dict]) -> list[dict]:
    """JSON results grouped by letter, in the order of each letter's best result."""
    groups: dict[str, dict] = {}
    for r in results:
        g = groups.setdefault(
            r["letter"], {"letter": r["letter"], "score": r["score"], "items": []}
        )
        g["items"].append(r)
    return list(groups.values())
