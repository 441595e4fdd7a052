"""The knowledge graph: a networkx MultiDiGraph built deterministically from parsed letters.

Node ids are derived from content (case number, item position, normalized names), so the same
letter always yields the same nodes and letters meet on shared concepts, sections and pages.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from .model import Citation, Item, Letter
from .vocab import Vocabulary, load_vocabulary

# node kinds
LETTER = "letter"
CASE = "patient_case"
ITEM = "disputed_item"
RATIONALE = "rationale"
TREATMENT = "treatment"
CATEGORY = "treatment_category"
REGION = "body_region"
SOURCE = "guideline_source"
DOCUMENT = "guideline_document"
EDITION = "guideline_edition"
SECTION = "guideline_section"
PAGE = "guideline_page"
OUTCOME = "outcome"
SPECIALTY = "reviewer_specialty"
NODE_KINDS = (
    LETTER,
    CASE,
    ITEM,
    RATIONALE,
    TREATMENT,
    CATEGORY,
    REGION,
    SOURCE,
    DOCUMENT,
    EDITION,
    SECTION,
    PAGE,
    OUTCOME,
    SPECIALTY,
)

# edge relations (the MultiDiGraph key)
HAS_ITEM = "has_item"
ABOUT_CASE = "about_case"
REVIEWED_BY = "reviewed_by"
HAS_RATIONALE = "has_rationale"
REQUESTS = "requests"
BROADER = "broader"
IN_CATEGORY = "in_category"
CONCERNS_REGION = "concerns_region"
DECIDED = "decided"
CITES_EDITION = "cites_edition"
CITES_SECTION = "cites_section"
CITES_PAGE = "cites_page"
EDITION_OF = "edition_of"
SECTION_OF = "section_of"
PAGE_OF = "page_of"
FROM_SOURCE = "from_source"
CITED_BY = ("maximus", "claims_administrator")


def slug(text: str) -> str:
    """Lower-case, punctuation-free id fragment: 'Low Back, Lumbar' -> 'low-back-lumbar'."""
    s = re.sub(r"[^a-z0-9]+", "-", text.casefold().replace("&", " and ")).strip("-")
    return s or "none"


def item_int_id(letter_key: str, position: int) -> int:
    """A stable positive int64 for an item: the id its vectors carry in FAISS."""
    h = hashlib.blake2b(f"{letter_key}/{position}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") & 0x00FF_FFFF_FFFF_FFFF  # 56 bits: room for window numbers


def item_node(letter_key: str, position: int) -> str:
    return f"item:{letter_key}/{position}"


def letter_node(letter_key: str) -> str:
    return f"letter:{letter_key}"


def age_band(age: int | None) -> str | None:
    if age is None:
        return None
    lo = (age // 10) * 10
    return f"{lo}-{lo + 9}"


@dataclass(frozen=True)
class ItemConcepts:
    """What normalization found in one item: treatment concepts (specific first) and regions."""

    treatments: tuple[str, ...]
    regions: tuple[str, ...]


def item_concepts(item: Item) -> ItemConcepts:
    from .normalize import normalize_request

    rc = normalize_request(item.request)
    return ItemConcepts(tuple(rc.treatments), tuple(rc.body_regions))


def build_graph(letters: Iterable[Letter]) -> nx.MultiDiGraph:
    """The whole graph for a set of letters; order-independent and deterministic."""
    g = nx.MultiDiGraph()
    for letter in sorted(letters, key=lambda x: x.key):
        add_letter(g, letter)
    return g


def _node(g: nx.MultiDiGraph, nid: str, kind: str, **attrs: object) -> str:
    """Add a node once; a shared node keeps the smallest label seen, whatever the order."""
    if nid not in g:
        g.add_node(nid, kind=kind, **attrs)
    elif "label" in attrs and str(attrs["label"]) < str(g.nodes[nid].get("label", "")):
        g.nodes[nid]["label"] = attrs["label"]
    return nid


def _edge(g: nx.MultiDiGraph, u: str, v: str, rel: str, **attrs: object) -> None:
    key = rel if not attrs.get("by") else f"{rel}:{attrs['by']}"
    if not g.has_edge(u, v, key):
        g.add_edge(u, v, key=key, rel=rel, **attrs)


def add_letter(g: nx.MultiDiGraph, letter: Letter) -> None:
    """Add one letter's nodes and edges (shared nodes are reused, never duplicated)."""
    key = letter.key
    ln = _node(
        g,
        letter_node(key),
        LETTER,
        label=key,
        case_number=letter.case_number,
        file=letter.letter,
        decision_date=letter.dates.decision_date,
        date_assigned=letter.dates.date_assigned,
        ur_denial_date=letter.dates.ur_denial_date,
        application_received=letter.dates.application_received,
        priority=letter.priority,
        sha256=letter.sha256,
        source=letter.source,
    )
    case = _node(
        g,
        f"case:{key}",
        CASE,
        label=f"case {key}",
        age_band=age_band(letter.patient.age),
        sex=letter.patient.sex,
        date_of_injury=letter.dates.date_of_injury,
    )
    _edge(g, ln, case, ABOUT_CASE)
    for spec in letter.reviewer.specialties:
        sn = _node(g, f"specialty:{slug(spec)}", SPECIALTY, label=spec)
        _edge(g, ln, sn, REVIEWED_BY)
    for item in letter.items:
        _add_item(g, letter, item, ln)


def _add_item(g: nx.MultiDiGraph, letter: Letter, item: Item, ln: str) -> None:
    key = letter.key
    inode = _node(
        g,
        item_node(key, item.position),
        ITEM,
        label=item.request,
        request=item.request,
        decision=item.decision,
        position=item.position,
        letter=key,
        int_id=item_int_id(key, item.position),
        original_request=item.original_request,
        authorized_portion=item.authorized_portion,
        decision_date=letter.dates.decision_date,
    )
    _edge(g, ln, inode, HAS_ITEM, position=item.position)
    rn = _node(
        g,
        f"rationale:{key}/{item.position}",
        RATIONALE,
        label=item.rationale[:80],
        text=item.rationale,
    )
    _edge(g, inode, rn, HAS_RATIONALE)
    out = _node(g, f"outcome:{item.decision}", OUTCOME, label=item.decision)
    _edge(g, inode, out, DECIDED)

    concepts = item_concepts(item)
    vocab = load_vocabulary()
    for rank, cid in enumerate(concepts.treatments):
        _add_concept(g, vocab, cid)
        _edge(g, inode, cid, REQUESTS, rank=rank)
    for rid in concepts.regions:
        _node(g, rid, REGION, label=concept_label(vocab, rid))
        _edge(g, inode, rid, CONCERNS_REGION)
    for by, cites in zip(
        CITED_BY, (item.maximus_citations, item.claims_administrator_citations), strict=True
    ):
        for c in cites:
            _add_citation(g, inode, c, by)


def concept_label(vocab: Vocabulary, cid: str) -> str:
    """A vocabulary id's preferred label, else its id made readable (drug-library concepts)."""
    concept = vocab.get(cid)
    return concept.pref_label if concept else cid.split(":", 1)[-1].replace("-", " ")


def _broader(vocab: Vocabulary, cid: str) -> tuple[str, ...]:
    concept = vocab.get(cid)
    if concept is not None:
        return concept.broader
    from .normalize import drug_classes

    return drug_classes(cid)


@dataclass(frozen=True)
class ConceptFacts:
    """A treatment concept as the graph shows it: label, broader concepts, category."""

    id: str
    label: str
    parents: tuple[str, ...]  # broader concepts that are not themselves categories
    category: str | None
    category_label: str | None


def concept_facts(cid: str, vocab: Vocabulary | None = None) -> ConceptFacts:
    """What the graph records for one concept (the same for the graph and the query arrays)."""
    vocab = vocab or load_vocabulary()
    parents = tuple(p for p in _broader(vocab, cid) if vocab.category_of(p) != p)
    cat = vocab.category_of(cid)
    return ConceptFacts(
        cid, concept_label(vocab, cid), parents, cat, concept_label(vocab, cat) if cat else None
    )


def _add_concept(g: nx.MultiDiGraph, vocab: Vocabulary, cid: str) -> None:
    """A treatment concept with its broader chain and its category."""
    if cid in g:
        return
    f = concept_facts(cid, vocab)
    _node(g, cid, TREATMENT, label=f.label)
    for parent in f.parents:
        _add_concept(g, vocab, parent)
        _edge(g, cid, parent, BROADER)
    if f.category:
        _node(g, f.category, CATEGORY, label=f.category_label)
        _edge(g, cid, f.category, IN_CATEGORY)


@dataclass(frozen=True)
class CitationFacts:
    """One citation normalized: its source, document, edition, sections and pages."""

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
    """What the graph records for one citation (the same for the graph and the query arrays)."""
    from .normalize import normalize_guideline, normalize_section

    ref = normalize_guideline(c.guideline, c.document, c.year)
    edition = ref.edition or "unspecified"
    ed = f"{ref.document_id}@{edition}"
    return CitationFacts(
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
        tuple((f"{ed}/p{p}", f"{ref.label} p.{p}", p) for p in c.pages),
    )


def _add_citation(g: nx.MultiDiGraph, inode: str, c: Citation, by: str) -> None:
    f = citation_facts(c, by)
    src = _node(g, f.source_id, SOURCE, label=f.source_label)
    doc = _node(g, f.document_id, DOCUMENT, label=f.document_label)
    _edge(g, doc, src, FROM_SOURCE)
    ed = _node(g, f.edition_id, EDITION, label=f.edition_label, year=f.year, edition=f.edition)
    _edge(g, ed, doc, EDITION_OF)
    _edge(g, inode, ed, CITES_EDITION, by=by)
    for sid, label in f.sections:
        _node(g, sid, SECTION, label=label, document=f.document_id)
        _edge(g, sid, doc, SECTION_OF)
        _edge(g, inode, sid, CITES_SECTION, by=by)
    for pid, label, page in f.pages:
        _node(g, pid, PAGE, label=label, page=page)
        _edge(g, pid, ed, PAGE_OF)
        _edge(g, inode, pid, CITES_PAGE, by=by)


def remove_letter(g: nx.MultiDiGraph, letter_key: str) -> None:
    """Remove a letter and everything only it produced (shared vocabulary nodes stay if used)."""
    ln = letter_node(letter_key)
    if ln not in g:
        return
    owned = [ln, f"case:{letter_key}"]
    for _, v, k in list(g.out_edges(ln, keys=True)):
        if k == HAS_ITEM:
            owned.append(v)
            owned.extend(w for _, w, kk in g.out_edges(v, keys=True) if kk == HAS_RATIONALE)
    neighbours = {w for n in owned if n in g for w in nx.all_neighbors(g, n)}
    g.remove_nodes_from(owned)
    _prune(g, neighbours - set(owned))


def _prune(g: nx.MultiDiGraph, candidates: set[str]) -> None:
    """Drop shared nodes no item reaches any more (sections, pages, concepts, ...)."""
    todo = set(candidates)
    while todo:
        n = todo.pop()
        if n not in g or g.nodes[n].get("kind") in (LETTER, ITEM):
            continue
        if g.in_degree(n) == 0:
            succ = set(g.successors(n))
            g.remove_node(n)
            todo |= succ


def out_nodes(g: nx.MultiDiGraph, n: str, rel: str, by: str | None = None) -> list[str]:
    """Targets of n's `rel` edges (only those cited by `by`, when given)."""
    return [
        v
        for _, v, d in g.out_edges(n, data=True)
        if d.get("rel") == rel and (by is None or d.get("by") == by)
    ]


def in_nodes(g: nx.MultiDiGraph, n: str, rel: str) -> list[str]:
    """Sources of the `rel` edges that point at n."""
    return [u for u, _, d in g.in_edges(n, data=True) if d.get("rel") == rel]


def categories(g: nx.MultiDiGraph, concepts: Iterable[str]) -> set[str]:
    """The treatment categories above concepts, following broader edges up."""
    todo = list(concepts)
    seen = set(todo)
    cats: set[str] = set()
    while todo:
        c = todo.pop()
        cats.update(out_nodes(g, c, IN_CATEGORY))
        for p in out_nodes(g, c, BROADER):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return cats


def kind_counts(g: nx.MultiDiGraph) -> dict[str, int]:
    counts = dict.fromkeys(NODE_KINDS, 0)
    for _, d in g.nodes(data=True):
        counts[d["kind"]] = counts.get(d["kind"], 0) + 1
    return counts
