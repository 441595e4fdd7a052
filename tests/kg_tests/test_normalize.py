"""Normalization is what makes letters meet in the graph: spellings of one thing -> one id."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg.normalize import (
    GuidelineRef,
    RequestConcepts,
    drug_classes,
    normalize_body_region,
    normalize_guideline,
    normalize_request,
    normalize_section,
)

SAMPLE = Path(__file__).parents[1] / "data" / "requests_sample.txt"
HYDROCODONE_APAP = "drug:hydrocodone-acetaminophen"


def first(text: str) -> str:
    return normalize_request(text).treatments[0]


# --- requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Norco",
        "Norco 10/325 #90",
        "hydrocodone/APAP 10/325 #90",
        "Prescription of Norco",
        "Post-op Norco 5/325mg #60, 1-2 tabs orally every 4-6 hrs as needed",
        "Hydrocodone/acetaminophen 10/325mg",
    ],
)
def test_norco_spellings_meet(text):
    rc = normalize_request(text)
    assert rc.treatments == (HYDROCODONE_APAP,)
    assert rc.drugs == (HYDROCODONE_APAP,)
    assert rc.drug_classes == ("tx:opioid",)
    assert rc.category == "tx:medication"


def test_brand_and_generic_meet():
    assert (
        first("Flexeril 10mg #60") == first("Cyclobenzaprine 7.5mg #60") == "drug:cyclobenzaprine"
    )
    assert first("Prilosec 20mg #90") == first("omeprazole 20mg") == "drug:omeprazole"
    assert first("Ultram (tramadol) 50mg #90") == first("Tramadol 50mg #60") == "drug:tramadol"


def test_esi_spellings_meet():
    for text in (
        "Lumbar ESI at L4-5",
        "Right L5-S1 epidural steroid injection",
        "Lumbar Spine Epidural Injection at L4-5 under fluoroscopy",
    ):
        rc = normalize_request(text)
        assert rc.treatments[0] == "tx:epidural-steroid-injection", text
        assert rc.category == "tx:injection"
        assert "region:lumbar-spine" in rc.body_regions
    assert first("Right L4 transforaminal epidural steroid injection") == "tx:transforaminal-esi"


def test_tens_unit():
    for text in (
        "TENS unit",
        "Retrospective TENS unit, purchase, lumbar spine (DOS 12/29/16)",
        "TENS unit, daily trial, cervical and thoracic spine, #30",
    ):
        rc = normalize_request(text)
        assert rc.treatments == ("tx:tens-unit",), text
        assert rc.category == "tx:dme"


def test_xrays_of_the_lumbar_spine():
    for text in (
        "X-rays of the lumbar spine",
        "Lumbar spine x-rays",
        "One (1) x-ray of the lumbar spine",
    ):
        rc = normalize_request(text)
        assert rc.treatments == ("tx:radiography",), text
        assert rc.body_regions == ("region:lumbar-spine",), text
        assert rc.category == "tx:imaging"


def test_physical_therapy_with_region_and_boilerplate():
    rc = normalize_request("12 sessions of physical therapy for the shoulder")
    assert rc.treatments == ("tx:physical-therapy",)
    assert rc.body_regions == ("region:shoulder",)
    rc = normalize_request("Associated surgical service: Physical therapy, times 12")
    assert rc.treatments == ("tx:physical-therapy",)  # "surgical" is boilerplate, not surgery
    assert "associated-surgical-service" in rc.modifiers


def test_dosing_and_modifiers():
    rc = normalize_request(
        "Voltaren gel apply to affected area 4 times a day, #60 grams with 1 refill, "
        "DOS: 11/11/2016"
    )
    assert rc.treatments == ("drug:diclofenac-topical",)
    assert rc.quantity == 60
    rc = normalize_request("Retrospective Cyclobenzaprine 7.5mg #18, per 12/07/2016 order")
    assert (rc.strength, rc.quantity, rc.modifiers) == ("7.5mg", 18, ("retrospective",))
    assert normalize_request("Norco 10/325 #90").strength == "10/325"


def test_compounded_topical():
    rc = normalize_request("Gabapentin 10%, Cyclobenzaprine 6%, Bupivacaine 5% in cream base")
    assert rc.treatments[0] == "tx:compounded-topical"
    assert rc.drugs == ("drug:gabapentin", "drug:cyclobenzaprine", "drug:bupivacaine")
    assert {"tx:anticonvulsant", "tx:muscle-relaxant", "tx:local-anesthetic"} <= set(
        rc.drug_classes
    )


def test_drug_found_by_library_but_not_in_vocabulary():
    rc = normalize_request("Meperidine 50mg #30")
    assert rc.drugs == ("drug:meperidine",)
    assert rc.drug_classes == ("tx:opioid",)  # via the library's MeSH id
    assert rc.category == "tx:medication"
    assert drug_classes("drug:meperidine") == ("tx:opioid",)
    assert drug_classes("drug:cyclobenzaprine") == ("tx:muscle-relaxant",)


def test_specific_concept_wins_over_its_ancestor():
    rc = normalize_request("Capsaicin cream 4.8 gms Qty:1")
    assert rc.treatments == ("drug:capsaicin",)  # "cream" (topical analgesic) is its ancestor
    assert rc.quantity == 1
    assert normalize_request("Pre-op labs: CBC").treatments == ("tx:complete-blood-count",)


def test_several_treatments_keep_mention_order():
    rc = normalize_request("Right shoulder arthroscopy RCR (rotator cuff repair) and decompression")
    assert rc.treatments == (
        "tx:arthroscopy",
        "tx:rotator-cuff-repair",
        "tx:surgical-decompression",
    )
    assert rc.category == "tx:surgery"
    assert normalize_request("EMG/NCV of the bilateral lower extremities").treatments == (
        "tx:emg",
        "tx:nerve-conduction-study",
    )


def test_body_regions():
    assert normalize_body_region("Low back/Pelvis") == ("region:lumbar-spine", "region:hip-pelvis")
    assert normalize_body_region("IV SEDATION- LUMBER SPINE") == ("region:lumbar-spine",)
    assert normalize_body_region("left wrist/hand") == ("region:wrist", "region:hand")
    assert normalize_body_region("bilateral upper extremities") == ("region:upper-extremity",)
    assert normalize_body_region("nothing here") == ()


def test_unmappable_text():
    rc = normalize_request("zzz qqq")
    assert rc == RequestConcepts("zzz qqq", (), None, ())


def _sample() -> list[str]:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_coverage_of_real_requests():
    requests = _sample()
    assert len(requests) > 300
    unmapped = [r for r in requests if not normalize_request(r).treatments]
    coverage = 1 - len(unmapped) / len(requests)
    print(f"request coverage {coverage:.1%} ({len(requests) - len(unmapped)}/{len(requests)})")
    assert coverage >= 0.95, "unmapped:\n" + "\n".join(unmapped)


def test_every_request_has_a_category():
    for request in _sample():
        rc = normalize_request(request)
        if rc.treatments:
            assert rc.category is not None, request


@pytest.mark.parametrize(
    ("text", "heads"),
    [
        ("A-stim unit plus supplies for home use", ("tx:electrical-stimulation-device",)),
        ("Re-evaluation by a pain management specialist for repeat ESI", ("tx:office-visit",)),
        ("Lumbar ESI at L4-5 under fluoroscopy", ("tx:epidural-steroid-injection",)),
        ("NCV/EMG of the bilateral upper extremity", ("tx:nerve-conduction-study", "tx:emg")),
        ("Hygiene wipes", ("tx:medical-supplies",)),
    ],
)
def test_the_head_of_a_request_names_its_own_treatment(text: str, heads: tuple) -> None:
    """What comes before "plus", "for", "by", "under" ... is what is asked for; "of" a region
    stays in the head."""
    assert normalize_request(text).heads == heads


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_normalize_request_never_raises_and_is_deterministic(text):
    raw = normalize_request.__wrapped__  # bypass the cache: compute twice for real
    a, b = raw(text), raw(text)
    assert a == b
    assert isinstance(a, RequestConcepts)
    assert len(set(a.treatments)) == len(a.treatments)
    assert set(a.heads) <= set(a.treatments) and bool(a.heads) == bool(a.treatments)
    assert (a.category is None) == (not a.treatments)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80), st.one_of(st.none(), st.integers(1990, 2030)))
def test_normalize_guideline_and_section_never_raise(guideline, document, year):
    ref = normalize_guideline.__wrapped__(guideline, document, year)
    assert ref == normalize_guideline.__wrapped__(guideline, document, year)
    assert ref.document_id and ref.source_id
    assert normalize_section(ref.document_id, document).startswith(ref.document_id + "/")


# --- guidelines ---------------------------------------------------------------------------


def test_mtus_chronic_pain_editions_are_one_document():
    old = normalize_guideline("MTUS", "Chronic Pain Treatment Guidelines", None)
    new = normalize_guideline("MTUS", "Chronic Pain Medical Treatment", 2016)
    assert old.document_id == new.document_id == "gdoc:mtus-chronic-pain"
    assert (old.edition, new.edition) == ("2009", "2016")
    assert old.edition_concept == "gdoc:mtus-chronic-pain-2009"
    assert new.edition_concept == "gdoc:mtus-chronic-pain-2016"
    assert normalize_guideline("MTUS", "Chronic Pain Medical Treatment", 2009).edition == "2009"
    assert isinstance(old, GuidelineRef) and old.source_id == "gsrc:mtus"


def test_mtus_acoem_chapters_get_their_only_edition():
    ref = normalize_guideline("MTUS", "Low Back Complaints", None)
    assert (ref.document_id, ref.edition) == ("gdoc:mtus-low-back", "2004")
    assert (
        normalize_guideline("MTUS", "Elbow Complaints", 2007).edition_concept
        == "gdoc:mtus-elbow-2007"
    )


@pytest.mark.parametrize(
    "document",
    [
        "Low Back",
        "Low back, Lumbar & Thoracic (Acute & Chronic)",
        "Low Back Chapter",
        "Lumbar & Thoracic (Acute & Chronic)",
        "Low back",
        "Lumbar and thoracic",
        "Low Back, Lumbar and Thoracic (Acute and Chronic)",
        "Low Back (Thoracic and Lumbar, Acute and Chronic)",
        "Low Back - Lumbar & Thoracic (Acute & Chronic) Chapter (Online Version)",
        "Low Back & Thoracic chapter (Acute & Chronic)",
        "Lower Back section",
    ],
)
def test_odg_low_back_spellings_meet(document):
    ref = normalize_guideline("ODG", document, None)
    assert (ref.source_id, ref.document_id, ref.edition) == ("gsrc:odg", "odg:low-back", None)


@pytest.mark.parametrize(
    ("spellings", "document_id"),
    [
        (["Shoulder", "Shoulder (Acute & Chronic)", "Shoulder (updated 11/23/16)"], "odg:shoulder"),
        (["Pain (Chronic)", "Pain", "Pain Chapter (Online version)"], "odg:pain"),
        (
            ["Neck and Upper Back", "Neck & Upper Back (Acute & Chronic)", "Neck"],
            "odg:neck-upper-back",
        ),
        (
            ["Knee & Leg", "Knee and Leg", "Knee and leg", "Knee & Leg (updated 11/22/16)"],
            "odg:knee-leg",
        ),
        (["Hip & Pelvis", "Hips & Pelvis", "Hip and Pelvis Chapter"], "odg:hip-pelvis"),
        (
            ["Forearm, Wrist & Hand", "Forearm, Wrist and Hand", "Forearm, Wrist, and hand"],
            "odg:forearm-wrist-hand",
        ),
        (["Carpal Tunnel Syndrome (Acute & Chronic)"], "odg:carpal-tunnel"),
        (["Head", "Head Chapter (updated 11/3/16)"], "odg:head"),
        (["Mental Illness & Stress"], "odg:mental-illness-stress"),
        (["Ankle & Foot", "Ankle and Foot section"], "odg:ankle-foot"),
        (["Preface", "Physical Therapy Guidelines"], "odg:preface"),
    ],
)
def test_odg_chapter_spellings_meet(spellings, document_id):
    for spelling in spellings:
        assert normalize_guideline("ODG", spelling, None).document_id == document_id, spelling


def test_unknown_and_empty_documents_get_stable_slugs():
    assert normalize_guideline("ODG", "", None).document_id == "odg:unspecified"
    url = normalize_guideline("OTHER", "http://www.drugs.com/famotidine.html", None)
    assert url.document_id == "gdoc:other-http-www-drugs-com-famotidine-html"
    assert normalize_guideline("OTHER", "U.S. Food and Drug Administration", None).document_id == (
        "gdoc:other-fda"
    )
    odd = normalize_guideline("MTUS", "Some New Chapter", 2018)
    assert (odd.document_id, odd.edition_concept) == (
        "gdoc:mtus-some-new",
        "gdoc:mtus-some-new-2018",
    )


def test_sections_fold_case_punctuation_plural_and_order():
    doc = "odg:low-back"
    ids = {
        normalize_section(doc, s)
        for s in (
            "MRIs (magnetic resonance imaging)",
            "MRI's (magnetic resonance imaging)",
            "Magnetic resonance imaging (MRI)",
            "mri (Magnetic Resonance Imaging)",
        )
    }
    assert len(ids) == 1
    assert normalize_section(doc, "Topical Analgesics") == normalize_section(
        doc, "topical analgesics"
    )
    assert normalize_section("a:b", "Special Studies") != normalize_section(
        "a:c", "Special Studies"
    )
    numbered = normalize_section("gdoc:mtus-opioid-treatment", "3.3.9 Opioids for Chronic Pain")
    assert numbered.startswith("gdoc:mtus-opioid-treatment/3-3-9-")
