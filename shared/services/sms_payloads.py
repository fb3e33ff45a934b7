"""Twilio Messages.json form fields for outbound requests on an SMS channel.

SMS is text and (MMS) media by URL, nothing else. Reply buttons and list rows become numbered options appended
to the text (the bot engine accepts "1", "2", ... and the titles, as on Telegram's fallback). Media needs a link
Twilio can fetch: a WhatsApp media id means nothing to Twilio. A body over Twilio's 1600 characters is refused
rather than cut: a cut message can say the opposite of what was meant. Reactions and WhatsApp templates have no
SMS form and are refused with that reason (the outbound message is stored as refused, never silently dropped);
a read receipt has no SMS equivalent and sends nothing. SMS cannot quote a message, so `reply_to` is not used.
"""

from __future__ import annotations

from shared.models.envelopes import (
    ButtonsContent,
    ListContent,
    MarkReadContent,
    MediaContent,
    OutboundRequest,
    ReactionContent,
    TemplateContent,
    TextContent,
)
from shared.services.send_policy import UnsupportedOnChannel

BODY_MAX = 1600


class UnsupportedOnSms(UnsupportedOnChannel):
    """Content SMS has no form for (a reaction, a template, media by id, a body over 1600 characters)."""


def body_length(text: str) -> int:
    """Characters as Twilio may count them: UTF-16 code units, so an emoji counts 2 and the limit is never
    passed whichever way Twilio counts."""
    return len(text.encode("utf-16-le")) // 2


def _body(text: str) -> str:
    length = body_length(text)
    if length > BODY_MAX:
        raise UnsupportedOnSms(f"text of {length} characters: SMS allows {BODY_MAX}; send it shorter or split it")
    return text


def _text(*parts: str | None) -> str:
    return "\n\n".join(p for p in parts if p)


def _menu(text: str, options: list[str]) -> str:
    return _text(text, "\n".join(f"{i}. {title}" for i, title in enumerate(options, start=1)))


def build_form(request: OutboundRequest, *, number: str, status_callback: str | None
               ) -> dict[str, str | list[str]] | None:
    """The form to POST to Messages.json for this request, or None when there is nothing to send (a read
    receipt). Raises UnsupportedOnSms for content SMS cannot carry."""
    content = request.content
    form: dict[str, str | list[str]] = {"To": request.to, "From": number}
    if isinstance(content, TextContent):
        form["Body"] = _body(content.body)
    elif isinstance(content, MediaContent):
        if not content.link:
            raise UnsupportedOnSms("SMS media needs a link Twilio can fetch, not a media id")
        form["MediaUrl"] = [content.link]
        if content.caption:
            form["Body"] = _body(content.caption)
    elif isinstance(content, ButtonsContent):
        form["Body"] = _body(_menu(_text(content.header, content.body, content.footer),
                                   [b.title for b in content.buttons]))
    elif isinstance(content, ListContent):
        rows = [f"{r.title} · {r.description}" if r.description else r.title
                for s in content.sections for r in s.rows]
        form["Body"] = _body(_menu(_text(content.header, content.body, content.footer), rows))
    elif isinstance(content, ReactionContent):
        raise UnsupportedOnSms("SMS has no reactions")
    elif isinstance(content, MarkReadContent):
        return None  # SMS has no read receipts or typing indicator
    elif isinstance(content, TemplateContent):
        raise UnsupportedOnSms(f"template {content.name!r}: templates are WhatsApp-only; send text instead")
    else:  # pragma: no cover - the union is closed
        raise UnsupportedOnSms(f"unknown content {type(content).__name__}")
    if status_callback:
        form["StatusCallback"] = status_callback
    return form
