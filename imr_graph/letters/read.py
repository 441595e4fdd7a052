"""From a file on disk to page texts: PDF through PDFium, text files decoded with care.

PDFium (pypdfium2) was chosen for speed (~5 ms a page), its permissive licence (Apache-2.0/BSD)
and its faithful line order on these letters; it opens the AES-encrypted letters with the empty
password by itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from imr_graph.errors import LetterError

MAX_BYTES = 50 * 1024 * 1024  # an IMR letter is a few hundred kB at most
MAX_PAGES = 500
MAX_LINE_CHARS = 200_000
MAX_TEXT_CHARS = 2_000_000  # the longest real letter has ~12k characters; bounds parse time


@dataclass(frozen=True)
class Source:
    """A letter's raw text by page, with where it came from."""

    path: str
    pages: tuple[str, ...]
    sha256: str
    kind: str  # "pdf" | "text"


def read_source(path: str | Path) -> Source:
    """Read a .pdf or text file; raise LetterError with a one-line reason on anything unusable."""
    p = Path(path)
    name = str(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise LetterError(name, f"cannot read file ({e.strerror or e})") from None
    if p.is_dir():
        raise LetterError(name, "is a folder, not a letter")
    if size > MAX_BYTES:
        raise LetterError(name, f"file too large for an IMR letter ({size} bytes > {MAX_BYTES})")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise LetterError(name, f"cannot read file ({e.strerror or e})") from None
    return read_bytes(data, name)


def read_bytes(data: bytes, name: str) -> Source:
    """Decode bytes that hold a PDF or a text letter."""
    if not data.strip():
        raise LetterError(name, "empty file")
    digest = hashlib.sha256(data).hexdigest()
    if data.lstrip()[:5] == b"%PDF-":
        return Source(name, _pdf_pages(data, name), digest, "pdf")
    if name.lower().endswith(".pdf"):
        raise LetterError(name, "not a PDF (no %PDF header): damaged or wrong extension")
    return Source(name, _text_pages(data, name), digest, "text")


def _pdf_pages(data: bytes, name: str) -> tuple[str, ...]:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data, password="")
    except pdfium.PdfiumError as e:
        msg = str(e).lower()
        if "password" in msg:
            msg = "password-protected PDF: cannot open it without the password"
            raise LetterError(name, msg) from None
        raise LetterError(name, f"unreadable PDF (truncated or damaged): {e}") from None
    try:
        n = len(doc)
        if n == 0:
            raise LetterError(name, "PDF has no pages")
        if n > MAX_PAGES:
            msg = f"PDF has {n} pages; an IMR letter has far fewer (max {MAX_PAGES})"
            raise LetterError(name, msg)
        pages = []
        total = 0
        for i in range(n):
            try:
                page = doc[i]
                text = page.get_textpage().get_text_range()
            except pdfium.PdfiumError as e:
                raise LetterError(name, f"unreadable PDF page {i + 1}: {e}") from None
            total += len(text)
            if total > MAX_TEXT_CHARS:
                msg = f"PDF holds more than {MAX_TEXT_CHARS} characters of text: not a letter"
                raise LetterError(name, msg)
            pages.append(text)
    finally:
        doc.close()
    if sum(len(t.strip()) for t in pages) < 40:
        raise LetterError(name, "PDF has no text layer (scanned image?): it needs OCR first")
    return tuple(pages)


def _text_pages(data: bytes, name: str) -> tuple[str, ...]:
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LetterError(name, "binary file, not a text or PDF letter")
    for enc in (
        ("utf-8-sig", "utf-16")
        if data.startswith((b"\xff\xfe", b"\xfe\xff"))
        else (
            "utf-8-sig",
            "cp1252",
        )
    ):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise LetterError(name, "binary file, not a text or PDF letter")
    if len(text) > MAX_TEXT_CHARS:
        msg = f"text of {len(text)} characters (max {MAX_TEXT_CHARS}): not a letter"
        raise LetterError(name, msg)
    controls = sum(1 for ch in text[:20000] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.02 * min(len(text), 20000):
        raise LetterError(name, "binary file, not a text or PDF letter")
    if any(len(line) > MAX_LINE_CHARS for line in text.splitlines()):
        raise LetterError(name, f"a line longer than {MAX_LINE_CHARS} characters: not a letter")
    return tuple(text.split("\f")) if "\f" in text else (text,)
