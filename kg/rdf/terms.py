"""RDF terms without rdflib: namespaces, literals, N-Triples escaping and the IRI minter.

A triple is ``(s, p, o)``: ``s`` and ``p`` are IRI strings, ``o`` an IRI string or a :class:`Lit`.
IRIs: ontology terms under :data:`ONT`; the SKOS concepts (``tx:``, ``drug:``, ``region:`` ...) in
the namespaces kg/data/*.ttl declare for them; every other node minted under the base IRI
(``{base}letter/CM16-0232543``, ``{base}item/CM16-0232543/0``, ``{base}mtus/...``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

DATA = Path(__file__).resolve().parents[1] / "data"
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
    if isinstance(o, str):
        return f"<{o}>"
    lex, dt, lang = o
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


# ---- minting IRIs ---------------------------------------------------------------------------


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
