"""Store statistics and the per-letter view that `stats` and `show` print."""

from __future__ import annotations

from typing import Any

from imr_graph.store.sqlite import Store
from kg import graph as G
from kg.model import Letter, item_to_json


def store_stats(store: Store) -> dict[str, Any]:
    """Counts, node kinds and treatment coverage (with the unmapped requests listed)."""
    g = store.graph
    out: dict[str, Any] = dict(store.counts())
    kinds = G.kind_counts(g)
    items = [n for n, d in g.nodes(data=True) if d.get("kind") == G.ITEM]
    unmapped = sorted(g.nodes[n]["request"] for n in items if not G.out_nodes(g, n, G.REQUESTS))
    out["treatment_concepts"] = kinds.get(G.TREATMENT, 0)
    out["items_unmapped"] = len(unmapped)
    out["coverage"] = 1 - len(unmapped) / len(items) if items else 1.0
    out["nodes"] = kinds
    out["edges"] = g.number_of_edges()
    out["edges_by_relation"] = _edge_counts(g)
    out["unmapped_requests"] = unmapped
    out["model"] = store.meta("model")
    out["generation"] = store.generation
    return out


def _edge_counts(g: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, _, d in g.edges(data=True):
        counts[d["rel"]] = counts.get(d["rel"], 0) + 1
    return dict(sorted(counts.items()))


def letter_view(store: Store, letter: Letter) -> dict[str, Any]:
    """A letter's items with their graph neighbours: concepts, sections, similar items."""
    g = store.graph
    items = []
    for it in letter.items:
        node = G.item_node(letter.key, it.position)
        d = item_to_json(it)
        treatments = [
            {"id": v, "label": g.nodes[v].get("label")} for v in G.out_nodes(g, node, G.REQUESTS)
        ]
        d["treatments"] = treatments
        d["regions"] = G.out_nodes(g, node, G.CONCERNS_REGION)
        d["cited_sections"] = sorted(set(G.out_nodes(g, node, G.CITES_SECTION)))
        similar = []
        for t in treatments[:1]:
            for u in G.in_nodes(g, t["id"], G.REQUESTS):
                if u != node:
                    n = g.nodes[u]
                    similar.append(
                        {
                            "letter": n["letter"],
                            "item": n["position"],
                            "request": n["request"],
                            "decision": n["decision"],
                        }
                    )
        d["similar_items"] = sorted(similar, key=lambda x: (x["letter"], x["item"]))
        items.append(d)
    return {
        "letter": letter.key,
        "file": letter.letter,
        "case_number": letter.case_number,
        "dates": {k: getattr(letter.dates, k) for k in letter.dates.__dataclass_fields__},
        "reviewer": {
            "licensure": list(letter.reviewer.licensure),
            "specialties": list(letter.reviewer.specialties),
        },
        "patient": {"age": letter.patient.age, "sex": letter.patient.sex},
        "summary": letter.summary,
        "items": items,
    }
