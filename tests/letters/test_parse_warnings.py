"""Reading each item: the warnings name exactly the missing paragraph; partial certifications.

In process (the CLI tests of tests/letters/test_parse_bad_input.py run in a subprocess, out of
sight of mutation testing): a whole sample letter parses with no warning, and cutting one
paragraph out gives exactly the one warning that names it, for that item.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_paths import SAMPLE_DIR

from imr_graph.letters.parse import _partial, parse_file

SEED = SAMPLE_DIR / "004_030cb33236d584c4.txt"


def test_the_sample_letters_parse_without_warnings() -> None:
    for p in sorted(SAMPLE_DIR.glob("*.txt")):
        assert parse_file(p).warnings == (), p.name


@pytest.mark.parametrize(
    "start,stop,warning",
    [
        ("Claims Administrator guideline:", "MAXIMUS guideline:", "no Claims Administrator"),
        ("MAXIMUS guideline:", "Decision rationale:", "no MAXIMUS guideline paragraph"),
        ("Decision rationale:", "A-stim unit", "item 0: no decision rationale"),
    ],
)
def test_a_missing_paragraph_is_one_warning_for_its_item(
    tmp_path: Path, start: str, stop: str, warning: str
) -> None:
    text = SEED.read_text(encoding="utf-8")
    a = text.index(start)
    path = tmp_path / "cut.txt"
    path.write_text(text[:a] + text[text.index(stop, a) :], encoding="utf-8")
    got = parse_file(path)
    assert len(got.warnings) == 1 and got.warnings[0].startswith("item 0: "), got.warnings
    assert warning in got.warnings[0]
    want = parse_file(SEED)
    assert [i.decision for i in got.items] == [i.decision for i in want.items]
    assert got.items[1:] == want.items[1:]


@pytest.mark.parametrize(
    "heading,want",
    [
        (
            "Norco 10/325 #120 was the original request. Norco 10/325 #60 was authorized by the "
            "Claims Administrator. The remaining IMR eligible portion of the original request, "
            "Norco 10/325 #60 is",
            ("Norco 10/325 #60", "Norco 10/325 #120", "Norco 10/325 #60"),
        ),
        (
            "12 sessions of physical therapy was the original request. The Claims Administrator "
            "authorized 6 sessions, leaving the original request IMR eligible. The original "
            "request, 12 sessions of physical therapy is",
            ("12 sessions of physical therapy", "12 sessions of physical therapy", "6 sessions"),
        ),
        ("Prescription of Norco", ("Prescription of Norco", None, None)),
        (  # a request that begins with an X keeps it
            "X-rays of both knees was the original request. X-rays of the left knee was "
            "authorized by the Claims Administrator. The remaining IMR eligible portion of the "
            "original request, X-rays of the right knee is",
            ("X-rays of the right knee", "X-rays of both knees", "X-rays of the left knee"),
        ),
    ],
)
def test_partial_certification(heading: str, want: tuple) -> None:
    assert _partial(heading) == want


def test_decisions_and_maximus_citations_of_the_sample() -> None:
    """Read off the five letters by hand: without ../shared (the gold parses) nothing else
    pins what a decision or a MAXIMUS citation reads as."""
    letters = {p.stem[:3]: parse_file(p) for p in sorted(SAMPLE_DIR.glob("*.txt"))}
    decisions = {k: "".join(i.decision[0] for i in v.items) for k, v in letters.items()}
    assert decisions == {"000": "uuuu", "001": "u", "002": "ouuuu", "003": "uu", "004": "ouuu"}
    first = letters["000"].items[0].maximus_citations[0]
    assert (first.guideline, first.document, first.sections, first.pages) == (
        "MTUS",
        "Chronic Pain Treatment Guidelines",
        ("Spinal Cord Stimulators",),
        (101, 105, 106, 107),
    )
    esi = letters["004"].items[0].maximus_citations[0]
    assert (esi.sections, esi.pages) == (("Epidural steroid injections",), (46,))
    assert all(i.maximus_citations for v in letters.values() for i in v.items)


def test_a_partly_certified_item_reads_all_three_requests(tmp_path: Path) -> None:
    """Through the whole reader: the item is the remaining portion, and the original request
    and the authorized part are kept beside it."""
    text = SEED.read_text(encoding="utf-8").replace(
        "A-stim unit plus supplies for home use: Upheld",
        "A-stim unit plus supplies for 3 months was the original request. A-stim unit plus\n"
        "supplies for 1 month was authorized by the Claims Administrator. The remaining IMR\n"
        "eligible portion of the original request, A-stim unit plus supplies for 2 months is:\n"
        "Upheld",
    )
    path = tmp_path / "partial.txt"
    path.write_text(text, encoding="utf-8")
    item = parse_file(path).items[1]
    assert (item.request, item.original_request, item.authorized_portion, item.decision) == (
        "A-stim unit plus supplies for 2 months",
        "A-stim unit plus supplies for 3 months",
        "A-stim unit plus supplies for 1 month",
        "upheld",
    )


def test_a_colon_doubled_before_the_decision_is_not_part_of_the_request(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    path = tmp_path / "colon.txt"
    path.write_text(text.replace("home use: Upheld", "home use:: Upheld"), encoding="utf-8")
    assert parse_file(path).items[1].request == "A-stim unit plus supplies for home use"
