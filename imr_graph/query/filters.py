"""Filters a precedent query applies before ranking, as one boolean mask over the items."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imr_graph.index.arrays import GraphArrays
from kg.specialties import specialty_names_for


@dataclass(frozen=True)
class Filters:
    """Restrictions that apply before ranking; None means no restriction."""

    decision: str | None = None
    guideline: str | None = None  # MTUS | ODG | ACOEM | OTHER
    document: str | None = None  # substring of the document label or its id
    section: str | None = None  # substring of a cited section label or its id
    region: str | None = None
    category: str | None = None
    specialty: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    exclude_letters: frozenset[str] = frozenset()

    def active(self) -> bool:
        return any(v for k, v in self.__dict__.items() if k != "exclude_letters") or bool(
            self.exclude_letters
        )


def filter_mask(a: GraphArrays, f: Filters) -> np.ndarray | None:
    """Items that pass the filters (None when no filter is set), one numpy pass per filter."""
    if not f.active():
        return None
    t = a.tables
    ok = np.ones(a.n, bool)
    gone = a.exclude_mask(f.exclude_letters)
    if gone is not None:
        ok &= ~gone
    if f.decision:
        want = f.decision.lower()
        codes = [i for i, d in enumerate(a.decisions) if d == want]
        ok &= np.isin(np.asarray(a.a["item_decision"]), codes)
    if f.date_from or f.date_to:
        dates = np.asarray(a.a["letter_dates"])[np.asarray(a.item_letter)]
        ok &= dates != ""
        if f.date_from:
            ok &= dates >= f.date_from
        if f.date_to:
            ok &= dates <= f.date_to
    if f.guideline or f.document:
        docs = np.ones(len(a.documents), bool)
        for j, (did, d) in enumerate(t.documents.items()):
            if f.guideline and d["source"].upper() != f.guideline.upper():
                docs[j] = False
            if f.document and not _match(did, d["label"], f.document):
                docs[j] = False
        ok &= a.rows_matching("mdoc", docs)
    if f.section:
        secs = np.array([_match(s, d["label"], f.section) for s, d in t.sections.items()], bool)
        ok &= a.rows_matching("asec", secs)
    if f.region:
        regs = np.array([_match(r, lab, f.region) for r, lab in t.regions.items()], bool)
        ok &= a.rows_matching("reg", regs)
    if f.category:
        cons = np.array(
            [
                any(_match(c, t.categories.get(c, c), f.category) for c in cats)
                for cats in a.concept_categories()
            ],
            bool,
        )
        ok &= a.rows_matching("req", cons)
    if f.specialty:
        # "Pain Management" finds the ABMS "Pain Medicine" the store counts it under
        names = specialty_names_for(f.specialty)
        specs = np.array(
            [any(_match(s, lab, n) for n in names) for s, lab in t.specialties.items()], bool
        )
        ok &= a.letters_matching_specialty(specs)
    return ok


def _match(node_id: str, label: str | None, needle: str) -> bool:
    n = needle.casefold()
    return n in node_id.casefold() or n in str(label or "").casefold()
