"""What every command shares: one-line errors, JSON output, and the option factories."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from imr_graph.errors import LetterError, StoreError

if TYPE_CHECKING:
    from embeddings import Encoder

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
        except Exception as e:  # the CLI promises no tracebacks
            fail(f"{type(e).__name__}: {e}".splitlines()[0])

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
model_option = click.option(
    "--model",
    default=None,
    help="sentence-transformers model name or path "
    "(default: $IMR_GRAPH_MODEL or all-MiniLM-L6-v2).",
)


def _encoder(model: str | None) -> Encoder:
    """The application's encoder for `--model` (the model itself loads on first use)."""
    from imr_graph.index.indexes import make_encoder

    return make_encoder(model)
