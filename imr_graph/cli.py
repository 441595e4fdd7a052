"""The `imr-graph` command line: every command has --json, every error is one clear line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from kg.model import Letter, letter_to_json

from .errors import LetterError, StoreError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> None:
    """Print one error line to stderr and exit non-zero."""
    click.echo(f"imr-graph: error: {message}", err=True)
    sys.exit(code)


def one_line_errors(fn: F) -> F:
    """Turn the project's errors, and any other, into one line and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (LetterError, StoreError) as e:
            fail(str(e))
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except Exception as e:  # noqa: BLE001 - the CLI promises no tracebacks
            fail(f"{type(e).__name__}: {e}".splitlines()[0])

    return wrapper  # type: ignore[return-value]


def emit_json(obj: Any, pretty: bool = False) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2 if pretty else None))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="imr-graph")
def main() -> None:
    """IMR determination letters as a knowledge graph with precedent search."""


def _readable(letter: Letter) -> str:
    d = letter.dates
    lines = [
        f"{letter.letter}  case {letter.case_number or '-'}  priority {letter.priority or '-'}",
        f"  decided {d.decision_date or '-'}  injury {d.date_of_injury or '-'}  "
        f"patient {letter.patient.age or '?'} {letter.patient.sex or '?'}",
        f"  reviewer: {', '.join(letter.reviewer.specialties) or '-'} "
        f"({', '.join(letter.reviewer.licensure) or '-'})",
    ]
    for it in letter.items:
        lines.append(f"  [{it.position}] {it.decision.upper():10s} {it.request}")
        for who, cites in (
            ("MAXIMUS", it.maximus_citations),
            ("CA", it.claims_administrator_citations),
        ):
            for c in cites:
                where = "; ".join(c.sections) or ""
                pages = f" p.{','.join(map(str, c.pages))}" if c.pages else ""
                year = f" {c.year}" if c.year else ""
                lines.append(
                    f"        {who}: {c.guideline} {c.document}{year} {where}{pages}".rstrip()
                )
    for w in letter.warnings:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per letter (SCHEMA.md).")
@one_line_errors
def parse(files: tuple[Path, ...], as_json: bool) -> None:
    """Parse letter FILES (.pdf or text) and print what was read."""
    from .parse import parse_file

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
