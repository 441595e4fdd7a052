"""Linked data from letters and their graph: terms, triples, serializers, SHACL and SPARQL.

terms: namespaces, literals, escaping and the IRI minter; triples: letters, graph and a
Provenance value to triples (never a store); serialize: deterministic writers; shacl: the rdflib
bridge and validation; sparql: pyoxigraph with parameters bound as terms.
"""

from kg.rdf.serialize import FORMATS, export_bytes, export_prefixes, graph_iri, nt_lines, write
from kg.rdf.shacl import (
    Violation,
    load_ontology,
    load_shapes,
    parse_file,
    to_rdflib,
    validate_graph,
)
from kg.rdf.sparql import oxigraph_store, param_term, run_query
from kg.rdf.terms import (
    DEFAULT_BASE,
    ONT,
    ONTOLOGY_FILE,
    ONTOLOGY_IRI,
    ONTOLOGY_VERSION_IRI,
    PREFIXES,
    SHAPES_FILE,
    SUFFIX_FORMAT,
    TYPE,
    Lit,
    Minter,
    Term,
    Triple,
    nt_term,
    vocab_namespaces,
)
from kg.rdf.triples import Provenance, iter_triples

__all__ = [
    "DEFAULT_BASE",
    "FORMATS",
    "ONT",
    "ONTOLOGY_FILE",
    "ONTOLOGY_IRI",
    "ONTOLOGY_VERSION_IRI",
    "PREFIXES",
    "SHAPES_FILE",
    "SUFFIX_FORMAT",
    "TYPE",
    "Lit",
    "Minter",
    "Provenance",
    "Term",
    "Triple",
    "Violation",
    "export_bytes",
    "export_prefixes",
    "graph_iri",
    "iter_triples",
    "load_ontology",
    "load_shapes",
    "nt_lines",
    "nt_term",
    "oxigraph_store",
    "param_term",
    "parse_file",
    "run_query",
    "to_rdflib",
    "validate_graph",
    "vocab_namespaces",
    "write",
]
