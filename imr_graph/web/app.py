"""The Starlette application: routes, the Host check, and errors answered as one sentence."""

from __future__ import annotations

import logging
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from imr_graph.errors import LetterError, StoreError
from imr_graph.web import routes_browse, routes_precedents, routes_store
from imr_graph.web.params import BadInput
from imr_graph.web.respond import error, wants_json
from imr_graph.web.served import Served

STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
log = logging.getLogger("imr_graph.web")


class HostCheck:
    """Refuse a Host header not in `allowed` (DNS rebinding); add the security headers."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = {h.lower() for h in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = ""
        for k, v in scope["headers"]:
            if k == b"host":
                host = v.decode("latin-1").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if "*" not in self.allowed and name not in self.allowed:
            msg = (
                f"Host {host!r} is not served here: open this server by its loopback address "
                "(or start it with --allow-host NAME).\n"
            )
            await PlainTextResponse(msg, status_code=421)(scope, receive, send)
            return

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _routes() -> list[BaseRoute]:
    p, b, s = routes_precedents, routes_browse, routes_store
    out: list[BaseRoute] = [Route("/", p.home)]
    for ext in ("", ".json", ".csv"):
        out += [
            Route(f"/precedents{ext}", p.precedents),
            Route(f"/search{ext}", s.search),
        ]
    out += [
        Route("/upload", p.upload, methods=["POST"]),
        Route("/upload.json", p.upload, methods=["POST"]),
        Route("/stats", s.stats),
        Route("/stats.json", s.stats),
        Route("/letters/{ident:path}", b.letter),
        Route("/sections/{sid:path}", b.section),
        Route("/graph/{node:path}", b.graph),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    return out


async def _bad_input(request: Request, exc: Exception) -> Response:
    status = exc.status if isinstance(exc, BadInput) else 400
    return error(request, str(exc), status, wants_json(request))


async def _http(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    msg = {
        404: f"Nothing is at {request.url.path}: start from the search page at /.",
        405: f"{request.method} is not answered at {request.url.path}: use the search form.",
    }.get(status, f"The request could not be answered ({status}).")
    return error(request, msg, status, wants_json(request))


async def _store_error(request: Request, exc: Exception) -> Response:
    return error(request, f"{exc}".splitlines()[0], 503, wants_json(request))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.url)
    msg = (
        f"The server could not answer this ({type(exc).__name__}); it keeps serving: "
        "change the request, or report the address of this page."
    )
    return error(request, msg, 500, wants_json(request))


def create_app(
    store_dir: str | Path | None = None,
    allowed_hosts: Iterable[str] = LOOPBACK,
    served: Served | None = None,
) -> ASGIApp:
    """The application over one store, opened once and read-only."""
    app = Starlette(
        routes=_routes(),
        exception_handlers={
            BadInput: _bad_input,
            LetterError: _bad_input,
            HTTPException: _http,
            StoreError: _store_error,
            Exception: _unexpected,
        },
    )
    app.state.served = served or Served(store_dir)
    return HostCheck(app, allowed_hosts)
