"""Node ids derived from content: the same letter always yields the same ids, in every view.

The networkx graph, the query arrays and the RDF export mint their nodes from these functions
only, so a letter, a specialty or a cited page is one node wherever it appears.
"""

from __future__ import annotations

import hashlib

from kg.vocab import fold


def slug(text: str, limit: int = 80) -> str:
    """A stable, URL-safe id fragment: folded words joined by '-' ('Low Back, Lumbar' ->
    'low-back-lumbar')."""
    return "-".join(fold(text).split())[:limit].strip("-") or "unspecified"


def item_int_id(letter_key: str, position: int) -> int:
    """A stable positive int64 for an item: the id its vectors carry in FAISS."""
    h = hashlib.blake2b(f"{letter_key}/{position}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") & 0x00FF_FFFF_FFFF_FFFF  # 56 bits: room for window numbers


def letter_node(letter_key: str) -> str:
    return f"letter:{letter_key}"


def case_node(letter_key: str) -> str:
    return f"case:{letter_key}"


def item_node(letter_key: str, position: int) -> str:
    return f"item:{letter_key}/{position}"


def rationale_node(letter_key: str, position: int) -> str:
    return f"rationale:{letter_key}/{position}"


def outcome_node(decision: str) -> str:
    return f"outcome:{decision}"


def specialty_node(specialty: str) -> str:
    """One node per reviewer specialty, however its letters spell it."""
    return f"specialty:{slug(specialty)}"


def edition_node(document_id: str, edition: str | None) -> str:
    """A cited edition of a guideline document ('unspecified' when the letter names none)."""
    return f"{document_id}@{edition or 'unspecified'}"


def page_node(edition: str, page: int) -> str:
    """A cited page of an edition node."""
    return f"{edition}/p{page}"


def section_node(document_id: str, words: str) -> str:
    """A section under its document; `words` is the normalized section name
    (kg.normalize.normalize_section makes it)."""
    return f"{document_id}/{words}"
