"""Transcripts rendered as a printable HTML page and as CSV: escaped, self-contained, formula-safe."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest

from shared.models.contact_center import CloseNote, Transcript, TranscriptEntry, TranscriptSummary
from shared.services.transcript_render import (
    SUMMARY_COLUMNS,
    TRANSCRIPT_COLUMNS,
    safe_cell,
    summaries_to_csv,
    to_csv,
    to_html,
)

OPENED = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


def summary(**changes: object) -> TranscriptSummary:
    values: dict[str, object] = {
        "conversation_id": "conv-1", "channel_id": "wa-main", "contact_id": "c-9", "contact_key": "5491122334455",
        "status": "closed", "opened_at": OPENED, "closed_at": datetime(2024, 6, 3, 12, 30, tzinfo=UTC),
        "campaign_id": "ventas", "agents": ["u-1", "u-2"],
        "closing_note": CloseNote(category="venta_concretada", text="Pagó con tarjeta\nEnvío el lunes"),
    }
    values.update(changes)
    return TranscriptSummary.model_validate(values)


def entry(minute: int, **values: object) -> TranscriptEntry:
    return TranscriptEntry.model_validate({"at": OPENED.replace(minute=minute), **values})


def transcript(*entries: TranscriptEntry, contact_name: str | None = "Ana Pérez") -> Transcript:
    return Transcript(summary=summary(), contact_name=contact_name, entries=list(entries))


SAMPLE = transcript(
    entry(0, kind="message", direction="in", author="customer", type="text",
          text="Hola <script>alert('x')</script>\nsegunda línea"),
    entry(1, kind="event", author="system", type="queued"),
    entry(2, kind="message", direction="out", author="user:u-1", author_name='<b onmouseover="x">Juan</b>',
          type="text", text="¿En qué te ayudo?", status="read"),
    entry(3, kind="note", author="user:u-1", author_name="Juan", type="text", text="cliente VIP & \"frecuente\""),
    entry(4, kind="message", direction="in", author="customer", type="image",
          media={"id": "media-77", "caption": "foto <img src=x onerror=alert(1)>", "mime_type": "image/jpeg",
                 "url": "https://evil.example/x.jpg"}),
    entry(5, kind="message", direction="out", author="bot", type="text", text="=HYPERLINK(\"http://x\")",
          status="failed", error="131047 <re-engagement>"),
)


# --- HTML ---------------------------------------------------------------------------------------------------

def test_html_is_a_complete_self_contained_document() -> None:
    page = to_html(SAMPLE)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="es">' in page
    assert '<meta charset="utf-8">' in page
    assert "<title>" in page and "</html>" in page.rstrip()[-7:]
    assert "@media print" in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)  # nothing is fetched
    assert "<link" not in page and "<img" not in page


def test_html_escapes_customer_text_and_author_names() -> None:
    page = to_html(SAMPLE)
    assert "Hola &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;b onmouseover=&quot;x&quot;&gt;Juan&lt;/b&gt;" in page
    assert "<b onmouseover" not in page
    assert "cliente VIP &amp; &quot;frecuente&quot;" in page
    assert "<img src=x" not in page and "foto &lt;img src=x onerror=alert(1)&gt;" in page
    assert "131047 &lt;re-engagement&gt;" in page


def test_html_escapes_the_header_and_title() -> None:
    t = Transcript(summary=summary(conversation_id="c<1>", campaign_id="<camp>", agents=["<u>"],
                                   closing_note=CloseNote(category="<cat>", text="<t>")),
                   contact_name="<Ana>", entries=[])
    page = to_html(t, title="<Título>")
    for raw in ("c<1>", "<camp>", "<u>", "<cat>", "<t>", "<Ana>", "<Título>"):
        assert raw not in page
        assert raw.replace("<", "&lt;").replace(">", "&gt;") in page


def test_html_keeps_line_breaks() -> None:
    page = to_html(SAMPLE)
    assert "&lt;/script&gt;<br>segunda línea" in page
    assert "Pagó con tarjeta<br>Envío el lunes" in page


def test_html_marks_internal_notes_and_styles_directions_and_events() -> None:
    page = to_html(SAMPLE)
    assert re.search(r'<tr class="note">.*<td class="kind">Nota interna</td>.*cliente VIP', page)
    assert re.search(r'<tr class="message in">.*Hola', page)
    assert re.search(r'<tr class="message out">.*¿En qué te ayudo\?', page)
    assert re.search(r'<tr class="event">.*queued', page)
    css = page[page.index("<style>"):page.index("</style>")]
    for selector in ("tr.message.in", "tr.message.out", "tr.note", "tr.event"):
        assert selector in css


def test_html_header_shows_the_conversation() -> None:
    page = to_html(SAMPLE)
    for text in ("conv-1", "wa-main", "Ana Pérez", "ventas", "u-1, u-2", "venta_concretada",
                 "2024-06-03T12:00:00Z", "2024-06-03T12:30:00Z"):
        assert text in page


def test_html_shows_the_contact_key_without_a_name() -> None:
    page = to_html(transcript(contact_name=None))
    assert "5491122334455" in page


def test_html_describes_media_without_fetching_it() -> None:
    page = to_html(SAMPLE)
    assert "[image]" in page and "media-77" in page and "image/jpeg" in page
    assert "evil.example" not in page


def test_html_shows_times_in_utc() -> None:
    buenos_aires_time = datetime.fromisoformat("2024-06-03T09:07:00-03:00")
    page = to_html(transcript(entry(0, kind="event", author="system", type="assigned").model_copy(
        update={"at": buenos_aires_time})))
    assert "2024-06-03T12:07:00Z" in page


# --- CSV ----------------------------------------------------------------------------------------------------

def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_round_trips_through_a_csv_reader() -> None:
    rows = read(to_csv(SAMPLE))
    assert rows[0] == list(TRANSCRIPT_COLUMNS)
    assert len(rows) == 1 + len(SAMPLE.entries)
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first == {
        "conversation_id": "conv-1", "at": "2024-06-03T12:00:00Z", "kind": "message", "direction": "in",
        "author": "customer", "author_name": "", "type": "text",
        "text": "Hola <script>alert('x')</script>\nsegunda línea", "status": "", "error": "",
    }
    note = dict(zip(rows[0], rows[4], strict=True))
    assert note["text"] == 'cliente VIP & "frecuente"' and note["kind"] == "note"


def test_csv_neutralizes_formulas() -> None:
    rows = read(to_csv(SAMPLE))
    bot = dict(zip(rows[0], rows[6], strict=True))
    assert bot["text"] == "'=HYPERLINK(\"http://x\")"
    assert bot["error"] == "131047 <re-engagement>"


@pytest.mark.parametrize("value", ["=1+1", "+54 9 11", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_safe_cell_prefixes_formula_starts(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(("value", "expected"), [("hola", "hola"), ("a=b", "a=b"), (None, ""), ("", ""),
                                                  (3, "3"), (" =x", " =x")])
def test_safe_cell_leaves_other_values_alone(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


def test_summaries_csv_has_one_row_per_conversation() -> None:
    items = [
        summary(),
        summary(conversation_id="conv-2", contact_id=None, contact_key="+5491100000000", status="open",
                origin="out", closed_at=None, campaign_id=None, agents=[], closing_note=None),
        summary(conversation_id="conv-3", closing_note=CloseNote(category="-baja", text="@here =cmd|' /C calc'!A0")),
    ]
    rows = read(summaries_to_csv(items))
    assert rows[0] == list(SUMMARY_COLUMNS)
    assert [dict(zip(rows[0], row, strict=True)) for row in rows[1:]] == [
        {"conversation_id": "conv-1", "channel_id": "wa-main", "contact_id": "c-9", "contact_key": "5491122334455",
         "status": "closed", "origin": "in", "opened_at": "2024-06-03T12:00:00Z",
         "closed_at": "2024-06-03T12:30:00Z", "campaign_id": "ventas", "agents": "u-1|u-2",
         "closing_category": "venta_concretada", "closing_text": "Pagó con tarjeta\nEnvío el lunes"},
        {"conversation_id": "conv-2", "channel_id": "wa-main", "contact_id": "", "contact_key": "'+5491100000000",
         "status": "open", "origin": "out", "opened_at": "2024-06-03T12:00:00Z", "closed_at": "",
         "campaign_id": "", "agents": "", "closing_category": "", "closing_text": ""},
        {"conversation_id": "conv-3", "channel_id": "wa-main", "contact_id": "c-9", "contact_key": "5491122334455",
         "status": "closed", "origin": "in", "opened_at": "2024-06-03T12:00:00Z",
         "closed_at": "2024-06-03T12:30:00Z", "campaign_id": "ventas", "agents": "u-1|u-2",
         "closing_category": "'-baja", "closing_text": "'@here =cmd|' /C calc'!A0"},
    ]


def test_empty_summaries_csv_is_just_the_header() -> None:
    assert read(summaries_to_csv([])) == [list(SUMMARY_COLUMNS)]
