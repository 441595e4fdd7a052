"""The knowledge graph: a networkx MultiDiGraph built deterministically from the facts of letters.

Node ids come from kg.ids and every fact from kg.facts (the same walk the query arrays and the
RDF use), so the same letter always yields the same nodes and letters meet on shared concepts,
sections and pages.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from kg.facts import CITED_BY as CITED_BY
from kg.facts import (
    CitationFacts,
    ItemFacts,
    LetterFacts,
    concept_facts,
    letter_facts,
    smallest_label,
)
from kg.ids import case_node
from kg.ids import item_int_id as item_int_id
from kg.ids import item_node as item_node
from kg.ids import letter_node as letter_node
from kg.model import Letter

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
CLINICAL = "clinical_fact"
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
    CLINICAL,
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
STATES_FACT = "states_fact"


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
    elif "label" in attrs:
        node = g.nodes[nid]
        node["label"] = smallest_label(node.get("label"), str(attrs["label"]))
    return nid


def _edge(g: nx.MultiDiGraph, u: str, v: str, rel: str, **attrs: object) -> None:
    key = rel if not attrs.get("by") else f"{rel}:{attrs['by']}"
    if not g.has_edge(u, v, key):
        g.add_edge(u, v, key=key, rel=rel, **attrs)


def add_letter(g: nx.MultiDiGraph, letter: Letter) -> None:
    """Add one letter's nodes and edges (shared nodes are reused, never duplicated)."""
    add_facts(g, letter_facts(letter))


def add_facts(g: nx.MultiDiGraph, f: LetterFacts) -> None:
    """Add the nodes and edges of one letter's facts."""
    letter = f.letter
    ln = _node(
        g,
        f.node,
        LETTER,
        label=letter.key,
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
        f.case_node,
        CASE,
        label=f"case {letter.key}",
        age_band=f.age_band,
        sex=letter.patient.sex,
        date_of_injury=letter.dates.date_of_injury,
    )
    _edge(g, ln, case, ABOUT_CASE)
    for sid, label in f.specialties:
        _edge(g, ln, _node(g, sid, SPECIALTY, label=label), REVIEWED_BY)
    for item in f.items:
        _add_item(g, letter, item, ln)


def _add_item(g: nx.MultiDiGraph, letter: Letter, f: ItemFacts, ln: str) -> None:
    item = f.item
    inode = _node(
        g,
        f.node,
        ITEM,
        label=item.request,
        request=item.request,
        decision=item.decision,
        position=item.position,
        letter=letter.key,
        int_id=f.int_id,
        original_request=item.original_request,
        authorized_portion=item.authorized_portion,
        decision_date=letter.dates.decision_date,
        route=f.route,
    )
    _edge(g, ln, inode, HAS_ITEM, position=item.position)
    rn = _node(g, f.rationale_node, RATIONALE, label=item.rationale[:80], text=item.rationale)
    _edge(g, inode, rn, HAS_RATIONALE)
    out = _node(g, f.outcome_node, OUTCOME, label=item.decision)
    _edge(g, inode, out, DECIDED)
    for rank, cid in enumerate(f.treatments):
        _add_concept(g, cid)
        _edge(g, inode, cid, REQUESTS, rank=rank, head=cid in f.heads)
    for rid, label in f.regions:
        _node(g, rid, REGION, label=label)
        _edge(g, inode, rid, CONCERNS_REGION)
    for fid, fact in f.clinical:
        _node(g, fid, CLINICAL, label=fact)
        _edge(g, inode, fid, STATES_FACT)
    for c in f.citations:
        _add_citation(g, inode, c)


def _add_concept(g: nx.MultiDiGraph, cid: str) -> None:
    """A treatment concept with its broader chain and its category."""
    if cid in g:
        return
    f = concept_facts(cid)
    _node(g, cid, TREATMENT, label=f.label)
    for parent in f.parents:
        _add_concept(g, parent)
        _edge(g, cid, parent, BROADER)
    if f.category:
        _node(g, f.category, CATEGORY, label=f.category_label)
        _edge(g, cid, f.category, IN_CATEGORY)


def _add_citation(g: nx.MultiDiGraph, inode: str, f: CitationFacts) -> None:
    by = f.by
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
    owned = [ln, case_node(letter_key)]
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
