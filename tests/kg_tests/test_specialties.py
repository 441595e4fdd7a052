"""Reviewer specialties counted under their ABMS names, however the letters spell them."""

from __future__ import annotations

import pytest

from kg.specialties import specialty_facts, specialty_name


@pytest.mark.parametrize(
    ("written", "abms"),
    [
        ("Anesthesia", "Anesthesiology"),
        ("Anesthesiology", "Anesthesiology"),
        ("Pain Management", "Pain Medicine"),
        ("Sports Medicinea", "Sports Medicine"),  # a stray letter of the next word
        ("Physical Medicine & Rehabilitation", "Physical Medicine and Rehabilitation"),
        ("Family Practice", "Family Medicine"),
        ("Orthopedic Surgery", "Orthopaedic Surgery"),
        ("Acupuncture", "Acupuncture"),  # not an ABMS certificate: as written
    ],
)
def test_specialty_name(written: str, abms: str) -> None:
    assert specialty_name(written) == abms


def test_one_node_per_name_in_written_order() -> None:
    got = specialty_facts(("Anesthesia", "Pain Management", "Pain Medicine"))
    assert got == (
        ("specialty:anesthesiology", "Anesthesiology"),
        ("specialty:pain-medicine", "Pain Medicine"),
    )
