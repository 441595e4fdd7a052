"""What a precedent query answers, as typed values: each result, why it is there, a summary.

`to_json()` writes the batch contract of `imr-graph precedents --json` (keys and their order
are part of it); the CLI, `explain`, `evaluate` and the notebooks read the fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imr_graph.query.treatment import TreatmentMatch

RETRIEVERS = ("graph", "dense", "lexical")
OUTCOME_WORDS = {
    "upheld": "upheld (the denial stands: not medically necessary)",
    "overturned": "overturned (found medically necessary)",
}


@dataclass(frozen=True)
class CitedGuideline:
    """One MAXIMUS citation of a precedent: document, edition and sections, as printed."""

    document: str  # "MTUS Chronic Pain Medical Treatment Guidelines"
    document_id: str
    edition: str | None  # "2016"
    sections: tuple[tuple[str, str], ...]  # (section id, label)
    pages: tuple[int, ...] = ()

    @property
    def words(self) -> str:
        doc = f"{self.document} ({self.edition})" if self.edition else self.document
        where = "; ".join(label for _, label in self.sections)
        pages = f" p.{', '.join(map(str, self.pages))}" if self.pages else ""
        return f"{doc}: {where}{pages}" if where else f"{doc}{pages}"

    def to_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "document_id": self.document_id,
            "edition": self.edition,
            "sections": [label for _, label in self.sections],
            "section_ids": [sid for sid, _ in self.sections],
            "pages": list(self.pages),
        }


@dataclass(frozen=True)
class Citable:
    """Everything a reviewer needs to cite one precedent."""

    case: str  # case number, else the letter key
    specialties: tuple[str, ...]
    guidelines: tuple[CitedGuideline, ...]
    passage: str  # query words marked **so**
    why_text: str  # why, in plain words
    citation: str
    source: str  # the file the letter was read from

    def to_json(self) -> dict[str, Any]:
        return {
            "case_number": self.case,
            "reviewer_specialties": list(self.specialties),
            "guidelines": [g.to_json() for g in self.guidelines],
            "passage": self.passage,
            "why_text": self.why_text,
            "citation": self.citation,
            "source": self.source,
        }


@dataclass(frozen=True)
class GraphPath:
    """How the graph retriever reached an item: the concept relation, shared sections, region."""

    concept: str | None = None
    relation: str | None = None  # same | broader | narrower | sibling
    shared_sections: tuple[str, ...] = ()  # section ids the item shares with the concept's
    section_share: float | None = None
    region: tuple[str, ...] = ()  # the request's regions, when the item concerns one

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.concept is not None:
            out.update(concept=self.concept, relation=self.relation)
        if self.shared_sections:
            out["shared_sections"] = list(self.shared_sections)
            out["section_share"] = self.section_share
        if self.region:
            out["region"] = list(self.region)
        return out


@dataclass(frozen=True)
class Signal:
    """One retriever's evidence for an item: its rank (tied scores share one) and score."""

    rank: int
    score: float  # rounded to 4 places, as printed
    path: GraphPath | None = None  # the graph retriever's only

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rank": self.rank, "score": self.score}
        if self.path is not None:
            out.update(self.path.to_json())
        return out


@dataclass(frozen=True)
class Why:
    """Every reason a precedent is in the answer: retriever signals and the section support."""

    graph: Signal | None = None
    dense: Signal | None = None
    lexical: Signal | None = None
    section_support: float | None = None  # share of the section re-ranking, in (0, 1]

    def signals(self) -> list[tuple[str, Signal]]:
        """(retriever, signal) for each retriever that found the item, in fusion order."""
        return [(n, s) for n in RETRIEVERS if (s := getattr(self, n)) is not None]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {n: s.to_json() for n, s in self.signals()}
        if self.section_support is not None:
            out["section_rerank"] = {"support": self.section_support}
        return out


@dataclass(frozen=True)
class Precedent:
    """One past decision offered as precedent: its item, outcome, sections and reasons."""

    letter: str
    item: int
    request: str
    decision: str
    score: float
    sections: tuple[str, ...]  # labels of the sections MAXIMUS cited
    snippet: str
    why: Why
    decision_date: str | None = None
    strength: float | None = None  # absolute match strength in [0, 1] (None: not assessed)
    match: TreatmentMatch | None = None  # the treatment tier (None: not assessed)
    cite: Citable | None = None

    @property
    def outcome(self) -> str:
        """The decision in words."""
        return OUTCOME_WORDS.get(self.decision, self.decision)

    def to_json(self) -> dict[str, Any]:
        out = {
            "letter": self.letter,
            "item": self.item,
            "request": self.request,
            "decision": self.decision,
            "score": round(self.score, 6),
            "sections": list(self.sections),
            "snippet": self.snippet,
            "decision_date": self.decision_date,
            "why": self.why.to_json(),
        }
        if self.match is not None:
            out["match"] = {"strength": self.strength, **self.match.to_json()}
        if self.cite is not None:
            out.update(outcome=self.outcome, **self.cite.to_json())
        return out


@dataclass(frozen=True)
class ConceptRef:
    """A treatment concept the request normalized to."""

    id: str
    label: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label}


@dataclass(frozen=True)
class Outcomes:
    """Outcome counts of the returned precedents."""

    n: int
    upheld: int
    overturned: int

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "upheld": self.upheld, "overturned": self.overturned}


@dataclass(frozen=True)
class SameTreatment:
    """Every past item of the request's primary concept in the store, with their outcomes."""

    concept: str | None
    n: int
    upheld: int
    overturned: int
    warning: str | None = None  # set when the sample is small
    narrower: int = 0  # of n, items of narrower concepts (Fanatrex for gabapentin)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "concept": self.concept,
            "n": self.n,
            "upheld": self.upheld,
            "overturned": self.overturned,
            "narrower": self.narrower,
        }
        if self.warning is not None:
            out["warning"] = self.warning
        return out


@dataclass(frozen=True)
class GoverningSection:
    """A guideline section likely to govern the request, with the vote that chose it."""

    section: str  # label
    id: str
    document: str | None  # document id
    precedents_citing: int  # among the precedents that voted
    weight: float
    document_label: str | None = None
    editions: tuple[str, ...] = ()  # editions the citing precedents name

    @property
    def name(self) -> str:
        """ "MTUS Chronic Pain Medical Treatment Guidelines (2016): Topical Analgesics"."""
        if not self.document_label:
            return self.section
        ed = f" ({', '.join(self.editions)})" if self.editions else ""
        return f"{self.document_label}{ed}: {self.section}"

    def to_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "id": self.id,
            "document": self.document,
            "precedents_citing": self.precedents_citing,
            "weight": self.weight,
            "name": self.name,
            "editions": list(self.editions),
        }


@dataclass(frozen=True)
class Summary:
    """The evidence in aggregate: concepts, outcome counts, the likely governing sections."""

    treatment_concepts: tuple[ConceptRef, ...]
    precedents: Outcomes
    same_treatment: SameTreatment
    governing_sections: tuple[GoverningSection, ...]
    notice: str | None = None  # said when nothing in the store is the same treatment
    same_in_results: int | None = None  # results in the same-treatment group
    voters: int = 0  # how many of the top precedents voted for the governing sections

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "treatment_concepts": [c.to_json() for c in self.treatment_concepts],
            "precedents": self.precedents.to_json(),
            "same_treatment": self.same_treatment.to_json(),
            "governing_sections": [g.to_json() for g in self.governing_sections],
            "voters": self.voters,
        }
        if self.notice is not None:  # keys with no value are left out, not null
            out["notice"] = self.notice
        if self.same_in_results is not None:
            out["same_in_results"] = self.same_in_results
        return out


@dataclass(frozen=True)
class Answer:
    """The ranked precedents and their summary."""

    results: tuple[Precedent, ...]
    summary: Summary
    concepts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"results": [r.to_json() for r in self.results], "summary": self.summary.to_json()}


def explain(why: Why, label: Callable[[str], str] | None = None) -> str:
    """One line per retriever saying why a precedent was found (`Precedent.why` in words).

    `label` names concept and section ids (e.g. `lambda n: node_label(store, n)`); ids otherwise.
    """
    name = label or (lambda n: n)
    lines = []
    for retriever, sig in why.signals():
        text = f"{retriever} #{sig.rank} (score {sig.score})"
        p = sig.path
        if p is not None and p.concept is not None:
            text += f": {p.relation or ''} concept {name(p.concept)}"
        if p is not None and p.shared_sections:
            text += "; shares " + ", ".join(name(s) for s in p.shared_sections)
        lines.append(text)
    if why.section_support is not None:
        lines.append(f"section support {why.section_support:.2f}")
    return "\n".join(lines)
