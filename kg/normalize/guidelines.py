"""Guideline citations to stable source, document, edition and section ids.

ODG "Low Back" and "Low back, Lumbar & Thoracic (Acute & Chronic)" must give one document id,
and "MRIs (magnetic resonance imaging)" and "Magnetic resonance imaging (MRI)" one section id;
MTUS Chronic Pain 2009 and 2016 are two editions of one document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from kg.ids import section_node, slug
from kg.vocab import GUIDELINES, Vocabulary, fold, load_vocabulary

_SECTION_NUMBER = re.compile(r"\s*(\d+(?:\.\d+)+)\b")
_SECTION_STOP = frozenset({"a", "an", "and", "the", "of", "for", "to", "in", "on", "with", "or"})
_DOC_NOISE = re.compile(
    r"\(?\s*(?:updated|revised)\b[^)]*\)?|\(\s*online version\s*\)|\bonline version\b"
    r"|\bacute\s*(?:&|and)\s*chronic\b",
    re.IGNORECASE,
)
_DOC_NOISE_WORDS = frozenset(
    {
        "chapter",
        "chapters",
        "section",
        "guideline",
        "guidelines",
        "odg",
        "mtus",
        "ca",
        "california",
        "official",
        "disability",
        "the",
        "and",
        "of",
        "a",
        "topic",
        "acute",
        "chronic",
    }
)


@dataclass(frozen=True)
class GuidelineRef:
    """A cited guideline document resolved to source, document and (when known) edition ids.

    label names the document ("MTUS Chronic Pain Medical Treatment Guidelines"), no edition.
    edition_concept: the edition concept, or "<document_id>-<year>" for an edition the data
    lacks (the graph's edition node is kg.ids.edition_node, one per document and edition).
    """

    source_id: str
    document_id: str
    edition: str | None
    label: str
    edition_concept: str | None = None


def _doc_tokens(document: str) -> list[str]:
    """Document name words minus decoration: "(updated 11/23/16)", "Chapter", "Acute & Chronic"."""
    return [t for t in fold(_DOC_NOISE.sub(" ", document)).split() if t not in _DOC_NOISE_WORDS]


def _doc_key(tokens: Iterable[str]) -> str:
    return " ".join(sorted(set(tokens)))


@lru_cache(maxsize=1)
def _document_index() -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    """source id -> bag-of-words document key -> document/edition concept ids."""
    vocab = load_vocabulary()
    index: dict[str, dict[str, list[str]]] = {}
    for concept in vocab.in_scheme(GUIDELINES):
        if not concept.broader:
            continue
        source = _source_of(vocab, concept.id)
        keys = index.setdefault(source, {})
        for label in concept.labels:
            key = _doc_key(_doc_tokens(label))
            if key and concept.id not in keys.setdefault(key, []):
                keys[key].append(concept.id)
    return {s: {k: tuple(v) for k, v in keys.items()} for s, keys in index.items()}


def _source_of(vocab: Vocabulary, concept_id: str) -> str:
    chain = (concept_id, *vocab.ancestors(concept_id))
    tops = [cid for cid in chain if cid in vocab and not vocab.concepts[cid].broader]
    return tops[0] if tops else concept_id


@lru_cache(maxsize=64)
def _source_id(guideline: str) -> str:
    vocab = load_vocabulary()
    for cid in vocab.lookup(guideline, GUIDELINES):
        if not vocab.concepts[cid].broader:
            return cid
    return "gsrc:" + slug(guideline or "other")


def _find_document(source_id: str, document: str) -> str | None:
    keys = _document_index().get(source_id, {})
    tokens = _doc_tokens(document)
    if not tokens:
        return None
    exact = keys.get(_doc_key(tokens))
    if exact:
        return exact[0]
    for n in range(len(tokens) - 1, 0, -1):  # "Neck and Upper Back, Low Back" -> its first chapter
        found = keys.get(_doc_key(tokens[:n]))
        if found:
            return found[0]
    return None


def _unknown_document_id(source_id: str, tokens: list[str]) -> str:
    local = slug(" ".join(tokens)) if tokens else "unspecified"
    if source_id == "gsrc:odg":
        return f"odg:{local}"
    return f"gdoc:{source_id.partition(':')[2]}-{local}"


@lru_cache(maxsize=4096)
def normalize_guideline(guideline: str, document: str, year: int | None = None) -> GuidelineRef:
    """Resolve (guideline, document, year) as parsed from a citation to stable ids.

    Spellings of one document meet; an edition-specific title ("Chronic Pain Treatment
    Guidelines") implies its edition when no year is given; unknown documents get a slug id.
    """
    vocab = load_vocabulary()
    source_id = _source_id(guideline.strip())
    found = _find_document(source_id, document)
    year_text = str(year) if year else None
    if found is None:
        document_id = _unknown_document_id(source_id, _doc_tokens(document))
        written = " ".join(document.split())
        edition = year_text
        doc_label = written or "unspecified"
    else:
        concept = vocab.concepts[found]
        document_id = concept.broader[0] if concept.edition else found
        edition = year_text or concept.edition or _only_edition(vocab, document_id)
        doc_label = vocab.concepts[document_id].pref_label
    edition_concept = _edition_concept(vocab, document_id, edition)
    source = vocab.concept(source_id)
    source_label = source.pref_label if source else guideline.strip()
    if source_id == "gsrc:other" or doc_label.lower().startswith(source_label.lower()):
        label = doc_label
    else:
        label = f"{source_label} {doc_label}"
    return GuidelineRef(source_id, document_id, edition, label, edition_concept)


def _editions(vocab: Vocabulary, document_id: str) -> dict[str, str]:
    editions: dict[str, str] = {}
    for cid in vocab.narrower(document_id):
        edition = vocab.concepts[cid].edition
        if edition:
            editions[edition] = cid
    return editions


def _only_edition(vocab: Vocabulary, document_id: str) -> str | None:
    editions = _editions(vocab, document_id)
    return next(iter(editions)) if len(editions) == 1 else None


def _edition_concept(vocab: Vocabulary, document_id: str, edition: str | None) -> str | None:
    if not edition:
        return None
    return _editions(vocab, document_id).get(edition, f"{document_id}-{slug(edition)}")


def _stem(token: str) -> str:
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def normalize_section(document_id: str, section: str) -> str:
    """A stable section id under its document: case, punctuation, plurals and word order folded.

    "MRIs (magnetic resonance imaging)", "MRI's (magnetic resonance imaging)" and
    "Magnetic resonance imaging (MRI)" all give the same id.
    """
    number = _SECTION_NUMBER.match(section)
    rest = section[number.end() :] if number else section
    words = sorted({_stem(t) for t in fold(rest).split() if t not in _SECTION_STOP})
    if number:  # "3.3.9 Opioids ..." keeps its number in order
        words.insert(0, number.group(1).replace(".", "-"))
    return section_node(document_id, "-".join(words)[:120].strip("-") or "unspecified")
