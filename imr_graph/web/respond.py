"""Responses in the three shapes a page has: HTML, its `.json` twin and, for lists, `.csv`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from imr_graph.web.params import BadInput
from imr_graph.web.served import Served
from imr_graph.web.words import decision_words, item_number

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("", ".json", ".csv")

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["decision_words"] = decision_words
_env.filters["item_number"] = item_number


def served(request: Request) -> Served:
    s: Served = request.app.state.served
    return s


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A whole page, with the provenance footer and the permalink of this very address."""
    s = served(request)
    html = _env.get_template(template).render(
        provenance=s.provenance,
        permalink=str(request.url),
        now=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=s.provenance.headers())


def as_json(request: Request, obj: Any, status: int = 200) -> Response:
    """JSON as the CLI prints it (indent 2, UTF-8 kept, one newline), provenance in headers."""
    body = json.dumps(obj, ensure_ascii=False, indent=2) + "\n"
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers=served(request).provenance.headers(),
    )


def as_csv(request: Request, name: str, header: list[str], rows: list[list[Any]]) -> Response:
    """CSV with a first comment line that says what it was computed on and where it came from."""
    s = served(request)
    buf = io.StringIO()
    buf.write(f"# imr-graph: {s.provenance.line()}; {request.url}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            **s.provenance.headers(),
            "Content-Disposition": f'attachment; filename="{name}.csv"',
        },
    )


def split_format(raw: str, allowed: tuple[str, ...] = FORMATS) -> tuple[str, str]:
    """`CM16-1.json` -> ('CM16-1', '.json'); a format the page has not -> 404."""
    for ext in (".json", ".csv"):
        if raw.endswith(ext):
            if ext not in allowed:
                raise BadInput(f"This page has no {ext} form: drop the {ext} suffix.", 404)
            return raw[: -len(ext)], ext
    return raw, ""


def error(request: Request, message: str, status: int, want_json: bool) -> Response:
    """Bad input as one sentence: a JSON error object on `.json`/`.csv`, else a page."""
    if want_json:
        return as_json(request, {"error": message, "status": status}, status)
    return page(request, "error.html", status=status, message=message, title="Not answered")


def wants_json(request: Request) -> bool:
    p = request.url.path
    return p.endswith(".json") or p.endswith(".csv")


def path_format(request: Request) -> str:
    """'.json' or '.csv' when the address asks for that twin, else ''."""
    p = request.url.path
    return next((ext for ext in (".json", ".csv") if p.endswith(ext)), "")
