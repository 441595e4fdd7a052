"""`imr-graph export | validate | sparql`: the store as linked data (kg.rdf does the work).

SPARQL runs on pyoxigraph (an in-memory store per command, bulk-loaded from the store's
N-Triples); rdflib serves SHACL validation. Why: docs/benchmarks.md, "SPARQL engine".
"""

from __future__ import annotations

import csv
import io
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from imr_graph.cli.options import emit_json, fail, one_line_errors, store_option
from imr_graph.cli.publish import endpoint_options, open_endpoint
from imr_graph.endpoint import EndpointError
from imr_graph.errors import ValueProblem

if TYPE_CHECKING:
    from imr_graph.store.sqlite import Store

# The RDF libraries are imported by the commands that use them, not when the CLI starts.
DEFAULT_BASE = "https://w3id.org/imr-graph/id/"
"""kg.rdf.DEFAULT_BASE, written out so that defining the options imports no RDF library (a
test checks the two agree)."""


def shipped_queries() -> dict[str, Path]:
    from imr_graph.rdf import shipped_queries as shipped

    return shipped()


def _open_store(store_dir: Path | None) -> Store:
    from imr_graph.store.sqlite import Store

    return Store.open(store_dir, create=False, read_only=True)


_base_option = click.option(
    "--base",
    default=DEFAULT_BASE,
    show_default=True,
    help="Base IRI nodes are minted under (vocabulary concepts keep their own namespaces).",
)


# ---- export ---------------------------------------------------------------------------------


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ttl", "nt", "nq", "jsonld", "trig"]),
    default=None,
    help="Serialization (default: from the --out suffix, else ttl).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="File to write ('-' for stdout).",
)
@store_option
@_base_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary of the export.")
@one_line_errors
def export(fmt: str | None, out: Path, store_dir: Path | None, base: str, as_json: bool) -> None:
    """Export the store as RDF (deterministic: the same store gives the same bytes)."""
    from imr_graph.rdf import store_triples
    from kg import rdf

    if fmt is None:
        fmt = rdf.SUFFIX_FORMAT.get(out.suffix.lower(), "ttl")
    t0 = time.perf_counter()
    with _open_store(store_dir) as store:
        triples = store_triples(store, base)
        if str(out) == "-":
            n = rdf.write(triples, fmt, sys.stdout.buffer, base)
            sys.stdout.buffer.flush()
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".tmp")
            with open(tmp, "wb") as fh:
                n = rdf.write(triples, fmt, fh, base)
            tmp.replace(out)
        counts = store.counts()
    secs = time.perf_counter() - t0
    summary = {
        "out": str(out),
        "format": fmt,
        "triples": n,
        "bytes": out.stat().st_size if str(out) != "-" else None,
        "seconds": round(secs, 3),
        "base": base,
        "letters": counts["letters"],
        "items": counts["items"],
    }
    if as_json:
        click.echo(_json_line(summary), err=str(out) == "-")
    elif str(out) != "-":
        click.echo(f"wrote {n} triples ({fmt}) to {out} in {secs:.2f} s")


def _json_line(obj: object) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


# ---- validate -------------------------------------------------------------------------------


@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ttl", "nt", "nq", "jsonld", "trig"]),
    default=None,
    help="Format of FILE (default: from its suffix).",
)
@click.option("--json", "as_json", is_flag=True, help="The SHACL report as JSON.")
@click.option("--limit", default=50, show_default=True, help="Violations listed (text output).")
@one_line_errors
def validate(
    file: Path | None, store_dir: Path | None, fmt: str | None, as_json: bool, limit: int
) -> None:
    """SHACL-validate FILE (or an export of the store) against kg/data/shapes.ttl."""
    from imr_graph.rdf import store_triples
    from kg import rdf

    t0 = time.perf_counter()
    if file is not None:
        if not file.exists():
            fail(f"no such file: {file}")
        data = rdf.parse_file(file, fmt)
        what = str(file)
    else:
        with _open_store(store_dir) as store:
            data = rdf.to_rdflib(store_triples(store))
            what = f"store {store.path}"
    conforms, violations = rdf.validate_graph(data)
    secs = round(time.perf_counter() - t0, 3)
    if as_json:
        emit_json(
            {
                "source": what,
                "conforms": conforms,
                "triples": len(data),
                "violations": [v.to_json() for v in violations],
                "seconds": secs,
            },
            pretty=True,
        )
    else:
        if conforms:
            click.echo(f"{what}: conforms ({len(data)} triples, {secs} s)")
        else:
            click.echo(f"{what}: {len(violations)} SHACL result(s) ({len(data)} triples)")
            for v in violations[:limit]:
                path = v.path.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
                click.echo(f"  {v.severity}: {v.focus} {path}: {v.message}")
            if len(violations) > limit:
                click.echo(f"  ... {len(violations) - limit} more (--json lists all)")
    if not conforms:
        sys.exit(1)


# ---- sparql ---------------------------------------------------------------------------------


def query_title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def resolve_query(text: str) -> tuple[str, str]:
    """(name, SPARQL text) for a shipped query name, a .rq file, or inline SPARQL."""
    shipped = shipped_queries()
    if text in shipped:
        return text, shipped[text].read_text(encoding="utf-8")
    p = Path(text)
    one_line = "\n" not in text and len(text) < 500
    if one_line and (p.suffix in (".rq", ".sparql") or p.is_file()):
        if not p.is_file():
            fail(f"no such query file: {text}")
        return p.stem, p.read_text(encoding="utf-8")
    if re.fullmatch(r"[\w-]+", text):
        fail(f"no shipped query {text!r} (imr-graph sparql --list shows them)")
    return "query", text


_UPDATE = re.compile(
    r"^\s*(?:(?:PREFIX|BASE)\b[^\n]*\s*)*"
    r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b",
    re.IGNORECASE,
)
_NOT_CODE = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:\\.|[^"\\\n])*"'
    r"|'(?:\\.|[^'\\\n])*'|<[^<>\s]*>|#[^\n]*"
)
_DEFAULT = r"VALUES\s+\?{name}\s*\{{\s*([^}}]*?)\s*\}}"


def check_read_only(name: str, query: str) -> None:
    """Refuse an update or a SERVICE clause: queries read the store and fetch nothing."""
    code = _NOT_CODE.sub(" ", query)  # strings, IRIs and comments cannot hold a keyword
    update = _UPDATE.match(code)
    if update:
        raise ValueProblem(
            f"{name} is a SPARQL update ({update.group(1).upper()}): `imr-graph sparql` only "
            "reads the store; change letters with `imr-graph ingest` or `remove`"
        )
    if re.search(r"\bSERVICE\b", code, re.IGNORECASE):
        raise ValueProblem(
            f"{name} has a SERVICE clause: `imr-graph sparql` queries the store alone and "
            "fetches nothing from the network; drop the SERVICE block"
        )


def parse_params(query: str, params: tuple[str, ...]) -> dict[str, str | int]:
    """The values of --param name=value, by name, each checked against the kind of the
    query's default for it (an integer, an IRI or a string): never a silent empty answer."""
    values: dict[str, str | int] = {}
    for param in params:
        name, sep, value = param.partition("=")
        if not sep or not re.fullmatch(r"\w+", name):
            raise ValueProblem(f"--param wants NAME=VALUE, got {param!r}")
        found = re.search(_DEFAULT.format(name=re.escape(name)), query)
        if found is None:
            raise ValueProblem(
                f"--param {name}: the query has no `VALUES ?{name} {{ ... }}` to set"
            )
        default = found.group(1)
        if re.fullmatch(r"-?\d+", default):
            if not re.fullmatch(r"-?\d+", value.strip()):
                raise ValueProblem(
                    f"--param {name}={value!r} is not an integer; the query compares ?{name} "
                    f"with integers (its default is {default})"
                )
            values[name] = int(value)
        elif default.startswith("<") and not (value.startswith("<") and value.endswith(">")):
            raise ValueProblem(
                f"--param {name}={value!r} is not an IRI; write it as <https://...> like the "
                f"query's default {default}"
            )
        else:
            values[name] = value
    return values


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _table(names: list[str], rows: list[list[object]], width: int = 60) -> str:
    cells = [[_cell(v)[:width] for v in r] for r in rows]
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


@click.command()
@click.argument("query", required=False)
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--list", "list_queries", is_flag=True, help="List the shipped queries.")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a query's `VALUES ?NAME { default }` (e.g. --param page=120).",
)
@_base_option
@endpoint_options
@one_line_errors
def sparql(
    query: str | None,
    store_dir: Path | None,
    fmt: str,
    as_json: bool,
    list_queries: bool,
    params: tuple[str, ...],
    base: str,
    endpoint: str | None,
    graph_store: str | None,
    timeout: float,
    union: bool,
) -> None:
    """Run a SPARQL QUERY (text, .rq file, or shipped query name) over the store, or over a
    SPARQL server with --endpoint (credentials from $IMR_GRAPH_ENDPOINT_TOKEN, or
    $IMR_GRAPH_ENDPOINT_USER and $IMR_GRAPH_ENDPOINT_PASSWORD)."""
    from imr_graph.rdf import store_triples
    from kg import rdf

    if as_json:
        fmt = "json"
    if list_queries:
        shipped = shipped_queries()
        if fmt == "json":
            emit_json(
                [{"name": n, "title": query_title(p), "file": str(p)} for n, p in shipped.items()],
                pretty=True,
            )
        else:
            for n, p in shipped.items():
                click.echo(f"{n:40s} {query_title(p)}")
        return
    if not query:
        fail("give a QUERY (SPARQL text, a .rq file or a shipped name; --list shows them)")
        return
    name, text = resolve_query(query)
    check_read_only(name, text)
    values = parse_params(text, params)
    try:
        if endpoint:
            with open_endpoint(endpoint, graph_store, timeout, union) as ep:
                names, rows = ep.query(text, values)
        else:
            with _open_store(store_dir) as store:
                st = rdf.oxigraph_store(store_triples(store, base))
            names, rows = rdf.run_query(st, text, values)
    except EndpointError as e:
        fail(str(e))
        return
    except SyntaxError as e:
        fail(f"SPARQL syntax error in {name}: {str(e).splitlines()[0]}")
    except ValueError as e:
        fail(f"{e} with --param")
    if fmt == "json":
        emit_json([dict(zip(names, r, strict=True)) for r in rows], pretty=True)
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(names)
        w.writerows([[_cell(v) for v in r] for r in rows])
        click.echo(buf.getvalue(), nl=False)
    else:
        click.echo(_table(names, rows))
        click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
