"""Field-by-field comparison of a parse with a gold file, as ../shared/gold/SCHEMA.md describes."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def _f(s: Any) -> Any:
    return " ".join(str(s).split()).casefold() if isinstance(s, str) else s


def _fset(xs: list[Any]) -> set[Any]:
    return {_f(x) for x in xs}


def _cite_key(c: dict[str, Any]) -> tuple[Any, ...]:
    return (_f(c["guideline"]), _f(c["document"]), c.get("year"))


def score_letter(parsed: dict[str, Any], gold: dict[str, Any]) -> dict[str, list[bool]]:
    """Field name -> list of match booleans (one per gold field instance)."""
    res: dict[str, list[bool]] = defaultdict(list)
    for k in ("letter", "case_number", "priority"):
        res[k].append(_f(parsed.get(k)) == _f(gold.get(k)))
    for k, v in gold["dates"].items():
        res[f"dates.{k}"].append(parsed["dates"].get(k) == v)
    for k in ("licensure", "specialties"):
        res[f"reviewer.{k}"].append(_fset(parsed["reviewer"][k]) == _fset(gold["reviewer"][k]))
    for k in ("age", "sex"):
        res[f"patient.{k}"].append(parsed["patient"].get(k) == gold["patient"].get(k))
    res["items.count"].append(len(parsed["items"]) == len(gold["items"]))
    for n, gi in enumerate(gold["items"]):
        pi = parsed["items"][n] if n < len(parsed["items"]) else None
        if pi is None:
            for k in ("request", "decision", "rationale_start", "rationale_end"):
                res[f"item.{k}"].append(False)
            for k in ("ca.set", "mx.set"):
                res[f"item.{k}"].append(False)
            continue
        res["item.request"].append(_f(pi["request"]) == _f(gi["request"]))
        res["item.decision"].append(pi["decision"] == gi["decision"])
        for k in ("original_request", "authorized_portion"):
            if k in gi or k in pi:
                res[f"item.{k}"].append(_f(pi.get(k)) == _f(gi.get(k)))
        rat = " ".join(pi.get("rationale", "").split())
        res["item.rationale_start"].append(rat.startswith(" ".join(gi["rationale_start"].split())))
        res["item.rationale_end"].append(rat.endswith(" ".join(gi["rationale_end"].split())))
        for side, key in (("ca", "claims_administrator_citations"), ("mx", "maximus_citations")):
            g = {_cite_key(c): c for c in gi[key]}
            p = {_cite_key(c): c for c in pi[key]}
            res[f"item.{side}.set"].append(set(g) == set(p))
            for ck, gc in g.items():
                pc = p.get(ck)
                res[f"item.{side}.sections"].append(
                    pc is not None and _fset(pc["sections"]) == _fset(gc["sections"])
                )
                res[f"item.{side}.pages"].append(
                    pc is not None and set(pc["pages"]) == set(gc["pages"])
                )
    return res
