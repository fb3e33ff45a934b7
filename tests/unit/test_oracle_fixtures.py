"""Differential tests: our WhatsApp parser against real third-party payloads and against pywa 4.5.0.

Inputs: every ../shared/oracle-fixtures/whatsapp/*.json (copied unchanged from Meta's OpenAPI examples,
pywa, whatsapp-api-js and Meta's CP4M; see SOURCES.md there) plus our own events/whatsapp samples.
The module is skipped when ../shared is not checked out next to the repository.

pywa reads only entry[0].changes[0] and messages[0]/statuses[0], so every unit is re-wrapped in a
one-item body before pywa sees it. pywa 4.5 requires contacts[0].user_id (a BSUID) and contacts[]
on statuses; where it raises we record "not accepted" and, in a second pass, add a synthetic BSUID
so that the content fields can still be compared. Known, intended differences are listed in
`_compare_message` / `_compare_status` next to the field they affect.
"""

from __future__ import annotations

import copy
import functools
import json
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.models.messages import InboundMessage, MessageType, StatusUpdate
from shared.services.signature import sign, verify_signature
from shared.services.whatsapp_parser import parse_message, parse_status, split_webhook
from tests.unit.conftest import EVENTS_DIR, ORACLE_FIXTURES_DIR

if not (ORACLE_FIXTURES_DIR / "whatsapp").is_dir():
    pytest.skip(f"../shared oracle fixtures not present at {ORACLE_FIXTURES_DIR}", allow_module_level=True)

pywa: Any = pytest.importorskip("pywa")
pywa_types: Any = pytest.importorskip("pywa.types")
webhook_updates_validator = pytest.importorskip("pywa.utils").webhook_updates_validator

WHATSAPP_FIXTURES = sorted((ORACLE_FIXTURES_DIR / "whatsapp").glob("*.json"))
OWN_EVENTS = sorted((EVENTS_DIR / "whatsapp").glob("*.json"))
ALL_BODIES = [*WHATSAPP_FIXTURES, *OWN_EVENTS]


def _id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.parent.name}/{path.name}"


SYNTHETIC_BSUID = "ZZ.9000000000000000001"

# What each oracle fixture must become (kind, canonical type or status value), or its fate as a whole.
EXPECTED: dict[str, list[tuple[str, str]] | str] = {
    "audio_voice_note.json": [("message", "audio")],
    "button_template_quick_reply.json": [("message", "button")],
    "contacts.json": [("message", "contacts")],
    "dashboard_test_text.json": [("message", "text")],
    "document_forwarded.json": [("message", "document")],
    "image.json": [("message", "image")],
    "image_with_media_url.json": [("message", "image")],
    "interactive_button_reply.json": [("message", "interactive")],
    "interactive_list_reply.json": [("message", "interactive")],
    "interactive_nfm_reply_flow.json": [("message", "interactive")],
    "interactive_with_value_errors.json": [("message", "interactive")],
    "location.json": [("message", "location")],
    "order.json": [("message", "order")],
    "reaction.json": [("message", "reaction")],
    "reaction_removed.json": [("message", "reaction")],
    "send_response_accepted.json": "rejected",  # a Send API response, not a webhook
    "status_delivered_username_bsuid.json": [("status", "delivered")],
    "status_failed_130472.json": [("status", "failed")],
    "status_failed_131047.json": [("status", "failed")],
    "status_sent_biz_opaque_callback_data.json": [("status", "sent")],
    "status_sent_cbp_conversation.json": [("status", "sent")],
    "status_sent_pmp_bsuid.json": [("status", "sent")],
    "sticker_animated.json": [("message", "sticker")],
    "system_user_changed_number.json": [("message", "system")],
    "text.json": [("message", "text")],
    "text_context_product_inquiry.json": [("message", "text")],
    "text_ctwa_referral.json": [("message", "text")],
    "text_reply_context.json": [("message", "text")],
    "unsupported.json": [("message", "unsupported")],
    "value_without_messages.json": "ignored",  # contacts only: nothing to do, nothing lost
}


def _phone_number_id(body: Any) -> str | None:
    try:
        pni = body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"]
    except (KeyError, IndexError, TypeError):
        return None
    return pni if isinstance(pni, str) else None


def _items(body: Any) -> int:
    """How many messages[] and statuses[] items a well-formed body carries."""
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        return 0
    count = 0
    for entry in body["entry"]:
        for change in entry.get("changes", []):
            value = change.get("value", {})
            count += len(value.get("messages", [])) + len(value.get("statuses", []))
    return count


def _parse(unit: Any) -> InboundMessage | StatusUpdate:
    if unit.kind == "message":
        return parse_message(unit.payload, unit.contacts, unit.value_errors)
    return parse_status(unit.payload)


# --------------------------------------------------------------------------------------------------
# Our parser over every real payload
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WHATSAPP_FIXTURES, ids=_id)
def test_every_oracle_fixture_is_split_and_parsed_without_crashing(path: Path) -> None:
    body = json.loads(path.read_bytes())

    result = split_webhook(body, _phone_number_id(body) or "unknown")
    parsed = [_parse(u) for u in result.units]

    # every message/status is either a unit or a named rejection
    item_rejections = [r for r in result.rejected if r.reason.startswith(("message:", "status:"))]
    assert len(result.units) + len(item_rejections) == _items(body)
    assert all(r.reason for r in result.rejected)
    expected = EXPECTED.get(path.name)
    if expected == "rejected":
        assert result.units == [] and len(result.rejected) == 1
    elif expected == "ignored":
        assert (result.units, result.rejected, result.ignored) == ([], [], 1)
    elif expected is not None:
        assert result.rejected == []
        got = [(u.kind, p.type.value if isinstance(p, InboundMessage) else p.raw_status)
               for u, p in zip(result.units, parsed, strict=True)]
        assert got == expected
    for p in parsed:
        assert p.provider_message_id
        when = p.sent_at if isinstance(p, InboundMessage) else p.at
        assert when.utcoffset() == timedelta(0)


@pytest.mark.parametrize("path", WHATSAPP_FIXTURES, ids=_id)
def test_every_oracle_fixture_is_rejected_by_another_channel(path: Path) -> None:
    body = json.loads(path.read_bytes())

    result = split_webhook(body, "000000000000000")

    assert result.units == []


# --------------------------------------------------------------------------------------------------
# pywa as a differential oracle
# --------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    compared: int = 0
    not_accepted: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)


def _single_bodies(body: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """(our unit, a one-item body for pywa) for every unit of a body."""
    pni = _phone_number_id(body) or "unknown"
    out = []
    for entry in body["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            sub = {"object": body["object"], "entry": [{"id": entry["id"], "changes": [change]}]}
            for unit in split_webhook(sub, pni).units:
                one = {k: v for k, v in value.items() if k not in ("messages", "statuses")}
                if unit.kind == "message" and len(value.get("contacts", [])) > 1:
                    # pywa pairs messages[0] with contacts[0]; hand it the sender's own contact
                    one["contacts"] = [c for c in value["contacts"] if unit.contact_key in
                                       (c.get("wa_id"), c.get("user_id"))]
                one["messages" if unit.kind == "message" else "statuses"] = [unit.payload]
                out.append((unit, {"object": body["object"],
                                   "entry": [{"id": entry["id"], "changes": [{"field": "messages", "value": one}]}]}))
    return out


def _with_synthetic_bsuid(one: dict[str, Any]) -> dict[str, Any]:
    """Give pywa the contacts[].user_id it insists on (and contacts on statuses)."""
    one = copy.deepcopy(one)
    value = one["entry"][0]["changes"][0]["value"]
    if "statuses" in value and not value.get("contacts"):
        value["contacts"] = [{"wa_id": value["statuses"][0].get("recipient_id", "")}]
    for contact in value.get("contacts", []):
        contact.setdefault("user_id", SYNTHETIC_BSUID)
    return one


@functools.cache
def _pywa_client(phone_id: str) -> Any:
    """A pywa client as pywa's own tests build it: no network in the constructor (sockets are off anyway)."""
    return pywa.WhatsApp(phone_id=phone_id, token="x", filter_updates=False)


def _pywa_update(wa: Any, one: dict[str, Any]) -> Any:
    value = one["entry"][0]["changes"][0]["value"]
    if "statuses" in value:
        return pywa_types.MessageStatus.from_update(client=wa, update=one)
    msg = value["messages"][0]
    mtype = msg.get("type")
    inner = (msg.get("interactive") or {}).get("type")
    if mtype == "button" or inner == "button_reply":
        return pywa_types.CallbackButton.from_update(client=wa, update=one)
    if inner == "list_reply":
        return pywa_types.CallbackSelection.from_update(client=wa, update=one)
    if inner == "nfm_reply":
        return pywa_types.FlowCompletion.from_update(client=wa, update=one)
    if mtype == "system":
        return pywa_types.PhoneNumberChange.from_update(client=wa, update=one)
    return pywa_types.Message.from_update(client=wa, update=one)


def _eq(out: list[str], what: str, ours: Any, theirs: Any) -> None:
    if ours != theirs:
        out.append(f"{what}: ours={ours!r} pywa={theirs!r}")


def _compare_sender(out: list[str], ours: Any, user: Any) -> None:
    _eq(out, "sender.wa_id", ours.wa_id, user.wa_id or None)
    _eq(out, "sender.user_id", ours.user_id, user.bsuid or None)
    _eq(out, "sender.name", ours.name, user.name)
    _eq(out, "sender.username", ours.username, user.username)


def _compare_message(out: list[str], ours: InboundMessage, theirs: Any, payload: dict[str, Any]) -> None:
    _eq(out, "id", ours.provider_message_id, theirs.id)
    _eq(out, "sent_at", ours.sent_at, theirs.timestamp)
    _compare_sender(out, ours.sender, theirs.from_user)
    reply_to = getattr(theirs, "reply_to_message", None)
    if reply_to is not None or ours.context is not None and ours.context.message_id:
        _eq(out, "reply_to", ours.context.message_id if ours.context else None, reply_to.id if reply_to else None)

    if isinstance(theirs, pywa_types.CallbackButton):
        data = ours.interactive.id if ours.interactive else ours.button.payload if ours.button else None
        title = ours.interactive.title if ours.interactive else ours.button.text if ours.button else None
        _eq(out, "type", ours.type.value, theirs.type.value)
        _eq(out, "button.data", data, theirs.data)
        _eq(out, "button.title", title, theirs.title)
        return
    if isinstance(theirs, pywa_types.CallbackSelection):
        assert ours.interactive is not None
        _eq(out, "list.id", ours.interactive.id, theirs.data)
        _eq(out, "list.title", ours.interactive.title, theirs.title)
        _eq(out, "list.description", ours.interactive.description, theirs.description)
        return
    if isinstance(theirs, pywa_types.FlowCompletion):
        assert ours.interactive is not None
        # pywa pops flow_token out of the response; we keep the response whole.
        response = dict(ours.interactive.flow_response or {})
        _eq(out, "flow.token", response.pop("flow_token", None), theirs.token)
        _eq(out, "flow.response", response, theirs.response)
        _eq(out, "flow.body", ours.interactive.flow_body, theirs.body)
        return
    if isinstance(theirs, pywa_types.PhoneNumberChange):
        assert ours.system is not None
        _eq(out, "system.new_wa_id", ours.system.new_wa_id, theirs.new_wa_id)
        _eq(out, "system.body", ours.system.body, theirs.body)
        _eq(out, "system.type", ours.system.type, theirs.sys_type.value)
        return

    _eq(out, "type", ours.type.value, theirs.type.value)
    _eq(out, "forwarded", bool(ours.context and (ours.context.forwarded or ours.context.frequently_forwarded)),
        theirs.forwarded)
    if ours.type is MessageType.TEXT:
        _eq(out, "text", ours.text, theirs.text)
    media = theirs.media
    if (media is None) != (ours.media is None):
        out.append(f"media presence: ours={ours.media!r} pywa={media!r}")
    elif media is not None and ours.media is not None:
        _eq(out, "media.id", ours.media.id, media.id)
        _eq(out, "media.mime_type", ours.media.mime_type, media.mime_type)
        _eq(out, "media.sha256", ours.media.sha256, media.sha256)
        _eq(out, "media.caption", ours.media.caption, getattr(media, "caption", None))
        _eq(out, "media.filename", ours.media.filename, media.filename)
        _eq(out, "media.url", ours.media.url, media.url)
        if ours.type is MessageType.AUDIO:
            _eq(out, "media.voice", bool(ours.media.voice), bool(media.voice))
        if ours.type is MessageType.STICKER:
            _eq(out, "media.animated", bool(ours.media.animated), bool(media.animated))
    if theirs.reaction is not None or ours.reaction is not None:
        assert ours.reaction is not None and theirs.reaction is not None
        _eq(out, "reaction.message_id", ours.reaction.message_id, theirs.reaction.message_id)
        _eq(out, "reaction.emoji", ours.reaction.emoji, theirs.reaction.emoji)
        _eq(out, "reaction.removed", ours.reaction.removed, theirs.reaction.is_removed)
    if theirs.location is not None:
        assert ours.location is not None
        _eq(out, "location", (ours.location.latitude, ours.location.longitude, ours.location.name,
                              ours.location.address, ours.location.url),
            (theirs.location.latitude, theirs.location.longitude, theirs.location.name, theirs.location.address,
             theirs.location.url))
    if theirs.contacts is not None:
        _eq(out, "contacts.names", [c.formatted_name for c in ours.contacts],
            [c.name.formatted_name if c.name else None for c in theirs.contacts])
        _eq(out, "contacts.phones", [[p.get("phone") for p in c.phones] for c in ours.contacts],
            [[p.phone for p in c.phones] for c in theirs.contacts])
    if theirs.order is not None:
        assert ours.order is not None
        _eq(out, "order.catalog_id", ours.order.catalog_id, theirs.order.catalog_id)
        _eq(out, "order.text", ours.order.text, theirs.order.text or None)  # pywa keeps ""
        _eq(out, "order.items", [(i.product_retailer_id, i.quantity, i.item_price, i.currency)
                                 for i in ours.order.items],
            [(p.sku, p.quantity, float(p.price), p.currency) for p in theirs.order.products])
    if theirs.referral is not None or ours.referral is not None:
        assert ours.referral is not None and theirs.referral is not None
        for name in ("source_url", "source_id", "source_type", "headline", "body", "media_type", "image_url",
                     "video_url", "thumbnail_url", "ctwa_clid"):
            _eq(out, f"referral.{name}", getattr(ours.referral, name), getattr(theirs.referral, name))
    if theirs.error is not None:
        # pywa keeps one error (value-level first); we keep message-level then value-level.
        _eq(out, "error.code in ours", True, theirs.error.code in [e.code for e in ours.errors])
    else:
        _eq(out, "errors", [], [e.code for e in ours.errors])


def _compare_status(out: list[str], ours: StatusUpdate, theirs: Any, payload: dict[str, Any]) -> None:
    _eq(out, "id", ours.provider_message_id, theirs.id)
    _eq(out, "status", ours.raw_status, theirs.status.value)
    _eq(out, "at", ours.at, theirs.timestamp)
    _eq(out, "callback_data", ours.callback_data, theirs.tracker)
    if payload.get("recipient_user_id"):
        # pywa takes the recipient from contacts[0]; we take it from the status itself.
        _eq(out, "recipient.user_id", ours.recipient.user_id, theirs.from_user.bsuid)
    if theirs.conversation is not None or ours.conversation is not None:
        assert ours.conversation is not None and theirs.conversation is not None
        _eq(out, "conversation.id", ours.conversation.id, theirs.conversation.id)
        _eq(out, "conversation.origin", ours.conversation.origin_type, theirs.conversation.category.value)
        _eq(out, "conversation.expires_at", ours.conversation.expires_at, theirs.conversation.expiration)
    if theirs.pricing is not None or ours.pricing is not None:
        assert ours.pricing is not None and theirs.pricing is not None
        _eq(out, "pricing.model", ours.pricing.pricing_model, theirs.pricing.model.value)
        _eq(out, "pricing.category", ours.pricing.category, theirs.pricing.category.value)
        _eq(out, "pricing.type", ours.pricing.type, theirs.pricing.type.value if theirs.pricing.type else None)
        if ours.pricing.billable is not None:
            _eq(out, "pricing.billable", ours.pricing.billable, theirs.pricing.billable)
    _eq(out, "error.code", [e.code for e in ours.errors][:1], [theirs.error.code] if theirs.error else [])


def compare_with_pywa(path: Path, *, synthetic_bsuid: bool) -> Outcome:
    body = json.loads(path.read_bytes())
    outcome = Outcome()
    if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
        outcome.not_accepted.append("not a webhook body")
        return outcome
    wa = _pywa_client(_phone_number_id(body) or "0")
    for unit, one in _single_bodies(body):
        if synthetic_bsuid:
            one = _with_synthetic_bsuid(one)
            unit = split_webhook(one, _phone_number_id(one) or "0").units[0]
        ours = _parse(unit)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pywa warns on enum values it does not know (e.g. "poll")
                theirs = _pywa_update(wa, one)
        except Exception as exc:  # noqa: BLE001 - pywa's refusal is data here
            outcome.not_accepted.append(f"{unit.dedup_key}: {type(exc).__name__}: {exc}")
            continue
        mismatches: list[str] = []
        if isinstance(ours, InboundMessage):
            _compare_message(mismatches, ours, theirs, unit.payload)
        else:
            _compare_status(mismatches, ours, theirs, unit.payload)
        outcome.compared += 1
        outcome.mismatches += [f"{path.name} {unit.dedup_key} {m}" for m in mismatches]
    return outcome


@pytest.mark.parametrize("path", ALL_BODIES, ids=_id)
def test_parser_agrees_with_pywa_on_payloads_pywa_accepts(path: Path) -> None:
    outcome = compare_with_pywa(path, synthetic_bsuid=False)

    assert outcome.mismatches == []


@pytest.mark.parametrize("path", ALL_BODIES, ids=_id)
def test_parser_agrees_with_pywa_when_given_the_bsuid_pywa_requires(path: Path) -> None:
    outcome = compare_with_pywa(path, synthetic_bsuid=True)

    assert outcome.mismatches == []
    if path.name not in ("send_response_accepted.json", "value_without_messages.json"):
        assert outcome.not_accepted == [], "pywa should accept every unit once it has a BSUID"
        assert outcome.compared >= 1


def test_pywa_is_compared_on_enough_unmodified_fixtures_and_rejects_the_rest_for_known_reasons() -> None:
    outcomes = {p.name: compare_with_pywa(p, synthetic_bsuid=False) for p in WHATSAPP_FIXTURES}
    accepted = sorted(n for n, o in outcomes.items() if o.compared)
    bodies = {p.name: json.loads(p.read_bytes()) for p in WHATSAPP_FIXTURES}
    ours = sorted(n for n, b in bodies.items() if split_webhook(b, _phone_number_id(b) or "x").units)
    reasons = {r.split(": ", 1)[1] for o in outcomes.values() for r in o.not_accepted if ": " in r}

    print(f"\npywa accepted {len(accepted)}/{len(outcomes)} oracle fixtures; ours produced units for {len(ours)}")
    assert len(accepted) >= 10
    assert set(accepted) <= set(ours)  # nothing pywa understands is lost by us
    # pywa's refusals are its BSUID/contacts requirements, not payload problems
    assert reasons <= {"KeyError: 'user_id'", "KeyError: 'contacts'"}


# --------------------------------------------------------------------------------------------------
# Meta's signature golden vector (CP4M)
# --------------------------------------------------------------------------------------------------

CP4M_SECRET = "f74a638462f975e9eadfcbb84e4aa06b"
CP4M_HEADER = "sha256=8620d18213fa2612d16117b65168ef97404fa13189528014c5362fec31215985"


def test_meta_golden_signature_vector_verifies_over_the_raw_bytes() -> None:
    sources = (ORACLE_FIXTURES_DIR / "SOURCES.md").read_text()
    assert CP4M_SECRET in sources and CP4M_HEADER in sources  # the constants are the documented ones
    raw = (ORACLE_FIXTURES_DIR / "messenger" / "text_message_signed.json").read_bytes()

    assert sign(CP4M_SECRET, raw) == CP4M_HEADER
    assert verify_signature(CP4M_SECRET, raw, CP4M_HEADER) is True
    assert webhook_updates_validator(CP4M_SECRET, raw, CP4M_HEADER) is True


def test_meta_golden_signature_vector_fails_for_reserialized_body_or_other_secret() -> None:
    raw = (ORACLE_FIXTURES_DIR / "messenger" / "text_message_signed.json").read_bytes()
    reserialized = json.dumps(json.loads(raw)).encode()

    assert reserialized != raw
    assert verify_signature(CP4M_SECRET, reserialized, CP4M_HEADER) is False
    assert verify_signature(CP4M_SECRET[:-1] + "c", raw, CP4M_HEADER) is False
    assert verify_signature(CP4M_SECRET, raw + b"\n", CP4M_HEADER) is False
