"""Bad input through `imr-graph parse`: one clear stderr line per bad file, never a traceback."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imr_graph.letters.read import read_source

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "imr_graph" / "sample" / "000_a6fb61ff4979abe4.txt"
SEED_2 = REPO / "imr_graph" / "sample" / "003_f7e1d4b1d59f344c.txt"


def run_cli(*args: str | Path, script: bool = False) -> subprocess.CompletedProcess[str]:
    if script:
        exe = shutil.which("imr-graph", path=str(Path(sys.executable).parent))
        if exe is None:
            pytest.skip("imr-graph console script not installed next to this Python")
        cmd = [exe, "parse", *map(str, args)]
    else:
        cmd = [sys.executable, "-m", "imr_graph.cli", "parse", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=REPO)


def assert_one_error(res: subprocess.CompletedProcess[str], path: Path, *words: str) -> str:
    assert res.returncode != 0, res
    assert "Traceback" not in res.stderr + res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith("imr-graph: error: ") and str(path) in line, line
    for w in words:
        assert w.lower() in line.lower(), line
    assert res.stdout == ""
    return line


# ---- files the parser must refuse ----------------------------------------------------------------


def _pdf_bytes(draw_text: str | None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    if draw_text is None:
        pdf.set_fill_color(120, 120, 120)
        pdf.rect(20, 20, 120, 80, style="F")  # a picture of a page, no text layer
    else:
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, draw_text)
    return bytes(pdf.output())


def _locked_pdf(path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    plain = path.with_name("plain-for-lock.pdf")
    plain.write_bytes(_pdf_bytes("HOW THE IMR FINAL DETERMINATION WAS MADE\n" * 10))
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt("secret")
    with path.open("wb") as f:
        writer.write(f)


def _seed_cut_before_issues() -> str:
    text = SEED.read_text(encoding="utf-8")
    return text[: text.index("IMR ISSUES")]


def make_bad(kind: str, tmp: Path, real: Path | None = None) -> Path:
    """A bad input file of the given kind; `real` is a real letter PDF (for 'truncated')."""
    rnd = random.Random(kind)
    if kind == "empty":
        p = tmp / "empty.txt"
        p.write_bytes(b"")
    elif kind == "blank":
        p = tmp / "blank.txt"
        p.write_text("\n \n\t\n")
    elif kind == "random-pdf":
        p = tmp / "random.pdf"
        p.write_bytes(rnd.randbytes(6000))
    elif kind == "random-txt":
        p = tmp / "random.txt"
        p.write_bytes(rnd.randbytes(6000))
    elif kind == "damaged-pdf":
        p = tmp / "damaged.pdf"
        p.write_bytes(b"%PDF-1.7\n" + rnd.randbytes(6000))
    elif kind == "no-text-layer":
        p = tmp / "scan.pdf"
        p.write_bytes(_pdf_bytes(None))
    elif kind == "truncated":
        p = tmp / "truncated.pdf"
        assert real is not None
        p.write_bytes(real.read_bytes()[:3000])
    elif kind == "password":
        p = tmp / "locked.pdf"
        _locked_pdf(p)
    elif kind == "not-a-letter":
        p = tmp / "minutes.txt"
        p.write_text(
            "Minutes of the budget meeting\n\nAttendees: A, B, C.\nThe budget was approved.\n"
        )
    elif kind == "not-a-letter-pdf":
        p = tmp / "invoice.pdf"
        p.write_bytes(_pdf_bytes("INVOICE 2231\nTwo chairs, one table.\nTotal due: $412.00\n"))
    elif kind == "no-issues":
        p = tmp / "cut.txt"
        p.write_text(_seed_cut_before_issues(), encoding="utf-8")
    elif kind == "missing":
        p = tmp / "does-not-exist.txt"
    elif kind == "folder":
        p = tmp / "a-folder.pdf"
        p.mkdir()
    else:  # pragma: no cover
        raise AssertionError(kind)
    return p


BAD = {
    "empty": ("empty",),
    "blank": ("empty",),
    "random-pdf": ("not a pdf",),
    "random-txt": ("binary",),
    "damaged-pdf": ("unreadable pdf",),
    "no-text-layer": ("ocr",),
    "truncated": ("truncated",),
    "password": ("password-protected",),
    "not-a-letter": ("not an imr",),
    "not-a-letter-pdf": ("not an imr",),
    "no-issues": ("without disputed items",),
    "missing": ("cannot read",),
    "folder": ("folder",),
}


@pytest.fixture
def real_pdf(pdf_dir: Path) -> Path:
    return sorted(pdf_dir.glob("*.pdf"))[0]


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_file_gives_one_error_line(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    real = request.getfixturevalue("real_pdf") if kind == "truncated" else None
    path = make_bad(kind, tmp_path, real)
    res = run_cli(path, "--json")
    assert_one_error(res, path, *BAD[kind])


def test_bad_file_without_json_flag(tmp_path: Path) -> None:
    path = make_bad("no-text-layer", tmp_path)
    assert_one_error(run_cli(path), path, "ocr")


def test_console_script(tmp_path: Path) -> None:
    """The installed `imr-graph` entry point: a good letter, then a password-protected PDF."""
    res = run_cli(SEED, "--json", script=True)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["letter"] == SEED.stem
    locked = make_bad("password", tmp_path)
    assert_one_error(run_cli(locked, script=True), locked, "password-protected")


def test_several_files_one_bad(tmp_path: Path) -> None:
    bad = make_bad("damaged-pdf", tmp_path)
    res = run_cli(SEED, bad, SEED_2, "--json")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    out = [json.loads(line) for line in res.stdout.splitlines()]  # one object per line
    assert [d["letter"] for d in out] == [SEED.stem, SEED_2.stem]
    assert all(d["items"] for d in out)
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("imr-graph: error: ")]
    assert len(errors) == 1 and str(bad) in errors[0]
    assert len(res.stderr.splitlines()) == 1


# ---- odd but readable letters ----------------------------------------------------------------


def _parse_ok(path: Path) -> tuple[dict, list[str]]:
    res = run_cli(path, "--json")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    warnings = res.stderr.strip().splitlines()
    assert all(w.startswith(f"imr-graph: warning: {path}: ") for w in warnings), warnings
    return json.loads(res.stdout), warnings


def test_item_without_claims_administrator_paragraph(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    start = text.index("Claims Administrator guideline:")
    stop = text.index("MAXIMUS guideline:", start)
    path = tmp_path / "no-ca.txt"
    path.write_text(text[:start] + text[stop:], encoding="utf-8")
    got, warnings = _parse_ok(path)
    want, _ = _parse_ok(SEED)
    assert got["items"][0]["claims_administrator_citations"] == []
    assert len(got["items"]) == len(want["items"])
    for g, w in zip(got["items"], want["items"], strict=True):
        assert (g["request"], g["decision"], g["rationale"]) == (
            w["request"],
            w["decision"],
            w["rationale"],
        )
        assert g["maximus_citations"] == w["maximus_citations"]
    assert got["items"][1:] == [dict(w) for w in want["items"][1:]]
    assert any("item 0" in w and "Claims Administrator" in w for w in warnings), warnings


def test_2016_letter_without_header(tmp_path: Path, real_pdf: Path) -> None:
    real = real_pdf
    text = "\f".join(read_source(real).pages)
    cut = tmp_path / f"{real.stem}-headless.txt"
    cut.write_text(text[text.index("HOW THE IMR FINAL DETERMINATION WAS MADE") :])
    got, warnings = _parse_ok(cut)
    want, _ = _parse_ok(real)
    assert got["case_number"] is None and got["priority"] is None
    assert all(got["dates"][k] is None for k in got["dates"] if k != "date_of_injury")
    assert [(i["request"], i["decision"]) for i in got["items"]] == [
        (i["request"], i["decision"]) for i in want["items"]
    ]
    assert got["reviewer"] == want["reviewer"]
    assert any("header" in w for w in warnings), warnings
