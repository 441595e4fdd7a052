"""Clinical facts that decide between guidelines, read from a summary or rationale by rules.

Post-operative care falls under the Postsurgical Treatment Guidelines, chronic pain under the
Chronic Pain guidelines; an ESI needs radiculopathy; most treatments need failed conservative
care first; a drug taken for months is judged on documented benefit. Deterministic patterns
(no model), the same for a new request's summary and a stored item's heading and rationale.
"""

from __future__ import annotations

import re

POST_OP = "post-operative"
ACUTE = "acute"
CHRONIC = "chronic"
FAILED_CONSERVATIVE = "failed conservative care"
RADICULOPATHY = "radiculopathy"
NO_RADICULOPATHY = "no radiculopathy"
LONG_TERM_USE = "on the drug for months"
FACTS = (
    POST_OP,
    ACUTE,
    CHRONIC,
    FAILED_CONSERVATIVE,
    RADICULOPATHY,
    NO_RADICULOPATHY,
    LONG_TERM_USE,
)
# facts that exclude each other: a request of one is not served by a precedent of the other
OPPOSITE = {
    POST_OP: CHRONIC,
    CHRONIC: POST_OP,
    RADICULOPATHY: NO_RADICULOPATHY,
    NO_RADICULOPATHY: RADICULOPATHY,
}
PHASES = frozenset({POST_OP, ACUTE, CHRONIC})
POSTSURGICAL_DOCUMENTS = frozenset({"gdoc:mtus-postsurgical"})
CHRONIC_DOCUMENTS = frozenset({"gdoc:mtus-chronic-pain", "odg:pain"})

_SURGERY = (
    r"(?:surg\w*|operation|repair|arthroscop\w*|fusion|laminectomy|discectomy|arthroplasty|replacement|"
    r"decompression|release|reconstruction|menisectomy|meniscectomy|ORIF)"
)
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (fact, re.compile(pattern, re.IGNORECASE))
    for fact, pattern in (
        (
            POST_OP,
            rf"\bpost[- ]?op(?:erative(?:ly)?)?\b|\bpostoperative\w*|"
            rf"\bpost[- ]?surgical\b|\bassociated surgical service|"
            rf"\b(?:status[- ]post|s/p|after|following|since)[- ]+(?:(?:the|his|her|a|an)\s+)?"
            rf"(?:[\w-]+\s+){{0,4}}{_SURGERY}",
        ),
        (ACUTE, r"\bacute\b|\brecent (?:injury|onset)\b|\b\d+\s+days? ago\b"),
        (
            CHRONIC,
            r"\bchronic\b|\bfor (?:several |many |\d+ )?(?:months|years)\b|"
            r"\b(?:months|years) of (?:pain|treatment)\b|\blong[- ]standing\b",
        ),
        (
            FAILED_CONSERVATIVE,
            r"\bfail(?:ed|ure of|s)?\s+(?:\w+\s+){0,2}(?:conservative|physical therapy|PT|"
            r"medications?|NSAIDs?|oral|first[- ]line)|\bdespite\s+(?:\w+\s+){0,2}"
            r"(?:conservative|physical therapy|medications?)|\bconservative (?:care|treatment|"
            r"management) (?:has |have )?(?:failed|without)",
        ),
        (
            NO_RADICULOPATHY,
            r"\b(?:no|without|denies|absence of|lack of)\s+(?:\w+\s+){0,3}"
            r"(?:radicul\w*|radiating|sciatica)",
        ),
        (
            RADICULOPATHY,
            r"\bradicul\w*|\bradiat(?:ing|es|ion) (?:pain )?(?:to|down|into)|\bsciatica\b",
        ),
        (
            LONG_TERM_USE,
            r"\b(?:on|taking|using|prescribed|used)\s+(?:\w+\s+){0,4}(?:for|since)\s+"
            r"(?:(?:at least|over|more than|several|many|\d+)\s+)?(?:months|years)\b|"
            r"\blong[- ]term (?:use|opioid|therapy)|\bchronic opioid\b|\bsince at least\b",
        ),
    )
)


# a surgery dated within the post-surgical treatment period (MTUS Postsurgical: up to 6 months)
_RECENT = re.compile(
    rf"{_SURGERY}\W+(?:[\w/-]+\W+){{0,6}}?(?:(?:\d+|one|two|three|four|five|six|a few|several)"
    rf"\s+(?:days?|weeks?)|(?:[1-6]|one|two|three|four|five|six)\s+months?)\s+ago\b|"
    rf"\bpost[- ]?op(?:erative)?\s+(?:day|week)\s+\d+|\b(?:\d+|one|two|three|four|five|six)"
    rf"\s+(?:days?|weeks?)\s+(?:after|following|post[- ]?op\w*)\b",
    re.IGNORECASE,
)


def summary_facts(summary: str) -> frozenset[str]:
    """The facts of a case summary for a new request: as `clinical_facts`, but post-operative
    only where a surgery is dated within the post-surgical period ("repair 6 weeks ago",
    "post-op day 3"). A summary tells the history: "status post fusion (2010)" of an old
    surgery, "post-operative changes" on an MRI, describe a chronic case."""
    found = set(clinical_facts(summary))
    if _RECENT.search(summary):
        found.add(POST_OP)
        found.discard(CHRONIC)
    else:
        found.discard(POST_OP)
    return frozenset(found)


def clinical_facts(text: str, documents: tuple[str, ...] = ()) -> frozenset[str]:
    """The facts the text states (radiculopathy stated and denied counts as denied); an item
    whose reviewer applied the Postsurgical Treatment Guidelines is post-operative, one judged
    under the chronic pain guidelines (MTUS Chronic Pain, ODG Pain) chronic."""
    found = {fact for fact, rule in _RULES if rule.search(text)}
    if NO_RADICULOPATHY in found:
        found.discard(RADICULOPATHY)
    if POSTSURGICAL_DOCUMENTS.intersection(documents):
        found.add(POST_OP)
    elif CHRONIC_DOCUMENTS.intersection(documents) and POST_OP not in found:
        found.add(CHRONIC)
    return frozenset(found)


def item_clinical_facts(
    request: str, rationale: str, documents: tuple[str, ...] = ()
) -> frozenset[str]:
    """A decided item's facts: the phase of care (post-operative, acute, chronic) from its
    heading and the guideline the reviewer applied only (a rationale's history says "status
    post" of old surgeries and "chronic" of most patients), the others from the rationale too."""
    told = clinical_facts(rationale) - PHASES
    return clinical_facts(request, documents) | told


def fact_id(fact: str) -> str:
    """The graph id of a clinical fact ("clinical:post-operative")."""
    return "clinical:" + re.sub(r"[^a-z0-9]+", "-", fact.lower()).strip("-")
