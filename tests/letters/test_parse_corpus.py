"""All 140 real letters (../shared/data/external/dwc-imr-letters-imrcrawler) parse soundly."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

RATIONALE = re.compile(r"Decision\s+rationale\s*:", re.I)
GUIDELINE_LABEL = re.compile(
    r"Claims\s+Administrator\s+guideline\s*:|MAXIMUS\s+guideline\s*:", re.I
)
MIN_MANIFEST_AGREEMENT = 0.95
PROSE_IN_REQUEST = re.compile(r"medically\s+necessary|\bguidelines?\s+(?:state|recommend)", re.I)
# a rationale ends a sentence, or at least its conclusion ('... is not medically necessary')
RATIONALE_END = re.compile(r"(?:[.!?][\"'”’)\]]*|\bnecessary)\s*$")


def test_corpus_is_complete(corpus) -> None:
    assert len(corpus) == 140


def test_every_pdf_parses(corpus) -> None:
    errors = [f"{stem}: {p.error}" for stem, p in corpus.items() if p.error is not None]
    assert not errors, "\n".join(errors)


def test_item_count_equals_rationale_paragraphs(corpus) -> None:
    wrong = []
    for stem, p in corpus.items():
        if p.letter is None:
            continue
        n_rat = len(RATIONALE.findall(p.text))
        if len(p.letter.items) != n_rat:
            wrong.append(f"{stem}: {len(p.letter.items)} items, {n_rat} 'Decision rationale:'")
    assert not wrong, "\n".join(wrong)


def test_items_are_complete(corpus) -> None:
    wrong = []
    for stem, p in corpus.items():
        if p.letter is None:
            continue
        assert p.letter.items, stem
        for it in p.letter.items:
            where = f"{stem} item {it.position} ({it.request[:40]})"
            if not it.request.strip():
                wrong.append(f"{where}: empty request")
            if not it.rationale.strip():
                wrong.append(f"{where}: empty rationale")
            if it.decision not in ("upheld", "overturned"):
                wrong.append(f"{where}: decision {it.decision!r}")
            if GUIDELINE_LABEL.search(it.rationale):
                wrong.append(f"{where}: rationale runs into the next item's guideline labels")
            if RATIONALE.search(it.rationale):
                wrong.append(f"{where}: rationale holds another 'Decision rationale:'")
            if re.search(r":\s*(?:Upheld|Overturned)\s*$", it.request, re.I):
                wrong.append(f"{where}: request keeps its decision")
            if len(it.request) > 300 or PROSE_IN_REQUEST.search(it.request):
                wrong.append(f"{where}: request holds rationale prose: {it.request[:120]!r}")
            if not RATIONALE_END.search(it.rationale):
                wrong.append(f"{where}: rationale cut short: ...{it.rationale[-60:]!r}")
    assert not wrong, "\n".join(wrong)


def test_letters_have_their_header(corpus) -> None:
    """Every real letter has the 2016 header block (SOURCE.md): it must be read."""
    wrong = []
    for stem, p in corpus.items():
        if p.letter is None:
            continue
        L = p.letter
        if L.case_number != stem or L.format != "2016" or L.warnings:
            wrong.append(f"{stem}: case {L.case_number}, format {L.format}, {L.warnings}")
        if not (L.dates.decision_date and L.dates.date_assigned and L.reviewer.specialties):
            wrong.append(f"{stem}: missing decision date, date assigned or specialties")
    assert not wrong, "\n".join(wrong)


def _manifest(pdf_dir: Path) -> dict[str, dict[str, str]]:
    path = pdf_dir.parent / "manifest.csv"
    if not path.exists():
        pytest.skip(f"{path} absent")
    with path.open(newline="", encoding="utf-8") as f:
        return {row["case_number"]: row for row in csv.DictReader(f)}


def test_decisions_agree_with_manifest(corpus, pdf_dir: Path) -> None:
    """The manifest's counts are a rough regex: report disagreements, demand 95 % agreement."""
    manifest = _manifest(pdf_dir)
    agree, differ = 0, []
    for stem, p in corpus.items():
        row = manifest.get(stem)
        if p.letter is None or row is None:
            continue
        up = sum(1 for it in p.letter.items if it.decision == "upheld")
        over = len(p.letter.items) - up
        want = (int(row["n_upheld"]), int(row["n_overturned"]))
        if (up, over) == want:
            agree += 1
        else:
            differ.append(f"{stem}: parsed {up} upheld/{over} overturned, manifest {want}")
    total = agree + len(differ)
    assert total >= 130, f"only {total} letters matched to the manifest"
    if differ:
        print("manifest disagreements:\n" + "\n".join(differ))
    assert agree / total >= MIN_MANIFEST_AGREEMENT, "\n".join(differ)


def test_manifest_header_dates_agree(corpus, pdf_dir: Path) -> None:
    """The manifest's header dates were read by another tool: they must match ours."""
    manifest = _manifest(pdf_dir)
    differ = []
    for stem, p in corpus.items():
        row = manifest.get(stem)
        if p.letter is None or row is None:
            continue
        for key in ("date_assigned", "decision_date", "ur_denial_date", "date_of_injury"):
            if not row[key]:
                continue
            m, d, y = row[key].split("/")
            iso = f"{y}-{int(m):02d}-{int(d):02d}"
            if getattr(p.letter.dates, key) != iso:
                differ.append(f"{stem}: {key} {getattr(p.letter.dates, key)} != {iso}")
    assert len(differ) <= 0.05 * len(corpus) * 4, "\n".join(differ)
