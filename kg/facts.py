"""The one walk from a Letter to the facts every view records: ids, concepts, regions, citations.

The networkx graph (kg.graph), the query arrays (imr_graph.index.build_arrays) and the RDF
triples (kg.rdf.triples) are all built from these values, so they cannot drift apart: the
treatment concept chain, the body regions and their labels, the `specialty:{slug}` ids and every
citation's document, edition, section and page ids are derived here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from kg import ids
from kg.clinical import fact_id, item_clinical_facts
from kg.forms import names_a_drug, route_of
from kg.model import Citation, Item, Letter
from kg.normalize import drug_classes, normalize_guideline, normalize_request, normalize_section
from kg.specialties import specialty_facts
from kg.vocab import load_vocabulary

MAXIMUS = "maximus"
CLAIMS_ADMINISTRATOR = "claims_administrator"
CITED_BY = (MAXIMUS, CLAIMS_ADMINISTRATOR)


def smallest_label(current: str | None, new: str) -> str:
    """The label a shared node keeps: the smallest seen, so any letter order gives the same."""
    return new if current is None or new < current else current


def age_band(age: int | None) -> str | None:
    """A patient's age as a decade ('40-49'): enough to compare cases, no more."""
    if age is None:
        return None
    lo = (age // 10) * 10
    return f"{lo}-{lo + 9}"


def concept_label(cid: str) -> str:
    """A vocabulary id's preferred label, else its id made readable (drug-library concepts)."""
    concept = load_vocabulary().concept(cid)
    return concept.pref_label if concept else cid.split(":", 1)[-1].replace("-", " ")


@dataclass(frozen=True)
class ConceptFacts:
    """A treatment concept as the graph shows it: label, broader concepts, category."""

    id: str
    label: str
    parents: tuple[str, ...]  # broader concepts that are not themselves categories
    category: str | None
    category_label: str | None


@lru_cache(maxsize=65536)
def concept_facts(cid: str) -> ConceptFacts:
    """What every view records for one treatment concept (vocabulary first, then drug library)."""
    vocab = load_vocabulary()
    concept = vocab.concept(cid)
    broader = concept.broader if concept is not None else drug_classes(cid)
    parents = tuple(p for p in broader if vocab.category_of(p) != p)
    cat = vocab.category_of(cid)
    return ConceptFacts(cid, concept_label(cid), parents, cat, concept_label(cat) if cat else None)


def concept_chain(cids: Iterable[str]) -> Iterator[ConceptFacts]:
    """The concepts and every broader concept above them, each once, depth first."""
    seen: set[str] = set()
    todo = list(reversed(list(cids)))
    while todo:
        cid = todo.pop()
        if cid in seen:
            continue
        seen.add(cid)
        f = concept_facts(cid)
        yield f
        todo.extend(reversed(f.parents))


@dataclass(frozen=True)
class CitationFacts:
    """One citation normalized: its source, document, edition, sections and pages."""

    citation: Citation
    by: str  # maximus | claims_administrator
    source_id: str
    source_label: str
    document_id: str
    document_label: str
    edition_id: str
    edition_label: str
    edition: str
    year: int | None
    sections: tuple[tuple[str, str], ...]  # (section id, label as cited)
    pages: tuple[tuple[str, str, int], ...]  # (page id, label, page)


def citation_facts(c: Citation, by: str) -> CitationFacts:
    """What every view records for one citation."""
    ref = normalize_guideline(c.guideline, c.document, c.year)
    edition = ref.edition or "unspecified"
    ed = ids.edition_node(ref.document_id, edition)
    return CitationFacts(
        c,
        by,
        ref.source_id,
        c.guideline,
        ref.document_id,
        ref.label,
        ed,
        f"{ref.label} ({edition})",
        edition,
        c.year,
        tuple((normalize_section(ref.document_id, s), s) for s in c.sections),
        tuple((ids.page_node(ed, p), f"{ref.label} p.{p}", p) for p in c.pages),
    )


@dataclass(frozen=True)
class ItemFacts:
    """One disputed item: its ids, requested concepts, regions and citations."""

    item: Item
    node: str
    int_id: int
    rationale_node: str
    outcome_node: str
    treatments: tuple[str, ...]  # requested concepts, specific first; the first is the primary
    regions: tuple[tuple[str, str], ...]  # (region id, label)
    citations: tuple[CitationFacts, ...]  # MAXIMUS's, then the Claims Administrator's
    heads: tuple[str, ...] = ()  # the treatments of the request's head (normalize_request)
    route: str | None = None  # a drug's route or form (kg/forms.py); None for procedures
    clinical: tuple[tuple[str, str], ...] = ()  # (clinical fact id, fact) (kg/clinical.py)

    def cited_by(self, by: str) -> tuple[CitationFacts, ...]:
        return tuple(f for f in self.citations if f.by == by)


@dataclass(frozen=True)
class LetterFacts:
    """A letter's node ids, its reviewer's specialties and its items' facts."""

    letter: Letter
    node: str
    case_node: str
    age_band: str | None
    specialties: tuple[tuple[str, str], ...]  # (specialty id, ABMS name; kg/specialties.py)
    items: tuple[ItemFacts, ...]


def item_facts(letter_key: str, item: Item) -> ItemFacts:
    rc = normalize_request(item.request)
    cites = tuple(
        citation_facts(c, by)
        for by, cs in zip(
            CITED_BY, (item.maximus_citations, item.claims_administrator_citations), strict=True
        )
        for c in cs
    )
    chain = tuple(c.id for c in concept_chain(rc.treatments))
    applied = tuple(dict.fromkeys(c.document_id for c in cites if c.by == MAXIMUS))
    facts = item_clinical_facts(item.request, item.rationale, applied)
    return ItemFacts(
        item,
        ids.item_node(letter_key, item.position),
        ids.item_int_id(letter_key, item.position),
        ids.rationale_node(letter_key, item.position),
        ids.outcome_node(item.decision),
        tuple(rc.treatments),
        tuple((r, concept_label(r)) for r in rc.body_regions),
        cites,
        tuple(rc.heads),
        route_of(item.request, chain, names_a_drug(rc.treatments)),
        tuple((fact_id(x), x) for x in sorted(facts)),
    )


def letter_facts(letter: Letter) -> LetterFacts:
    """Everything the graph, the query arrays and the RDF say about one letter."""
    key = letter.key
    return LetterFacts(
        letter,
        ids.letter_node(key),
        ids.case_node(key),
        age_band(letter.patient.age),
        specialty_facts(letter.reviewer.specialties),
        tuple(item_facts(key, item) for item in letter.items),
    )
