"""`imr-graph publish` and the options every command that talks to a SPARQL server shares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from imr_graph.cli.options import emit_json, fail, one_line_errors, store_option
from imr_graph.endpoint import Endpoint, EndpointError
from kg.rdf import DEFAULT_BASE

F = TypeVar("F", bound=Callable[..., Any])


def endpoint_options(fn: F) -> F:
    """--endpoint, --graph-store, --timeout and --union/--no-union."""
    for option in reversed(
        (
            click.option(
                "--endpoint",
                metavar="URL",
                default=None,
                help="SPARQL query endpoint (Oxigraph: http://HOST:PORT or .../query).",
            ),
            click.option(
                "--graph-store",
                metavar="URL",
                default=None,
                help="Graph Store Protocol URL (default: .../query -> .../store, "
                ".../sparql -> .../data).",
            ),
            click.option(
                "--timeout",
                type=float,
                default=30.0,
                show_default=True,
                help="Seconds to wait for the server.",
            ),
            click.option(
                "--union/--no-union",
                default=True,
                show_default=True,
                help="Ask for the union of the named graphs as the default graph "
                "(Oxigraph's union-default-graph); --no-union for a server set up that way.",
            ),
        )
    ):
        fn = option(fn)
    return fn


def open_endpoint(
    endpoint: str, graph_store: str | None, timeout: float, union: bool = True
) -> Endpoint:
    return Endpoint(endpoint, graph_store=graph_store, timeout=timeout, union=union)


@click.command()
@endpoint_options
@store_option
@click.option(
    "--base",
    default=DEFAULT_BASE,
    show_default=True,
    help="Base IRI nodes and named graphs are minted under.",
)
@click.option("--full", is_flag=True, help="Send every letter again, whatever was sent before.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@one_line_errors
def publish(
    endpoint: str | None,
    graph_store: str | None,
    timeout: float,
    union: bool,
    store_dir: Path | None,
    base: str,
    full: bool,
    as_json: bool,
) -> None:
    """Publish the store's RDF to a SPARQL server: one named graph per letter plus the shared
    nodes and the ontology; later runs send only what changed (credentials from
    $IMR_GRAPH_ENDPOINT_TOKEN, or $IMR_GRAPH_ENDPOINT_USER and $IMR_GRAPH_ENDPOINT_PASSWORD)."""
    from imr_graph.publish import publish as run_publish
    from imr_graph.store.sqlite import Store

    if not endpoint:
        fail("give the server with --endpoint URL (e.g. http://127.0.0.1:7878)")
        return
    try:
        ep = open_endpoint(endpoint, graph_store, timeout, union)
    except EndpointError as e:
        fail(str(e))
        return
    try:
        with Store.open(store_dir, create=False) as store, ep:
            report = run_publish(store, ep, base=base, full=full)
    except EndpointError as e:
        fail(f"{e}; what was sent is recorded, the next publish catches up")
        return
    if as_json:
        emit_json(report.to_json())
        return
    r = report
    shared = [
        n
        for n, sent in (("store", r.store_graph_sent), ("ontology", r.ontology_graph_sent))
        if sent
    ]
    click.echo(
        f"published to {r.graph_store}: {r.added} added, {r.replaced} replaced, {r.removed} "
        f"removed, {r.unchanged} unchanged; graphs re-sent: {', '.join(shared) or 'none'}; "
        f"{r.triples} triples in {r.requests} requests, {r.seconds:.2f} s"
    )
