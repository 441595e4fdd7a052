"""The SKOS data must stay a well-formed, unambiguous hierarchy, since every letter leans on it."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from kg.normalize import normalize_guideline, unmapped_report
from kg.vocab import (
    BODY_REGIONS,
    DRUGS,
    GUIDELINES,
    TREATMENTS,
    Concept,
    fold,
    load_vocabulary,
)

ID = re.compile(r"^[a-z]+:[a-z0-9]+(?:-[a-z0-9]+)*$")
CATEGORIES = {
    "tx:medication",
    "tx:imaging",
    "tx:diagnostic-testing",
    "tx:injection",
    "tx:physical-medicine",
    "tx:surgery",
    "tx:dme",
    "tx:evaluation-consultation",
    "tx:behavioral-health",
    "tx:other-service",
}


@pytest.fixture(scope="module")
def vocab():
    return load_vocabulary()


def test_loads_once_and_has_all_schemes(vocab):
    assert load_vocabulary() is vocab
    schemes = {c.scheme for c in vocab.concepts.values()}
    assert {TREATMENTS, DRUGS, BODY_REGIONS, GUIDELINES} <= schemes
    assert all(isinstance(c, Concept) for c in vocab.concepts.values())


def test_ids_are_short_slugs_with_labels(vocab):
    for cid, concept in vocab.concepts.items():
        assert ID.match(cid), cid
        assert concept.pref_label.strip(), cid
        assert concept.scheme, cid


def test_broader_targets_exist_and_hierarchy_is_acyclic(vocab):
    for cid, concept in vocab.concepts.items():
        for parent in concept.broader:
            assert parent in vocab, f"{cid} -> missing {parent}"
        assert cid not in vocab.ancestors(cid)


def test_every_treatment_and_drug_reaches_a_category(vocab):
    tops = {c.id for c in vocab.in_scheme(TREATMENTS) if not c.broader}
    assert tops == CATEGORIES
    for concept in (*vocab.in_scheme(TREATMENTS), *vocab.in_scheme(DRUGS)):
        assert vocab.category_of(concept.id) in CATEGORIES, concept.id
    for category in CATEGORIES:
        assert vocab.category_of(category) == category


def test_drugs_sit_under_their_class(vocab):
    assert "tx:opioid" in vocab.ancestors("drug:hydrocodone-acetaminophen")
    assert "tx:muscle-relaxant" in vocab.ancestors("drug:cyclobenzaprine")
    assert "tx:anticonvulsant" in vocab.ancestors("drug:fanatrex")
    assert vocab.category_of("drug:hydrocodone-acetaminophen") == "tx:medication"
    assert vocab.category_of("drug:not-in-the-data") == "tx:medication"
    assert vocab.by_mapping("mesh:D009294") == ("tx:opioid",)


def test_treatment_and_drug_labels_are_unambiguous(vocab):
    owners: dict[str, set[str]] = defaultdict(set)
    for concept in (*vocab.in_scheme(TREATMENTS), *vocab.in_scheme(DRUGS)):
        for label in concept.labels:
            owners[fold(label)].add(concept.id)
    clashes = {label: ids for label, ids in owners.items() if len(ids) > 1}
    assert not clashes


def test_region_labels_are_unambiguous(vocab):
    clashes = {k: v for k, v in vocab.labels(BODY_REGIONS).items() if len(v) > 1}
    assert not clashes


def test_lookup_folds_case_and_punctuation(vocab):
    assert vocab.lookup("NORCO") == ("drug:hydrocodone-acetaminophen",)
    assert vocab.lookup("x-rays") == vocab.lookup("X rays") == ("tx:radiography",)
    assert vocab.lookup("L4-5", BODY_REGIONS) == ("region:lumbar-spine",)
    assert vocab.lookup("lumber", BODY_REGIONS) == ("region:lumbar-spine",)
    assert vocab.concept("tx:no-such-thing") is None


def test_each_guideline_label_resolves_to_its_own_document(vocab):
    for concept in vocab.in_scheme(GUIDELINES):
        if not concept.broader:
            continue
        document = concept.broader[0] if concept.edition else concept.id
        source = vocab.ancestors(document)[-1]
        for label in concept.labels:
            ref = normalize_guideline(vocab.concept(source).pref_label, label, None)
            assert ref.document_id == document, (label, ref)


def test_unmapped_report_lists_only_unmapped():
    assert unmapped_report(["MRI of the lumbar spine", "zzz qqq", "TENS unit"]) == ["zzz qqq"]
