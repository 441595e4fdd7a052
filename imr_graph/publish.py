"""Publish the store's RDF to a SPARQL server, one named graph per letter, then only what changed.

Named graphs (under the export's base IRI):
- `graph/letter/{key}`: a letter, its case, items, rationales and citations (kg.rdf letter_triples);
- `graph/store`: the nodes letters share (treatments, regions, guideline documents, sections,
  pages, specialties, with the smallest label any letter gave them) and the ingest provenance;
- `graph/ontology`: kg/data/ontology.ttl and the SKOS vocabularies, less the triples the store
  graph already holds, so that the union of all graphs holds every triple once (Oxigraph's union
  default graph is a bag: a triple in two graphs would count twice).

After a full publish the union of the letter and store graphs is exactly `imr-graph export`.
Afterwards a publish sends the letters added or replaced since (their store row's sha256 and
ingest time changed), deletes the graphs of removed letters, and re-sends the store and ontology
graphs only when their content changed. What the server holds is recorded per Graph Store URL in
`publish.sqlite` in the store folder, committed as each request succeeds, so a publish cut short
by a fault is caught up by the next. A letter sent earlier keeps `prov:wasGeneratedBy` the
ingest of the generation it was sent under (that ingest stays described in the store graph).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from imr_graph.endpoint import Endpoint
from imr_graph.rdf import store_provenance
from imr_graph.store.sqlite import Store
from kg.facts import letter_facts
from kg.rdf import DEFAULT_BASE, Minter, Provenance, Triple, nt_lines
from kg.rdf.terms import DATA, SHAPES_FILE, iri_part
from kg.rdf.triples import ingest_activity, letter_triples, node_triples, provenance_triples

STATE_FILE = "publish.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS targets (
    id INTEGER PRIMARY KEY, graph_store TEXT UNIQUE NOT NULL, base TEXT NOT NULL,
    version TEXT NOT NULL, store_hash TEXT, ontology_hash TEXT, generation INTEGER,
    published_at REAL
);
CREATE TABLE IF NOT EXISTS letters (
    target INTEGER NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
    generation INTEGER NOT NULL, PRIMARY KEY (target, key)
);
CREATE TABLE IF NOT EXISTS activities (
    target INTEGER NOT NULL, generation INTEGER NOT NULL, ended_at REAL,
    PRIMARY KEY (target, generation)
);
"""


def letter_graph(base: str, key: str) -> str:
    return f"{base}graph/letter/{iri_part(key)}"


def store_graph(base: str) -> str:
    return f"{base}graph/store"


def ontology_graph(base: str) -> str:
    return f"{base}graph/ontology"


@dataclass(frozen=True)
class PublishReport:
    """What one publish sent: letter graphs added, replaced, removed, and the cost."""

    endpoint: str
    graph_store: str
    added: int
    replaced: int
    removed: int
    unchanged: int
    store_graph_sent: bool
    ontology_graph_sent: bool
    triples: int
    bytes: int
    requests: int
    seconds: float

    @property
    def triples_per_second(self) -> float:
        return self.triples / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "endpoint": self.endpoint,
            "graph_store": self.graph_store,
            "added": self.added,
            "replaced": self.replaced,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "store_graph_sent": self.store_graph_sent,
            "ontology_graph_sent": self.ontology_graph_sent,
            "triples": self.triples,
            "bytes": self.bytes,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "triples_per_second": round(self.triples_per_second),
        }


class PublishState:
    """What a server holds, as recorded by earlier publishes (one row set per Graph Store URL)."""

    def __init__(self, folder: Path) -> None:
        self.db = sqlite3.connect(folder / STATE_FILE)
        self.db.executescript(_SCHEMA)

    def target(self, graph_store: str) -> tuple[int, dict[str, object]]:
        row = self.db.execute(
            "SELECT id, base, version, store_hash, ontology_hash, generation FROM targets "
            "WHERE graph_store=?",
            (graph_store,),
        ).fetchone()
        if row is None:
            cur = self.db.execute(
                "INSERT INTO targets (graph_store, base, version) VALUES (?, '', '')",
                (graph_store,),
            )
            self.db.commit()
            return int(cur.lastrowid or 0), {}
        keys = ("base", "version", "store_hash", "ontology_hash", "generation")
        return int(row[0]), dict(zip(keys, row[1:], strict=True))

    def letters(self, target: int) -> dict[str, tuple[str, int]]:
        rows = self.db.execute(
            "SELECT key, fingerprint, generation FROM letters WHERE target=?", (target,)
        )
        return {k: (fp, g) for k, fp, g in rows}

    def put_letter(self, target: int, key: str, fingerprint: str, generation: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO letters VALUES (?, ?, ?, ?)",
            (target, key, fingerprint, generation),
        )

    def drop_letter(self, target: int, key: str) -> None:
        self.db.execute("DELETE FROM letters WHERE target=? AND key=?", (target, key))

    def activities(self, target: int) -> list[tuple[int, float | None]]:
        """The ingests the published letters were sent under (unreferenced ones pruned)."""
        self.db.execute(
            "DELETE FROM activities WHERE target=? AND generation NOT IN "
            "(SELECT DISTINCT generation FROM letters WHERE target=?)",
            (target, target),
        )
        rows = self.db.execute(
            "SELECT generation, ended_at FROM activities WHERE target=? ORDER BY generation",
            (target,),
        )
        return [(int(g), e) for g, e in rows]

    def put_activity(self, target: int, generation: int, ended_at: float | None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO activities VALUES (?, ?, ?)", (target, generation, ended_at)
        )

    def set_target(self, target: int, **values: object) -> None:
        cols = ", ".join(f"{k}=?" for k in values)
        self.db.execute(f"UPDATE targets SET {cols} WHERE id=?", (*values.values(), target))

    def forget(self, target: int) -> None:
        """Drop every record of the target (before a full publish)."""
        for table in ("letters", "activities"):
            self.db.execute(f"DELETE FROM {table} WHERE target=?", (target,))
        self.set_target(target, store_hash=None, ontology_hash=None, generation=None)
        self.db.commit()

    def close(self) -> None:
        self.db.commit()
        self.db.close()


def letter_versions(store: Store) -> dict[str, str]:
    """Each letter's fingerprint: its source file's sha256 and when it was ingested."""
    rows = store.db.execute("SELECT key, sha256, ingested_at FROM letters")
    return {k: f"{sha}:{at!r}" for k, sha, at in rows}


def publish(
    store: Store,
    endpoint: Endpoint,
    base: str = DEFAULT_BASE,
    full: bool = False,
    commit_every: int = 200,
) -> PublishReport:
    """Bring the server in step with the store (see the module docstring)."""
    t0 = time.perf_counter()
    state = PublishState(store.path)
    sent = _Sent(endpoint)
    try:
        target, known = state.target(endpoint.store_url)
        prov = store_provenance(store)
        old_base = str(known.get("base") or base)
        left: set[str] = set()  # letters an earlier publish left that this one may not overwrite
        if full or old_base != base or known.get("version") != prov.version:
            left = set(state.letters(target))
            if known and old_base != base:
                for graph in (store_graph(old_base), ontology_graph(old_base)):
                    sent.delete(graph)
            state.forget(target)
            known = {}
        with store.snapshot():
            versions = letter_versions(store)
            for key in sorted(left):
                if old_base != base or key not in versions:
                    sent.delete(letter_graph(old_base, key))
            held = state.letters(target)
            changed = sorted(k for k, fp in versions.items() if held.get(k, ("",))[0] != fp)
            removed = sorted(set(held) - set(versions))
            generation = store.generation
            if not changed and not removed and known.get("generation") == generation:
                return sent.report(len(held), 0, 0, 0, False, False, t0)
            m = Minter(base)
            activity = ingest_activity(m, prov)
            state.put_activity(target, generation, prov.ended_at)
            for n, letter in enumerate(store.iter_letters(changed)):
                lines = nt_lines(letter_triples(m, letter_facts(letter), activity))
                sent.put(letter_graph(base, letter.key), lines)
                state.put_letter(target, letter.key, versions[letter.key], generation)
                if n % commit_every == commit_every - 1:
                    state.db.commit()
            for key in removed:
                sent.delete(letter_graph(base, key))
                state.drop_letter(target, key)
            state.db.commit()
            shared = nt_lines(_store_graph_triples(m, store, prov, state.activities(target)))
        shared_digest = _digest(shared)
        store_sent = onto_sent = False
        if shared_digest != known.get("store_hash"):
            sent.put(store_graph(base), shared)
            store_sent = True
        onto_digest = _ontology_digest(shared_digest)
        if onto_digest != known.get("ontology_hash"):
            sent.put(ontology_graph(base), _ontology_lines(shared))
            onto_sent = True
        state.set_target(
            target,
            base=base,
            version=prov.version,
            store_hash=shared_digest,
            ontology_hash=onto_digest,
            generation=generation,
            published_at=time.time(),
        )
        added = sum(1 for k in changed if k not in held)
        unchanged = len(versions) - len(changed)
        return sent.report(
            unchanged, added, len(changed) - added, len(removed), store_sent, onto_sent, t0
        )
    finally:
        state.close()


def _store_graph_triples(
    m: Minter, store: Store, prov: Provenance, activities: list[tuple[int, float | None]]
) -> Iterator[Triple]:
    """The shared nodes of the store's graph and the ingests its published letters came from."""
    for generation, ended_at in activities:
        yield from provenance_triples(m, Provenance(generation, ended_at, prov.version))
    yield from node_triples(m, store.graph)


def _vocabulary_files() -> list[Path]:
    """The ontology and the SKOS vocabularies (the SHACL shapes are no data)."""
    return [f for f in sorted(DATA.glob("*.ttl")) if f != SHAPES_FILE]


def _ontology_lines(shared: list[str]) -> list[str]:
    """The ontology and the SKOS vocabularies as N-Triples, less what the store graph holds."""
    quads = ox.parse("".join(shared).encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)
    have = {q.triple for q in quads}
    out: set[str] = set()
    for f in _vocabulary_files():
        for q in ox.parse(path=str(f), format=ox.RdfFormat.TURTLE):
            if q.triple not in have:
                out.add(f"{q.subject} {q.predicate} {q.object} .\n")
    return sorted(out)


def _ontology_digest(shared_digest: str) -> str:
    """What the ontology graph is made of: the files and the store graph it leaves out (its
    blank nodes get new labels on each parse, so its own text is no stable key)."""
    return _digest([shared_digest, *(f.read_text(encoding="utf-8") for f in _vocabulary_files())])


def _digest(lines: Iterable[str]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for line in lines:
        h.update(line.encode("utf-8"))
    return h.hexdigest()


class _Sent:
    """The requests of one publish and what they carried."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.triples = self.bytes = self.requests = 0

    def put(self, graph: str, lines: list[str], ctype: str = "application/n-triples") -> None:
        data = "".join(lines).encode("utf-8")
        self.endpoint.put_graph(graph, data, ctype)
        self.triples += len(lines)
        self.bytes += len(data)
        self.requests += 1

    def delete(self, graph: str) -> None:
        self.endpoint.delete_graph(graph)
        self.requests += 1

    def report(
        self,
        unchanged: int,
        added: int,
        replaced: int,
        removed: int,
        store_sent: bool,
        onto_sent: bool,
        t0: float,
    ) -> PublishReport:
        return PublishReport(
            self.endpoint.query_url,
            self.endpoint.store_url,
            added,
            replaced,
            removed,
            unchanged,
            store_sent,
            onto_sent,
            self.triples,
            self.bytes,
            self.requests,
            time.perf_counter() - t0,
        )
