"""Messenger/Instagram ingest: Meta posts every Page of an app to one callback URL, so each entry is enqueued on
the channel of its own Page when that channel's app secret verifies the body; anything else is quarantined."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from shared.errors import SignatureInvalid
from shared.models.channel import Channel, ChannelSecrets
from shared.services.ingest import IngestService
from shared.services.signature import sign


class Directory:
    def __init__(self) -> None:
        self.channels = {
            "fb-a": (Channel(tenant_id="t1", channel_id="fb-a", kind="messenger", phone_number_id="100001",
                             secret_name="a"), "app-secret-1"),
            "fb-b": (Channel(tenant_id="t1", channel_id="fb-b", kind="messenger", phone_number_id="100002",
                             secret_name="b"), "app-secret-1"),
            "fb-other-app": (Channel(tenant_id="t2", channel_id="fb-other-app", kind="messenger",
                                     phone_number_id="100003", secret_name="c"), "app-secret-2")}

    def get_channel(self, channel_id: str) -> Channel | None:
        found = self.channels.get(channel_id)
        return found[0] if found else None

    def channel_for_account(self, kind: str, account_id: str) -> Channel | None:
        return next((c for c, _ in self.channels.values() if c.phone_number_id == account_id and c.kind == kind),
                    None)

    def get_secrets(self, channel: Channel, *, fresh: bool = False) -> ChannelSecrets:
        secret = self.channels[channel.channel_id][1]
        return ChannelSecrets(app_secret=SecretStr(secret), verify_token=SecretStr("v"), access_token=SecretStr("x"))


class Queue:
    def __init__(self) -> None:
        self.units: list[Any] = []

    def enqueue(self, units: list[Any]) -> None:
        self.units.extend(units)


class Quarantine:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def put(self, *, tenant_id: str, channel_id: str, reasons: list[str], raw_body: bytes, received_at: Any) -> None:
        self.reasons.extend(reasons)


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 11, 22, tzinfo=UTC)


def entry(page: str, mid: str) -> dict[str, Any]:
    return {"id": page, "time": 1, "messaging": [{"sender": {"id": "555"}, "recipient": {"id": page},
                                                  "timestamp": 1795000000000, "message": {"mid": mid, "text": "hola"}}]}


@pytest.fixture
def env() -> tuple[IngestService, Queue, Quarantine]:
    queue, quarantine = Queue(), Quarantine()
    return (IngestService(directory=Directory(), queue=queue, quarantine=quarantine, clock=Clock(),
                          max_body_bytes=100_000), queue, quarantine)


def test_entries_of_another_page_of_the_same_app_go_to_that_pages_channel(env: Any) -> None:
    svc, queue, quarantine = env
    raw = json.dumps({"object": "page", "entry": [entry("100001", "m_a"), entry("100002", "m_b")]}).encode()
    outcome = svc.receive_page("fb-a", "messenger", raw, sign("app-secret-1", raw))
    assert (outcome.enqueued, outcome.quarantined) == (2, 0)
    assert sorted((u.unit.channel_id, u.unit.tenant_id, u.unit.payload["message"]["mid"]) for u in queue.units) == [
        ("fb-a", "t1", "m_a"), ("fb-b", "t1", "m_b")]


def test_an_entry_of_a_page_of_another_app_or_unknown_page_is_quarantined_never_delivered(env: Any) -> None:
    svc, queue, quarantine = env
    raw = json.dumps({"object": "page", "entry": [entry("100003", "m_c"), entry("999999", "m_d")]}).encode()
    outcome = svc.receive_page("fb-a", "messenger", raw, sign("app-secret-1", raw))
    assert (outcome.enqueued, outcome.quarantined) == (0, 2) and queue.units == []
    assert all("not this channel's" in r for r in quarantine.reasons)
    with pytest.raises(SignatureInvalid):
        svc.receive_page("fb-a", "messenger", raw, sign("app-secret-2", raw))
