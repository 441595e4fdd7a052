"""`imr-graph parse`: read letters and print what was read."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from imr_graph.cli.options import emit_json, one_line_errors
from imr_graph.cli.render import _readable
from imr_graph.errors import LetterError
from kg.model import letter_to_json


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per letter (SCHEMA.md).")
@click.option(
    "--audit",
    is_flag=True,
    help="List only the citations whose text was not fully read (docs/citations.md); exit 0.",
)
@one_line_errors
def parse(files: tuple[Path, ...], as_json: bool, audit: bool = False) -> None:
    """Parse letter FILES (.pdf or text) and print what was read."""
    from imr_graph.letters.parse import parse_file

    if audit:
        _audit(files, as_json)
        return
    failed = 0
    for f in files:
        try:
            letter = parse_file(f)
        except LetterError as e:
            click.echo(f"imr-graph: error: {e}", err=True)
            failed += 1
            continue
        for w in letter.warnings:
            click.echo(f"imr-graph: warning: {f}: {w}", err=True)
        if as_json:
            emit_json(letter_to_json(letter), pretty=len(files) == 1)
        else:
            click.echo(_readable(letter))
    if failed:
        sys.exit(1)


def _audit(files: tuple[Path, ...], as_json: bool) -> None:
    """`parse --audit`: one line per citation the reader did not fully consume, then a count."""
    from imr_graph.letters.audit import audit_file

    n = 0
    for f in files:
        try:
            lines = list(audit_file(f))
        except LetterError as e:
            click.echo(f"imr-graph: error: {e}", err=True)
            continue
        for line in lines:
            n += 1
            if as_json:
                c = line.citation
                emit_json(
                    {
                        "file": line.file,
                        "item": line.item,
                        "paragraph": line.paragraph,
                        "problem": line.problem,
                        "citation": c.to_json() if c else None,
                        "text": line.segment,
                    }
                )
            else:
                click.echo(str(line))
    click.echo(f"imr-graph: audit: {n} citation line(s) in {len(files)} file(s)", err=True)
