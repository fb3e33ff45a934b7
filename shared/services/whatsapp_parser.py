"""WhatsApp Cloud API webhook parsing: pure functions, no I/O.

Two stages, matching the two functions that use them:
- `split_webhook` (ingest, on the hot path): checks the envelope's shape just enough to route each
  message/status to its own queue unit, and says precisely what it could not accept.
- `parse_message` / `parse_status` (inbound processor): normalize one raw provider object into the
  canonical model. Unknown types are kept raw, never dropped.
Real traffic differs from the docs (usernames hide the phone, v24 statuses omit `conversation`,
`read` without `delivered`, batched entries): see README "WhatsApp quirks".
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from shared.models.messages import (
    ConversationInfo,
    Identity,
    InboundMessage,
    InteractiveReply,
    Location,
    Media,
    MessageType,
    Order,
    OrderItem,
    Pricing,
    ProviderError,
    Reaction,
    Referral,
    ReplyContext,
    SharedContact,
    StatusKind,
    StatusUpdate,
    SystemEvent,
    TemplateButtonReply,
)
from shared.services.webhook_units import PayloadShapeError, Rejection, SplitResult, UnitDraft
from shared.services.webhook_units import as_dict as _dict
from shared.services.webhook_units import nonempty_str as _str

WHATSAPP_OBJECT = "whatsapp_business_account"


# Account-health webhook fields, processed as "account" units (shared.services.templates).
ACCOUNT_FIELDS = frozenset({"message_template_status_update", "message_template_quality_update",
                            "template_category_update", "phone_number_quality_update", "account_update",
                            "business_capability_update"})
ACCOUNT_GROUP = "#account"  # the FIFO group of a channel's account units (never a contact key)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _timestamp(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PayloadShapeError("timestamp is not unix seconds")
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        raise PayloadShapeError("timestamp is not unix seconds")
    try:
        return datetime.fromtimestamp(int(text), tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise PayloadShapeError("timestamp is not unix seconds") from exc


def _contact_for(message: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    sender = _str(message.get("from"))
    sender_user = _str(message.get("from_user_id"))
    for contact in contacts:
        if not isinstance(contact, dict):
            continue
        if (sender and contact.get("wa_id") == sender) or (sender_user and contact.get("user_id") == sender_user):
            return contact
    if len(contacts) == 1 and isinstance(contacts[0], dict):
        return contacts[0]
    return {}


def message_identity(message: dict[str, Any], contacts: list[dict[str, Any]]) -> Identity:
    """Key a sender on the business-scoped user id when Meta gives one, else on the phone-based wa_id."""
    contact = _contact_for(message, contacts)
    profile = _dict(contact.get("profile"))
    wa_id = _str(contact.get("wa_id")) or _str(message.get("from"))
    user_id = _str(contact.get("user_id")) or _str(message.get("from_user_id"))
    key = user_id or wa_id
    if not key:
        raise PayloadShapeError("message has neither from nor a contact user_id")
    return Identity(
        key=key,
        wa_id=wa_id,
        user_id=user_id,
        parent_user_id=_str(contact.get("parent_user_id")) or _str(message.get("from_parent_user_id")),
        phone=wa_id if wa_id and wa_id.isdigit() else None,
        name=_str(profile.get("name")),
        username=_str(profile.get("username")),
    )


def status_identity(status: dict[str, Any]) -> Identity:
    wa_id = _str(status.get("recipient_id"))
    user_id = _str(status.get("recipient_user_id"))
    key = user_id or wa_id
    if not key:
        raise PayloadShapeError("status has neither recipient_id nor recipient_user_id")
    return Identity(key=key, wa_id=wa_id, user_id=user_id,
                    parent_user_id=_str(status.get("parent_recipient_user_id")),
                    phone=wa_id if wa_id and wa_id.isdigit() else None)


def _check_message(message: Any, contacts: list[dict[str, Any]]) -> tuple[str, str]:
    if not isinstance(message, dict):
        raise PayloadShapeError("message is not an object")
    message_id = _str(message.get("id"))
    if not message_id:
        raise PayloadShapeError("message has no id")
    if not _str(message.get("type")):
        raise PayloadShapeError("message has no type")
    _timestamp(message.get("timestamp"))
    return message_id, message_identity(message, contacts).key


def _check_status(status: Any) -> tuple[str, str]:
    if not isinstance(status, dict):
        raise PayloadShapeError("status is not an object")
    message_id = _str(status.get("id"))
    value = _str(status.get("status"))
    if not message_id or not value:
        raise PayloadShapeError("status has no id or status")
    _timestamp(status.get("timestamp"))
    return f"{message_id}:{value}", status_identity(status).key


def split_webhook(body: Any, phone_number_id: str) -> SplitResult:
    """Split a verified webhook body into per-message/per-status units for this channel."""
    result = SplitResult()
    if not isinstance(body, dict) or body.get("object") != WHATSAPP_OBJECT or not isinstance(body.get("entry"), list):
        result.rejected.append(Rejection("envelope: expected object=whatsapp_business_account with entry[]", body))
        return result
    for entry in body["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            result.rejected.append(Rejection("entry: expected changes[]", entry))
            continue
        for change in changes:
            _split_change(change, phone_number_id, result)
    return result


def _split_change(change: Any, phone_number_id: str, result: SplitResult) -> None:
    if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
        result.rejected.append(Rejection("change: expected field and value{}", change))
        return
    field_name = change.get("field")
    value = change["value"]
    if field_name in ACCOUNT_FIELDS:
        # Template, number-quality and account changes: one unit each, in the channel's own FIFO group.
        payload = {"field": field_name, "value": value}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
        result.units.append(UnitDraft("account", payload, [], [], f"account:{digest}", ACCOUNT_GROUP))
        return
    if field_name != "messages":
        # Other fields (calls, history, ...) belong to later features: stored, visible, not lost.
        result.rejected.append(Rejection(f"unhandled field: {field_name}", change))
        return
    metadata = _dict(value.get("metadata"))
    got_pni = metadata.get("phone_number_id")
    if got_pni != phone_number_id:
        result.rejected.append(Rejection(f"phone_number_id {got_pni!r} is not this channel's", change))
        return
    contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
    value_errors = [e for e in _list(value.get("errors")) if isinstance(e, dict)]
    messages = value.get("messages") or []
    statuses = value.get("statuses") or []
    if not isinstance(messages, list) or not isinstance(statuses, list):
        result.rejected.append(Rejection("value: messages/statuses must be arrays", change))
        return
    if not messages and not statuses:
        if value_errors:
            result.rejected.append(Rejection("provider errors without messages", change))
        else:
            result.ignored += 1
        return
    for message in messages:
        try:
            dedup, contact_key = _check_message(message, contacts)
        except PayloadShapeError as exc:
            result.rejected.append(Rejection(f"message: {exc}", message))
            continue
        result.units.append(UnitDraft("message", message, contacts, value_errors, dedup, contact_key))
    for status in statuses:
        try:
            dedup, contact_key = _check_status(status)
        except PayloadShapeError as exc:
            result.rejected.append(Rejection(f"status: {exc}", status))
            continue
        result.units.append(UnitDraft("status", status, [], [], dedup, contact_key))


def _errors(items: Any) -> list[ProviderError]:
    errors = []
    for item in _list(items):
        if not isinstance(item, dict):
            continue
        data = _dict(item.get("error_data"))
        code = item.get("code")
        errors.append(ProviderError(
            code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            title=_str(item.get("title")),
            message=_str(item.get("message")),
            details=_str(data.get("details")),
            href=_str(item.get("href")),
        ))
    return errors


def _media(obj: dict[str, Any]) -> Media:
    return Media(
        id=_str(obj.get("id")),
        mime_type=_str(obj.get("mime_type")),
        sha256=_str(obj.get("sha256")),
        caption=_str(obj.get("caption")),
        filename=_str(obj.get("filename")),
        url=_str(obj.get("url")),
        voice=obj.get("voice") if isinstance(obj.get("voice"), bool) else None,
        animated=obj.get("animated") if isinstance(obj.get("animated"), bool) else None,
    )


def _interactive(obj: dict[str, Any]) -> InteractiveReply:
    kind = _str(obj.get("type")) or "unknown"
    inner = _dict(obj.get(kind))
    if kind in ("button_reply", "list_reply"):
        return InteractiveReply(kind=kind, id=_str(inner.get("id")), title=_str(inner.get("title")),
                                description=_str(inner.get("description")))
    if kind == "nfm_reply":
        response: dict[str, Any] | None = None
        raw_json = inner.get("response_json")
        if isinstance(raw_json, str):
            try:
                parsed = json.loads(raw_json)
                response = parsed if isinstance(parsed, dict) else {"value": parsed}
            except ValueError:
                response = {"unparsed": raw_json}
        return InteractiveReply(kind=kind, flow_name=_str(inner.get("name")), flow_body=_str(inner.get("body")),
                                flow_response=response)
    return InteractiveReply(kind=kind, raw=obj)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _order(obj: dict[str, Any]) -> Order:
    items = []
    for item in _list(obj.get("product_items")):
        if isinstance(item, dict) and _str(item.get("product_retailer_id")):
            quantity = _number(item.get("quantity"))
            items.append(OrderItem(product_retailer_id=item["product_retailer_id"],
                                   quantity=int(quantity) if quantity is not None else None,
                                   item_price=_number(item.get("item_price")), currency=_str(item.get("currency"))))
    return Order(catalog_id=_str(obj.get("catalog_id")), text=_str(obj.get("text")), items=items)


def _context(obj: Any) -> ReplyContext | None:
    if not isinstance(obj, dict):
        return None
    product = obj.get("referred_product")
    return ReplyContext(
        message_id=_str(obj.get("id")),
        **{"from": _str(obj.get("from"))},
        forwarded=obj.get("forwarded") is True,
        frequently_forwarded=obj.get("frequently_forwarded") is True,
        referred_product=product if isinstance(product, dict) else None,
    )


def _referral(obj: Any) -> Referral | None:
    if not isinstance(obj, dict):
        return None
    welcome = obj.get("welcome_message")
    data = {k: _str(obj.get(k)) for k in Referral.model_fields if k != "welcome_message"}
    return Referral(**data, welcome_message=_str(welcome.get("text")) if isinstance(welcome, dict) else None)


def parse_message(message: dict[str, Any], contacts: list[dict[str, Any]] | None = None,
                  value_errors: list[dict[str, Any]] | None = None) -> InboundMessage:
    """Normalize one `messages[]` item. Raises PayloadShapeError only when it cannot be identified."""
    contacts = contacts or []
    message_id, _ = _check_message(message, contacts)
    raw_type = message["type"]
    try:
        mtype = MessageType(raw_type)
    except ValueError:
        mtype = MessageType.UNKNOWN
    body = _dict(message.get(raw_type))
    fields: dict[str, Any] = {}
    text: str | None = None
    try:
        if mtype is MessageType.TEXT:
            text = _str(body.get("body"))
        elif mtype in (MessageType.IMAGE, MessageType.AUDIO, MessageType.VIDEO, MessageType.DOCUMENT,
                       MessageType.STICKER):
            fields["media"] = _media(body)
            text = fields["media"].caption
        elif mtype is MessageType.LOCATION:
            lat, lon = _number(body.get("latitude")), _number(body.get("longitude"))
            if lat is None or lon is None:
                raise PayloadShapeError("location without latitude/longitude")
            fields["location"] = Location(latitude=lat, longitude=lon, name=_str(body.get("name")),
                                          address=_str(body.get("address")), url=_str(body.get("url")))
            text = fields["location"].name or fields["location"].address
        elif mtype is MessageType.CONTACTS:
            shared = _list(message.get("contacts"))
            fields["contacts"] = [
                SharedContact(
                    formatted_name=_str((c.get("name") or {}).get("formatted_name")) if isinstance(c.get("name"),
                                                                                                   dict) else None,
                    phones=[p for p in _list(c.get("phones")) if isinstance(p, dict)],
                    emails=[e for e in _list(c.get("emails")) if isinstance(e, dict)],
                    raw=c,
                )
                for c in shared if isinstance(c, dict)
            ]
            text = ", ".join(c.formatted_name for c in fields["contacts"] if c.formatted_name) or None
        elif mtype is MessageType.INTERACTIVE:
            if body:
                fields["interactive"] = _interactive(body)
                text = fields["interactive"].title or fields["interactive"].flow_body
        elif mtype is MessageType.BUTTON:
            fields["button"] = TemplateButtonReply(payload=_str(body.get("payload")), text=_str(body.get("text")))
            text = fields["button"].text
        elif mtype is MessageType.REACTION:
            target = _str(body.get("message_id"))
            if not target:
                raise PayloadShapeError("reaction without message_id")
            emoji = body.get("emoji") if isinstance(body.get("emoji"), str) else None
            fields["reaction"] = Reaction(message_id=target, emoji=emoji or None, removed=not emoji)
            text = emoji or None
        elif mtype is MessageType.ORDER:
            fields["order"] = _order(body)
            text = fields["order"].text
        elif mtype is MessageType.SYSTEM:
            fields["system"] = SystemEvent(type=_str(body.get("type")), body=_str(body.get("body")),
                                           new_wa_id=_str(body.get("wa_id")), new_user_id=_str(body.get("user_id")))
            text = fields["system"].body
    except PayloadShapeError:
        # The message is identifiable but its content is not what the type promises: keep it raw.
        mtype, fields, text = MessageType.UNKNOWN, {}, None
    errors = _errors(message.get("errors")) + _errors(value_errors)
    keep_raw = mtype in (MessageType.UNSUPPORTED, MessageType.UNKNOWN) or bool(errors) or (
        mtype is MessageType.INTERACTIVE and "interactive" not in fields)
    return InboundMessage(
        provider_message_id=message_id,
        type=mtype,
        raw_type=raw_type,
        sender=message_identity(message, contacts),
        sent_at=_timestamp(message["timestamp"]),
        text=text,
        context=_context(message.get("context")),
        referral=_referral(message.get("referral")),
        errors=errors,
        raw=message if keep_raw else None,
        **fields,
    )


def parse_status(status: dict[str, Any]) -> StatusUpdate:
    """Normalize one `statuses[]` item (conversation and pricing are optional: v24 omits them)."""
    _check_status(status)
    raw_status = status["status"]
    try:
        kind: StatusKind | None = StatusKind(raw_status)
    except ValueError:
        kind = None
    if kind is StatusKind.ACCEPTED:  # not a webhook status; never let a webhook claim it
        kind = None
    conversation = None
    conv = status.get("conversation")
    if isinstance(conv, dict):
        origin = _dict(conv.get("origin"))
        try:
            expires_at: datetime | None = _timestamp(conv.get("expiration_timestamp"))
        except PayloadShapeError:
            expires_at = None
        conversation = ConversationInfo(
            id=_str(conv.get("id")),
            expires_at=expires_at,
            origin_type=_str(origin.get("type")),
        )
    pricing = None
    price = status.get("pricing")
    if isinstance(price, dict):
        pricing = Pricing(
            billable=price.get("billable") if isinstance(price.get("billable"), bool) else None,
            pricing_model=_str(price.get("pricing_model")),
            type=_str(price.get("type")),
            category=_str(price.get("category")),
        )
    return StatusUpdate(
        provider_message_id=status["id"],
        status=kind,
        raw_status=raw_status,
        at=_timestamp(status["timestamp"]),
        recipient=status_identity(status),
        callback_data=_str(status.get("biz_opaque_callback_data")),
        conversation=conversation,
        pricing=pricing,
        errors=_errors(status.get("errors")),
    )
