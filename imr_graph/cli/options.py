"""What every command shares: one-line errors, JSON output, and the option factories."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from imr_graph.cli.edge import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, describe, stop
from imr_graph.errors import ValueProblem

if TYPE_CHECKING:
    from embeddings import Encoder
    from imr_graph.query.filters import Filters
    from imr_graph.store.sqlite import Store

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print one error line to stderr and exit non-zero (2 for a bad value or option)."""
    stop(message, code)


def one_line_errors(fn: F) -> F:
    """Turn the project's errors, and any other, into one line and a non-zero exit.

    The group's edge (`cli/edge.py`) does the same; this keeps a command answered in one line
    when it is invoked on its own.
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            stop("interrupted", EXIT_INTERRUPTED)
        except ValueProblem as e:
            stop(str(e), EXIT_USAGE)
        except (click.ClickException, click.exceptions.Exit, SystemExit, BrokenPipeError):
            raise
        except Exception as e:  # the CLI promises no tracebacks
            stop(describe(e))

    return wrapper  # type: ignore[return-value]


def emit_json(obj: Any, pretty: bool = False) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2 if pretty else None))


store_option = click.option(
    "--store",
    "store_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Store folder (default: $IMR_GRAPH_STORE or the user's data dir).",
)
_FILTER_OPTIONS = (
    click.option("--decision", type=click.Choice(["upheld", "overturned"])),
    click.option(
        "--guideline", type=click.Choice(["MTUS", "ODG", "ACOEM", "OTHER"], case_sensitive=False)
    ),
    click.option("--document", help="Guideline document (substring of its name or id)."),
    click.option("--section", help="Cited guideline section (substring of its name or id)."),
    click.option("--region", help="Body region (substring, e.g. lumbar)."),
    click.option("--category", help="Treatment category (substring, e.g. imaging)."),
    click.option("--specialty", help="Reviewer specialty (substring)."),
    click.option("--from", "date_from", help="Decision date from (YYYY-MM-DD)."),
    click.option("--to", "date_to", help="Decision date to (YYYY-MM-DD)."),
)


def filter_options(fn: F) -> F:
    """The filters of `precedents` and `items`, named as the Filters fields they fill."""
    for option in reversed(_FILTER_OPTIONS):
        fn = option(fn)
    return fn


def filters_from(**values: str | None) -> Filters:
    """The filter options as Filters, the dates checked first; an empty option restricts
    nothing."""
    from imr_graph.query.filter_values import check_dates
    from imr_graph.query.filters import Filters

    check_dates(values.get("date_from"), values.get("date_to"))
    given: dict[str, Any] = {name: value or None for name, value in values.items()}
    return Filters(**given)


model_option = click.option(
    "--model",
    default=None,
    help="sentence-transformers model name or path "
    "(default: $IMR_GRAPH_MODEL, else the model the store was embedded with, else "
    "all-MiniLM-L6-v2@onnx-int8).",
)


def _encoder(model: str | None, store: Store | None = None) -> Encoder:
    """The application's encoder for `--model`, else the store's own model (see make_encoder);
    the model itself loads on first use."""
    from imr_graph.index.indexes import make_encoder

    return make_encoder(model, store)


def show_progress(as_json: bool, quiet: bool) -> bool:
    """Progress bars only for a person at a terminal: never with --json, --quiet or a pipe."""
    return not (as_json or quiet) and sys.stderr.isatty()


quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
