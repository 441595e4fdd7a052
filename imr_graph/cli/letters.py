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
@one_line_errors
def parse(files: tuple[Path, ...], as_json: bool) -> None:
    """Parse letter FILES (.pdf or text) and print what was read."""
    from imr_graph.letters.parse import parse_file

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
