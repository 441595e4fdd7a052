"""The rdflib side: triples as an rdflib Graph, export files read back, SHACL validation.

Export never needs rdflib; pyshacl does, so validation and reading files back go through here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.rdf.terms import ONTOLOGY_FILE, SHAPES_FILE, SUFFIX_FORMAT, Triple


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
        if isinstance(o, str):
            ot: Any = u(o)
        else:
            lex, dt, lang = o
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
