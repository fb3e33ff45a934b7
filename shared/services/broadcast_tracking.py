"""Broadcast bookkeeping on the inbound path: Meta's statuses and customers' replies move recipients forward.

Kept apart from BroadcastService so the inbound processor builds only what it needs (the store and the CRM),
not the audience readers, the files library or the Graph client of the sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.errors import NotFound
from shared.models.broadcasts import RECIPIENT_RANK, Broadcast, Recipient
from shared.models.crm import ConsentInput, Contact
from shared.models.messages import StatusKind, StatusUpdate
from shared.ports import Clock
from shared.services.broadcast_audience import keyword_consent
from shared.services.broadcast_sender import MARKETING_CAP_WAIT, error_class, iso, parse_callback


@dataclass(frozen=True)
class Attribution:
    broadcast_id: str
    start_flow: str | None


@dataclass(frozen=True)
class ReplyPointer:
    """The last broadcast sent to a thread: which recipient a reply belongs to."""

    broadcast_id: str
    bucket: int
    to: str
    at: datetime


class TrackingStore(Protocol):
    def get(self, tenant_id: str, broadcast_id: str) -> Broadcast | None: ...

    def get_recipient(self, tenant_id: str, broadcast_id: str, bucket: int, to: str) -> Recipient | None: ...

    def move(self, tenant_id: str, broadcast_id: str, recipient: Recipient, fields: dict[str, Any],
             adds: dict[str, int], *, failed_view: bool) -> bool: ...

    def reply_pointer(self, tenant_id: str, channel_id: str, contact_key: str) -> ReplyPointer | None: ...


class TrackingContacts(Protocol):
    def get(self, tenant_id: str, contact_id: str) -> Contact: ...

    def set_consent(self, tenant_id: str, contact_id: str, data: ConsentInput, *, actor: str) -> Contact: ...

    def change_tags(self, tenant_id: str, contact_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = (),
                    actor: str) -> Contact: ...


class BroadcastTracking:
    """Satisfies shared.services.inbound.BroadcastHooks."""

    def __init__(self, *, store: TrackingStore, contacts: TrackingContacts, clock: Clock) -> None:
        self._store = store
        self._contacts = contacts
        self._clock = clock

    def on_status(self, tenant_id: str, channel_id: str, update: StatusUpdate) -> bool:
        """A status webhook for a broadcast send (callback data bc:...): move the recipient forward."""
        ref = parse_callback(update.callback_data)
        if ref is None or update.status is None:
            return False
        bid, bucket, to, _attempt = ref
        b = self._store.get(tenant_id, bid)
        if b is None or b.channel_id != channel_id:
            return False
        for _ in range(4):
            r = self._store.get_recipient(tenant_id, bid, bucket, to)
            if r is None:
                return False
            move = _status_move(r, update)
            if move is None:
                return True
            fields, adds, failed_view = move
            if self._store.move(tenant_id, bid, r, fields, adds, failed_view=failed_view):
                if update.status is StatusKind.FAILED and update.errors and update.errors[0].code == 131050 \
                        and r.contact_id:
                    self.opt_out(tenant_id, r.contact_id, "marketing", source="whatsapp_131050",
                                  text="Meta reported that the user stopped marketing messages (131050)")
                return True
        return True

    def on_inbound(self, tenant_id: str, channel_id: str, contact_key: str, contact_id: str | None,
                   text: str | None, reply_payload: str | None) -> Attribution | None:
        """Attribute a customer's message to the last broadcast sent to them (within its window)."""
        consent = keyword_consent(text)
        if consent is not None and contact_id:
            purpose_text = f"replied {text!r}"
            if consent == "opted_out":
                self.opt_out(tenant_id, contact_id, "marketing", source="whatsapp_keyword", text=purpose_text)
            else:
                self._contacts.set_consent(tenant_id, contact_id, ConsentInput(
                    purpose="marketing", status="opted_in", source="whatsapp_keyword", text=purpose_text),
                    actor="system:keyword")
        pointer = self._store.reply_pointer(tenant_id, channel_id, contact_key)
        if pointer is None:
            return None
        b = self._store.get(tenant_id, pointer.broadcast_id)
        if b is None or self._clock.now() - pointer.at > timedelta(hours=b.attribution_hours):
            return None
        r = self._store.get_recipient(tenant_id, b.broadcast_id, pointer.bucket, pointer.to)
        if r is None:
            return None
        if RECIPIENT_RANK[r.status] < RECIPIENT_RANK["replied"] and r.status not in ("queued", "sending"):
            adds = {"replied": 1}
            if RECIPIENT_RANK[r.status] < RECIPIENT_RANK["delivered"]:
                adds["delivered"] = 1  # a reply proves delivery even if that status never came
            if r.status == "failed":
                adds["failed"] = -1
            elif r.status == "unconfirmed":
                adds["unconfirmed"] = -1
            if RECIPIENT_RANK[r.status] < RECIPIENT_RANK["sent"]:
                adds["sent"] = 1
            if self._store.move(tenant_id, b.broadcast_id, r, {"status": "replied",
                                                                "replied_at": iso(self._clock.now())},
                                adds, failed_view=False) and b.on_reply and b.on_reply.tag and contact_id:
                self._contacts.change_tags(tenant_id, contact_id, add=[b.on_reply.tag],
                                           actor=f"broadcast:{b.broadcast_id}")
        if consent == "opted_out":
            return Attribution(b.broadcast_id, None)
        return Attribution(b.broadcast_id, b.on_reply.bot_flow if b.on_reply else None)

    def opt_out(self, tenant_id: str, contact_id: str, purpose: str, *, source: str, text: str) -> None:
        try:
            contact = self._contacts.get(tenant_id, contact_id)
        except NotFound:
            return
        current = contact.consent.get(purpose)
        if current is not None and current.status == "opted_out":
            return
        self._contacts.set_consent(tenant_id, contact_id, ConsentInput(purpose=purpose,
                                                                       status="opted_out", source=source, text=text),
                                   actor="system:broadcasts")


_STATUS_TO_RECIPIENT = {StatusKind.SENT: "sent", StatusKind.DELIVERED: "delivered", StatusKind.READ: "read",
                        StatusKind.PLAYED: "read", StatusKind.ACCEPTED: "sent"}


def _status_move(r: Recipient, update: StatusUpdate) -> tuple[dict[str, Any], dict[str, int], bool] | None:
    """What a status webhook changes on a recipient (forward only), or None if nothing."""
    now_iso = update.at.isoformat()
    billable = None
    if update.pricing is not None:
        billable = update.pricing.type == "regular" if update.pricing.type else update.pricing.billable
    if update.status is StatusKind.FAILED:
        if r.status not in ("sending", "unconfirmed", "sent", "queued"):
            return None
        err = update.errors[0] if update.errors else None
        code = err.code if err else None
        failed_adds = {"failed": 1, f"fail_{code or 'none'}": 1}
        if r.status == "unconfirmed":
            failed_adds["unconfirmed"] = -1
            failed_adds["sent"] = 1  # it did reach Meta
        failed_fields: dict[str, Any] = {"status": "failed", "failed_at": now_iso,
                  "error_class": error_class(400, code), "error_code": code,
                  "error_title": (err.title or err.message) if err else "failed",
                  "error_details": err.details if err else None, "provider_message_id": update.provider_message_id}
        if code == 131049:
            failed_fields["retry_at"] = (update.at + MARKETING_CAP_WAIT).isoformat()
        return failed_fields, failed_adds, True
    target = _STATUS_TO_RECIPIENT.get(update.status) if update.status else None
    if target is None:
        return None
    old, new = RECIPIENT_RANK[r.status], RECIPIENT_RANK[target]
    if r.status == "failed":
        return None  # a failure stays until retried (a late 'sent' of the failed message adds nothing)
    if new <= old:
        if billable is not None and r.billable is None:
            return {"billable": billable}, {}, False
        return None
    adds: dict[str, int] = {}
    for milestone in ("sent", "delivered", "read"):
        if old < RECIPIENT_RANK[milestone] <= new:
            adds[milestone] = 1
    if r.status == "unconfirmed":
        adds["unconfirmed"] = -1
    fields: dict[str, Any] = {"status": target, f"{target}_at": now_iso,
                              "provider_message_id": update.provider_message_id}
    effective = billable if billable is not None else r.billable
    if billable is not None:
        fields["billable"] = billable
    if "delivered" in adds and effective is not False:
        adds[f"bill_{r.market}"] = 1
    return fields, adds, False
