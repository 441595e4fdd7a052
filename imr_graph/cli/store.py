"""`imr-graph ingest | stats | show | remove | reindex | check`: the store and its indexes."""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from imr_graph.cli.distributed import check_ray, make_encoder, ray_options, shutdown
from imr_graph.cli.edge import EXIT_ERROR, EXIT_PARTIAL
from imr_graph.cli.options import (
    _encoder,
    emit_json,
    fail,
    model_option,
    one_line_errors,
    quiet_option,
    show_progress,
    store_option,
)
from imr_graph.cli.render import _readable

if TYPE_CHECKING:
    from imr_graph.store.sqlite import Store
    from kg.model import Letter


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@store_option
@model_option
@click.option("--no-index", is_flag=True, help="Store and graph only; skip embedding.")
@ray_options
@quiet_option
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def ingest(  # noqa: ANN001
    paths, store_dir, model, no_index, ray_address, ray_batch_size, ray_concurrency, quiet, as_json
) -> None:
    """Parse letter files or folders (recursively) into the store and its indexes.

    Ends with one summary line (stored, unchanged, failed, skipped); exit 3 when some files
    failed and the rest were stored, 1 when nothing could be stored (and then nothing is
    created).
    """
    from imr_graph.config import default_store_dir
    from imr_graph.index.indexes import Indexes
    from imr_graph.store.ingest import LETTER_SUFFIXES, letter_files, skipped_files
    from imr_graph.store.ingest import ingest as run_ingest
    from imr_graph.store.sqlite import Store

    check_ray(None if no_index else ray_address)
    missing = [str(p) for p in paths if not p.exists()]
    present = [p for p in paths if p.exists()]
    skipped = skipped_files(present)
    kinds = _kinds(skipped)
    if not any(True for _ in letter_files(present)):
        where = ", ".join(map(str, paths))
        found = f"; skipped {len(skipped)} other file(s): {kinds}" if skipped else ""
        gone = f"; {len(missing)} path(s) do not exist: {', '.join(missing)}" if missing else ""
        fail(f"no letter files ({', '.join(LETTER_SUFFIXES)}) in {where}{found}{gone}")
    target = Path(store_dir) if store_dir is not None else default_store_dir()
    made = _first_missing(target)
    with Store.open(target) as store, store.writing():
        # The writer lock covers SQL and index writes; a second writer waits, then one line.
        encoder = None
        if not no_index:
            encoder = make_encoder(model, ray_address, ray_batch_size, ray_concurrency, store)
        try:
            idx = None if encoder is None else Indexes.open(store, encoder)
            # Ray Data reports its own progress
            progress = show_progress(as_json, quiet) and ray_address is None
            report = run_ingest(store, present, idx, progress=progress)
            counts = store.counts()
        finally:
            shutdown(encoder)
    failed = [*((m, "no such file or folder") for m in missing), *report.failed]
    stored = len(report.added) + len(report.replaced)
    if made is not None and not stored and not counts["letters"]:
        shutil.rmtree(made, ignore_errors=True)  # a failed first ingest leaves nothing behind
    if as_json:
        emit_json(
            {
                "added": list(report.added),
                "replaced": list(report.replaced),
                "unchanged": list(report.unchanged),
                "failed": [{"path": p, "error": e} for p, e in failed],
                "skipped": [str(p) for p in skipped],
                "items_added": report.items_added,
                "items_removed": report.items_removed,
                "store": counts,
            }
        )
    for p, e in failed:
        click.echo(f"imr-graph: error: {p}: {e}", err=True)
    if not as_json:
        click.echo(
            f"stored {stored} letter(s) ({len(report.added)} new, {len(report.replaced)} "
            f"replaced), {len(report.unchanged)} unchanged, {len(failed)} failed, "
            f"{len(skipped)} skipped{f' ({kinds})' if skipped else ''}; store has "
            f"{counts['letters']} letters, {counts['items']} items"
        )
    if failed:
        sys.exit(EXIT_PARTIAL if stored or report.unchanged else EXIT_ERROR)


def _kinds(files: list[Path]) -> str:
    """`2 .docx, 1 .csv`: the skipped files by kind."""
    counts = Counter(f.suffix.lower() or "no extension" for f in files)
    return ", ".join(f"{n} {kind}" for kind, n in counts.most_common())


def _first_missing(folder: Path) -> Path | None:
    """The topmost folder on the way to `folder` that does not exist yet (None: it exists)."""
    folder = folder.absolute()
    if folder.exists():
        return None
    top = folder
    while not top.parent.exists():
        top = top.parent
    return top


SMALL_SAMPLE = 10  # items under which a rate is marked as a small sample


@click.command()
@store_option
@click.option("--json", "as_json", is_flag=True)
@click.option("--unmapped", "show_unmapped", is_flag=True, help="List every unmapped request.")
@click.option(
    "--by",
    type=click.Choice(["specialty", "category", "treatment", "section", "document", "year"]),
    help="Outcomes grouped: items, upheld, overturned, overturn rate.",
)
@one_line_errors
def stats(store_dir, as_json, show_unmapped, by) -> None:  # noqa: ANN001
    """Counts of letters, items, outcomes, node kinds and treatment-concept coverage; with
    --by, outcomes per group (groups under 10 items are marked: a small sample)."""
    from imr_graph.explore.stats import store_stats
    from imr_graph.store.sqlite import Store

    if by:
        from imr_graph.explore.graph_queries import overturn_rates

        with Store.open(store_dir, create=False, read_only=True) as store:
            rates = overturn_rates(store, by=by)
        rows = [
            {
                "key": r.key,
                "label": r.label,
                "items": r.items,
                "upheld": r.upheld,
                "overturned": r.overturned,
                "overturn_rate": round(r.overturn_rate, 4),
                "small_sample": r.items < SMALL_SAMPLE,
            }
            for r in rates
        ]
        if as_json:
            emit_json(rows, pretty=True)
            return
        click.echo(f"{by:40.40s} {'items':>6s} {'upheld':>7s} {'overturned':>10s} {'rate':>6s}")
        for r in rows:
            warn = "  (small sample)" if r["small_sample"] else ""
            click.echo(
                f"{str(r['label']):40.40s} {r['items']:6d} {r['upheld']:7d} "
                f"{r['overturned']:10d} {r['overturn_rate']:6.0%}{warn}"
            )
        return
    with Store.open(store_dir, create=False, read_only=True) as store:
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


@click.command()
@click.argument("ident")
@store_option
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def show(ident, store_dir, as_json) -> None:  # noqa: ANN001
    """A letter by any id the tool prints (case number in any case, CASE[n], file stem, item id):
    its items with citations, decisions and whole rationales, the summary, the source file."""
    from imr_graph.explore.stats import letter_view
    from imr_graph.store.sqlite import Store

    with Store.open(store_dir, create=False, read_only=True) as store:
        letter, item = _find(store, ident)
        view = letter_view(store, letter)
    if item is not None and not 0 <= item < len(letter.items):
        fail(f"{ident}: letter {letter.key} has items 0-{len(letter.items) - 1}; no item {item}")
    if as_json:
        if item is not None:
            view["item"] = item
        emit_json(view, pretty=True)
        return
    click.echo(_readable(letter))
    click.echo(f"  source: {letter.source or letter.letter}")
    if letter.summary:
        click.echo("  clinical case summary:")
        click.echo(_indent(letter.summary))
    for it in letter.items:
        if item is not None and it.position != item:
            continue
        click.echo(f"  rationale of item [{it.position}] ({it.decision}): {it.request}")
        click.echo(_indent(it.rationale or "(none)"))
    click.echo("  neighbours:")
    for it in view["items"]:
        if item is not None and it["position"] != item:
            continue
        concepts = ", ".join(t["label"] for t in it["treatments"]) or "(unmapped)"
        click.echo(f"    [{it['position']}] treatments: {concepts}")
        for n in it["similar_items"][:3]:
            click.echo(
                f"        shares a concept with {n['letter']}[{n['item']}] {n['decision']}: "
                f"{n['request']}"
            )


def _find(store: Store, ident: str) -> tuple[Letter, int | None]:
    """The letter (and item) an id names: `CASE[n]`, a case number in any case, a file stem,
    `letter:`/`item:` node ids; StoreError naming the id when none matches."""
    import re

    text = ident.strip()
    item = None
    m = re.fullmatch(r"(.+?)\s*\[(\d+)\]", text) or re.fullmatch(r"item:(.+)/(\d+)", text)
    if m:
        text, item = m.group(1), int(m.group(2))
    for candidate in dict.fromkeys((text, text.upper(), text.lower(), Path(text).stem)):
        letter = store.find_letter(candidate)
        if letter is not None:
            return letter, item
    return store.require_letter(text), item


def _indent(text: str, width: int = 96) -> str:
    import textwrap

    return "\n".join(
        textwrap.fill(p, width, initial_indent="      ", subsequent_indent="      ")
        for p in text.split("\n")
        if p.strip()
    )


@click.command()
@click.argument("ident")
@store_option
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def remove(ident, store_dir, as_json) -> None:  # noqa: ANN001
    """Remove a letter and everything derived from it (items, nodes, vectors)."""
    from imr_graph.index.indexes import Indexes
    from imr_graph.store.sqlite import Store

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


@click.command()
@store_option
@model_option
@ray_options
@quiet_option
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def reindex(  # noqa: ANN001
    store_dir, model, ray_address, ray_batch_size, ray_concurrency, quiet, as_json
) -> None:
    """Rebuild the vector and lexical indexes from the store (embedding cache reused)."""
    import time

    from imr_graph.index.indexes import Indexes
    from imr_graph.store.sqlite import Store

    check_ray(ray_address)
    t0 = time.perf_counter()
    with Store.open(store_dir, create=False) as store, store.writing():
        encoder = make_encoder(model, ray_address, ray_batch_size, ray_concurrency, store)
        try:
            idx = Indexes.empty(store, encoder)
            idx.rebuild(show_progress=show_progress(as_json, quiet) and ray_address is None)
            n = len(idx.lexical)
            model_name = idx.encoder.model_name
        finally:
            shutdown(encoder)
    out = {"items": n, "model": model_name, "seconds": round(time.perf_counter() - t0, 2)}
    if as_json:
        emit_json(out)
    else:
        click.echo(f"reindexed {n} items with {model_name} in {out['seconds']} s")


@click.command()
@store_option
@click.option("--no-index", is_flag=True, help="Check the SQL store and graph only.")
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def check(store_dir, no_index, as_json) -> None:  # noqa: ANN001
    """Verify the store's invariants (SQL rows, graph, vectors, lexical index, model)."""
    from imr_graph.store.check import check_store
    from imr_graph.store.sqlite import default_store_dir

    results = check_store(store_dir or default_store_dir(), indexes=not no_index)
    failed = [c for c in results if not c.ok]
    if as_json:
        emit_json({"ok": not failed, "checks": [c.to_json() for c in results]}, pretty=True)
    else:
        for c in results:
            tag = "FAIL" if not c.ok else "WARN" if c.warning else "OK  "
            click.echo(f"{tag} {c.name:18s} {c.reason}")
    if failed:
        sys.exit(EXIT_ERROR)
