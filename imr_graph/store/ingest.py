"""Ingest: files and folders in, letters into the store, indexes kept in step.

Bad files are reported with their reason at the end and never stop the good ones; each batch of
letters is one SQL transaction, so a crash leaves whole letters or none. The whole ingest holds
the store's writer lock (a second writer waits, then is refused in one line), and each batch is
embedded into the cache before its commit, so the saved indexes trail the SQL commit only by the
time it takes to write them (a crash in between is repaired when the indexes are next opened).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from imr_graph.errors import LetterError
from imr_graph.letters.parse import parse_file
from imr_graph.store.faults import crash_point
from imr_graph.store.sqlite import IngestReport, Store
from kg.model import Letter

LETTER_SUFFIXES = (".pdf", ".txt", ".text")
BATCH = 64
CHECKPOINT_S = 60.0  # index files are rewritten at most this often during an ingest


class IndexSink(Protocol):
    """What ingest needs of the search indexes (imr_graph.index.indexes.Indexes is one)."""

    def prepare(self, letters: Iterable[Letter], show_progress: bool = False) -> None: ...

    def apply(
        self, removed: list[int], added: list[int], show_progress: bool = False, save: bool = True
    ) -> None: ...

    def save(self) -> None: ...


def letter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and letter files found recursively in folders named, in a stable order."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            yield from sorted(
                f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in LETTER_SUFFIXES
            )
        else:
            yield path


def skipped_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files inside the folders named that are not letters by their suffix (never read)."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(
                sorted(
                    f
                    for f in path.rglob("*")
                    if f.is_file()
                    and f.suffix.lower() not in LETTER_SUFFIXES
                    and not f.name.startswith(".")
                )
            )
    return out


def ingest(
    store: Store,
    paths: Iterable[str | Path],
    indexes: IndexSink | None = None,
    progress: bool = False,
    on_letter: Callable[[Letter], None] | None = None,
) -> IngestReport:
    """Parse, store and index every letter under `paths` (holding the store's writer lock)."""
    with store.writing():
        return _ingest(store, paths, indexes, progress, on_letter)


def _ingest(
    store: Store,
    paths: Iterable[str | Path],
    indexes: IndexSink | None,
    progress: bool,
    on_letter: Callable[[Letter], None] | None,
) -> IngestReport:
    files = list(letter_files(paths))
    failed: list[tuple[str, str]] = []
    added: list[str] = []
    replaced: list[str] = []
    unchanged: list[str] = []
    n_added = n_removed = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(files), desc="parsing", unit="letter")
    batch: list[Letter] = []
    seen: dict[str, str] = {}
    unsaved = False
    last_save = time.monotonic()

    def flush() -> None:
        nonlocal n_added, n_removed, unsaved, last_save
        if not batch:
            return
        if indexes is not None:
            indexes.prepare(store.changed(batch), show_progress=progress)
        crash_point("ingest.embedded")
        a, r, u, removed_ids, added_ids = store.put_letters(batch)
        added.extend(a)
        replaced.extend(r)
        unchanged.extend(u)
        n_added += len(added_ids)
        n_removed += len(removed_ids)
        if indexes is not None and (removed_ids or added_ids):
            # the batch was embedded (with its progress bar) by prepare(): these are cache hits
            # saving rewrites every index file (about 2 GB at 1e6 items), so it happens at
            # checkpoints; a crash in between is repaired from the embedding cache on open
            due = time.monotonic() - last_save >= CHECKPOINT_S
            indexes.apply(removed_ids, added_ids, show_progress=False, save=due)
            crash_point("ingest.applied")
            unsaved = not due
            if due:
                last_save = time.monotonic()
        batch.clear()

    for f in files:
        try:
            letter = parse_file(f)
        except LetterError as e:
            failed.append((str(f), e.problem))
        except Exception as e:  # a parser bug must not lose the other letters
            failed.append((str(f), f"internal error while parsing: {type(e).__name__}: {e}"))
        else:
            if letter.key in seen and seen[letter.key] != letter.sha256:
                failed.append(
                    (
                        str(f),
                        f"same case number {letter.key} as another file in this "
                        "ingest with different content; kept the first",
                    )
                )
            elif letter.key not in seen:
                seen[letter.key] = letter.sha256
                batch.append(letter)
                if on_letter:
                    on_letter(letter)
            if len(batch) >= BATCH:
                flush()
        if bar is not None:
            bar.update(1)
    flush()
    if unsaved and indexes is not None:
        indexes.save()
    if bar is not None:
        bar.close()
    return IngestReport(
        tuple(added), tuple(replaced), tuple(unchanged), tuple(failed), n_added, n_removed
    )
