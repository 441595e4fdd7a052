"""The system of record: SQLite rows of letters, the writer lock, ingest and the invariant check."""
