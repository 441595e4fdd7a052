"""A request's form: a drug's route and the spinal levels, read from real request headings."""

from __future__ import annotations

import pytest

from kg.forms import COMPOUNDED, INJECTION, ORAL, PATCH, TOPICAL, form_of, levels_overlap
from kg.normalize import normalize_request


def _route(text: str) -> str | None:
    rc = normalize_request(text)
    return form_of(text, rc.treatments, any(c.startswith("drug:") for c in rc.treatments)).route


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("Gabapentin 600mg #90", ORAL),
        ("Fanatrex 25mg/ml oral suspension 420ml", ORAL),
        ("Three refills of Voltaren 75mg #60", ORAL),
        ("Lidoderm patches", PATCH),
        ("Salonpas pad #60", PATCH),
        ("Lidocaine ointment 5% #1", TOPICAL),
        ("Diclofenac sodium 3% 300mg/g #1", TOPICAL),  # a gel's strength, not 300 mg tablets
        ("Diclofenac ER 100mg #60", ORAL),
        ("Voltaren gel 1%", TOPICAL),
        ("Gabapentin 10%, Cyclobenzaprine 6%, Bupivacaine 5% in cream base", COMPOUNDED),
        ("Retrospective Lidopro 4%-27.5%-0.0325% 121gm #1, per 12/07/2016 order", COMPOUNDED),
        ("Compound Ketoprofen 20%, 240 grams", COMPOUNDED),
        ("Toradol 60mg IM", INJECTION),
        ("MRI of the lumbar spine", None),
    ],
)
def test_route(text: str, route: str | None) -> None:
    assert _route(text) == route


def test_spinal_levels_written_any_way_are_one_segment() -> None:
    assert form_of("ESI L4-5", (), False).levels == {"L4-L5"}
    assert form_of("ESI at L4-L5 and L5-S1", (), False).levels == {"L4-L5", "L5-S1"}
    assert form_of("Cervical ESI C5-6", (), False).levels == {"C5-C6"}
    assert levels_overlap(frozenset({"L4"}), frozenset({"L4-L5"}))
    assert not levels_overlap(frozenset({"L4-L5"}), frozenset({"L5-S1"}))
    assert not form_of("Norco 10/325 #90 for 1 month", (), True).levels
