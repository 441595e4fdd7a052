"""Find the parts of a letter: header, credentials, case summary and the disputed items.

Works on cleaned `Line`s: an item is anchored on "<heading>: Upheld|Overturned" and its three
labelled paragraphs; its heading is the run of lines before the anchor back to the end of the
previous rationale, so the parser does not depend on blank lines or on the line width.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from imr_graph.letters.clean import Line

HOW_MADE = re.compile(r"HOW\s+THE\s+IMR\s+FINAL\s+DETERMINATION\s+WAS\s+MADE", re.I)
SUMMARY = re.compile(r"CLINICAL\s+CASE\s+SUMMARY", re.I)
SUMMARY_INTRO = re.compile(
    r"The\s+expert\s+reviewer\s+developed\s+the\s+following\s+clinical\s+case\s+summary\s+based\s+"
    r"on\s+a\s+review\s+of\s+the\s+case\s+file,?\s+including\s+all\s+medical\s+records\s*:",
    re.I,
)
ISSUES = re.compile(r"IMR\s+ISSUES,?\s+DECISIONS,?\s+AND\s+RATIONALES?", re.I)
ISSUES_INTRO = re.compile(
    r"The\s+Final\s+Determination\s+was\s+based\s+on\s+decisions\s+for\s+the\s+disputed\s+"
    r"items\s*/\s*services\s+set\s+forth\s+below\s*:",
    re.I,
)
DECISION = re.compile(r":\s*(Upheld|Overturned)\s*$", re.I)
DECISION_INLINE = re.compile(r":\s*(Upheld|Overturned)\b", re.I)
CA_LABEL = re.compile(r"Claims\s+Administrator\s+guideline\s*:", re.I)
MAX_LABEL = re.compile(r"MAXIMUS\s+guideline\s*:", re.I)
RAT_LABEL = re.compile(r"Decision\s+rationale\s*:", re.I)
_LABELS = (CA_LABEL, MAX_LABEL, RAT_LABEL)
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
_PROSE_END = re.compile(
    r"\b(necessary|established|supported|warranted|indicated|recommended|appropriate)[\"'”’)]*$",
    re.I,
)
_PARTIAL = re.compile(
    r"was\s+the\s+original\s+request|authorized\s+by\s+the\s+Claims\s+Administrator|"
    r"remaining\s+IMR\s+eligible|leaving\s+the\s+original\s+request|"
    r"^The\s+original\s+request|The\s+Claims\s+Administrator\s+authorized",
    re.I,
)


@dataclass(frozen=True)
class RawItem:
    """An item's pieces as line runs, before any reading of their content."""

    heading: tuple[Line, ...]
    decision: str
    claims_administrator: tuple[Line, ...] | None
    maximus: tuple[Line, ...] | None
    rationale: tuple[Line, ...] | None


@dataclass(frozen=True)
class Parts:
    head: tuple[Line, ...]  # header block (2016+ letters)
    how_made: tuple[Line, ...]
    summary: tuple[Line, ...]
    items: tuple[RawItem, ...]
    has_issues: bool
    has_summary: bool
    has_how_made: bool


def split_marker(lines: list[Line], pattern: re.Pattern[str]) -> tuple[list[Line], list[Line]]:
    """Split lines at the first match of a marker that may share a line with other text.

    The marker may also run over several lines (a long heading or intro sentence wrapped in a
    narrow column): the lines are searched as one text joined by newlines.
    """
    starts: list[int] = []
    pos = 0
    for ln in lines:
        starts.append(pos)
        pos += len(ln.text) + 1
    m = pattern.search("\n".join(ln.text for ln in lines))
    if not m:
        return lines, []
    i = bisect_right(starts, m.start()) - 1
    j = bisect_right(starts, max(m.start(), m.end() - 1)) - 1
    before = lines[i].text[: m.start() - starts[i]].strip()
    after = lines[j].text[m.end() - starts[j] :].strip()
    head = lines[:i] + ([Line(before, lines[i].page)] if before else [])
    tail = ([Line(after, lines[j].page)] if after else []) + lines[j + 1 :]
    return head, tail


def _split_label_lines(lines: list[Line]) -> list[Line]:
    """Put each label and each decision anchor at the start of its own line (reflowed text)."""
    out: list[Line] = []
    for ln in _join_split_labels(_join_split_decisions(lines)):
        text = ln.text
        cuts = sorted({m.start() for lab in _LABELS for m in lab.finditer(text) if m.start() > 0})
        # a decision anchor followed by a label on the same line: cut after the decision
        for m in DECISION_INLINE.finditer(text):
            rest = text[m.end() :].strip()
            if rest and any(lab.match(rest) for lab in _LABELS):
                cuts.append(m.end())
        prev = 0
        for c in sorted(set(cuts)):
            if text[prev:c].strip():
                out.append(Line(text[prev:c].strip(), ln.page))
            prev = c
        if text[prev:].strip():
            out.append(Line(text[prev:].strip(), ln.page))
    return out


def _join_split_labels(lines: list[Line]) -> list[Line]:
    """A label broken over two lines ('... Claims' / 'Administrator guideline: ...') moves whole
    onto the second line."""
    out = list(lines)
    for k in range(len(out) - 1):
        a, b = out[k], out[k + 1]
        joined = a.text + " " + b.text
        for lab in _LABELS:
            m = next((m for m in lab.finditer(joined) if m.start() < len(a.text) < m.end()), None)
            if m:
                out[k] = Line(a.text[: m.start()].rstrip(), a.page)
                out[k + 1] = Line(joined[m.start() :], b.page)
                break
    return [ln for ln in out if ln.text]


def _join_split_decisions(lines: list[Line]) -> list[Line]:
    """'<heading>:' and 'Upheld' on separate lines become one anchor line."""
    out: list[Line] = []
    for ln in lines:
        if (
            out
            and re.fullmatch(r"(Upheld|Overturned)\.?", ln.text, re.I)
            and out[-1].text.endswith(":")
        ):
            out[-1] = Line(out[-1].text + " " + ln.text.rstrip("."), out[-1].page)
        else:
            out.append(ln)
    return out


def find_parts(lines: list[Line]) -> Parts:
    head, rest = split_marker(lines, HOW_MADE)
    has_how = bool(rest)
    if not has_how:
        rest, head = lines, []
    how_made, rest2 = split_marker(rest, SUMMARY)
    has_summary = bool(rest2)
    if not has_summary:
        rest2 = rest
        how_made = []
    summary, issues = split_marker(rest2, ISSUES)
    has_issues = bool(issues)
    if not has_issues:
        # no issues heading: items may still follow the intro sentence
        summary, issues = split_marker(rest2, ISSUES_INTRO)
    else:
        _, after_intro = split_marker(issues, ISSUES_INTRO)
        if after_intro:
            issues = after_intro
    summary = _drop_intro(summary)
    # the ISSUES heading can sit inside the summary text when it was reflowed; nothing to do
    items = tuple(_items(_split_label_lines(issues))) if issues else ()
    return Parts(
        tuple(head),
        tuple(how_made),
        tuple(summary),
        items,
        has_issues or bool(items),
        has_summary,
        has_how,
    )


def _drop_intro(summary: list[Line]) -> list[Line]:
    _, after = split_marker(summary, SUMMARY_INTRO)
    return after if after else summary


def _is_anchor(lines: list[Line], i: int) -> bool:
    """Line i ends with ': Upheld|Overturned' and a label or the end follows."""
    if not DECISION.search(lines[i].text):
        return False
    for j in range(i + 1, min(i + 3, len(lines))):
        if any(lab.match(lines[j].text) for lab in _LABELS):
            return True
        return False
    return True


def _items(lines: list[Line]) -> list[RawItem]:
    anchors = [i for i in range(len(lines)) if _is_anchor(lines, i)]
    items: list[RawItem] = []
    starts: list[int] = []
    for n, a in enumerate(anchors):
        floor = 0 if n == 0 else _rationale_start(lines, anchors[n - 1], a)
        starts.append(_heading_start(lines, a, floor, first=(n == 0)))
    for n, a in enumerate(anchors):
        end = starts[n + 1] if n + 1 < len(anchors) else len(lines)
        heading = list(lines[starts[n] : a + 1])
        dm = DECISION.search(heading[-1].text)
        assert dm is not None
        heading[-1] = Line(heading[-1].text[: dm.start()].rstrip(), heading[-1].page)
        body = lines[a + 1 : end]
        ca, mx, rat = _labelled(body)
        items.append(
            RawItem(tuple(ln for ln in heading if ln.text), dm.group(1).lower(), ca, mx, rat)
        )
    return items


def _rationale_start(lines: list[Line], prev_anchor: int, anchor: int) -> int:
    for j in range(prev_anchor + 1, anchor):
        if RAT_LABEL.match(lines[j].text):
            return j + 1
    return prev_anchor + 1


def _heading_start(lines: list[Line], anchor: int, floor: int, first: bool) -> int:
    """Walk back from the anchor line while the previous line continues the heading."""
    if first:
        return floor
    start = anchor
    size = len(lines[anchor].text)
    # a heading holds at most 8 lines, or more short ones (a narrow column) up to 800 characters
    while start - 1 >= floor and (anchor - start < 8 or (size < 800 and anchor - start < 40)):
        prev = lines[start - 1].text
        if _SENTENCE_END.search(prev) or _PROSE_END.search(prev):
            # a partly certified heading holds whole sentences: keep walking through them
            joined = " ".join(ln.text for ln in lines[start : anchor + 1])
            if _PARTIAL.search(joined) and not re.search(
                r"was\s+the\s+original\s+request", joined, re.I
            ):
                start -= 1
                size += len(prev) + 1
                continue
            break
        start -= 1
        size += len(prev) + 1
    return start


def _labelled(body: list[Line]) -> tuple[tuple[Line, ...] | None, ...]:
    """Split an item body into its Claims Administrator, MAXIMUS and rationale paragraphs."""
    found: dict[int, tuple[int, Line]] = {}
    for idx, ln in enumerate(body):
        for k, lab in enumerate(_LABELS):
            m = lab.match(ln.text)
            if m and k not in found:
                found[k] = (idx, Line(ln.text[m.end() :].strip(), ln.page))
                break
    order = sorted(found.items(), key=lambda kv: kv[1][0])
    out: list[tuple[Line, ...] | None] = [None, None, None]
    for pos, (k, (idx, first)) in enumerate(order):
        stop = order[pos + 1][1][0] if pos + 1 < len(order) else len(body)
        run = ([first] if first.text else []) + list(body[idx + 1 : stop])
        out[k] = tuple(run)
    return tuple(out)
