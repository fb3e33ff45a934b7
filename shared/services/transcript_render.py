"""A conversation's transcript as a printable HTML page or as CSV.

The HTML is one self-contained document (inline CSS with print rules, no scripts, no external resources, a
Content-Security-Policy that would block them anyway); every value that comes from data is escaped, because
customers write what they like. Media is described (type, caption or file name, id), never fetched. Times are
ISO 8601 in UTC.

The CSV neutralizes spreadsheet formulas: a cell starting with =, +, -, @, a tab or a carriage return gets a
leading single quote (so a phone number "+54..." is written "'+54..."). The text is plain `str`; encode it as
"utf-8-sig" when the file is meant for Excel.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from shared.models.contact_center import Transcript, TranscriptEntry, TranscriptSummary

TRANSCRIPT_COLUMNS = ("conversation_id", "at", "kind", "direction", "author", "author_name", "type", "text",
                      "status", "error")
SUMMARY_COLUMNS = ("conversation_id", "channel_id", "contact_id", "contact_key", "status", "origin", "opened_at",
                   "closed_at", "campaign_id", "agents", "closing_category", "closing_text")
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1f2328;margin:24px auto;
max-width:960px;padding:0 16px}
h1{font-size:22px;margin:0 0 12px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0 0 20px;padding:12px 16px;
border:1px solid #d0d7de;border-radius:6px;background:#f6f8fa}
dl.meta dt{font-weight:600}
dl.meta dd{margin:0;overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid #d0d7de}
th{font-size:12px;text-transform:uppercase;color:#57606a}
td.at{white-space:nowrap;font-variant-numeric:tabular-nums;color:#57606a;font-size:12px}
td.content{overflow-wrap:anywhere}
.id{display:block;color:#57606a;font-size:11px}
tr.message.in td.content{border-left:4px solid #0969da;background:#f1f8ff}
tr.message.out td.content{border-left:4px solid #1a7f37;background:#f0fff4}
tr.note td.content{border-left:4px dashed #9a6700;background:#fff8c5}
tr.note td.kind{font-weight:700;color:#9a6700}
tr.event td{color:#6e7781;font-style:italic;font-size:12px}
.media,.status{display:block;color:#57606a;font-size:12px}
.error{display:block;color:#cf222e;font-size:12px}
@page{size:A4;margin:15mm}
@media print{
body{margin:0;max-width:none;padding:0;font-size:10pt;color:#000}
dl.meta,tr.message td.content,tr.note td.content{background:none}
thead{display:table-header-group}
tr{break-inside:avoid;page-break-inside:avoid}
}
"""


def to_html(t: Transcript, *, title: str = "Transcripción") -> str:
    s = t.summary
    note = s.closing_note
    note_html = _e(note.category) + (": " + _multiline(note.text) if note.text else "") if note else "—"
    meta = [
        ("Conversación", _e(s.conversation_id)),
        ("Canal", _e(s.channel_id)),
        ("Contacto", _e(t.contact_name or s.contact_key)),
        ("Estado", _e(s.status)),
        ("Abierta", _time(s.opened_at)),
        ("Cerrada", _time(s.closed_at) if s.closed_at else "—"),
        ("Campaña", _e(s.campaign_id) if s.campaign_id else "—"),
        ("Agentes", _e(", ".join(s.agents)) if s.agents else "—"),
        ("Nota de cierre", note_html),
    ]
    rows = "\n".join(_row(entry) for entry in t.entries) or '<tr><td colspan="4">Sin mensajes.</td></tr>'
    return f"""<!DOCTYPE html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{_e(title)} — {_e(s.conversation_id)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{_e(title)}</h1>
<dl class="meta">
{"".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in meta)}
</dl>
<table>
<thead><tr><th>Hora (UTC)</th><th>Autor</th><th>Tipo</th><th>Contenido</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""


def to_csv(t: Transcript) -> str:
    rows = ([t.summary.conversation_id, _iso(e.at), e.kind, e.direction, e.author, e.author_name, e.type, e.text,
             e.status, e.error] for e in t.entries)
    return _csv(TRANSCRIPT_COLUMNS, rows)


def summaries_to_csv(items: list[TranscriptSummary]) -> str:
    rows = ([s.conversation_id, s.channel_id, s.contact_id, s.contact_key, s.status, s.origin, _iso(s.opened_at),
             _iso(s.closed_at) if s.closed_at else None, s.campaign_id, "|".join(s.agents),
             s.closing_note.category if s.closing_note else None, s.closing_note.text if s.closing_note else None]
            for s in items)
    return _csv(SUMMARY_COLUMNS, rows)


def safe_cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula; None is empty."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


# --- helpers ---------------------------------------------------------------------------------------------

def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def _row(entry: TranscriptEntry) -> str:
    classes = entry.kind if entry.kind != "message" else f"message {entry.direction or 'in'}"
    author = _e(entry.author_name or entry.author)
    if entry.author_name:
        author += f'<span class="id">{_e(entry.author)}</span>'
    parts = []
    if entry.text:
        parts.append(_multiline(entry.text))
    if entry.media:
        parts.append(f'<span class="media">{_media(entry)}</span>')
    if entry.status:
        parts.append(f'<span class="status">Estado: {_e(entry.status)}</span>')
    if entry.error:
        parts.append(f'<span class="error">Error: {_e(entry.error)}</span>')
    return (f'<tr class="{_e(classes)}"><td class="at">{_time(entry.at)}</td><td class="author">{author}</td>'
            f'<td class="kind">{_kind(entry)}</td><td class="content">{"".join(parts)}</td></tr>')


def _kind(entry: TranscriptEntry) -> str:
    if entry.kind == "note":
        return "Nota interna"
    if entry.kind == "event":
        return f"Evento: {_e(entry.type)}"
    label = "Mensaje recibido" if entry.direction == "in" else "Mensaje enviado"
    return label if entry.type == "text" else f"{label} ({_e(entry.type)})"


def _media(entry: TranscriptEntry) -> str:
    """A description of the attachment (not a link, not an image: nothing is fetched)."""
    media = entry.media or {}
    kind = media.get("type") or entry.type
    name = media.get("caption") or media.get("filename")
    media_id = media.get("id") or media.get("media_id")
    parts = [f"[{_e(kind)}]"]
    if name:
        parts.append(_e(name))
    if media.get("mime_type"):
        parts.append(f"({_e(media['mime_type'])})")
    if media_id:
        parts.append(f"id: {_e(media_id)}")
    return " ".join(parts)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _multiline(text: str) -> str:
    return "<br>".join(_e(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def _iso(at: datetime, timespec: str = "auto") -> str:
    """ISO 8601 in UTC with a Z; a naive time is taken as UTC."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat(timespec=timespec).replace("+00:00", "Z")


def _time(at: datetime) -> str:
    iso = _iso(at, "seconds")
    return f'<time datetime="{iso}">{iso}</time>'
