"""Bot API calls for outbound requests on a Telegram channel (`POST /bot<token>/<method>` with JSON params).

Everything the platform sends has a Telegram form: reply buttons and list rows become an inline keyboard (one
button per row, `callback_data` = the option id, which comes back as the tap's reply id); an option id longer
than Telegram's 64-byte `callback_data` turns the whole menu into numbered options in the text (the bot engine
accepts "1", "2", ... and the titles). Media goes by URL or Telegram file id. Reactions set the message's
reaction. A read receipt has no Bot API equivalent: its typing indicator becomes `sendChatAction`, and a bare
receipt sends nothing. WhatsApp templates do not exist on Telegram and are refused with that reason (the
outbound message is stored as failed, never silently dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
from shared.services.telegram_parser import message_number

CALLBACK_DATA_MAX_BYTES = 64
TEXT_MAX = 4096
CAPTION_MAX = 1024
MEDIA_METHODS = {"image": ("sendPhoto", "photo"), "video": ("sendVideo", "video"), "audio": ("sendAudio", "audio"),
                 "document": ("sendDocument", "document"), "sticker": ("sendSticker", "sticker")}


class UnsupportedOnTelegram(UnsupportedOnChannel):
    """Content Telegram has no form for (a WhatsApp template): the send fails with this reason."""


@dataclass(frozen=True)
class TelegramCall:
    method: str
    params: dict[str, Any]


def _text(*parts: str | None) -> str:
    return "\n\n".join(p for p in parts if p)[:TEXT_MAX]


def _keyboard(options: list[tuple[str, str]]) -> dict[str, Any] | None:
    if any(len(option_id.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES for option_id, _ in options):
        return None
    return {"inline_keyboard": [[{"text": title, "callback_data": option_id}] for option_id, title in options]}


def _menu(chat_id: str, text: str, options: list[tuple[str, str]]) -> TelegramCall:
    keyboard = _keyboard(options)
    if keyboard is None:
        numbered = "\n".join(f"{i}. {title}" for i, (_, title) in enumerate(options, start=1))
        return TelegramCall("sendMessage", {"chat_id": chat_id, "text": _text(text, numbered)})
    return TelegramCall("sendMessage", {"chat_id": chat_id, "text": text or "…", "reply_markup": keyboard})


def build_call(request: OutboundRequest) -> TelegramCall | None:
    """The Bot API call for this request, or None when there is nothing to send (a bare read receipt)."""
    content, chat_id = request.content, request.to
    call: TelegramCall | None
    if isinstance(content, TextContent):
        call = TelegramCall("sendMessage", {"chat_id": chat_id, "text": content.body[:TEXT_MAX],
                                            "link_preview_options": {"is_disabled": not content.preview_url}})
    elif isinstance(content, MediaContent):
        method, field = MEDIA_METHODS[content.type]
        source = content.media_id or content.link
        if not source:
            raise UnsupportedOnTelegram("media needs a link or a Telegram file id")
        params: dict[str, Any] = {"chat_id": chat_id, field: source}
        if content.caption and content.type != "sticker":
            params["caption"] = content.caption[:CAPTION_MAX]
        call = TelegramCall(method, params)
    elif isinstance(content, ButtonsContent):
        call = _menu(chat_id, _text(content.header, content.body, content.footer),
                     [(b.id, b.title) for b in content.buttons])
    elif isinstance(content, ListContent):
        rows = [(r.id, f"{r.title} · {r.description}" if r.description else r.title)
                for s in content.sections for r in s.rows]
        call = _menu(chat_id, _text(content.header, content.body, content.footer), rows)
    elif isinstance(content, ReactionContent):
        target = message_number(content.message_id)
        if target is None:
            raise UnsupportedOnTelegram(f"cannot react to {content.message_id!r}: not a Telegram message id")
        call = TelegramCall("setMessageReaction", {
            "chat_id": chat_id, "message_id": target,
            "reaction": [{"type": "emoji", "emoji": content.emoji}] if content.emoji else []})
    elif isinstance(content, MarkReadContent):
        return TelegramCall("sendChatAction", {"chat_id": chat_id, "action": "typing"}) \
            if content.typing_indicator else None
    elif isinstance(content, TemplateContent):
        raise UnsupportedOnTelegram(f"template {content.name!r}: templates are WhatsApp-only; send text instead")
    else:  # pragma: no cover - the union is closed
        raise UnsupportedOnTelegram(f"unknown content {type(content).__name__}")
    reply_to = message_number(request.reply_to)
    if reply_to is not None and call.method != "setMessageReaction":
        call.params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    return call
