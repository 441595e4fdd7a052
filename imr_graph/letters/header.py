"""Header block, reviewer credentials and patient facts: small pure readers over folded text."""

from __future__ import annotations

import re
from datetime import date

from kg.model import Dates, Patient, Reviewer

_DATE = r"(\d{1,2}[/-]\d{1,2}[/-]\d{2,4})"
_HEADER_LABELS = {
    "date_assigned": r"Date\s+Assigned",
    "date_of_injury": r"Date\s+of\s+Injury",
    "decision_date": r"Decision\s+Date",
    "ur_denial_date": r"UR\s+Denial\s+Date",
    "application_received": r"Application\s+Received",
}
_MONTHS = {
    m: i
    for i, m in enumerate(
        "january february march april may june july august september october november "
        "december".split(),
        start=1,
    )
}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9


def iso_date(text: str | None) -> str | None:
    """'12/08/2016', '2/1/03', '11-9-16' -> ISO; two-digit years 00-30 are 20xx, others 19xx."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d{1,2})[/-](\d{1,2})[/-](\d{2}|\d{4})\s*", text)
    if not m:
        return None
    mo, d, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if y < 100:
        y += 2000 if y <= 30 else 1900
    return _safe_iso(y, mo, d)


def _safe_iso(y: int, mo: int, d: int) -> str | None:
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return None


def header_fields(head: str) -> tuple[str | None, str | None, dict[str, str | None]]:
    """Case number, priority and the five dates from the header block (text before the body)."""
    case = re.search(r"Case\s+Number\s*:\s*([A-Z]{2}\d{2}-\d{5,8})", head)
    prio = re.search(r"Priority\s*:\s*([A-Za-z]+)", head)
    dates: dict[str, str | None] = {}
    for key, label in _HEADER_LABELS.items():
        m = re.search(label + r"\s*:\s*" + _DATE, head)
        dates[key] = iso_date(m.group(1)) if m else None
    return (case.group(1) if case else None, prio.group(1) if prio else None, dates)


def reviewer(text: str) -> Reviewer:
    """Licensure states and specialties, from the credentials block or the older prose."""
    lic = re.search(r"State\(s\)\s+of\s+Licensure\s*:\s*(.+?)(?=\s*Certification|$)", text)
    spec = re.search(
        r"Certification\(s\)\s*/\s*Specialty\s*:\s*(.+?)(?=\s*CLINICAL CASE SUMMARY|$)", text
    )
    if lic or spec:
        listed_states = _split_list(lic.group(1)) if lic else []
        listed_specs = _split_list(spec.group(1)) if spec else []
        return Reviewer(tuple(listed_states), tuple(listed_specs))
    specs: list[str] = []
    m = re.search(
        r"Board\s+Certified\s+in\s+(.+?)(?=,?\s+(?:has\s+a\s+sub|and\s+is\s+licensed)|\.)", text
    )
    if m:
        specs.extend(_split_and(m.group(1)))
    m = re.search(r"subspecialt(?:y|ies)\s+in\s+(.+?)(?=,?\s+and\s+is\s+licensed|\.)", text)
    if m:
        specs.extend(_split_and(m.group(1)))
    states: list[str] = []
    m = re.search(r"licensed\s+to\s+practice\s+in\s+(.+?)(?=\.|,?\s+He/she)", text)
    if m:
        states = [s for s in _split_and(m.group(1)) if s]
    return Reviewer(tuple(states), tuple(dict.fromkeys(specs)))


def _split_list(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\s*,\s*", text.strip().rstrip(".")) if p.strip()]


def _split_and(text: str) -> list[str]:
    """'Acupuncture and Pain Medicine' -> two; names with '&' stay whole."""
    parts = re.split(r"\s*,\s*|\s+and\s+", text.strip().rstrip("."))
    return [p.strip() for p in parts if p.strip()]


def patient(summary: str) -> Patient:
    """Age and sex as the case summary states them."""
    age = None
    m = re.search(r"\b(\d{1,3})[\s-]*(?:year|yr)s?[\s-]*old\b", summary, re.I)
    if m and 0 < int(m.group(1)) < 120:
        age = int(m.group(1))
    sex = None
    m = re.search(r"\b(male|female|man|woman|gentleman|lady)\b", summary, re.I)
    if m:
        w = m.group(1).lower()
        sex = "female" if w in ("female", "woman", "lady") else "male"
    return Patient(age, sex)


def injury_date_from_summary(summary: str) -> str | None:
    """The date of injury when the case summary states it explicitly."""
    pats = [
        r"(?:date\s+of\s+injury|DOI)\s*(?:of|was|is|:|on)?\s*" + _DATE,
        _DATE + r"\s+(?:date\s+of\s+(?:industrial\s+)?injury|industrial\s+injury|DOI)",
        r"(?:injured|injury)\s+(?:on|of|dated)\s+" + _DATE,
        r"(?:injured|injury)\s+(?:at\s+work\s+)?(?:on|of)\s+" + _DATE,
    ]
    for pat in pats:
        m = re.search(pat, summary, re.I)
        if m:
            return iso_date(m.group(1))
    m = re.search(
        r"(?:injury|injured|date\s+of\s+injury)\s+(?:on|of|dated)?\s*"
        r"([A-Z][a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})",
        summary,
    )
    if m and m.group(1).lower() in _MONTHS:
        return _safe_iso(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
    return None


def dates(head_dates: dict[str, str | None], summary: str, has_header: bool) -> Dates:
    if not has_header or not head_dates.get("date_of_injury"):
        head_dates = dict(head_dates)
        head_dates["date_of_injury"] = head_dates.get("date_of_injury") or (
            injury_date_from_summary(summary)
        )
    return Dates(**head_dates)
