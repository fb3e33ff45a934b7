"""The FIFO keys every producer of inbound and outbound units shares: one group per tenant + contact thread (order
per conversation), one deduplication id per provider id. Kept apart from the ingest service so producers (the
bot, the router, the API, web chat, email) do not import every provider's parser to compute two hashes.
`queued_unit` builds an inbound unit with both (webhooks, web chat and email enqueue the same way)."""

from __future__ import annotations

import hashlib
from typing import Any

from shared.models.channel import Channel
from shared.models.envelopes import InboundUnit
from shared.ports import QueuedUnit


def thread_group_id(tenant_id: str, channel_id: str, contact_key: str) -> str:
    """FIFO MessageGroupId: one group per tenant + contact thread (hashed: BSUIDs can be 256 chars)."""
    return hashlib.sha256(f"{tenant_id}#{channel_id}#{contact_key}".encode()).hexdigest()


def dedup_id(channel_id: str, key: str) -> str:
    return hashlib.sha256(f"{channel_id}#{key}".encode()).hexdigest()


def queued_unit(channel: Channel, *, kind: Any, provider: Any, payload: dict[str, Any], contact_key: str,
                dedup_key: str, received_at_ms: int, contacts: list[dict[str, Any]] | None = None,
                value_errors: list[dict[str, Any]] | None = None) -> QueuedUnit:
    """One inbound unit of `channel`, in its contact's FIFO group, deduplicated on the provider's id."""
    unit = InboundUnit(tenant_id=channel.tenant_id, channel_id=channel.channel_id, kind=kind, provider=provider,
                       phone_number_id=channel.phone_number_id, payload=payload, contacts=contacts or [],
                       value_errors=value_errors or [], received_at_ms=received_at_ms)
    return QueuedUnit(unit=unit, group_id=thread_group_id(channel.tenant_id, channel.channel_id, contact_key),
                      dedup_id=dedup_id(channel.channel_id, dedup_key))
