"""The controlled vocabularies (SKOS Turtle under kg/data) as plain, hashable Python lookups.

The Turtle files are the single source of truth; this module parses them once with rdflib and
keeps only frozen dataclasses and dicts, so callers never touch rdflib and lookups stay cheap.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

ID_BASE = "https://w3id.org/imr-graph/id/"
EDITION = "https://w3id.org/imr-graph/vocab#edition"
MESH_BASE = "http://id.nlm.nih.gov/mesh/"
DATA_FILES = ("treatments.ttl", "drugs.ttl", "body_regions.ttl", "guidelines.ttl")

TREATMENTS = "scheme:treatments"
DRUGS = "scheme:drugs"
BODY_REGIONS = "scheme:body-regions"
GUIDELINES = "scheme:guidelines"
MEDICATION = "tx:medication"
DRUG_PREFIX = "drug:"

_SKOS = "http://www.w3.org/2004/02/skos/core#"
_APOSTROPHES = re.compile(r"['\u2019\u2018`\u00b4]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Fold text for label matching: ASCII, lower case, '&' -> 'and', punctuation -> one space.

    Apostrophes vanish ("MRI's" -> "mris"), so possessives and plurals written both ways meet.
    """
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = _APOSTROPHES.sub("", text.replace("&", " and "))
    return _NON_ALNUM.sub(" ", text).strip()


def curie(uri: str) -> str:
    """Turn a vocabulary URI into its short id (".../imr-graph/id/tx/mri" -> "tx:mri")."""
    if uri.startswith(ID_BASE):
        prefix, _, local = uri[len(ID_BASE) :].partition("/")
        return f"{prefix}:{local}"
    if uri.startswith(MESH_BASE):
        return "mesh:" + uri[len(MESH_BASE) :]
    return uri


@dataclass(frozen=True)
class Concept:
    """One SKOS concept: an id, its labels, its broader concepts and the scheme it belongs to."""

    id: str
    pref_label: str
    alt_labels: tuple[str, ...]
    broader: tuple[str, ...]
    scheme: str
    edition: str | None = None
    close_matches: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.pref_label, *self.alt_labels)


@dataclass(frozen=True)
class Vocabulary:
    """All concepts with hierarchy and label indexes; build it with load_vocabulary()."""

    concepts: Mapping[str, Concept]
    narrower_index: Mapping[str, tuple[str, ...]] = field(repr=False)
    label_index: Mapping[str, Mapping[str, tuple[str, ...]]] = field(repr=False)
    mapping_index: Mapping[str, tuple[str, ...]] = field(repr=False)

    def __contains__(self, concept_id: object) -> bool:
        return concept_id in self.concepts

    def concept(self, concept_id: str) -> Concept | None:
        """The concept with this id, None when the vocabulary has none (e.g. a library drug)."""
        return self.concepts.get(concept_id)

    def broader(self, concept_id: str) -> tuple[str, ...]:
        concept = self.concepts.get(concept_id)
        return concept.broader if concept else ()

    def narrower(self, concept_id: str) -> tuple[str, ...]:
        return self.narrower_index.get(concept_id, ())

    def ancestors(self, concept_id: str) -> tuple[str, ...]:
        """All broader concepts, nearest first (breadth-first), without the concept itself."""
        return _ancestors(self, concept_id)

    def category_of(self, concept_id: str) -> str | None:
        """The top treatment category above a treatment or drug id (itself if it is one).

        A drug:... id absent from drugs.ttl is still a medication.
        """
        return _category_of(self, concept_id)

    def lookup(self, label: str, scheme: str | None = None) -> tuple[str, ...]:
        """Concept ids whose folded label equals fold(label), optionally in one scheme only."""
        key = fold(label)
        schemes = (scheme,) if scheme else tuple(self.label_index)
        found: list[str] = []
        for name in schemes:
            for cid in self.label_index.get(name, {}).get(key, ()):
                if cid not in found:
                    found.append(cid)
        return tuple(found)

    def labels(self, scheme: str) -> Mapping[str, tuple[str, ...]]:
        """The folded-label index of one scheme (folded label -> concept ids)."""
        return self.label_index.get(scheme, MappingProxyType({}))

    def by_mapping(self, target: str) -> tuple[str, ...]:
        """Concepts declaring skos:closeMatch/exactMatch to target (e.g. "mesh:D009294")."""
        return self.mapping_index.get(target, ())

    def in_scheme(self, scheme: str) -> tuple[Concept, ...]:
        return tuple(c for c in self.concepts.values() if c.scheme == scheme)


def _ancestors(vocab: Vocabulary, concept_id: str) -> tuple[str, ...]:
    seen: list[str] = []
    frontier = list(vocab.concepts[concept_id].broader) if concept_id in vocab.concepts else []
    while frontier:
        nxt: list[str] = []
        for cid in frontier:
            if cid in seen or cid == concept_id:
                continue
            seen.append(cid)
            concept = vocab.concepts.get(cid)
            if concept:
                nxt.extend(concept.broader)
        frontier = nxt
    return tuple(seen)


def _category_of(vocab: Vocabulary, concept_id: str) -> str | None:
    if concept_id not in vocab.concepts and concept_id.startswith(DRUG_PREFIX):
        return MEDICATION  # a drug the library found but drugs.ttl lacks
    for cid in (concept_id, *vocab.ancestors(concept_id)):
        concept = vocab.concepts.get(cid)
        if concept and concept.scheme == TREATMENTS and not concept.broader:
            return cid
    return None


def _literal_text(value: object) -> str:
    return " ".join(str(value).split())


def _build(graph: object) -> Vocabulary:
    from rdflib import RDF, URIRef

    g = graph  # rdflib.Graph
    skos = {
        name: URIRef(_SKOS + name)
        for name in (
            "Concept",
            "prefLabel",
            "altLabel",
            "broader",
            "inScheme",
            "closeMatch",
            "exactMatch",
        )
    }
    concepts: dict[str, Concept] = {}
    for subject in sorted(set(g.subjects(RDF.type, skos["Concept"])), key=str):  # type: ignore[attr-defined]
        cid = curie(str(subject))
        prefs = sorted(_literal_text(o) for o in g.objects(subject, skos["prefLabel"]))  # type: ignore[attr-defined]
        alts = tuple(sorted({_literal_text(o) for o in g.objects(subject, skos["altLabel"])}))  # type: ignore[attr-defined]
        broader = tuple(sorted(curie(str(o)) for o in g.objects(subject, skos["broader"])))  # type: ignore[attr-defined]
        schemes = sorted(curie(str(o)) for o in g.objects(subject, skos["inScheme"]))  # type: ignore[attr-defined]
        editions = sorted(str(o) for o in g.objects(subject, URIRef(EDITION)))  # type: ignore[attr-defined]
        matches = tuple(
            sorted(
                curie(str(o))
                for prop in ("closeMatch", "exactMatch")
                for o in g.objects(subject, skos[prop])  # type: ignore[attr-defined]
            )
        )
        concepts[cid] = Concept(
            id=cid,
            pref_label=prefs[0] if prefs else cid,
            alt_labels=alts,
            broader=broader,
            scheme=schemes[0] if schemes else "",
            edition=editions[0] if editions else None,
            close_matches=matches,
        )
    return _index(concepts)


def _index(concepts: dict[str, Concept]) -> Vocabulary:
    narrower: dict[str, list[str]] = {}
    labels: dict[str, dict[str, list[str]]] = {}
    mappings: dict[str, list[str]] = {}
    for concept in concepts.values():
        for parent in concept.broader:
            narrower.setdefault(parent, []).append(concept.id)
        index = labels.setdefault(concept.scheme, {})
        for label in concept.labels:
            ids = index.setdefault(fold(label), [])
            if concept.id not in ids:
                ids.append(concept.id)
        for target in concept.close_matches:
            mappings.setdefault(target, []).append(concept.id)
    frozen_labels = {
        scheme: MappingProxyType({k: tuple(v) for k, v in index.items() if k})
        for scheme, index in labels.items()
    }
    return Vocabulary(
        concepts=MappingProxyType(concepts),
        narrower_index=MappingProxyType({k: tuple(v) for k, v in narrower.items()}),
        label_index=MappingProxyType(frozen_labels),
        mapping_index=MappingProxyType({k: tuple(v) for k, v in mappings.items()}),
    )


@lru_cache(maxsize=1)
def load_vocabulary() -> Vocabulary:
    """Parse the bundled Turtle files once; later calls return the same object."""
    from rdflib import Graph

    graph = Graph()
    data = resources.files("kg") / "data"
    for name in DATA_FILES:
        graph.parse(data=(data / name).read_text(encoding="utf-8"), format="turtle")
    return _build(graph)
