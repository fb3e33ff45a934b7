"""A minimal, dependency-free PDF 1.4 writer for short documents (statements, receipts, confirmations).

`render_pdf(title=..., lines=[...], footer=...)` lays out an A4 portrait page: the title in Helvetica-Bold,
then each line as a paragraph in Helvetica, word-wrapped to the page width (an empty string is a blank
line), with as many pages as needed; the footer (and "n/N" when there is more than one page) goes at the
bottom of every page.

Text is encoded in WinAnsiEncoding (cp1252), which covers Spanish (áéíóúüñ ÁÉÍÓÚÜÑ ¿ ¡ € º ª « »); other
characters become "?". The standard Type 1 fonts are not embedded (every reader has them). Content
streams are not compressed. The document has an /Info dictionary with the Title but no CreationDate and
no /ID, so the same input always gives the same bytes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

PAGE_WIDTH = 595.28  # A4 in points
PAGE_HEIGHT = 841.89
MARGIN = 56.0  # ~2 cm
TITLE_SIZE = 16.0
TITLE_LEADING = 22.0
BODY_SIZE = 11.0
BODY_LEADING = 15.0
FOOTER_SIZE = 8.0
FOOTER_Y = 32.0
_TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
_BODY_TOP = PAGE_HEIGHT - MARGIN
_BODY_BOTTOM = MARGIN + 8

# Glyph widths (1/1000 em) of the printable ASCII range 32..126, from Adobe's Helvetica AFM files.
_HELVETICA_ASCII = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
)
_HELVETICA_BOLD_ASCII = (
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
)
# Non-ASCII WinAnsi characters whose width is not their base letter's: (regular, bold).
_SPECIAL_WIDTHS = {
    "í": (278, 278), "ì": (278, 278), "î": (278, 278), "ï": (278, 278), "¿": (611, 611), "¡": (333, 333),
    "€": (556, 556), "«": (556, 556), "»": (556, 556), "°": (400, 400), "º": (365, 365), "ª": (370, 370),
    "•": (350, 350), "–": (556, 556), "—": (1000, 1000), "…": (1000, 1000), "‘": (222, 278), "’": (222, 278),
    "“": (333, 500), "”": (333, 500), "\u00a0": (278, 278), "·": (278, 278), "×": (584, 584), "§": (556, 556),
}
_FONTS = {"F1": _HELVETICA_ASCII, "F2": _HELVETICA_BOLD_ASCII}


def _char_width(ch: str, font: str) -> int:
    table = _FONTS[font]
    code = ord(ch)
    if 32 <= code <= 126:
        return table[code - 32]
    if ch in _SPECIAL_WIDTHS:
        return _SPECIAL_WIDTHS[ch][0 if font == "F1" else 1]
    base = unicodedata.normalize("NFD", ch)[:1]
    if base and 32 <= ord(base) <= 126:
        return table[ord(base) - 32]
    return 556 if font == "F1" else 611


def text_width(text: str, font: str = "F1", size: float = BODY_SIZE) -> float:
    """Width in points of `text` set in Helvetica (F1) or Helvetica-Bold (F2)."""
    return sum(_char_width(ch, font) for ch in text) * size / 1000


def _break_word(word: str, font: str, size: float, width: float) -> list[str]:
    pieces: list[str] = []
    current = ""
    for ch in word:
        if current and text_width(current + ch, font, size) > width:
            pieces.append(current)
            current = ch
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


def wrap(text: str, *, font: str = "F1", size: float = BODY_SIZE, width: float = _TEXT_WIDTH) -> list[str]:
    """Split one paragraph into lines that fit `width` (words longer than a line are cut)."""
    words = text.split()
    if not words:
        return [""]
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, font, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        if text_width(word, font, size) <= width:
            current = word
        else:
            *full, current = _break_word(word, font, size, width)
            lines.extend(full)
    lines.append(current)
    return lines


def _encode(text: str) -> bytes:
    return text.encode("cp1252", errors="replace")


def pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding, with (, ) and \\ escaped."""
    raw = _encode(text).replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    raw = raw.replace(b"\r", b"\\r").replace(b"\n", b"\\n")
    return b"(" + raw + b")"


def _fmt(number: float) -> bytes:
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return text.encode("ascii")


def _text_op(font: str, size: float, x: float, y: float, text: str) -> bytes:
    return (b"BT /" + font.encode() + b" " + _fmt(size) + b" Tf 1 0 0 1 " + _fmt(x) + b" " + _fmt(y) + b" Tm "
            + pdf_string(text) + b" Tj ET\n")


def _layout(title: str, lines: Sequence[str]) -> list[list[tuple[str, float, str, float]]]:
    """Pages of (font, size, text, y)."""
    pages: list[list[tuple[str, float, str, float]]] = [[]]
    y = _BODY_TOP - TITLE_SIZE
    for line in wrap(title, font="F2", size=TITLE_SIZE):
        pages[-1].append(("F2", TITLE_SIZE, line, y))
        y -= TITLE_LEADING
    y -= BODY_LEADING - BODY_SIZE  # a little space below the title
    for paragraph in lines:
        for part in str(paragraph).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            for line in wrap(part):
                if y < _BODY_BOTTOM:
                    pages.append([])
                    y = _BODY_TOP - BODY_SIZE
                if line:
                    pages[-1].append(("F1", BODY_SIZE, line, y))
                y -= BODY_LEADING
    return pages


def _info_string(text: str) -> bytes:
    """A PDF text string (UTF-16BE with a byte-order mark) as hex, for the /Info dictionary."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def render_pdf(*, title: str, lines: Sequence[str], footer: str | None = None) -> bytes:
    """A PDF 1.4 document with `title`, the `lines` (paragraphs) and an optional footer on every page."""
    pages = _layout(title, lines)
    total = len(pages)
    # objects: 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, 5 info, then (page, content) per page
    page_ids = [6 + 2 * i for i in range(total)]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % pid for pid in page_ids) + b"] /Count %d >>" % total,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title " + _info_string(title) + b" /Producer (omnichannel) >>",
    ]
    for number, items in enumerate(pages, start=1):
        stream = b"".join(_text_op(font, size, MARGIN, y, text) for font, size, text, y in items)
        if footer:
            stream += _text_op("F1", FOOTER_SIZE, MARGIN, FOOTER_Y, footer)
        if total > 1:
            marker = f"{number}/{total}"
            stream += _text_op("F1", FOOTER_SIZE, PAGE_WIDTH - MARGIN - text_width(marker, "F1", FOOTER_SIZE),
                               FOOTER_Y, marker)
        content_id = page_ids[number - 1] + 1
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 " + _fmt(PAGE_WIDTH) + b" " + _fmt(PAGE_HEIGHT)
                       + b"] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>" % content_id)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for index, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % index + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return bytes(out)
