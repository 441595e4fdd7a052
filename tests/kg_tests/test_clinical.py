"""Clinical facts read by rules from summaries, headings and rationales."""

from __future__ import annotations

import pytest

from kg.clinical import (
    CHRONIC,
    FAILED_CONSERVATIVE,
    LONG_TERM_USE,
    NO_RADICULOPATHY,
    POST_OP,
    RADICULOPATHY,
    clinical_facts,
)


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("status post arthroscopic rotator cuff repair 6 weeks ago", {POST_OP}),
        ("Post-op Norco 5/325mg #60", {POST_OP}),
        ("6 weeks after his knee arthroscopy", {POST_OP}),
        ("chronic low back pain, on opioids for months", {CHRONIC, LONG_TERM_USE}),
        ("radicular pain, MRI shows L4-5 disc protrusion", {RADICULOPATHY}),
        ("no radicular symptoms on examination", {NO_RADICULOPATHY}),
        ("failed conservative care including physical therapy", {FAILED_CONSERVATIVE}),
        ("injured in 2012, low back pain", set()),
    ],
)
def test_facts(text: str, facts: set[str]) -> None:
    assert clinical_facts(text) == facts


def test_the_guideline_applied_says_the_phase() -> None:
    assert POST_OP in clinical_facts("Physical therapy x12", ("gdoc:mtus-postsurgical",))
    assert CHRONIC in clinical_facts("Physical therapy x12", ("gdoc:mtus-chronic-pain",))
