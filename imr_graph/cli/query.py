"""`imr-graph search | precedents | eval`: questions to the store."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from imr_graph.cli.options import (
    emit_json,
    fail,
    filter_options,
    filters_from,
    one_line_errors,
    store_option,
)
from imr_graph.cli.render import CSV_FIELDS, answer_lines, answer_rows, group_by_letter

if TYPE_CHECKING:
    from imr_graph.query.answer import Answer
    from imr_graph.query.filters import Filters
    from imr_graph.query.precedent import PrecedentEngine


@click.command()
@click.argument("query")
@store_option
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--mode",
    type=click.Choice(["fused", "dense", "lexical"]),
    default="fused",
    show_default=True,
    help="fused: dense and lexical by reciprocal rank, a verbatim match of 8+ words first.",
)
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def search(query, store_dir, k, mode, as_json) -> None:
    """Rationale paragraphs closest to free text, with scores and the matched passage."""
    from imr_graph.query.search import search_passages
    from imr_graph.store.sqlite import Store

    if not query.strip():
        fail("empty query")
    with Store.open(store_dir, create=False, read_only=True) as store:
        hits = search_passages(store, query, k=k, mode=mode)
    if as_json:
        emit_json([h.to_json() for h in hits], pretty=True)
        return
    for h in hits:
        click.echo(f"{h.score:6.3f}  {h.letter}[{h.item}] {h.decision.upper():10s} {h.request}")
        click.echo(f"        {h.passage[:200]}")


@click.command()
@click.option("--request", "request_text", help="The new request, e.g. 'Norco 10/325 #90'.")
@click.option("--summary", "summary_text", default=None, help="Clinical picture (free text).")
@click.option("--summary-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--queries",
    "queries_file",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
    help="JSONL batch: {id, request, summary?} per line; `-` reads one plain request a line "
    "from standard input and answers each in turn.",
)
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 500))
@filter_options
@click.option("--by-letter", is_flag=True, help="Group results by letter.")
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default=None,
    help="Output format (default text; --json is --format json).",
)
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def precedents(
    request_text,
    summary_text,
    summary_file,
    queries_file,
    k,
    by_letter,
    store_dir,
    fmt,
    as_json,
    **filters,
) -> None:
    """Past decisions on requests like this one, with why each is there and a summary."""
    from imr_graph.query.filter_values import check_filters
    from imr_graph.query.precedent import PrecedentEngine
    from imr_graph.query.treatment import has_words
    from imr_graph.store.sqlite import Store

    if not request_text and not queries_file:
        fail("give --request TEXT, or --queries FILE.jsonl (or - for lines on stdin)", 2)
    if request_text is not None and not queries_file and not has_words(request_text):
        fail(
            f"--request {request_text.strip()[:40]!r} has no words: give the treatment asked "
            "for, e.g. --request 'Norco 10/325 #90'",
            2,
        )
    fmt = "json" if as_json else (fmt or "text")
    flt = filters_from(**filters)
    if summary_file:
        summary_text = summary_file.read_text(encoding="utf-8", errors="replace")
    with Store.open(store_dir, create=False, read_only=True) as store:
        engine = PrecedentEngine(store)
        check_filters(engine.arrays, flt)
        if queries_file and str(queries_file) == "-":
            _lines(engine, k, flt, by_letter, fmt)
            return
        if queries_file:
            _batch(engine, queries_file, k, flt, by_letter)
            return
        ans = engine.query(request_text, summary_text, k=k, filters=flt)
        _answer(engine, request_text, ans, flt, by_letter, fmt, pretty=True)


def _answer(
    engine: PrecedentEngine,
    request: str,
    ans: Answer,
    flt: Filters,
    by_letter: bool,
    fmt: str,
    pretty: bool,
) -> None:
    """Print one answer as text, JSON or CSV; an empty one says which filter emptied it."""
    from imr_graph.query.filter_values import why_empty

    empty = why_empty(engine.arrays, flt) if not ans.results else None
    if fmt == "json":
        out = ans.to_json()
        if by_letter:
            out["by_letter"] = group_by_letter(out["results"])
        if empty:
            out["empty_because"] = empty
        emit_json(out, pretty=pretty)
        return
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(answer_rows(ans))
        if empty:
            click.echo(f"imr-graph: no precedents: {empty}", err=True)
        return
    for line in answer_lines(request, ans, by_letter):
        click.echo(line)
    if empty:
        click.echo(f"no precedents: {empty}")


def _lines(engine: PrecedentEngine, k: int, flt: Filters, by_letter: bool, fmt: str) -> None:
    """`--queries -`: one plain request a line from stdin, each answered as it arrives (a line
    without a word is said on stderr and skipped)."""
    from imr_graph.query.treatment import has_words

    first = True
    for line in sys.stdin:
        request = line.strip()
        if not request:
            continue
        if not has_words(request):
            click.echo(f"imr-graph: error: {request[:40]!r} has no words; skipped", err=True)
            continue
        if not first and fmt == "text":
            click.echo("")
        first = False
        ans = engine.query(request, None, k=k, filters=flt)
        _answer(engine, request, ans, flt, by_letter, fmt, pretty=False)
        sys.stdout.flush()


def _batch(engine: PrecedentEngine, path: Path, k: int, flt: Filters, by_letter: bool) -> None:
    """One JSON line per input line, in order; a bad line is an error line and exit status 1."""
    from imr_graph.query.treatment import has_words

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
                if not has_words(q["request"]):
                    raise ValueError("the request has no words")
            except ValueError as e:
                click.echo(f"imr-graph: error: {path}:{n}: malformed query line ({e})", err=True)
                emit_json({"id": None, "line": n, "error": f"malformed query line: {e}"})
                bad += 1
                continue
            ans = engine.query(q["request"], q.get("summary"), k=k, filters=flt)
            out = {"id": q.get("id"), **ans.to_json()}
            if by_letter:
                out["by_letter"] = group_by_letter(out["results"])
            emit_json(out)
    if bad:
        sys.exit(1)


@click.command(name="eval")
@store_option
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--no-summary", is_flag=True, help="Ask with the request only.")
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(["lexical", "dense", "graph", "rrf", "sections", "hybrid"]),
)
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def eval_cmd(store_dir, k, no_summary, modes, as_json) -> None:
    """Leave-one-letter-out retrieval quality: nDCG@10, Recall@10, MRR, section hit@1."""
    from imr_graph.query.evaluate import MODES, evaluate
    from imr_graph.query.precedent import PrecedentEngine
    from imr_graph.store.sqlite import Store

    with Store.open(store_dir, create=False, read_only=True) as store:
        engine = PrecedentEngine(store)
        scores = evaluate(engine, tuple(modes) or tuple(MODES), k=k, use_summary=not no_summary)
    rows = [s.to_json() for s in scores]
    if as_json:
        emit_json(rows, pretty=True)
        return
    click.echo("section-based (relevant: cites the same guideline section)")
    click.echo(
        f"{'mode':8s} {'queries':>7s} {'nDCG@10':>8s} {'Recall@10':>9s} {'MRR':>6s} "
        f"{'sec.hit@1':>9s}"
    )
    for s in scores:
        click.echo(
            f"{s.mode:8s} {s.queries:7d} {s.ndcg10:8.3f} {s.recall10:9.3f} "
            f"{s.mrr:6.3f} {s.section_hit1:9.3f}"
        )
    click.echo("treatment-aware (same treatment: same concept or narrower, same form and region)")
    click.echo(
        f"{'mode':8s} {'queries':>7s} {'same@1':>8s} {'same@10':>9s} {'graded nDCG@10':>15s}"
    )
    for s in scores:
        click.echo(
            f"{s.mode:8s} {s.treatment_queries:7d} {s.same1:8.3f} {s.same10:9.3f} "
            f"{s.graded_ndcg10:15.3f}"
        )


@click.command()
@click.option("--treatment", help="A request text or concept id; its narrower kinds count too.")
@filter_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text")
@store_option
@one_line_errors
def items(
    treatment: str | None,
    fmt: str,
    store_dir: Path | None,
    **filters: str | None,
) -> None:
    """Every past item that matches, with its outcome, guideline sections and whole rationale."""
    from imr_graph.query.listing import list_items
    from imr_graph.store.sqlite import Store

    if treatment is not None and not treatment.strip():
        fail("--treatment is empty: give a request text (e.g. 'Lidoderm') or a concept id", 2)
    flt = filters_from(**filters)
    with Store.open(store_dir, create=False, read_only=True) as store:
        found = list_items(store, treatment, flt)
    rows = [r.to_json() for r in found]
    if fmt == "json":
        emit_json(rows, pretty=True)
        return
    if fmt == "csv":
        fields = [k for k in rows[0] if k != "rationale"] + ["rationale"] if rows else ["letter"]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**r, "sections": "; ".join(r["sections"])} for r in rows)
        return
    over = sum(r.decision == "overturned" for r in found)
    click.echo(f"{len(found)} items: {len(found) - over} upheld, {over} overturned")
    for r in found:
        click.echo(
            f"\n{r.case}[{r.item}]  decided {r.decision_date or '?'}  {r.decision.upper()}  "
            f"{r.request}"
        )
        click.echo(f"  sections: {'; '.join(r.sections) or '-'}")
        click.echo(f"  rationale: {r.rationale}")
