"""Reviewer specialties as the ABMS names them, however a letter spells them.

Letters write "Anesthesia" and "Anesthesiology", "Pain Management" and "Pain Medicine", "Family
Practice", "Physical Medicine & Rehabilitation", and the reader sometimes keeps a stray letter of
the next word ("Sports Medicinea"). Counting by specialty needs one name each: the American Board
of Medical Specialties' board or subspecialty name; a specialty the ABMS does not certify
(Chiropractic, Acupuncture) keeps its written name.
"""

from __future__ import annotations

import re

from kg import ids

# folded written form -> ABMS member-board specialty or subspecialty certificate name
ABMS = {
    "anesthesia": "Anesthesiology",
    "anesthesiology": "Anesthesiology",
    "pain management": "Pain Medicine",
    "pain medicine": "Pain Medicine",
    "family practice": "Family Medicine",
    "family medicine": "Family Medicine",
    "orthopedic surgery": "Orthopaedic Surgery",
    "orthopaedic surgery": "Orthopaedic Surgery",
    "orthopedics": "Orthopaedic Surgery",
    "physical medicine and rehabilitation": "Physical Medicine and Rehabilitation",
    "physical medicine rehabilitation": "Physical Medicine and Rehabilitation",
    "hospice and palliative medicine": "Hospice and Palliative Medicine",
    "public health and general preventive medicine": (
        "Public Health and General Preventive Medicine"
    ),
    "preventive medicine": "Preventive Medicine",
    "occupational medicine": "Occupational Medicine",
    "hand surgery": "Surgery of the Hand",
    "surgery of the hand": "Surgery of the Hand",
    "sports medicine": "Sports Medicine",
    "internal medicine": "Internal Medicine",
    "emergency medicine": "Emergency Medicine",
    "neurology": "Neurology",
    "neurological surgery": "Neurological Surgery",
    "neurosurgery": "Neurological Surgery",
    "psychiatry": "Psychiatry",
    "psychology": "Psychology",
    "rheumatology": "Rheumatology",
    "surgery": "Surgery",
    "general surgery": "Surgery",
    "surgical critical care": "Surgical Critical Care",
    "medical toxicology": "Medical Toxicology",
    "neuromuscular medicine": "Neuromuscular Medicine",
    "chiropractor": "Chiropractic",
    "chiropractic": "Chiropractic",
}


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^a-z]+", " ", text.casefold().replace("&", " and ")).split())


def specialty_name(written: str) -> str:
    """The ABMS name of a written specialty (a stray last letter is forgiven), else as written."""
    key = _fold(written)
    if key in ABMS:
        return ABMS[key]
    if len(key) > 4 and key[:-1] in ABMS:  # "sports medicinea": the next word's first letter
        return ABMS[key[:-1]]
    return " ".join(written.split())


def specialty_facts(written: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(node id, ABMS name) per specialty, in written order, each name once."""
    names = dict.fromkeys(specialty_name(s) for s in written if s.strip())
    return tuple((ids.specialty_node(n), n) for n in names)


def specialty_names_for(needle: str) -> set[str]:
    """The names a search for `needle` should find: itself, and the ABMS name of every written
    form that holds it ("orthopedic" finds "Orthopaedic Surgery", "Pain Management" "Pain
    Medicine")."""
    key = _fold(needle)
    return {needle} | {name for written, name in ABMS.items() if key and key in written}
