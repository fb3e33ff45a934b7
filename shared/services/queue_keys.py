"""The FIFO keys every producer of inbound and outbound units shares: one group per tenant + contact thread (order
per conversation), one deduplication id per provider id. Kept apart from the ingest service so producers (the
bot, the router, the API, web chat, email) do not import every provider's parser to compute two hashes."""

from __future__ import annotations

import hashlib


def thread_group_id(tenant_id: str, channel_id: str, contact_key: str) -> str:
    """FIFO MessageGroupId: one group per tenant + contact thread (hashed: BSUIDs can be 256 chars)."""
    return hashlib.sha256(f"{tenant_id}#{channel_id}#{contact_key}".encode()).hexdigest()


def dedup_id(channel_id: str, key: str) -> str:
    return hashlib.sha256(f"{channel_id}#{key}".encode()).hexdigest()
