"""Map the free text of IMR letters (requests, guideline citations) onto vocabulary concept ids.

Letters only meet in the graph when "Norco 10/325 #90" and "Prescription of Norco", or ODG "Low
Back" and "Low back, Lumbar & Thoracic (Acute & Chronic)", give the same id. All knowledge lives in
the SKOS data (kg/data/*.ttl); this module only folds text, strips boilerplate and matches labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kg.vocab import (
    BODY_REGIONS,
    DRUGS,
    GUIDELINES,
    TREATMENTS,
    Vocabulary,
    fold,
    load_vocabulary,
)

COMPOUNDED_TOPICAL = "tx:compounded-topical"

# Boilerplate around the treatment itself; matched on folded text. Each maps to a modifier
# (or None: dropped silently). Removing them keeps e.g. "surgical" in "Associated surgical
# service:" from reading as a surgery request.
_BOILERPLATE: tuple[tuple[str, str | None], ...] = (
    (r"associated surgical services?", "associated-surgical-service"),
    (r"retrospective(?: request)?(?: for)?|retro", "retrospective"),
    (r"post ?op(?:erative)?|post surgical|postsurgical", "post-operative"),
    (r"pre ?op(?:erative)?", "pre-operative"),
    (r"prescriptions? (?:of|for)|rx (?:of|for)", None),
    (r"(?:dos|date of service|dates of service) \d+ \d+ \d+", None),
    (r"purchase(?:d)?|for purchase", "purchase"),
    (r"rentals?|rent", "rental"),
    (r"trial", "trial"),
    (r"additional|continued|continue|continuation|repeat", "additional"),
    (r"refills?", None),
)
_BOILERPLATE_RE = tuple(
    (re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])"), modifier)
    for pattern, modifier in _BOILERPLATE
)
# Words the drug library reads as drugs that are not drugs in these letters.
_NER_IGNORED = frozenset({"citrate", "indicators", "sodium", "hcl", "er", "sr", "xr", "dr"})
_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b")
_STRENGTH = re.compile(
    r"(?<![#\d.])\d+(?:\.\d+)?(?:\s*[-/]\s*\d+(?:\.\d+)?)*\s*"
    r"(?:(?:mg|mcg|g|gm|gms|grams?|ml|percent|units?)\b|%)(?:\s*/\s*(?:ml|g|gm)\b)?",
    re.IGNORECASE,
)
_RATIO = re.compile(r"(?<![\d/])\d+(?:\.\d+)?/\d+(?:\.\d+)?(?![\d/])")
_QUANTITY = re.compile(r"(?:#\s*|\bqty\s*:?\s*)(\d+)", re.IGNORECASE)
_PERCENT = re.compile(r"%|\bpercent\b", re.IGNORECASE)
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
class RequestConcepts:
    """What a request heading means: treatment, drug and body-region concept ids plus dosing."""

    text: str
    treatments: tuple[str, ...]
    category: str | None
    body_regions: tuple[str, ...]
    drugs: tuple[str, ...] = ()
    drug_classes: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()
    strength: str | None = None
    quantity: int | None = None


@dataclass(frozen=True)
class GuidelineRef:
    """A cited guideline document resolved to source, document and (when known) edition ids.

    label names the document ("MTUS Chronic Pain Medical Treatment Guidelines"), no edition.
    edition_id: the edition concept, or "<document_id>-<year>" for an edition the data lacks.
    """

    source_id: str
    document_id: str
    edition: str | None
    label: str
    edition_id: str | None = None


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    ids: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------


def slug(text: str, limit: int = 80) -> str:
    """A stable, URL-safe id fragment: folded words joined by '-'."""
    return "-".join(fold(text).split())[:limit].strip("-") or "unspecified"


def _longest_matches(tokens: list[str], scheme: str) -> list[_Match]:
    """Greedy left-to-right longest n-gram match of tokens against a scheme's folded labels."""
    index, longest = _label_index(scheme)
    matches: list[_Match] = []
    i = 0
    while i < len(tokens):
        for n in range(min(longest, len(tokens) - i), 0, -1):
            ids = index.get(" ".join(tokens[i : i + n]))
            if ids:
                matches.append(_Match(i, i + n, ids))
                i += n
                break
        else:
            i += 1
    return matches


@lru_cache(maxsize=8)
def _label_index(scheme: str) -> tuple[Mapping[str, tuple[str, ...]], int]:
    """Folded label -> ids (drug labels join treatment labels) and the longest label in tokens."""
    vocab = load_vocabulary()
    merged: dict[str, tuple[str, ...]] = dict(vocab.labels(scheme))
    if scheme == TREATMENTS:
        for label, ids in vocab.labels(DRUGS).items():
            merged[label] = tuple(dict.fromkeys((*merged.get(label, ()), *ids)))
    return merged, max((len(label.split()) for label in merged), default=1)


def _drop_ancestors(vocab: Vocabulary, ids: Iterable[str]) -> tuple[str, ...]:
    """Deduplicate, then drop every id that is an ancestor of another id (keep the specific)."""
    unique = list(dict.fromkeys(ids))
    covered = {a for cid in unique for a in vocab.ancestors(cid)}
    return tuple(cid for cid in unique if cid not in covered)


# --------------------------------------------------------------------------------------------
# drug library
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _drug_finder() -> Any:
    """drug_named_entity_recognition loads a ~20k-drug dictionary on import (~2 s): do it once."""
    from drug_named_entity_recognition import find_drugs

    return find_drugs


@lru_cache(maxsize=8192)
def _library_drugs(tokens: tuple[str, ...]) -> tuple[tuple[str, str, str | None, int], ...]:
    """(canonical name, matched text, MeSH id, token index) for each drug the library finds."""
    found = []
    for data, start, _end in _drug_finder()(list(tokens)):
        matched = str(data.get("matching_string", ""))
        if len(matched) < 4 or matched.lower() in _NER_IGNORED:
            continue
        found.append((str(data.get("name") or matched), matched, data.get("mesh_id"), start))
    return tuple(found)


def _drug_id(vocab: Vocabulary, name: str) -> str:
    """The vocabulary concept for a library drug name, else drug:<generic slug>."""
    known = vocab.lookup(name, DRUGS) or vocab.lookup(name, TREATMENTS)
    if known:
        return known[0]
    return "drug:" + slug(re.sub(r"\([^)]*\)", "", name))


@lru_cache(maxsize=4096)
def _library_class(drug_id: str) -> tuple[str, ...]:
    """Classes for a drug the vocabulary lacks, through the library's MeSH pharmacological id."""
    vocab = load_vocabulary()
    name = drug_id.partition(":")[2].replace("-", " ")
    for _name, _matched, mesh_id, _start in _library_drugs(tuple(name.split())):
        if mesh_id:
            classes = vocab.by_mapping(f"mesh:{mesh_id}")
            if classes:
                return classes
    return ()


def drug_classes(drug_id: str) -> tuple[str, ...]:
    """The nearest treatment-scheme classes of a drug id (e.g. drug:norco -> tx:opioid)."""
    vocab = load_vocabulary()
    if drug_id not in vocab:
        return _library_class(drug_id)
    found: list[str] = []
    frontier = [drug_id]
    while frontier:
        nxt: list[str] = []
        for cid in frontier:
            concept = vocab.get(cid)
            for parent in concept.broader if concept else ():
                parent_concept = vocab.get(parent)
                if parent_concept and parent_concept.scheme == TREATMENTS:
                    if parent not in found:
                        found.append(parent)
                else:
                    nxt.append(parent)
        frontier = nxt
    return tuple(found)


def _is_drug(vocab: Vocabulary, cid: str) -> bool:
    concept = vocab.get(cid)
    return concept.scheme == DRUGS if concept else cid.startswith("drug:")


# --------------------------------------------------------------------------------------------
# requests
# --------------------------------------------------------------------------------------------


def _strip_boilerplate(folded: str) -> tuple[str, tuple[str, ...]]:
    modifiers: list[str] = []
    for pattern, modifier in _BOILERPLATE_RE:
        folded, count = pattern.subn(" ", folded)
        if count and modifier and modifier not in modifiers:
            modifiers.append(modifier)
    return " ".join(folded.split()), tuple(modifiers)


def _dosing(text: str) -> tuple[str | None, int | None]:
    undated = _DATE.sub(" ", text)
    strength_match = _STRENGTH.search(undated) or _RATIO.search(undated)
    strength = " ".join(strength_match.group(0).split()) if strength_match else None
    quantity_match = _QUANTITY.search(undated)
    quantity = int(quantity_match.group(1)) if quantity_match else None
    return strength, quantity


def _unmatched_runs(tokens: list[str], matches: list[_Match]) -> list[tuple[int, list[str]]]:
    covered = {i for m in matches for i in range(m.start, m.end)}
    runs: list[tuple[int, list[str]]] = []
    for i, token in enumerate(tokens):
        if i in covered or token.isdigit():
            continue
        if runs and runs[-1][0] + len(runs[-1][1]) == i:
            runs[-1][1].append(token)
        else:
            runs.append((i, [token]))
    return runs


@lru_cache(maxsize=16384)
def normalize_request(text: str) -> RequestConcepts:
    """Treatment/drug/body-region concepts of a request heading; never raises, same in -> same out.

    treatments: matched concepts in order of mention, a concept dropped when a more specific
    match lies below it; category: the top category of the first treatment.
    """
    vocab = load_vocabulary()
    strength, quantity = _dosing(text)
    cleaned, modifiers = _strip_boilerplate(fold(text))
    tokens = cleaned.split()

    matches = _longest_matches(tokens, TREATMENTS)
    positioned: list[tuple[int, str]] = [(m.start, cid) for m in matches for cid in m.ids]
    for start, run in _unmatched_runs(tokens, matches):
        for name, _matched, _mesh, offset in _library_drugs(tuple(run)):
            positioned.append((start + offset, _drug_id(vocab, name)))
    positioned.sort(key=lambda item: item[0])
    ordered = [cid for _, cid in positioned]

    drugs = tuple(dict.fromkeys(cid for cid in ordered if _is_drug(vocab, cid)))
    if len(drugs) >= 2 and _PERCENT.search(text):
        ordered.insert(0, COMPOUNDED_TOPICAL)
    treatments = _drop_ancestors(vocab, ordered)
    drugs = tuple(d for d in drugs if d in treatments)
    classes = tuple(dict.fromkeys(c for d in drugs for c in drug_classes(d)))

    category = vocab.category_of(treatments[0]) if treatments else None
    return RequestConcepts(
        text=text,
        treatments=treatments,
        category=category,
        body_regions=normalize_body_region(text),
        drugs=drugs,
        drug_classes=classes,
        modifiers=modifiers,
        strength=strength,
        quantity=quantity,
    )


@lru_cache(maxsize=16384)
def normalize_body_region(text: str) -> tuple[str, ...]:
    """Body-region concept ids named in text, in order of mention, laterality ignored."""
    matches = _longest_matches(fold(text).split(), BODY_REGIONS)
    return tuple(dict.fromkeys(cid for m in matches for cid in m.ids))


# --------------------------------------------------------------------------------------------
# guidelines
# --------------------------------------------------------------------------------------------


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
    tops = [cid for cid in chain if cid in vocab and not vocab.concept(cid).broader]
    return tops[0] if tops else concept_id


@lru_cache(maxsize=64)
def _source_id(guideline: str) -> str:
    vocab = load_vocabulary()
    for cid in vocab.lookup(guideline, GUIDELINES):
        if not vocab.concept(cid).broader:
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
        concept = vocab.concept(found)
        document_id = concept.broader[0] if concept.edition else found
        edition = year_text or concept.edition or _only_edition(vocab, document_id)
        doc_label = vocab.concept(document_id).pref_label
    edition_id = _edition_id(vocab, document_id, edition)
    source = vocab.concept(source_id)
    source_label = source.pref_label if source else guideline.strip()
    if source_id == "gsrc:other" or doc_label.lower().startswith(source_label.lower()):
        label = doc_label
    else:
        label = f"{source_label} {doc_label}"
    return GuidelineRef(source_id, document_id, edition, label, edition_id)


def _editions(vocab: Vocabulary, document_id: str) -> dict[str, str]:
    editions: dict[str, str] = {}
    for cid in vocab.narrower(document_id):
        edition = vocab.concept(cid).edition
        if edition:
            editions[edition] = cid
    return editions


def _only_edition(vocab: Vocabulary, document_id: str) -> str | None:
    editions = _editions(vocab, document_id)
    return next(iter(editions)) if len(editions) == 1 else None


def _edition_id(vocab: Vocabulary, document_id: str, edition: str | None) -> str | None:
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
    return f"{document_id}/{'-'.join(words)[:120].strip('-') or 'unspecified'}"


def strip_dosing(text: str) -> str:
    """The request without strength, ratio, quantity, dates and refills: what is asked for.

    Text retrievers otherwise match '#90' or '10/325' across unrelated drugs.
    """
    out = _DATE.sub(" ", text)
    for pat in (_STRENGTH, _RATIO, _QUANTITY):
        out = pat.sub(" ", out)
    out = re.sub(r"\b(?:with\s+)?\d+\s+refills?\b|\bDOS\s*:?", " ", out, flags=re.IGNORECASE)
    out = re.sub(r"(?<![A-Za-z])\d+(?:\.\d+)?(?![A-Za-z])", " ", out)
    folded = " ".join(out.split()).strip(" ,;:-")
    return folded or " ".join(text.split())
