"""Text output of letters and precedent answers for the terminal."""

from __future__ import annotations

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


def _signal(name: str, value: dict) -> str:
    """One retriever's signal in words: its rank, or the re-ranking's section support."""
    if "rank" in value:
        return f"{name} #{value['rank']}"
    return f"{name} {value.get('support', '')}".rstrip()


def _group(results: list[dict]) -> list[dict]:
    groups: dict[str, dict] = {}
    for r in results:
        g = groups.setdefault(
            r["letter"], {"letter": r["letter"], "score": r["score"], "items": []}
        )
        g["items"].append(r)
    return list(groups.values())
