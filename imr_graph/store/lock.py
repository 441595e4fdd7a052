"""The store's writer lock: one writer at a time across processes (flock on `store/.lock`).

SQL commits are serialized by SQLite, but an ingest also rewrites the index files, so every
writer (ingest, remove, reindex, index repair) takes this lock first. The holder writes its pid
and what it is doing into the lock file, so a second writer can say whom it waits for (once),
then gives up after the lock timeout with a StoreBusyError naming the holder. The kernel drops
the lock when its holder dies, so a killed writer never blocks anyone.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import time
from pathlib import Path

from imr_graph.config import LOCK_TIMEOUT_ENV
from imr_graph.errors import StoreError

LOCK_FILE = ".lock"
DEFAULT_LOCK_TIMEOUT = 30.0  # seconds a second writer waits for the first one

log = logging.getLogger("imr_graph")
_activity = "imr-graph"


class StoreBusyError(StoreError):
    """Another process holds the store's writer lock; str() names its pid."""


def set_activity(what: str) -> None:
    """What this process writes for (`ingest`, `reindex` ...), told to writers that wait."""
    global _activity
    _activity = what


def lock_timeout() -> float:
    """Seconds a writer waits for the store's writer lock ($IMR_GRAPH_LOCK_TIMEOUT, else 30)."""
    try:
        return max(0.0, float(os.environ.get(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT)))
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT


def lock_owner(store_dir: Path) -> tuple[int | None, str]:
    """(pid, activity) written in the lock file by the process that holds (or last held) it."""
    try:
        lines = (store_dir / LOCK_FILE).read_text().splitlines()
    except OSError:
        return None, "imr-graph"
    try:
        pid = int(lines[0]) if lines and lines[0].strip() else None
    except ValueError:
        pid = None
    return pid, (lines[1].strip() if len(lines) > 1 and lines[1].strip() else "imr-graph")


def lock_holder(store_dir: Path) -> int | None:
    """Pid written in the store's lock file by the process that holds (or last held) it."""
    return lock_owner(store_dir)[0]


def waiting_note(store_dir: Path) -> None:
    """Say once, before a wait, whom this process waits for."""
    pid, what = lock_owner(store_dir)
    log.warning("waiting for pid %s (%s) to finish…", pid or "unknown", what)


def acquire(store_dir: Path, timeout: float | None = None) -> int:
    """Take the lock, waiting up to `timeout` seconds (default: the lock timeout); returns the
    descriptor that holds it (closing it releases the lock). StoreBusyError past the wait."""
    wait = lock_timeout() if timeout is None else max(0.0, timeout)
    store_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(store_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                pid, what = lock_owner(store_dir)
                who = f"pid {pid}" if pid else "pid unknown"
                raise StoreBusyError(
                    f"store {store_dir} is being written by another process ({who}) running "
                    f"{what}; try again when it ends"
                )
            if not said:
                waiting_note(store_dir)
                said = True
            time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{_activity}\n".encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return fd
