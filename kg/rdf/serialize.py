"""Serializers: sorted, de-duplicated triples as N-Triples, N-Quads, Turtle, TriG or JSON-LD.

Every writer sorts, so the same triples give the same bytes; N-Triples lines are formatted
directly (kg.rdf.terms escapes), with no rdflib Graph in between, which keeps export fast.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from kg.rdf.terms import (
    DEFAULT_BASE,
    FORMATS,
    PREFIXES,
    TYPE,
    XSD_INTEGER,
    Term,
    Triple,
    escape_string,
    nt_term,
    vocab_namespaces,
)


def nt_lines(triples: Iterable[Triple]) -> list[str]:
    """Sorted, de-duplicated N-Triples lines (each ending in a newline)."""
    return sorted({f"<{s}> <{p}> {nt_term(o)} .\n" for s, p, o in triples})


def write_nt(triples: Iterable[Triple], out: IO[bytes]) -> int:
    lines = nt_lines(triples)
    _write_chunks(out, lines)
    return len(lines)


def write_nq(triples: Iterable[Triple], out: IO[bytes], graph_iri: str) -> int:
    g = f" <{graph_iri}> .\n"
    lines = [line[:-3] + g for line in nt_lines(triples)]
    _write_chunks(out, lines)
    return len(lines)


def _write_chunks(out: IO[bytes], lines: list[str], chunk: int = 20000) -> None:
    for i in range(0, len(lines), chunk):
        out.write("".join(lines[i : i + chunk]).encode("utf-8"))


def _sorted_unique(triples: Iterable[Triple]) -> list[tuple[str, str, str, Term]]:
    """(s, p, nt(o), o), sorted and de-duplicated: the order every serializer uses."""
    seen = {(s, p, nt_term(o)): o for s, p, o in triples}
    return [(s, p, ot, seen[(s, p, ot)]) for s, p, ot in sorted(seen)]


_LOCAL_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")


class _Compactor:
    """IRIs to prefixed names where the local part is plain."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        # longest namespace first so tx: wins over a shorter enclosing namespace
        self.items = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))
        self._cache: dict[str, str] = {}

    def iri(self, iri: str) -> str:
        got = self._cache.get(iri)
        if got is None:
            got = f"<{iri}>"
            for p, ns in self.items:
                if iri.startswith(ns) and _LOCAL_RE.match(iri[len(ns) :]):
                    got = f"{p}:{iri[len(ns) :]}"
                    break
            self._cache[iri] = got
        return got

    def term(self, o: Term) -> str:
        if isinstance(o, str):
            return self.iri(o)
        lex, dt, lang = o
        if lang:
            return f'"{escape_string(lex)}"@{lang}'
        if dt == XSD_INTEGER and re.fullmatch(r"-?\d+", lex):
            return lex
        if dt:
            return f'"{escape_string(lex)}"^^{self.iri(dt)}'
        return f'"{escape_string(lex)}"'


def export_prefixes(base: str = DEFAULT_BASE) -> dict[str, str]:
    ns, _ = vocab_namespaces()
    out = dict(PREFIXES)
    for p, iri in sorted(ns.items()):
        out.setdefault(p, iri)
    for p in ("letter", "case", "file", "ingest"):
        out.setdefault(p, f"{base}{p}/")
    return out


def _turtle_body(
    rows: list[tuple[str, str, str, Term]], c: _Compactor, indent: str
) -> Iterator[str]:
    i, n = 0, len(rows)
    while i < n:
        s = rows[i][0]
        parts = []
        j = i
        while j < n and rows[j][0] == s:
            p = rows[j][1]
            objs = []
            while j < n and rows[j][0] == s and rows[j][1] == p:
                objs.append(c.term(rows[j][3]))
                j += 1
            pred = "a" if p == TYPE else c.iri(p)
            parts.append(f"{pred} {', '.join(objs)}")
        sep = f" ;\n{indent}    "
        yield f"{indent}{c.iri(s)} {sep.join(parts)} .\n"
        i = j


def write_ttl(triples: Iterable[Triple], out: IO[bytes], base: str = DEFAULT_BASE) -> int:
    rows = _sorted_unique(triples)
    prefixes = export_prefixes(base)
    c = _Compactor(prefixes)
    head = [f"@prefix {p}: <{iri}> .\n" for p, iri in prefixes.items()]
    out.write(("".join(head) + "\n").encode("utf-8"))
    buf: list[str] = []
    for block in _turtle_body(rows, c, ""):
        buf.append(block)
        buf.append("\n")
        if len(buf) > 4000:
            out.write("".join(buf).encode("utf-8"))
            buf.clear()
    out.write("".join(buf).encode("utf-8"))
    return len(rows)


def write_trig(
    triples: Iterable[Triple], out: IO[bytes], graph_iri: str, base: str = DEFAULT_BASE
) -> int:
    rows = _sorted_unique(triples)
    prefixes = export_prefixes(base)
    c = _Compactor(prefixes)
    head = "".join(f"@prefix {p}: <{iri}> .\n" for p, iri in prefixes.items())
    out.write(f"{head}\n<{graph_iri}> {{\n".encode())
    buf: list[str] = []
    for block in _turtle_body(rows, c, "    "):
        buf.append(block)
        if len(buf) > 4000:
            out.write("".join(buf).encode("utf-8"))
            buf.clear()
    buf.append("}\n")
    out.write("".join(buf).encode("utf-8"))
    return len(rows)


def write_jsonld(triples: Iterable[Triple], out: IO[bytes], base: str = DEFAULT_BASE) -> int:
    """Flattened JSON-LD: one node object per subject, sorted, prefixes in the context."""
    rows = _sorted_unique(triples)
    prefixes = export_prefixes(base)
    c = _Compactor({p: ns for p, ns in prefixes.items() if p in PREFIXES})

    def key(iri: str) -> str:
        k = c.iri(iri)
        return k[1:-1] if k.startswith("<") else k

    nodes: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    for s, p, _, o in rows:
        if cur is None or cur["@id"] != s:
            cur = {"@id": s}
            nodes.append(cur)
        if p == TYPE and isinstance(o, str):
            cur.setdefault("@type", []).append(key(o))
            continue
        if isinstance(o, str):
            v: Any = {"@id": o}
        else:
            lex, dt, lang = o
            if lang:
                v = {"@value": lex, "@language": lang}
            elif dt:
                v = {"@value": lex, "@type": key(dt)}
            else:
                v = lex
        cur.setdefault(key(p), []).append(v)
    doc = {"@context": {p: ns for p, ns in prefixes.items() if p in PREFIXES}, "@graph": nodes}
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    out.write(text.encode("utf-8"))
    out.write(b"\n")
    return len(rows)


def graph_iri(base: str = DEFAULT_BASE) -> str:
    return base + "graph/imr"


def write(triples: Iterable[Triple], fmt: str, out: IO[bytes], base: str = DEFAULT_BASE) -> int:
    """Serialize ``triples`` as ``fmt`` (one of :data:`FORMATS`); returns the triple count."""
    if fmt == "nt":
        return write_nt(triples, out)
    if fmt == "nq":
        return write_nq(triples, out, graph_iri(base))
    if fmt == "ttl":
        return write_ttl(triples, out, base)
    if fmt == "trig":
        return write_trig(triples, out, graph_iri(base), base)
    if fmt == "jsonld":
        return write_jsonld(triples, out, base)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


def export_bytes(triples: Iterable[Triple], fmt: str = "nt", base: str = DEFAULT_BASE) -> bytes:
    buf = io.BytesIO()
    write(triples, fmt, buf, base)
    return buf.getvalue()


# ---- rdflib / pyshacl / pyoxigraph bridges ----------------------------------------------------
