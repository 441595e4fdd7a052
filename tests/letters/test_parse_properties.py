"""Property tests for the pure readers: page lists, guideline paragraphs, wrapped lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imr_graph.letters.citations import parse_guideline_paragraph, parse_pages, split_topics
from imr_graph.letters.clean import join_lines, to_lines
from kg.model import Citation

NAMES = json.loads(
    (Path(__file__).parents[1] / "data" / "citation_names.json").read_text(encoding="utf-8")
)
MTUS = {
    tuple(k.rsplit("|", 1)): v for k, v in NAMES["mtus_2016_style"].items()
}  # (document, year) -> topics seen with it
MTUS_DOCS = sorted(MTUS)
ODG_CHAPTERS = NAMES["odg_chapters"]
ODG_TOPICS = NAMES["odg_topics"]

settings.register_profile(
    "parser", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
FAST = settings(settings.get_profile("parser"))


# ---- parse_pages ---------------------------------------------------------------------------------

page = st.integers(min_value=1, max_value=9999)
# ranges end at 9999 at most, like `page`: the parser reads pages of 1-4 digits
page_range = st.tuples(st.integers(1, 9799), st.integers(1, 200)).map(lambda t: (t[0], t[0] + t[1]))
page_spec = st.lists(st.one_of(page, page_range), min_size=1, max_size=8)


def _expand(spec: list) -> list[int]:
    out: list[int] = []
    for x in spec:
        out.extend(range(x[0], x[1] + 1) if isinstance(x, tuple) else [x])
    return list(dict.fromkeys(out))


@FAST
@given(spec=page_spec, seps=st.lists(st.sampled_from([", ", "; ", ",", ";", " and "]), min_size=8))
def test_parse_pages_round_trip(spec: list, seps: list[str]) -> None:
    parts = [f"{x[0]}-{x[1]}" if isinstance(x, tuple) else str(x) for x in spec]
    text = parts[0] + "".join(sep + p for sep, p in zip(seps, parts[1:], strict=False))
    assert parse_pages(text) == tuple(_expand(spec))


@FAST
@given(spec=page_spec, dash=st.sampled_from(["-", "–", " - "]), end=st.sampled_from(["", ".", " "]))
def test_parse_pages_dashes_and_trailing_period(spec: list, dash: str, end: str) -> None:
    parts = [f"{x[0]}{dash}{x[1]}" if isinstance(x, tuple) else str(x) for x in spec]
    assert parse_pages(", ".join(parts) + end) == tuple(_expand(spec))


@pytest.mark.parametrize(
    "text, want",
    [
        ("101, 105-107", (101, 105, 106, 107)),
        ("64; 7", (64, 7)),
        ("111-13", (111, 112, 113)),  # shorthand range
        ("113", (113,)),
        ("8-9, 8", (8, 9)),
        ("", ()),
        ("0", ()),
        ("5-1", ()),
        ("1-5000", ()),  # not a page range
    ],
)
def test_parse_pages_examples(text: str, want: tuple[int, ...]) -> None:
    assert parse_pages(text) == want


@FAST
@given(st.text(max_size=200))
def test_parse_pages_never_raises(text: str) -> None:
    pages = parse_pages(text)
    assert all(isinstance(p, int) and p > 0 for p in pages)
    assert len(pages) == len(set(pages))


# ---- 2016-style MTUS citations -----------------------------------------------------------------


@st.composite
def mtus_citations(draw: st.DrawFn) -> list[tuple[str, int, list[str]]]:
    docs = draw(st.lists(st.sampled_from(MTUS_DOCS), min_size=1, max_size=3, unique=True))
    out = []
    for doc, year in docs:
        topics = MTUS[(doc, year)]
        chosen = draw(st.lists(st.sampled_from(topics), max_size=4, unique=True)) if topics else []
        out.append((doc, int(year), chosen))
    return out


def _mtus_text(cites: list[tuple[str, int, list[str]]]) -> str:
    parts = []
    for doc, year, topics in cites:
        parts.append(f"{doc} {year}" + (f", Section(s): {', '.join(topics)}" if topics else ""))
    return "Decision based on MTUS " + ", and ".join(parts) + "."


@FAST
@given(cites=mtus_citations())
def test_mtus_2016_citation(cites: list[tuple[str, int, list[str]]]) -> None:
    text = _mtus_text(cites)
    got = parse_guideline_paragraph(text)
    assert [(c.guideline, c.document, c.year) for c in got] == [
        ("MTUS", doc, year) for doc, year, _ in cites
    ], text
    for c, (_, _, topics) in zip(got, cites, strict=True):
        assert list(c.sections) == topics, text
        assert c.pages == ()


@FAST
@given(
    cites=mtus_citations(),
    lead=st.sampled_from(
        [
            "",
            "The Expert Reviewer did not base their decision on the MTUS. ",
            "The Claims Administrator based their decision on recommendation(s) outside of the "
            "MTUS Guidelines. ",
        ]
    ),
    width=st.integers(30, 90),
)
def test_mtus_2016_citation_wrapped(
    cites: list[tuple[str, int, list[str]]], lead: str, width: int
) -> None:
    """Boilerplate before it and line breaks inside it change nothing."""
    import textwrap

    text = lead + _mtus_text(cites)
    lines = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)
    got = parse_guideline_paragraph(join_lines(lines, drop_hyphens=True))
    assert got == parse_guideline_paragraph(_mtus_text(cites))


# ---- ODG citations -------------------------------------------------------------------------------


@FAST
@given(
    chapter=st.sampled_from(ODG_CHAPTERS),
    topic=st.sampled_from(ODG_TOPICS),
    name=st.sampled_from(
        ["Official Disability Guidelines (ODG), ", "Official Disability Guidelines (ODG) "]
    ),
    suffix=st.sampled_from(["", " Chapter", " (updated 12/12/16)", " Chapter (updated 11/21/16)"]),
    sep=st.sampled_from([", ", ": ", " - "]),
)
def test_odg_citation(chapter: str, topic: str, name: str, suffix: str, sep: str) -> None:
    text = f"Decision based on Non-MTUS Citation {name}{chapter}{suffix}{sep}{topic}."
    got = parse_guideline_paragraph(text)
    assert got == (Citation("ODG", chapter, None, (topic,), ()),), text


@FAST
@given(chapter=st.sampled_from(ODG_CHAPTERS), topic=st.sampled_from(ODG_TOPICS))
def test_odg_after_mtus(chapter: str, topic: str) -> None:
    text = (
        "Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Topical "
        "analgesics. Decision based on Non-MTUS Citation Official Disability Guidelines (ODG), "
        f"{chapter}, {topic}"
    )
    got = parse_guideline_paragraph(text)
    assert got == (
        Citation("MTUS", "Chronic Pain Medical Treatment", 2016, ("Topical analgesics",), ()),
        Citation("ODG", chapter, None, (topic,), ()),
    )


# ---- anything at all -----------------------------------------------------------------------------

WORDS = [
    "Decision based on",
    "Non-MTUS Citation",
    "MTUS",
    "ODG",
    "Official Disability Guidelines",
    "(ODG)",
    "ACOEM",
    "Other Medical Treatment Guideline or Medical Evidence:",
    "Section(s):",
    "Page(s):",
    "2016",
    "2004",
    "(updated 12/12/16)",
    "Chapter",
    "and",
    ",",
    ";",
    ".",
    ":",
    "-",
    "(",
    ")",
    "101-105",
    "7",
    "http://www.example.org/x",
    *ODG_CHAPTERS[:6],
    *ODG_TOPICS[:6],
    *(d for d, _ in MTUS_DOCS),
]


def _check_citations(got: object) -> None:
    assert isinstance(got, tuple)
    for c in got:
        assert isinstance(c, Citation)
        assert c.guideline in ("MTUS", "ODG", "ACOEM", "OTHER")
        assert c.year is None or 1980 <= c.year <= 2049
        assert all(isinstance(s, str) and s.strip() == s and s for s in c.sections)
        assert all(isinstance(p, int) and p > 0 for p in c.pages)


@FAST
@given(st.text(max_size=300))
def test_guideline_paragraph_never_raises(text: str) -> None:
    _check_citations(parse_guideline_paragraph(text))


@FAST
@given(st.lists(st.sampled_from(WORDS), max_size=25))
def test_guideline_paragraph_from_citation_words_never_raises(words: list[str]) -> None:
    _check_citations(parse_guideline_paragraph(" ".join(words)))


@FAST
@given(st.text(max_size=200))
def test_split_topics_never_raises(text: str) -> None:
    for t in split_topics(text):
        assert t and t == t.strip()


@pytest.mark.parametrize("key", sorted(NAMES["mtus_2016_style"]))
def test_split_topics_round_trip_per_document(key: str) -> None:
    topics = NAMES["mtus_2016_style"][key]
    if topics:
        assert split_topics(", ".join(topics)) == topics


# ---- wrapped lines -------------------------------------------------------------------------------

token = st.one_of(
    st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    st.from_regex(r"[A-Z][a-z]{1,8}\.", fullmatch=True),
    st.from_regex(r"\d{1,2}-\d{1,2}-(?:\d{2}|\d{4})", fullmatch=True),  # dates
    st.from_regex(r"[a-z]{1,6}-[a-z]{1,6}", fullmatch=True),  # x-ray, follow-up
    st.from_regex(r"\d{1,3}(?:\.\d)?-\d{2,3}mg", fullmatch=True),  # 7.5-325mg
    st.just("-"),  # a dash between spaces: 'Low Back - MRIs'
)


@FAST
@given(tokens=st.lists(token, min_size=1, max_size=30), cuts=st.lists(st.booleans(), min_size=80))
def test_join_lines_undoes_wrapping(tokens: list[str], cuts: list[bool]) -> None:
    """Lines broken at spaces or after a word's hyphen join back into the text (no vocabulary
    says a hyphenated word is written whole, so every hyphen stays)."""
    text = " ".join(tokens)
    # break points: every space (dropped) and every hyphen inside a word (kept at the line end)
    points = [m.start() for m in re.finditer(r" |(?<=\S)-(?=\S)", text)]
    lines, start = [], 0
    for cut, p in zip(cuts, points, strict=False):
        if cut:
            end = p + (1 if text[p] == "-" else 0)
            lines.append(text[start:end])
            start = p + 1
    lines.append(text[start:])
    assert join_lines(lines) == text


@FAST
@given(st.lists(st.text(max_size=60), max_size=8))
def test_to_lines_never_raises(pages: list[str]) -> None:
    for ln in to_lines(tuple(pages)):
        assert ln.text and ln.text == ln.text.strip() and "\n" not in ln.text
        assert 1 <= ln.page <= max(1, len(pages))


def test_citation_names_in_sync_with_gold(shared: Path) -> None:
    """tests/data/citation_names.json holds the names the gold files use."""
    gold = sorted((shared / "gold").glob("*.json"))
    mtus: dict[str, set[str]] = {}
    chapters: set[str] = set()
    for g in gold:
        for item in json.loads(g.read_text(encoding="utf-8"))["items"]:
            for c in item["claims_administrator_citations"] + item["maximus_citations"]:
                if c["guideline"] == "MTUS" and c["year"]:
                    mtus.setdefault(f"{c['document']}|{c['year']}", set()).update(c["sections"])
                elif c["guideline"] == "ODG" and c["document"]:
                    chapters.add(c["document"])
    assert {k: sorted(v) for k, v in mtus.items()} == NAMES["mtus_2016_style"]
    assert sorted(chapters) == ODG_CHAPTERS


# ---- page furniture ------------------------------------------------------------------------------


def _page(body: list[str], n: int, total: int) -> str:
    return "\n".join(
        [
            "Final Determination Letter for IMR Case Number CM16-0232543",
            *body,
            "www.dir.ca.gov",
            f"Page {n} of {total}",
        ]
    )


def test_to_lines_drops_running_headers_and_footers() -> None:
    bodies = [[f"Line {k} of the letter body on page {n}." for k in range(5)] for n in (1, 2, 3)]
    lines = to_lines(tuple(_page(b, n, 3) for n, b in enumerate(bodies, start=1)))
    assert [ln.text for ln in lines] == [x for b in bodies for x in b]
    assert [ln.page for ln in lines] == [1] * 5 + [2] * 5 + [3] * 5


def test_to_lines_keeps_repeated_sentence_tails() -> None:
    """'for its decision.' ending several pages is text, not a footer."""
    pages = tuple(
        f"Item {n}: Upheld\nClaims Administrator guideline: The Claims Administrator did not "
        f"cite any medical evidence\nfor its decision.\nthe request is not medically\nnecessary."
        for n in range(3)
    )
    texts = [ln.text for ln in to_lines(pages)]
    assert texts.count("for its decision.") == 3
    assert texts.count("necessary.") == 3


@pytest.mark.parametrize(
    "pages, kept",
    [
        (("for the initial\n6\nsessions only.",), ["for the initial", "6", "sessions only."]),
        (("text one\n1\ntext two\n2\ntext three",), ["text one", "text two", "text three"]),
        (("a\nb\nc\nd\ne\n3", "f\ng\nh\ni\nj\n4"), list("abcdefghij")),
        (("pain rated\n7/10\ntoday.",), ["pain rated", "7/10", "today."]),
        (("for the past\n2\nweeks.",), ["for the past", "2", "weeks."]),
    ],
)
def test_to_lines_bare_numbers(pages: tuple[str, ...], kept: list[str]) -> None:
    assert [ln.text for ln in to_lines(pages)] == kept
