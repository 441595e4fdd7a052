"""SPARQL through pyoxigraph: load triples, run a query with parameters bound as RDF terms.

A query declares a parameter with a `VALUES ?name { default }` block, so the file also runs as
is in any SPARQL tool. Given a value, the block is dropped and the value bound as a term with
pyoxigraph's `substitutions=` (SEP-0007): no value is ever spliced into the query text here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pyoxigraph as ox

from kg.rdf.terms import PREFIXES, XSD, XSD_INTEGER, Triple, nt_term

Params = Mapping[str, str | int]
_VALUES = r"VALUES\s+\?{name}\s*\{{[^}}]*\}}"
_NUMERIC = {XSD + t for t in ("integer", "int", "long", "short", "nonNegativeInteger")}
_FLOAT = {XSD + t for t in ("decimal", "double", "float")}


def oxigraph_store(triples: Iterable[Triple]) -> ox.Store:
    """An in-memory pyoxigraph Store loaded from the N-Triples of ``triples``."""
    data = "".join(f"<{s}> <{p}> {nt_term(o)} .\n" for s, p, o in triples).encode("utf-8")
    st = ox.Store()
    st.bulk_load(data, format=ox.RdfFormat.N_TRIPLES)
    return st


def param_term(value: str | int) -> ox.NamedNode | ox.Literal:
    """A parameter as an RDF term: an integer, an `<IRI>`, else a plain string."""
    s = str(value)
    if re.fullmatch(r"-?\d+", s):
        return ox.Literal(s, datatype=ox.NamedNode(XSD_INTEGER))
    if s.startswith("<") and s.endswith(">"):
        return ox.NamedNode(s[1:-1])
    return ox.Literal(s)


def _values_block(name: str) -> re.Pattern[str]:
    return re.compile(_VALUES.format(name=re.escape(name)))


def drop_defaults(query: str, names: Iterable[str]) -> str:
    """The query without the `VALUES ?name { default }` block of each name given a value;
    ValueError when the query has no such block (the name is not a parameter of the query)."""
    for name in names:
        pat = _values_block(name)
        if not pat.search(query):
            raise ValueError(f"the query has no `VALUES ?{name} {{ ... }}` to set")
        query = pat.sub(" ", query)
    return query


def with_values(query: str, params: Params) -> str:
    """The query with each parameter's default replaced by its value, written as oxigraph writes
    the term: for a server, where terms cannot be bound beside the query text."""
    for name, value in params.items():
        pat = _values_block(name)
        if not pat.search(query):
            raise ValueError(f"the query has no `VALUES ?{name} {{ ... }}` to set")
        block = f"VALUES ?{name} {{ {param_term(value)} }}"
        query = pat.sub(block.replace("\\", "\\\\"), query)  # a template: escape backslashes
    return query


def run_query(
    st: ox.Store, query: str, params: Params | None = None
) -> tuple[list[str], list[list[Any]]]:
    """Run a SELECT, ASK or CONSTRUCT on a pyoxigraph Store: (variable names, rows of python
    values); `params` set the query's `VALUES ?name { default }` parameters."""
    params = params or {}
    subs: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
        ox.Variable(n): param_term(v) for n, v in params.items()
    }
    res = st.query(drop_defaults(query, params), prefixes=dict(PREFIXES), substitutions=subs)
    if isinstance(res, ox.QueryBoolean):
        return ["ask"], [[bool(res)]]
    if isinstance(res, ox.QueryTriples):
        rows = [[py_value(t.subject), py_value(t.predicate), py_value(t.object)] for t in res]
        return ["subject", "predicate", "object"], rows
    names = [v.value for v in res.variables]
    return names, [[py_value(sol[v]) for v in res.variables] for sol in res]


def py_value(term: Any) -> Any:
    """A result term as a Python value: numbers and booleans typed, IRIs and strings as text."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        dt = term.datatype.value if term.datatype else None
        if dt in _NUMERIC:
            return int(term.value)
        if dt in _FLOAT:
            return round(float(term.value), 6)
        if dt == XSD + "boolean":
            return term.value == "true"
        return term.value
    if isinstance(term, ox.NamedNode):
        return term.value
    return str(term)
