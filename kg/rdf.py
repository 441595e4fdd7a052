"""Linked-data export of the store: triples from letters and graph, written without rdflib.

Triples come straight from the store's letters (letter, case, items, rationales, citations,
provenance) and its networkx graph (treatment, region and guideline nodes and the items' links to
them). A triple is ``(s, p, o)``: ``s`` and ``p`` are IRI strings, ``o`` an IRI string or a
:class:`Lit`. Every serializer sorts, so the same store gives the same bytes; N-Triples lines are
formatted directly (our own escaper, no rdflib Graph), which is what keeps export fast.

IRIs: ontology terms under :data:`ONT`; the SKOS concepts (``tx:``, ``drug:``, ``region:`` ...) in
the namespaces kg/data/*.ttl declare for them; every other node minted under the base IRI
(``{base}letter/CM16-0232543``, ``{base}item/CM16-0232543/0``, ``{base}mtus/...``).
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, NamedTuple
from urllib.parse import quote

from . import graph as G
from .model import Citation, Letter

DATA = Path(__file__).resolve().parent / "data"
ONTOLOGY_FILE = DATA / "ontology.ttl"
SHAPES_FILE = DATA / "shapes.ttl"

ONT = "https://w3id.org/imr-graph/ontology#"
ONTOLOGY_IRI = "https://w3id.org/imr-graph/ontology"
ONTOLOGY_VERSION_IRI = "https://w3id.org/imr-graph/ontology/0.1.0"
DEFAULT_BASE = "https://w3id.org/imr-graph/id/"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
SDO = "https://schema.org/"
OWL = "http://www.w3.org/2002/07/owl#"

PREFIXES: dict[str, str] = {
    "imr": ONT,
    "rdf": RDF,
    "rdfs": RDFS,
    "xsd": XSD,
    "owl": OWL,
    "skos": SKOS,
    "prov": PROV,
    "dcterms": DCT,
    "schema": SDO,
}

FORMATS = ("ttl", "nt", "nq", "jsonld", "trig")
SUFFIX_FORMAT = {
    ".ttl": "ttl",
    ".nt": "nt",
    ".nq": "nq",
    ".jsonld": "jsonld",
    ".json": "jsonld",
    ".trig": "trig",
}

TYPE = RDF + "type"
LABEL = RDFS + "label"
XSD_INTEGER = XSD + "integer"
XSD_DATE = XSD + "date"
XSD_DATETIME = XSD + "dateTime"


class Lit(NamedTuple):
    """A literal: lexical form, datatype IRI (None: xsd:string) and language tag."""

    lex: str
    datatype: str | None = None
    lang: str | None = None


Term = str | Lit
Triple = tuple[str, str, Term]


# ---- term formatting ------------------------------------------------------------------------

_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\x7f]')
_ESCAPES = {0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
_ESCAPE_TABLE = {c: _ESCAPES.get(c, f"\\u{c:04X}") for c in [*range(0x20), 0x22, 0x5C, 0x7F]}


def escape_string(s: str) -> str:
    """The body of an N-Triples / Turtle STRING_LITERAL_QUOTE for ``s``."""
    if _NEEDS_ESCAPE.search(s) is None:
        return s
    return s.translate(_ESCAPE_TABLE)


def nt_term(o: Term) -> str:
    """An object (or subject) term in N-Triples syntax."""
    if type(o) is str:
        return f"<{o}>"
    lex, dt, lang = o  # type: ignore[misc]
    if lang:
        return f'"{escape_string(lex)}"@{lang}'
    if dt:
        return f'"{escape_string(lex)}"^^<{dt}>'
    return f'"{escape_string(lex)}"'


# IRI path segments: percent-encode everything N-Triples forbids in an IRIREF and more.
_SAFE = "/-._~@!$&'()*+,;=:"


def iri_part(text: str) -> str:
    return quote(text, safe=_SAFE)


# ---- vocabulary namespaces --------------------------------------------------------------------

_PREFIX_RE = re.compile(r"@prefix\s+([A-Za-z][\w-]*)\s*:\s*<([^>]*)>\s*\.")
_SCHEME_RE = re.compile(
    r"\b([A-Za-z][\w-]*):[^\s;]+\s+a\s+skos:Concept\s*;\s*skos:inScheme\s+(\S+)"
)


@lru_cache(maxsize=1)
def vocab_namespaces() -> tuple[dict[str, str], dict[str, str]]:
    """(prefix -> namespace, prefix -> concept scheme IRI) declared by kg/data/*.ttl."""
    ns: dict[str, str] = {}
    schemes: dict[str, str] = {}
    for f in sorted(DATA.glob("*.ttl")):
        if f in (ONTOLOGY_FILE, SHAPES_FILE):
            continue
        text = f.read_text(encoding="utf-8")
        local = dict(_PREFIX_RE.findall(text))
        for p, iri in local.items():
            if p not in PREFIXES:
                ns.setdefault(p, iri)
        for p, scheme in _SCHEME_RE.findall(text):
            sp, _, rest = scheme.partition(":")
            if p not in schemes and sp in local:
                schemes[p] = local[sp] + rest
    return ns, schemes


# ---- the triples ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    """What the export says about the ingest: store generation, last ingest time, tool version."""

    generation: int = 0
    ended_at: float | None = None  # unix time of the latest ingest
    version: str = "0"


def tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("imr-graph")
    except Exception:  # noqa: BLE001 - not installed: still export
        return "0"


def _date(value: str | None) -> Lit | None:
    if not value or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return None
    return Lit(value, XSD_DATE)


def _int(n: int) -> Lit:
    return Lit(str(int(n)), XSD_INTEGER)


_GRAPH_CLASSES = {
    G.TREATMENT: ONT + "Treatment",
    G.CATEGORY: ONT + "TreatmentCategory",
    G.REGION: ONT + "BodyRegion",
    G.SOURCE: ONT + "GuidelineSource",
    G.DOCUMENT: ONT + "GuidelineDocument",
    G.EDITION: ONT + "GuidelineEdition",
    G.SECTION: ONT + "GuidelineSection",
    G.PAGE: ONT + "GuidelinePage",
    G.SPECIALTY: ONT + "ReviewerSpecialty",
}
_SKOS_KINDS = {G.TREATMENT, G.CATEGORY, G.REGION}
_NODE_EDGES = {
    G.BROADER: SKOS + "broader",
    G.IN_CATEGORY: ONT + "inCategory",
    G.EDITION_OF: ONT + "editionOf",
    G.SECTION_OF: ONT + "sectionOf",
    G.PAGE_OF: ONT + "pageOf",
    G.FROM_SOURCE: ONT + "fromSource",
}
_BY = {
    "maximus": ("m", ONT + "maximus"),
    "claims_administrator": ("ca", ONT + "claimsAdministrator"),
}


class Minter:
    """Node ids of the graph (and letter keys) to IRIs under one base."""

    def __init__(self, base: str = DEFAULT_BASE) -> None:
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*$", base):
            raise ValueError(f"not an absolute IRI: {base!r}")
        self.base = base
        self.ns, self.schemes = vocab_namespaces()
        self._cache: dict[str, str] = {}

    def node(self, nid: str) -> str:
        got = self._cache.get(nid)
        if got is None:
            prefix, sep, rest = nid.partition(":")
            if nid.startswith("outcome:"):
                got = ONT + rest
            elif sep and prefix in self.ns:
                got = self.ns[prefix] + iri_part(rest)
            elif sep:
                got = f"{self.base}{iri_part(prefix)}/{iri_part(rest)}"
            else:
                got = f"{self.base}node/{iri_part(nid)}"
            self._cache[nid] = got
        return got

    def minted(self, kind: str, *parts: object) -> str:
        return self.base + kind + "/" + "/".join(iri_part(str(p)) for p in parts)

    def scheme_of(self, nid: str) -> str | None:
        return self.schemes.get(nid.partition(":")[0])


class _CitationIds:
    """The graph's ids for a citation's document, edition, sections and pages (cached)."""

    def __init__(self, graph: Any = None) -> None:
        from .normalize import normalize_guideline, normalize_section

        self.graph = graph
        self._guideline = normalize_guideline
        self._section = normalize_section
        self._refs: dict[tuple[str, str, int | None], Any] = {}
        self._sections: dict[tuple[str, str], str] = {}

    def ref(self, c: Citation) -> Any:
        k = (c.guideline, c.document, c.year)
        r = self._refs.get(k)
        if r is None:
            r = self._refs[k] = self._guideline(c.guideline, c.document, c.year)
        return r

    def edition(self, ref: Any) -> str:
        """The edition node id: the graph's own if it uses the vocabulary's edition id."""
        legacy = f"{ref.document_id}@{ref.edition or 'unspecified'}"
        eid = getattr(ref, "edition_id", None)
        if eid and self.graph is not None and eid in self.graph and legacy not in self.graph:
            return eid
        return legacy

    def section(self, doc_id: str, s: str) -> str:
        k = (doc_id, s)
        r = self._sections.get(k)
        if r is None:
            r = self._sections[k] = self._section(doc_id, s)
        return r


def iter_triples(
    letters: Iterable[Letter],
    graph: Any,
    base: str = DEFAULT_BASE,
    provenance: Provenance | None = None,
) -> Iterator[Triple]:
    """Every triple of the export, in a deterministic (not sorted) order."""
    m = Minter(base)
    prov = provenance or Provenance(version=tool_version())
    cids = _CitationIds(graph)
    letters = sorted(letters, key=lambda x: x.key)

    activity = m.minted("ingest", f"g{prov.generation}")
    agent = m.minted("agent", "imr-graph", prov.version)
    yield activity, TYPE, ONT + "Ingest"
    yield activity, TYPE, PROV + "Activity"
    yield activity, LABEL, Lit(f"imr-graph ingest (store generation {prov.generation})")
    yield activity, PROV + "wasAssociatedWith", agent
    if prov.ended_at is not None:
        t = _dt.datetime.fromtimestamp(prov.ended_at, _dt.UTC).replace(microsecond=0)
        yield (
            activity,
            PROV + "endedAtTime",
            Lit(t.isoformat().replace("+00:00", "Z"), XSD_DATETIME),
        )
    yield agent, TYPE, PROV + "SoftwareAgent"
    yield agent, LABEL, Lit(f"imr-graph {prov.version}")
    yield agent, SDO + "name", Lit("imr-graph")
    yield agent, SDO + "softwareVersion", Lit(prov.version)

    for letter in letters:
        yield from _letter_triples(m, cids, letter, graph, activity)
    yield from _node_triples(m, graph)


def _letter_triples(
    m: Minter, cids: _CitationIds, letter: Letter, graph: Any, activity: str
) -> Iterator[Triple]:
    key = letter.key
    ln = m.minted("letter", key)
    yield ln, TYPE, ONT + "DeterminationLetter"
    yield ln, TYPE, PROV + "Entity"
    yield ln, LABEL, Lit(key)
    yield ln, ONT + "letterKey", Lit(key)
    if letter.case_number:
        yield ln, ONT + "caseNumber", Lit(letter.case_number)
    if letter.priority:
        yield ln, ONT + "priority", Lit(letter.priority)
    if letter.format:
        yield ln, ONT + "format", Lit(letter.format)
    d = letter.dates
    issued = _date(d.decision_date)
    if issued:
        yield ln, DCT + "issued", issued
        yield ln, DCT + "date", issued
    for attr, prop in (
        ("date_assigned", "dateAssigned"),
        ("ur_denial_date", "urDenialDate"),
        ("application_received", "applicationReceived"),
    ):
        lit = _date(getattr(d, attr))
        if lit:
            yield ln, ONT + prop, lit
    for lic in letter.reviewer.licensure:
        yield ln, ONT + "reviewerLicensure", Lit(lic)
    for spec in letter.reviewer.specialties:
        yield ln, ONT + "reviewerSpecialty", m.node(f"specialty:{G.slug(spec)}")

    # provenance: the file the letter was read from, and the ingest
    if letter.sha256:
        src = m.minted("file", letter.sha256)
        yield ln, PROV + "wasDerivedFrom", src
        yield src, TYPE, ONT + "SourceFile"
        yield src, TYPE, PROV + "Entity"
        yield src, ONT + "sha256", Lit(letter.sha256)
        name = Path(letter.source).name if letter.source else ""
        if name:
            yield src, ONT + "fileName", Lit(name)
    yield ln, PROV + "wasGeneratedBy", activity

    case = m.minted("case", key)
    yield ln, ONT + "aboutCase", case
    yield case, TYPE, ONT + "PatientCase"
    yield case, LABEL, Lit(f"case {key}")
    band = G.age_band(letter.patient.age)
    if band:
        yield case, ONT + "ageBand", Lit(band)
    if letter.patient.sex:
        yield case, ONT + "sex", Lit(letter.patient.sex)
    doi = _date(d.date_of_injury)
    if doi:
        yield case, ONT + "dateOfInjury", doi

    for item in letter.items:
        pos = item.position
        it = m.minted("item", key, pos)
        yield ln, ONT + "hasItem", it
        yield it, TYPE, ONT + "DisputedItem"
        yield it, LABEL, Lit(item.request)
        yield it, ONT + "request", Lit(item.request)
        yield it, ONT + "position", _int(pos)
        yield it, ONT + "decision", ONT + item.decision
        if item.original_request is not None:
            yield it, ONT + "originalRequest", Lit(item.original_request)
        if item.authorized_portion is not None:
            yield it, ONT + "authorizedPortion", Lit(item.authorized_portion)
        if item.rationale:
            rn = m.minted("rationale", key, pos)
            yield it, ONT + "hasRationale", rn
            yield rn, TYPE, ONT + "Rationale"
            yield rn, ONT + "text", Lit(item.rationale)
        inode = G.item_node(key, pos)
        if graph is not None and inode in graph:
            for _, v, data in graph.out_edges(inode, data=True):
                rel = data.get("rel")
                if rel == G.REQUESTS:
                    yield it, ONT + "requests", m.node(v)
                    if data.get("rank") == 0:
                        yield it, ONT + "primaryTreatment", m.node(v)
                elif rel == G.CONCERNS_REGION:
                    yield it, ONT + "concernsRegion", m.node(v)
        for by, cites in (
            ("maximus", item.maximus_citations),
            ("claims_administrator", item.claims_administrator_citations),
        ):
            tag, party = _BY[by]
            for n, c in enumerate(cites):
                yield from _citation_triples(
                    m, cids, c, m.minted("citation", key, pos, f"{tag}{n}"), it, party
                )


def _citation_triples(
    m: Minter, cids: _CitationIds, c: Citation, cn: str, it: str, party: str
) -> Iterator[Triple]:
    ref = cids.ref(c)
    ed = cids.edition(ref)
    yield it, ONT + "hasCitation", cn
    yield cn, TYPE, ONT + "Citation"
    yield cn, ONT + "citedBy", party
    yield cn, ONT + "guidelineName", Lit(c.guideline)
    yield cn, ONT + "documentTitle", Lit(c.document)
    if c.year is not None:
        yield cn, ONT + "year", _int(c.year)
    yield cn, ONT + "citesDocument", m.node(ref.document_id)
    yield cn, ONT + "citesEdition", m.node(ed)
    for s in c.sections:
        yield cn, ONT + "sectionName", Lit(s)
        yield cn, ONT + "citesSection", m.node(cids.section(ref.document_id, s))
    for p in c.pages:
        yield cn, ONT + "citesPage", m.node(f"{ed}/p{p}")


def _node_triples(m: Minter, graph: Any) -> Iterator[Triple]:
    """The shared nodes of the graph: concepts, regions, guideline sources ... pages."""
    if graph is None:
        return
    for nid, data in graph.nodes(data=True):
        kind = data.get("kind")
        cls = _GRAPH_CLASSES.get(kind)
        if cls is None:
            continue
        s = m.node(nid)
        yield s, TYPE, cls
        label = data.get("label")
        if label is not None:
            yield s, LABEL, Lit(str(label))
        if kind in _SKOS_KINDS:
            yield s, TYPE, SKOS + "Concept"
            if label is not None:
                yield s, SKOS + "prefLabel", Lit(str(label), lang="en")
            scheme = m.scheme_of(nid)
            if scheme:
                yield s, SKOS + "inScheme", scheme
            if kind == G.CATEGORY:
                yield s, TYPE, ONT + "Treatment"
            elif kind == G.TREATMENT and nid.startswith("drug:"):
                yield s, TYPE, ONT + "Drug"
        elif kind == G.EDITION:
            if data.get("year") is not None:
                yield s, ONT + "year", _int(data["year"])
            if data.get("edition"):
                yield s, ONT + "edition", Lit(str(data["edition"]))
        elif kind == G.PAGE and data.get("page") is not None:
            yield s, ONT + "pageNumber", _int(data["page"])
        for _, v, edata in graph.out_edges(nid, data=True):
            prop = _NODE_EDGES.get(edata.get("rel"))
            if prop:
                yield s, prop, m.node(v)


def store_provenance(store: Any) -> Provenance:
    row = store.db.execute("SELECT max(ingested_at) FROM letters").fetchone()
    return Provenance(generation=store.generation, ended_at=row[0], version=tool_version())


def store_triples(store: Any, base: str = DEFAULT_BASE) -> Iterator[Triple]:
    """The export of an open :class:`imr_graph.store.sqlite.Store`."""
    return iter_triples(store.letters().values(), store.graph, base, store_provenance(store))


# ---- serializers --------------------------------------------------------------------------


def nt_lines(triples: Iterable[Triple]) -> list[str]:
    """Sorted, de-duplicated N-Triples lines (each ending in a newline)."""
    return sorted({f"<{s}> <{p}> {nt_term(o)} .\n" for s, p, o in triples})


def write_nt(triples: Iterable[Triple], out: IO[bytes]) -> int:
    lines = nt_lines(triples)
    _write_chunks(out, lines)
    return len(lines)


def write_nq(triples: Iterable[Triple], out: IO[bytes], graph_iri: str) -> int:
    g = f" <{graph_iri}> .\n"
    lines = [line[:-3] + g for line in nt_lines(triples)]
    _write_chunks(out, lines)
    return len(lines)


def _write_chunks(out: IO[bytes], lines: list[str], chunk: int = 20000) -> None:
    for i in range(0, len(lines), chunk):
        out.write("".join(lines[i : i + chunk]).encode("utf-8"))


def _sorted_unique(triples: Iterable[Triple]) -> list[tuple[str, str, str, Term]]:
    """(s, p, nt(o), o), sorted and de-duplicated: the order every serializer uses."""
    seen = {(s, p, nt_term(o)): o for s, p, o in triples}
    return [(s, p, ot, seen[(s, p, ot)]) for s, p, ot in sorted(seen)]


_LOCAL_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")


class _Compactor:
    """IRIs to prefixed names where the local part is plain."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        # longest namespace first so tx: wins over a shorter enclosing namespace
        self.items = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))
        self._cache: dict[str, str] = {}

    def iri(self, iri: str) -> str:
        got = self._cache.get(iri)
        if got is None:
            got = f"<{iri}>"
            for p, ns in self.items:
                if iri.startswith(ns) and _LOCAL_RE.match(iri[len(ns) :]):
                    got = f"{p}:{iri[len(ns) :]}"
                    break
            self._cache[iri] = got
        return got

    def term(self, o: Term) -> str:
        if type(o) is str:
            return self.iri(o)
        lex, dt, lang = o  # type: ignore[misc]
        if lang:
            return f'"{escape_string(lex)}"@{lang}'
        if dt == XSD_INTEGER and re.fullmatch(r"-?\d+", lex):
            return lex
        if dt:
            return f'"{escape_string(lex)}"^^{self.iri(dt)}'
        return f'"{escape_string(lex)}"'


def export_prefixes(base: str = DEFAULT_BASE) -> dict[str, str]:
    ns, _ = vocab_namespaces()
    out = dict(PREFIXES)
    for p, iri in sorted(ns.items()):
        out.setdefault(p, iri)
    for p in ("letter", "case", "file", "ingest"):
        out.setdefault(p, f"{base}{p}/")
    return out


def _turtle_body(
    rows: list[tuple[str, str, str, Term]], c: _Compactor, indent: str
) -> Iterator[str]:
    i, n = 0, len(rows)
    while i < n:
        s = rows[i][0]
        parts = []
        j = i
        while j < n and rows[j][0] == s:
            p = rows[j][1]
            objs = []
            while j < n and rows[j][0] == s and rows[j][1] == p:
                objs.append(c.term(rows[j][3]))
                j += 1
            pred = "a" if p == TYPE else c.iri(p)
            parts.append(f"{pred} {', '.join(objs)}")
        sep = f" ;\n{indent}    "
        yield f"{indent}{c.iri(s)} {sep.join(parts)} .\n"
        i = j


def write_ttl(triples: Iterable[Triple], out: IO[bytes], base: str = DEFAULT_BASE) -> int:
    rows = _sorted_unique(triples)
    prefixes = export_prefixes(base)
    c = _Compactor(prefixes)
    head = [f"@prefix {p}: <{iri}> .\n" for p, iri in prefixes.items()]
    out.write(("".join(head) + "\n").encode("utf-8"))
    buf: list[str] = []
    for block in _turtle_body(rows, c, ""):
        buf.append(block)
        buf.append("\n")
        if len(buf) > 4000:
            out.write("".join(buf).encode("utf-8"))
            buf.clear()
    out.write("".join(buf).encode("utf-8"))
    return len(rows)


def write_trig(
    triples: Iterable[Triple], out: IO[bytes], graph_iri: str, base: str = DEFAULT_BASE
) -> int:
    rows = _sorted_unique(triples)
    prefixes = export_prefixes(base)
    c = _Compactor(prefixes)
    head = "".join(f"@prefix {p}: <{iri}> .\n" for p, iri in prefixes.items())
    out.write(f"{head}\n<{graph_iri}> {{\n".encode())
    buf: list[str] = []
    for block in _turtle_body(rows, c, "    "):
        buf.append(block)
        if len(buf) > 4000:
            out.write("".join(buf).encode("utf-8"))
            buf.clear()
    buf.append("}\n")
    out.write("".join(buf).encode("utf-8"))
    return len(rows)


def write_jsonld(triples: Iterable[Triple], out: IO[bytes], base: str = DEFAULT_BASE) -> int:
    """Flattened JSON-LD: one node object per subject, sorted, prefixes in the context."""
    rows = _sorted_unique(triples)
    prefixes = export_prefixes(base)
    c = _Compactor({p: ns for p, ns in prefixes.items() if p in PREFIXES})

    def key(iri: str) -> str:
        k = c.iri(iri)
        return k[1:-1] if k.startswith("<") else k

    nodes: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    for s, p, _, o in rows:
        if cur is None or cur["@id"] != s:
            cur = {"@id": s}
            nodes.append(cur)
        if p == TYPE and type(o) is str:
            cur.setdefault("@type", []).append(key(o))
            continue
        if type(o) is str:
            v: Any = {"@id": o}
        else:
            lex, dt, lang = o  # type: ignore[misc]
            if lang:
                v = {"@value": lex, "@language": lang}
            elif dt:
                v = {"@value": lex, "@type": key(dt)}
            else:
                v = lex
        cur.setdefault(key(p), []).append(v)
    doc = {"@context": {p: ns for p, ns in prefixes.items() if p in PREFIXES}, "@graph": nodes}
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    out.write(text.encode("utf-8"))
    out.write(b"\n")
    return len(rows)


def graph_iri(base: str = DEFAULT_BASE) -> str:
    return base + "graph/imr"


def write(triples: Iterable[Triple], fmt: str, out: IO[bytes], base: str = DEFAULT_BASE) -> int:
    """Serialize ``triples`` as ``fmt`` (one of :data:`FORMATS`); returns the triple count."""
    if fmt == "nt":
        return write_nt(triples, out)
    if fmt == "nq":
        return write_nq(triples, out, graph_iri(base))
    if fmt == "ttl":
        return write_ttl(triples, out, base)
    if fmt == "trig":
        return write_trig(triples, out, graph_iri(base), base)
    if fmt == "jsonld":
        return write_jsonld(triples, out, base)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


def export_bytes(triples: Iterable[Triple], fmt: str = "nt", base: str = DEFAULT_BASE) -> bytes:
    buf = io.BytesIO()
    write(triples, fmt, buf, base)
    return buf.getvalue()


# ---- rdflib / pyshacl / pyoxigraph bridges ----------------------------------------------------


def to_rdflib(triples: Iterable[Triple]) -> Any:
    """An rdflib Graph of the triples (for validation; export never needs one)."""
    from rdflib import Graph, Literal, URIRef

    g = Graph()
    iris: dict[str, URIRef] = {}

    def u(x: str) -> URIRef:
        r = iris.get(x)
        if r is None:
            r = iris[x] = URIRef(x)
        return r

    add = g.add
    for s, p, o in triples:
        if type(o) is str:
            ot: Any = u(o)
        else:
            lex, dt, lang = o  # type: ignore[misc]
            ot = Literal(lex, lang=lang, datatype=URIRef(dt) if dt else None)
        add((u(s), u(p), ot))
    return g


def load_ontology() -> Any:
    from rdflib import Graph

    return Graph().parse(ONTOLOGY_FILE, format="turtle")


def load_shapes() -> Any:
    from rdflib import Graph

    return Graph().parse(SHAPES_FILE, format="turtle")


def parse_file(path: Path, fmt: str | None = None) -> Any:
    """Any export (or other RDF file) as one rdflib Graph; quads are merged into it."""
    from rdflib import Dataset, Graph

    fmt = fmt or SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown RDF format (use .ttl, .nt, .nq, .jsonld or .trig)")
    rdflib_fmt = {"ttl": "turtle", "nt": "nt", "nq": "nquads", "jsonld": "json-ld", "trig": "trig"}
    if fmt in ("nq", "trig"):
        ds = Dataset()
        ds.parse(path, format=rdflib_fmt[fmt])
        g = Graph()
        for s, p, o, _ in ds.quads((None, None, None, None)):
            g.add((s, p, o))
        return g
    return Graph().parse(path, format=rdflib_fmt[fmt])


@dataclass(frozen=True)
class Violation:
    focus: str
    path: str
    severity: str
    message: str
    shape: str

    def to_json(self) -> dict[str, str]:
        return {
            "focus": self.focus,
            "path": self.path,
            "severity": self.severity,
            "message": self.message,
            "shape": self.shape,
        }


def validate_graph(data: Any) -> tuple[bool, list[Violation]]:
    """SHACL-validate an rdflib Graph against kg/data/shapes.ttl (core constraints only)."""
    from pyshacl import validate
    from rdflib import Namespace

    sh = Namespace("http://www.w3.org/ns/shacl#")
    conforms, report, _ = validate(
        data, shacl_graph=load_shapes(), inference="none", advanced=False, allow_warnings=True
    )
    out = []
    for r in report.subjects(sh.resultSeverity, None):
        sev = report.value(r, sh.resultSeverity)
        out.append(
            Violation(
                focus=str(report.value(r, sh.focusNode)),
                path=str(report.value(r, sh.resultPath) or ""),
                severity=str(sev).rsplit("#", 1)[-1],
                message=str(report.value(r, sh.resultMessage) or ""),
                shape=str(report.value(r, sh.sourceShape) or ""),
            )
        )
    out.sort(key=lambda v: (v.severity, v.shape, v.focus, v.path, v.message))
    return bool(conforms), out


def oxigraph_store(triples: Iterable[Triple]) -> Any:
    """An in-memory pyoxigraph Store loaded from the N-Triples of ``triples``."""
    import pyoxigraph as ox

    data = "".join(f"<{s}> <{p}> {nt_term(o)} .\n" for s, p, o in triples).encode("utf-8")
    st = ox.Store()
    st.bulk_load(data, format=ox.RdfFormat.N_TRIPLES)
    return st


def query_prefixes() -> dict[str, str]:
    return dict(PREFIXES)


def run_query(st: Any, query: str) -> tuple[list[str], list[list[Any]]]:
    """Run a SELECT (or ASK) on a pyoxigraph Store: (variable names, rows of python values)."""
    import pyoxigraph as ox

    res = st.query(query, prefixes=query_prefixes())
    if isinstance(res, ox.QueryBoolean):
        return ["ask"], [[bool(res)]]
    if isinstance(res, ox.QueryTriples):
        rows = [[_py(t.subject), _py(t.predicate), _py(t.object)] for t in res]
        return ["subject", "predicate", "object"], rows
    names = [v.value for v in res.variables]
    rows = [[_py(sol[v]) for v in res.variables] for sol in res]
    return names, rows


_NUMERIC = {XSD + t for t in ("integer", "int", "long", "short", "nonNegativeInteger")}
_FLOAT = {XSD + t for t in ("decimal", "double", "float")}


def _py(term: Any) -> Any:
    import pyoxigraph as ox

    if term is None:
        return None
    if isinstance(term, ox.Literal):
        dt = term.datatype.value if term.datatype else None
        if dt in _NUMERIC:
            return int(term.value)
        if dt in _FLOAT:
            f = float(term.value)
            return round(f, 6)
        if dt == XSD + "boolean":
            return term.value == "true"
        return term.value
    if isinstance(term, ox.NamedNode):
        return term.value
    return str(term)
