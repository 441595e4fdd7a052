"""The parser against the 25 hand-checked gold parses (../shared/gold), field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gold_report import gold_files, gold_source, score_all, table  # tests/ is on sys.path

from imr_graph.letters.parse import parse_file
from kg.model import letter_to_json

MIN_FIELD_SHARE = 0.99


def test_gold_fields_reproduced(shared: Path) -> None:
    totals, misses = score_all(shared)
    assert len(gold_files(shared)) >= 25
    ok = sum(sum(v) for v in totals.values())
    n = sum(len(v) for v in totals.values())
    assert n > 0
    assert ok / n >= MIN_FIELD_SHARE, "gold fields reproduced:\n" + table(totals, misses)


def test_gold_item_counts_and_decisions_exact(shared: Path) -> None:
    """Item count and decisions are the graph's backbone: no miss tolerated."""
    wrong = []
    for g in gold_files(shared):
        gold = json.loads(g.read_text(encoding="utf-8"))
        parsed = letter_to_json(parse_file(gold_source(shared, g.stem)))
        got = [(i["request"], i["decision"]) for i in parsed["items"]]
        want = [(" ".join(i["request"].split()), i["decision"]) for i in gold["items"]]
        if [d for _, d in got] != [d for _, d in want] or len(got) != len(want):
            wrong.append(f"{g.stem}: {got} != {want}")
    assert not wrong, "\n".join(wrong)


def test_gold_json_shape(shared: Path) -> None:
    """Every field SCHEMA.md names is present with the right type, on every gold letter."""
    for g in gold_files(shared):
        gold = json.loads(g.read_text(encoding="utf-8"))
        parsed = letter_to_json(parse_file(gold_source(shared, g.stem)))
        json.dumps(parsed)  # serialisable
        for key in ("letter", "case_number", "priority", "dates", "reviewer", "patient", "items"):
            assert key in parsed, (g.stem, key)
        assert set(gold["dates"]) <= set(parsed["dates"])
        for item in parsed["items"]:
            assert item["decision"] in ("upheld", "overturned")
            assert isinstance(item["request"], str) and item["request"]
            for side in ("claims_administrator_citations", "maximus_citations"):
                for c in item[side]:
                    assert c["guideline"] in ("MTUS", "ODG", "ACOEM", "OTHER")
                    assert c["year"] is None or isinstance(c["year"], int)
                    assert all(isinstance(p, int) for p in c["pages"])


SAMPLES = sorted((Path(__file__).resolve().parents[2] / "imr_graph" / "sample").glob("*.txt"))


@pytest.mark.parametrize("bundled", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_bundled_samples_match_shared_seeds(shared: Path, bundled: Path) -> None:
    """The seed letters bundled in the package are the ones the gold files were made from."""
    stem = bundled.stem
    seed = shared / "letters" / f"{stem}.txt"
    if not seed.exists():
        pytest.skip(f"{seed} absent")
    assert bundled.read_bytes() == seed.read_bytes()
