"""The linked-data layer: export formats, determinism, SHACL shapes, ontology coverage, SPARQL."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import XSD

from imr_graph.cli import main
from imr_graph.config import shared_dir, shared_pdf_dir
from imr_graph.letters.parse import parse_file
from imr_graph.rdf import store_triples
from imr_graph.store.sqlite import Store
from kg import rdf
from kg.rdf.terms import Minter

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO / "imr_graph" / "sample").glob("*.txt"))
SHARED = shared_dir()  # ../shared or $IMR_GRAPH_SHARED, resolved in one place
PDF_DIR = shared_pdf_dir()
IMR = rdf.ONT


def _make_store(path: Path, files: list[Path]) -> Store:
    store = Store.open(path)
    store.put_letters([parse_file(p) for p in files])
    return store


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = _make_store(tmp_path_factory.mktemp("rdf5"), SAMPLES)
    yield store
    store.close()


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    pdfs = sorted(PDF_DIR.glob("*.pdf")) if PDF_DIR.is_dir() else []
    letters = sorted((SHARED / "letters").glob("*.txt"))
    if not pdfs:
        pytest.skip(f"real letters not found under {SHARED}")
    store = _make_store(tmp_path_factory.mktemp("rdf145"), pdfs + letters)
    yield store
    store.close()


@pytest.fixture(params=["sample", "real"])
def any_store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue(f"{request.param}_store")


def _export(store: Store, fmt: str = "nt", base: str = rdf.DEFAULT_BASE) -> bytes:
    return rdf.export_bytes(store_triples(store, base), fmt, base)


def _rdflib_fmt(fmt: str) -> str:
    return {"ttl": "turtle", "nt": "nt", "jsonld": "json-ld"}[fmt]


def _citations(store: Store) -> int:
    return sum(
        len(i.maximus_citations) + len(i.claims_administrator_citations)
        for letter in store.letters().values()
        for i in letter.items
    )


# ---- every format parses back to the same triples ------------------------------------------


def test_all_formats_parse_to_the_same_graph(any_store: Store, tmp_path: Path) -> None:
    nt = _export(any_store, "nt")
    ref = Graph().parse(data=nt.decode(), format="nt")
    assert len(ref) == nt.count(b"\n") > 0
    ref_set = set(ref)
    for fmt in ("ttl", "jsonld"):
        g = Graph().parse(data=_export(any_store, fmt).decode(), format=_rdflib_fmt(fmt))
        assert set(g) == ref_set, fmt
    for fmt in ("nq", "trig"):
        f = tmp_path / f"x.{fmt}"
        f.write_bytes(_export(any_store, fmt))
        g = rdf.parse_file(f)
        assert set(g) == ref_set, fmt


def test_exports_are_byte_identical(any_store: Store) -> None:
    again = Store.open(any_store.path, create=False)  # a fresh read of the same store
    try:
        for fmt in rdf.FORMATS:
            assert _export(any_store, fmt) == _export(again, fmt), fmt
    finally:
        again.close()


def test_nt_is_sorted_and_unique(sample_store: Store) -> None:
    lines = _export(sample_store, "nt").decode().splitlines()
    assert lines == sorted(set(lines))


# ---- SHACL ----------------------------------------------------------------------------------


def test_export_conforms_to_shapes(any_store: Store) -> None:
    conforms, violations = rdf.validate_graph(rdf.to_rdflib(store_triples(any_store)))
    assert conforms, [v.to_json() for v in violations[:5]]


def _sample_graph(store: Store) -> Graph:
    return rdf.to_rdflib(store_triples(store))


def _an_item(g: Graph) -> URIRef:
    return sorted(g.subjects(RDF.type, URIRef(IMR + "DisputedItem")))[0]


def _violated_paths(g: Graph) -> set[str]:
    conforms, violations = rdf.validate_graph(g)
    assert not conforms
    paths = {v.path.rsplit("#", 1)[-1].rsplit("/", 1)[-1] for v in violations}
    return paths | {v.message for v in violations}


def test_shapes_catch_missing_and_double_decisions(sample_store: Store) -> None:
    g = _sample_graph(sample_store)
    item = _an_item(g)
    g.remove((item, URIRef(IMR + "decision"), None))
    assert "decision" in _violated_paths(g)
    g.add((item, URIRef(IMR + "decision"), URIRef(IMR + "upheld")))
    g.add((item, URIRef(IMR + "decision"), URIRef(IMR + "overturned")))
    assert "decision" in _violated_paths(g)


def test_shapes_catch_item_without_letter_or_request(sample_store: Store) -> None:
    g = _sample_graph(sample_store)
    item = _an_item(g)
    g.remove((None, URIRef(IMR + "hasItem"), item))
    g.remove((item, URIRef(IMR + "request"), None))
    paths = _violated_paths(g)
    assert "request" in paths
    assert "a disputed item belongs to exactly one letter" in paths


def test_shapes_catch_citation_without_document_and_string_dates(sample_store: Store) -> None:
    g = _sample_graph(sample_store)
    cit = sorted(g.subjects(RDF.type, URIRef(IMR + "Citation")))[0]
    g.remove((cit, URIRef(IMR + "citesDocument"), None))
    letter = sorted(g.subjects(RDF.type, URIRef(IMR + "DeterminationLetter")))[0]
    g.add((letter, URIRef(IMR + "dateAssigned"), Literal("2016-12-01")))  # plain string
    assert {"citesDocument", "dateAssigned"} <= _violated_paths(g)


def test_dates_are_xsd_date(real_store: Store) -> None:
    g = rdf.to_rdflib(store_triples(real_store))
    issued = list(g.objects(None, URIRef("http://purl.org/dc/terms/issued")))
    assert issued and all(o.datatype == XSD.date for o in issued)
    with_date = sum(1 for x in real_store.letters().values() if x.dates.decision_date)
    assert len(issued) == with_date


# ---- ontology -------------------------------------------------------------------------------


def test_ontology_is_versioned_and_documented() -> None:
    ont = rdf.load_ontology()
    o = URIRef(rdf.ONTOLOGY_IRI)
    assert (o, RDF.type, OWL.Ontology) in ont
    assert ont.value(o, OWL.versionIRI) == URIRef(rdf.ONTOLOGY_VERSION_IRI)
    for s in set(ont.subjects(RDF.type, None)):
        if isinstance(s, URIRef) and str(s).startswith(IMR):
            assert ont.value(s, RDFS.label) is not None, s
            assert ont.value(s, RDFS.comment) is not None, s


def test_ontology_aligns_with_standard_vocabularies() -> None:
    ont = rdf.load_ontology()
    sdo = "https://schema.org/"
    sup = {(str(s), str(o)) for s, o in ont.subject_objects(RDFS.subClassOf)}
    sup |= {(str(s), str(o)) for s, o in ont.subject_objects(OWL.equivalentClass)}
    assert (IMR + "GuidelineDocument", sdo + "MedicalGuideline") in sup
    assert (IMR + "Drug", sdo + "Drug") in sup
    assert (IMR + "TreatmentCategory", sdo + "MedicalProcedure") in sup
    assert (IMR + "DeterminationLetter", "http://www.w3.org/ns/prov#Entity") in sup
    assert (IMR + "Ingest", "http://www.w3.org/ns/prov#Activity") in sup
    assert (IMR + "Treatment", "http://www.w3.org/2004/02/skos/core#Concept") in sup


def test_every_class_and_property_of_the_export_is_in_the_ontology(any_store: Store) -> None:
    ont = rdf.load_ontology()
    declared = {str(s) for s in ont.subjects(RDF.type, None)}
    used_props, used_classes = set(), set()
    for _s, p, o in store_triples(any_store):
        used_props.add(p)
        if p == rdf.TYPE:
            used_classes.add(o)
        elif p in (IMR + "decision", IMR + "citedBy"):
            used_classes.add(o)  # named individuals
    used_props.discard(rdf.TYPE)
    assert used_props - declared == set()
    assert used_classes - declared == set()


def test_vocabulary_concepts_keep_their_namespaces(sample_store: Store) -> None:
    ns, _ = rdf.vocab_namespaces()
    base = "https://example.org/imr/"
    g = Graph().parse(data=_export(sample_store, "nt", base).decode(), format="nt")
    concepts = set(g.subjects(RDF.type, URIRef("http://www.w3.org/2004/02/skos/core#Concept")))
    assert concepts
    assert all(any(str(c).startswith(ns[p]) for p in ("tx", "drug", "region")) for c in concepts)
    letters = set(g.subjects(RDF.type, URIRef(IMR + "DeterminationLetter")))
    assert letters and all(str(x).startswith(base + "letter/") for x in letters)
    for x in letters:  # provenance: derived from the source file with its hash
        src = g.value(x, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"))
        assert len(str(g.value(src, URIRef(IMR + "sha256")))) == 64


# ---- term escaping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ['say "no"', "back\\slash", "two\nlines\r\n", "tab\tand\x07bell\x00", "ünï €", "\U0001f600"],
)
def test_literal_escaping_round_trips(text: str) -> None:
    s, p = "https://example.org/s", "https://example.org/p"
    line = rdf.export_bytes([(s, p, rdf.Lit(text))], "nt").decode()
    g = Graph().parse(data=line, format="nt")
    assert list(g.objects())[0] == Literal(text)
    ttl = rdf.export_bytes([(s, p, rdf.Lit(text))], "ttl").decode()
    assert list(Graph().parse(data=ttl, format="turtle").objects())[0] == Literal(text)


def test_odd_letter_keys_make_valid_iris(sample_store: Store) -> None:
    letter = next(iter(sample_store.letters().values()))
    odd = replace(letter, case_number=None, letter='we ird<key> "x" {1}|^`\\')
    triples = list(rdf.iter_triples([odd], None))
    g = Graph().parse(data=rdf.export_bytes(triples, "nt").decode(), format="nt")
    keys = [str(o) for o in g.objects(None, URIRef(IMR + "letterKey"))]
    assert keys == [odd.letter]


# ---- SPARQL ---------------------------------------------------------------------------------


def test_sparql_counts_match_the_store(any_store: Store) -> None:
    st = rdf.oxigraph_store(store_triples(any_store))
    text = (REPO / "imr_graph" / "queries" / "counts.rq").read_text()
    names, rows = rdf.run_query(st, text)
    got = dict(zip(names, rows[0], strict=True))
    want = any_store.counts()
    assert {k: got[k] for k in want} == want
    assert got["citations"] == _citations(any_store)


def test_clinical_facts_routes_and_heads_count_the_same_in_sparql_and_the_graph(
    any_store: Store,
) -> None:
    """Items per clinical fact, per drug route and per request-head treatment: the RDF answers
    what the graph holds."""
    from kg import graph as G

    g = any_store.graph
    items = [n for n, d in g.nodes(data=True) if d["kind"] == G.ITEM]
    want_facts = Counter(
        g.nodes[f]["label"] for n in items for f in G.out_nodes(g, n, G.STATES_FACT)
    )
    want_routes = Counter(g.nodes[n]["route"] for n in items if g.nodes[n]["route"])
    assert want_facts and want_routes
    st = rdf.oxigraph_store(store_triples(any_store))
    prefix = "PREFIX imr: <https://w3id.org/imr-graph/ontology#>\n"
    _, rows = rdf.run_query(
        st,
        prefix + "SELECT ?label (COUNT(DISTINCT ?i) AS ?n) WHERE { ?i imr:statesClinicalFact ?f . "
        "?f a imr:ClinicalFact ; <http://www.w3.org/2000/01/rdf-schema#label> ?label } "
        "GROUP BY ?label",
    )
    assert {str(r[0]): int(r[1]) for r in rows} == dict(want_facts)
    _, rows = rdf.run_query(
        st, prefix + "SELECT ?r (COUNT(?i) AS ?n) WHERE { ?i imr:route ?r } GROUP BY ?r"
    )
    assert {str(r[0]): int(r[1]) for r in rows} == dict(want_routes)
    want_heads = Counter(
        t
        for n in items
        for _, t, d in g.out_edges(n, data=True)
        if d.get("rel") == G.REQUESTS and d.get("head")
    )
    assert want_heads
    _, rows = rdf.run_query(
        st,
        prefix + "SELECT ?t (COUNT(?i) AS ?n) WHERE { ?i imr:requestHead ?t } GROUP BY ?t",
    )
    iri = Minter().node
    assert {str(r[0]): int(r[1]) for r in rows} == {iri(t): n for t, n in want_heads.items()}


def test_shipped_queries_run(real_store: Store) -> None:
    st = rdf.oxigraph_store(store_triples(real_store))
    for q in sorted((REPO / "imr_graph" / "queries").glob("*.rq")):
        names, rows = rdf.run_query(st, q.read_text())
        assert names, q.name
        if q.stem != "letters_citing_mtus_page":
            assert rows, q.name
    # the per-section rates add up to what the citations say
    _, rows = rdf.run_query(
        st, (REPO / "imr_graph/queries/overturn_rate_by_section.rq").read_text()
    )
    assert all(0 <= r[4] <= 1 and r[3] <= r[2] for r in rows)
    _, rows = rdf.run_query(
        st, (REPO / "imr_graph/queries/most_disputed_treatments_by_year.rq").read_text()
    )
    assert {r[0] for r in rows} >= {2016}


def test_mtus_page_query_matches_the_letters(sample_store: Store) -> None:
    want = Counter()
    for letter in sample_store.letters().values():
        for it in letter.items:
            for c in (*it.maximus_citations, *it.claims_administrator_citations):
                if c.guideline == "MTUS" and 113 in c.pages:
                    want[(letter.key, it.position)] += 1
    assert want, "the samples cite MTUS p.113"
    st = rdf.oxigraph_store(store_triples(sample_store))
    q = (REPO / "imr_graph" / "queries" / "letters_citing_mtus_page.rq").read_text()
    names, rows = rdf.run_query(st, q)
    got = Counter((r[names.index("letter")], r[names.index("position")]) for r in rows)
    assert got == want


def test_parameters_are_bound_as_terms_never_spliced(sample_store: Store) -> None:
    st = rdf.oxigraph_store(store_triples(sample_store))
    q = (REPO / "imr_graph" / "queries" / "letters_citing_mtus_page.rq").read_text()
    _, default = rdf.run_query(st, q)
    names, rows = rdf.run_query(st, q, {"page": 113})
    assert rows == default and {r[names.index("page")] for r in rows} == {113}
    # a value that would break out of a spliced query is only a string that matches nothing
    hostile = '1 } } ; DROP ALL ; SELECT * WHERE { ?s ?p "x\\" '
    assert rdf.run_query(st, q, {"page": hostile}) == (names, [])
    with pytest.raises(ValueError, match=r"no `VALUES \?nope"):
        rdf.run_query(st, q, {"nope": 1})


# ---- CLI ------------------------------------------------------------------------------------


def _run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_cli_export_validate_sparql(sample_store: Store, tmp_path: Path) -> None:
    sd = str(sample_store.path)
    out = tmp_path / "g.ttl"
    code, stdout, _ = _run("export", "--format", "ttl", "--out", str(out), "--store", sd, "--json")
    assert code == 0
    summary = json.loads(stdout)
    assert summary["triples"] > 0 and summary["items"] == sample_store.counts()["items"]
    first = out.read_bytes()
    assert _run("export", "--out", str(out), "--store", sd)[0] == 0  # format from the suffix
    assert out.read_bytes() == first

    code, stdout, _ = _run("validate", str(out), "--json")
    assert code == 0 and json.loads(stdout)["conforms"] is True
    code, stdout, _ = _run("validate", "--store", sd)
    assert code == 0 and "conforms" in stdout

    code, stdout, _ = _run("sparql", "--list", "--json")
    names = {q["name"] for q in json.loads(stdout)}
    assert {
        "overturn_rate_by_section",
        "letters_citing_mtus_page",
        "most_disputed_treatments_by_year",
    } <= names
    code, stdout, _ = _run("sparql", "counts", "--store", sd, "--json")
    assert code == 0
    assert json.loads(stdout)[0]["items"] == sample_store.counts()["items"]
    code, stdout, _ = _run(
        "sparql",
        "letters_citing_mtus_page",
        "--param",
        "page=9999",
        "--store",
        sd,
        "--format",
        "csv",
    )
    assert code == 0 and stdout.splitlines()[0].startswith("letter,")
    assert len(stdout.splitlines()) == 1
    code, stdout, _ = _run(
        "sparql", "SELECT (COUNT(*) AS ?n) WHERE { ?s a imr:DisputedItem }", "--store", sd
    )
    assert code == 0 and str(sample_store.counts()["items"]) in stdout


def test_cli_errors_are_one_line(sample_store: Store, tmp_path: Path) -> None:
    sd = str(sample_store.path)
    for args in (
        ("sparql", "SELECT ?x WHERE {", "--store", sd),
        ("sparql", "no_such_query", "--store", sd),
        ("sparql", "counts", "--store", str(tmp_path / "nostore")),
        ("validate", str(tmp_path / "missing.ttl")),
        ("export", "--out", str(tmp_path / "x.ttl"), "--store", sd, "--base", "not an iri"),
    ):
        code, _, stderr = _run(*args)
        assert code != 0, args
        assert len(stderr.strip().splitlines()) == 1, (args, stderr)


def test_cli_validate_fails_on_violations(sample_store: Store, tmp_path: Path) -> None:
    g = _sample_graph(sample_store)
    g.remove((_an_item(g), URIRef(IMR + "decision"), None))
    bad = tmp_path / "bad.nt"
    g.serialize(bad, format="nt")
    code, stdout, _ = _run("validate", str(bad), "--json")
    assert code == 1
    report = json.loads(stdout)
    assert report["conforms"] is False and report["violations"]
