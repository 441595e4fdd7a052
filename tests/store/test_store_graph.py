"""The graph and the store on the real letters: counts, idempotence, removal, coverage."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import networkx as nx
import pytest
from corpus_paths import SAMPLE_DIR, all_letter_paths

from imr_graph.errors import StoreError
from imr_graph.explore.stats import store_stats
from imr_graph.letters.parse import parse_file
from imr_graph.store.ingest import ingest
from imr_graph.store.sqlite import Store
from kg import graph as G


def _graph_signature(g: nx.MultiDiGraph) -> tuple:
    nodes = sorted((n, json.dumps(d, sort_keys=True, default=str)) for n, d in g.nodes(data=True))
    edges = sorted(
        (u, v, k, json.dumps(d, sort_keys=True, default=str))
        for u, v, k, d in g.edges(keys=True, data=True)
    )
    return tuple(nodes), tuple(edges)


@pytest.fixture(scope="module")
def corpus_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    paths = all_letter_paths()
    folder = tmp_path_factory.mktemp("corpus")
    store = Store.open(folder / "store")
    t0 = time.perf_counter()
    report = ingest(store, paths)
    store.ingest_seconds = time.perf_counter() - t0  # type: ignore[attr-defined]
    assert not report.failed, report.failed
    return store


def test_counts_consistent_with_parsed_letters(corpus_store: Store) -> None:
    letters = list(corpus_store.letters().values())
    g = corpus_store.graph
    kinds = G.kind_counts(g)
    n_items = sum(len(x.items) for x in letters)
    assert kinds[G.LETTER] == len(letters) == corpus_store.counts()["letters"]
    assert kinds[G.ITEM] == n_items == corpus_store.counts()["items"]
    assert kinds[G.RATIONALE] == n_items
    assert kinds[G.CASE] == len(letters)
    assert kinds[G.OUTCOME] == len({i.decision for x in letters for i in x.items})
    rels = store_stats(corpus_store)["edges_by_relation"]
    assert rels[G.HAS_ITEM] == n_items
    assert rels[G.DECIDED] == n_items
    assert rels[G.HAS_RATIONALE] == n_items
    # every (item, side, section) the parser read is one cites_section edge
    expected_sections = {
        (x.key, i.position, side, s)
        for x in letters
        for i in x.items
        for side, cites in (
            ("maximus", i.maximus_citations),
            ("claims_administrator", i.claims_administrator_citations),
        )
        for c in cites
        for s in c.sections
    }
    got = {
        (g.nodes[u]["letter"], g.nodes[u]["position"], d["by"], g.nodes[v]["label"])
        for u, v, d in g.edges(data=True)
        if d["rel"] == G.CITES_SECTION
    }
    # section nodes are normalized, so spellings may merge: compare per (item, side) counts
    assert {k[:3] for k in got} == {k[:3] for k in expected_sections}
    for n, d in g.nodes(data=True):
        if d["kind"] == G.ITEM:
            assert sum(1 for _, _, e in g.out_edges(n, data=True) if e["rel"] == G.DECIDED) == 1


def test_treatment_coverage_at_least_95_percent(corpus_store: Store) -> None:
    s = store_stats(corpus_store)
    assert s["coverage"] >= 0.95, "unmapped requests:\n" + "\n".join(s["unmapped_requests"])
    assert s["treatment_concepts"] > 30


def test_normalization_makes_letters_meet(corpus_store: Store) -> None:
    g = corpus_store.graph
    # the concept shared by the most items joins several letters
    best = max(
        (n for n, d in g.nodes(data=True) if d["kind"] == G.TREATMENT),
        key=lambda n: g.in_degree(n),
    )
    letters = {
        g.nodes[u]["letter"] for u, _, d in g.in_edges(best, data=True) if d["rel"] == G.REQUESTS
    }
    assert len(letters) >= 5


def test_ingest_is_fast(corpus_store: Store) -> None:
    # parse + graph-ready store for 145 letters: well under a minute (measured, not a timed target)
    assert corpus_store.ingest_seconds < 60  # type: ignore[attr-defined]


def test_reingest_is_idempotent(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s")
    ingest(store, [SAMPLE_DIR])
    before = _graph_signature(store.graph)
    gen = store.generation
    report = ingest(store, [SAMPLE_DIR])
    assert report.added == () and report.replaced == ()
    assert len(report.unchanged) == 5
    assert store.generation == gen
    assert _graph_signature(store.graph) == before
    reopened = Store.open(tmp_path / "s")
    assert _graph_signature(reopened.graph) == before


def test_remove_then_reingest_gives_identical_graph(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s")
    ingest(store, [SAMPLE_DIR])
    before = _graph_signature(store.graph)
    ids_before = [r[0] for r in store.item_rows()]
    victim = sorted(store.letters())[2]
    store.remove(victim)
    g = store.graph
    assert G.letter_node(victim) not in g
    assert not [n for n, d in g.nodes(data=True) if d.get("letter") == victim]
    # nothing left dangling: every non-letter node is still reached from some item or letter
    fresh = G.build_graph(Store.open(tmp_path / "s").letters().values())
    assert _graph_signature(g) == _graph_signature(fresh)
    ingest(store, [SAMPLE_DIR])
    assert _graph_signature(store.graph) == before
    assert [r[0] for r in store.item_rows()] == ids_before


def _sample_store(path: Path) -> Store:
    store = Store.open(path)
    ingest(store, [SAMPLE_DIR])
    store.close()
    return Store.open(path)  # nothing read or cached yet


def test_remove_from_a_freshly_opened_store(tmp_path: Path) -> None:
    """remove() on a store whose letters were never read (what `imr-graph remove` does)."""
    store = _sample_store(tmp_path / "s")
    victim = "000_a6fb61ff4979abe4"
    want_ids = sorted(G.item_int_id(victim, p) for p in range(4))
    gen = store.generation
    removed = store.remove(victim)
    assert sorted(removed) == want_ids  # exactly the letter's items
    assert store.generation == gen + 1  # one commit, one generation
    assert store.letter(victim) is None and store.find_letter(victim) is None
    assert store.items_by_id(want_ids) == {}
    assert store.counts() == {"letters": 4, "items": 12, "upheld": 10, "overturned": 2}
    assert victim not in store.letters()
    again = Store.open(tmp_path / "s")  # and it is committed: another connection sees it
    assert victim not in again.letters() and len(again.item_rows()) == 12
    assert not again.db.execute("SELECT 1 FROM letters WHERE key=?", (victim,)).fetchone()


def test_remove_updates_what_the_store_has_cached(tmp_path: Path) -> None:
    store = _sample_store(tmp_path / "s")
    assert len(store.letters()) == 5 and store.graph is not None  # cache letters and graph
    victim = "002_e7994c1041a16335"
    store.remove(victim)
    assert victim not in store.letters()
    assert store.letter(victim) is None
    assert G.letter_node(victim) not in store.graph
    other = "003_f7e1d4b1d59f344c"
    assert store.letter(other) is not None and G.letter_node(other) in store.graph


def test_remove_leaves_other_letters_alone(tmp_path: Path) -> None:
    store = _sample_store(tmp_path / "s")
    before = {k: v.sha256 for k, v in Store.open(tmp_path / "s").letters().items()}
    rows_before = [r for r in store.item_rows() if r[1] != "001_a6ef380ab53ef7f4"]
    store.remove("001_a6ef380ab53ef7f4")
    after = {k: v.sha256 for k, v in Store.open(tmp_path / "s").letters().items()}
    assert after == {k: v for k, v in before.items() if k != "001_a6ef380ab53ef7f4"}
    assert store.item_rows() == rows_before


def test_changed_letter_replaces_its_nodes(tmp_path: Path) -> None:
    src = tmp_path / "letters"
    src.mkdir()
    original = sorted(SAMPLE_DIR.glob("*.txt"))[0]
    target = src / original.name
    shutil.copy(original, target)
    store = Store.open(tmp_path / "s")
    ingest(store, [src])
    key = next(iter(store.letters()))
    n_items = len(store.letter(key).items)
    text = target.read_text()
    # drop the last item: its heading, citations and rationale
    cut = text.rindex("Claims Administrator guideline")
    head = text[:cut].rstrip()
    head = head[: head.rstrip().rfind("\n")]
    target.write_text(head + "\n")
    report = ingest(store, [src])
    assert report.replaced == (key,)
    assert len(store.letter(key).items) == n_items - 1
    assert G.item_node(key, n_items - 1) not in store.graph
    fresh = G.build_graph([parse_file(target)])
    assert _graph_signature(store.graph) == _graph_signature(fresh)


def test_store_survives_restart_and_loads_fast(corpus_store: Store) -> None:
    t0 = time.perf_counter()
    again = Store.open(corpus_store.path)
    g = again.graph
    elapsed = time.perf_counter() - t0
    assert g.number_of_nodes() == corpus_store.graph.number_of_nodes()
    assert elapsed < 10


def test_bad_files_reported_good_ones_kept(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(sorted(SAMPLE_DIR.glob("*.txt"))[0], src / "good.txt")
    (src / "empty.txt").write_text("")
    (src / "junk.pdf").write_bytes(b"\x00\x01garbage" * 50)
    store = Store.open(tmp_path / "s")
    report = ingest(store, [src])
    assert len(report.added) == 1
    assert sorted(Path(p).name for p, _ in report.failed) == ["empty.txt", "junk.pdf"]
    assert store.counts()["letters"] == 1


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path / "s").close()
    db = sqlite3.connect(tmp_path / "s" / "store.sqlite")
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="upgrade imr-graph"):
        Store.open(tmp_path / "s")


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store"):
        Store.open(tmp_path / "nothing", create=False)


def test_notebook_api_traversals_agree_with_the_letters(corpus_store: Store) -> None:
    from imr_graph.explore import graph_queries as api
    from kg.normalize import normalize_request

    store = api.load_store(corpus_store.path)
    letters = store.letters()
    # items for a brand name: every item whose request normalizes to the generic concept
    target = normalize_request("Flexeril 10mg").treatments[0]
    want = {
        G.item_node(k, i.position)
        for k, x in letters.items()
        for i in x.items
        if target in normalize_request(i.request).treatments
    }
    got = set(api.items_for_treatment(store, "Flexeril 10mg", narrower=False))
    assert want and got == want
    # letters citing an MTUS page, as the parser read the citations
    page_node = next(n for n, d in store.graph.nodes(data=True) if d["kind"] == G.PAGE)
    page = store.graph.nodes[page_node]["page"]
    doc_letters = set(api.letters_citing(store, page_node))
    cited = {
        k
        for k, x in letters.items()
        for i in x.items
        for c in (*i.maximus_citations, *i.claims_administrator_citations)
        if page in c.pages
    }
    assert doc_letters and doc_letters <= cited
    # overturn rates add up to the store's counts
    rates = api.overturn_rates(store, by="treatment")
    assert sum(r.items for r in rates) == store.counts()["items"]
    assert sum(r.overturned for r in rates) == store.counts()["overturned"]
    assert api.find_nodes(store, G.TREATMENT, "cyclobenzaprine")
