"""Clinical facts read by rules from summaries, headings and rationales."""

from __future__ import annotations

import pytest

from kg.clinical import (
    ACUTE,
    CHRONIC,
    FAILED_CONSERVATIVE,
    LONG_TERM_USE,
    NO_RADICULOPATHY,
    POST_OP,
    RADICULOPATHY,
    clinical_facts,
    summary_facts,
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
        ("status post being punched in the face", set()),
        ("status post rib fracture T9-10", set()),
        ("status post-surgery February 2016", {POST_OP}),
    ],
)
def test_facts(text: str, facts: set[str]) -> None:
    assert clinical_facts(text) == facts


def test_the_guideline_applied_says_the_phase() -> None:
    assert POST_OP in clinical_facts("Physical therapy x12", ("gdoc:mtus-postsurgical",))
    assert CHRONIC in clinical_facts("Physical therapy x12", ("gdoc:mtus-chronic-pain",))


@pytest.mark.parametrize(
    ("summary", "facts"),
    [
        ("status post arthroscopic rotator cuff repair 6 weeks ago", {POST_OP}),
        ("chronic neck pain; status post lumbar fusion 1 week ago", {POST_OP}),
        ("6 weeks after his knee arthroscopy", {POST_OP}),
        ("post-op day 3 after ORIF of the ankle", {POST_OP}),
        ("status post cervical fusion in 2009, neck pain for years", {CHRONIC}),
        ("MRI showed postoperative changes at L5-S1", set()),
        ("status post cubital tunnel release and carpal tunnel release", set()),
        ("knee surgery 2 years ago", set()),
        ("injured 3 days ago lifting a box", {ACUTE}),
    ],
)
def test_a_summary_is_post_operative_only_after_a_recent_surgery(
    summary: str, facts: set[str]
) -> None:
    """A case summary tells the history: an old surgery makes a chronic case, not a
    post-operative request (MTUS Postsurgical covers months, not years)."""
    assert summary_facts(summary) == facts
