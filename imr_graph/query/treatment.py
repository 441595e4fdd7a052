"""How closely a past item's treatment matches the request's: the tier that orders the answer.

Tiers, strongest first: 3 the same treatment (the request's concept or a narrower one, or its
direct broader one, in the same form and region); 2 the same drug or procedure in another form
or region (a compounded cream holding the requested oral drug; a cervical ESI for a lumbar
one); 1 a related treatment (a sibling, or a more general class); 0 nothing in common but what
the retrievers saw (a shared guideline section, similar words). Within a tier, `detail` counts
finer agreements (the region named, the same spinal level) and the fused score breaks ties.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.clinical import CHRONIC, OPPOSITE, POST_OP, clinical_facts, summary_facts
from kg.forms import COMPOUNDED_CONCEPT, Form, form_of, levels_overlap, names_a_drug
from kg.normalize import normalize_request
from kg.vocab import load_vocabulary

if TYPE_CHECKING:
    from imr_graph.index.arrays import GraphArrays

SAME, OTHER_FORM, RELATED, NONE = 3, 2, 1, 0
TIER_WORDS = {
    SAME: "same treatment",
    OTHER_FORM: "same drug or procedure, other form or region",
    RELATED: "related treatment",
    NONE: "shares guideline sections or wording only",
}
# strength a tier guarantees; below SAME, 0.75 x the dense similarity may lift it
TIER_STRENGTH = {SAME: 0.8, OTHER_FORM: 0.6, RELATED: 0.45, NONE: 0.0}
_WORDS = re.compile(r"[^\W\d_]{2,}")


def has_words(request: str) -> bool:
    """Whether a request holds at least one word of two letters (not "???", spaces, "#90")."""
    return bool(_WORDS.search(request))


@dataclass(frozen=True)
class Asked:
    """What the request asks for: its concepts with their ancestors, form and regions."""

    concepts: tuple[str, ...]
    regions: tuple[str, ...]
    form: Form
    ancestors: dict[str, frozenset[str]]
    facts: frozenset[str] = frozenset()  # clinical facts of the request and its summary
    requested: tuple[str, ...] = ()  # every concept the request named (classes beside drugs too)


@dataclass(frozen=True)
class TreatmentMatch:
    """An item's treatment against the request's: tier, relation, and what agrees."""

    tier: int
    concept: str | None = None  # the item's concept that matched
    relation: str | None = None  # same | narrower | broader | sibling | class
    route: str | None = None  # the item's route (drugs)
    detail: int = 0  # finer agreements minus disagreements
    agrees: tuple[str, ...] = ()  # "same region", "same level L4-L5", ...
    differs: tuple[str, ...] = ()  # "topical, not patch", ...

    @property
    def words(self) -> str:
        return TIER_WORDS[self.tier]

    def to_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "treatment": self.words,
            "concept": self.concept,
            "relation": self.relation,
            "route": self.route,
            "agrees": list(self.agrees),
            "differs": list(self.differs),
        }


def ancestors(a: GraphArrays, concept: str) -> frozenset[str]:
    """Every broader concept of `concept` in the arrays (not the concept itself)."""
    seen: set[str] = set()
    todo = list(a.parents(concept))
    while todo:
        c = todo.pop()
        if c not in seen:
            seen.add(c)
            todo.extend(a.parents(c))
    return frozenset(seen)


def asked(
    a: GraphArrays,
    request: str,
    concepts: tuple[str, ...],
    regions: tuple[str, ...],
    summary: str | None = None,
) -> Asked:
    """The request read once: the concepts that name its treatment, their ancestors, its form.

    When a drug is named, a class concept beside it ("cream" -> topical analgesic) says the
    form, not the treatment: only the drugs (and a compounded topical) must match.
    """
    requested = tuple(concepts)
    anc = {c: ancestors(a, c) for c in concepts}
    expanded = tuple(concepts) + tuple(x for c in concepts for x in sorted(anc[c]))
    form = form_of(request, expanded, names_a_drug(concepts))
    if names_a_drug(concepts):
        concepts = tuple(c for c in concepts if c.startswith("drug:") or c == COMPOUNDED_CONCEPT)
    facts = clinical_facts(request) | (summary_facts(summary) if summary else frozenset())
    return Asked(concepts, regions, form, anc, facts, requested)


def read_request(a: GraphArrays, request: str, summary: str | None = None) -> Asked:
    """A request text normalized (kg.normalize) and read as `asked` reads it: what a precedent
    query, `imr-graph items --treatment` and the evaluation's judgement all start from."""
    rc = normalize_request(request)
    return asked(a, request, tuple(rc.treatments), tuple(rc.body_regions), summary)


def same_treatment_items(a: GraphArrays, q: Asked, gone: np.ndarray | None = None) -> np.ndarray:
    """Every stored item (less `gone`) of the request's treatment by the same-treatment rules
    the arrays can apply: its primary concept or a narrower one (a procedure, device or
    service with its request's head naming a concept the request names), in the route asked
    for or none said (a compounded cream holding gabapentin is not oral gabapentin), in a
    region that meets the one asked for or none named. The summary's count and `imr-graph
    items` both use it."""
    if not q.concepts or q.concepts[0] not in a.concept_pos:
        return np.empty(0, np.int64)
    kinds = [q.concepts[0], *a.narrower(q.concepts[0])]
    parts = [a.items_of(c, gone) for c in kinds]
    items = np.unique(np.concatenate(parts)) if parts else np.empty(0, np.int64)
    if not len(items):
        return items
    if not names_a_drug(q.concepts):
        # as in `match`: the item's head names a concept the request names (or a narrower
        # one); a drug item is matched on every concept (its class says its form)
        named = {k for c in q.concepts for k in (c, *a.narrower(c))}
        heads = np.array([c in named for c in a.concepts], bool)
        drugs = np.array([c.startswith("drug:") for c in a.concepts], bool)
        items = items[a.rows_matching("head", heads, items) | a.rows_matching("req", drugs, items)]
    elif q.form.route:
        routes = a.routes(items)
        asked_route = a.forms.index(q.form.route) if q.form.route in a.forms else -2
        items = items[(routes == -1) | (routes == asked_route)]
    if q.regions and len(items):
        meet = np.array([_regions_meet(q.regions, {r}) for r in a.regions], bool)
        items = items[~a.has_rows("reg", items) | a.rows_matching("reg", meet, items)]
    return items


def match(a: GraphArrays, q: Asked, item: int, request_text: str) -> TreatmentMatch:
    """The tier of one item for the request (its concepts and clinical facts from the arrays,
    form from its text), with the finer agreements: region, level, form, clinical facts."""
    item_concepts = tuple(a.item_concepts(item))
    best: tuple[int, str | None, str | None] = (NONE, None, None)
    for ic in item_concepts:
        ic_anc = ancestors(a, ic)
        for qc in q.concepts:
            rel, tier = _relation(a, qc, q.ancestors.get(qc, frozenset()), ic, ic_anc)
            if tier > best[0]:
                best = (tier, ic, rel)
    tier, concept, relation = best
    if tier == NONE:
        return TreatmentMatch(NONE)
    if tier == SAME and not _heads_asked(a, q, item, item_concepts):
        # a procedure, device or service is what its request's head names: an ESI request is
        # not answered by "re-evaluation by pain management for an ESI", nor hygiene wipes by
        # "an A-stim unit plus supplies" (drugs are matched on every ingredient, see `asked`)
        tier = RELATED
    expanded = item_concepts + tuple(x for c in item_concepts for x in sorted(ancestors(a, c)))
    form = form_of(request_text, expanded, names_a_drug(item_concepts))
    agrees: list[str] = []
    differs: list[str] = []
    if q.form.route and form.route:
        if q.form.route != form.route:
            differs.append(f"{form.route}, not {q.form.route}")
        else:
            agrees.append(f"same form: {form.route}")
    item_regions = set(a.item_regions(item))
    if q.regions and item_regions:
        if _regions_meet(q.regions, item_regions):
            agrees.append("same region")
        else:
            differs.append("other region: " + ", ".join(a.label(r) for r in sorted(item_regions)))
    if q.form.levels and form.levels:
        if levels_overlap(q.form.levels, form.levels):
            agrees.append("same level " + ", ".join(sorted(form.levels)))
        else:
            differs.append("other level " + ", ".join(sorted(form.levels)))
    if tier == SAME and differs and not all(d.startswith("other level") for d in differs):
        tier = OTHER_FORM
    finer = [d for d in differs if d.startswith("other level")]
    detail = len(agrees) - len(finer)
    facts = a.item_facts(item)
    for fact in sorted(q.facts):
        # post-operative care has its own guideline (MTUS Postsurgical): a post-operative
        # precedent counts twice for a post-operative request and against a chronic one;
        # "chronic", the state of most IMR items, and the other facts are said, not weighed
        # (measured: weighed, they moved the section-based figure down on the public letters)
        weight = 2 if POST_OP in (fact, OPPOSITE.get(fact)) and POST_OP in facts else 0
        if fact in facts:
            agrees.append(fact)
            detail += weight
        elif OPPOSITE.get(fact) in facts:
            finer.append(f"{OPPOSITE[fact]}, not {fact}")
            detail -= weight
    if POST_OP in facts and not q.facts & {POST_OP, CHRONIC}:
        # a request that says no phase is most likely not after surgery (most IMR requests
        # are chronic): the post-operative precedent, decided under its own guideline, follows
        finer.append(f"{POST_OP} (the request names no surgery)")
        detail -= 2
    differs.extend(d for d in finer if d not in differs)
    return TreatmentMatch(
        tier, concept, relation, form.route, detail, tuple(agrees), tuple(differs)
    )


def _heads_asked(a: GraphArrays, q: Asked, item: int, item_concepts: tuple[str, ...]) -> bool:
    """Whether the item's own treatment, the concepts of its request's head, is one the request
    names (or a narrower one): always true where either names a drug (every ingredient counts,
    and a class beside a drug, as "topical analgesic" beside ketamine cream, says its form)."""
    if not q.concepts or not item_concepts:
        return True
    if names_a_drug(q.concepts) or names_a_drug(item_concepts):
        return True
    return any(
        _relation(a, qc, q.ancestors.get(qc, frozenset()), ic, ancestors(a, ic))[1] == SAME
        for qc in q.concepts
        for ic in a.item_heads(item)
    )


def _relation(
    a: GraphArrays, qc: str, q_anc: frozenset[str], ic: str, ic_anc: frozenset[str]
) -> tuple[str | None, int]:
    """How item concept `ic` relates to request concept `qc`, and the best tier it allows."""
    if ic == qc:
        return "same", SAME
    if qc in ic_anc:
        return "narrower", SAME
    if ic in a.parents(qc):
        # the ingredient of a product (lidocaine for Lidoderm; its form then decides); a drug
        # class (NSAID for naproxen) or a more general procedure (a mobility aid for a
        # wheelchair, a consultation for an orthopedic one) is not the treatment asked for
        if ic.startswith("drug:"):
            return "broader", SAME
        return "broader", OTHER_FORM if not qc.startswith("drug:") else RELATED
    if set(a.parents(qc)) & set(a.parents(ic)):
        return "sibling", RELATED
    if ic in q_anc:
        return "class", RELATED
    return None, NONE


def _regions_meet(asked_regions: tuple[str, ...], item_regions: set[str]) -> bool:
    """Whether a region asked for and one of the item's are the same or one holds the other
    (the lumbar spine is in the spine), by the body-region vocabulary."""
    vocab = load_vocabulary()
    for r in asked_regions:
        up_r = {r, *vocab.ancestors(r)}
        for i in item_regions:
            if i in up_r or r in vocab.ancestors(i):
                return True
    return False
