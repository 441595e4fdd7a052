"""Clean page texts into lines: one line ending, no blank-line doubling, no page furniture.

Everything downstream works on `Line`s that remember their page, so an item can say where it
stands in the source.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

SOFT_HYPHENS = "\ufffe\u00ad\x02"
_PAGE_NUMBER = re.compile(
    r"^\s*(?:-\s*)?(?:page\s*)?\d{1,3}(?:\s*(?:of|/)\s*\d{1,3})?(?:\s*-)?\s*$", re.I
)
_STRUCTURAL = re.compile(
    r"(guideline|rationale|upheld|overturned|case summary|imr issues|determination)", re.I
)
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
    out: list[Line] = []
    for n, lines in enumerate(per_page, start=1):
        for ln in lines:
            key = _edge_key(ln)
            if _PAGE_NUMBER.match(ln) or key in furniture:
                continue
            out.append(Line(ln.strip(), n))
    return out


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()).lower())


def _repeated_edges(per_page: list[list[str]]) -> set[str]:
    """Lines that open or close most pages (running headers/footers), digits folded."""
    if len(per_page) < 2:
        return set()
    counts: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for lines in per_page:
        counts.update({_edge_key(ln) for ln in lines[:3] + lines[-3:]})
        anywhere.update(_edge_key(ln) for ln in lines)
    need = max(2, int(0.6 * len(per_page) + 0.5))
    # a running header/footer stands at a page edge, once a page, and nowhere else
    return {
        k
        for k, c in counts.items()
        if c >= need and anywhere[k] == c and len(k) < 160 and not _STRUCTURAL.search(k)
    }


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
        if not text:
            text = ln
        elif text[-1] in SOFT_HYPHENS or (text[-1] == "-" and ln[:1].isalpha()):
            head = text[:-1]
            text = head + _mend(head, ln, vocab) + ln
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
