"""Every command's readable output (not only --json) runs on the bundled sample without error."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus_paths import SAMPLE_DIR

from imr_graph.cli import main

FIRST = "000_a6fb61ff4979abe4"
COMMANDS = [
    ["stats"],
    ["show", FIRST],
    ["show", f"{FIRST.upper()}[2]"],
    ["search", "topical ketamine"],
    ["search", "topical ketamine", "--mode", "lexical"],
    ["precedents", "--request", "Norco 10/325 #90", "--summary", "low back pain", "--by-letter"],
    ["precedents", "--request", "Capsaicin cream", "--decision", "upheld", "--guideline", "MTUS"],
    ["precedents", "--request", "Ketamine 5% cream", "--format", "csv"],
    ["items", "--treatment", "Ketamine cream"],
    ["items", "--treatment", "Norco", "--format", "csv"],
    ["stats", "--by", "specialty"],
    ["stats", "--by", "year"],
    ["eval", "--mode", "graph", "--mode", "hybrid"],
    ["check"],
    ["sparql", "counts"],
    ["validate"],
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "store"
    res = CliRunner().invoke(main, ["ingest", str(SAMPLE_DIR), "--store", str(path)])
    assert res.exit_code == 0, res.output
    return path


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_readable_output(store: Path, args: list[str]) -> None:
    res = CliRunner().invoke(main, [*args, "--store", str(store)])
    assert res.exit_code == 0, res.output
    assert res.output.strip()
    assert "Traceback" not in res.output


def test_remove_then_show_is_one_clear_line(store: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["remove", FIRST, "--store", str(store)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["show", FIRST, "--store", str(store)])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [f"imr-graph: error: no letter '{FIRST}' in {store}"]


def test_a_request_without_words_is_one_line(store: Path) -> None:
    res = CliRunner().invoke(main, ["precedents", "--request", "???", "--store", str(store)])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        "imr-graph: error: --request '???' has no words: give the treatment asked for, "
        "e.g. --request 'Norco 10/325 #90'"
    ]


def test_show_prints_the_item_rationale_and_source(store: Path) -> None:
    second = "001_a6ef380ab53ef7f4"  # FIRST may have been removed by the test above
    res = CliRunner().invoke(main, ["show", f"{second}[0]", "--store", str(store)])
    assert res.exit_code == 0, res.output
    assert "rationale" in res.output and "source:" in res.output
    assert "[0] " in res.output.split("source:")[1]


@pytest.mark.parametrize("section", ["Topical Analgesics", "Opioids"])
def test_items_and_sparql_find_the_same_items_citing_a_section(store: Path, section: str) -> None:
    """`items --section` and the shipped `letters_citing_section` query agree item for item."""
    import csv
    import io
    import json

    runner = CliRunner()
    args = ["--store", str(store)]
    res = runner.invoke(main, ["items", "--section", section, "--format", "json", *args])
    assert res.exit_code == 0, res.output
    listed = {(r["letter"], r["item"]) for r in json.loads(res.output)}
    res = runner.invoke(
        main,
        ["sparql", "letters_citing_section", "--param", f"section={section}", "--format", "csv"]
        + args,
    )
    assert res.exit_code == 0, res.output
    rows = csv.DictReader(io.StringIO(res.output))
    assert listed and listed == {(r["letter"], int(r["position"])) for r in rows}


@pytest.mark.parametrize(
    ("by", "query"),
    [("category", "overturn_rate_by_treatment_category"), ("section", "overturn_rate_by_section")],
)
def test_outcome_counts_agree_across_cli_api_and_sparql(store: Path, by: str, query: str) -> None:
    """Items and overturned per group: `stats --by`, the Python API and the shipped SPARQL."""
    import json

    from imr_graph.explore.graph_queries import overturn_rates
    from imr_graph.rdf import sparql
    from imr_graph.store.sqlite import Store

    res = CliRunner().invoke(main, ["stats", "--by", by, "--json", "--store", str(store)])
    assert res.exit_code == 0, res.output
    cli = sorted((r["label"], r["items"], r["overturned"]) for r in json.loads(res.output))
    with Store.open(store, create=False) as s:
        api = sorted((r.label, r.items, r.overturned) for r in overturn_rates(s, by=by))
        names, rows = sparql(s, query)
    label = names.index(by if by == "section" else "category")
    items, over = names.index("items"), names.index("overturned")
    rdf = sorted((str(r[label]), int(r[items]), int(r[over])) for r in rows)
    assert cli == api
    if by == "section":  # the shipped query counts either side's citations: so can the API
        with Store.open(store, create=False) as s:
            api = sorted(
                (r.label, r.items, r.overturned) for r in overturn_rates(s, by=by, cited_by=None)
            )
    assert api == rdf
