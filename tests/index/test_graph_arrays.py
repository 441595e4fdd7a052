"""The query arrays say what the networkx graph says, survive updates and saves, and filter alike.

The graph (kg.graph.build_graph) is the reference: the arrays are built separately from the same
letters, so every relation the precedent engine reads is compared item by item.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from corpus_paths import SAMPLE_DIR, shared_dir
from hypothesis import given, settings
from hypothesis import strategies as st

from imr_graph.index.arrays import _ARRAYS, FORMAT, GraphArrays
from imr_graph.letters.parse import parse_file
from imr_graph.query.filters import Filters, filter_mask
from imr_graph.query.sections import concept_section_weights, section_weights
from kg import graph as G
from kg.model import Letter
from kg.specialties import specialty_names_for


def _letters() -> list[Letter]:
    """The sample, plus the real PDFs when ../shared is there (the filters need variety)."""
    paths = sorted(SAMPLE_DIR.glob("*.txt"))
    pdfs = sorted((shared_dir() / "data/external/dwc-imr-letters-imrcrawler/pdf").glob("*.pdf"))
    return [parse_file(p) for p in [*paths, *pdfs[:60]]]


@pytest.fixture(scope="module")
def letters() -> list[Letter]:
    return _letters()


@pytest.fixture(scope="module")
def graph(letters: list[Letter]) -> nx.MultiDiGraph:
    return G.build_graph(letters)


@pytest.fixture(scope="module")
def arrays(letters: list[Letter]) -> GraphArrays:
    return GraphArrays.build(letters)


def _node(a: GraphArrays, i: int) -> str:
    return G.item_node(a.letter_of(i), a.position_in_letter(i))


def _same(x: GraphArrays, y: GraphArrays) -> None:
    for name in _ARRAYS:
        assert np.array_equal(np.asarray(x.a[name]), np.asarray(y.a[name])), name
    assert x.tables == y.tables


def test_every_item_relation_matches_the_graph(arrays: GraphArrays, graph: nx.MultiDiGraph):
    items = [n for n, d in graph.nodes(data=True) if d["kind"] == G.ITEM]
    assert arrays.n == len(items) > 0
    assert sorted(_node(arrays, i) for i in range(arrays.n)) == sorted(items)
    for i in range(arrays.n):
        n = _node(arrays, i)
        d = graph.nodes[n]
        assert arrays.item_ids[i] == d["int_id"]
        assert arrays.decision(i) == d["decision"]
        assert arrays.date(i) == d.get("decision_date")
        assert arrays.item_concepts(i) == G.out_nodes(graph, n, G.REQUESTS)
        assert sorted(arrays.item_regions(i)) == sorted(G.out_nodes(graph, n, G.CONCERNS_REGION))
        got = sorted(arrays.sections[s] for s in arrays.item_sections(i))
        assert got == sorted(G.out_nodes(graph, n, G.CITES_SECTION, "maximus"))
        assert arrays.item_route(i) == d["route"]
        heads = [v for _, v, e in graph.out_edges(n, data=True) if e.get("head")]
        assert sorted(arrays.item_heads(i)) == sorted(heads) and heads
        facts = {graph.nodes[f]["label"] for f in G.out_nodes(graph, n, G.STATES_FACT)}
        assert arrays.item_facts(i) == facts
    routes = {graph.nodes[n]["route"] for n in items}
    assert {"oral", None} <= routes  # the sample alone holds oral drugs and procedures
    assert any(G.out_nodes(graph, n, G.STATES_FACT) for n in items)


def test_inverse_relations_labels_and_hierarchy_match(arrays: GraphArrays, graph):
    for nid, d in graph.nodes(data=True):
        kind = d["kind"]
        if kind == G.TREATMENT:
            items = sorted(_node(arrays, i) for i in arrays.items_of(nid))
            assert items == sorted(G.in_nodes(graph, nid, G.REQUESTS))
            assert sorted(arrays.parents(nid)) == sorted(G.out_nodes(graph, nid, G.BROADER))
            assert sorted(arrays.children.get(nid, [])) == sorted(G.in_nodes(graph, nid, G.BROADER))
        if kind == G.SECTION and G.in_nodes(graph, nid, G.CITES_SECTION):
            assert arrays.label(nid) == d["label"]
        if kind in (G.TREATMENT, G.REGION, G.SPECIALTY, G.CATEGORY):
            assert arrays.label(nid) == d["label"], nid
    for s, sid in enumerate(arrays.sections):
        citing = {
            u
            for u, _, e in graph.in_edges(sid, data=True)
            if e["rel"] == G.CITES_SECTION and e.get("by") == "maximus"
        }
        assert {_node(arrays, i) for i in arrays.section_items(s)} == citing
        assert arrays.idf[s] == pytest.approx(np.log((1 + arrays.n) / (1 + len(citing))))


def test_ids_map_back_to_positions(arrays: GraphArrays) -> None:
    pos = arrays.positions(np.asarray(arrays.item_ids)[::-1])
    assert list(pos) == list(range(arrays.n))[::-1]
    assert arrays.positions(np.array([-1, 7], np.int64)).tolist() == [-1, -1]


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_updates_equal_a_fresh_build(data: st.DataObject) -> None:
    letters = _SMALL
    keys = [x.key for x in letters]
    first = data.draw(st.sets(st.sampled_from(keys)))
    second = data.draw(st.sets(st.sampled_from(keys)))
    drop = data.draw(st.sets(st.sampled_from(keys)))
    by = {x.key: x for x in letters}
    a = GraphArrays.build([by[k] for k in sorted(first)])
    a = a.updated(drop, [by[k] for k in sorted(second)])
    want = (set(first) - drop) | set(second)
    fresh = GraphArrays.build([by[k] for k in sorted(want)])
    for name in _ARRAYS:
        assert np.array_equal(np.asarray(a.a[name]), np.asarray(fresh.a[name])), name
    # a shared entry keeps the smallest label it has seen, as the graph's shared nodes do, so
    # after a removal it may keep the label of a removed letter ("Topical Analgesics" for
    # "Topical analgesics") until a rebuild: the same ids, labels never above the fresh ones
    for name in ("concepts", "sections", "documents", "regions", "specialties"):
        got, exp = getattr(a.tables, name), getattr(fresh.tables, name)
        assert list(got) == list(exp)
        for k in exp:
            g, e = got[k], exp[k]
            assert (g["label"] <= e["label"]) if isinstance(e, dict) else g <= e
            assert {**g, "label": 0} == {**e, "label": 0} if isinstance(e, dict) else True


_SMALL = [parse_file(p) for p in sorted(SAMPLE_DIR.glob("*.txt"))]


def test_a_longer_key_does_not_replace_the_key_it_starts_with() -> None:
    """Adding letter "K-2" beside "K" must keep "K": stored keys are a fixed-width array, and
    a longer key cut to that width would match it."""
    short = _SMALL[0]
    longer = replace(_SMALL[1], case_number=f"{short.key}-2")
    assert longer.key.startswith(short.key) and longer.key != short.key
    a = GraphArrays.build([short]).updated(set(), [longer])
    assert sorted(map(str, a.letter_keys)) == sorted([short.key, longer.key])
    assert a.n == len(short.items) + len(longer.items)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_concept_section_sums_equal_gathering_the_items(arrays: GraphArrays, data) -> None:
    """The saved per-concept sums, corrected for shared and excluded items, equal summing the
    sections of every item of the concepts (what the graph retriever and the prior need)."""
    concepts = data.draw(st.lists(st.sampled_from(arrays.concepts), max_size=4))
    gone = data.draw(st.sets(st.sampled_from([str(k) for k in arrays.letter_keys])))
    idf = data.draw(st.booleans())
    mask = arrays.exclude_mask(frozenset(gone))
    got = concept_section_weights(arrays, concepts, idf, mask)
    union = np.unique(np.concatenate([arrays.items_of(c) for c in concepts] + [np.empty(0, int)]))
    if mask is not None:
        union = union[~mask[union]]
    want = section_weights(arrays, union.astype(np.int64), idf)
    assert np.allclose(got, want, rtol=0, atol=1e-9)
    assert np.array_equal(got > 0, want > 1e-9)  # no residue of emptied sections


def test_an_older_arrays_format_is_refused_with_the_remedy(arrays: GraphArrays, tmp_path: Path):
    folder = tmp_path / "graph"
    arrays.save(folder)
    doc = json.loads((folder / "tables.json").read_text())
    (folder / "tables.json").write_text(json.dumps({**doc, "format": FORMAT - 1}))
    with pytest.raises(
        ValueError,
        match=rf"format {FORMAT - 1}, this imr-graph reads {FORMAT}: run `imr-graph reindex`",
    ):
        GraphArrays.load(folder)


def test_save_and_memory_mapped_load_round_trip(arrays: GraphArrays, tmp_path: Path) -> None:
    arrays.save(tmp_path / "graph")
    loaded = GraphArrays.load(tmp_path / "graph", mmap=True)
    assert isinstance(loaded.a["item_ids"].base, np.memmap)  # mapped, not read into memory
    _same(loaded, arrays)
    (tmp_path / "graph" / "req_idx.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises((ValueError, OSError)):
        GraphArrays.load(tmp_path / "graph")


def _passes(g: nx.MultiDiGraph, item: str, f: Filters) -> bool:
    """The reference: the filter semantics written as graph walks."""

    def match(n: str, needle: str) -> bool:
        return (
            needle.casefold() in n.casefold()
            or needle.casefold() in str(g.nodes[n].get("label", "")).casefold()
        )

    d = g.nodes[item]
    if d["letter"] in f.exclude_letters:
        return False
    if f.decision and d["decision"] != f.decision:
        return False
    date = d.get("decision_date")
    if f.date_from and (not date or date < f.date_from):
        return False
    if f.date_to and (not date or date > f.date_to):
        return False
    eds = G.out_nodes(g, item, G.CITES_EDITION, "maximus")
    docs = [doc for e in eds for doc in G.out_nodes(g, e, G.EDITION_OF)]
    if f.guideline and not any(
        g.nodes[s]["label"].upper() == f.guideline.upper()
        for doc in docs
        for s in G.out_nodes(g, doc, G.FROM_SOURCE)
    ):
        return False
    if f.document and not any(match(doc, f.document) for doc in docs):
        return False
    if f.section and not any(match(s, f.section) for s in G.out_nodes(g, item, G.CITES_SECTION)):
        return False
    if f.region and not any(match(r, f.region) for r in G.out_nodes(g, item, G.CONCERNS_REGION)):
        return False
    cats = G.categories(g, G.out_nodes(g, item, G.REQUESTS))
    if f.category and not any(match(c, f.category) for c in cats):
        return False
    specs = G.out_nodes(g, G.letter_node(d["letter"]), G.REVIEWED_BY)
    # a specialty is searched under its written forms too ("orthopedic": Orthopaedic Surgery)
    names = specialty_names_for(f.specialty) if f.specialty else set()
    return not (f.specialty and not any(match(s, n) for s in specs for n in names))


FILTERS = [
    Filters(decision="upheld"),
    Filters(decision="overturned"),
    Filters(guideline="MTUS"),
    Filters(guideline="odg"),
    Filters(guideline="ACOEM"),
    Filters(document="chronic pain"),
    Filters(section="opioid"),
    Filters(section="acupuncture"),
    Filters(region="lumbar"),
    Filters(region="knee"),
    Filters(category="imaging"),
    Filters(category="medication"),
    Filters(specialty="orthopedic"),
    Filters(specialty="internal"),
    Filters(date_from="2017-01-05"),
    Filters(date_to="2017-01-10"),
    Filters(decision="upheld", guideline="MTUS", region="lumbar"),
    # these tell right from wrong on the five sample letters alone (the ones above need the corpus)
    Filters(guideline="other"),
    Filters(document="general approaches"),
    Filters(section="topical"),
    Filters(category="surgery"),
    Filters(specialty="pain"),
    Filters(decision="overturned", category="surgery"),
]


@pytest.mark.parametrize(
    "f", FILTERS, ids=lambda f: str({k: v for k, v in f.__dict__.items() if v})
)
def test_filters_agree_with_graph_walks(arrays: GraphArrays, graph, f: Filters) -> None:
    mask = filter_mask(arrays, f)
    assert mask is not None
    got = {_node(arrays, i) for i in np.flatnonzero(mask)}
    want = {n for n, d in graph.nodes(data=True) if d["kind"] == G.ITEM and _passes(graph, n, f)}
    if arrays.n > 100:  # with the real letters every filter keeps some items and drops some
        assert 0 < len(want) < arrays.n
    elif not want or len(want) == arrays.n:
        assert got == want
        pytest.skip(
            f"{'no' if not want else 'every'} item of the {arrays.n} sample items passes "
            "this filter: nothing to tell a right filter from a wrong one (set IMR_GRAPH_SHARED)"
        )
    assert got == want


@pytest.mark.parametrize(
    "f",
    [
        Filters(date_from="2017-01-01"),
        Filters(date_to="2017-01-31"),
        Filters(date_from="2017-01-10", date_to="2017-02-28"),
        Filters(decision="overturned", date_from="2016-01-01"),
        Filters(decision="upheld", date_to="2018-01-01"),
    ],
    ids=lambda f: str({k: v for k, v in f.__dict__.items() if v}),
)
def test_date_filters_on_dated_letters(letters: list[Letter], f: Filters) -> None:
    """The sample letters carry no decision date: three of them are given one here, so that a
    date bound has items to keep, to drop (undated ones too) and other filters to keep."""
    when = {"000": "2017-01-05", "002": "2017-02-10", "004": "2018-03-01"}
    dated = [
        replace(lt, dates=replace(lt.dates, decision_date=when.get(lt.key[:3])))
        for lt in letters
        if Path(lt.source).parent == SAMPLE_DIR  # the sample alone, with or without ../shared
    ]
    a, g = GraphArrays.build(dated), G.build_graph(dated)
    mask = filter_mask(a, f)
    assert mask is not None
    got = {_node(a, i) for i in np.flatnonzero(mask)}
    want = {n for n, d in g.nodes(data=True) if d["kind"] == G.ITEM and _passes(g, n, f)}
    assert 0 < len(want) < a.n
    assert got == want


def test_excluding_letters(arrays: GraphArrays) -> None:
    some = frozenset(str(k) for k in arrays.letter_keys[:3])
    mask = filter_mask(arrays, Filters(exclude_letters=some))
    assert mask is not None
    assert {arrays.letter_of(i) for i in range(arrays.n) if not mask[i]} == set(some)
    assert filter_mask(arrays, Filters()) is None
