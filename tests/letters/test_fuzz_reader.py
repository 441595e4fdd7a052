"""Fuzzing the letter reader with mutated real letters, and its input limits.

Whatever the bytes, `parse_bytes` returns a Letter or raises LetterError (never anything else)
and returns within a bounded time: each example runs under a SIGALRM deadline as well as
hypothesis's own `deadline`. Mutations: byte flips, truncation, line deletions and duplications,
random insertions, applied to real text letters and to real PDF bytes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_paths import SAMPLE_DIR, shared_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imr_graph.errors import LetterError
from imr_graph.letters import read as reading
from imr_graph.letters.parse import parse_bytes

PER_EXAMPLE_S = 10  # hard bound per letter (a real letter parses in ~20 ms)
EXAMPLES = 120


def _seeds() -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    texts = [(p.name, p.read_bytes()) for p in sorted(SAMPLE_DIR.glob("*.txt"))]
    texts += [(p.name, p.read_bytes()) for p in sorted((shared_dir() / "letters").glob("*.txt"))]
    pdf_dir = shared_dir() / "data/external/dwc-imr-letters-imrcrawler/pdf"
    pdfs = [(p.name, p.read_bytes()) for p in sorted(pdf_dir.glob("*.pdf"))[::10]]
    return texts, pdfs


TEXTS, PDFS = _seeds()


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang(f"letter reader ran over {PER_EXAMPLE_S} s")


def _parse_bounded(data: bytes, name: str) -> None:
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(PER_EXAMPLE_S)
    try:
        parse_bytes(data, name)
    except LetterError as e:
        assert str(e) and "\n" not in str(e)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    name, data = draw(st.sampled_from(seeds))
    buf = bytearray(data)
    # hypothesis leans to small integers; keep a PDF's header so most cases reach PDFium's
    # parser and the text layer instead of stopping at "no %PDF header"
    lo = 16 if data.startswith(b"%PDF") and draw(st.booleans()) else 0
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "del_lines", "dup_lines", "insert"]))
        if len(buf) <= lo + 1:
            break
        if op == "flip":
            for _ in range(draw(st.integers(1, 8 if lo else 64))):
                i = draw(st.integers(lo, len(buf) - 1))
                buf[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            keep = draw(st.floats(0.0, 1.0))
            del buf[max(lo, int(len(buf) * keep)) :]
        elif op in ("del_lines", "dup_lines"):
            lines = bytes(buf).split(b"\n")
            i = draw(st.integers(1 if lo else 0, max(1 if lo else 0, len(lines) - 1)))
            j = min(len(lines), i + draw(st.integers(1, 50)))
            if op == "del_lines":
                lines[i:j] = []
            else:
                lines[i:i] = lines[i:j] * draw(st.integers(1, 20))
            buf = bytearray(b"\n".join(lines))
        else:
            i = draw(st.integers(lo, len(buf)))
            buf[i:i] = draw(st.binary(min_size=1, max_size=256))
    return name, bytes(buf)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=PER_EXAMPLE_S * 1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    database=None,
)


@FUZZ
@given(mutated(TEXTS))
def test_mutated_text_letters_raise_only_letter_error(case: tuple[str, bytes]) -> None:
    _parse_bounded(case[1], case[0])


@pytest.mark.skipif(not PDFS, reason="real letter PDFs not found (set IMR_GRAPH_SHARED)")
@FUZZ
@given(mutated(PDFS or [("x.pdf", b"%PDF-1.4\n")]))
def test_mutated_pdf_letters_raise_only_letter_error(case: tuple[str, bytes]) -> None:
    _parse_bounded(case[1], case[0])


@settings(max_examples=60, deadline=PER_EXAMPLE_S * 1000, derandomize=True, database=None)
@given(st.binary(max_size=4096), st.sampled_from(["a.txt", "a.pdf", "a"]))
def test_random_bytes_raise_only_letter_error(data: bytes, name: str) -> None:
    _parse_bounded(data, name)


# ---- input limits ------------------------------------------------------------------------


# The peak is read from /proc/self/status (VmHWM: this process's own address space): the
# rusage peak (ru_maxrss) survives exec, so a child of this process starts with its peak.
_BOUNDED_CHILD = """
import json, resource, sys, time
from imr_graph.errors import LetterError
from imr_graph.letters.parse import parse_file
from imr_graph.letters.read import read_source

def peak_kb():
    try:
        with open("/proc/self/status") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

fn = {"read": read_source, "parse": parse_file}[sys.argv[1]]
rss0 = peak_kb()
t0 = time.monotonic()
try:
    fn(sys.argv[2])
    out = {"error": None}
except LetterError as e:
    out = {"error": str(e), "problem": e.problem}
out["seconds"] = time.monotonic() - t0
out["grew_mb"] = (peak_kb() - rss0) / 1024
print(json.dumps(out))
"""


def _bounded(how: str, path: Path, seconds: float = 10.0) -> dict:
    """Read or parse `path` in a fresh interpreter: expect one LetterError line, in `seconds`,
    with a peak memory under 400 MB above what the imports took (this process's peak is
    already raised by the model, so it could not see a jump)."""
    proc = subprocess.run(
        [sys.executable, "-c", _BOUNDED_CHILD, how, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["error"], f"{path.name} was accepted"
    assert out["seconds"] < seconds, out
    assert out["grew_mb"] < 400, out
    assert "\n" not in out["error"]
    return out


def test_the_memory_bound_can_fail(tmp_path: Path) -> None:
    """The child's peak does see a large allocation (else the bound above proves nothing)."""
    code = _BOUNDED_CHILD.replace("fn(sys.argv[2])", "big = bytes(1) * (600 * 1024 * 1024)")
    proc = subprocess.run(
        [sys.executable, "-c", code, "read", "x"], capture_output=True, text=True, timeout=120
    )
    assert json.loads(proc.stdout)["grew_mb"] > 500, (proc.stdout, proc.stderr[-1000:])


def test_100_mb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "huge.pdf"
    with open(big, "wb") as f:
        f.write(b"%PDF-1.4\n")
        f.truncate(100 * 1024 * 1024)  # sparse: costs no disk
    assert "too large" in _bounded("read", big, 1.0)["problem"]


def _many_page_pdf(n: int) -> bytes:
    """A minimal valid PDF with n empty pages, written by hand (xref offsets computed)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(n))
    objs.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n)
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * n
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1,
        xref,
    )
    return bytes(out)


def test_pdf_with_10000_pages_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "pages.pdf"
    p.write_bytes(_many_page_pdf(10_000))
    assert "10000 pages" in _bounded("parse", p, 5.0)["problem"]


def test_ten_mb_line_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "line.txt"
    p.write_bytes(b"Independent Medical Review " + b"x" * (10 * 1024 * 1024) + b"\n")
    problem = _bounded("parse", p, 5.0)["problem"]
    assert "line longer" in problem or "characters" in problem


def test_long_text_of_short_lines_is_refused_fast(tmp_path: Path) -> None:
    p = tmp_path / "lines.txt"
    p.write_bytes(b"Disputed Items word word\n" * 1_800_000)  # 45 MB, under MAX_BYTES
    assert str(reading.MAX_TEXT_CHARS) in _bounded("parse", p, 5.0)["problem"]


def test_limits_leave_real_letters_alone() -> None:
    longest = max(len(b) for _, b in TEXTS + PDFS)
    assert longest < reading.MAX_BYTES
    for name, data in TEXTS:
        src = reading.read_bytes(data, name)
        assert sum(map(len, src.pages)) < reading.MAX_TEXT_CHARS
