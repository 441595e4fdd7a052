"""The citation reader, one test per kind of citation (docs/citations.md), from real letters' text.

Each excerpt is the guideline paragraph as a real letter writes it (the file is named); kinds
marked "outside the public set" are written as the issue describes letters seen elsewhere.
Hypothesis tests build citation strings of each kind around a known document and topic, with
edition, year, version words and pages in random order, and check that the parts come back.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imr_graph.letters import citations_other
from imr_graph.letters.audit import audit_paragraph
from imr_graph.letters.citations import join_paragraph, parse_guideline_paragraph
from kg.model import Citation
from kg.normalize import normalize_guideline

ODG = "Decision based on Non-MTUS Citation Official Disability Guidelines (ODG)"


def cites(text: str) -> list[tuple]:
    return [
        (c.guideline, c.document, c.year, list(c.sections), list(c.pages))
        for c in parse_guideline_paragraph(text)
    ]


KINDS = [
    # (kind, letter, paragraph text, expected citations)
    (
        "odg-edition-year-before-chapter",
        "CM17-0009883",
        "Decision based on Non-MTUS Citation ODG Guidelines, 14th Edition, 2016, Knee Chapter.",
        [("ODG", "Knee", 2016, [], [])],
    ),
    (
        "odg-year-before-chapter",
        "CM17-0005924",
        f"{ODG}, 2016, Neck and Upper Back, Indications for imaging, CT (computed tomography).",
        [
            (
                "ODG",
                "Neck and Upper Back",
                2016,
                ["Indications for imaging", "CT (computed tomography)"],
                [],
            )
        ],
    ),
    (
        "odg-year-after-topic",
        "CM17-0011992",
        f"{ODG}, Knee and Leg (Acute and Chronic): Platelet-rich plasma (2016).",
        [("ODG", "Knee and Leg (Acute and Chronic)", 2016, ["Platelet-rich plasma"], [])],
    ),
    (
        "odg-online-version-after-chapter",
        "CM16-0243394",
        f"{ODG}, Pain Chapter (Online version) Diclofenac.",
        [("ODG", "Pain", None, ["Diclofenac"], [])],
    ),
    (
        "odg-online-version-alone",
        "CM16-0245295",
        "Decision based on Non-MTUS Citation Official Disability Guidelines: Low Back - Lumbar & "
        "Thoracic (Acute & Chronic) Chapter (Online Version).",
        [("ODG", "Low Back - Lumbar & Thoracic (Acute & Chronic)", None, [], [])],
    ),
    (
        "odg-online-version-colon",
        "CM17-0010420",
        f"{ODG}, Pain (online version): Opioids, specific drug list.",
        [("ODG", "Pain", None, ["Opioids, specific drug list"], [])],
    ),
    (
        "odg-procedure-summary-prefix (outside the public set)",
        "-",
        f"{ODG} Knee & Leg, Procedure Summary Online Version: Arthroscopic surgery.",
        [("ODG", "Knee & Leg", None, ["Arthroscopic surgery"], [])],
    ),
    (
        "odg-work-loss-data-institute (outside the public set)",
        "-",
        f"{ODG}, Work Loss Data Institute, 21st annual edition, 2016, Pain (Chronic), Opioids.",
        [("ODG", "Pain (Chronic)", 2016, ["Opioids"], [])],
    ),
    (
        "odg-chapters-listed",
        "CM16-0247274",
        f"{ODG}, Neck and Upper Back, Low Back.",
        [("ODG", "Neck and Upper Back", None, [], []), ("ODG", "Low Back", None, [], [])],
    ),
    (
        "odg-chapters-share-topic",
        "CM17-0003284",
        f"{ODG}, Neck & Upper Back, Low Back- Lumbar & Thoracic and Forearm, Wrist and Hand "
        "chapters: Chiropractic Guidelines.",
        [
            ("ODG", "Neck & Upper Back", None, ["Chiropractic Guidelines"], []),
            ("ODG", "Low Back- Lumbar & Thoracic", None, ["Chiropractic Guidelines"], []),
            ("ODG", "Forearm, Wrist and Hand", None, ["Chiropractic Guidelines"], []),
        ],
    ),
    (
        "odg-two-chapters-each-with-topic (outside the public set)",
        "-",
        f"{ODG} Shoulder, Cold packs; Neck, Pillows.",
        [("ODG", "Shoulder", None, ["Cold packs"], []), ("ODG", "Neck", None, ["Pillows"], [])],
    ),
    (
        "odg-semicolon-topic-continues-chapter",
        "CM17-0011543",
        "Decision based on Non-MTUS Citation Official Disability Guidelines, Neck and Upper Back, "
        "Electromyography (EMG); Nerve Conduction Studies (NCS).",
        [
            (
                "ODG",
                "Neck and Upper Back",
                None,
                ["Electromyography (EMG)", "Nerve Conduction Studies (NCS)"],
                [],
            )
        ],
    ),
    (
        "odg-name-repeated-starts-a-citation",
        "CM17-0008633",
        f"{ODG}, Knee Official Disability Guidelines (ODG), Physical Therapy Guidelines.",
        [("ODG", "Knee", None, [], []), ("ODG", "", None, ["Physical Therapy Guidelines"], [])],
    ),
    (
        "odg-chapter-then-odg-preface",
        "CM17-0012517",
        "Decision based on Non-MTUS Citation Shoulder (Acute & Chronic), Physical Therapy, ODG "
        "Preface – Physical Therapy.",
        [
            ("ODG", "Shoulder (Acute & Chronic)", None, ["Physical Therapy"], []),
            ("ODG", "Preface", None, ["Physical Therapy"], []),
        ],
    ),
    (
        "odg-chapter-alone-at-end",
        "CM17-0005412",
        "Decision based on Non-MTUS Citation Official Disability Guidelines, Pain.",
        [("ODG", "Pain", None, [], [])],
    ),
    (
        "odg-chapter-with-parenthesised-topic",
        "CM17-0006912",
        f"{ODG} Knee and Leg (Durable medical equipment (DME)).",
        [("ODG", "Knee and Leg", None, ["Durable medical equipment (DME)"], [])],
    ),
    (
        "odg-chapter-full-title",
        "CM17-0002551",
        f"{ODG} Head (trauma, headaches, etc., not including stress & mental disorders) "
        "Hearing aids.",
        [
            (
                "ODG",
                "Head (trauma, headaches, etc., not including stress & mental disorders)",
                None,
                ["Hearing aids"],
                [],
            )
        ],
    ),
    (
        "odg-chapter-old-title",
        "CM17-0005418",
        f"{ODG} Low Back (Thoracic and Lumbar, Acute and Chronic) Chapter, Epidural Steroid "
        "Injection (ESI)",
        [
            (
                "ODG",
                "Low Back (Thoracic and Lumbar, Acute and Chronic)",
                None,
                ["Epidural Steroid Injection (ESI)"],
                [],
            )
        ],
    ),
    (
        "odg-acute-chronic-after-chapter-word",
        "CM17-0010420",
        f"{ODG}, Low Back & Thoracic chapter (Acute & Chronic), Preoperative testing, general.",
        [
            (
                "ODG",
                "Low Back & Thoracic (Acute & Chronic)",
                None,
                ["Preoperative testing, general"],
                [],
            )
        ],
    ),
    (
        "odg-topic-word",
        "CM17-0015348",
        f"{ODG} Knee and Leg Section/Physical Medicine Topic.",
        [("ODG", "Knee and Leg", None, ["Physical Medicine"], [])],
    ),
    (
        "acoem-page-in-document",
        "CM17-0011543",
        "Decision based on Non-MTUS Citation ACOEM Occupational Medicine Practice Guidelines, "
        "3rd ed., Shoulder Disorders, pg. 64.",
        [("ACOEM", "Shoulder Disorders", None, [], [64])],
    ),
    (
        "acoem-chapter-path",
        "CM16-0244053",
        "Decision based on Non-MTUS Citation ACOEM Hip and Groin Chapter/Diagnostic and treatment "
        "recommendations.",
        [("ACOEM", "Hip and Groin", None, ["Diagnostic and treatment recommendations"], [])],
    ),
    (
        "acoem-no-chapter",
        "CM16-0244053",
        "Decision based on Non-MTUS Citation ACOEM guidelines",
        [("ACOEM", "Occupational Medicine Practice Guidelines", None, [], [])],
    ),
    (
        "acoem-chapter-with-commas",
        "CM17-0013240",
        "Decision based on Non-MTUS Citation American College of Occupational and Environmental "
        "Medicine (ACOEM) Pain, Suffering, and the Restoration of Function Chapter.",
        [("ACOEM", "Pain, Suffering, and the Restoration of Function", None, [], [])],
    ),
    (
        "acoem-page-after-odg-topic (outside the public set)",
        "-",
        "Decision based on Non-MTUS Citation Official Disability Guidelines, Low Back, Lumbar "
        "supports, ACOEM 2nd Edition (2004), page 301.",
        [
            ("ODG", "Low Back", None, ["Lumbar supports"], []),
            ("ACOEM", "Occupational Medicine Practice Guidelines", 2004, [], [301]),
        ],
    ),
    (
        "mtus-postsurgical-chapter-with-commas",
        "CM17-0006912",
        "Decision based on MTUS Postsurgical Treatment 2009, Section(s): Knee, Forearm, Wrist, "
        "& Hand.",
        [("MTUS", "Postsurgical Treatment", 2009, ["Knee", "Forearm, Wrist, & Hand"], [])],
    ),
    (
        "other-book-chapters",
        "CM17-0015218",
        "Decision based on Non-MTUS Citation Green's Operative Hand Surgery, 6th ed Chapter 17: "
        "Distal Radius Fractures, Chapter 30: Compression Neuropathies.",
        [
            (
                "OTHER",
                "Green's Operative Hand Surgery",
                None,
                ["Chapter 17: Distal Radius Fractures", "Chapter 30: Compression Neuropathies"],
                [],
            )
        ],
    ),
    (
        "other-references-with-accessed-dates",
        "CM17-0013587",
        "Decision based on Non-MTUS Citation What is an electrocardiogram? National Heart, Lung, "
        "and "
        "Blood Institute, Department of Health and Human Services. http://www.nhlbi.nih.gov/health/"
        "health-topics/topics/ekg, accessed 02/18/2017, Benditt D, et al. Syncope in adults: "
        "Clinical manifestations and diagnostic evaluation. Topic 969, version 21.0. UpToDate, "
        "accessed 02/18/2017.",
        [
            (
                "OTHER",
                "National Heart, Lung, and Blood Institute",
                None,
                ["What is an electrocardiogram?"],
                [],
            ),
            (
                "OTHER",
                "UpToDate",
                None,
                ["Syncope in adults: Clinical manifestations and diagnostic evaluation"],
                [],
            ),
        ],
    ),
    (
        "other-reference-source-first",
        "CM17-0013625",
        "Decision based on Non-MTUS Citation University of Michigan Health System. "
        "Gastroesophageal reflux disease (GERD). Ann Arbor (MI): University of Michigan Health "
        "System; 2007 Jan. 10.",
        [
            (
                "OTHER",
                "University of Michigan Health System",
                2007,
                ["Gastroesophageal reflux disease (GERD)"],
                [],
            )
        ],
    ),
    (
        "other-two-urls (outside the public set)",
        "-",
        "Decision based on Non-MTUS Citation http://www.drugs.com/pro/lyrica.html "
        "http://www.ncbi.nlm.nih.gov/pubmed/12345",
        [
            ("OTHER", "http://www.drugs.com/pro/lyrica.html", None, [], []),
            ("OTHER", "http://www.ncbi.nlm.nih.gov/pubmed/12345", None, [], []),
        ],
    ),
    (
        "other-source-with-parts (outside the public set)",
        "-",
        "Decision based on Non-MTUS Citation Medicare Claims Processing Manual; Chapter "
        "12-Physicians; 30.6-Evaluation and Management Service Codes.",
        [
            (
                "OTHER",
                "Medicare Claims Processing Manual",
                None,
                ["Chapter 12-Physicians", "30.6-Evaluation and Management Service Codes"],
                [],
            )
        ],
    ),
    (
        "other-source-with-part-after-comma (outside the public set)",
        "-",
        "Decision based on Non-MTUS Citation National Library of Medicine, MedlinePlus Drug "
        "Information.",
        [("OTHER", "National Library of Medicine", None, ["MedlinePlus Drug Information"], [])],
    ),
    (
        "other-name-and-quotation",
        "002_e7994c1041a16335",
        "Decision based on Other Medical Treatment Guidelines U.S. Food and Drug Administration, "
        "Ambien is indicated for the short-term treatment of insomnia.",
        [("OTHER", "U.S. Food and Drug Administration", None, [], [])],
    ),
]


@pytest.mark.parametrize("kind,letter,text,expected", KINDS, ids=[k[0] for k in KINDS])
def test_kind(kind, letter, text, expected):
    assert cites(text) == expected
    assert audit_paragraph(text) == []  # every word read or dropped by design


def test_url_hyphen_at_line_end_belongs_to_the_url():
    lines = [
        "Decision based on Non-MTUS Citation https://www.cms.gov/Regulations-and-",
        "Guidance/Guidance/Manuals/Downloads/clm104c12.pdf",
    ]
    text = join_paragraph(lines)
    assert cites(text) == [
        (
            "OTHER",
            "https://www.cms.gov/Regulations-and-Guidance/Guidance/Manuals/Downloads/clm104c12.pdf",
            None,
            [],
            [],
        )
    ]
    # a name broken by a line-end hyphen is still joined without it
    assert "Guidelines" in join_paragraph(["Official Disability Guide-", "lines (ODG) Low Back"])


def test_audit_finds_each_kind_of_trouble():
    bad = [
        Citation("ODG", "", None, ("14th Edition", "2016", "Knee Chapter")),
        Citation(
            "ACOEM",
            "Occupational Medicine Practice Guidelines, 3rd ed., Shoulder Disorders, pg. 64",
        ),
        Citation("ACOEM", "Hip and Groin Chapter/Diagnostic and treatment recommendations"),
        Citation("ODG", "Pain", None, ("(Online Version) Lidoderm (lidocaine patch)",)),
        Citation("OTHER", "http://a.com/x http://b.org/y"),
    ]
    from imr_graph.letters.audit import citation_problems

    for c in bad:
        assert citation_problems(c), c


def test_audit_reports_leftover_words():
    lines = audit_paragraph(f"{ODG} Knee, MRI Zzyzx unrecognised")
    assert lines == [] or all("leftover" not in ln.problem for ln in lines)  # topics keep words
    from imr_graph.letters.audit import leftover_words

    assert leftover_words("ODG Knee, MRI, Zzyzx", [Citation("ODG", "Knee", None, ("MRI",))]) == [
        "zzyzx"
    ]


def test_same_document_two_ways_is_one_node():
    pairs = [
        (
            "ODG",
            "Low Back (Thoracic and Lumbar, Acute and Chronic)",
            "Low Back - Lumbar & Thoracic",
        ),
        ("ODG", "Head (trauma, headaches, etc., not including stress & mental disorders)", "Head"),
        ("ODG", "Low Back & Thoracic (Acute & Chronic)", "Lower Back"),
        ("ACOEM", "Hip and Groin", "Hip and Groin Disorders"),
        ("OTHER", "Medicare Claims Processing Manual", "CMS Medicare Claims Processing Manual"),
        ("OTHER", "MedlinePlus", "MedlinePlus Drug Information"),
    ]
    for source, a, b in pairs:
        ra, rb = normalize_guideline(source, a), normalize_guideline(source, b)
        assert ra.document_id == rb.document_id, (a, b)
        assert ":" in ra.document_id and not ra.document_id.endswith("unspecified")


# --- what each reader gives back for wordings mutation testing found untested --------------------
# (docs/mutation.md): each row is a wording a reader handles on its own path, with the citation a
# user sees; a reader that drops, keeps or cuts a word there changes the row.

NON_MTUS = "Decision based on Non-MTUS Citation "


@pytest.mark.parametrize(
    "text,expected",
    [
        # an MTUS topic with its pages but no document named: the topic and pages are kept
        (
            "Decision based on MTUS Opioids, criteria for use Page(s): 74-75.",
            [("MTUS", "", None, ["Opioids, criteria for use"], [74, 75])],
        ),
        # a ';' part starting with an X: the X is part of the topic
        (NON_MTUS + "ODG Knee, MRI; X-rays.", [("ODG", "Knee", None, ["MRI", "X-rays"], [])]),
        # a chapter that names its parenthesis once, then '(Acute & Chronic)' after 'Chapter'
        (
            NON_MTUS + "ODG Low Back (Thoracic & Lumbar) Chapter (Acute & Chronic), Discography.",
            [("ODG", "Low Back (Thoracic & Lumbar)", None, ["Discography"], [])],
        ),
        (
            NON_MTUS + "ODG Knee and Leg (Acute & Chronic) Chapter (Acute & Chronic), Arthroscopy.",
            [("ODG", "Knee and Leg (Acute & Chronic)", None, ["Arthroscopy"], [])],
        ),
        # 'topic' names the structure, whatever its case
        (
            NON_MTUS + "ODG Low Back Chapter, Discography topic.",
            [("ODG", "Low Back", None, ["Discography"], [])],
        ),
        # OTHER: an edition after an unknown source is dropped with its comma
        (
            NON_MTUS
            + "Goodman and Gilman, The Pharmacological Basis of Therapeutics, 12th edition.",
            [
                (
                    "OTHER",
                    "Goodman and Gilman, The Pharmacological Basis of Therapeutics",
                    None,
                    [],
                    [],
                )
            ],
        ),
        # OTHER: a known source followed by its web address is the source alone
        (
            NON_MTUS
            + "National Library of Medicine, https://medlineplus.gov/druginfo/meds/a601006.html",
            [("OTHER", "National Library of Medicine", None, [], [])],
        ),
        # OTHER: an unknown book with its chapters, each chapter a section, written as is
        (
            NON_MTUS + "Rockwood Fractures in Adults, Chapter 12: Wrist Fractures, Chapter 14: "
            "Appendix X.",
            [
                (
                    "OTHER",
                    "Rockwood Fractures in Adults",
                    None,
                    ["Chapter 12: Wrist Fractures", "Chapter 14: Appendix X"],
                    [],
                )
            ],
        ),
    ],
)
def test_reading_of_each_path(text: str, expected: list[tuple]) -> None:
    assert cites(text) == expected


def test_an_abbreviation_inside_a_reference_is_not_taken_for_the_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """'NHLBI' names a source only on its own (the vocabulary's short labels are not searched
    for inside a reference): the reference's title is not cut where the abbreviation stands.
    The labels are read afresh (as in a new process), not taken from an earlier test."""
    monkeypatch.setattr(citations_other, "_LABELS", None)
    assert cites(NON_MTUS + "NHLBI") == [("OTHER", "NHLBI", None, [], [])]
    (c,) = parse_guideline_paragraph(NON_MTUS + "Expert Panel Report 3, NHLBI, 2007")
    assert c.document.startswith("Expert Panel Report 3"), c


def test_the_source_names_load_when_first_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vocabulary's OTHER source names are read once, on first use (forgotten here, as in
    a fresh process, since another test may have read them already)."""
    monkeypatch.setattr(citations_other, "_LABELS", None)
    assert cites(NON_MTUS + "National Library of Medicine, MedlinePlus Drug Information.") == [
        ("OTHER", "National Library of Medicine", None, ["MedlinePlus Drug Information"], [])
    ]


# --- generated citation strings ----------------------------------------------------------------

ODG_CHAPTERS = [
    "Low Back",
    "Knee & Leg",
    "Shoulder (Acute & Chronic)",
    "Pain (Chronic)",
    "Neck and Upper Back",
    "Forearm, Wrist and Hand",
    "Hip & Pelvis",
]
TOPICS = [
    "Magnetic resonance imaging (MRI)",
    "Physical therapy",
    "Opioids, specific drug list",
    "Platelet-rich plasma (PRP)",
    "Cold packs",
    "Durable medical equipment (DME)",
]
YEARS = st.integers(2004, 2019)
ODG_NAMES = [
    "Official Disability Guidelines (ODG)",
    "Official Disability Guidelines",
    "ODG",
    "ODG Guidelines",
]
EDITION_WORDS = [
    "14th Edition",
    "21st annual edition",
    "Work Loss Data Institute",
    "Online Version",
    "(Online Version)",
    "Web version",
    "Treatment Index",
    "Procedure Summary",
]


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(ODG_NAMES),
    chapter=st.sampled_from(ODG_CHAPTERS),
    topic=st.sampled_from(TOPICS),
    year=st.one_of(st.none(), YEARS),
    words=st.lists(st.sampled_from(EDITION_WORDS), max_size=3, unique=True),
    year_last=st.booleans(),
    chapter_word=st.sampled_from(["", " Chapter", " chapter", " section"]),
    updated=st.booleans(),
)
def test_generated_odg(name, chapter, topic, year, words, year_last, chapter_word, updated):
    front = list(words)
    if year and not year_last:
        front.append(str(year))
    head = ", ".join([name, *front])
    chap = chapter + chapter_word + (" (updated 11/23/16)" if updated else "")
    tail = f"{topic} ({year})" if year and year_last else topic
    text = f"Decision based on Non-MTUS Citation {head}, {chap}, {tail}."
    got = parse_guideline_paragraph(text)
    assert [(c.guideline, c.document, c.year, c.sections) for c in got] == [
        ("ODG", chapter, year, (topic,))
    ], text
    assert audit_paragraph(text) == [], text


ACOEM_CHAPTERS = [
    "Shoulder Disorders",
    "Low Back Disorders",
    "Hip and Groin",
    "Knee Disorders",
    "Pain, Suffering, and the Restoration of Function",
]


@settings(max_examples=200, deadline=None)
@given(
    chapter=st.sampled_from(ACOEM_CHAPTERS),
    edition=st.sampled_from(["", "2nd Edition", "3rd ed.", "2nd ed"]),
    year=st.one_of(st.none(), YEARS),
    pages=st.lists(st.integers(1, 999), max_size=2, unique=True),
    page_word=st.sampled_from(["pg.", "p.", "p", "page", "pages"]),
    practice=st.booleans(),
    order=st.permutations(["edition", "chapter", "pages"]),
    part=st.sampled_from(["", "/Diagnostic and treatment recommendations"]),
)
def test_generated_acoem(chapter, edition, year, pages, page_word, practice, order, part):
    bits = {
        "edition": " ".join(b for b in (edition, f"({year})" if year else "") if b),
        "chapter": chapter + (" Chapter" if part else "") + part,
        "pages": f"{page_word} {', '.join(map(str, pages))}" if pages else "",
    }
    body = ", ".join(bits[k] for k in order if bits[k])
    lead = "ACOEM Occupational Medicine Practice Guidelines" if practice else "ACOEM"
    text = f"Decision based on Non-MTUS Citation {lead}, {body}."
    (c,) = parse_guideline_paragraph(text)
    assert (c.guideline, c.document, c.year, c.pages) == ("ACOEM", chapter, year, tuple(pages)), (
        text
    )
    assert c.sections == ((part[1:],) if part else ()), text
    assert audit_paragraph(text) == [], text


@settings(max_examples=100, deadline=None)
@given(
    urls=st.lists(
        st.from_regex(
            r"https?://www\.[a-z]{3,8}\.(com|org|gov)/[a-z0-9_]{1,10}(-[a-z0-9]{1,6})?",
            fullmatch=True,
        ),
        min_size=1,
        max_size=3,
        unique=True,
    ),
    sep=st.sampled_from([" ", ", ", "; "]),
)
def test_generated_urls_are_each_a_citation(urls, sep):
    text = "Decision based on Non-MTUS Citation " + sep.join(urls) + "."
    got = parse_guideline_paragraph(text)
    assert [c.document for c in got] == urls
    assert audit_paragraph(text) == []
