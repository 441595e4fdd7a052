"""The page reader: every page a citation names, none it does not, exactly as written.

A wrong page list sends a reader to the wrong page of the guideline, so each rule of
`parse_pages` (ranges, en dashes, shorthand, separators, order, repeats, the limits) has a case.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imr_graph.letters.citations import parse_pages


@pytest.mark.parametrize(
    "text,pages",
    [
        ("113", (113,)),
        ("113-113", (113,)),  # a range of one page is that page, not nothing
        ("101, 105-107", (101, 105, 106, 107)),
        ("64; 7", (64, 7)),  # order as written, not sorted
        ("5 and 6", (5, 6)),
        ("111-13", (111, 112, 113)),  # shorthand end
        ("99-101", (99, 100, 101)),
        ("1\u20133", (1, 2, 3)),  # en dash
        ("113 - 114", (113, 114)),
        (" 101 ,105 ", (101, 105)),
        ("105-107, 106", (105, 106, 107)),  # no repeats
        ("12.", (12,)),
        ("2000-2001", (2000, 2001)),
        ("1-201", tuple(range(1, 202))),  # 200 pages apart: still a range
        ("1-202", ()),  # wider: not a page range
        ("0", ()),
        ("0-3", ()),
        ("7-", ()),
        ("12345", ()),
        ("abc", ()),
        ("", ()),
        ("107-105", ()),
    ],
)
def test_parse_pages(text: str, pages: tuple[int, ...]) -> None:
    assert parse_pages(text) == pages


@given(st.integers(1, 9999), st.integers(0, 200))
def test_every_range_reads_as_its_pages(a: int, span: int) -> None:
    b = a + span
    if b > 9999:
        return
    assert parse_pages(f"{a}-{b}") == tuple(range(a, b + 1))
    assert parse_pages(f"{a} \u2013 {b}, {a}") == tuple(range(a, b + 1))
