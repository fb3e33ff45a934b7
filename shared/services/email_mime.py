"""Email through Amazon SES: read an inbound MIME message, build a threaded reply, read SES's receipt verdicts.

Inbound mail reaches us through an SES receipt rule that writes the raw MIME object to S3 and notifies the
processor. The notification's `receipt` carries SES's spam, virus, SPF, DKIM and DMARC verdicts (`ses_verdicts`).
The processor reads the object and calls `parse_email`, which never raises on a malformed message. The only
exception is `MalformedEmail`, raised when there is nobody to answer (no usable From) or the bytes are not an
email at all. Attachments are described, not copied: `attachment_bytes` decodes one of them on demand, and it
walks the parts exactly as `parse_email` does, so `Attachment.index` stays valid for the same raw bytes.

Replies are built with `build_email` (SMTP line endings, 7-bit clean) and threaded with In-Reply-To and
References (RFC 5322 §3.6.4). SES replaces the Message-ID of everything sent through it. The id SES returns
from the send becomes `ses_message_id_header(...)`, and that is the id a customer's reply points at.

Pure Python, standard library only: no boto3, no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy, Policy
from email.utils import formataddr, getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

__all__ = [
    "Attachment",
    "MalformedEmail",
    "ParsedEmail",
    "SesVerdicts",
    "attachment_bytes",
    "build_email",
    "make_message_id",
    "parse_email",
    "references_for_reply",
    "reply_subject",
    "ses_message_id_header",
    "ses_verdicts",
    "strip_quoted_text",
]

MAX_REFERENCES = 20  # the thread root plus the 19 most recent ids
NO_SUBJECT_REPLY = "Re: (sin asunto)"
MISSING_MESSAGE_ID_DOMAIN = "missing-message-id.invalid"  # RFC 2606: .invalid never resolves
# An HTML body is cut to this many characters (or 50 per character of text wanted, if more) before conversion:
# the converter is linear but not free, and a multi-megabyte newsletter would cost seconds for text that is
# truncated anyway.
HTML_INPUT_LIMIT = 1_000_000

_READ_POLICY = email_policy.default
# Re-serializing an enclosed message (message/rfc822 attachment): CRLF like the wire, headers kept as received.
_SERIALIZE_POLICY = email_policy.default.clone(linesep="\r\n", refold_source="none")

# --- errors and results -----------------------------------------------------------------------------------


class MalformedEmail(ValueError):
    """The bytes are not an email, or the message has no usable From address (nobody to answer)."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment of a parsed message, without its bytes (see `attachment_bytes`).

    `index` is the attachment's position in `ParsedEmail.attachments`, in MIME walk order. `content_id` is the
    Content-ID without angle brackets, which is what an HTML body's `cid:` URL names. `inline` means the part
    is meant to be shown in the body: Content-Disposition inline, or a Content-ID without any disposition.
    """

    index: int
    filename: str | None
    content_type: str
    size: int
    content_id: str | None
    inline: bool


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """What the platform needs from an inbound email. Addresses are lower-cased addr-specs.

    `text` is the readable body: the text/plain part, else the text/html part converted to text (lines of
    <blockquote> prefixed with "> "), with LF line endings, at most `max_text_chars` long. `new_text` is `text`
    without quoted history and signature (`strip_quoted_text`). Msg-ids keep their angle brackets.
    """

    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str
    from_name: str | None
    reply_to: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    delivered_to: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    new_text: str
    attachments: tuple[Attachment, ...]
    auto_submitted: bool
    bounce: bool


# --- parsing ----------------------------------------------------------------------------------------------


def parse_email(raw: bytes, *, max_text_chars: int = 20_000) -> ParsedEmail:
    """Parse a raw RFC 5322 / MIME message as SES stored it.

    Raises `MalformedEmail` only when the bytes hold no header fields or no usable From address. Every other
    defect is tolerated: unknown charsets fall back to UTF-8 with replacement characters, an unparseable Date
    gives `date=None`, and a missing Message-ID is replaced by a stable one derived from the bytes (the same
    bytes always give the same id, so deduplication still works).
    """
    if max_text_chars <= 0:
        raise ValueError("max_text_chars must be positive")
    msg = _parse_bytes(raw)
    from_pairs = _addresses(msg, "From")
    if not from_pairs:
        raise MalformedEmail("the message has no usable From address")
    from_name, from_address = from_pairs[0]
    parts = _classify_parts(msg)
    text = _body_text(parts.body, max_text_chars) if parts.body is not None else ""
    reply_to = _addresses(msg, "Reply-To")
    return ParsedEmail(
        message_id=_message_id(msg, bytes(raw)),
        in_reply_to=_msg_id_tokens(msg, "In-Reply-To"),
        references=_msg_id_tokens(msg, "References"),
        from_address=from_address,
        from_name=from_name or None,
        reply_to=reply_to[0][1] if reply_to else None,
        to=_address_list(msg, "To"),
        cc=_address_list(msg, "Cc"),
        delivered_to=_address_list(msg, "Delivered-To", "X-Original-To"),
        subject=_header_text(msg, "Subject"),
        date=_date(msg),
        text=text,
        new_text=strip_quoted_text(text),
        attachments=tuple(
            Attachment(
                index=index,
                filename=_filename(part),
                content_type=_content_type(part),
                size=len(_part_bytes(part)),
                content_id=_content_id(part),
                inline=_is_inline(part),
            )
            for index, part in enumerate(parts.attachments)
        ),
        auto_submitted=_is_auto_submitted(msg),
        bounce=_is_bounce(msg, from_address),
    )


def attachments_bytes(raw: bytes) -> list[tuple[str | None, str, bytes]]:
    """(filename, content type, decoded payload) of every `ParsedEmail.attachments[i]`, in order, from one parse."""
    return [(_filename(part), _content_type(part), _part_bytes(part))
            for part in _classify_parts(_parse_bytes(raw)).attachments]


def attachment_bytes(raw: bytes, index: int) -> tuple[str | None, str, bytes]:
    """(filename, content type, decoded payload) of `ParsedEmail.attachments[index]` for the same raw bytes."""
    attachments = attachments_bytes(raw)
    if not 0 <= index < len(attachments):
        raise IndexError(f"the message has no attachment {index} ({len(attachments)} attachments)")
    return attachments[index]


def _parse_bytes(raw: bytes) -> Message:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"raw must be bytes, not {type(raw).__name__}")
    try:
        msg = BytesParser(policy=_READ_POLICY).parsebytes(bytes(raw))
    except Exception as exc:  # the parser is lenient; this is a last resort, never expected
        raise MalformedEmail(f"not an email message: {exc}") from exc
    if not msg.keys():
        raise MalformedEmail("not an email message: no header fields")
    return msg


# --- headers ----------------------------------------------------------------------------------------------

_SURROGATES = re.compile("[\udc80-\udcff]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_MSG_ID_TOKEN = re.compile(r"<([^<>]*)>")
# Whitespace between two encoded-words is not text (RFC 2047 §6.2). The stdlib's address parser keeps it, so
# a long name that a client split mid-word into two encoded-words would come back with a space inside the word.
_ENCODED_WORD_GAP = re.compile(r"(\?=)\s+(?==\?)")


def _raw_values(msg: Message, name: str) -> list[str]:
    """The header's values as received (no parsing, so no parser bug can raise here)."""
    wanted = name.lower()
    return [str(value) for key, value in msg.raw_items() if key.lower() == wanted]


def _unsurrogate(value: str) -> str:
    """Undo the parser's surrogate escapes of raw 8-bit header bytes: UTF-8 when valid, else Windows-1252."""
    if not _SURROGATES.search(value):
        return value
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", value)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", " ").replace("\n", " ").strip()


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded-words of an unstructured value; the value itself when the decoder fails."""
    try:
        return str(_READ_POLICY.header_factory("x-decoded", value))
    except Exception:  # a decoder bug must not lose the header
        return value


def _header_text(msg: Message, name: str) -> str:
    values = _raw_values(msg, name)
    if not values:
        return ""
    return " ".join(_decode_words(_unfold(_unsurrogate(values[0]))).split())


def _is_address(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and domain) and not any(ch.isspace() for ch in value)


def _parse_address_value(name: str, value: str) -> list[tuple[str, str]]:
    """(display name, addr-spec) pairs of one header value; names decoded, invalid addresses dropped."""
    pairs: list[tuple[str, str]] = []
    try:
        header: Any = _READ_POLICY.header_factory(name, value)
        pairs = [(str(addr.display_name or ""), str(addr.addr_spec or "")) for addr in header.addresses]
    except Exception:  # not an address header, or a parser bug: fall back below
        pairs = []
    # email.utils reads what the header registry drops: a name given as a comment, `a@b.com (Ana)`.
    fallback = [(_decode_words(n), a) for n, a in getaddresses([value])]
    if not any(_is_address(addr) for _, addr in pairs):
        pairs = fallback
    else:
        comment_names = {addr.lower(): n for n, addr in fallback if n}
        pairs = [(n or comment_names.get(addr.lower(), ""), addr) for n, addr in pairs]
    return [(" ".join(n.split()), addr.strip().lower()) for n, addr in pairs if _is_address(addr.strip())]


def _addresses(msg: Message, *names: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name in names:
        for raw in _raw_values(msg, name):
            value = _ENCODED_WORD_GAP.sub(r"\1", _unfold(_unsurrogate(raw)))
            found.extend(_parse_address_value(name, value))
    return found


def _address_list(msg: Message, *names: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(addr for _, addr in _addresses(msg, *names)))


def _msg_id_tokens(msg: Message, name: str) -> tuple[str, ...]:
    tokens: list[str] = []
    for raw in _raw_values(msg, name):
        for inner in _MSG_ID_TOKEN.findall(_unsurrogate(raw)):
            compact = "".join(inner.split())
            if compact:
                tokens.append(f"<{compact}>")
    return tuple(dict.fromkeys(tokens))


def _message_id(msg: Message, raw: bytes) -> str:
    values = _raw_values(msg, "Message-ID")
    if values:
        tokens = _msg_id_tokens(msg, "Message-ID")
        if tokens:
            return tokens[0]
        bare = "".join(_unsurrogate(values[0]).split())
        if _is_address(bare) and "<" not in bare and ">" not in bare:
            return f"<{bare}>"  # some mailers forget the angle brackets
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@{MISSING_MESSAGE_ID_DOMAIN}>"


def _date(msg: Message) -> datetime | None:
    values = _raw_values(msg, "Date")
    if not values:
        return None
    try:
        parsed = parsedate_to_datetime(_unfold(_unsurrogate(values[0])))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000": the time is UTC, the sender's zone unknown (RFC 5322 §3.3)
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_SUPPRESS_SIGNALS = frozenset({"all", "oof"})


def _is_auto_submitted(msg: Message) -> bool:
    """Auto-replies, bulk and list mail (RFC 3834 plus the de-facto headers); never answered automatically."""
    auto = _header_text(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return True
    if "X-Autoreply" in msg or "X-Autorespond" in msg or "List-Id" in msg or "List-Unsubscribe" in msg:
        return True
    precedence = _header_text(msg, "Precedence").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return True
    if _content_type(msg) == "multipart/report" and _report_type(msg) == "disposition-notification":
        return True  # a read receipt (RFC 8098): machine-made, and not a delivery failure
    # Outlook puts X-Auto-Response-Suppress on ordinary mail too: alone it says nothing about the sender. It
    # counts only next to another signal; an Auto-Submitted or a listed Precedence already decided above, so
    # what is left is a Precedence outside the list.
    suppress = set(re.split(r"[\s,]+", _header_text(msg, "X-Auto-Response-Suppress").lower()))
    return bool(suppress & _SUPPRESS_SIGNALS) and bool(precedence)


def _is_bounce(msg: Message, from_address: str) -> bool:
    if from_address.partition("@")[0] in ("mailer-daemon", "postmaster"):
        return True
    if "X-Failed-Recipients" in msg:
        return True
    return _content_type(msg) == "multipart/report" and _report_type(msg) != "disposition-notification"


def _report_type(msg: Message) -> str:
    try:
        value = msg.get_param("report-type", header="content-type")
    except Exception:
        return ""
    return value.strip().lower() if isinstance(value, str) else ""


# --- MIME parts -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Parts:
    body: Message | None
    attachments: tuple[Message, ...]


def _leaves(msg: Message) -> Iterator[Message]:
    """Leaf parts in `Message.walk()` order, iteratively (deep nesting cannot exhaust the stack).

    Unlike `walk()`, an enclosed message (message/rfc822, message/delivery-status, ...) is one leaf: a forwarded
    email is one attachment, and its own text is never mistaken for the body.
    """
    stack: list[Message] = [msg]
    while stack:
        part = stack.pop()
        # is_multipart(): the payload is a list. get_payload() on a string payload may decode it and raise.
        if part.is_multipart() and _content_type(part).startswith("multipart/"):
            stack.extend(reversed([sub for sub in part.get_payload() if isinstance(sub, Message)]))
        else:
            yield part


def _classify_parts(msg: Message) -> _Parts:
    leaves = list(_leaves(msg))
    body = _choose_body(leaves)
    attachments = tuple(
        part for part in leaves
        if part is not body and not _content_type(part).startswith("multipart/") and _is_attachment(part)
    )
    return _Parts(body=body, attachments=attachments)


def _choose_body(leaves: list[Message]) -> Message | None:
    """The first text/plain part with text, else the first text/html part with text, else any of them."""
    candidates = [part for part in leaves if _is_body_candidate(part)]
    for subtype in ("text/plain", "text/html"):
        for part in candidates:
            if _content_type(part) == subtype and _part_bytes(part).strip():
                return part
    return candidates[0] if candidates else None


def _is_body_candidate(part: Message) -> bool:
    return (
        _content_type(part) in ("text/plain", "text/html")
        and _disposition(part) != "attachment"
        and _filename(part) is None
    )


def _is_attachment(part: Message) -> bool:
    return (
        _disposition(part) == "attachment"
        or _filename(part) is not None
        or not _content_type(part).startswith("text/")
    )


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "application/octet-stream"


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _filename(part: Message) -> str | None:
    """The declared file name without any directory part: it names a file, never a path to write to."""
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not isinstance(name, str):
        return None
    name = _CONTROL.sub("", _unsurrogate(name)).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name if name and name not in (".", "..") else None


def _content_id(part: Message) -> str | None:
    values = _raw_values(part, "Content-ID")
    if not values:
        return None
    value = "".join(_unsurrogate(values[0]).split()).strip("<>")
    return value or None


def _is_inline(part: Message) -> bool:
    disposition = _disposition(part)
    return disposition == "inline" or (disposition is None and _content_id(part) is not None)


def _part_bytes(part: Message) -> bytes:
    """The decoded payload; for an enclosed message, the enclosed message's bytes."""
    try:
        if part.is_multipart():
            enclosed = part.get_payload()
            return b"".join(sub.as_bytes(policy=_SERIALIZE_POLICY) for sub in enclosed if isinstance(sub, Message))
        data = part.get_payload(decode=True)
    except Exception:  # an undecodable part is empty, not a failed message
        return b""
    return data if isinstance(data, bytes) else b""


_ASCII_CHARSETS = frozenset({"", "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us"})
_LATIN1_CHARSETS = frozenset({"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1"})


def _decode_text(data: bytes, charset: str | None) -> str:
    """Bytes to text by the declared charset, replacing what does not decode.

    A missing or US-ASCII label is very often wrong: such bodies are read as UTF-8 when they are valid UTF-8.
    ISO-8859-1 is read as Windows-1252, its superset, as browsers do (the "smart quotes" senders really mean).
    """
    label = (charset or "").strip().strip('"').lower()
    if label in _ASCII_CHARSETS:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace")
    if label in _LATIN1_CHARSETS:
        return data.decode("cp1252", "replace")
    try:
        return data.decode(label, "replace")
    except (LookupError, TypeError, ValueError):  # unknown or non-text codec ("base64", "rot13", ...)
        return data.decode("utf-8", "replace")


def _body_text(part: Message, max_chars: int) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    decoded = _decode_text(_part_bytes(part), charset)
    if _content_type(part) == "text/html":
        decoded = _html_to_text(decoded[: max(HTML_INPUT_LIMIT, max_chars * 50)])
    text = decoded.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\A(?:[ \t]*\n)+", "", text).rstrip()  # leading blank lines, trailing whitespace
    return text[:max_chars]


# --- HTML to text -----------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol",
    "p", "pre", "section", "table", "tbody", "tfoot", "thead", "tr", "ul",
})
_SKIPPED_TAGS = frozenset({"head", "script", "style", "template", "title"})
_HTML_SPACE = re.compile(r"[ \t\n\r\f\xa0]+")


class _HtmlToText(HTMLParser):
    """Readable text of an HTML body: blocks and <br> become line breaks, <blockquote> lines get "> "."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._chunks: list[str] = []
        self._skipping = 0
        self._quote_depth = 0
        self._pre_depth = 0
        self._line_start = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skipping = 0  # an unclosed <head> must not swallow the body
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
            return
        if self._skipping:
            return
        if tag == "br":
            self._newline(force=True)
        elif tag in _BLOCK_TAGS:
            self._newline(force=False)
        if tag == "blockquote":
            self._quote_depth += 1
        elif tag == "pre":
            self._pre_depth += 1
        elif tag == "li":
            self._emit("- ")
        elif tag in ("td", "th") and not self._line_start and not self._chunks[-1].endswith(" "):
            self._emit(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
            return
        if self._skipping:
            return
        if tag in _BLOCK_TAGS:
            self._newline(force=False)
        if tag == "blockquote":
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._pre_depth:
            for number, line in enumerate(data.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
                if number:
                    self._newline(force=True)
                if line:
                    self._emit(line)
            return
        text = _HTML_SPACE.sub(" ", data)
        if self._line_start or self._chunks[-1].endswith(" "):
            text = text.lstrip(" ")
        if text:
            self._emit(text)

    def _emit(self, text: str) -> None:
        if self._line_start and self._quote_depth:
            self._chunks.append("> " * self._quote_depth)
        self._chunks.append(text)
        self._line_start = False

    def _newline(self, *, force: bool) -> None:
        if force or not self._line_start:
            self._chunks.append("\n")
            self._line_start = True

    def text(self) -> str:
        lines: list[str] = []
        for line in "".join(self._chunks).split("\n"):
            line = line.rstrip()
            if line or (lines and lines[-1]):  # at most one blank line in a row
                lines.append(line)
        return "\n".join(lines).strip("\n")


def _html_to_text(html: str) -> str:
    converter = _HtmlToText()
    try:
        converter.feed(html)
        converter.close()
    except Exception:  # HTMLParser is lenient; keep whatever was read
        pass
    return converter.text()


# --- quoted history and signature ------------------------------------------------------------------------

_INTRO_VERB_AT_END = re.compile(r"(?:wrote|escribi[óo]|escreveu)\s*:\s*\Z", re.IGNORECASE)
_INTRO = re.compile(
    r"\A\s*(?:on|el|em)\s.*\d.*\s(?:wrote|escribi[óo]|escreveu)\s*:\s*\Z", re.IGNORECASE | re.DOTALL
)
_INTRO_MAX_CHARS = 500  # an attribution line is short; bounding it bounds the regex work
_ORIGINAL_MESSAGE = re.compile(
    r"\A\s*-{2,}\s*(?:original message|mensaje original|mensagem original)\s*-{2,}\s*\Z", re.IGNORECASE
)
_OUTLOOK_SEPARATOR = re.compile(r"\A\s*_{20,}\s*\Z")
_OUTLOOK_FROM = re.compile(r"\A\s*\*?\s*(?:from|de)\s*:\s*\*?\s*\S", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(
    r"\A\s*\*?\s*(?:sent|enviado|enviado el|enviado em|enviada em|date|fecha|data)\s*:", re.IGNORECASE
)
_OUTLOOK_WINDOW = 4  # the Sent/Date line follows the From line within this many lines
_SIGNATURE_DELIMITERS = ("-- ", "--")  # "--" is the delimiter once trailing spaces were trimmed (HTML, clients)


def strip_quoted_text(text: str) -> str:
    """The new part of a reply: `text` without the quoted history, trailing quoted lines and the signature.

    Cuts at the first line that starts a quote header (English, Spanish, Portuguese): an attribution
    `On … wrote:` / `El … escribió:` / `Em … escreveu:` (possibly wrapped over up to three lines), an
    `-----Original Message-----` line, an Outlook header block (`From:`/`De:` followed within four lines by
    `Sent:`/`Enviado:`/`Date:`/`Fecha:`), or Outlook's underscore separator. Then drops trailing `>` lines and
    cuts at a `-- ` signature delimiter. If nothing is left, `text` stripped is returned instead.
    """
    lines = text.split("\n")
    cut = _first_quote_header(lines)
    kept = lines[:cut]
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    for number, line in enumerate(kept):
        if line in _SIGNATURE_DELIMITERS:
            kept = kept[:number]
            break
    return "\n".join(kept).strip() or text.strip()


def _first_quote_header(lines: list[str]) -> int:
    for number, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line) or _OUTLOOK_SEPARATOR.match(line):
            return number
        if _OUTLOOK_FROM.match(line) and any(
            _OUTLOOK_SENT.match(following) for following in lines[number + 1 : number + 1 + _OUTLOOK_WINDOW]
        ):
            return number
        # An attribution ends on this line or on one of the next two (clients wrap it).
        for end in range(number, min(number + 3, len(lines))):
            if _INTRO_VERB_AT_END.search(lines[end]) and _attribution_starts_at(lines, number, end):
                return number
    return len(lines)


def _attribution_starts_at(lines: list[str], start: int, end: int) -> bool:
    """Lines start..end form an attribution, and no shorter tail of them does (the header starts at `start`)."""
    joined = " ".join(line.strip() for line in lines[start : end + 1])
    if len(joined) > _INTRO_MAX_CHARS or not _INTRO.match(joined):
        return False
    return not any(
        _INTRO.match(" ".join(line.strip() for line in lines[later : end + 1])) for later in range(start + 1, end + 1)
    )


# --- building replies -------------------------------------------------------------------------------------

_DOMAIN = re.compile(r"\A(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z")
_ID_LEFT = re.compile(r"\A[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}\Z")  # RFC 5322 dot-atom-text characters
_MSG_ID = re.compile(r"\A<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>\Z")  # printable, no <, >, space
_ADDRESS_FORBIDDEN = re.compile(r'[\s<>()\[\],;:"\\]|[^\x21-\x7e]')
_HEADER_NAME = re.compile(r"\A[\x21-\x39\x3b-\x7e]+\Z")  # RFC 5322 ftext
_LINE_BREAKS = frozenset("\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")  # what str.splitlines() splits on
_CONTENT_TYPE = re.compile(r"\A[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*\Z")
_REPLY_PREFIX = re.compile(r"\A(?:re|aw|rv):", re.IGNORECASE)
# Set by build_email itself; an extra header may not replace or repeat them. Bcc never goes into the message.
_RESERVED_HEADERS = frozenset({
    "from", "to", "subject", "date", "message-id", "in-reply-to", "references", "auto-submitted", "bcc",
    "mime-version", "content-type", "content-transfer-encoding", "content-disposition",
})


def make_message_id(domain: str, unique: str) -> str:
    """`<unique@domain>`; `domain` is a host name (letters, digits, dots, hyphens), `unique` a dot-atom."""
    if not isinstance(domain, str) or not _DOMAIN.match(domain):
        raise ValueError(f"not a valid message-id domain: {domain!r}")
    if not isinstance(unique, str) or not _ID_LEFT.match(unique) or unique.startswith(".") or unique.endswith(".") \
            or ".." in unique:
        raise ValueError(f"not a valid message-id left part: {unique!r}")
    return f"<{unique}@{domain}>"


def reply_subject(subject: str) -> str:
    """`Re: <subject>`, keeping an existing reply prefix (Re:, Aw:, Rv: in any case) rather than stacking one."""
    clean = " ".join(subject.split())
    if not clean:
        return NO_SUBJECT_REPLY
    return clean if _REPLY_PREFIX.match(clean) else f"Re: {clean}"


def references_for_reply(parent_message_id: str, parent_references: Sequence[str]) -> tuple[str, ...]:
    """References of a reply (RFC 5322 §3.6.4): the parent's References, then the parent's Message-ID.

    Ids are deduplicated (the parent's id stays last) and at most `MAX_REFERENCES` are kept: the first (the
    thread's root) and the most recent ones, as mail clients do to keep the header bounded.
    """
    parent = _normalize_msg_id(parent_message_id)
    ids = [ref for ref in dict.fromkeys(_normalize_msg_id(ref) for ref in parent_references) if ref and ref != parent]
    if parent:
        ids.append(parent)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return tuple(ids)


def _normalize_msg_id(value: str) -> str:
    compact = "".join(value.split()).strip("<>")
    return f"<{compact}>" if compact else ""


class _VerbatimHeader(UnstructuredHeader, BaseHeader):
    """An ASCII header written exactly as given, folded only at its own spaces, never re-encoded.

    The standard folder gets two things wrong here. It encodes any word longer than the line as an
    encoded-word: a msg-id encoded that way matches nothing (RFC 5322 §3.6.4 does not allow it), and a Gmail
    msg-id after "In-Reply-To: " is already longer than 78 characters. The URLs of List-Unsubscribe have the
    same problem. It also sometimes uses the space between two words as the folding whitespace between two
    encoded-words (Python 3.11 and 3.12). RFC 2047 readers ignore that whitespace, so "de la" arrives as
    "dela". Display names and subjects are therefore encoded by `_encoded_words` and handed over ready-made.
    """

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        super().parse(value, kwds)
        kwds["decoded"] = value  # as given: encoded-words stay encoded

    def fold(self, *, policy: Policy) -> str:
        head = f"{self.name}:"
        limit = policy.max_line_length or 78
        lines = [head]
        for word in str(self).split():
            if lines[-1] not in (head, "") and len(lines[-1]) + 1 + len(word) > limit:
                lines.append("")
            lines[-1] += f" {word}"
        folded = policy.linesep.join(lines) + policy.linesep
        return folded if folded.isascii() else super().fold(policy=policy)  # non-ASCII: let the encoder do it


_ENCODED_WORD_BYTES = 45  # base64 of 45 bytes is 60 characters: "=?utf-8?b?…?=" stays within RFC 2047's 75


def _encoded_words(text: str) -> str:
    """`text` as RFC 2047 B encoded-words, split between characters, with the spaces inside the words."""
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode("utf-8"))
        if chunk and size + width > _ENCODED_WORD_BYTES:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += width
    words.append("".join(chunk))
    return " ".join(f"=?utf-8?b?{base64.b64encode(word.encode('utf-8')).decode('ascii')}?=" for word in words)


def _needs_encoding(text: str) -> bool:
    return not text.isascii() or "=?" in text  # ASCII that looks like an encoded-word must be encoded too


def _subject_field(subject: str) -> str:
    """The subject as it goes on the wire: leading plain ASCII words ("Re:") stay readable, the rest is encoded."""
    if not _needs_encoding(subject):
        return subject
    words = subject.split(" ")
    first = next(number for number, word in enumerate(words) if _needs_encoding(word))
    encoded = _encoded_words(" ".join(words[first:]))
    return " ".join([*words[:first], encoded]) if first else encoded


def _from_field(name: str | None, address: str) -> str:
    if not name:
        return address
    if _needs_encoding(name):
        return f"{_encoded_words(name)} <{address}>"
    return formataddr((name, address))  # quotes the name when it holds specials


def _outbound_policy(verbatim_headers: Sequence[str]) -> EmailPolicy[EmailMessage]:
    registry = HeaderRegistry()
    for name in ("from", "subject", "message-id", "in-reply-to", "references", *verbatim_headers):
        registry.map_to_type(name.lower(), _VerbatimHeader)
    # SMTP: CRLF line endings. 7bit: bodies are quoted-printable or base64, never raw 8-bit.
    return email_policy.SMTP.clone(header_factory=registry, cte_type="7bit")


def build_email(
    *,
    from_address: str,
    from_name: str | None,
    to: Sequence[str],
    subject: str,
    text: str,
    message_id: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    html: str | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    auto_submitted: bool = False,
    date: datetime | None = None,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """A complete MIME message (CRLF, 7-bit clean) ready for SES SendRawEmail.

    text/plain UTF-8; multipart/alternative when `html` is given; multipart/mixed around it for `attachments`
    (filename, content type, bytes). A non-ASCII display name or subject becomes RFC 2047 encoded-words (see
    `_VerbatimHeader` for why not the email package's), and a non-ASCII file name an RFC 2231 parameter.
    Raises ValueError on anything that could inject a header (a line break in a name, subject, address, id or
    extra header), on invalid addresses (exactly one `@`, no spaces) and on malformed message ids. SES
    replaces `message_id` with its own (see `ses_message_id_header`).
    """
    _check_address(from_address, "from_address")
    if isinstance(to, str) or not to:
        raise ValueError("to must be a non-empty sequence of addresses")
    for address in to:
        _check_address(address, "to")
    if from_name is not None:
        _check_header_text(from_name, "from_name")
    _check_header_text(subject, "subject")
    _check_msg_id(message_id, "message_id")
    if in_reply_to is not None:
        _check_msg_id(in_reply_to, "in_reply_to")
    if isinstance(references, str):
        raise ValueError("references must be a sequence of message ids")
    for reference in references:
        _check_msg_id(reference, "references")
    if date is not None and (date.tzinfo is None or date.utcoffset() is None):
        raise ValueError("date must be timezone-aware")
    extra = dict(headers or {})
    for name, value in extra.items():
        _check_extra_header(name, value)
    checked_attachments = [_check_attachment(item) for item in attachments]

    msg = EmailMessage(policy=_outbound_policy([name for name, value in extra.items() if value.isascii()]))
    msg["From"] = _from_field(from_name, from_address)
    msg["To"] = ", ".join(to)
    msg["Subject"] = _subject_field(subject)
    msg["Date"] = date if date is not None else datetime.now(UTC)
    msg["Message-ID"] = message_id
    if in_reply_to is not None:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    if auto_submitted:
        msg["Auto-Submitted"] = "auto-replied"  # RFC 3834: keeps auto-responders from answering back
    for name, value in extra.items():
        msg[name] = value
    msg.set_content(text, subtype="plain", charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    for filename, maintype, subtype, data in checked_attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]  # EmailMessage.add_* stamps every sub-part; only the message needs it
    return msg.as_bytes()


def _check_header_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    if any(ch in _LINE_BREAKS for ch in value):
        raise ValueError(f"{what} must not contain line breaks (header injection)")
    return value


def _check_address(value: object, what: str) -> None:
    address = _check_header_text(value, what)
    local, _, domain = address.partition("@")
    if address.count("@") != 1 or not local or _ADDRESS_FORBIDDEN.search(address) or not _DOMAIN.match(domain):
        raise ValueError(f"{what}: not a valid email address: {address!r}")


def _check_msg_id(value: object, what: str) -> None:
    if not _MSG_ID.match(_check_header_text(value, what)):
        raise ValueError(f"{what}: not a valid message id (<left@right>): {value!r}")


def _check_extra_header(name: object, value: object) -> None:
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        raise ValueError(f"not a valid header name: {name!r}")
    if name.lower() in _RESERVED_HEADERS:
        raise ValueError(f"header {name} is set by build_email itself")
    _check_header_text(value, f"header {name}")


def _check_attachment(item: tuple[str, str, bytes]) -> tuple[str, str, str, bytes]:
    filename, content_type, data = item
    if not _check_header_text(filename, "attachment filename").strip():
        raise ValueError("attachment filename must not be empty")
    ctype = content_type.strip().lower() if isinstance(content_type, str) else ""
    if not _CONTENT_TYPE.match(ctype) or ctype.startswith("multipart/"):
        raise ValueError(f"not a valid attachment content type: {content_type!r}")
    if not isinstance(data, bytes | bytearray):
        raise ValueError("attachment data must be bytes")
    maintype, _, subtype = ctype.partition("/")
    return filename, maintype, subtype, bytes(data)


# --- SES --------------------------------------------------------------------------------------------------

# SES receipt notifications ("Contents of notifications for Amazon SES email receiving",
# https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html): `receipt` holds
# spamVerdict, virusVerdict, spfVerdict, dkimVerdict and dmarcVerdict, each `{"status": ...}` with PASS, FAIL,
# GRAY or PROCESSING_FAILED (the same enumeration in Powertools' SesEvent model), and `dmarcPolicy`
# (none | quarantine | reject), which the documentation says "only appears if the message fails DMARC".
UNKNOWN_STATUS = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class SesVerdicts:
    """SES's verdicts on a received message; a status SES did not send is "UNKNOWN"."""

    spam_status: str
    virus_status: str
    spf_status: str
    dkim_status: str
    dmarc_status: str
    dmarc_policy: str | None

    @property
    def spam(self) -> bool:
        return self.spam_status == "FAIL"

    @property
    def authenticated(self) -> bool:
        """DKIM or SPF passed, and DMARC did not fail."""
        return (self.dkim_status == "PASS" or self.spf_status == "PASS") and self.dmarc_status != "FAIL"

    def refusal(self) -> str | None:
        """Why the message must not be accepted, or None. Spam is not a refusal: it is flagged (`spam`)."""
        if self.virus_status == "FAIL":
            return "virus detected by SES"
        if self.dmarc_status == "FAIL" and self.dmarc_policy == "reject":
            return "DMARC failed and the sender's domain asks to reject"
        return None


def ses_verdicts(receipt: Mapping[str, Any]) -> SesVerdicts:
    """Read the verdicts of an SES receipt object (a whole notification, with its `receipt` key, also works)."""
    if "receipt" in receipt and isinstance(receipt["receipt"], Mapping) and "spamVerdict" not in receipt:
        receipt = receipt["receipt"]
    policy = receipt.get("dmarcPolicy")
    if isinstance(policy, Mapping):
        policy = policy.get("status")
    dmarc_policy = policy.strip().lower() if isinstance(policy, str) else ""
    return SesVerdicts(
        spam_status=_verdict_status(receipt, "spamVerdict"),
        virus_status=_verdict_status(receipt, "virusVerdict"),
        spf_status=_verdict_status(receipt, "spfVerdict"),
        dkim_status=_verdict_status(receipt, "dkimVerdict"),
        dmarc_status=_verdict_status(receipt, "dmarcVerdict"),
        dmarc_policy=dmarc_policy or None,
    )


def _verdict_status(receipt: Mapping[str, Any], key: str) -> str:
    verdict = receipt.get(key)
    status = verdict.get("status") if isinstance(verdict, Mapping) else verdict
    text = status.strip().upper() if isinstance(status, str) else ""
    return text or UNKNOWN_STATUS


_SES_MESSAGE_ID = re.compile(r"\A[A-Za-z0-9-]{1,200}\Z")
_AWS_REGION = re.compile(r"\A[a-z]{2}(?:-[a-z]+)+-\d{1,2}\Z")


def ses_message_id_header(ses_message_id: str, region: str) -> str:
    """The Message-ID header SES writes on a message it sends, from the MessageId its send API returned.

    SES overrides any Message-ID we set ("If you provide a Message-ID header, Amazon SES overrides the header with
    its own value", https://docs.aws.amazon.com/ses/latest/dg/header-fields.html). AWS does not document the
    domain of that id; this function relies on what delivered mail shows:
    - us-east-1: `<id@email.amazonses.com>`, seen in mailing-list archives on mail whose Feedback-ID names
      us-east-1 (e.g. `<0100018288804c9f-…-000000@email.amazonses.com>`);
    - other regions: `<id@{region}.amazonses.com>`. Confirmed only for eu-west-1 (list archives show
      `<01020153a254974b-…-000000@eu-west-1.amazonses.com>`). For us-west-2 there is only a third-party report
      (drewblas/aws-ses pull request #68). Mnexa-AI/e2a pull request #498 and odoo/odoo pull request #280971
      describe the same `<region>.amazonses.com` form. For every other region the form is inferred, not checked.
    AWS gives no guarantee that this format stays the same. When threading matters, also keep our own id in
    References, which SES leaves alone.
    """
    if not isinstance(ses_message_id, str) or not _SES_MESSAGE_ID.match(ses_message_id):
        raise ValueError(f"not an SES message id: {ses_message_id!r}")
    if not isinstance(region, str) or not _AWS_REGION.match(region):
        raise ValueError(f"not an AWS region: {region!r}")
    domain = "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
    return f"<{ses_message_id}@{domain}>"
