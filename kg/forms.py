"""The form of a requested treatment that its concept leaves out: a drug's route, spinal levels.

A concept says *what* (gabapentin, an epidural steroid injection); reviewers decide on *how* as
well: an oral anticonvulsant and a compounded cream that contains it fall under different
guideline sections, and an L4-5 injection is not a C5-6 one. Read from the request heading by
deterministic rules, the same for a new request and a stored item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ORAL = "oral"
TOPICAL = "topical"  # one ingredient, cream/gel/ointment/lotion/spray
COMPOUNDED = "compounded topical"
PATCH = "patch"
INJECTION = "injection"
ROUTES = (ORAL, TOPICAL, COMPOUNDED, PATCH, INJECTION)

COMPOUNDED_CONCEPT = "tx:compounded-topical"

# brand names whose form the name alone says (the vocabulary maps them to the ingredient)
_BRAND_ROUTE = {
    "lidoderm": PATCH,
    "flector": PATCH,
    "butrans": PATCH,
    "duragesic": PATCH,
    "salonpas": PATCH,
    "synapryn": ORAL,
    "tabradol": ORAL,
    "deprizine": ORAL,
    "dicopanol": ORAL,
    "fanatrex": ORAL,
}
_WORD = r"(?<![a-z0-9])(?:{})(?![a-z0-9])"
_COMPOUND = re.compile(_WORD.format(r"compound(?:ed|s)?|cream base|in base|compounding kit"))
_PATCH = re.compile(_WORD.format(r"patch(?:es)?|pads?|transdermal system|film"))
_INJECTION = re.compile(
    _WORD.format(r"inject(?:ion|ions|ed|able)?|inj|im|iv|intramuscular|intravenous|shots?")
)
_TOPICAL = re.compile(
    _WORD.format(
        r"creams?|ointments?|gels?|lotions?|topical(?:ly)?|liniment|rub|roll on|spray|"
        r"solution topical|balm|emulsion|foam"
    )
)
_ORAL = re.compile(
    _WORD.format(
        r"tab(?:let)?s?|cap(?:sule)?s?|caplets?|oral(?:ly)?|po|by mouth|suspension|elixir|syrup|"
        r"er|xr|sr|cr|dr|odt|sublingual|chewable|lozenges?"
    )
)
_MG_COUNT = re.compile(r"\d+(?:\.\d+)?\s*(?:mg|mcg)\b|#\s*\d+")
_PERCENTS = re.compile(r"\d(?:\.\d+)?\s*%")
_PER_GRAM = re.compile(r"\d\s*(?:mg|mcg)\s*/\s*(?:g|gm|gram)(?![a-z])")
_LEVEL = re.compile(
    r"(?<![a-z0-9])([ctls])\s?(\d{1,2})(?:\s*(?:-|/|to|and|through)\s*([ctls])?\s?(\d{1,2}))?"
    r"(?![a-z0-9])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Form:
    """A request's route (drugs only; None when unsaid) and the spinal segments it names."""

    route: str | None = None
    levels: frozenset[str] = frozenset()  # "L4-L5", "L5-S1", or a single level "L4"

    def words(self) -> str:
        parts = [self.route] if self.route else []
        if self.levels:
            parts.append(", ".join(sorted(self.levels)))
        return " ".join(parts)


def names_a_drug(concepts: tuple[str, ...]) -> bool:
    """Whether a request's concepts name a drug (its route then matters)."""
    return any(c.startswith("drug:") for c in concepts)


def route_of(text: str, concepts: tuple[str, ...], is_drug: bool) -> str | None:
    """A drug request's route from its heading (None for procedures and when nothing says).

    `concepts` are the request's concepts with their broader ones (Ketophene is a compounded
    topical by its concept). Compounded first (a cream of two drugs is not either drug), then
    patch, injection, single-ingredient topical, oral; "600 mg" or "#90" without a topical
    word reads as oral, unless a strength in % or mg per gram says topical.
    """
    t = text.casefold()
    if COMPOUNDED_CONCEPT in concepts or _COMPOUND.search(t):
        return COMPOUNDED
    if not is_drug:
        return None
    if len(_PERCENTS.findall(t)) >= 2 and (_TOPICAL.search(t) or "gm" in t or "gram" in t):
        return COMPOUNDED
    brand = next((r for b, r in _BRAND_ROUTE.items() if b in t), None)
    if _PATCH.search(t) or any(c.endswith("-patch") for c in concepts):
        return PATCH
    if _INJECTION.search(t):
        return INJECTION
    if _TOPICAL.search(t) or any(c.endswith("-topical") for c in concepts):
        return TOPICAL
    if brand:
        return brand
    if _ORAL.search(t):
        return ORAL
    if _PERCENTS.search(t) or _PER_GRAM.search(t):
        return TOPICAL  # "3% 300mg/g": a strength per gram of gel, whatever mg it also says
    if _MG_COUNT.search(t):
        return ORAL
    return None


def spinal_levels(text: str) -> frozenset[str]:
    """Spinal segments named in text: "L4-5" and "L4-L5" -> "L4-L5"; "L5-S1"; "C6" alone."""
    out = set()
    for m in _LEVEL.finditer(text):
        region, first, region2, second = m.groups()
        r1 = region.upper()
        if not _plausible(r1, int(first)):
            continue
        if second is None:
            out.add(f"{r1}{int(first)}")
            continue
        r2 = (region2 or region).upper()
        if region2 is None and r1 == "L" and int(second) == 1 and int(first) == 5:
            r2 = "S"  # "L5-1" is rare; written so it means L5-S1
        if _plausible(r2, int(second)):
            out.add(f"{r1}{int(first)}-{r2}{int(second)}")
    return frozenset(out)


def _plausible(region: str, n: int) -> bool:
    return {"C": 1 <= n <= 8, "T": 1 <= n <= 12, "L": 1 <= n <= 5, "S": 1 <= n <= 5}[region]


def levels_overlap(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two sets of levels name a common segment (a single level matches its segments)."""
    if a & b:
        return True
    singles_a = {x for x in a if "-" not in x}
    singles_b = {x for x in b if "-" not in x}
    return any(s in seg.split("-") for s in singles_a for seg in b) or any(
        s in seg.split("-") for s in singles_b for seg in a
    )


def form_of(text: str, concepts: tuple[str, ...], is_drug: bool) -> Form:
    """The form of one request heading."""
    return Form(route_of(text, concepts, is_drug), spinal_levels(text))
