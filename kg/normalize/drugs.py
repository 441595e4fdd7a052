"""The drug library (drug-named-entity-recognition) behind the drug vocabulary.

Brand and generic names the SKOS data lacks still become drug concepts, with their classes found
through the library's MeSH ids; the ~20k-drug dictionary is loaded once, on first use.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from kg.ids import slug
from kg.vocab import DRUGS, TREATMENTS, Vocabulary, load_vocabulary

# Words the drug library reads as drugs that are not drugs in these letters.
_NER_IGNORED = frozenset({"citrate", "indicators", "sodium", "hcl", "er", "sr", "xr", "dr"})


@lru_cache(maxsize=1)
def _drug_finder() -> Any:
    """drug_named_entity_recognition loads a ~20k-drug dictionary on import (~2 s): do it once."""
    from drug_named_entity_recognition import find_drugs

    return find_drugs


@lru_cache(maxsize=8192)
def library_drugs(tokens: tuple[str, ...]) -> tuple[tuple[str, str, str | None, int], ...]:
    """(canonical name, matched text, MeSH id, token index) for each drug the library finds."""
    found = []
    for data, start, _end in _drug_finder()(list(tokens)):
        matched = str(data.get("matching_string", ""))
        if len(matched) < 4 or matched.lower() in _NER_IGNORED:
            continue
        found.append((str(data.get("name") or matched), matched, data.get("mesh_id"), start))
    return tuple(found)


def drug_id(vocab: Vocabulary, name: str) -> str:
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
    for _name, _matched, mesh_id, _start in library_drugs(tuple(name.split())):
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
            concept = vocab.concept(cid)
            for parent in concept.broader if concept else ():
                parent_concept = vocab.concept(parent)
                if parent_concept and parent_concept.scheme == TREATMENTS:
                    if parent not in found:
                        found.append(parent)
                else:
                    nxt.append(parent)
        frontier = nxt
    return tuple(found)


def is_drug(vocab: Vocabulary, cid: str) -> bool:
    concept = vocab.concept(cid)
    return concept.scheme == DRUGS if concept else cid.startswith("drug:")
