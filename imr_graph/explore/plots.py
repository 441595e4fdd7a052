"""Figures and tables for notebooks: a letter's neighbourhood, outcome bars, evaluation bars.

matplotlib is imported inside each function, so importing this module costs nothing and the
package does not need matplotlib unless a figure is drawn. Every drawing function takes an
optional `ax` and returns the Axes it drew on.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from kg import graph as G

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.axes import Axes

    from imr_graph.explore.graph_queries import Rate
    from imr_graph.query.evaluate import Scores

# one colour per node kind (colour-blind-safe Okabe-Ito hues first)
KIND_COLORS: dict[str, str] = {
    G.LETTER: "#000000",
    G.SPECIALTY: "#999999",
    G.ITEM: "#0072B2",
    G.OUTCOME: "#D55E00",
    G.TREATMENT: "#009E73",
    G.CATEGORY: "#66C2A5",
    G.REGION: "#CC79A7",
    G.SECTION: "#E69F00",
    G.EDITION: "#F0E442",
    G.PAGE: "#F5D08A",
    G.DOCUMENT: "#B8860B",
    G.SOURCE: "#8C6D1F",
    G.CASE: "#BBBBBB",
    G.RATIONALE: "#DDDDDD",
}
OUTCOME_COLORS = {"upheld": "#56B4E9", "overturned": "#D55E00"}

# left-to-right columns of the neighbourhood drawing
_COLUMNS: tuple[tuple[str, ...], ...] = (
    (G.LETTER, G.SPECIALTY, G.CASE),
    (G.ITEM,),
    (G.OUTCOME,),
    (G.TREATMENT, G.CATEGORY, G.REGION),
    (G.SECTION, G.EDITION, G.PAGE, G.DOCUMENT, G.SOURCE),
)
_DEFAULT_KINDS = frozenset(
    {G.LETTER, G.SPECIALTY, G.ITEM, G.OUTCOME, G.TREATMENT, G.REGION, G.SECTION}
)


def _wrap(text: str, width: int, lines: int) -> str:
    out = textwrap.wrap(" ".join(str(text).split()), width) or [""]
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "\u2026"
    return "\n".join(out)


def _label(g: nx.MultiDiGraph, n: str) -> str:
    d = g.nodes[n]
    kind = d.get("kind")
    if kind == G.ITEM:
        return f"#{d.get('position')} {d.get('request', '')}"
    if kind == G.LETTER:
        return f"letter {d.get('case_number') or d.get('label', n)}"
    return str(d.get("label", n))


def draw_neighbourhood(
    sub: nx.MultiDiGraph,
    ax: Axes | None = None,
    kinds: Iterable[str] | None = None,
    title: str | None = None,
    wrap: int = 30,
) -> Axes:
    """Draw `api.neighbourhood(...)` in columns: letter, items, outcomes, treatments, sections.

    Nodes are labelled boxes coloured by kind; edges cited by MAXIMUS are solid, those cited by
    the claims administrator dashed. `kinds` picks the node kinds shown (default: letter,
    reviewer specialty, item, outcome, treatment, body region, guideline section; add
    "guideline_page" or "guideline_edition" to see page-level citations).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    show = frozenset(kinds) if kinds is not None else _DEFAULT_KINDS
    nodes = [n for n, d in sub.nodes(data=True) if d.get("kind") in show]
    col_of = {k: i for i, ks in enumerate(_COLUMNS) for k in ks}
    columns: list[list[str]] = [[] for _ in _COLUMNS]
    for n in nodes:
        columns[col_of.get(sub.nodes[n]["kind"], len(_COLUMNS) - 1)].append(n)
    # order each column by the mean position of its neighbours in earlier columns (barycentre)
    y: dict[str, float] = {}
    for ci, col in enumerate(columns):

        def key(n: str, ci: int = ci) -> tuple[float, str, str]:
            ys = [y[m] for m in set(sub.predecessors(n)) | set(sub.successors(n)) if m in y]
            bary = -sum(ys) / len(ys) if ys and ci > 0 else 0.0  # top (high y) first
            d = sub.nodes[n]
            return (bary, str(d.get("kind")), f"{d.get('position', '')}{n}")

        col.sort(key=key)
        if ci == 1:  # items read best in letter order
            col.sort(key=lambda n: sub.nodes[n].get("position", 0))
        for i, n in enumerate(col):
            y[n] = -(i - (len(col) - 1) / 2)
    rows = max((len(c) for c in columns), default=1)
    x = {n: float(ci) for ci, col in enumerate(columns) for n in col}
    if ax is None:
        _, ax = plt.subplots(figsize=(17, max(4.0, 0.8 * rows + 1.2)))
    shown = set(nodes)
    for u, v, d in sub.edges(data=True):
        if u not in shown or v not in shown:
            continue
        style = "--" if d.get("by") == "claims_administrator" else "-"
        color = "#999999"
        if d.get("rel") == G.DECIDED:
            color = OUTCOME_COLORS.get(str(sub.nodes[v].get("label")), color)
        if x[u] == x[v]:  # same column (broader concept, second specialty): bow the edge
            ax.annotate(
                "",
                (x[v], y[v]),
                (x[u], y[u]),
                arrowprops={
                    "arrowstyle": "-",
                    "ls": style,
                    "color": color,
                    "alpha": 0.7,
                    "connectionstyle": "arc3,rad=0.4",
                    "shrinkA": 0,
                    "shrinkB": 0,
                },
                zorder=1,
            )
        else:
            ax.plot([x[u], x[v]], [y[u], y[v]], style, color=color, lw=1.0, alpha=0.7, zorder=1)
    for n in nodes:
        kind = sub.nodes[n]["kind"]
        face = KIND_COLORS.get(kind, "#CCCCCC")
        if kind == G.OUTCOME:
            face = OUTCOME_COLORS.get(str(sub.nodes[n].get("label")), face)
        dark = kind in (G.LETTER, G.ITEM, G.OUTCOME, G.TREATMENT, G.SPECIALTY)
        ax.text(
            x[n],
            y[n],
            _wrap(_label(sub, n), wrap, 3),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if dark else "black",
            zorder=3,
            bbox={"boxstyle": "round,pad=0.35", "fc": face, "ec": "white", "lw": 0.8},
        )
    present = [k for ks in _COLUMNS for k in ks if any(sub.nodes[n]["kind"] == k for n in nodes)]
    handles: list[Any] = []
    for k in present:
        if k == G.OUTCOME:
            handles += [Patch(color=c, label=f"outcome: {o}") for o, c in OUTCOME_COLORS.items()]
        else:
            handles.append(Patch(color=KIND_COLORS.get(k, "#CCCCCC"), label=k.replace("_", " ")))
    handles += [
        Line2D([], [], color="#999999", ls="-", label="cited by MAXIMUS / other link"),
        Line2D([], [], color="#999999", ls="--", label="cited by claims administrator"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_xlim(-0.6, len(_COLUMNS) - 0.4)
    ax.set_ylim(-(rows / 2) - 0.2, rows / 2 + 0.2)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def bar_rates(
    rates: Sequence[Rate], ax: Axes | None = None, title: str | None = None, top: int = 15
) -> Axes:
    """Horizontal stacked bars of upheld/overturned items per group (`api.overturn_rates`)."""
    import matplotlib.pyplot as plt

    rates = list(rates)[:top]
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.4 * len(rates) + 1.2))
    labels = [_wrap(r.label, 45, 1) for r in rates][::-1]
    up = [r.upheld for r in rates][::-1]
    ov = [r.overturned for r in rates][::-1]
    ax.barh(labels, up, color=OUTCOME_COLORS["upheld"], label="upheld")
    ax.barh(labels, ov, left=up, color=OUTCOME_COLORS["overturned"], label="overturned")
    for i, r in enumerate(rates[::-1]):
        ax.text(r.items, i, f"  {r.overturn_rate:.0%} of {r.items}", va="center", fontsize=8)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("items")
    ax.set_xlim(0, max((r.items for r in rates), default=1) * 1.25)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def bar_counts(
    labels: Sequence[str],
    values: Sequence[float],
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "count",
    color: str = "#0072B2",
    wrap: int = 60,
) -> Axes:
    """Horizontal bars, first label on top; a label's lines are cut at `wrap` characters."""
    import matplotlib.pyplot as plt

    if ax is None:
        lines = sum(str(x).count("\n") + 1 for x in labels)
        _, ax = plt.subplots(figsize=(9, 0.3 * lines + 0.1 * len(labels) + 1.2))
    from matplotlib.ticker import MaxNLocator

    shown = ["\n".join(_wrap(part, wrap, 1) for part in x.split("\n")) for x in labels]
    ax.barh(shown[::-1], list(values)[::-1], color=color)
    for i, v in enumerate(list(values)[::-1]):
        ax.text(v, i, f" {v:g}", va="center", fontsize=8)
    ax.set_xlim(0, max(values, default=1) * 1.1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    return ax


def bar_scores(
    scores: Sequence[Scores],
    metrics: Sequence[str] = ("ndcg10",),
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Grouped bars of `evaluate()` scores per retrieval mode (default: nDCG@10)."""
    import matplotlib.pyplot as plt

    names = {"ndcg10": "nDCG@10", "recall10": "recall@10", "mrr": "MRR"}
    names["section_hit1"] = "section hit@1"
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(metrics)
    for j, m in enumerate(metrics):
        xs = [i + (j - (len(metrics) - 1) / 2) * width for i in range(len(scores))]
        vals = [getattr(s, m) for s in scores]
        bars = ax.bar(xs, vals, width, label=names.get(m, m))
        ax.bar_label(bars, fmt="%.3f", fontsize=8)
    ax.set_xticks(range(len(scores)), [s.mode for s in scores])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    if len(metrics) > 1:
        ax.legend(fontsize=8)
    n = scores[0].queries if scores else 0
    ax.set_title(title or f"precedent retrieval, leave-one-letter-out ({n} queries)")
    return ax


class Table:
    """Rows shown as an HTML table in a notebook and as aligned text elsewhere (no pandas)."""

    def __init__(self, headers: Sequence[str], rows: Iterable[Sequence[Any]], width: int = 80):
        self.headers = [str(h) for h in headers]
        self.rows = [list(r) for r in rows]
        self.width = width

    @staticmethod
    def _cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.3f}".rstrip("0").rstrip(".") if v != int(v) else f"{v:g}"
        return str(v)

    def __len__(self) -> int:
        return len(self.rows)

    def _repr_html_(self) -> str:
        def row(cells: Sequence[Any], tag: str) -> str:
            return (
                "<tr>"
                + "".join(
                    f"<{tag} style='text-align:left;vertical-align:top'>"
                    f"{html.escape(self._cell(c)).replace(chr(10), '<br>')}</{tag}>"
                    for c in cells
                )
                + "</tr>"
            )

        body = "".join(row(r, "td") for r in self.rows)
        return f"<table><thead>{row(self.headers, 'th')}</thead><tbody>{body}</tbody></table>"

    def __str__(self) -> str:
        cells = [[self._cell(v).replace("\n", " ")[: self.width] for v in r] for r in self.rows]
        widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(self.headers)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(self.headers, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
        return "\n".join(line.rstrip() for line in lines)

    __repr__ = __str__
