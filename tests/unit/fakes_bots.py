"""In-memory BotRegistry and BotSessionStore with the DynamoDB adapter's semantics, plus a runtime factory."""

from __future__ import annotations

import copy
import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from shared.models.channel import Channel
from shared.models.envelopes import OutboundRequest
from shared.models.events import BotTimeoutCheck, MessageReceived
from shared.models.tenancy import Plan
from shared.ports import BotRecord, BotVersion, ChannelTaken, PendingInbox, SessionSnapshot, Thread, VersionTaken
from shared.services.bot_engine import BotEngine
from shared.services.bot_runtime import Addons, BotRuntime, BotRuntimeConfig
from tests.unit.bot_harness import DEMO_BOT, BotChat
from tests.unit.fakes_crm import FakeClock, RecordingPublisher


class InMemoryBotRegistry:
    def __init__(self) -> None:
        self.bots: dict[tuple[str, str], dict[str, Any]] = {}
        self.versions: dict[tuple[str, str, int], BotVersion] = {}
        self.bindings: dict[tuple[str, str], tuple[str, int]] = {}

    def put_version(self, version: BotVersion, *, name: str, channels: Sequence[str]) -> None:
        key = (version.tenant_id, version.bot_id, version.version)
        if key in self.versions:
            raise VersionTaken(f"{version.bot_id} v{version.version}")
        self.versions[key] = version
        bot = self.bots.setdefault((version.tenant_id, version.bot_id), {"active": None, "channels": ()})
        bot.update(name=name, latest=version.version, updated_at=version.created_at)

    def get_version(self, tenant_id: str, bot_id: str, version: int) -> BotVersion | None:
        return self.versions.get((tenant_id, bot_id, version))

    def get_bot(self, tenant_id: str, bot_id: str) -> BotRecord | None:
        bot = self.bots.get((tenant_id, bot_id))
        if bot is None:
            return None
        return BotRecord(tenant_id=tenant_id, bot_id=bot_id, name=bot["name"], latest_version=bot["latest"],
                         active_version=bot["active"], channels=tuple(bot["channels"]), updated_at=bot["updated_at"])

    def list_bots(self, tenant_id: str) -> list[BotRecord]:
        return [r for (t, b) in self.bots if t == tenant_id if (r := self.get_bot(t, b)) is not None]

    def list_versions(self, tenant_id: str, bot_id: str) -> list[BotVersion]:
        return sorted((v for (t, b, _), v in self.versions.items() if t == tenant_id and b == bot_id),
                      key=lambda v: -v.version)

    def activate(self, tenant_id: str, bot_id: str, version: int, channels: Sequence[str]) -> None:
        for channel in channels:
            owner = self.bindings.get((tenant_id, channel))
            if owner is not None and owner[0] != bot_id:
                raise ChannelTaken(channel, owner[0])
        bot = self.bots[(tenant_id, bot_id)]
        for channel in bot["channels"]:
            self.bindings.pop((tenant_id, channel), None)
        for channel in channels:
            self.bindings[(tenant_id, channel)] = (bot_id, version)
        bot.update(active=version, channels=tuple(channels))

    def deactivate(self, tenant_id: str, bot_id: str) -> None:
        bot = self.bots[(tenant_id, bot_id)]
        for channel in bot["channels"]:
            self.bindings.pop((tenant_id, channel), None)
        bot.update(active=None, channels=())

    def bot_for_channel(self, tenant_id: str, channel_id: str) -> tuple[str, int] | None:
        return self.bindings.get((tenant_id, channel_id)) or self.bindings.get((tenant_id, "*"))


class InMemorySessions:
    def __init__(self) -> None:
        self.sessions: dict[tuple[str, str], dict[str, Any]] = {}
        self.pending: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.records: list[dict[str, Any]] = []

    def _session(self, tenant_id: str, conversation_id: str) -> dict[str, Any]:
        return self.sessions.setdefault((tenant_id, conversation_id), {"rev": 0, "seen": set()})

    def add_pending(self, tenant_id: str, conversation_id: str, message_id: str, item: dict[str, Any], *,
                    now_ms: int) -> PendingInbox:
        pending = self.pending.setdefault((tenant_id, conversation_id), {})
        session = self._session(tenant_id, conversation_id)
        if message_id in pending:
            last = session.get("last_at", now_ms)
            return PendingInbox(False, False, session.get("first_at", last), last, bool(session.get("paused")))
        if message_id in session["seen"] or session.get("paused"):
            consumed = message_id in session["seen"]
            last = session.get("last_at", now_ms)
            return PendingInbox(False, consumed, session.get("first_at", last), last,
                                bool(session.get("paused")) and not consumed)
        pending[message_id] = {**item, "received_ms": now_ms}
        session["last_at"] = now_ms
        session.setdefault("first_at", now_ms)
        return PendingInbox(True, False, session["first_at"], now_ms, False)

    def acquire(self, tenant_id: str, conversation_id: str, *, now_ms: int, lease_ms: int) -> SessionSnapshot | None:
        session = self._session(tenant_id, conversation_id)
        if session.get("lease_until", 0) >= now_ms:
            return None
        token = secrets.token_hex(4)
        session.update(lease_until=now_ms + lease_ms, lease_token=token)
        pending = copy.deepcopy(self.pending.get((tenant_id, conversation_id), {}))
        return SessionSnapshot(state=copy.deepcopy(session.get("state")), pending=pending, rev=session["rev"],
                               paused=session.get("paused"), lease_token=token, seen=frozenset(session["seen"]))

    def commit(self, tenant_id: str, conversation_id: str, snapshot: SessionSnapshot, *,
               state: dict[str, Any] | None, consumed: Sequence[str], paused: str | None,
               expires_at: int | None) -> None:
        session = self._session(tenant_id, conversation_id)
        assert session.get("lease_token") == snapshot.lease_token, "commit without the lease"
        if state is not None:
            session["state"] = copy.deepcopy(state)
        session["rev"] += 1
        session["paused"] = paused
        session["seen"] |= set(consumed)
        for key in ("lease_until", "lease_token", "first_at"):
            session.pop(key, None)
        for message_id in consumed:
            self.pending.get((tenant_id, conversation_id), {}).pop(message_id, None)

    def release(self, tenant_id: str, conversation_id: str, snapshot: SessionSnapshot) -> None:
        session = self._session(tenant_id, conversation_id)
        if session.get("lease_token") == snapshot.lease_token:
            session.pop("lease_until", None)
            session.pop("lease_token", None)

    def get(self, tenant_id: str, conversation_id: str) -> SessionSnapshot | None:
        session = self.sessions.get((tenant_id, conversation_id))
        if session is None:
            return None
        return SessionSnapshot(state=copy.deepcopy(session.get("state")), pending={}, rev=session["rev"],
                               paused=session.get("paused"), lease_token="")

    def set_paused(self, tenant_id: str, conversation_id: str, paused: str | None) -> None:
        self._session(tenant_id, conversation_id)["paused"] = paused

    def record_session(self, tenant_id: str, record: dict[str, Any]) -> None:
        self.records.append({"tenant_id": tenant_id, **record})


class RecordingOutbound:
    def __init__(self) -> None:
        self.requests: list[OutboundRequest] = []
        self.dedup: set[str] = set()

    def enqueue(self, request: OutboundRequest, *, group_id: str, dedup_id: str) -> None:
        if dedup_id in self.dedup:  # FIFO deduplication
            return
        self.dedup.add(dedup_id)
        self.requests.append(request)


class RecordingScheduler:
    def __init__(self) -> None:
        self.checks: list[tuple[BotTimeoutCheck, int]] = []

    def schedule(self, check: BotTimeoutCheck, *, delay_s: int) -> None:
        self.checks.append((check, delay_s))


class Directory:
    def __init__(self, *channels: Channel) -> None:
        self.channels = {c.channel_id: c for c in channels}

    def get_channel(self, channel_id: str) -> Channel | None:
        return self.channels.get(channel_id)

    def get_secrets(self, channel: Channel, *, fresh: bool = False) -> Any:
        raise AssertionError("the bot never reads channel secrets")


class Cards:
    def contact_card(self, tenant_id: str, contact_id: str) -> dict[str, Any]:
        return {"name": "Lucía", "phone": "+5491122223333"}


class Closer:
    def __init__(self) -> None:
        self.closed: list[tuple[str, str, str]] = []

    def close(self, tenant_id: str, conversation_id: str, *, actor: str) -> None:
        self.closed.append((tenant_id, conversation_id, actor))


class Threads:
    """The thread records the inbound processor keeps: the newest stored inbound message per contact."""

    def __init__(self) -> None:
        self.threads: dict[tuple[str, str, str], Thread] = {}

    def store(self, event: MessageReceived) -> None:
        self.threads[(event.tenant_id, event.channel_id, event.contact_key)] = Thread(
            tenant_id=event.tenant_id, channel_id=event.channel_id, contact_key=event.contact_key,
            address=event.reply_to_address, conversation_id=event.conversation_id,
            last_inbound_id=event.message_id, last_inbound_type=event.message_type)

    def get_thread(self, tenant_id: str, channel_id: str, contact_key: str) -> Thread | None:
        return self.threads.get((tenant_id, channel_id, contact_key))


class RuntimeRig:
    """A BotRuntime over in-memory stores, with the demo bot bound to channel 'wa' of tenant 'demo'."""

    def __init__(self, *, window_s: float = 2.0, source: str | None = None, plan: Plan | None = None,
                 addons: Addons | None = None, llm: Any = None) -> None:
        self.clock = FakeClock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
        self.registry = InMemoryBotRegistry()
        self.sessions = InMemorySessions()
        self.outbound = RecordingOutbound()
        self.events = RecordingPublisher()
        self.scheduler = RecordingScheduler()
        self.closer = Closer()
        self.threads = Threads()
        self.chat = BotChat(source, llm=llm)  # reuses its ports (integrations over the sample API, captures)
        text = source or DEMO_BOT.read_text(encoding="utf-8")
        self.registry.put_version(BotVersion(tenant_id="demo", bot_id=self.chat.definition.id, version=1,
                                             source=text, format="yaml",
                                             checksum=hashlib.sha256(text.encode()).hexdigest(),
                                             created_at=self.clock.now()),
                                  name=self.chat.definition.name, channels=["*"])
        self.registry.activate("demo", self.chat.definition.id, 1, ["*"])
        channel = Channel(tenant_id="demo", channel_id="wa", phone_number_id="1", display_phone_number="1",
                          secret_name="s", auto_reply_text="Hola (respuesta fija)")
        self.runtime = BotRuntime(
            registry=self.registry, sessions=self.sessions, directory=Directory(channel), outbound=self.outbound,
            events=self.events, engine=BotEngine(self.chat.ports), clock=self.clock, scheduler=self.scheduler,
            contacts=Cards(), closer=self.closer, addons=addons,
            config=BotRuntimeConfig(coalesce_cap_s=window_s, plans=lambda tenant_id: plan), threads=self.threads)
        self.counter = 0

    def event(self, text: str | None = "hola", *, conversation_id: str = "cv_1", message_type: str = "text",
              reply_id: str | None = None, media: dict[str, Any] | None = None,
              message_id: str | None = None) -> MessageReceived:
        self.counter += 1
        event = MessageReceived(
            tenant_id="demo", channel_id="wa", message_id=message_id or f"wamid.{self.counter:04d}",
            contact_key="5491122223333", contact_id="ct_1", reply_to_address="5491122223333",
            conversation_id=conversation_id, message_type=message_type, text=text,
            sent_at=self.clock.peek().isoformat().replace("+00:00", "Z"), has_media=media is not None,
            media=media, reply_id=reply_id)
        self.threads.store(event)  # stored by the inbound processor before its event is published
        return event

    def texts(self) -> list[str]:
        from tests.unit.bot_harness import reply_text

        return [reply_text(r.content) for r in self.outbound.requests]
