"""Guideline sections as evidence: per-section weights of item sets, and the governing vote.

A section's weight counts the items citing it (MAXIMUS) times its inverse item frequency, so
that catch-all sections ("Special Studies") count for little; the governing vote lets the best
precedents speak loudest (each as strongly as it matches the request), with the
citation history of the same treatment as a prior.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from embeddings.csr import sorted_unique, take_rows
from imr_graph.index.arrays import GraphArrays
from imr_graph.query.answer import GoverningSection

_EMPTY = np.empty(0, np.int64)


def section_weights(a: GraphArrays, items: np.ndarray, idf: bool = True) -> np.ndarray:
    """Per-section sum over items' MAXIMUS sections (inverse-frequency weighted or split)."""
    counts, split = section_sums(a, np.asarray(items, np.int64))
    return counts * a.idf if idf else split


def section_sums(
    a: GraphArrays, items: np.ndarray, mult: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(items citing each section, their votes split among their sections), each item
    counted `mult` times (default once)."""
    ns = len(a.sections)
    if not len(items):
        return np.zeros(ns), np.zeros(ns)
    ptr, flat = take_rows(a.sec_ptr, a.sec_idx, items)
    lens = np.diff(ptr)
    m = np.ones(len(items)) if mult is None else np.asarray(mult, np.float64)
    counts = np.bincount(flat, weights=np.repeat(m, lens), minlength=ns)
    split = np.bincount(flat, weights=np.repeat(m / np.maximum(lens, 1), lens), minlength=ns)
    return counts, split


def concept_section_weights(
    a: GraphArrays,
    concepts: Sequence[str],
    idf: bool = True,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """section_weights over the union of the concepts' items less `exclude`, from the
    per-concept sums saved with the arrays: a common concept has 1e5 items at 1e6, so only
    the items two concepts share, or excluded ones, are gathered to correct the sum."""
    ns = len(a.sections)
    pos = list(dict.fromkeys(a.concept_pos[c] for c in concepts if c in a.concept_pos))
    counts, split = np.zeros(ns), np.zeros(ns)
    ptr = a.a["concept_secs_ptr"]
    for p in pos:
        at = slice(int(ptr[p]), int(ptr[p + 1]))
        idx = a.a["concept_secs_idx"][at]
        counts[idx] += a.a["concept_secs_n"][at]
        split[idx] += a.a["concept_secs_split"][at]
    if len(pos) > 1 or exclude is not None:
        lists = [a.items_of(a.concepts[p]) for p in pos]
        seen = np.zeros(a.n, np.int32)  # how many of the concepts hold each item
        for items in lists:
            seen[items] += 1  # a concept's items are unique
        every = np.concatenate(lists) if lists else _EMPTY
        odd = seen[every] > 1
        if exclude is not None:
            odd |= exclude[every]
        fix = sorted_unique(every[odd])
        keep = 1 if exclude is None else ~exclude[fix]
        c2, s2 = section_sums(a, fix, seen[fix] - keep)
        counts -= c2
        split -= s2
        split[split < 1e-9] = 0.0  # what the subtraction leaves of sections it emptied
    return counts * a.idf if idf else split


def support(a: GraphArrays, section_mass: np.ndarray) -> np.ndarray:
    """Mass of every item: the sum of the masses of the sections it cites."""
    out = np.zeros(a.n)
    for s in np.flatnonzero(section_mass):
        out[a.section_items(int(s))] += section_mass[s]
    return out


def governing_sections(
    a: GraphArrays,
    ranked: list[tuple[int, float]],
    past: np.ndarray,
    prior: float = 1.0,
    votes: Sequence[float] | None = None,
    top: int = 5,
) -> tuple[GoverningSection, ...]:
    """Sections the best precedents cite (MAXIMUS), plus the citation history of the treatment.

    Votes: each precedent 1/rank times its weight in `votes` (the answer passes each one's
    match strength, so another treatment speaks for its guideline with less weight than the
    same treatment), split among its sections; prior: `prior` x the share of the `past` items
    (every stored item of the same treatment) citing the section, so a treatment's usual
    section wins unless the closest precedents say otherwise.
    """
    score: dict[str, float] = {}
    count: Counter[str] = Counter()
    if prior and len(past):
        _, split = section_sums(a, np.asarray(past, np.int64))
        for sp in np.flatnonzero(split):
            sec = a.sections[sp]
            score[sec] = score.get(sec, 0.0) + prior * float(split[sp]) / len(past)
    for r, (item, _) in enumerate(ranked, start=1):
        secs = [a.sections[s] for s in a.item_sections(item)]
        weight = 1.0 if votes is None else votes[r - 1]
        for sec in secs:
            # the closest precedents speak loudest; an item's vote is split among its sections
            score[sec] = score.get(sec, 0.0) + weight / r / len(secs)
            count[sec] += 1
    return tuple(
        GoverningSection(
            section=a.label(sec),
            id=sec,
            document=a.tables.sections[sec].get("document"),
            precedents_citing=count[sec],
            weight=round(s, 5),
        )
        for sec, s in sorted(score.items(), key=lambda kv: -kv[1])[:top]
    )
