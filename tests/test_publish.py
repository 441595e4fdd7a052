"""Publishing to a real Oxigraph server (`oxigraph serve` on a free loopback port).

Publish the sample store, change it (a replaced letter, a removed one), publish again, and
compare the server with the embedded store: the export's triples, the counts, the shipped
queries. Faults (server down, 401, 5xx, timeout) are one line and are caught up afterwards.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from corpus_paths import SAMPLE_DIR

from imr_graph.cli import main
from imr_graph.endpoint import TOKEN_ENV, USER_ENV, Endpoint, EndpointError, auth_header
from imr_graph.letters.parse import parse_file
from imr_graph.publish import (
    letter_graph,
    ontology_graph,
    provenance_graph,
    publish,
    store_graph,
)
from imr_graph.rdf import shipped_queries, sparql, store_triples
from imr_graph.store.sqlite import Store
from kg.rdf import DEFAULT_BASE, export_bytes

OXIGRAPH = shutil.which("oxigraph")
pytestmark = pytest.mark.skipif(OXIGRAPH is None, reason="`pip install oxigraph` ships the server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One `oxigraph serve` process on a loopback port, with its data folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(OXIGRAPH),
                "serve",
                "--location",
                str(self.folder),
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"oxigraph did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "oxigraph")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store.open(tmp_path / "store")
    st.put_letters([parse_file(p) for p in sorted(SAMPLE_DIR.glob("*.txt"))])
    yield st
    st.close()


def _server_triples(ep: Endpoint, exclude: str) -> set[str]:
    """Every triple of the server's named graphs but `exclude`, as N-Triples lines."""
    q = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{exclude}>) }}"
    st = ox.Store()
    st.load(ep.construct(q), format=ox.RdfFormat.N_TRIPLES)
    return {f"{t.subject} {t.predicate} {t.object} ." for t in st}


def _export_lines(store: Store) -> set[str]:
    st = ox.Store()
    st.load(export_bytes(store_triples(store), "nt"), format=ox.RdfFormat.N_TRIPLES)
    return {f"{t.subject} {t.predicate} {t.object} ." for t in st}


def _same_answers(store: Store, ep: Endpoint) -> None:
    for name, path in shipped_queries().items():
        assert ep.query(path.read_text()) == sparql(store, name), name
    assert ep.query(
        (SAMPLE_DIR.parent / "queries" / "letters_citing_mtus_page.rq").read_text(), {"page": 111}
    ) == sparql(store, "letters_citing_mtus_page", {"page": 111})


def _graphs(ep: Endpoint) -> set[str]:
    _, rows = ep.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    return {r[0] for r in rows}


def test_publish_then_publish_only_what_changed(store: Store, server: Server) -> None:
    with Endpoint(server.url) as ep:
        first = publish(store, ep)
        keys = sorted(store.letters())
        assert (first.added, first.replaced, first.removed) == (len(keys), 0, 0)
        assert first.store_graph_sent and first.ontology_graph_sent
        assert _graphs(ep) == {
            *(letter_graph(DEFAULT_BASE, k) for k in keys),
            store_graph(DEFAULT_BASE),
            provenance_graph(DEFAULT_BASE),
            ontology_graph(DEFAULT_BASE),
        }
        # the letter and store graphs together are exactly the export
        assert _server_triples(ep, ontology_graph(DEFAULT_BASE)) == _export_lines(store)
        _same_answers(store, ep)

        again = publish(store, ep)
        assert (again.added, again.replaced, again.removed, again.requests) == (0, 0, 0, 0)

        # a changed letter replaces its graph, a removed letter's graph goes
        changed, gone = store.letter(keys[0]), keys[1]
        assert changed is not None
        item = replace(changed.items[0], decision="overturned", request="MRI of the lumbar spine")
        store.put_letters([replace(changed, sha256="f" * 64, items=(item, *changed.items[1:]))])
        store.remove(gone)
        step = publish(store, ep)
        assert (step.added, step.replaced, step.removed) == (0, 1, 1)
        # the letter, the deletion, the provenance; the shared nodes changed (a new concept)
        assert step.store_graph_sent
        assert step.requests == 3 + step.store_graph_sent + step.ontology_graph_sent
        # a decision changed, nothing shared: the letter and the few provenance triples
        other = store.letter(keys[2])
        assert other is not None
        flipped = replace(other.items[0], decision="overturned")
        store.put_letters([replace(other, sha256="e" * 64, items=(flipped, *other.items[1:]))])
        small = publish(store, ep)
        assert (small.replaced, small.requests, small.store_graph_sent) == (1, 2, False)
        assert letter_graph(DEFAULT_BASE, gone) not in _graphs(ep)
        _same_answers(store, ep)

        # what differs from a fresh export is only which ingest each letter was sent under
        def unprov(lines: set[str]) -> set[str]:
            return {t for t in lines if "/ns/prov#" not in t and "/id/ingest/" not in t}

        server_lines = _server_triples(ep, ontology_graph(DEFAULT_BASE))
        assert unprov(server_lines) == unprov(_export_lines(store))
        assert len(server_lines - _export_lines(store)) < 20  # the older ingest, described


def test_a_publish_cut_short_is_caught_up(store: Store, server: Server) -> None:
    runner = CliRunner()
    server.stop()
    r = runner.invoke(main, ["publish", "--endpoint", server.url, "--store", str(store.path)])
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1 and "connection refused" in r.stderr
    server.start()
    r = runner.invoke(main, ["publish", "--endpoint", server.url, "--store", str(store.path)])
    assert r.exit_code == 0, r.stderr
    assert f"{len(store.letters())} added" in r.stdout
    with Endpoint(server.url) as ep:
        _same_answers(store, ep)
    r = runner.invoke(main, ["sparql", "counts", "--endpoint", server.url, "--json"])
    local = runner.invoke(main, ["sparql", "counts", "--store", str(store.path), "--json"])
    assert r.exit_code == 0 and r.stdout == local.stdout


class _Fault(http.server.BaseHTTPRequestHandler):
    """A server that answers every request with one status (or not at all, in time)."""

    status = 503
    delay = 0.0
    seen: list[str | None] = []

    def _answer(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        time.sleep(self.delay)
        try:
            self.send_response(self.status)
            self.send_header("Content-Length", "14")
            self.end_headers()
            self.wfile.write(b"injected fault")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting: the timeout case

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("status", "delay", "expect"),
    [(401, 0.0, "HTTP 401"), (503, 0.0, "HTTP 503"), (200, 1.0, "did not answer within 0.3 s")],
)
def test_faults_are_one_line_and_a_non_zero_exit(
    store: Store, monkeypatch: pytest.MonkeyPatch, status: int, delay: float, expect: str
) -> None:
    handler = type("H", (_Fault,), {"status": status, "delay": delay, "seen": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    monkeypatch.setenv(TOKEN_ENV, "s3cret")
    try:
        for args in (
            ["publish", "--endpoint", url, "--store", str(store.path), "--timeout", "0.3"],
            ["sparql", "counts", "--endpoint", url, "--timeout", "0.3"],
        ):
            r = CliRunner().invoke(main, args)
            assert r.exit_code == 1
            assert r.stderr.count("\n") == 1 and expect in r.stderr, r.stderr
        assert handler.seen and set(handler.seen) == {"Bearer s3cret"}
    finally:
        httpd.shutdown()


def test_credentials_come_from_the_environment_only() -> None:
    assert auth_header({}) is None
    assert auth_header({TOKEN_ENV: "t"}) == "Bearer t"
    assert auth_header({USER_ENV: "u", "IMR_GRAPH_ENDPOINT_PASSWORD": "p"}) == "Basic dTpw"
    with pytest.raises(EndpointError, match="--graph-store"):
        Endpoint("http://example.org/some/path")


def test_a_full_publish_bulk_loads_and_replaces_what_the_server_held(
    store: Store, server: Server
) -> None:
    """The first publish sends the letter graphs in one bulk load (not one PUT per letter);
    with the record lost, a re-publish onto a server holding stale graphs leaves no stale
    triple (a bulk load adds: the graphs it fills are deleted first)."""
    keys = sorted(store.letters())
    with Endpoint(server.url) as ep:
        first = publish(store, ep)
        # one bulk POST, the provenance, store and ontology graphs
        assert first.requests == 4 and first.added == len(keys)
        assert _server_triples(ep, ontology_graph(DEFAULT_BASE)) == _export_lines(store)
        old = store.letter(keys[0])
        assert old is not None
        item = replace(old.items[0], decision="overturned", request="MRI of the lumbar spine")
        store.put_letters([replace(old, sha256="f" * 64, items=(item, *old.items[1:]))])
        (store.path / "publish.sqlite").unlink()
        again = publish(store, ep)
        assert again.added == len(keys)
        assert _server_triples(ep, ontology_graph(DEFAULT_BASE)) == _export_lines(store)
        _same_answers(store, ep)


def test_a_server_without_a_bulk_loader_gets_one_put_per_letter(
    store: Store, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Endpoint, data: bytes) -> None:
        raise EndpointError("the server answered HTTP 415 to POST /store", 415)

    monkeypatch.setattr(Endpoint, "load_quads", refuse)
    keys = sorted(store.letters())
    with Endpoint(server.url) as ep:
        r = publish(store, ep, batch_triples=50)  # the fallback after a first batch
        assert r.added == len(keys) and r.requests == len(keys) + 3
        assert _server_triples(ep, ontology_graph(DEFAULT_BASE)) == _export_lines(store)
        assert publish(store, ep).requests == 0
