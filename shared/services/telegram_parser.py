"""Telegram Bot API webhooks: check the secret token, split an Update into a unit, normalize it.

Telegram posts one Update per request: `update_id` plus at most one optional field. The webhook is registered
with a `secret_token`; every request then carries it in `X-Telegram-Bot-Api-Secret-Token` (no body HMAC), and
it is compared in constant time before anything else. Updates are retried by Telegram and deduplicated on
`update_id` (the FIFO dedup id) and on the message's own id (`<chat id>:<message id>`, message ids are per
chat) when it is stored.

What a customer-messaging channel needs: private-chat messages (text, photo, document, audio, voice, video,
sticker, location, venue, contact), inline-keyboard taps (`callback_query`, normalized like a WhatsApp button
reply: the tapped button's `callback_data` is the reply id) and reactions. Edited messages, channel posts,
group chats and the rest are acknowledged and counted as ignored.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

from shared.models.messages import (
    Identity,
    InboundMessage,
    InteractiveReply,
    Location,
    Media,
    MessageType,
    Reaction,
    ReplyContext,
    SharedContact,
)
from shared.services.webhook_units import PayloadShapeError, Rejection, SplitResult, UnitDraft
from shared.services.webhook_units import as_dict as _dict

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
HANDLED = ("message", "callback_query", "message_reaction")


def message_ref(chat_id: object, message_id: object) -> str:
    """How a Telegram message is stored: message ids are per chat, so `<chat id>:<message id>`."""
    return f"{chat_id}:{message_id}"


def message_number(ref: str | None) -> int | None:
    """The Bot API's message_id of a stored `<chat id>:<message id>`; None for an id that is not one."""
    tail = (ref or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def verify_secret_token(expected: str, received: str | None) -> bool:
    """The header Telegram sends with every update once the webhook has a secret_token (constant time)."""
    if not expected or not received:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8", "replace"))


def valid_secret_token(token: str) -> bool:
    """setWebhook accepts 1-256 characters of A-Z, a-z, 0-9, _ and -."""
    return 1 <= len(token) <= 256 and set(token) <= SECRET_TOKEN_CHARS


def _id(value: Any) -> str | None:
    """Telegram ids are integers (up to 52 bits); strings of digits are accepted too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return value
    return None


def _chat_of(update: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(chat, from) of the update's message, tap or reaction."""
    if "callback_query" in update:
        query = _dict(update["callback_query"])
        return _dict(_dict(query.get("message")).get("chat")), _dict(query.get("from"))
    if "message_reaction" in update:
        reaction = _dict(update["message_reaction"])
        return _dict(reaction.get("chat")), _dict(reaction.get("user"))
    message = _dict(update.get("message"))
    return _dict(message.get("chat")), _dict(message.get("from"))


def split_update(body: Any) -> SplitResult:
    """One unit for a message, tap or reaction of a private chat; anything else ignored or rejected."""
    result = SplitResult()
    if not isinstance(body, dict) or _id(body.get("update_id")) is None:
        result.rejected.append(Rejection("not a Telegram update (no update_id)", body))
        return result
    kind = next((k for k in HANDLED if k in body), None)
    if kind is None:
        result.ignored += 1  # edited messages, channel posts, inline queries, chat member changes, ...
        return result
    chat, sender = _chat_of(body)
    chat_id, sender_id = _id(chat.get("id")), _id(sender.get("id"))
    if chat.get("type") not in (None, "private") and chat_id is not None:
        result.ignored += 1  # groups and channels are not customer conversations
        return result
    if chat_id is None or sender_id is None:
        result.rejected.append(Rejection(f"{kind} without chat.id or from.id", body))
        return result
    if sender.get("is_bot") is True:
        result.ignored += 1
        return result
    result.units.append(UnitDraft(kind="message", payload=body, contacts=[], value_errors=[],
                                  dedup_key=f"update:{body['update_id']}", contact_key=chat_id))
    return result


def _identity(chat_id: str, sender: dict[str, Any], phone: str | None = None) -> Identity:
    name = " ".join(str(sender[k]) for k in ("first_name", "last_name") if isinstance(sender.get(k), str)) or None
    return Identity(key=chat_id, provider="telegram", name=name,
                    username=sender.get("username") if isinstance(sender.get("username"), str) else None,
                    phone=phone)


def _date(value: Any, default: datetime) -> datetime:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return default
    return default


def _file(obj: dict[str, Any], *, caption: str | None = None, voice: bool | None = None,
          animated: bool | None = None) -> Media:
    return Media(id=obj.get("file_id") if isinstance(obj.get("file_id"), str) else None,
                 mime_type=obj.get("mime_type") if isinstance(obj.get("mime_type"), str) else None,
                 filename=obj.get("file_name") if isinstance(obj.get("file_name"), str) else None,
                 caption=caption, voice=voice, animated=animated)


def _largest(photos: Any) -> dict[str, Any]:
    sizes = [p for p in photos if isinstance(p, dict)] if isinstance(photos, list) else []
    if not sizes:
        return {}
    return max(sizes, key=lambda p: (int(p.get("file_size") or 0), int(p.get("width") or 0) * int(p.get("height")
                                                                                                  or 0)))


def _button_title(message: dict[str, Any], data: str) -> str | None:
    """The label of the inline-keyboard button whose callback_data was tapped (kept on the bot's message)."""
    rows = _dict(message.get("reply_markup")).get("inline_keyboard")
    for row in rows if isinstance(rows, list) else []:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data:
                text = button.get("text")
                return text if isinstance(text, str) else None
    return None


def parse_update(update: dict[str, Any], *, received_at: datetime) -> InboundMessage:
    """Normalize one update of split_update. Raises PayloadShapeError only when it cannot be identified."""
    chat, sender = _chat_of(update)
    chat_id = _id(chat.get("id"))
    if chat_id is None or _id(update.get("update_id")) is None:
        raise PayloadShapeError("update without update_id or chat.id")
    if "callback_query" in update:
        query = _dict(update["callback_query"])
        query_id = query.get("id")
        if not isinstance(query_id, str) or not query_id:
            raise PayloadShapeError("callback_query without id")
        data = query.get("data") if isinstance(query.get("data"), str) else None
        origin = _dict(query.get("message"))
        title = _button_title(origin, data) if data is not None else None
        return InboundMessage(
            provider="telegram", provider_message_id=f"cb:{query_id}", type=MessageType.INTERACTIVE,
            raw_type="callback_query", sender=_identity(chat_id, sender), sent_at=received_at,
            text=title or data, interactive=InteractiveReply(kind="button_reply", id=data, title=title),
            context=ReplyContext(message_id=message_ref(chat_id, origin["message_id"]))
            if _id(origin.get("message_id")) else None)
    if "message_reaction" in update:
        reaction = _dict(update["message_reaction"])
        emojis = [r.get("emoji") for r in reaction.get("new_reaction") or [] if isinstance(r, dict)]
        target = message_ref(chat_id, reaction.get("message_id"))
        return InboundMessage(
            provider="telegram", provider_message_id=f"re:{update['update_id']}", type=MessageType.REACTION,
            raw_type="message_reaction", sender=_identity(chat_id, sender),
            sent_at=_date(reaction.get("date"), received_at),
            reaction=Reaction(message_id=target, emoji=emojis[0] if emojis else None, removed=not emojis))
    message = _dict(update.get("message"))
    message_id = _id(message.get("message_id"))
    if message_id is None:
        raise PayloadShapeError("message without message_id")
    caption = message.get("caption") if isinstance(message.get("caption"), str) else None
    fields: dict[str, Any] = {}
    text: str | None = None
    raw_type = next((k for k in ("text", "photo", "document", "voice", "audio", "video", "video_note", "sticker",
                                 "venue", "location", "contact") if k in message), "unknown")
    phone = None
    if raw_type == "text":
        mtype, text = MessageType.TEXT, str(message["text"])
    elif raw_type == "photo":
        mtype, text = MessageType.IMAGE, caption
        fields["media"] = _file(_largest(message["photo"]), caption=caption)
    elif raw_type == "document":
        mtype, text = MessageType.DOCUMENT, caption
        fields["media"] = _file(_dict(message["document"]), caption=caption)
    elif raw_type in ("voice", "audio"):
        mtype = MessageType.AUDIO
        fields["media"] = _file(_dict(message[raw_type]), caption=caption, voice=raw_type == "voice")
        text = caption
    elif raw_type in ("video", "video_note"):
        mtype, text = MessageType.VIDEO, caption
        fields["media"] = _file(_dict(message[raw_type]), caption=caption)
    elif raw_type == "sticker":
        sticker = _dict(message["sticker"])
        mtype = MessageType.STICKER
        fields["media"] = _file(sticker, animated=bool(sticker.get("is_animated") or sticker.get("is_video")))
    elif raw_type in ("venue", "location"):
        venue = _dict(message.get("venue"))
        where = _dict(venue.get("location")) or _dict(message.get("location"))
        try:
            fields["location"] = Location(latitude=float(where["latitude"]), longitude=float(where["longitude"]),
                                          name=venue.get("title"), address=venue.get("address"))
            mtype = MessageType.LOCATION
        except (KeyError, TypeError, ValueError):
            mtype = MessageType.UNSUPPORTED
    elif raw_type == "contact":
        shared = _dict(message["contact"])
        name = " ".join(str(shared[k]) for k in ("first_name", "last_name") if isinstance(shared.get(k), str))
        number = str(shared.get("phone_number") or "")
        fields["contacts"] = [SharedContact(formatted_name=name or None, phones=[{"phone": number}] if number else [],
                                            raw=shared)]
        mtype, text = MessageType.CONTACTS, name or number or None
        digits = "".join(c for c in number if c.isdigit())
        if digits and _id(shared.get("user_id")) == _id(sender.get("id")):
            phone = digits  # the customer shared their own number: it identifies them across channels
    else:
        mtype = MessageType.UNSUPPORTED
    reply = _dict(message.get("reply_to_message"))
    return InboundMessage(
        provider="telegram", provider_message_id=message_ref(chat_id, message_id), type=mtype, raw_type=raw_type,
        sender=_identity(chat_id, sender, phone), sent_at=_date(message.get("date"), received_at), text=text,
        context=ReplyContext(message_id=message_ref(chat_id, reply["message_id"]))
        if _id(reply.get("message_id")) else None,
        raw=message if mtype is MessageType.UNSUPPORTED else None, **fields)
