"""Request headings to treatment, drug and body-region concepts, and the dosing they carry.

Letters only meet in the graph when "Norco 10/325 #90" and "Prescription of Norco" give the same
id. All knowledge lives in the SKOS data (kg/data/*.ttl); this module folds text, strips
boilerplate and matches labels, longest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from kg.normalize.drugs import drug_classes, drug_id, is_drug, library_drugs
from kg.vocab import BODY_REGIONS, DRUGS, TREATMENTS, Vocabulary, fold, load_vocabulary

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
_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b")
_STRENGTH = re.compile(
    r"(?<![#\d.])\d+(?:\.\d+)?(?:\s*[-/]\s*\d+(?:\.\d+)?)*\s*"
    r"(?:(?:mg|mcg|g|gm|gms|grams?|ml|percent|units?)\b|%)(?:\s*/\s*(?:ml|g|gm)\b)?",
    re.IGNORECASE,
)
_RATIO = re.compile(r"(?<![\d/])\d+(?:\.\d+)?/\d+(?:\.\d+)?(?![\d/])")
_QUANTITY = re.compile(r"(?:#\s*|\bqty\s*:?\s*)(\d+)", re.IGNORECASE)
_PERCENT = re.compile(r"%|\bpercent\b", re.IGNORECASE)


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
    # the treatments named in the request's head, before its first connector ("A-stim unit"
    # of "A-stim unit plus supplies"): what is asked for, the rest says for what, with what
    heads: tuple[str, ...] = ()


# words after which a request says what its treatment is for, with or under what
_CONNECTORS = frozenset(
    "for plus with under by to including per via at in on after following".split()
)


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    ids: tuple[str, ...]


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
        for name, _matched, _mesh, offset in library_drugs(tuple(run)):
            positioned.append((start + offset, drug_id(vocab, name)))
    positioned.sort(key=lambda item: item[0])
    ordered = [cid for _, cid in positioned]

    drugs = tuple(dict.fromkeys(cid for cid in ordered if is_drug(vocab, cid)))
    if len(drugs) >= 2 and _PERCENT.search(text):
        ordered.insert(0, COMPOUNDED_TOPICAL)
    treatments = _drop_ancestors(vocab, ordered)
    drugs = tuple(d for d in drugs if d in treatments)
    classes = tuple(dict.fromkeys(c for d in drugs for c in drug_classes(d)))

    category = vocab.category_of(treatments[0]) if treatments else None
    cut = next((i for i, t in enumerate(tokens) if i and t in _CONNECTORS), len(tokens))
    head = {cid for start, cid in positioned if start < cut}
    heads = tuple(c for c in treatments if c in head) or treatments
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
        heads=heads,
    )


@lru_cache(maxsize=16384)
def normalize_body_region(text: str) -> tuple[str, ...]:
    """Body-region concept ids named in text, in order of mention, laterality ignored."""
    matches = _longest_matches(fold(text).split(), BODY_REGIONS)
    return tuple(dict.fromkeys(cid for m in matches for cid in m.ids))


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


def unmapped_report(requests: Iterable[str]) -> list[str]:
    """The requests that map to no treatment concept, in input order, to steer label additions."""
    return [r for r in requests if not normalize_request(r).treatments]
