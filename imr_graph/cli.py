"""The `imr-graph` command line: every command has --json, every error is one clear line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from kg.model import Letter, letter_to_json

from .errors import LetterError, StoreError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> None:
    """Print one error line to stderr and exit non-zero."""
    click.echo(f"imr-graph: error: {message}", err=True)
    sys.exit(code)


def one_line_errors(fn: F) -> F:
    """Turn the project's errors, and any other, into one line and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (LetterError, StoreError) as e:
            fail(str(e))
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except Exception as e:  # noqa: BLE001 - the CLI promises no tracebacks
            fail(f"{type(e).__name__}: {e}".splitlines()[0])

    return wrapper  # type: ignore[return-value]


def emit_json(obj: Any, pretty: bool = False) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2 if pretty else None))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="imr-graph")
def main() -> None:
    """IMR determination letters as a knowledge graph with precedent search."""


def _readable(letter: Letter) -> str:
    d = letter.dates
    lines = [
        f"{letter.letter}  case {letter.case_number or '-'}  priority {letter.priority or '-'}",
        f"  decided {d.decision_date or '-'}  injury {d.date_of_injury or '-'}  "
        f"patient {letter.patient.age or '?'} {letter.patient.sex or '?'}",
        f"  reviewer: {', '.join(letter.reviewer.specialties) or '-'} "
        f"({', '.join(letter.reviewer.licensure) or '-'})",
    ]
    for it in letter.items:
        lines.append(f"  [{it.position}] {it.decision.upper():10s} {it.request}")
        for who, cites in (
            ("MAXIMUS", it.maximus_citations),
            ("CA", it.claims_administrator_citations),
        ):
            for c in cites:
                where = "; ".join(c.sections) or ""
                pages = f" p.{','.join(map(str, c.pages))}" if c.pages else ""
                year = f" {c.year}" if c.year else ""
                lines.append(
                    f"        {who}: {c.guideline} {c.document}{year} {where}{pages}".rstrip()
                )
    for w in letter.warnings:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per letter (SCHEMA.md).")
@click.option(
    "--audit",
    is_flag=True,
    help="List only the citations whose text was not fully read (docs/citations.md); exit 0.",
)
@one_line_errors
def parse(files: tuple[Path, ...], as_json: bool, audit: bool = False) -> None:
    """Parse letter FILES (.pdf or text) and print what was read."""
    from .parse import parse_file

    if audit:
        _audit(files, as_json)
        return
    failed = 0
    for f in files:
        try:
            letter = parse_file(f)
        except LetterError as e:
            click.echo(f"imr-graph: error: {e}", err=True)
            failed += 1
            continue
        for w in letter.warnings:
            click.echo(f"imr-graph: warning: {f}: {w}", err=True)
        if as_json:
            emit_json(letter_to_json(letter), pretty=len(files) == 1)
        else:
            click.echo(_readable(letter))
    if failed:
        sys.exit(1)


def _audit(files: tuple[Path, ...], as_json: bool) -> None:
    """`parse --audit`: one line per citation the reader did not fully consume, then a count."""
    from .citation_audit import audit_file

    n = 0
    for f in files:
        try:
            lines = list(audit_file(f))
        except LetterError as e:
            click.echo(f"imr-graph: error: {e}", err=True)
            continue
        for line in lines:
            n += 1
            if as_json:
                c = line.citation
                emit_json(
                    {
                        "file": line.file,
                        "item": line.item,
                        "paragraph": line.paragraph,
                        "problem": line.problem,
                        "citation": c.to_json() if c else None,
                        "text": line.segment,
                    }
                )
            else:
                click.echo(str(line))
    click.echo(f"imr-graph: audit: {n} citation line(s) in {len(files)} file(s)", err=True)


store_option = click.option(
    "--store",
    "store_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Store folder (default: $IMR_GRAPH_STORE or the user's data dir).",
)
model_option = click.option(
    "--model",
    default=None,
    help="sentence-transformers model name or path "
    "(default: $IMR_GRAPH_MODEL or all-MiniLM-L6-v2).",
)


def _encoder(model: str | None):  # noqa: ANN202 - heavy import kept lazy
    from embeddings import Encoder

    return Encoder(model)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@store_option
@model_option
@click.option("--no-index", is_flag=True, help="Store and graph only; skip embedding.")
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def ingest(paths, store_dir, model, no_index, as_json) -> None:  # noqa: ANN001
    """Parse letter files or folders (recursively) into the store and its indexes."""
    from .indexes import Indexes
    from .ingest import ingest as run_ingest
    from .store import Store

    missing = [str(p) for p in paths if not p.exists()]
    with Store.open(store_dir) as store, store.writing():
        # The writer lock covers SQL and index writes; a second writer waits, then one line.
        idx = None if no_index else Indexes.open(store, _encoder(model), allow_model_change=False)
        report = run_ingest(store, [p for p in paths if p.exists()], idx, progress=not as_json)
        counts = store.counts()
    failed = [*((m, "no such file or folder") for m in missing), *report.failed]
    if as_json:
        emit_json(
            {
                "added": list(report.added),
                "replaced": list(report.replaced),
                "unchanged": list(report.unchanged),
                "failed": [{"path": p, "error": e} for p, e in failed],
                "items_added": report.items_added,
                "items_removed": report.items_removed,
                "store": counts,
            }
        )
    else:
        click.echo(
            f"ingested {len(report.added)} new, {len(report.replaced)} replaced, "
            f"{len(report.unchanged)} unchanged letter(s); store has {counts['letters']} letters, "
            f"{counts['items']} items"
        )
    for p, e in failed:
        click.echo(f"imr-graph: error: {p}: {e}", err=True)
    if failed:
        sys.exit(1)


@main.command()
@store_option
@click.option("--json", "as_json", is_flag=True)
@click.option("--unmapped", "show_unmapped", is_flag=True, help="List every unmapped request.")
@one_line_errors
def stats(store_dir, as_json, show_unmapped) -> None:  # noqa: ANN001
    """Counts of letters, items, outcomes, node kinds and treatment-concept coverage."""
    from .stats import store_stats
    from .store import Store

    with Store.open(store_dir, create=False) as store:
        s = store_stats(store)
    if as_json:
        emit_json(s, pretty=True)
        return
    for k in ("letters", "items", "upheld", "overturned", "treatment_concepts", "items_unmapped"):
        click.echo(f"{k:20s} {s[k]}")
    click.echo(f"{'coverage':20s} {s['coverage']:.1%}")
    click.echo("nodes by kind:")
    for k, v in s["nodes"].items():
        click.echo(f"  {k:22s} {v}")
    click.echo(f"edges: {s['edges']}")
    unm = s["unmapped_requests"]
    if unm:
        click.echo(f"unmapped requests ({len(unm)}):")
        for r in unm if show_unmapped else unm[:20]:
            click.echo(f"  {r}")
        if len(unm) > 20 and not show_unmapped:
            click.echo(f"  ... {len(unm) - 20} more (--unmapped lists all)")


@main.command()
@click.argument("ident")
@store_option
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def show(ident, store_dir, as_json) -> None:  # noqa: ANN001
    """A letter (case number, file stem or item id) with its items, citations and neighbours."""
    from .stats import letter_view
    from .store import Store

    with Store.open(store_dir, create=False) as store:
        letter = store.require_letter(ident)
        view = letter_view(store, letter)
    if as_json:
        emit_json(view, pretty=True)
        return
    click.echo(_readable(letter))
    click.echo("  neighbours:")
    for it in view["items"]:
        concepts = ", ".join(t["label"] for t in it["treatments"]) or "(unmapped)"
        click.echo(f"    [{it['position']}] treatments: {concepts}")
        for n in it["similar_items"][:3]:
            click.echo(
                f"        shares a concept with {n['letter']}[{n['item']}] {n['decision']}: "
                f"{n['request']}"
            )


@main.command()
@click.argument("ident")
@store_option
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def remove(ident, store_dir, as_json) -> None:  # noqa: ANN001
    """Remove a letter and everything derived from it (items, nodes, vectors)."""
    from .indexes import Indexes
    from .store import Store

    with Store.open(store_dir, create=False) as store, store.writing():
        letter = store.require_letter(ident)
        # the store's own model; opening first brings the indexes in step, so that the
        # removal is then applied to them alone (a crash in between is repaired on open)
        idx = Indexes.open(store, _encoder(store.meta("model"))) if store.meta("model") else None
        ids = store.remove(letter.key)
        if idx is not None:
            idx.apply(ids, [])
        counts = store.counts()
    if as_json:
        emit_json({"removed": letter.key, "items_removed": len(ids), "store": counts})
    else:
        click.echo(f"removed {letter.key} ({len(ids)} items); {counts['letters']} letters left")


@main.command()
@store_option
@model_option
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def reindex(store_dir, model, as_json) -> None:  # noqa: ANN001
    """Rebuild the vector and lexical indexes from the store (embedding cache reused)."""
    import time

    from .indexes import Indexes
    from .store import Store

    t0 = time.perf_counter()
    with Store.open(store_dir, create=False) as store, store.writing():
        idx = Indexes.empty(store, _encoder(model))
        idx.rebuild(show_progress=not as_json)
        n = len(idx.lexical)
        model_name = idx.encoder.model_name
    out = {"items": n, "model": model_name, "seconds": round(time.perf_counter() - t0, 2)}
    if as_json:
        emit_json(out)
    else:
        click.echo(f"reindexed {n} items with {model_name} in {out['seconds']} s")


@main.command()
@store_option
@click.option("--no-index", is_flag=True, help="Check the SQL store and graph only.")
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def check(store_dir, no_index, as_json) -> None:  # noqa: ANN001
    """Verify the store's invariants (SQL rows, graph, vectors, lexical index, model)."""
    from .check import check_store
    from .store import default_store_dir

    results = check_store(store_dir or default_store_dir(), indexes=not no_index)
    failed = [c for c in results if not c.ok]
    if as_json:
        emit_json({"ok": not failed, "checks": [c.to_json() for c in results]}, pretty=True)
    else:
        for c in results:
            click.echo(f"{'OK  ' if c.ok else 'FAIL'} {c.name:18s} {c.reason}")
    if failed:
        sys.exit(1)


@main.command()
@click.argument("query")
@store_option
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--mode", type=click.Choice(["dense", "lexical"]), default="dense", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def search(query, store_dir, k, mode, as_json) -> None:  # noqa: ANN001
    """Rationale paragraphs closest to free text, with scores and the matched passage."""
    from .search import search as run_search
    from .store import Store

    if not query.strip():
        fail("empty query")
    with Store.open(store_dir, create=False) as store:
        hits = run_search(store, query, k=k, mode=mode)
    if as_json:
        emit_json([h.to_json() for h in hits], pretty=True)
        return
    for h in hits:
        click.echo(f"{h.score:6.3f}  {h.letter}[{h.item}] {h.decision.upper():10s} {h.request}")
        click.echo(f"        {h.passage[:200]}")


def _filters(**kw):  # noqa: ANN003, ANN202
    from .precedent import Filters

    return Filters(**{k: v for k, v in kw.items() if v})


@main.command()
@click.option("--request", "request_text", help="The new request, e.g. 'Norco 10/325 #90'.")
@click.option("--summary", "summary_text", default=None, help="Clinical picture (free text).")
@click.option("--summary-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--queries",
    "queries_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSONL batch: {id, request, summary?} per line.",
)
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 500))
@click.option("--decision", type=click.Choice(["upheld", "overturned"]))
@click.option(
    "--guideline", type=click.Choice(["MTUS", "ODG", "ACOEM", "OTHER"], case_sensitive=False)
)
@click.option("--document", help="Guideline document (substring of its name or id).")
@click.option("--section", help="Cited guideline section (substring).")
@click.option("--region", help="Body region (substring, e.g. lumbar).")
@click.option("--category", help="Treatment category (substring, e.g. imaging).")
@click.option("--specialty", help="Reviewer specialty (substring).")
@click.option("--from", "date_from", help="Decision date from (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Decision date to (YYYY-MM-DD).")
@click.option("--by-letter", is_flag=True, help="Group results by letter.")
@store_option
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def precedents(
    request_text,
    summary_text,
    summary_file,
    queries_file,
    k,
    decision,
    guideline,
    document,
    section,
    region,
    category,
    specialty,
    date_from,
    date_to,
    by_letter,
    store_dir,
    as_json,
) -> None:  # noqa: ANN001
    """Past decisions on requests like this one, with why each is there and a summary."""
    from .precedent import PrecedentEngine
    from .store import Store

    if not request_text and not queries_file:
        fail("give --request TEXT or --queries FILE.jsonl", 2)
    if summary_file:
        summary_text = summary_file.read_text(encoding="utf-8", errors="replace")
    flt = _filters(
        decision=decision,
        guideline=guideline,
        document=document,
        section=section,
        region=region,
        category=category,
        specialty=specialty,
        date_from=date_from,
        date_to=date_to,
    )
    with Store.open(store_dir, create=False) as store:
        engine = PrecedentEngine(store)
        if queries_file:
            _batch(engine, queries_file, k, flt, by_letter)
            return
        ans = engine.query(request_text, summary_text, k=k, filters=flt)
    out = ans.to_json()
    if by_letter:
        out["by_letter"] = _group(out["results"])
    if as_json:
        emit_json(out, pretty=True)
        return
    s = out["summary"]
    concepts = ", ".join(c["label"] or c["id"] for c in s["treatment_concepts"]) or "(none)"
    click.echo(f"request: {request_text}   concepts: {concepts}")
    st = s["same_treatment"]
    click.echo(
        f"same treatment in store: {st['n']} items, {st['upheld']} upheld, "
        f"{st['overturned']} overturned" + (f"  ({st['warning']})" if st.get("warning") else "")
    )
    click.echo(
        "likely governing sections: "
        + "; ".join(f"{g['section']} ({g['precedents_citing']})" for g in s["governing_sections"])
    )
    for r in out["results"]:
        why = ", ".join(_signal(k, v) for k, v in r["why"].items())
        click.echo(
            f"{r['score']:.4f} {r['letter']}[{r['item']}] {r['decision'].upper():10s} "
            f"{r['request']}"
        )
        click.echo(f"        sections: {'; '.join(r['sections']) or '-'}   why: {why}")
        click.echo(f"        {r['snippet'][:160]}")


def _signal(name: str, value: dict) -> str:
    """One retriever's signal in words: its rank, or the re-ranking's section support."""
    if "rank" in value:
        return f"{name} #{value['rank']}"
    return f"{name} {value.get('support', '')}".rstrip()


def _group(results: list[dict]) -> list[dict]:
    groups: dict[str, dict] = {}
    for r in results:
        g = groups.setdefault(
            r["letter"], {"letter": r["letter"], "score": r["score"], "items": []}
        )
        g["items"].append(r)
    return list(groups.values())


def _batch(engine, path: Path, k: int, flt, by_letter: bool) -> None:  # noqa: ANN001
    bad = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                q = json.loads(line)
                if (
                    not isinstance(q, dict)
                    or not isinstance(q.get("request"), str)
                    or not q["request"].strip()
                ):
                    raise ValueError("needs a non-empty string 'request'")
            except ValueError as e:
                click.echo(f"imr-graph: error: {path}:{n}: malformed query line ({e})", err=True)
                emit_json({"id": None, "line": n, "error": f"malformed query line: {e}"})
                bad += 1
                continue
            ans = engine.query(q["request"], q.get("summary"), k=k, filters=flt)
            out = {"id": q.get("id"), **ans.to_json()}
            if by_letter:
                out["by_letter"] = _group(out["results"])
            emit_json(out)
    if bad:
        sys.exit(1)


@main.command(name="eval")
@store_option
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--no-summary", is_flag=True, help="Ask with the request only.")
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(["lexical", "dense", "graph", "rrf", "hybrid"]),
)
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def eval_cmd(store_dir, k, no_summary, modes, as_json) -> None:  # noqa: ANN001
    """Leave-one-letter-out retrieval quality: nDCG@10, Recall@10, MRR, section hit@1."""
    from .evaluate import MODES, evaluate
    from .precedent import PrecedentEngine
    from .store import Store

    with Store.open(store_dir, create=False) as store:
        engine = PrecedentEngine(store)
        scores = evaluate(engine, tuple(modes) or tuple(MODES), k=k, use_summary=not no_summary)
    rows = [s.to_json() for s in scores]
    if as_json:
        emit_json(rows, pretty=True)
        return
    click.echo(
        f"{'mode':8s} {'queries':>7s} {'nDCG@10':>8s} {'Recall@10':>9s} {'MRR':>6s} "
        f"{'sec.hit@1':>9s}"
    )
    for r in rows:
        click.echo(
            f"{r['mode']:8s} {r['queries']:7d} {r['ndcg@10']:8.3f} {r['recall@10']:9.3f} "
            f"{r['mrr']:6.3f} {r['section_hit@1']:9.3f}"
        )


from . import cli_rdf  # noqa: E402,F401

if __name__ == "__main__":
    main()
