"""Clean page texts into lines: one line ending, no blank-line doubling, no page furniture.

Everything downstream works on `Line`s that remember their page, so an item can say where it
stands in the source.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

SOFT_HYPHENS = "\ufffe\u00ad\x02"
# "Page 3", "Page 3 of 5", "- 3 -": a page number wherever it stands
_PAGE_NUMBER = re.compile(
    r"^\s*(?:(?:-\s*)?page\s*\d{1,3}(?:\s*(?:of|/)\s*\d{1,3})?(?:\s*-)?|-\s*\d{1,3}\s*-)\s*$",
    re.I,
)
# "3", "3 of 5", "3/5": a page number only at a page edge or in the run 1, 2, 3...; elsewhere it
# can be text wrapped onto a line of its own ("for the initial" / "6" / "sessions")
_BARE_NUMBER = re.compile(r"^\s*(\d{1,3})(?:\s*(?:of|/)\s*(\d{1,3}))?\s*$")
# a line naming a part of the letter is never page furniture, however often it repeats (a running
# title such as "Independent Medical Review - Final Determination" names none, and can be)
_STRUCTURAL = re.compile(
    r"(guideline\s*:|rationale\s*:|:\s*(?:upheld|overturned)\b|case\s+summary|imr\s+issues|"
    r"how\s+the\s+imr|determination\s+was\s+(?:based|made)|did\s+not\s+(?:cite|base))",
    re.I,
)
# a case number alone on a line is a running header (the header block writes "Case Number: ...")
_BARE_CASE_NUMBER = re.compile(r"^\s*(?:IMR\s+)?CM\d{2}-\d{5,8}\s*$", re.I)
# compounds whose line-end hyphen is a real hyphen
_KEEP_HYPHEN_PREFIXES = frozenset(
    "non self well first second third follow long short low high post pre re co anti multi over "
    "under mid semi full part half ex sub inter intra extra x s t l c in out on off up".split()
)


_ALL: frozenset[str] = frozenset({"\0all"})  # marker: join every split word


@dataclass(frozen=True)
class Line:
    text: str
    page: int  # 1-based


def to_lines(pages: tuple[str, ...]) -> list[Line]:
    """Split pages into non-blank lines, folding line endings and dropping page furniture."""
    per_page: list[list[str]] = []
    for raw in pages:
        text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
        text = text.replace("\x00", "").replace("\t", " ")
        lines = [ln.rstrip() for ln in text.split("\n")]
        per_page.append([ln for ln in lines if ln.strip()])
    furniture = _repeated_edges(per_page)
    numbers = _page_number_lines(per_page)
    out: list[Line] = []
    for n, lines in enumerate(per_page, start=1):
        for i, ln in enumerate(lines):
            key = _edge_key(ln)
            if (
                _PAGE_NUMBER.match(ln)
                or (n, i) in numbers
                or _BARE_CASE_NUMBER.match(ln)
                or key in furniture
            ):
                continue
            out.append(Line(ln.strip(), n))
    return out


def _page_number_lines(per_page: list[list[str]]) -> set[tuple[int, int]]:
    """(page, line index) of bare numbers that are page numbers: those in the top or bottom two
    lines of a page of several, and those counting pages in order (1 or 2, then 2 or 3, ...)."""
    found: set[tuple[int, int]] = set()
    chain: list[tuple[int, int]] = []
    expected: int | None = None
    several = len(per_page) > 1
    for n, lines in enumerate(per_page, start=1):
        for i, ln in enumerate(lines):
            m = _BARE_NUMBER.match(ln)
            if not m:
                continue
            value, total = int(m.group(1)), m.group(2)
            if total is not None and value > int(total):
                continue
            if several and (i < 2 or i >= len(lines) - 2):
                found.add((n, i))
            if value == expected or (expected is None and value in (1, 2)):
                chain.append((n, i))
                expected = value + 1
    if len(chain) >= 2:  # one number alone is text wrapped onto its own line
        found.update(chain)
    return found


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()).lower())


def _repeated_edges(per_page: list[list[str]]) -> set[str]:
    """Lines that open or close most pages (running headers/footers), digits folded."""
    if len(per_page) < 2:
        return set()
    counts: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    prose: set[str] = set()
    for lines in per_page:
        counts.update({_edge_key(ln) for ln in lines[:3] + lines[-3:]})
        anywhere.update(_edge_key(ln) for ln in lines)
        # the tail of a wrapped sentence ('for its decision.') can repeat at page tops too
        prose.update(_edge_key(ln) for ln in lines if _continues_sentence(ln))
    need = max(2, int(0.6 * len(per_page) + 0.5))
    # a running header/footer stands at a page edge, once a page, and nowhere else
    return {
        k
        for k, c in counts.items()
        if c >= need
        and anywhere[k] == c
        and len(k) < 160
        and k not in prose
        and not _STRUCTURAL.search(k)
    }


def _continues_sentence(line: str) -> bool:
    """'for its decision.', 'necessary.': the lower-case tail of a wrapped sentence (a footer
    such as 'www.dir.ca.gov' is one word without a full stop)."""
    text = line.strip()
    return text[:1].islower() and (text[-1:] in ".,;:!?)" or " " in text)


def join_lines(
    lines: list[str], vocabulary: frozenset[str] = frozenset(), drop_hyphens: bool = False
) -> str:
    """Join wrapped lines into one paragraph, mending words hyphenated across line breaks.

    A line-end hyphen is kept (these letters are not hyphenated by a typesetter) unless the
    joined word appears elsewhere in the letter, or drop_hyphens asks for names to be joined.
    """
    vocab = _ALL if drop_hyphens else vocabulary
    text = ""
    for ln in lines:
        ln = ln.strip()
        if not ln:
            continue
        # a hyphen that closes a word ('x-', '11-22-'), not a dash standing alone ('Low Back -')
        word_hyphen = text[-1:] == "-" and len(text) > 1 and not text[-2].isspace()
        if not text:
            text = ln
        elif text[-1] in SOFT_HYPHENS or (word_hyphen and ln[:1].isalpha()):
            head = text[:-1]
            text = head + _mend(head, ln, vocab) + ln
        elif word_hyphen and ln[:1].isdigit():  # '11-22-' + '2016', 'Norco 7.5-' + '325mg'
            text = text + ln
        else:
            text = text + " " + ln
    return mend_soft_hyphens(text, vocab)


def _mend(head: str, tail: str, vocabulary: frozenset[str]) -> str:
    """The joint between two halves of a word split at a line end: '' or '-'."""
    left = re.split(r"[^A-Za-z]", head)[-1]
    right = re.split(r"[^A-Za-z]", tail)[0]
    if not left or not right:
        return "-"
    if vocabulary is _ALL and left.lower() not in _KEEP_HYPHEN_PREFIXES and len(left) > 2:
        return ""
    return "" if (left + right).lower() in vocabulary else "-"


def mend_soft_hyphens(text: str, vocabulary: frozenset[str] = frozenset()) -> str:
    """Resolve soft-hyphen marks PDFium leaves where a word was broken across lines."""
    if not any(ch in text for ch in SOFT_HYPHENS):
        return text

    def fix(m: re.Match[str]) -> str:
        return m.group(1) + _mend(m.group(1), m.group(2), vocabulary) + m.group(2)

    text = re.sub(rf"(\w*)[{SOFT_HYPHENS}]\s*(\w*)", fix, text)
    return text.translate({ord(c): "-" for c in SOFT_HYPHENS})


def word_vocabulary(lines: list[Line]) -> frozenset[str]:
    """Words and hyphenated compounds the letter writes whole, to decide line-end hyphens."""
    words: set[str] = set()
    for ln in lines:
        body = ln.text[:-1] if ln.text.endswith("-") else ln.text
        words.update(w.lower() for w in re.findall(r"[A-Za-z]+", body))
    return frozenset(words)


def fold(text: str) -> str:
    """Fold runs of whitespace into one space."""
    return " ".join(text.split())
