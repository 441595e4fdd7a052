"""The persistent store: SQLite as the system of record, graph and search indexes derived from it.

Letters are rows of JSON (never pickle); the graph is rebuilt from them on load. The vector and
lexical indexes carry the SQLite generation they were saved at, so a crash between the SQL
commit and the index save is detected on open and repaired from the embedding cache.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from imr_graph.config import default_store_dir
from imr_graph.errors import StoreError
from imr_graph.store.faults import crash_point
from imr_graph.store.lock import LOCK_FILE, StoreBusyError, acquire, lock_holder, lock_timeout

__all__ = ["LOCK_FILE", "SCHEMA_VERSION", "Store", "StoreBusyError", "lock_holder", "lock_timeout"]
from kg.graph import add_letter, build_graph, item_int_id, remove_letter
from kg.model import Letter, letter_from_json, letter_to_json

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS letters (
    key TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    case_number TEXT,
    sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    decision_date TEXT,
    ingested_at REAL NOT NULL,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    letter_key TEXT NOT NULL REFERENCES letters(key) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    request TEXT NOT NULL,
    decision TEXT NOT NULL,
    rationale TEXT NOT NULL,
    UNIQUE (letter_key, position)
);
CREATE INDEX IF NOT EXISTS items_letter ON items(letter_key);
"""


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did, letter by letter."""

    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (path, one-line reason)
    items_added: int = 0
    items_removed: int = 0


@dataclass
class Store:
    """An open store folder: SQL connection, letters, and the graph built from them."""

    path: Path
    db: sqlite3.Connection
    _letters: dict[str, Letter] = field(default_factory=dict)
    _graph: nx.MultiDiGraph | None = None
    _lock_fd: int | None = None
    _lock_depth: int = 0
    read_only: bool = False  # opened where nothing can be written: never repair or write
    for_reading: bool = False  # opened by a command that reads: opening creates nothing

    # ---- opening -------------------------------------------------------------------------
    @classmethod
    def open(
        cls, path: str | Path | None = None, create: bool = True, read_only: bool = False
    ) -> Store:
        """Open (or with `create`, make) the store at `path` (default: $IMR_GRAPH_STORE ...).

        `read_only`: for commands that only read. Opening writes nothing (no folder, no
        schema); where the folder or database cannot be written (a read-only mount, another
        user's archive) the connection is SQLite's read-only one and `self.read_only` is
        True, so that nothing downstream tries to repair or write.
        """
        p = Path(path) if path is not None else default_store_dir()
        db_file = p / "store.sqlite"
        if not db_file.exists():
            if p.exists() and not p.is_dir():
                raise StoreError(f"{p} is a file, not a store folder: give the folder --store")
            if not create or read_only:
                raise StoreError(f"no store at {p}: run `imr-graph ingest PATH --store {p}`")
        writable = _writable(p, db_file)
        if not read_only and not writable:
            raise StoreError(
                f"store {p} is read-only here: ingest, remove and reindex need a writable "
                "store (the commands that only read work on this one)"
            )
        try:
            if read_only and not writable:
                db = _read_only_connection(db_file)
            else:
                if not db_file.exists():
                    p.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(db_file, timeout=30, isolation_level=None)
                if not read_only:
                    # A writer reads the whole file first (SQLite's quick_check), before it
                    # writes anything anywhere: damage met halfway would leave a half-written
                    # folder, and writing into a damaged b-tree spreads the damage.
                    why = damage_of(db)
                    if why is not None:
                        db.close()
                        raise damaged(db_file, why)
                    db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")  # a commit survives power loss too
                db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as e:
            raise damaged(db_file, str(e)) from None
        store = cls(p, db)
        store.read_only = read_only and not writable
        store.for_reading = read_only
        try:
            store._check_version()
        except sqlite3.DatabaseError as e:
            db.close()
            raise damaged(db_file, str(e)) from None
        except BaseException:
            db.close()
            raise
        return store

    def _check_version(self) -> None:
        """Refuse a store of another schema version before touching its tables."""
        has_meta = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        row = None
        if has_meta:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            if self.for_reading:
                raise StoreError(
                    f"{self.path / 'store.sqlite'} is not an imr-graph store (it has no "
                    "schema): give the folder of a store, or restore it from a backup"
                )
            with self.transaction():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self.db.execute(stmt)
                again = self.db.execute(
                    "SELECT value FROM meta WHERE key='schema_version'"
                ).fetchone()
                if again is None:  # another process may have created it meanwhile
                    self._set_meta("schema_version", str(SCHEMA_VERSION))
                    self._set_meta("generation", "0")
            return
        try:
            v = int(row[0])
        except ValueError:
            raise StoreError(
                f"store {self.path} has an unreadable schema version {row[0]!r}: "
                "re-ingest the letters into a new store"
            ) from None
        if v > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {v}, newer than this imr-graph "
                f"({SCHEMA_VERSION}): upgrade imr-graph"
            )
        if v < SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {v}, older than this imr-graph "
                f"({SCHEMA_VERSION}): re-ingest the letters into a new store"
            )

    def close(self) -> None:
        if not self.for_reading:
            # Back to a rollback journal once the writer is done (best effort: another open
            # connection keeps WAL), so that a later reader creates no -wal/-shm files: opening
            # a store for reading then writes nothing at all, not even a folder's mtime.
            try:
                self.db.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.Error:
                pass
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None
            self._lock_depth = 0
        self.db.close()

    # ---- one writer at a time ------------------------------------------------------------
    @contextmanager
    def writing(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the store's writer lock (flock on store/.lock) for a whole write.

        Re-entrant within one Store; see `store/lock.py`. A second writer says once whom it
        waits for, waits up to `timeout` seconds (default $IMR_GRAPH_LOCK_TIMEOUT or 30), then
        gets StoreBusyError naming the holder's pid. A read-only store refuses at once.
        """
        if self.read_only:
            raise StoreError(f"store {self.path} is read-only here: nothing can be written to it")
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        fd = acquire(self.path, timeout)
        self._lock_fd, self._lock_depth = fd, 1
        try:
            yield
        finally:
            self._lock_depth = 0
            self._lock_fd = None
            os.close(fd)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read from one consistent state: a read transaction (WAL snapshot) for the block.

        Everything read from SQL inside the block sees the store as of its first read, even
        while a writer commits. Nested use (or use inside a write transaction) is a no-op.
        """
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN")
        try:
            self.db.execute("SELECT count(*) FROM meta").fetchone()  # starts the snapshot
            yield
        finally:
            if self.db.in_transaction:
                self.db.execute("COMMIT")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        """Close; damage of store.sqlite met inside the block becomes the one store sentence."""
        try:
            if isinstance(exc, sqlite3.DatabaseError) and _is_damage(exc):
                why = damage_of(self.db)  # None: the damage is in another file (a cache)
                if why is not None:
                    raise damaged(self.path / "store.sqlite", str(exc)) from None
        finally:
            self.close()

    # ---- meta ----------------------------------------------------------------------------
    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    @property
    def generation(self) -> int:
        return int(self.meta("generation") or 0)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One writer at a time: BEGIN IMMEDIATE takes SQLite's write lock up front."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise StoreError(
                f"store {self.path} is locked by another writer ({e}); try again when it ends"
            ) from None
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # ---- reading -------------------------------------------------------------------------
    def letters(self) -> dict[str, Letter]:
        """All letters by key (cached after the first call)."""
        if not self._letters:
            rows = self.db.execute("SELECT key, json FROM letters ORDER BY key").fetchall()
            self._letters = {k: letter_from_json(json.loads(j)) for k, j in rows}
        return self._letters

    def letter(self, key: str) -> Letter | None:
        if self._letters:
            return self._letters.get(key)
        row = self.db.execute("SELECT json FROM letters WHERE key=?", (key,)).fetchone()
        return letter_from_json(json.loads(row[0])) if row else None

    def iter_letters(self, keys: Iterable[str] | None = None, chunk: int = 500) -> Iterator[Letter]:
        """Letters in key order (or those of `keys`), decoded a chunk at a time, not cached:
        what index builds use, so that a large store is never held whole in memory."""
        if keys is None:
            last = ""
            while True:
                rows = self.db.execute(
                    "SELECT key, json FROM letters WHERE key > ? ORDER BY key LIMIT ?",
                    (last, chunk),
                ).fetchall()
                if not rows:
                    return
                for _, j in rows:
                    yield letter_from_json(json.loads(j))
                last = rows[-1][0]
        else:
            for part in _chunks(list(keys), chunk):
                q = ",".join("?" * len(part))
                rows = self.db.execute(
                    f"SELECT json FROM letters WHERE key IN ({q}) ORDER BY key", part
                ).fetchall()
                for (j,) in rows:
                    yield letter_from_json(json.loads(j))

    def items_by_id(self, item_ids: Iterable[int]) -> dict[int, tuple[str, int, str, str, str]]:
        """id -> (letter key, position, request, decision, rationale), for the ids stored."""
        out: dict[int, tuple[str, int, str, str, str]] = {}
        for part in _chunks(list(item_ids)):
            q = ",".join("?" * len(part))
            rows = self.db.execute(
                "SELECT id, letter_key, position, request, decision, rationale FROM items "
                f"WHERE id IN ({q})",
                part,
            )
            out.update((r[0], r[1:]) for r in rows)
        return out

    def find_letter(self, ident: str) -> Letter | None:
        """By case number, file stem, or item node id."""
        ident = ident.removeprefix("letter:")
        if ident.startswith("item:"):
            ident = ident[5:].rsplit("/", 1)[0]
        got = self.letter(ident)
        if got:
            return got
        row = self.db.execute(
            "SELECT key FROM letters WHERE file=? OR case_number=? ORDER BY key LIMIT 1",
            (ident, ident),
        ).fetchone()
        return self.letter(row[0]) if row else None

    def require_letter(self, ident: str) -> Letter:
        """find_letter, or a StoreError that names what was not found."""
        letter = self.find_letter(ident)
        if letter is None:
            raise StoreError(f"no letter {ident!r} in {self.path}")
        return letter

    @property
    def graph(self) -> nx.MultiDiGraph:
        if self._graph is None:
            self._graph = build_graph(self.letters().values())
        return self._graph

    def item_rows(self) -> list[tuple[int, str, int, str, str, str]]:
        return self.db.execute(
            "SELECT id, letter_key, position, request, decision, rationale FROM items "
            "ORDER BY letter_key, position"
        ).fetchall()

    def counts(self) -> dict[str, int]:
        n_letters = self.db.execute("SELECT count(*) FROM letters").fetchone()[0]
        rows = self.db.execute("SELECT decision, count(*) FROM items GROUP BY decision").fetchall()
        by = dict(rows)
        return {
            "letters": n_letters,
            "items": sum(by.values()),
            "upheld": by.get("upheld", 0),
            "overturned": by.get("overturned", 0),
        }

    # ---- writing -------------------------------------------------------------------------
    def put_letters(
        self, letters: Iterable[Letter]
    ) -> tuple[list[str], list[str], list[str], list[int], list[int]]:
        """Insert or replace letters in one transaction.

        Returns (added, replaced, unchanged, removed item ids, added item ids).
        """
        added: list[str] = []
        replaced: list[str] = []
        unchanged: list[str] = []
        removed_ids: list[int] = []
        added_ids: list[int] = []
        batch = list(letters)
        with self.writing(), self.transaction():
            for letter in batch:
                key = letter.key
                row = self.db.execute("SELECT sha256 FROM letters WHERE key=?", (key,)).fetchone()
                if row is not None and row[0] == letter.sha256:
                    unchanged.append(key)
                    continue
                if row is not None:
                    removed_ids.extend(self._delete(key))
                    replaced.append(key)
                else:
                    added.append(key)
                self.db.execute(
                    "INSERT INTO letters(key, file, case_number, sha256, source, decision_date, "
                    "ingested_at, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        letter.letter,
                        letter.case_number,
                        letter.sha256,
                        letter.source,
                        letter.dates.decision_date,
                        time.time(),
                        json.dumps(letter_to_json(letter), ensure_ascii=False, sort_keys=True),
                    ),
                )
                for it in letter.items:
                    iid = item_int_id(key, it.position)
                    self.db.execute(
                        "INSERT INTO items(id, letter_key, position, request, decision, rationale)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (iid, key, it.position, it.request, it.decision, it.rationale),
                    )
                    added_ids.append(iid)
            if added or replaced:
                self._set_meta("generation", str(self.generation + 1))
            crash_point("put.uncommitted")
        crash_point("put.committed")
        self._apply_to_graph(batch, replaced, added)
        return added, replaced, unchanged, removed_ids, added_ids

    def changed(self, letters: Iterable[Letter]) -> list[Letter]:
        """The letters that put_letters would add or replace (new key or new content)."""
        out = []
        for letter in letters:
            row = self.db.execute(
                "SELECT sha256 FROM letters WHERE key=?", (letter.key,)
            ).fetchone()
            if row is None or row[0] != letter.sha256:
                out.append(letter)
        return out

    def _delete(self, key: str) -> list[int]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM items WHERE letter_key=?", (key,))]
        self.db.execute("DELETE FROM items WHERE letter_key=?", (key,))
        self.db.execute("DELETE FROM letters WHERE key=?", (key,))
        return ids

    def remove(self, key: str) -> list[int]:
        """Remove one letter and its items; returns the removed item ids."""
        with self.writing(), self.transaction():
            ids = self._delete(key)
            self._set_meta("generation", str(self.generation + 1))
            crash_point("remove.uncommitted")
        crash_point("remove.committed")
        self._letters.pop(key, None)
        if self._graph is not None:
            remove_letter(self._graph, key)
        return ids

    def _apply_to_graph(self, batch: list[Letter], replaced: list[str], added: list[str]) -> None:
        changed = set(replaced) | set(added)
        if not changed:
            return
        for letter in batch:
            if letter.key in changed:
                if self._letters:
                    self._letters[letter.key] = letter
                if self._graph is not None:
                    remove_letter(self._graph, letter.key)
                    add_letter(self._graph, letter)


def damaged(db_file: Path, why: str) -> StoreError:
    """The one sentence for a store database that cannot be read whole: file, cause, remedy."""
    return StoreError(
        f"{db_file}: not a readable store database ({why}); restore it from a backup "
        "or re-ingest the letters into a new store"
    )


def damage_of(db: sqlite3.Connection) -> str | None:
    """Why the database is damaged (SQLite's quick_check reads every page), else None."""
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as e:
        if _is_damage(e):
            return str(e)
        raise
    if rows == [("ok",)]:
        return None
    first = str(rows[0][0]).replace("*** in database main ***", "").strip()
    return first.splitlines()[0] if first else "it fails SQLite's quick_check"


def _is_damage(e: sqlite3.DatabaseError) -> bool:
    """The error is SQLite's "malformed" or "not a database", not a busy or missing file."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is None:
        return type(e) is sqlite3.DatabaseError  # no code: only damage raises this plain class
    return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _writable(folder: Path, db_file: Path) -> bool:
    """Whether this process may write the store (its folder, and its database if present)."""
    if not folder.exists():
        return True  # made on create
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    return not db_file.exists() or os.access(db_file, os.W_OK)


def _read_only_connection(db_file: Path) -> sqlite3.Connection:
    """A connection that writes nothing, not even SQLite's -shm/-wal files.

    `mode=ro` reads a WAL database when its -shm file exists; on a read-only folder without
    one, `immutable=1` reads the main file as it is (what a cleanly closed store holds).
    """
    uri = db_file.resolve().as_uri()
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)


def _chunks(values: list, size: int = 500) -> Iterator[list]:
    """Slices short enough for one `IN (...)` (SQLite allows 32 766 variables; 500 is plenty)."""
    for s in range(0, len(values), size):
        yield values[s : s + size]
