"""Runs `imr-graph` commands in forked children that may be killed at a crash point.

A fresh interpreter spends about 6 s importing torch and sentence-transformers before it does
anything, and the drug library 4 s more loading its dictionary; a fork server that has
imported them once starts each child in a fraction of that, so
the crash tests can afford one real killed process per crash point. The server runs no model
code before it forks (no thread pools to inherit); each child loads the model itself.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from multiprocessing import forkserver
from pathlib import Path

import drug_named_entity_recognition  # noqa: F401 - loads its 20k-drug dictionary (~4 s)
import sentence_transformers  # noqa: F401 - imported once in the fork server, not per child
import torch  # noqa: F401

from imr_graph.cli import main
from imr_graph.store.faults import CRASH_ENV

_CTX = None


def _context() -> multiprocessing.context.ForkServerContext:
    global _CTX
    if _CTX is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        # Python 3.11's fork server ignores the sys.path it is given: it finds this module
        # (and the checkout) through PYTHONPATH, set only while it starts
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join([*_import_roots(), old or ""])
        try:
            forkserver.ensure_running()
        finally:
            if old is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = old
        _CTX = ctx
    return _CTX


def _import_roots() -> list[str]:
    """This folder and the folder the imr_graph package is imported from."""
    import imr_graph

    return [str(Path(__file__).resolve().parent), str(Path(imr_graph.__file__).parents[1])]


def _child(argv: list[str], env: dict[str, str], log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.pop(CRASH_ENV, None)
    os.environ.update(env)
    sys.argv = ["imr-graph", *argv]
    main.main(args=argv, prog_name="imr-graph")  # exits with the command's status


def run(argv: list[str], log: Path, crash_at: str | None = None, timeout: float = 300) -> int:
    """The child's exit status: 0 or 1 as the command ends, -9 when killed at `crash_at`."""
    env = {"IMR_GRAPH_LOCK_TIMEOUT": "5", "HF_HUB_OFFLINE": "1"}
    if crash_at:
        env[CRASH_ENV] = crash_at
    p = _context().Process(target=_child, args=(argv, env, str(log)))
    p.start()
    p.join(timeout)
    if p.exitcode is None:
        p.kill()
        p.join()
        raise AssertionError(f"imr-graph {' '.join(argv)} ran over {timeout} s")
    return p.exitcode
