"""The domain model: typed records a parsed IMR letter becomes.

Frozen dataclasses so that a parse is a value: it can be hashed, compared with gold and stored
without anyone mutating it on the way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DATE_FIELDS = (
    "date_assigned",
    "date_of_injury",
    "decision_date",
    "ur_denial_date",
    "application_received",
)


@dataclass(frozen=True)
class Citation:
    """One guideline document cited for an item, e.g. MTUS Chronic Pain Medical Treatment 2016."""

    guideline: str  # MTUS | ODG | ACOEM | OTHER
    document: str
    year: int | None = None
    sections: tuple[str, ...] = ()
    pages: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "guideline": self.guideline,
            "document": self.document,
            "year": self.year,
            "sections": list(self.sections),
            "pages": list(self.pages),
        }


@dataclass(frozen=True)
class Dates:
    date_assigned: str | None = None
    date_of_injury: str | None = None
    decision_date: str | None = None
    ur_denial_date: str | None = None
    application_received: str | None = None


@dataclass(frozen=True)
class Reviewer:
    licensure: tuple[str, ...] = ()
    specialties: tuple[str, ...] = ()


@dataclass(frozen=True)
class Patient:
    age: int | None = None
    sex: str | None = None


@dataclass(frozen=True)
class Item:
    """One disputed item/service with its decision, citations and whole rationale."""

    position: int
    request: str
    decision: str  # upheld | overturned
    claims_administrator_citations: tuple[Citation, ...] = ()
    maximus_citations: tuple[Citation, ...] = ()
    rationale: str = ""
    original_request: str | None = None
    authorized_portion: str | None = None
    pages: tuple[int, ...] = ()  # PDF/text pages the item spans (1-based)


@dataclass(frozen=True)
class Letter:
    """A whole determination letter."""

    letter: str  # file stem
    case_number: str | None
    priority: str | None
    dates: Dates
    reviewer: Reviewer
    patient: Patient
    items: tuple[Item, ...]
    summary: str = ""
    source: str = ""  # path the letter was read from
    sha256: str = ""  # hash of the source bytes
    format: str = ""  # "2016" (header block) or "2013" (no header)
    warnings: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """The id a letter is stored under: its case number, else its file stem."""
        return self.case_number or self.letter


def _words(text: str, n: int, from_end: bool = False) -> str:
    words = text.split()
    return " ".join(words[-n:] if from_end else words[:n])


def item_to_json(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {
        "position": item.position,
        "request": item.request,
        "decision": item.decision,
    }
    if item.original_request is not None:
        out["original_request"] = item.original_request
    if item.authorized_portion is not None:
        out["authorized_portion"] = item.authorized_portion
    ca = item.claims_administrator_citations
    out["claims_administrator_citations"] = [c.to_json() for c in ca]
    out["maximus_citations"] = [c.to_json() for c in item.maximus_citations]
    out["rationale_start"] = _words(item.rationale, 10)
    out["rationale_end"] = _words(item.rationale, 10, from_end=True)
    out["rationale"] = item.rationale
    out["pages"] = list(item.pages)
    return out


def letter_to_json(letter: Letter) -> dict[str, Any]:
    """The JSON contract of ../shared/gold/SCHEMA.md, plus full text, source and warnings."""
    return {
        "letter": letter.letter,
        "case_number": letter.case_number,
        "priority": letter.priority,
        "dates": asdict(letter.dates),
        "reviewer": {
            "licensure": list(letter.reviewer.licensure),
            "specialties": list(letter.reviewer.specialties),
        },
        "patient": asdict(letter.patient),
        "items": [item_to_json(i) for i in letter.items],
        "summary": letter.summary,
        "format": letter.format,
        "source": letter.source,
        "sha256": letter.sha256,
        "warnings": list(letter.warnings),
    }


def citation_from_json(d: dict[str, Any]) -> Citation:
    return Citation(
        guideline=d["guideline"],
        document=d["document"],
        year=d.get("year"),
        sections=tuple(d.get("sections") or ()),
        pages=tuple(d.get("pages") or ()),
    )


def letter_from_json(d: dict[str, Any]) -> Letter:
    """Inverse of letter_to_json, so the store can keep parses as JSON rows and rebuild records."""
    items = tuple(
        Item(
            position=i.get("position", n),
            request=i["request"],
            decision=i["decision"],
            claims_administrator_citations=tuple(
                citation_from_json(c) for c in i.get("claims_administrator_citations", [])
            ),
            maximus_citations=tuple(citation_from_json(c) for c in i.get("maximus_citations", [])),
            rationale=i.get("rationale", ""),
            original_request=i.get("original_request"),
            authorized_portion=i.get("authorized_portion"),
            pages=tuple(i.get("pages", ())),
        )
        for n, i in enumerate(d["items"])
    )
    return Letter(
        letter=d["letter"],
        case_number=d.get("case_number"),
        priority=d.get("priority"),
        dates=Dates(**{k: d.get("dates", {}).get(k) for k in DATE_FIELDS}),
        reviewer=Reviewer(
            licensure=tuple(d.get("reviewer", {}).get("licensure", ())),
            specialties=tuple(d.get("reviewer", {}).get("specialties", ())),
        ),
        patient=Patient(**d.get("patient", {})),
        items=items,
        summary=d.get("summary", ""),
        source=d.get("source", ""),
        sha256=d.get("sha256", ""),
        format=d.get("format", ""),
        warnings=tuple(d.get("warnings", ())),
    )
