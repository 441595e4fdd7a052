"""What each command prints on the bundled sample, checked the way a user would read it.

The sample is five letters, 16 disputed items (14 upheld, 2 overturned): the counts, the known
first answers and the summary block below were read off the letters, so a command that runs but
says something wrong fails here (tests/cli/test_cli_smoke.py only checks that each one runs).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus_paths import SAMPLE_DIR

from imr_graph.cli import main
from imr_graph.letters.parse import parse_file

FIRST = "000_a6fb61ff4979abe4"
MODEL = "sentence-transformers/all-MiniLM-L6-v2@onnx-int8"  # the default encoder


def run(*args: str) -> str:
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    return res.stdout  # progress bars go to stderr


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outputs") / "store"
    out = run("ingest", str(SAMPLE_DIR), "--store", str(path))
    assert out.splitlines()[-1] == (
        "stored 5 letter(s) (5 new, 0 replaced), 0 unchanged, 0 failed, 0 skipped; "
        "store has 5 letters, 16 items"
    )
    return path


@pytest.fixture()
def copy(store: Path, tmp_path: Path) -> Path:
    d = tmp_path / "store"
    shutil.copytree(store, d)
    return d


def _items(out: str) -> list[str]:
    """`letter[item] DECISION` of each result line of search."""
    return re.findall(r"^\s*[\d.]+ +(\w+\[\d+\]) +(UPHELD|OVERTURNED) ", out, re.M)


def _results(out: str) -> list[tuple[str, str]]:
    """`letter[item]`, DECISION of each numbered precedent result (case number else letter)."""
    found = re.findall(r"^\s*\d+\. (\S+) \[(\d+)\]  decided \S+  (upheld|overturned)", out, re.M)
    return [(f"{c}[{i}]", d.upper()) for c, i, d in found]


def test_ingest_again_changes_nothing(copy: Path) -> None:
    got = json.loads(run("ingest", str(SAMPLE_DIR), "--store", str(copy), "--json"))
    assert got["added"] == got["replaced"] == got["failed"] == []
    assert len(got["unchanged"]) == 5 and got["items_added"] == got["items_removed"] == 0
    assert got["store"] == {"letters": 5, "items": 16, "upheld": 14, "overturned": 2}


def test_stats(store: Path) -> None:
    lines = dict(ln.split(None, 1) for ln in run("stats", "--store", str(store)).splitlines()[:7])
    assert lines == {
        "letters": "5",
        "items": "16",
        "upheld": "14",
        "overturned": "2",
        "treatment_concepts": "23",
        "items_unmapped": "0",
        "coverage": "100.0%",
    }
    s = json.loads(run("stats", "--store", str(store), "--json"))
    assert s["nodes"]["disputed_item"] == 16 and s["nodes"]["letter"] == 5
    assert s["nodes"]["outcome"] == 2 and s["nodes"]["guideline_source"] == 3
    assert s["edges"] == 286  # 268 + 18 clinical facts the items state


def test_show(store: Path) -> None:
    out = run("show", FIRST, "--store", str(store))
    decisions = re.findall(r"^  \[(\d)\] (UPHELD|OVERTURNED) ", out, re.M)[:4]  # the items
    assert decisions == [("0", "UPHELD"), ("1", "UPHELD"), ("2", "UPHELD"), ("3", "UPHELD")]
    assert "reviewer: Anesthesiology, Pain Management (California)" in out
    assert "MAXIMUS: MTUS Chronic Pain Treatment Guidelines Topical Analgesics p.113" in out
    assert "shares a concept with 003_f7e1d4b1d59f344c[1] upheld: Ketamine cream 3 refills" in out


def test_search_modes(store: Path) -> None:
    dense = _items(run("search", "topical ketamine", "--mode", "dense", "--store", str(store)))
    assert len(dense) == 10
    assert {d[0] for d in dense[:2]} == {f"{FIRST}[2]", "003_f7e1d4b1d59f344c[1]"}
    lexical = _items(run("search", "topical ketamine", "--mode", "lexical", "--store", str(store)))
    # BM25 returns only the five items that hold "topical" or "ketamine"
    assert [d[0] for d in lexical[:2]] == ["003_f7e1d4b1d59f344c[1]", f"{FIRST}[2]"]
    assert len(lexical) == 5
    fused = _items(run("search", "topical ketamine", "--store", str(store)))  # the default
    assert len(fused) == 10  # the dense list's items, the lexical ones among them ranked up
    assert {d[0] for d in fused[:2]} == {f"{FIRST}[2]", "003_f7e1d4b1d59f344c[1]"}
    assert {d[0] for d in lexical} <= {d[0] for d in fused}


def _own_sentences() -> list[tuple[str, str]]:
    """(letter key, first sentence of 10+ words found in that letter's rationales only)."""
    letters = [parse_file(p) for p in sorted(SAMPLE_DIR.glob("*.txt"))]
    text = {x.key: " ".join(" ".join(it.rationale.split()) for it in x.items) for x in letters}
    out = []
    for x in letters:
        for it in x.items:
            own = [
                s.strip()
                for s in " ".join(it.rationale.split()).split(". ")
                if len(s.split()) >= 10 and sum(s.strip() in t for t in text.values()) == 1
            ]
            if own:
                out.append((x.key, own[0]))
    return out


def test_search_default_finds_the_letter_a_sentence_was_pasted_from(store: Path) -> None:
    asked = _own_sentences()
    assert len(asked) >= 10  # every sample letter, most of its items
    for key, sentence in asked:
        hits = json.loads(run("search", sentence, "--k", "3", "--store", str(store), "--json"))
        assert hits[0]["letter"] == key and hits[0]["verbatim"], sentence
        assert set(hits[0]["ranks"]) == {"dense", "lexical"}


def test_precedents_summary_counts(store: Path) -> None:
    out = run(
        "precedents", "--request", "Norco 10/325 #90", "--summary", "low back pain", "--store",
        str(store),
    )  # fmt: skip
    assert "treatment: Hydrocodone/acetaminophen" in out
    assert "same treatment in the store: 1 items, 1 upheld, 0 overturned" in out
    assert _results(out)[0] == ("004_030cb33236d584c4[3]", "UPHELD")
    assert "why: same treatment: Hydrocodone/acetaminophen" in out


@pytest.mark.parametrize(
    "request_text,same,first",
    [
        # one upheld, one overturned past item: a swap of the two counts shows only in order
        ("Spinal cord stimulator trial", (2, 1, 1), "002_e7994c1041a16335[0]"),
        # the one ESI item is a re-evaluation visit for an ESI: related, not counted
        ("epidural steroid injection L4-5", (0, 0, 0), "004_030cb33236d584c4[0]"),
        ("Ketamine cream", (2, 2, 0), "003_f7e1d4b1d59f344c[1]"),
    ],
)
def test_precedents_json_summary(store: Path, request_text: str, same: tuple, first: str) -> None:
    got = json.loads(run("precedents", "--request", request_text, "--store", str(store), "--json"))
    st = got["summary"]["same_treatment"]
    assert (st["n"], st["upheld"], st["overturned"]) == same
    pre = got["summary"]["precedents"]
    results = got["results"]
    assert pre["n"] == len(results) == 10
    assert pre["upheld"] == sum(r["decision"] == "upheld" for r in results)
    assert pre["overturned"] == sum(r["decision"] == "overturned" for r in results)
    assert f"{results[0]['letter']}[{results[0]['item']}]" == first


def test_precedents_filters_and_by_letter(store: Path) -> None:
    out = run(
        "precedents", "--request", "Capsaicin cream", "--decision", "upheld", "--guideline",
        "MTUS", "--store", str(store),
    )  # fmt: skip
    assert "same treatment in the store: 2 items, 2 upheld, 0 overturned" in out
    items = _results(out)
    assert items and all(d == "UPHELD" for _, d in items)
    assert items[0][0] == f"{FIRST}[3]"
    got = json.loads(
        run("precedents", "--request", "Capsaicin cream", "--by-letter", "--json", "--store",
            str(store))
    )  # fmt: skip
    groups = got["by_letter"]
    assert sum(len(g["items"]) for g in groups) == len(got["results"])
    letters = [g["letter"] for g in groups]
    assert len(letters) == len(set(letters))
    over = json.loads(
        run("precedents", "--request", "Capsaicin cream", "--decision", "overturned", "--json",
            "--store", str(store))
    )  # fmt: skip
    assert [r["decision"] for r in over["results"]] == ["overturned", "overturned"]


def test_eval(store: Path) -> None:
    out = run("eval", "--mode", "graph", "--mode", "hybrid", "--store", str(store))
    section_based = out.split("treatment-aware")[0].splitlines()[2:]
    rows = {ln.split()[0]: ln.split()[1:] for ln in section_based}
    assert set(rows) == {"graph", "hybrid"}
    assert rows["graph"][0] == rows["hybrid"][0] == "7"  # queries
    assert rows["hybrid"][2] == "1.000"  # Recall@10: every relevant item found on the sample
    assert float(rows["hybrid"][1]) > float(rows["graph"][1])


def test_check(store: Path) -> None:
    lines = run("check", "--store", str(store)).splitlines()
    assert len(lines) == 13 and all(ln.startswith("OK ") for ln in lines)  # 13: embedding cache
    assert any("5 letters, 16 items, JSON and rows agree" in ln for ln in lines)
    # specialties under ABMS names; 4 clinical fact nodes, 18 edges to them
    assert any("133 nodes, 286 edges" in ln for ln in lines)


def test_sparql_counts_and_validate(store: Path) -> None:
    got = json.loads(run("sparql", "counts", "--store", str(store), "--format", "json"))
    assert got == [{"letters": 5, "items": 16, "upheld": 14, "overturned": 2, "citations": 32}]
    out = run("validate", "--store", str(store))
    # specialties under ABMS names; + 18 clinical facts stated, 7 drug routes, 4 fact nodes x 2
    assert re.search(r"conforms \(1042 triples", out)


def test_reindex_gives_the_same_answers(copy: Path) -> None:
    before = run("search", "opioid weaning", "--store", str(copy), "--json")
    out = run("reindex", "--store", str(copy))
    assert re.fullmatch(rf"reindexed 16 items with {re.escape(MODEL)} in [\d.]+ s\n", out)
    got = json.loads(run("reindex", "--store", str(copy), "--json"))
    assert got["items"] == 16 and got["model"] == MODEL
    assert run("search", "opioid weaning", "--store", str(copy), "--json") == before
    assert all(ln.startswith("OK ") for ln in run("check", "--store", str(copy)).splitlines())
    folders = [p for p in (copy / "index").iterdir() if p.is_dir()]
    assert len(folders) == 1  # the previous index set is gone


def test_remove(copy: Path) -> None:
    got = json.loads(run("remove", FIRST, "--store", str(copy), "--json"))
    assert got == {
        "removed": FIRST,
        "items_removed": 4,
        "store": {"letters": 4, "items": 12, "upheld": 10, "overturned": 2},
    }
    assert all(ln.startswith("OK ") for ln in run("check", "--store", str(copy)).splitlines())
    hits = json.loads(run("search", "ketamine", "--store", str(copy), "--json"))
    assert hits and all(h["letter"] != FIRST for h in hits)
