"""Crash-safe file replacement: readers see the old file or the new one, never half of either."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from embeddings.errors import IndexCorruptError

P = TypeVar("P")
T = TypeVar("T")


def atomic_write(final: Path, write: Callable[[Path], object]) -> None:
    """Have `write` fill a temp file beside `final`, fsync it, rename it over `final`."""
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(final.parent)


def fsync_dir(folder: Path) -> None:
    """Persist a rename by syncing its directory (skipped where directories can't be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_consistently(read_pointer: Callable[[], P], load: Callable[[P], T], retries: int = 1) -> T:
    """Load the files a manifest names; retry (up to `retries` times) when they vanished
    because a concurrent save swapped the manifest (and removed the old files) between the
    two reads."""
    for attempt in range(retries + 1):
        pointer = read_pointer()
        try:
            return load(pointer)
        except IndexCorruptError:
            if attempt < retries and read_pointer() != pointer:
                continue
            raise
    raise AssertionError("unreachable")
