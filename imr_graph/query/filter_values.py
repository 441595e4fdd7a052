"""Precedent filters checked against the store before any work, and an empty answer explained.

A filter value that matches nothing the store knows (`--region lumber`) is refused with the
closest known values; a date is refused unless it is ISO (YYYY-MM-DD) and `from <= to`. When
valid filters together leave no item, `why_empty` names the filter that emptied the result.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import fields, replace

import numpy as np

from imr_graph.errors import ValueProblem
from imr_graph.index.arrays import GraphArrays
from imr_graph.query.filters import Filters, filter_mask

OPTION = {
    "decision": "--decision",
    "guideline": "--guideline",
    "document": "--document",
    "section": "--section",
    "region": "--region",
    "category": "--category",
    "specialty": "--specialty",
    "date_from": "--from",
    "date_to": "--to",
}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_dates(date_from: str | None, date_to: str | None) -> None:
    """ISO dates that exist, in order; ValueProblem naming the option otherwise."""
    parsed = {}
    for name, value in (("--from", date_from), ("--to", date_to)):
        if value is None:
            continue
        try:
            if not _ISO.match(value):
                raise ValueError
            parsed[name] = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueProblem(
                f"{name} {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2017-01-31"
            ) from None
    if len(parsed) == 2 and parsed["--from"] > parsed["--to"]:
        raise ValueProblem(f"--from {date_from} is after --to {date_to}: swap them")


def _known(a: GraphArrays, name: str) -> list[tuple[str, str]]:
    """(id, label) of every value the store holds for a substring filter."""
    t = a.tables
    if name == "region":
        return list(t.regions.items())
    if name == "specialty":
        return list(t.specialties.items())
    if name == "category":
        return list(t.categories.items())
    if name == "document":
        return [(k, str(v.get("label") or k)) for k, v in t.documents.items()]
    if name == "section":
        return [(k, str(v.get("label") or k)) for k, v in t.sections.items()]
    return []


def _matches(value: str, known: Iterable[tuple[str, str]]) -> bool:
    needle = value.casefold()
    return any(needle in k.casefold() or needle in lab.casefold() for k, lab in known)


def _closest(value: str, known: list[tuple[str, str]], n: int = 3) -> list[str]:
    labels = sorted({lab for _, lab in known if lab})
    by_fold = {lab.casefold(): lab for lab in labels}
    near = difflib.get_close_matches(value.casefold(), list(by_fold), n=n, cutoff=0.5)
    if not near:  # a word of a longer label ("orthopaedic" -> "Orthopedic Surgery")
        words = {w: lab for lab in labels for w in re.findall(r"\w+", lab.casefold())}
        near_words = difflib.get_close_matches(value.casefold(), list(words), n=n, cutoff=0.6)
        return list(dict.fromkeys(words[w] for w in near_words))
    return [by_fold[x] for x in near]


_NOUN = {
    "region": "body region",
    "specialty": "reviewer specialty",
    "category": "treatment category",
    "document": "guideline document",
    "section": "guideline section",
}


def check_filters(a: GraphArrays, f: Filters) -> None:
    """Every substring filter names something the store holds; ValueProblem with the closest
    known values otherwise."""
    for name, noun in _NOUN.items():
        value = getattr(f, name)
        if not value:
            continue
        known = _known(a, name)
        if _matches(value, known):
            continue
        near = _closest(value, known)
        hint = f"closest known: {', '.join(near)}" if near else f"the store has {len(known)}"
        raise ValueProblem(f"{OPTION[name]} {value!r} matches no {noun} in this store ({hint})")


def why_empty(a: GraphArrays, f: Filters) -> str | None:
    """Which filter left no item, or None when the filters leave some (or none is set)."""
    set_ = [x.name for x in fields(Filters) if x.name in OPTION and getattr(f, x.name)]
    if not set_ or a.n == 0:
        return None
    total = filter_mask(a, f)
    if total is not None and bool(np.any(total)):
        return None
    blank = Filters(exclude_letters=f.exclude_letters)
    shown = [f"{OPTION[n]} {getattr(f, n)}" for n in set_]
    for name, label in zip(set_, shown, strict=True):
        alone = filter_mask(a, replace(blank, **{name: getattr(f, name)}))
        if alone is not None and not bool(np.any(alone)):
            return f"no item passes {label}"
    so_far = blank
    for i, name in enumerate(set_):
        so_far = replace(so_far, **{name: getattr(f, name)})
        mask = filter_mask(a, so_far)
        if mask is not None and not bool(np.any(mask)):
            return f"no item passes {shown[i]} together with {', '.join(shown[:i])}"
    return None
