"""Crash-safe index folders: data files under fresh names, then one manifest swapped in last.

Readers see the old set of files or the new one, never half of either; a reader that races a
save retries with the new manifest (`load_consistently`).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from embeddings.errors import IndexCorruptError

P = TypeVar("P")
T = TypeVar("T")

MANIFEST = "manifest.json"


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


def new_generation() -> str:
    """A fresh suffix for the data files of one save, so they never overwrite a reader's."""
    return uuid.uuid4().hex[:12]


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Swap in the manifest that names this save's files: the save's one atomic step."""
    text = json.dumps(manifest, indent=2) + "\n"
    atomic_write(folder / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))


def prune(paths: Iterable[Path], keep: set[str]) -> None:
    """Remove earlier saves' data files (those not in `keep`); ones still in use elsewhere stay."""
    for old in paths:
        if old.name not in keep:
            try:
                old.unlink()
            except OSError:
                pass  # gone already, or still mapped elsewhere (Windows): harmless


def read_manifest(folder: Path, what: str, version: int, hint: str) -> dict[str, Any]:
    """The manifest of a saved `what` ("vector index", ...) of format `version` exactly.

    IndexCorruptError (ending in `hint`) when it is missing, unreadable, or of another format:
    an older one is not read (rebuilding is the upgrade), a newer one asks for an upgrade.
    """
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = int(data["format_version"])
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"no {what} at {folder} ({MANIFEST} is missing)", hint) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"{what} manifest {path} is unreadable", hint) from exc
    if found > version:
        raise IndexCorruptError(
            f"{what} at {folder} uses format {found}, newer than this version reads ({version})",
            f"upgrade, or {hint}",
        )
    if found != version:
        raise IndexCorruptError(
            f"{what} at {folder} uses format {found}, which this version no longer reads "
            f"(it reads {version})",
            hint,
        )
    return data
