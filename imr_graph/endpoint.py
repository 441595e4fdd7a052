"""A SPARQL 1.1 server over HTTP: queries (SPARQL Protocol) and graphs (Graph Store Protocol).

Any server that speaks both protocols works (Oxigraph, Apache Jena Fuseki, ...). Credentials
come from the environment only, never from the command line: a bearer token in
$IMR_GRAPH_ENDPOINT_TOKEN, else basic auth from $IMR_GRAPH_ENDPOINT_USER and
$IMR_GRAPH_ENDPOINT_PASSWORD. Every fault (refused, timed out, 401, 5xx) is an EndpointError
whose message is one sentence that names the server and what to do.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pyoxigraph as ox

from imr_graph import config
from kg.rdf import PREFIXES
from kg.rdf.sparql import py_value, with_values

TOKEN_ENV = config.ENDPOINT_TOKEN_ENV
USER_ENV = config.ENDPOINT_USER_ENV
PASSWORD_ENV = config.ENDPOINT_PASSWORD_ENV
# Oxigraph's name for "the default graph is the union of the named graphs"; see `union` below
UNION_PARAM = "union-default-graph"
_JSON = "application/sparql-results+json"
_NT = "application/n-triples"


class EndpointError(Exception):
    """The server could not be reached or refused a request; str() is one sentence."""


def auth_header(env: Mapping[str, str] | None = None) -> str | None:
    """The Authorization header the environment asks for, or None."""
    env = os.environ if env is None else env
    token = env.get(TOKEN_ENV)
    if token:
        return f"Bearer {token}"
    user = env.get(USER_ENV)
    if user:
        raw = f"{user}:{env.get(PASSWORD_ENV, '')}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")
    return None


def default_graph_store(endpoint: str) -> str:
    """The Graph Store Protocol URL beside a query endpoint: Oxigraph's /query -> /store,
    Fuseki's /sparql -> /data; a bare server URL gets Oxigraph's /store."""
    base, _, last = endpoint.rstrip("/").rpartition("/")
    if last == "query":
        return f"{base}/store"
    if last == "sparql":
        return f"{base}/data"
    if not urlsplit(endpoint).path.strip("/"):
        return endpoint.rstrip("/") + "/store"
    raise EndpointError(
        f"cannot tell the Graph Store Protocol URL of {endpoint}: give it with --graph-store"
    )


def query_url(endpoint: str) -> str:
    """A bare server URL means Oxigraph's /query; anything else is the query endpoint itself."""
    return endpoint.rstrip("/") + "/query" if not urlsplit(endpoint).path.strip("/") else endpoint


@dataclass
class Endpoint:
    """One server: where queries and graphs go, the credentials, and a kept-alive connection."""

    endpoint: str
    graph_store: str | None = None
    timeout: float = 30.0
    union: bool = True  # ask for the union of the named graphs as the default graph
    auth: str | None = field(default_factory=auth_header, repr=False)
    _conns: dict[str, http.client.HTTPConnection] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for url in (self.endpoint, self.graph_store or ""):
            if url and urlsplit(url).scheme not in ("http", "https"):
                raise EndpointError(
                    f"not an http(s) URL: {url!r} (write it as http://HOST:PORT/...)"
                )
        self.query_url = query_url(self.endpoint)
        self.store_url = self.graph_store or default_graph_store(self.endpoint)

    # ---- Graph Store Protocol ------------------------------------------------------------
    def put_graph(self, graph: str, data: bytes, content_type: str = _NT) -> None:
        """Replace (or create) a named graph with `data`."""
        self._request("PUT", self._graph_url(graph), data, {"Content-Type": content_type})

    def delete_graph(self, graph: str) -> None:
        """Remove a named graph; one the server does not hold is already gone."""
        self._request("DELETE", self._graph_url(graph), None, {}, missing_ok=True)

    def _graph_url(self, graph: str) -> str:
        sep = "&" if "?" in self.store_url else "?"
        return f"{self.store_url}{sep}graph={quote(graph, safe='')}"

    # ---- SPARQL Protocol -----------------------------------------------------------------
    def query(
        self, query: str, params: Mapping[str, str | int] | None = None
    ) -> tuple[list[str], list[list[Any]]]:
        """Run a query on the server: (names, rows) as kg.rdf.run_query gives them embedded."""
        text = with_prefixes(with_values(query, params or {}))
        url = self._dataset_url()
        headers = {
            "Content-Type": "application/sparql-query; charset=utf-8",
            "Accept": f"{_JSON}, {_NT};q=0.9",
        }
        body, ctype = self._request("POST", url, text.encode("utf-8"), headers)
        if ctype.startswith(_NT) or ctype.startswith("text/plain"):
            rows = [
                [py_value(t.subject), py_value(t.predicate), py_value(t.object)]
                for t in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
            ]
            return ["subject", "predicate", "object"], rows
        try:
            doc = json.loads(body)
        except ValueError:
            raise EndpointError(
                f"the server at {self.query_url} answered {ctype or 'no content type'}, not "
                "SPARQL JSON results: is it a SPARQL endpoint?"
            ) from None
        if "boolean" in doc:
            return ["ask"], [[bool(doc["boolean"])]]
        names = list(doc["head"]["vars"])
        return names, [[_json_value(b.get(n)) for n in names] for b in doc["results"]["bindings"]]

    def construct(self, query: str) -> bytes:
        """The N-Triples of a CONSTRUCT or DESCRIBE query (terms kept, unlike query())."""
        headers = {"Content-Type": "application/sparql-query; charset=utf-8", "Accept": _NT}
        body, _ = self._request("POST", self._dataset_url(), with_prefixes(query).encode(), headers)
        return body

    def _dataset_url(self) -> str:
        if not self.union:
            return self.query_url
        sep = "&" if "?" in self.query_url else "?"
        return f"{self.query_url}{sep}{urlencode({UNION_PARAM: ''})}"

    # ---- HTTP ----------------------------------------------------------------------------
    def _conn(self, url: str) -> http.client.HTTPConnection:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        conn = self._conns.get(key)
        if conn is None:
            cls = (
                http.client.HTTPSConnection
                if parts.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = self._conns[key] = cls(parts.netloc, timeout=self.timeout)
        return conn

    def _request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        missing_ok: bool = False,
    ) -> tuple[bytes, str]:
        if self.auth:
            headers = {**headers, "Authorization": self.auth}
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        for attempt in (0, 1):  # a kept-alive connection the server closed is reopened once
            conn = self._conn(url)
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if attempt:
                    raise EndpointError(f"the server at {url} closed the connection") from None
            except TimeoutError:
                conn.close()
                raise EndpointError(
                    f"the server at {parts.netloc} did not answer within {self.timeout:g} s "
                    "(--timeout sets the limit)"
                ) from None
            except (ConnectionRefusedError, socket.gaierror, OSError) as e:
                conn.close()
                why = "connection refused" if isinstance(e, ConnectionRefusedError) else str(e)
                raise EndpointError(
                    f"cannot reach the SPARQL server at {parts.netloc} ({why}): is it running?"
                ) from None
        status = resp.status
        if status in (401, 403):
            hint = "wrong" if self.auth else f"none given: set {TOKEN_ENV} or {USER_ENV}"
            raise EndpointError(
                f"the server at {parts.netloc} refused the request (HTTP {status}); "
                f"credentials {hint} (and {PASSWORD_ENV})"
            )
        if status == 404 and missing_ok:
            return data, resp.getheader("Content-Type", "")
        if status >= 300:
            first = _first_line(data)
            raise EndpointError(
                f"the server at {parts.netloc} answered HTTP {status} to {method} "
                f"{parts.path}{': ' + first if first else ''}"
            )
        return data, resp.getheader("Content-Type", "")

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def with_prefixes(query: str) -> str:
    """The query with the PREFIX lines it relies on from kg.rdf.PREFIXES (embedded queries get
    them from pyoxigraph's prefixes=; a server knows none)."""
    missing = [
        f"PREFIX {p}: <{ns}>\n"
        for p, ns in PREFIXES.items()
        if not re.search(rf"(?im)^\s*PREFIX\s+{re.escape(p)}\s*:", query)
    ]
    return "".join(missing) + query


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[0][:200] if text else ""


def _json_value(b: dict[str, Any] | None) -> Any:
    """A SPARQL JSON binding as the Python value the embedded engine gives (kg.rdf.py_value)."""
    if b is None:
        return None
    kind = b.get("type")
    if kind == "uri":
        return b["value"]
    if kind == "bnode":
        return f"_:{b['value']}"
    dt = b.get("datatype")
    lit = ox.Literal(b["value"], datatype=ox.NamedNode(dt)) if dt else ox.Literal(b["value"])
    return py_value(lit)
