"""The `imr-graph` command line: one group, each command module added explicitly."""

from __future__ import annotations

import click

from imr_graph.cli import letters, publish, query, rdf, serve, store
from imr_graph.cli.edge import Cli


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="imr-graph")
def main() -> None:
    """IMR determination letters as a knowledge graph with precedent search."""


for _command in (
    letters.parse,
    store.ingest,
    store.stats,
    store.show,
    store.remove,
    store.reindex,
    store.check,
    query.search,
    query.precedents,
    query.items,
    query.eval_cmd,
    rdf.export,
    rdf.validate,
    rdf.sparql,
    serve.serve,
    publish.publish,
):
    main.add_command(_command)
