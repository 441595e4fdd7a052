"""Query-string parameters read and checked once, so that bad input gets one clear sentence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode

REQUEST_MAX = 500  # characters: the longest request in the 145 public letters is ~250
SUMMARY_MAX = 8000  # characters: a long case summary; keeps a permalink under 24 kB
QUERY_MAX = 1000  # characters of a passage search
K_MAX = 100
UPLOAD_MAX = 5 * 1024 * 1024  # bytes: the public letters are 40-400 kB
DECISIONS = ("upheld", "overturned")
GUIDELINES = ("MTUS", "ODG", "ACOEM", "OTHER")
# the filters as PrecedentParams fields; in the address (and the CLI) the dates are from= and to=
_FILTER_ATTRS = (
    "decision",
    "guideline",
    "document",
    "section",
    "region",
    "category",
    "specialty",
    "date_from",
    "date_to",
)
_ADDRESS_NAME = {"date_from": "from", "date_to": "to"}
FILTER_NAMES = tuple(_ADDRESS_NAME.get(a, a) for a in _FILTER_ATTRS)


class BadInput(Exception):
    """Input the server refuses: str() is the one sentence shown to the user."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PrecedentParams:
    """A precedent question as it stands in the address: request, summary, k and filters."""

    request: str = ""
    summary: str = ""
    k: int = 10
    decision: str = ""
    guideline: str = ""
    document: str = ""
    section: str = ""
    region: str = ""
    category: str = ""
    specialty: str = ""
    date_from: str = ""
    date_to: str = ""
    by_letter: bool = False
    exclude: str = ""  # a letter key left out of its own results (set by an upload)

    def query_string(self, **changes: Any) -> str:
        """The permalink's query string, with `changes` applied; empty values left out."""
        p = replace(self, **changes) if changes else self
        pairs: list[tuple[str, str]] = []
        for f in fields(p):
            v = getattr(p, f.name)
            name = _ADDRESS_NAME.get(f.name, f.name)
            if f.name == "k" and v == 10:
                continue
            if f.name == "by_letter":
                if v:
                    pairs.append(("by_letter", "1"))
                continue
            if v not in ("", None):
                pairs.append((name, str(v)))
        return urlencode(pairs)

    def filters_json(self) -> dict[str, str]:
        """The filters set, by their CLI names."""
        out = {}
        for name, attr in zip(FILTER_NAMES, _FILTER_ATTRS, strict=True):
            if getattr(self, attr):
                out[name] = getattr(self, attr)
        return out


def text_param(q: Mapping[str, str], name: str, limit: int, label: str) -> str:
    """A stripped free-text parameter, refused past `limit` characters."""
    v = (q.get(name) or "").strip()
    if len(v) > limit:
        raise BadInput(
            f"The {label} is {len(v)} characters long; the limit is {limit}: shorten it."
        )
    return v


def k_param(q: Mapping[str, str], default: int = 10) -> int:
    raw = (q.get("k") or "").strip()
    if not raw:
        return default
    try:
        k = int(raw)
    except ValueError:
        raise BadInput(
            f"k={raw!r} is not a whole number: give a number from 1 to {K_MAX}."
        ) from None
    if not 1 <= k <= K_MAX:
        raise BadInput(f"k={k} is out of range: give a number from 1 to {K_MAX}.")
    return k


def date_param(q: Mapping[str, str], name: str) -> str:
    raw = (q.get(name) or "").strip()
    if not raw:
        return ""
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise BadInput(
            f"{name}={raw!r} is not a date: write it as YYYY-MM-DD, e.g. 2016-01-31."
        ) from None


def precedent_params(q: Mapping[str, str], require_request: bool = True) -> PrecedentParams:
    """Read a precedent question from the query string; BadInput names the first problem."""
    request = text_param(q, "request", REQUEST_MAX, "request")
    if require_request and not request:
        raise BadInput("The request is empty: type the treatment asked for, e.g. Norco 10/325 #90.")
    decision = (q.get("decision") or "").strip().lower()
    if decision and decision not in DECISIONS:
        raise BadInput(f"decision={decision!r} is unknown: use upheld or overturned.")
    guideline = (q.get("guideline") or "").strip().upper()
    if guideline and guideline not in GUIDELINES:
        raise BadInput(f"guideline={guideline!r} is unknown: use one of {', '.join(GUIDELINES)}.")
    date_from, date_to = date_param(q, "from"), date_param(q, "to")
    if date_from and date_to and date_from > date_to:
        raise BadInput(f"from={date_from} is after to={date_to}: swap the two dates.")
    return PrecedentParams(
        request=request,
        summary=text_param(q, "summary", SUMMARY_MAX, "clinical summary"),
        k=k_param(q),
        decision=decision,
        guideline=guideline,
        document=text_param(q, "document", 200, "document filter"),
        section=text_param(q, "section", 200, "section filter"),
        region=text_param(q, "region", 200, "body region filter"),
        category=text_param(q, "category", 200, "treatment category filter"),
        specialty=text_param(q, "specialty", 200, "specialty filter"),
        date_from=date_from,
        date_to=date_to,
        by_letter=(q.get("by_letter") or "").strip().lower() in ("1", "on", "true", "yes"),
        exclude=text_param(q, "exclude", 200, "excluded letter"),
    )
