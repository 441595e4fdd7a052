"""Each notebook, run on the bundled sample, shows the numbers the sample's letters hold.

The notebooks carry no asserts of their own: this runs them with nbclient and reads the key
numbers back from the executed cells' outputs (printed lines and the HTML tables), found by a
phrase of the cell's code rather than by its position, so that adding a cell breaks nothing.
"""

from __future__ import annotations

import html
import re

import pytest
from corpus_paths import REPO

KERNEL = "python3"
CHRONIC_PAIN = "MTUS Chronic Pain Medical Treatment Guidelines"
SAMPLE_COUNTS = "{'letters': 5, 'items': 16, 'upheld': 14, 'overturned': 2}"


class Ran:
    """An executed notebook: each code cell's printed text, HTML tables and figures."""

    def __init__(self, nb) -> None:  # noqa: ANN001
        self.cells = [c for c in nb.cells if c.cell_type == "code"]

    def cell(self, phrase: str):  # noqa: ANN201
        found = [c for c in self.cells if phrase in c.source]
        assert len(found) == 1, f"{len(found)} code cells contain {phrase!r}"
        return found[0]

    def text(self, phrase: str) -> str:
        outs = self.cell(phrase).outputs
        return "".join(o.text for o in outs if o.output_type == "stream" and o.name == "stdout")

    def tables(self, phrase: str) -> list[list[list[str]]]:
        """Each HTML table of the cell as rows of cell texts (header row first)."""
        out = []
        for o in self.cell(phrase).outputs:
            h = o.get("data", {}).get("text/html")
            if h:
                rows = re.findall(r"<tr>(.*?)</tr>", h, re.S)
                cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in rows]
                out.append([[html.unescape(re.sub("<[^>]+>", "", c)) for c in r] for r in cells])
        return out

    def figures(self) -> int:
        return sum("image/png" in o.get("data", {}) for c in self.cells for o in c.outputs)

    def errors(self) -> list:
        return [o for c in self.cells for o in c.outputs if o.output_type == "error"]


def _run(name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Ran:
    import nbformat
    from nbclient import NotebookClient

    for k, v in env.items():
        monkeypatch.setenv(k, v)  # the kernel inherits this process's environment
    path = REPO / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    ran = Ran(nb)
    assert not ran.errors(), ran.errors()
    return ran


def _by_first(table: list[list[str]]) -> dict[str, list[str]]:
    return {r[0]: r[1:] for r in table[1:]}


def test_explore_notebook_numbers(
    kernel_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _run("explore", kernel_env, monkeypatch)
    assert SAMPLE_COUNTS in nb.text("notebook_store()")

    kinds, relations = nb.tables("store_stats(store)")
    kinds_n = {k: int(v[0]) for k, v in _by_first(kinds).items()}
    assert kinds_n["disputed_item"] == 16 and kinds_n["letter"] == 5
    assert kinds_n["treatment"] == 23
    assert sum(kinds_n.values()) == 133  # what `imr-graph check` counts (4 clinical facts)
    assert sum(int(v[0]) for v in _by_first(relations).values()) == 286
    assert "edges: 286   treatment coverage: 100% (0 unmapped requests)" in nb.text("store_stats")

    (cats,) = nb.tables('overturn_rates(store, by="category")')
    rows = _by_first(cats)
    assert rows["Medication"][:3] == ["9", "9", "0"]
    assert rows["Surgery"][:3] == ["4", "3", "1"]
    assert rows["Evaluation and consultation"][:3] == ["1", "0", "1"]
    for items, upheld, overturned, _ in rows.values():
        assert int(items) == int(upheld) + int(overturned)

    (docs,) = nb.tables('overturn_rates(store, by="document")')
    assert _by_first(docs)["MTUS Chronic Pain Medical Treatment Guidelines"][:3] == [
        "14",
        "12",
        "2",
    ]

    mtus, odg = nb.tables("most_cited(")
    assert mtus[1] == [
        "Topical Analgesics",
        "MTUS Chronic Pain Medical Treatment Guidelines",
        "4",
        "3",
    ]
    assert len(odg) == 3  # two ODG chapters, each cited once

    assert "letter 002_e7994c1041a16335: 5 items, 41 nodes, 69 edges" in nb.text("neighbourhood(")
    (items,) = nb.tables("neighbourhood(")
    assert [r[2] for r in items[1:]] == ["overturned", "upheld", "upheld", "upheld", "upheld"]

    (pairs,) = nb.tables("co_cited_sections(")
    assert pairs[1][0].startswith("Topical Analgesics") and pairs[1][2] == "1"
    assert nb.figures() >= 6


def test_precedents_notebook_numbers(
    kernel_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _run("precedents", kernel_env, monkeypatch)
    assert SAMPLE_COUNTS in nb.text("notebook_store()")
    assert "concepts: ('drug:ketamine', 'tx:topical-analgesic')" in nb.text("normalize_request(")

    (results,) = nb.tables("enumerate(answer.results)")
    assert len(results) == 11  # header + k=10
    assert {r[1] for r in results[1:3]} == {"000_a6fb61ff4979abe4 #2", "003_f7e1d4b1d59f344c #1"}

    summary = nb.text("answer.summary")
    assert "precedents returned: 10  upheld 9  overturned 1" in summary
    assert "all past items for drug:ketamine: 2  upheld 2  overturned 0" in summary
    (gov,) = nb.tables("answer.summary")
    assert gov[1][:3] == ["Topical Analgesics", "gdoc:mtus-chronic-pain", "4"]

    (opioid,) = nb.tables('Filters(guideline="MTUS")')
    assert opioid[1][1:4] == ["004_030cb33236d584c4 #3", "Prescription of Norco", "upheld"]
    assert "governing section: Opioids" in nb.text('Filters(guideline="MTUS")')

    assert "(16 sections)" in nb.text('"overturn_rate_by_section"')
    (by_section,) = nb.tables('"overturn_rate_by_section"')
    esi = [r for r in by_section[1:] if r[1] == "Epidural steroid injections"]
    assert [r[2:4] for r in esi] == [["1", "1"]]

    (page,) = nb.tables('"letters_citing_mtus_page"')
    assert len(page) == 6  # the five items citing MTUS page 111

    (scores,) = nb.tables("evaluate(engine)")
    modes = _by_first(scores)
    assert set(modes) == {"lexical", "dense", "graph", "rrf", "sections", "hybrid"}
    assert all(v[0] == "7" for v in modes.values())
    assert float(modes["hybrid"][2]) == 1.0
    # the same-treatment grouping costs section-based nDCG (README, Retrieval quality): on the
    # 7 sample queries the hybrid is above graph and BM25, no longer above dense or fusion alone
    hybrid = float(modes["hybrid"][1])
    assert hybrid > float(modes["graph"][1]) and hybrid >= float(modes["lexical"][1])
    assert nb.figures() >= 1
