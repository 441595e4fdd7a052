"""Every past item that matches a treatment and filters: the list behind `imr-graph items`.

The treatment counts as the precedent summary counts it (query/treatment.same_treatment_items:
the concept and every narrower one, Fanatrex for gabapentin, in the route and region asked for),
so the list and the "same treatment in the store" count agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from imr_graph.index.arrays import GraphArrays
from imr_graph.index.indexes import Indexes
from imr_graph.query.filter_values import check_filters
from imr_graph.query.filters import Filters, filter_mask
from imr_graph.query.treatment import Asked, asked, read_request, same_treatment_items
from imr_graph.store.sqlite import Store


@dataclass(frozen=True)
class ListedItem:
    """One past item with what an attorney reads first."""

    case: str
    letter: str
    item: int
    decision_date: str | None
    decision: str
    request: str
    sections: tuple[str, ...]
    rationale: str

    def to_json(self) -> dict[str, Any]:
        return {
            "case_number": self.case,
            "letter": self.letter,
            "item": self.item,
            "decision_date": self.decision_date,
            "decision": self.decision,
            "request": self.request,
            "sections": list(self.sections),
            "rationale": self.rationale,
        }


def _asked(a: GraphArrays, text_or_id: str) -> Asked:
    """A concept id as the whole treatment (no form, no region), else the request text read
    as a precedent query reads it (concepts, route, regions)."""
    if ":" in text_or_id and " " not in text_or_id.strip():
        cid = text_or_id.strip()
        return asked(a, cid, (cid,), ())
    return read_request(a, text_or_id)


def list_items(store: Store, treatment: str | None, filters: Filters) -> list[ListedItem]:
    """Items of the treatment's primary concept and its narrower ones, passing the filters,
    in (letter, position) order; none when the treatment is not recognized. A filter value the
    store does not hold is a ValueProblem naming the closest known ones, as for precedents."""
    a = Indexes.open(store).arrays
    check_filters(a, filters)
    keep = np.ones(a.n, bool)
    mask = filter_mask(a, filters)
    if mask is not None:
        keep &= mask
    if treatment is not None:
        chosen = np.zeros(a.n, bool)
        chosen[same_treatment_items(a, _asked(a, treatment))] = True
        keep &= chosen
    positions = np.flatnonzero(keep)
    ids = [int(a.item_ids[i]) for i in positions]
    with store.snapshot():
        rows = store.items_by_id(ids)
        cases = {
            k: (lt.case_number or k)
            for k in {a.letter_of(int(i)) for i in positions}
            if (lt := store.letter(k)) is not None
        }
    out = []
    for i, iid in zip(positions.tolist(), ids, strict=True):
        key, pos, request, decision, rationale = rows.get(iid, ("", 0, "", "", ""))
        letter = a.letter_of(i)
        sections = tuple(a.label(a.sections[s]) for s in a.item_sections(i))
        out.append(
            ListedItem(
                cases.get(letter, letter),
                letter,
                pos,
                a.date(i),
                decision,
                request,
                sections,
                rationale,
            )
        )
    return out
