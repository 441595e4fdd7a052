"""Map the free text of IMR letters (requests, guideline citations) onto vocabulary concept ids.

requests: treatments, drugs, body regions and dosing; drugs: the drug library behind the drug
vocabulary; guidelines: sources, documents, editions and sections.
"""

from kg.normalize.drugs import drug_classes
from kg.normalize.guidelines import GuidelineRef, normalize_guideline, normalize_section
from kg.normalize.requests import (
    COMPOUNDED_TOPICAL,
    RequestConcepts,
    normalize_body_region,
    normalize_request,
    strip_dosing,
    unmapped_report,
)

__all__ = [
    "COMPOUNDED_TOPICAL",
    "GuidelineRef",
    "RequestConcepts",
    "drug_classes",
    "normalize_body_region",
    "normalize_guideline",
    "normalize_request",
    "normalize_section",
    "strip_dosing",
    "unmapped_report",
]
