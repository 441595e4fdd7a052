"""The one store, its indexes and model, loaded once and shared by every request, read-only."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imr_graph.store.sqlite import Store
from imr_graph.web.facets import known_values

if TYPE_CHECKING:
    from imr_graph.query.precedent import Filters, PrecedentEngine


@dataclass(frozen=True)
class Provenance:
    """What a page was computed on, so that a cited result list can be reproduced."""

    letters: int
    items: int
    generation: int
    model: str

    def line(self) -> str:
        return (
            f"{self.letters} letters, {self.items} items, store generation {self.generation}, "
            f"model {self.model}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "letters": self.letters,
            "items": self.items,
            "generation": self.generation,
            "model": self.model,
        }

    def headers(self) -> dict[str, str]:
        return {
            "X-IMR-Letters": str(self.letters),
            "X-IMR-Items": str(self.items),
            "X-IMR-Generation": str(self.generation),
            "X-IMR-Model": self.model,
        }


class Served:
    """Store + precedent engine behind a lock: SQLite and the engine's caches are one-thread."""

    def __init__(self, store_dir: str | Path | None) -> None:
        from imr_graph.query.precedent import PrecedentEngine

        self.store = Store.open(store_dir, create=False)
        # opening the indexes brings them in step with the letters, as for every query command
        # (a store ingested with --no-index is indexed here, once); serving then only reads
        self.engine: PrecedentEngine = PrecedentEngine(self.store)
        self.store.db = _shared_read_only(self.store)
        self.graph = self.store.graph
        counts = self.store.counts()
        self.provenance = Provenance(
            counts["letters"],
            counts["items"],
            self.store.generation,
            self.store.meta("model") or self.engine.idx.encoder.model_name,
        )
        self._lock = threading.Lock()
        self.known = known_values(self.graph)  # the filter values the store knows
        self._stats: dict[str, Any] | None = None
        self.engine.idx.encoder.encode(["warm-up"])  # the model loads now, not on a first query

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """The store for one request; requests take turns (one SQLite connection, one engine)."""
        with self._lock:
            yield self.store

    def precedents(
        self, request: str, summary: str | None, k: int, filters: Filters
    ) -> dict[str, Any]:
        """Exactly what `imr-graph precedents --json` prints for the same parameters."""
        with self._lock:
            return self.engine.query(request, summary, k=k, filters=filters).to_json()

    def stats(self) -> dict[str, Any]:
        """Counts and outcome rates, computed once (the served store is read as loaded)."""
        from imr_graph.explore.graph_queries import overturn_rates
        from imr_graph.explore.stats import store_stats

        with self._lock:
            if self._stats is None:
                rates = {
                    b: overturn_rates(self.store, by=b)
                    for b in ("category", "section", "specialty")
                }
                self._stats = {"store": store_stats(self.store), "rates": rates}
            return self._stats

    def close(self) -> None:
        with self._lock:
            self.store.close()


def _shared_read_only(store: Store) -> sqlite3.Connection:
    """The store's connection reopened read-only and usable from the server's worker threads.

    Requests take turns under Served's lock, so one connection is never used by two at once.
    """
    store.db.close()
    uri = (store.path / "store.sqlite").resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
