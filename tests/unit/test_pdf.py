from __future__ import annotations

import re

import pytest

from shared.services.pdf import _TEXT_WIDTH, pdf_string, render_pdf, text_width, wrap

SPANISH = "Señora Núñez: ¿confirmá el pago de € 1.500? ¡Gracias! Pingüino, acción, ÁÉÍÓÚ"


def parse(pdf: bytes) -> dict[str, object]:
    """Check the file structure and return the pieces the tests look at."""
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.endswith(b"%%EOF\n")
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", pdf)[1])  # type: ignore[index]
    assert pdf[startxref:startxref + 5] == b"xref\n"
    header = re.match(rb"xref\n0 (\d+)\n", pdf[startxref:])
    assert header is not None
    count = int(header[1])
    table_at = startxref + header.end()
    entries = [pdf[table_at + 20 * i: table_at + 20 * (i + 1)] for i in range(count)]
    assert entries[0] == b"0000000000 65535 f \n"
    for number, entry in enumerate(entries[1:], start=1):
        assert re.fullmatch(rb"\d{10} 00000 n \n", entry), entry
        offset = int(entry[:10])
        assert pdf[offset:].startswith(b"%d 0 obj\n" % number), (number, pdf[offset:offset + 20])
    trailer = pdf[table_at + 20 * count:startxref + len(pdf[startxref:])]
    assert trailer.startswith(b"trailer\n")
    size = int(re.search(rb"/Size (\d+)", trailer)[1])  # type: ignore[index]
    assert size == count
    objects = {int(m[1]): m[2] for m in re.finditer(rb"(\d+) 0 obj\n(.*?)\nendobj\n", pdf, re.DOTALL)}
    assert sorted(objects) == list(range(1, count))
    streams = []
    for body in objects.values():
        match = re.match(rb"<< /Length (\d+) >>\nstream\n", body)
        if match:
            length = int(match[1])
            data = body[match.end():match.end() + length]
            assert body[match.end() + length:] == b"\nendstream"
            streams.append(data)
    pages_obj = objects[2]
    kids = re.search(rb"/Count (\d+)", pages_obj)
    assert kids is not None
    return {"objects": objects, "streams": streams, "page_count": int(kids[1]), "size": size}


def test_structure_of_a_short_document() -> None:
    pdf = render_pdf(title="Comprobante de pago", lines=["Cliente: Lucía Fernández", "", "Monto: $ 1.234,50"],
                     footer="Banco Demo S.A.")
    parsed = parse(pdf)
    assert parsed["page_count"] == 1
    objects = parsed["objects"]
    assert isinstance(objects, dict)
    assert b"/Type /Catalog" in objects[1]
    assert b"/BaseFont /Helvetica /Encoding /WinAnsiEncoding" in objects[3]
    assert b"/BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding" in objects[4]
    assert b"/Title <FEFF" in objects[5]
    assert b"CreationDate" not in pdf
    stream = parsed["streams"][0]  # type: ignore[index]
    assert b"/F2 16 Tf" in stream and b"(Comprobante de pago) Tj" in stream
    assert b"(Banco Demo S.A.) Tj" in stream
    assert b"1/1" not in stream  # page numbers only when there are several pages


def test_deterministic() -> None:
    args = {"title": "Estado de deuda", "lines": [SPANISH] * 30, "footer": "pie"}
    assert render_pdf(**args) == render_pdf(**args)  # type: ignore[arg-type]


def test_spanish_text_is_cp1252_in_the_content_stream() -> None:
    pdf = render_pdf(title="Título ñandú", lines=[SPANISH])
    content = b"".join(parse(pdf)["streams"])  # type: ignore[arg-type]
    assert "Título ñandú".encode("cp1252") in content
    for word in ("Señora", "Núñez:", "¿confirmá", "€", "¡Gracias!", "Pingüino,", "acción,", "ÁÉÍÓÚ"):
        assert word.encode("cp1252") in content, word
    assert "ñ".encode() not in content  # not UTF-8
    assert b"\xf1" in content and b"\x80" in content and b"\xbf" in content  # ñ, €, ¿


def test_unencodable_characters_become_question_marks() -> None:
    content = b"".join(parse(render_pdf(title="x", lines=["hola 😀 世界"]))["streams"])  # type: ignore[arg-type]
    assert b"(hola ? ??) Tj" in content


def test_escaping() -> None:
    assert pdf_string("a (b) c\\d") == b"(a \\(b\\) c\\\\d)"
    pdf = render_pdf(title="(x)", lines=["precio (final) \\ neto"])
    content = b"".join(parse(pdf)["streams"])  # type: ignore[arg-type]
    assert b"(precio \\(final\\) \\\\ neto) Tj" in content
    assert b"(\\(x\\)) Tj" in content


def test_long_input_spans_pages_with_page_numbers() -> None:
    lines = [f"Línea {i}: movimiento de la cuenta" for i in range(100)]
    pdf = render_pdf(title="Movimientos", lines=lines, footer="Banco Demo")
    parsed = parse(pdf)
    assert parsed["page_count"] == 3
    assert parsed["size"] == 5 + 2 * 3 + 1
    streams = parsed["streams"]
    assert isinstance(streams, list) and len(streams) == 3
    for number, stream in enumerate(streams, start=1):
        assert b"(Banco Demo) Tj" in stream
        assert b"(%d/3) Tj" % number in stream
    everything = b"".join(streams)
    for i in range(100):
        assert f"(Línea {i}: movimiento de la cuenta) Tj".encode("cp1252") in everything
    # every text line sits between the margins
    for y in re.findall(rb"1 0 0 1 [\d.]+ ([\d.]+) Tm", everything):
        assert 30 <= float(y) <= 842


def test_word_wrapping_fits_the_page_width() -> None:
    paragraph = " ".join(["desembolso"] * 60)
    lines = wrap(paragraph)
    assert len(lines) > 1
    assert all(text_width(line) <= _TEXT_WIDTH for line in lines)
    assert " ".join(lines) == paragraph
    pdf = render_pdf(title="t", lines=[paragraph])
    content = b"".join(parse(pdf)["streams"])  # type: ignore[arg-type]
    assert content.count(b" Tj") == 1 + len(lines)


def test_words_longer_than_a_line_are_cut() -> None:
    word = "x" * 200
    lines = wrap(word)
    assert "".join(lines) == word and len(lines) > 1
    assert all(text_width(line) <= _TEXT_WIDTH for line in lines)


def test_newlines_inside_a_line_and_blank_lines() -> None:
    pdf = render_pdf(title="t", lines=["uno\ndos", "", "tres"])
    content = b"".join(parse(pdf)["streams"])  # type: ignore[arg-type]
    ys = [float(y) for y in re.findall(rb"1 0 0 1 [\d.]+ ([\d.]+) Tm \((?:uno|dos|tres)\)", content)]
    assert len(ys) == 3
    assert ys[0] - ys[1] == pytest.approx(15)
    assert ys[1] - ys[2] == pytest.approx(30)  # the empty line leaves a gap


def test_text_width_uses_helvetica_metrics() -> None:
    assert text_width("W", size=1000) == 944
    assert text_width("i", size=1000) == 222
    assert text_width("W", font="F2", size=1000) == 944
    assert text_width("á", size=1000) == text_width("a", size=1000)
