"""Every page of `imr-graph serve` with its `.json` and `.csv` twins, in-process (no browser)."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from corpus_paths import REPO
from starlette.testclient import TestClient
from web_fixtures import SAMPLE_LETTERS, client_fixture, sample_store_fixture  # noqa: F401

from imr_graph.letters.parse import parse_file
from kg.model import letter_to_json

NORCO = {"request": "Norco 10/325 #90", "summary": "chronic low back pain, on opioids"}


class Links(HTMLParser):
    """Every href/src/action of a page, and the ids and list items of `ol#results`."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.ids: list[str] = []
        self.result_items = 0
        self._depth = 0  # >0 inside ol#results
        self._ol = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for k in ("href", "src", "action"):
            if a.get(k):
                self.urls.append(str(a[k]))
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "ol":
            if a.get("id") == "results":
                self._depth = 1
            elif self._depth:
                self._depth += 1
        if tag == "li" and self._depth == 1:
            self.result_items += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "ol" and self._depth:
            self._depth -= 1


def parse(text: str) -> Links:
    p = Links()
    p.feed(text)
    return p


def cli(*args: str) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "imr_graph.cli", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_search_form_has_a_label_for_every_field(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    page = r.text
    fields = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page)
    assert {"request", "summary", "k", "decision", "from", "to", "letter"} <= set(fields)
    for f in fields:
        assert f'for="{f}"' in page, f"field {f} has no label"
    assert 'name="request"' in page and 'name="summary"' in page and 'name="k"' in page
    for name in ("decision", "guideline", "document", "section", "region", "category"):
        assert f'name="{name}"' in page
    assert 'name="specialty"' in page and 'name="from"' in page and 'name="to"' in page


def test_precedents_json_is_what_the_cli_prints(client: TestClient, sample_store: Path) -> None:
    for params, flags in (
        (NORCO, ["--request", NORCO["request"], "--summary", NORCO["summary"]]),
        (
            {"request": "lumbar MRI", "k": "5", "decision": "upheld", "by_letter": "1"},
            ["--request", "lumbar MRI", "--k", "5", "--decision", "upheld", "--by-letter"],
        ),
        (
            {"request": "topical cream", "guideline": "MTUS", "region": "spine"},
            ["--request", "topical cream", "--guideline", "MTUS", "--region", "spine"],
        ),
    ):
        r = client.get("/precedents.json", params=params)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        want = cli("precedents", *flags, "--json", "--store", str(sample_store))
        assert r.text == want


def test_results_page_lists_each_result_with_its_parts(client: TestClient) -> None:
    r = client.get("/precedents", params={**NORCO, "k": "4"})
    assert r.status_code == 200
    page = parse(r.text)
    assert page.result_items == 4
    answer = client.get("/precedents.json", params={**NORCO, "k": "4"}).json()
    first = answer["results"][0]
    assert f"/letters/{first['letter']}#item-{first['item'] + 1}" in page.urls
    assert "Upheld (denial stands)" in r.text or "Overturned (treatment approved)" in r.text
    assert any(u.startswith("/sections/") for u in page.urls)
    marked = client.get("/precedents", params={"request": "ketamine cream"}).text
    assert re.search(r"<mark>ketamine</mark>", marked, re.IGNORECASE)  # the query's terms
    assert "same treatment: Hydrocodone" in r.text  # why, in words
    assert "Cite as:" in r.text and "item 4, Upheld" in r.text
    assert "Likely governing sections" in r.text and "Same treatment in the store" in r.text
    assert "Small sample" in r.text  # 5 letters: the warning shows
    assert "5 letters, 16 items, store generation" in r.text  # what it was computed on
    assert r.headers["x-imr-letters"] == "5"


def test_facet_link_narrows_the_search(client: TestClient) -> None:
    r = client.get("/precedents", params={"request": "MRI", "k": "10"})
    links = [u for u in parse(r.text).urls if "decision=overturned" in u]
    assert links, "no decision facet"
    narrowed = client.get(links[0])
    assert narrowed.status_code == 200
    q = {k: v[0] for k, v in parse_qs(urlsplit(links[0]).query).items()}
    assert q["request"] == "MRI" and q["decision"] == "overturned"
    got = client.get("/precedents.json", params=q).json()["results"]
    assert got and all(x["decision"] == "overturned" for x in got)
    sec = [u for u in parse(r.text).urls if u.startswith("/precedents?") and "section=" in u]
    assert sec
    assert client.get(sec[0]).status_code == 200


def test_precedents_csv_has_one_row_per_result(client: TestClient) -> None:
    r = client.get("/precedents.csv", params={**NORCO, "k": "3"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0].startswith("# imr-graph: 5 letters")
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))
    assert len(rows) == 3
    assert list(rows[0]) == [
        "case_number",
        "decision_date",
        "item",
        "request",
        "decision",
        "sections",
        "score",
        "why",
        "permalink",
    ]
    assert rows[0]["permalink"].startswith("http://testserver/letters/")
    assert rows[0]["decision"] in ("upheld", "overturned") and rows[0]["why"]


def test_grouped_by_letter(client: TestClient) -> None:
    r = client.get("/precedents", params={"request": "MRI", "by_letter": "1"})
    assert r.status_code == 200 and 'class="by-letter"' in r.text
    assert 'name="by_letter" type="checkbox" value="1" checked' in r.text


def test_letter_page_and_its_json_is_the_parse(client: TestClient) -> None:
    path = SAMPLE_LETTERS[0]
    letter = parse_file(path)
    r = client.get(f"/letters/{letter.key}")
    assert r.status_code == 200
    for it in letter.items:
        assert f'id="item-{it.position + 1}"' in r.text
    assert "More like this" in r.text and "MAXIMUS cited" in r.text
    assert "Claims Administrator cited" in r.text
    assert letter.items[0].rationale.split(".")[0] in html.unescape(r.text)
    j = client.get(f"/letters/{letter.key}.json")
    assert j.json() == json.loads(json.dumps(letter_to_json(letter)))
    more = [u for u in parse(r.text).urls if u.startswith("/precedents?")][0]
    got = client.get(more.replace("/precedents?", "/precedents.json?")).json()["results"]
    assert got and all(x["letter"] != letter.key for x in got)  # itself left out


def test_section_page_cited_by_with_counts_and_filters(client: TestClient) -> None:
    sid = "gdoc:mtus-chronic-pain/opioid"
    r = client.get(f"/sections/{sid}")
    assert r.status_code == 200 and "<svg" in r.text and "Cited by" in r.text
    j = client.get(f"/sections/{sid}.json").json()
    assert j["section"]["label"] == "Opioids" and j["cited_by"]
    assert j["computed_on"]["letters"] == 5
    up = client.get(f"/sections/{sid}.json", params={"decision": "overturned"}).json()
    assert all(c["decision"] == "overturned" for c in up["cited_by"])
    c = client.get(f"/sections/{sid}.csv")
    assert c.status_code == 200 and "case_number,decision_date,item" in c.text


def test_passage_search_finds_the_letter_a_sentence_was_pasted_from(client: TestClient) -> None:
    found = 0
    asked = 0
    for path in SAMPLE_LETTERS:
        letter = parse_file(path)
        for it in letter.items[:2]:
            sentences = [s.strip() for s in it.rationale.split(". ") if len(s.split()) >= 10]
            if not sentences:
                continue
            asked += 1
            hits = client.get("/search.json", params={"q": sentences[0], "k": "3"}).json()["hits"]
            found += any(h["letter"] == letter.key for h in hits)
    assert asked >= 8 and found == asked
    page = client.get("/search", params={"q": "topical ketamine"})
    assert page.status_code == 200 and parse(page.text).result_items > 0
    assert client.get("/search.csv", params={"q": "ketamine"}).status_code == 200


def test_stats_page_draws_svg_charts(client: TestClient) -> None:
    r = client.get("/stats")
    assert (
        r.status_code == 200
        and r.text.count("<svg") == 3
        and "<script" not in r.text.split("</head>")[1]
    )
    j = client.get("/stats.json").json()
    assert j["letters"] == 5 and set(j["rates"]) == {"category", "section", "specialty"}


def test_graph_page_is_small_and_every_node_a_link_with_a_title(client: TestClient) -> None:
    letter = parse_file(SAMPLE_LETTERS[0]).key
    r = client.get(f"/graph/letter:{letter}")
    assert r.status_code == 200
    svg = r.text[r.text.index("<svg") : r.text.index("</svg>")]
    nodes = client.get(f"/graph/letter:{letter}.json").json()["nodes"]
    assert 1 < len(nodes) <= 50
    assert svg.count("<a href=") == len(nodes) and svg.count("<title>") == len(nodes) + 1
    assert 'id="as-list"' in r.text  # the list alternative


def test_pages_load_nothing_from_elsewhere(client: TestClient) -> None:
    letter = parse_file(SAMPLE_LETTERS[0]).key
    for url in ("/", "/precedents?request=Norco", f"/letters/{letter}", "/stats", "/search"):
        r = client.get(url)
        assert "default-src 'self'" in r.headers["content-security-policy"]
        for u in parse(r.text).urls:
            assert u.startswith(("/", "#", "http://testserver/", "data:")), f"{url}: {u}"


def test_host_header_other_than_loopback_is_refused(client: TestClient) -> None:
    r = client.get("/", headers={"host": "evil.example:8765"})
    assert r.status_code == 421 and "not served here" in r.text
    assert client.get("/", headers={"host": "127.0.0.1:8765"}).status_code == 200


def test_upload_a_letter_asks_its_items_and_leaves_it_out(client: TestClient) -> None:
    path = SAMPLE_LETTERS[2]
    letter = parse_file(path)
    with path.open("rb") as f:
        r = client.post("/upload.json", files={"letter": (path.name, f, "text/plain")})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == len(letter.items)
    assert all(x["letter"] != letter.key for it in items for x in it["results"])
    with path.open("rb") as f:
        page = client.post("/upload", files={"letter": (path.name, f, "text/plain")})
    assert page.status_code == 200 and "left out of its own results" in page.text


@pytest.mark.parametrize(
    "name",
    ["htmx.min.js"],
)
def test_vendored_assets_match_their_record(name: str) -> None:
    static = REPO / "imr_graph" / "web" / "static"
    record = (static / "VENDORED.md").read_text(encoding="utf-8")
    digest = hashlib.sha256((static / name).read_bytes()).hexdigest()
    assert digest in record
    axe = REPO / "tests" / "browser" / "vendor"
    axe_digest = hashlib.sha256((axe / "axe.min.js").read_bytes()).hexdigest()
    assert axe_digest in (axe / "VENDORED.md").read_text(encoding="utf-8")


def test_upload_a_real_pdf_letter(client: TestClient) -> None:
    from imr_graph.config import shared_pdf_dir

    pdfs = sorted(shared_pdf_dir().glob("*.pdf"))
    if not pdfs:
        pytest.skip("real letters not found (set IMR_GRAPH_SHARED)")
    letter = parse_file(pdfs[0])
    data = pdfs[0].read_bytes()
    r = client.post("/upload.json", files={"letter": (pdfs[0].name, data, "application/pdf")})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["letter"] == letter.key and len(r.json()["items"]) == len(letter.items)


def test_markup_in_a_request_is_shown_as_text(client: TestClient) -> None:
    r = client.get("/precedents", params={"request": "<script>alert(1)</script> Norco"})
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)" in r.text
