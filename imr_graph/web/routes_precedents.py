"""`/`, `/precedents(.json|.csv)` and `/upload`: the precedent question and its answer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from imr_graph.errors import LetterError
from imr_graph.web.answer_view import (
    CSV_HEADER,
    ResultView,
    csv_rows,
    group_by_letter,
    result_views,
    summary_view,
)
from imr_graph.web.facets import check_filter_values, facets
from imr_graph.web.params import (
    REQUEST_MAX,
    SUMMARY_MAX,
    UPLOAD_MAX,
    BadInput,
    PrecedentParams,
    precedent_params,
)
from imr_graph.web.respond import as_csv, as_json, page, path_format, served
from kg.model import Item


@dataclass(frozen=True)
class Asked:
    """One item of an uploaded letter, the question made of it, and the answer."""

    item: Item
    p: PrecedentParams
    answer: dict[str, Any]


FACET_POOL = 50  # facets count over the 50 best precedents (or k, when larger)


def _filters(p: PrecedentParams) -> Any:
    from imr_graph.query.precedent import Filters

    return Filters(
        decision=p.decision or None,
        guideline=p.guideline or None,
        document=p.document or None,
        section=p.section or None,
        region=p.region or None,
        category=p.category or None,
        specialty=p.specialty or None,
        date_from=p.date_from or None,
        date_to=p.date_to or None,
        exclude_letters=frozenset({p.exclude}) if p.exclude else frozenset(),
    )


def answer(request: Request, p: PrecedentParams) -> dict[str, Any]:
    """What `imr-graph precedents --json` prints for these parameters."""
    s = served(request)
    check_filter_values(s.known, p)
    out = s.precedents(p.request, p.summary or None, p.k, _filters(p))
    if p.by_letter:
        out["by_letter"] = group_by_letter(out["results"])
    return out


def home(request: Request) -> Response:
    p = precedent_params(request.query_params, require_request=False)
    return page(request, "home.html", p=p, title="Find the precedent")


def precedents(request: Request) -> Response:
    fmt = path_format(request)
    p = precedent_params(request.query_params)
    out = answer(request, p)
    if fmt == ".json":
        return as_json(request, out)
    s = served(request)
    views = result_views(s.graph, out, p.request)
    if fmt == ".csv":
        base = str(request.base_url)
        return as_csv(request, "precedents", CSV_HEADER, csv_rows(views, base))
    pool = out["results"]
    if p.k < FACET_POOL:
        pool = s.precedents(p.request, p.summary or None, FACET_POOL, _filters(p))["results"]
    return page(
        request,
        "precedents.html",
        p=p,
        title=f"Precedents for {p.request}",
        summary=summary_view(s.graph, out["summary"]),
        results=views,
        groups=_groups(views) if p.by_letter else None,
        facets=facets(s.graph, pool, p),
        facet_pool=len(pool),
        csv_href="/precedents.csv?" + p.query_string(),
        json_href="/precedents.json?" + p.query_string(),
    )


async def upload(request: Request) -> Response:
    """An uploaded IMR letter: each of its items asked as a request, the letter left out."""
    length = int(request.headers.get("content-length") or 0)
    if length > UPLOAD_MAX + 64 * 1024:
        raise BadInput(_too_large(length), 413)
    async with request.form(max_files=1, max_fields=40) as form:
        f = form.get("letter")
        if f is None or isinstance(f, str) or not f.filename:
            raise BadInput("No letter was uploaded: choose an IMR letter file (PDF or text).")
        data = await f.read(UPLOAD_MAX + 1)
        name = f.filename
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_answer_upload, request, data, name, fields)


def _answer_upload(request: Request, data: bytes, name: str, fields: dict[str, str]) -> Response:
    from imr_graph.letters.parse import parse_bytes

    if len(data) > UPLOAD_MAX:
        raise BadInput(_too_large(len(data)), 413)
    if not data.strip():
        raise BadInput(f"{name} is empty: upload the letter file itself.", 422)
    try:
        letter = parse_bytes(data, name)
    except LetterError as e:
        raise BadInput(f"{e}: upload an IMR determination letter (PDF or text).", 422) from None
    if not letter.items:
        raise BadInput(f"{name}: no disputed item was found, so it is not an IMR letter.", 422)
    summary = letter.summary
    if len(summary) > SUMMARY_MAX:
        summary = summary[:SUMMARY_MAX].rsplit(" ", 1)[0]
    base = precedent_params(fields, require_request=False)
    s = served(request)
    asked = []
    for it in letter.items:
        p = replace(base, request=it.request[:REQUEST_MAX], summary=summary, exclude=letter.key)
        asked.append(Asked(it, p, answer(request, p)))
    if path_format(request) == ".json":
        return as_json(
            request,
            {
                "letter": letter.key,
                "items": [
                    {"item": a.item.position, "request": a.p.request, **a.answer} for a in asked
                ],
            },
        )
    views = [
        {
            "item": a.item,
            "p": a.p,
            "views": result_views(s.graph, a.answer, a.p.request),
            "summary": summary_view(s.graph, a.answer["summary"]),
            "href": "/precedents?" + a.p.query_string(),
        }
        for a in asked
    ]
    return page(
        request,
        "upload.html",
        title=f"Precedents for the items of {name}",
        letter=letter,
        name=name,
        asked=views,
        summary_cut=len(letter.summary) > SUMMARY_MAX,
    )


def _groups(views: list[ResultView]) -> list[dict[str, Any]]:
    """The page's results grouped by letter, in the order of each letter's best result."""
    out: dict[str, dict[str, Any]] = {}
    for v in views:
        out.setdefault(v.raw["letter"], {"case": v.case, "items": []})["items"].append(v)
    return list(out.values())


def _too_large(n: int) -> str:
    return (
        f"The upload is {n / 1e6:.1f} MB; the limit is {UPLOAD_MAX / 1e6:.0f} MB: "
        "upload one letter, not a bundle."
    )
