"""Topic names come out without the punctuation around them in the letter.

"Opioids." and "Opioids" must be one guideline section node, so the readers strip the dots and
commas a letter leaves around each topic (mutation testing found no test held them to it).
"""

from __future__ import annotations

import pytest

from imr_graph.letters.citations import Citation, parse_guideline_paragraph

NON_MTUS = "Decision based on Non-MTUS Citation "


@pytest.mark.parametrize(
    "text,want",
    [
        (
            "Official Disability Guidelines (ODG) Pain Chapter; Opioids.; Weaning.",
            Citation("ODG", "Pain", None, ("Opioids", "Weaning"), ()),
        ),
        (
            "Official Disability Guidelines (ODG), Pain Chapter, Opioids, criteria for use.",
            Citation("ODG", "Pain", None, ("Opioids, criteria for use",), ()),
        ),
        (
            "American Association of Neurological Surgeons, Spinal cord stimulation., ",
            Citation(
                "OTHER", "American Association of Neurological Surgeons", None,
                ("Spinal cord stimulation",), (),
            ),
        ),
    ],
)  # fmt: skip
def test_topics_without_surrounding_punctuation(text: str, want: Citation) -> None:
    assert parse_guideline_paragraph(NON_MTUS + text) == (want,)
