"""Messenger and Instagram messaging webhooks: split `entry[].messaging[]` into units, normalize each item.

Both products post the same envelope (`object` is "page" or "instagram", `entry[].id` the Page or Instagram
professional account), signed like WhatsApp's with `X-Hub-Signature-256` over the raw body with the app secret.
`entry` and `messaging` are arrays and may each hold several items; Meta retries and may send an item twice, so
every unit carries a dedup key: the message id (`mid`), or for items without one (postbacks of older versions,
reactions, referrals) the sender, kind and millisecond timestamp.

What becomes a unit:
- `message` (text, attachments, quick-reply taps, replies) -> a message; echoes (`is_echo`: our own sends, or the
  page's inbox) are acknowledged and ignored as inbound;
- `postback` (buttons, Get Started, persistent menu, Instagram icebreakers) -> a message with the postback
  payload as the reply id, so the bot engine treats it like a tapped WhatsApp button;
- `reaction` -> a reaction; `referral` (m.me links, ads, for an existing thread) -> a system message;
- `delivery.mids[]` -> one "delivered" status per mid; `read.mid` (Instagram) -> a "read" status; a
  `read.watermark` (Messenger) -> one "read" status for the thread, applied to every message sent before it;
- a new comment by someone else (Page `feed` change of item "comment", Instagram `comments` change) -> a
  comment, which may be answered with one private reply (shared/services/comments.py);
- everything else (`standby`, optins, handover, policy enforcement) is acknowledged and counted as ignored.

An entry of another page or account than the channel's is rejected (quarantined): a channel never stores what
arrived for somebody else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from shared.models.comments import Comment
from shared.models.messages import (
    Identity,
    InboundMessage,
    InteractiveReply,
    Location,
    Media,
    MessageType,
    Reaction,
    Referral,
    ReplyContext,
    StatusKind,
    StatusUpdate,
    SystemEvent,
)
from shared.services.webhook_units import PayloadShapeError, Rejection, SplitResult, UnitDraft
from shared.services.webhook_units import as_dict as _dict
from shared.services.webhook_units import nonempty_str as _str

PageKind = Literal["messenger", "instagram"]
OBJECTS: dict[str, PageKind] = {"page": "messenger", "instagram": "instagram"}
ATTACHMENT_TYPES: dict[str, MessageType] = {
    "image": MessageType.IMAGE, "video": MessageType.VIDEO, "audio": MessageType.AUDIO, "file": MessageType.DOCUMENT,
    "sticker": MessageType.STICKER}
# The window status watermarks stand for (a Messenger read receipt: "everything before this time was seen").
WATERMARK = "watermark"


def _id(value: Any) -> str | None:
    """Page-scoped ids are strings of digits in real payloads; integers are accepted too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.isdigit():
        return value
    return None


def _ms(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _when(value: Any, default: datetime) -> datetime:
    ms = _ms(value)
    if ms is None:
        return default
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return default


_NEVER = datetime(1, 1, 1, tzinfo=UTC)  # what _when answers for a timestamp out of range (a sentinel)


def synthetic_id(kind: str, sender: str, body: dict[str, Any], stamp: int | None) -> str:
    """The id of an item Meta gives none (a reaction, a referral, a postback of an older version): stable across
    Meta's redeliveries of the same item, so both the queue and the message store deduplicate it."""
    return f"{kind}:{sender}:{body.get('mid') or ''}:{body.get('action') or ''}:{stamp}"


def _item_units(item: dict[str, Any], result: SplitResult) -> None:
    sender, recipient = _id(_dict(item.get("sender")).get("id")), _id(_dict(item.get("recipient")).get("id"))
    message = item.get("message")
    if isinstance(message, dict) and message.get("is_echo") is True:
        result.ignored += 1  # what the page itself sent (by us or in Meta's inbox): not inbound
        return
    kind = next((k for k in ("message", "postback", "reaction", "referral", "delivery", "read") if k in item), None)
    if kind is None:
        result.ignored += 1  # optin, account_linking, policy_enforcement, handover, ...
        return
    if sender is None or recipient is None:
        result.rejected.append(Rejection(f"{kind} without sender.id or recipient.id", item))
        return
    stamp = _ms(item.get("timestamp"))
    if kind == "message":
        mid = _str(_dict(message).get("mid"))
        if mid is None:
            result.rejected.append(Rejection("message without mid", item))
            return
        result.units.append(UnitDraft("message", item, [], [], dedup_key=mid, contact_key=sender))
    elif kind in ("postback", "reaction", "referral"):
        body = _dict(item[kind])
        mid = _str(body.get("mid")) if kind == "postback" else None
        if mid is None and stamp is None:
            result.rejected.append(Rejection(f"{kind} without mid or timestamp", item))
            return
        if kind == "reaction" and _str(body.get("mid")) is None:
            result.rejected.append(Rejection("reaction without the mid it reacts to", item))
            return
        key = mid or synthetic_id(kind, sender, body, stamp)
        result.units.append(UnitDraft("message", item, [], [], dedup_key=key, contact_key=sender))
    elif kind == "delivery":
        raw_mids = _dict(item["delivery"]).get("mids")
        mids = [m for m in raw_mids if isinstance(m, str) and m] if isinstance(raw_mids, list) else []
        if not mids:
            result.ignored += 1  # old deliveries carry only a watermark: the read that follows covers them
        for mid in mids:
            status = {"mid": mid, "status": "delivered", "timestamp": stamp, "user": sender}
            result.units.append(UnitDraft("status", status, [], [], dedup_key=f"{mid}:delivered",
                                          contact_key=sender))
    else:  # read
        read = _dict(item["read"])
        mid, watermark = _str(read.get("mid")), _ms(read.get("watermark"))
        if mid is not None:
            status = {"mid": mid, "status": "read", "timestamp": stamp, "user": sender}
            result.units.append(UnitDraft("status", status, [], [], dedup_key=f"{mid}:read", contact_key=sender))
        elif watermark is not None and _when(watermark, _NEVER) is not _NEVER:
            status = {"mid": None, "status": "read", "timestamp": stamp, WATERMARK: watermark, "user": sender}
            result.units.append(UnitDraft("status", status, [], [], dedup_key=f"read:{sender}:{watermark}",
                                          contact_key=sender))
        else:
            result.rejected.append(Rejection("read without mid or a valid watermark", item))


def _comment_unit(change: Any, account_id: str, result: SplitResult) -> None:
    """A new comment (Page `feed` item "comment" verb "add", Instagram `comments`) by someone else than the
    account itself: one "comment" unit, deduplicated on the comment id. Other feed changes are ignored."""
    change = _dict(change)
    value, field = _dict(change.get("value")), change.get("field")
    if field == "feed" and (value.get("item") != "comment" or value.get("verb") != "add"):
        result.ignored += 1
        return
    if field not in ("feed", "comments"):
        result.ignored += 1
        return
    comment_id = _str(value.get("comment_id")) if field == "feed" else _str(value.get("id"))
    author = _id(_dict(value.get("from")).get("id"))
    if comment_id is None or author is None:
        result.rejected.append(Rejection(f"{field} change without a comment id or from.id", change))
        return
    if author == account_id:
        result.ignored += 1  # the Page's own comment (our answers included)
        return
    result.units.append(UnitDraft("comment", {"field": field, "value": value}, [], [],
                                  dedup_key=f"comment:{comment_id}", contact_key=author))


def parse_comment(payload: dict[str, Any], *, tenant_id: str, channel_id: str, provider: PageKind,
                  received_at: datetime) -> Comment:
    """A comment unit of split_page_webhook."""
    value, field = _dict(payload.get("value")), payload.get("field")
    author = _dict(value.get("from"))
    comment_id = _str(value.get("comment_id")) if field == "feed" else _str(value.get("id"))
    author_id = _id(author.get("id"))
    if comment_id is None or author_id is None:
        raise PayloadShapeError("comment without id or from.id")
    created = _ms(value.get("created_time"))
    return Comment(
        tenant_id=tenant_id, channel_id=channel_id, provider=provider, comment_id=comment_id,
        post_id=_str(value.get("post_id")) or _str(_dict(value.get("media")).get("id")), author_id=author_id,
        author_name=_str(author.get("name")) or _str(author.get("username")),
        text=_str(value.get("message")) or _str(value.get("text")),
        created_at=_when(created * 1000 if created is not None else None, received_at))


def split_page_webhook(body: Any, *, kind: PageKind, account_id: str) -> SplitResult:
    """Units for one Messenger or Instagram webhook of the channel whose Page/IG account id is `account_id`."""
    result = SplitResult()
    obj = body.get("object") if isinstance(body, dict) else None
    if not isinstance(obj, str) or OBJECTS.get(obj) != kind:
        got = body.get("object") if isinstance(body, dict) else type(body).__name__
        result.rejected.append(Rejection(f"not a {kind} webhook (object={got!r})", body))
        return result
    entries = body.get("entry")
    if not isinstance(entries, list):
        result.rejected.append(Rejection("entry is not a list", body))
        return result
    for entry in entries:
        if not isinstance(entry, dict):
            result.rejected.append(Rejection("entry is not an object", entry))
            continue
        if _id(entry.get("id")) != account_id:
            result.rejected.append(Rejection(f"entry for account {entry.get('id')!r}, not this channel's", entry))
            continue
        result.ignored += len(entry["standby"]) if isinstance(entry.get("standby"), list) else 0
        if isinstance(entry.get("changes"), list):
            for change in entry["changes"]:
                _comment_unit(change, account_id, result)
        items = entry.get("messaging")
        if items is None:
            continue
        if not isinstance(items, list):
            result.rejected.append(Rejection("messaging is not a list", entry))
            continue
        for item in items:
            if isinstance(item, dict):
                _item_units(item, result)
            else:
                result.rejected.append(Rejection("messaging item is not an object", item))
    return _parseable(result, kind, account_id)


def _parseable(result: SplitResult, kind: PageKind, account_id: str) -> SplitResult:
    """Keep only units the inbound processor can normalize: one it cannot is quarantined here, with the reason,
    instead of failing (and holding its contact's FIFO group) in the processor."""
    kept = []
    for unit in result.units:
        try:
            if unit.kind == "comment":
                parse_comment(unit.payload, tenant_id="-", channel_id=account_id, provider=kind, received_at=_NEVER)
            elif unit.kind == "status":
                parse_page_status(unit.payload, provider=kind, received_at=_NEVER)
            else:
                parse_messaging(unit.payload, provider=kind, received_at=_NEVER)
        except (PayloadShapeError, ValueError, TypeError) as exc:
            result.rejected.append(Rejection(f"cannot be normalized: {exc}", unit.payload))
            continue
        kept.append(unit)
    result.units = kept
    return result


def _media(attachment: dict[str, Any], caption: str | None = None) -> Media:
    payload = _dict(attachment.get("payload"))
    return Media(url=_str(payload.get("url")), caption=caption,
                 id=_str(payload.get("attachment_id")) or (str(payload["sticker_id"])
                                                           if _id(payload.get("sticker_id")) else None))


def _message(item: dict[str, Any], provider: PageKind, sender: Identity, sent_at: datetime) -> InboundMessage:
    message = _dict(item.get("message"))
    mid = _str(message.get("mid"))
    if mid is None:
        raise PayloadShapeError("message without mid")
    text = message.get("text") if isinstance(message.get("text"), str) else None
    reply = _dict(message.get("reply_to"))
    context = ReplyContext(message_id=_str(reply.get("mid"))) if _str(reply.get("mid")) else None
    common: dict[str, Any] = {"provider": provider, "provider_message_id": mid, "sender": sender,
                              "sent_at": sent_at, "context": context}
    quick = _dict(message.get("quick_reply"))
    if _str(quick.get("payload")):
        return InboundMessage(type=MessageType.INTERACTIVE, raw_type="quick_reply", text=text,
                              interactive=InteractiveReply(kind="button_reply", id=quick["payload"], title=text),
                              **common)
    attachments = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
    if not attachments:
        if text is None:
            return InboundMessage(type=MessageType.UNSUPPORTED, raw_type="unknown", raw=item, **common)
        return InboundMessage(type=MessageType.TEXT, raw_type="text", text=text, **common)
    first = attachments[0]
    raw_type = str(first.get("type") or "unknown")
    # Several attachments in one message: the first is the media, the whole item is kept so none is lost.
    raw = item if len(attachments) > 1 else None
    if _id(message.get("sticker_id")) or _id(_dict(first.get("payload")).get("sticker_id")):
        return InboundMessage(type=MessageType.STICKER, raw_type="sticker", media=_media(first), raw=raw, **common)
    if raw_type in ATTACHMENT_TYPES:
        return InboundMessage(type=ATTACHMENT_TYPES[raw_type], raw_type=raw_type, text=text,
                              media=_media(first, caption=text), raw=raw, **common)
    if raw_type == "location":
        point = _dict(_dict(first.get("payload")).get("coordinates"))
        try:
            where = Location(latitude=float(point["lat"]), longitude=float(point["long"]),
                             name=_str(first.get("title")), url=_str(first.get("url")))
            return InboundMessage(type=MessageType.LOCATION, raw_type="location", location=where, raw=raw, **common)
        except (KeyError, TypeError, ValueError):
            pass
    # share, story_mention, ig_reel, reel, fallback, template, ...: a readable link and the raw item
    url = _str(_dict(first.get("payload")).get("url")) or _str(first.get("url"))
    title = _str(first.get("title")) or _str(_dict(first.get("payload")).get("title"))
    rendering = " ".join(p for p in (f"[{raw_type}]", title, url, text) if p)
    return InboundMessage(type=MessageType.UNSUPPORTED, raw_type=raw_type, text=rendering, raw=item, **common)


def _referral(body: dict[str, Any]) -> Referral:
    return Referral(source_type=_str(body.get("source")), source_id=_str(body.get("ref")),
                    source_url=_str(body.get("referer_uri")) or _str(body.get("ad_id")),
                    headline=_str(body.get("type")))


def parse_messaging(item: dict[str, Any], *, provider: PageKind, received_at: datetime) -> InboundMessage:
    """Normalize one message unit of split_page_webhook. Raises PayloadShapeError only when it cannot be
    identified."""
    psid = _id(_dict(item.get("sender")).get("id"))
    if psid is None:
        raise PayloadShapeError("messaging item without sender.id")
    sender = Identity(key=psid, provider=provider)
    sent_at = _when(item.get("timestamp"), received_at)
    stamp = _ms(item.get("timestamp"))
    if "message" in item:
        return _message(item, provider, sender, sent_at)
    if "postback" in item:
        postback = _dict(item["postback"])
        payload, title = _str(postback.get("payload")), _str(postback.get("title"))
        referral = _dict(postback.get("referral"))
        return InboundMessage(
            provider=provider,
            provider_message_id=_str(postback.get("mid")) or synthetic_id("postback", psid, postback, stamp),
            type=MessageType.INTERACTIVE, raw_type="postback", sender=sender, sent_at=sent_at, text=title or payload,
            interactive=InteractiveReply(kind="postback", id=payload, title=title),
            referral=_referral(referral) if referral else None)
    if "reaction" in item:
        reaction = _dict(item["reaction"])
        target = _str(reaction.get("mid"))
        if target is None:
            raise PayloadShapeError("reaction without mid")
        removed = reaction.get("action") == "unreact"
        return InboundMessage(
            provider=provider, provider_message_id=synthetic_id("reaction", psid, reaction, stamp),
            type=MessageType.REACTION, raw_type="reaction", sender=sender, sent_at=sent_at,
            reaction=Reaction(message_id=target, removed=removed,
                              emoji=None if removed else _str(reaction.get("emoji")) or _str(reaction.get("reaction"))))
    if "referral" in item:
        referral = _dict(item["referral"])
        return InboundMessage(
            provider=provider, provider_message_id=synthetic_id("referral", psid, referral, stamp),
            type=MessageType.SYSTEM, raw_type="referral", sender=sender, sent_at=sent_at,
            system=SystemEvent(type="referral", body=_str(referral.get("ref"))), referral=_referral(referral))
    raise PayloadShapeError("messaging item is not a message, postback, reaction or referral")


def parse_page_status(status: dict[str, Any], *, provider: PageKind, received_at: datetime) -> StatusUpdate:
    """A status unit of split_page_webhook (a delivered or read mid, or a read watermark)."""
    user = _id(status.get("user"))
    raw_status = status.get("status")
    if user is None or raw_status not in ("delivered", "read"):
        raise PayloadShapeError("status unit without user or status")
    watermark = _ms(status.get(WATERMARK))
    mid = _str(status.get("mid"))
    if mid is None and watermark is None:
        raise PayloadShapeError("status unit without mid or watermark")
    return StatusUpdate(
        provider=provider, provider_message_id=mid or f"{WATERMARK}:{watermark}", status=StatusKind(raw_status),
        raw_status=raw_status, at=_when(status.get("timestamp"), received_at),
        recipient=Identity(key=user, provider=provider),
        watermark=_when(watermark, received_at) if watermark is not None else None)
