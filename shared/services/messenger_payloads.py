"""Send API bodies for outbound requests on a Messenger or Instagram channel (`POST /me/messages`, Page token).

Every body addresses the page-scoped id (`recipient.id`, a PSID or IGSID) and says why it may be sent:
`messaging_type: RESPONSE` inside the 24-hour standard window, or `MESSAGE_TAG` with `tag: HUMAN_AGENT` when a
person replies within 7 days of the customer's last message (the send guard decides which; see send_policy).

Forms: text (Messenger 2,000 characters, Instagram 1,000 UTF-8 bytes); media by URL or reusable attachment id
(Messenger has no caption: a caption goes as a second, text message); reply buttons and list rows as quick replies
(up to 13; a title over 20 characters is shortened with "…", the payload still carries the option id); a larger menu
as numbered options (the bot engine accepts "1", "2", ... and the titles). Instagram reacts with `sender_action:
react` ("love" is the reaction the API offers); Messenger's Send API has no reactions, so a reaction there is
refused with that reason. A read receipt is `sender_action: mark_seen`, its typing indicator `typing_on`. WhatsApp
templates do not exist here. A private reply to a comment (address "comment:<id>") is one text message with
`recipient: {"comment_id": ...}`.
"""

from __future__ import annotations

from typing import Any

from shared.models.comments import COMMENT_ADDRESS_PREFIX
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

TEXT_MAX = 2000
INSTAGRAM_TEXT_MAX_BYTES = 1000
QUICK_REPLIES_MAX = 13
QUICK_REPLY_TITLE_MAX = 20
QUICK_REPLY_PAYLOAD_MAX = 1000
ATTACHMENT_TYPES = {"image": "image", "video": "video", "audio": "audio", "document": "file", "sticker": "image"}
HUMAN_AGENT = "HUMAN_AGENT"


def _text(*parts: str | None) -> str:
    return "\n\n".join(p for p in parts if p)


def text_fits(text: str, kind: str) -> str | None:
    """None when the text fits the channel; otherwise why not. Messenger takes 2,000 characters, Instagram 1,000
    UTF-8 bytes."""
    if kind == "instagram" and len(text.encode("utf-8")) > INSTAGRAM_TEXT_MAX_BYTES:
        return f"text of {len(text.encode('utf-8'))} bytes: Instagram takes {INSTAGRAM_TEXT_MAX_BYTES} (UTF-8)"
    if len(text) > TEXT_MAX:
        return f"text of {len(text)} characters: Messenger takes {TEXT_MAX}"
    return None


def _checked(text: str, kind: str = "messenger") -> str:
    problem = text_fits(text, kind)
    if problem:
        raise UnsupportedOnChannel(problem)
    return text


def _title(title: str) -> str:
    """A quick reply shows 20 characters: a longer title is shortened visibly (the payload still carries the id)."""
    return title if len(title) <= QUICK_REPLY_TITLE_MAX else title[:QUICK_REPLY_TITLE_MAX - 1].rstrip() + "…"


def _menu(text: str, options: list[tuple[str, str]], kind: str) -> dict[str, Any]:
    fits = len(options) <= QUICK_REPLIES_MAX and all(len(option_id) <= QUICK_REPLY_PAYLOAD_MAX
                                                     for option_id, _ in options)
    if not fits:
        numbered = "\n".join(f"{i}. {title}" for i, (_, title) in enumerate(options, start=1))
        return {"text": _checked(_text(text, numbered), kind)}
    return {"text": _checked(text or "…", kind),
            "quick_replies": [{"content_type": "text", "title": _title(title), "payload": option_id}
                              for option_id, title in options]}


def build_bodies(request: OutboundRequest, *, kind: str, tag: str | None = None) -> list[dict[str, Any]]:
    """The Send API bodies for this request, in order (empty for nothing to send)."""
    content = request.content
    recipient = {"id": request.to}
    why: dict[str, Any] = {"messaging_type": "MESSAGE_TAG", "tag": tag} if tag else {"messaging_type": "RESPONSE"}
    if request.to.startswith(COMMENT_ADDRESS_PREFIX):  # a private reply: addressed to the comment, text only
        if not isinstance(content, TextContent):
            raise UnsupportedOnChannel("a private reply to a comment is one text message")
        return [{"recipient": {"comment_id": request.to[len(COMMENT_ADDRESS_PREFIX):]},
                 "message": {"text": _checked(content.body, kind)}}]
    messages: list[dict[str, Any]] = []
    if isinstance(content, TextContent):
        messages.append({"text": _checked(content.body, kind)})
    elif isinstance(content, MediaContent):
        if content.media_id:
            payload: dict[str, Any] = {"attachment_id": content.media_id}
        elif content.link:
            payload = {"url": content.link, "is_reusable": True}
        else:
            raise UnsupportedOnChannel("media needs a link or an attachment id")
        messages.append({"attachment": {"type": ATTACHMENT_TYPES[content.type], "payload": payload}})
        if content.caption:
            messages.append({"text": _checked(content.caption, kind)})
    elif isinstance(content, ButtonsContent):
        messages.append(_menu(_text(content.header, content.body, content.footer),
                              [(b.id, b.title) for b in content.buttons], kind))
    elif isinstance(content, ListContent):
        messages.append(_menu(_text(content.header, content.body, content.footer),
                              [(r.id, r.title) for s in content.sections for r in s.rows], kind))
    elif isinstance(content, ReactionContent):
        if kind != "instagram":
            raise UnsupportedOnChannel("the Messenger Send API has no reactions")
        action = {"sender_action": "react", "payload": {"message_id": content.message_id, "reaction": "love"}} \
            if content.emoji else {"sender_action": "unreact", "payload": {"message_id": content.message_id}}
        return [{"recipient": recipient, **action}]
    elif isinstance(content, MarkReadContent):
        actions = ["mark_seen", "typing_on"] if content.typing_indicator else ["mark_seen"]
        return [{"recipient": recipient, "sender_action": action} for action in actions]
    elif isinstance(content, TemplateContent):
        raise UnsupportedOnChannel(f"template {content.name!r}: templates are WhatsApp-only; send text instead")
    else:  # pragma: no cover - the union is closed
        raise UnsupportedOnChannel(f"unknown content {type(content).__name__}")
    return [{"recipient": recipient, **why, "message": message} for message in messages]
