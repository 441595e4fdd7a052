"""The precedent score is what the docs say it is: weighted RRF, tied ranks, one re-rank step.

Each result explains itself (`why`: each retriever's rank and score, the section support), so
the final score can be recomputed from the explanation: a fusion that forgets tied ranks, a
re-rank that mixes the wrong shares, or a governing-section vote that counts the wrong items
gives other numbers than the formula, even where the top answer happens to stay the same.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from corpus_paths import SAMPLE_DIR

from imr_graph.index.indexes import Indexes
from imr_graph.query.filters import Filters
from imr_graph.query.fusion import RRF_K, section_rerank
from imr_graph.query.precedent import PrecedentEngine, Weights
from imr_graph.query.treatment import SAME
from imr_graph.store.ingest import ingest
from imr_graph.store.sqlite import Store

QUERIES = [
    "Norco 10/325 #90",
    "Ketamine 5% cream",
    "Lumbar epidural steroid injection L4-5",
    "Spinal cord stimulator trial",
    "Tizanidine 4 mg #60",
    "Capsaicin cream",
    "Ambien 10 mg",
    "A-stim unit for home use",
]
RETRIEVERS = ("graph", "dense", "lexical")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store.open(tmp_path_factory.mktemp("fusion") / "store")
    ingest(s, [SAMPLE_DIR], Indexes.open(s))
    return s


@pytest.fixture(scope="module")
def engine(store: Store) -> PrecedentEngine:
    return PrecedentEngine(store)


def _fused(why: dict) -> float:
    w = Weights()
    weight = {"graph": w.graph, "dense": w.dense, "lexical": w.lexical}
    return sum(weight[n] / (RRF_K + why[n]["rank"]) for n in RETRIEVERS if n in why)


@pytest.mark.parametrize("q", QUERIES)
def test_score_is_the_weighted_rrf_of_the_ranks(engine: PrecedentEngine, q: str) -> None:
    ans = engine.query(q, k=16, rerank=False)
    assert ans.results
    for r in ans.results:
        assert r.score == pytest.approx(_fused(r.why.to_json()), abs=1e-12), (r.letter, r.item)
    keys = [(-r.score, r.letter, r.item) for r in ans.results]
    assert keys == sorted(keys)  # best first, ties by letter and item


def _ranks_follow_scores(results: list, name: str) -> int:
    """Competition ranking within one retriever (1, 1, 3): returns the number of tied pairs."""
    whys = [r.why.to_json() for r in results]
    sig = [(w[name]["score"], w[name]["rank"]) for w in whys if name in w]
    ties = 0
    for s1, r1 in sig:
        # every result returned: the rank is one more than the number of better scores
        assert r1 == 1 + sum(s2 > s1 for s2, _ in sig), (name, s1, r1, sig)
        ties += sum(s2 == s1 for s2, _ in sig) - 1
    return ties


def test_tied_scores_share_a_rank(engine: PrecedentEngine) -> None:
    ties = 0
    for q in QUERIES:
        ans = engine.query(q, k=16, rerank=False, retrievers=("graph",))
        ties += _ranks_follow_scores(ans.results, "graph")
    assert ties > 0  # the sample has graph ties, so this test can see tie handling go


@pytest.mark.parametrize("q", QUERIES[:4])
def test_other_retrievers_break_graph_ties(engine: PrecedentEngine, q: str) -> None:
    alone = engine.query(q, k=16, rerank=False, retrievers=("graph",)).results
    fused = engine.query(q, k=16, rerank=False).results
    pos = {(r.letter, r.item): n for n, r in enumerate(fused)}
    by_graph: dict[float, list] = {}
    for r in alone:
        by_graph.setdefault(r.why.to_json()["graph"]["score"], []).append(r)
    for tied in by_graph.values():
        for a in tied:
            for b in tied:
                fa = next(x for x in fused if (x.letter, x.item) == (a.letter, a.item))
                fb = next(x for x in fused if (x.letter, x.item) == (b.letter, b.item))
                if fa.score > fb.score:
                    assert pos[(a.letter, a.item)] < pos[(b.letter, b.item)]


@pytest.mark.parametrize("q", QUERIES)
def test_rerank_mixes_seed_and_section_support_by_the_documented_shares(
    engine: PrecedentEngine, q: str
) -> None:
    """Half and half for the same treatment (or for all when none is); `rerank_related` of
    support for the items below it."""
    ans = engine.query(q, k=16)
    fused = {(r.letter, r.item): _fused(r.why.to_json()) for r in ans.results}
    top = max(fused.values())
    w = Weights()
    any_same = any(r.match is not None and r.match.tier == SAME for r in ans.results)
    supported = 0
    for r in ans.results:
        sup = r.why.to_json().get("section_rerank", {}).get("support", 0.0)
        supported += sup > 0
        same = r.match is not None and r.match.tier == SAME
        share = w.rerank if same or not any_same else w.rerank_related
        want = (1 - share) * fused[(r.letter, r.item)] / top + share * sup
        assert r.score == pytest.approx(want, abs=1e-4), (r.letter, r.item, r.why.to_json())
    assert supported and max(r.why.to_json().get("section_rerank", {}).get("support", 0) for r in
                             ans.results) == 1.0  # fmt: skip


@pytest.mark.parametrize("q", QUERIES)
def test_summary_counts_the_results(engine: PrecedentEngine, q: str) -> None:
    ans = engine.query(q, k=10)
    c = Counter(r.decision for r in ans.results)
    assert ans.summary.to_json()["precedents"] == {
        "n": len(ans.results),
        "upheld": c["upheld"],
        "overturned": c["overturned"],
    }


def test_same_treatment_counts_leave_excluded_letters_out(engine: PrecedentEngine) -> None:
    q = "Spinal cord stimulator trial"
    st = engine.query(q).summary.to_json()["same_treatment"]
    assert (st["n"], st["upheld"], st["overturned"]) == (2, 1, 1)
    gone = frozenset({"002_e7994c1041a16335"})  # the letter whose stimulator was overturned
    ans = engine.query(q, filters=Filters(exclude_letters=gone))
    st = ans.summary.to_json()["same_treatment"]
    assert (st["n"], st["upheld"], st["overturned"]) == (1, 1, 0)
    assert st["warning"] == "only 1 past items for this treatment"
    assert all(r.letter not in gone for r in ans.results)
    none = engine.query("zzzz unknown request").summary.to_json()["same_treatment"]
    assert none["n"] == 0 and none["warning"] == "no past items for this treatment"


@pytest.mark.parametrize("q", QUERIES)
def test_governing_sections_are_the_votes_of_the_best_precedents(store: Store, q: str) -> None:
    """Without the treatment prior, each of the 10 best precedents gives its match strength /
    rank, split evenly among the sections it cites."""
    engine = PrecedentEngine(store, weights=Weights(treatment_prior=0.0))
    ans = engine.query(q, k=Weights().governing_depth)
    score: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for rank, r in enumerate(ans.results, start=1):
        assert r.strength is not None
        for sec in r.sections:
            score[sec] += r.strength / rank / len(r.sections)
            count[sec] += 1
    gov = ans.summary.to_json()["governing_sections"]
    assert gov
    assert len(gov) == min(5, len(score))
    for g in gov:
        assert g["weight"] == pytest.approx(score[g["section"]], abs=1e-5), g
        assert g["precedents_citing"] == count[g["section"]]
    weights = [g["weight"] for g in gov]
    assert weights == sorted(weights, reverse=True)
    assert weights[0] == pytest.approx(max(score.values()), abs=1e-5)


def test_the_treatment_prior_adds_the_concepts_usual_sections(engine: PrecedentEngine) -> None:
    """With the prior, Norco's past items (all citing Opioids) put Opioids first."""
    gov = engine.query("Norco 10/325 #90", k=10).summary.to_json()["governing_sections"]
    assert gov[0]["section"] == "Opioids"
    plain = PrecedentEngine(engine.store, weights=Weights(treatment_prior=0.0))
    without = plain.query("Norco 10/325 #90", k=10).summary.to_json()["governing_sections"]
    opioids = next(g for g in without if g["section"] == "Opioids")
    assert gov[0]["weight"] == pytest.approx(opioids["weight"] + 1.0, abs=1e-5)


@pytest.mark.parametrize("q", ["Ketamine 5% cream", "Norco 10/325 #90", "Capsaicin cream"])
def test_every_retriever_takes_part(engine: PrecedentEngine, q: str) -> None:
    top = engine.query(q, k=3).results[0]
    assert set(RETRIEVERS) <= set(top.why.to_json()), top.why.to_json()  # found by all three
    for name in RETRIEVERS:
        alone = engine.query(q, k=3, retrievers=(name,), rerank=False).results
        assert alone and all(set(r.why.to_json()) == {name} for r in alone), name


def test_a_filter_ranks_the_items_it_keeps_among_themselves(engine: PrecedentEngine) -> None:
    """Masked items are skipped, not the end of a retriever's list; ranks count kept items."""
    ans = engine.query("Ketamine cream", k=16, filters=Filters(decision="overturned"))
    got = {(r.letter, r.item) for r in ans.results}
    assert got == {("002_e7994c1041a16335", 0), ("004_030cb33236d584c4", 0)}  # both overturned
    assert sorted(r.why.to_json()["dense"]["rank"] for r in ans.results) == [1, 2]
    assert ans.summary.to_json()["precedents"] == {"n": 2, "upheld": 0, "overturned": 2}


def test_the_treatment_prior_leaves_excluded_letters_out(engine: PrecedentEngine) -> None:
    """Capsaicin's past items cite Topical Analgesics (000) and Capsaicin, topical (002): with
    002 excluded (as the leave-one-out evaluation does), nothing may vote for its section."""
    both = engine.query("Capsaicin cream", k=10).summary.to_json()["governing_sections"]
    assert "Capsaicin, topical" in {g["section"] for g in both}
    gone = frozenset({"002_e7994c1041a16335"})
    ans = engine.query("Capsaicin cream", k=10, filters=Filters(exclude_letters=gone))
    sections = {g["section"] for g in ans.summary.to_json()["governing_sections"]}
    assert "Capsaicin, topical" not in sections
    assert ans.summary.to_json()["governing_sections"][0]["section"] == "Topical Analgesics"


def test_the_rerank_seeds_are_the_best_and_weigh_rare_sections_more(
    engine: PrecedentEngine,
) -> None:
    """One step of the re-ranking, recomputed from the docstring on every item of the sample:
    the `seeds` best scores (not the first items) send their mass to the sections they cite,
    times each section's inverse item frequency, and every item citing a section gets it."""
    a = engine.arrays
    # scores that do not follow the item order, so the best are not the first positions
    fused = {i: float((7 * i) % a.n + 1) for i in range(a.n)}
    seeds = 3
    top = sorted(fused, key=lambda i: -fused[i])[:seeds]
    assert top != list(range(seeds))
    total = sum(fused[i] for i in top)
    mass: Counter[int] = Counter()
    for i in top:
        secs = [int(s) for s in a.item_sections(i)]
        for s in secs:
            mass[s] += fused[i] / total * float(a.idf[s]) / len(secs)
    sup = {i: sum(mass[int(s)] for s in a.item_sections(i)) for i in range(a.n)}
    best = max(sup.values())
    assert best > 0 and len({round(v, 9) for v in sup.values()}) > 2  # something to compare
    out, support = section_rerank(a, fused, None, 0.5, seeds, a.n)
    assert set(out) == set(fused)
    for i in fused:
        want = 0.5 * fused[i] / max(fused.values()) + 0.5 * sup[i] / best
        assert out[i] == pytest.approx(want, abs=1e-9), i
        assert support.get(i, 0.0) == pytest.approx(sup[i] / best, abs=1e-4), i


def test_the_rerank_scores_every_candidate_and_brings_in_what_the_seeds_reach(
    engine: PrecedentEngine,
) -> None:
    """A candidate the section walk does not reach keeps its (halved) score; an item the
    retrievers missed but that cites the seeds' sections comes in on its support alone."""
    a = engine.arrays
    fused = {i: float(i + 1) for i in range(0, a.n, 2)}  # the retrievers found every other item
    out, support = section_rerank(a, fused, None, 0.5, 3, 1)  # the walk keeps 1 item
    assert set(fused) <= set(out)
    out, support = section_rerank(a, fused, None, 0.5, 3, a.n)
    came_in = set(out) - set(fused)
    assert came_in, "the sample gives nothing to bring in"
    for i in came_in:
        assert support[i] > 0 and out[i] == pytest.approx(0.5 * support[i], abs=1e-4), i


def test_the_treatment_prior_is_the_share_of_past_items_citing_each_section(
    engine: PrecedentEngine,
) -> None:
    """Capsaicin's two past items cite Topical Analgesics (000) and Capsaicin, topical (002):
    each section gets half of the prior's weight of 1."""
    q = "Capsaicin cream"
    gov = engine.query(q, k=10).summary.governing_sections
    plain = PrecedentEngine(engine.store, weights=Weights(treatment_prior=0.0))
    without = {g.section: g.weight for g in plain.query(q, k=10).summary.governing_sections}
    added = {g.section: round(g.weight - without.get(g.section, 0.0), 4) for g in gov}
    assert {s: w for s, w in added.items() if w} == {
        "Topical Analgesics": 0.5,
        "Capsaicin, topical": 0.5,
    }


def test_the_summary_names_the_concepts_and_sections(engine: PrecedentEngine) -> None:
    sm = engine.query("Norco 10/325 #90", k=10).summary.to_json()
    assert sm["treatment_concepts"] == [
        {"id": "drug:hydrocodone-acetaminophen", "label": "Hydrocodone/acetaminophen"}
    ]
    top = sm["governing_sections"][0]
    assert (top["section"], top["id"]) == ("Opioids", "gdoc:mtus-chronic-pain/opioid")
    # a concept the store has never seen is named by its id, with every count 0
    sm = engine.query("Gabapentin 600 mg", k=10).summary.to_json()
    assert sm["treatment_concepts"] == [{"id": "drug:gabapentin", "label": "drug:gabapentin"}]
    assert sm["same_treatment"] == {
        "concept": "drug:gabapentin",
        "n": 0,
        "upheld": 0,
        "overturned": 0,
        "narrower": 0,
        "warning": "no past items for this treatment",
    }


def test_a_broader_concept_counts_the_items_of_the_narrower_ones(engine: PrecedentEngine) -> None:
    st = engine.query("opioids", k=10).summary.to_json()["same_treatment"]
    assert st == {
        "concept": "tx:opioid",
        "n": 1,
        "upheld": 1,
        "overturned": 0,
        "narrower": 1,
        "warning": "only 1 past items for this treatment",
    }


def test_the_small_sample_warning_stops_at_ten_items(tmp_path: Path) -> None:
    """Ten letters with the same request (copies of one sample letter): ten past items carry
    no warning; with one letter excluded, nine do."""
    src = SAMPLE_DIR / "001_a6ef380ab53ef7f4.txt"
    (tmp_path / "letters").mkdir()
    for n in range(10):
        (tmp_path / "letters" / f"{n:03d}_copy.txt").write_bytes(src.read_bytes())
    s = Store.open(tmp_path / "store")
    ingest(s, [tmp_path / "letters"], Indexes.open(s))
    engine = PrecedentEngine(s)
    q = "Pain pump for the lumbar spine"
    st = engine.query(q).summary.to_json()["same_treatment"]
    assert (st["n"], st["upheld"], "warning" in st) == (10, 10, False), st
    one = frozenset({"000_copy"})
    st = engine.query(q, filters=Filters(exclude_letters=one)).summary.to_json()["same_treatment"]
    assert (st["n"], st.get("warning")) == (9, "only 9 past items for this treatment"), st
