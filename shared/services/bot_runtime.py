"""Bot turns on the message path: which bot answers, burst coalescing, one turn at a time, and what follows.

Each MessageReceived event (EventBridge -> SQS, at least once, unordered) is first recorded as *pending* on
the conversation's session with a durable, deduplicating write. The turn runs only when the burst is over:
`coalesce_window_s` after the last message (and at most 3 windows after the first), so a customer typing in
fragments gets one answer; and not while a later message the inbound processor already stored (the thread's
newest) is still on its way here (a few seconds at most), so a slow pipeline does not split a burst. A short
lease makes turns of one conversation strictly sequential; pending inputs are taken in the order the customer
sent them. Replies go to the outbound FIFO queue with ids derived from the turn, so a retried turn never sends
twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.errors import NotYetKnown
from shared.models.bot_session import SessionState, TurnInput, TurnResult, Usage
from shared.models.bots import BotDefinition
from shared.models.envelopes import OutboundRequest, TextContent
from shared.models.events import (
    BotFlowRequested,
    BotSessionEnded,
    BotTimeoutCheck,
    ConversationClosed,
    HandoffRequested,
    MessageReceived,
    TenantEvent,
)
from shared.models.tenancy import Plan
from shared.ports import (
    BotRegistry,
    BotSessionStore,
    ChannelDirectory,
    Clock,
    EventPublisher,
    OutboundQueue,
    SessionSnapshot,
    Thread,
)
from shared.services.addons import ImageDescriber, Transcriber
from shared.services.bot_engine import BotEngine, CompiledBot, TurnContext, compile_bot
from shared.services.bot_loader import load_version
from shared.services.queue_keys import dedup_id, thread_group_id

NO_TURN_TYPES = frozenset({"reaction", "system", "unsupported", "unknown"})
LEASE_MS = 60_000
MAX_BURST_WINDOWS = 3
IN_FLIGHT_GRACE_MS = 5_000  # how long past the burst's cap a turn waits for a stored message still on its way
SQS_MAX_DELAY_S = 900


@dataclass(frozen=True)
class BotOutcome:
    kind: str  # turn | coalesced | duplicate | paused | no_bot | auto_reply | skipped | timeout | closed | ...
    replies: int = 0
    generation: str | None = None
    ended: str | None = None


class TimeoutScheduler(Protocol):
    def schedule(self, check: BotTimeoutCheck, *, delay_s: int) -> None: ...


class BlobReader(Protocol):
    def get(self, key: str) -> bytes | None: ...


class ContactLookup(Protocol):
    def contact_card(self, tenant_id: str, contact_id: str) -> dict[str, Any]: ...


class ThreadReader(Protocol):
    def get_thread(self, tenant_id: str, channel_id: str, contact_key: str) -> Thread | None: ...


class ConversationCloser(Protocol):
    def close(self, tenant_id: str, conversation_id: str, *, actor: str) -> Any: ...


@dataclass
class Addons:
    transcriber: Transcriber | None = None
    describer: ImageDescriber | None = None
    blobs: BlobReader | None = None
    media_key: Callable[[str, str, str, str | None], str] | None = None


@dataclass
class BotRuntimeConfig:
    coalesce_cap_s: float = 10.0  # upper bound on any bot's coalescing window
    retention_s: int = 30 * 86400  # sessions (and their pending inputs) expire this long after the last turn
    plans: Callable[[str], Plan | None] = field(default=lambda tenant_id: None)


class BotRuntime:
    def __init__(self, *, registry: BotRegistry, sessions: BotSessionStore, directory: ChannelDirectory,
                 outbound: OutboundQueue, events: EventPublisher, engine: BotEngine, clock: Clock,
                 scheduler: TimeoutScheduler, contacts: ContactLookup, closer: ConversationCloser,
                 threads: ThreadReader, addons: Addons | None = None,
                 config: BotRuntimeConfig | None = None,
                 workflow_waits: Callable[[str, str, str], bool] | None = None) -> None:
        self._workflow_waits = workflow_waits  # a workflow's question waits for this thread's next message
        self._registry = registry
        self._sessions = sessions
        self._directory = directory
        self._outbound = outbound
        self._events = events
        self._engine = engine
        self._clock = clock
        self._scheduler = scheduler
        self._contacts = contacts
        self._closer = closer
        self._addons = addons or Addons()
        self._config = config or BotRuntimeConfig()
        self._threads = threads
        self._compiled: dict[tuple[str, str, int], CompiledBot] = {}

    # -- bots --------------------------------------------------------------------------------------------------
    def compiled(self, tenant_id: str, bot_id: str, version: int) -> CompiledBot | None:
        key = (tenant_id, bot_id, version)
        bot = self._compiled.get(key)
        if bot is None:
            stored = self._registry.get_version(tenant_id, bot_id, version)
            if stored is None:
                return None
            definition = load_version(stored)
            bot = compile_bot(definition, version)
            if len(self._compiled) > 64:
                self._compiled.clear()
            self._compiled[key] = bot
        return bot

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    # -- inbound messages --------------------------------------------------------------------------------------
    def on_message(self, event: MessageReceived) -> BotOutcome:
        if event.message_type in NO_TURN_TYPES:
            return BotOutcome("skipped")
        if self._workflow_waits is not None and self._workflow_waits(event.tenant_id, event.channel_id,
                                                                     event.contact_key):
            return BotOutcome("workflow_answer")  # the workflow that asked takes this reply; the bot stays quiet
        channel = self._directory.get_channel(event.channel_id)
        if channel is None or channel.tenant_id != event.tenant_id:
            return BotOutcome("channel_not_found")
        binding = self._registry.bot_for_channel(event.tenant_id, event.channel_id)
        if binding is None:
            return self._auto_reply(event, channel.auto_reply_text)
        now_ms = self._now_ms()
        item = {"text": event.text, "type": event.message_type, "sent_at": event.sent_at, "received_ms": now_ms,
                "reply_id": event.reply_id, "message_id": event.message_id,
                "media": event.media if event.has_media else None, "channel_id": event.channel_id,
                "contact_key": event.contact_key, "address": event.reply_to_address, "contact_id": event.contact_id,
                "start_flow": event.start_flow}
        inbox = self._sessions.add_pending(event.tenant_id, event.conversation_id, event.message_id, item,
                                           now_ms=now_ms)
        if inbox.consumed:
            return BotOutcome("already_answered")  # a redelivery, or part of a burst answered together
        if inbox.paused:
            return BotOutcome("paused")
        bot = self.compiled(event.tenant_id, *binding)
        window_ms = int(min(bot.definition.settings.coalesce_window_s if bot else 0,
                            self._config.coalesce_cap_s) * 1000)
        due_ms = min(inbox.last_at_ms + window_ms, inbox.first_at_ms + MAX_BURST_WINDOWS * window_ms)
        if now_ms < due_ms:
            raise NotYetKnown("coalescing a burst", delay_s=max(1, math.ceil((due_ms - now_ms) / 1000)))
        snapshot = self._sessions.acquire(event.tenant_id, event.conversation_id, now_ms=now_ms, lease_ms=LEASE_MS)
        if snapshot is None:
            raise NotYetKnown("another turn of this conversation is running", delay_s=1)
        if event.message_id not in snapshot.pending:
            self._sessions.release(event.tenant_id, event.conversation_id, snapshot)
            return BotOutcome("coalesced")
        if (window_ms and now_ms < inbox.first_at_ms + MAX_BURST_WINDOWS * window_ms + IN_FLIGHT_GRACE_MS
                and self._later_message_on_its_way(event, snapshot)):
            self._sessions.release(event.tenant_id, event.conversation_id, snapshot)
            raise NotYetKnown("a later message of the burst is on its way", delay_s=1)
        try:
            return self._turn(event, snapshot, binding, now_ms)
        except BaseException:
            self._sessions.release(event.tenant_id, event.conversation_id, snapshot)
            raise

    # -- a workflow starts a flow -------------------------------------------------------------------------------
    def on_flow_requested(self, request: BotFlowRequested) -> BotOutcome:
        """A workflow hands the conversation to the bot at one of its flows: under the session's lease, any
        running session ends (`restarted`), a new one starts at the flow and the bot speaks first; the request
        id joins `seen` in the same commit, so a redelivered request changes nothing (not even the pause a
        handoff set since)."""
        channel = self._directory.get_channel(request.channel_id)
        if channel is None or channel.tenant_id != request.tenant_id:
            return BotOutcome("channel_not_found")
        binding = self._registry.bot_for_channel(request.tenant_id, request.channel_id)
        if binding is None:
            return BotOutcome("no_bot")
        now_ms = self._now_ms()
        snapshot = self._sessions.acquire(request.tenant_id, request.conversation_id, now_ms=now_ms,
                                          lease_ms=LEASE_MS)
        if snapshot is None:
            raise NotYetKnown("another turn of this conversation is running", delay_s=1)
        if request.request_id in snapshot.seen:
            self._sessions.release(request.tenant_id, request.conversation_id, snapshot)
            return BotOutcome("already_answered")
        sent_at = _iso(now_ms // 1000)
        event = MessageReceived(
            tenant_id=request.tenant_id, channel_id=request.channel_id, message_id=request.request_id,
            contact_key=request.contact_key, contact_id=request.contact_id,
            reply_to_address=request.reply_to_address, conversation_id=request.conversation_id,
            message_type="system", sent_at=sent_at)
        item = {"text": None, "type": "system", "sent_at": sent_at, "received_ms": now_ms,
                "message_id": request.request_id, "channel_id": request.channel_id,
                "contact_key": request.contact_key, "address": request.reply_to_address,
                "contact_id": request.contact_id, "start_flow": request.flow}
        snapshot = dataclasses.replace(snapshot, pending={**snapshot.pending, request.request_id: item})
        try:
            return self._turn(event, snapshot, binding, now_ms, restart=True)
        except BaseException:
            self._sessions.release(request.tenant_id, request.conversation_id, snapshot)
            raise

    def _later_message_on_its_way(self, event: MessageReceived, snapshot: SessionSnapshot) -> bool:
        """The burst's quiet window is measured where its messages reach the bot; a message stored by the
        inbound processor (the thread's newest) that is neither pending nor answered yet is still on its way
        here (events, the bot queue, a busy consumer), so the burst is not over."""
        thread = self._threads.get_thread(event.tenant_id, event.channel_id, event.contact_key)
        if thread is None or thread.conversation_id != event.conversation_id or not thread.last_inbound_id:
            return False
        newest = thread.last_inbound_id
        return (newest not in snapshot.pending and newest not in snapshot.seen
                and thread.last_inbound_type not in NO_TURN_TYPES)

    def _auto_reply(self, event: MessageReceived, text: str | None) -> BotOutcome:
        """No bot bound to the channel: the channel's fixed auto-reply, once per conversation (people answer the
        rest: the contact center routes conversations of channels without a bot)."""
        if not text:
            return BotOutcome("no_bot")
        request = OutboundRequest(
            request_id=f"auto-reply:{event.channel_id}:{event.conversation_id}",
            tenant_id=event.tenant_id, channel_id=event.channel_id, contact_key=event.contact_key,
            to=event.reply_to_address, content=TextContent(body=text), origin="auto_reply")
        self._outbound.enqueue(request, group_id=thread_group_id(event.tenant_id, event.channel_id,
                                                                 event.contact_key),
                               dedup_id=dedup_id(event.channel_id, request.request_id))
        return BotOutcome("auto_reply", replies=1)

    def _turn(self, event: MessageReceived, snapshot: Any, binding: tuple[str, int], now_ms: int, *,
              restart: bool = False) -> BotOutcome:
        """One turn over the pending inputs. `restart` (a workflow starting a flow): the pause is lifted and a
        running session ends as `restarted`, so the turn starts a new one."""
        tenant_id, conversation_id = event.tenant_id, event.conversation_id
        if snapshot.paused and not restart:
            self._sessions.commit(tenant_id, conversation_id, snapshot, state=snapshot.state,
                                  consumed=list(snapshot.pending), paused=snapshot.paused,
                                  expires_at=self._expiry(now_ms))
            return BotOutcome("paused")
        pending = sorted(snapshot.pending.items(), key=lambda kv: (kv[1].get("sent_at") or "",
                                                                   kv[1].get("received_ms") or 0))
        now = now_ms // 1000
        plan = self._config.plans(tenant_id)
        ctx = self._context(event, now, plan)  # one contact read per turn
        state = SessionState.from_dict(snapshot.state) if snapshot.state else None
        ended: list[SessionState] = []
        if state is not None and state.status == "active":
            bot_of_state = self.compiled(tenant_id, state.bot_id, state.version)
            timeout = bot_of_state.definition.settings.session_timeout_s if bot_of_state else 0
            if bot_of_state is None or now - state.last_activity_at >= timeout:
                state.status, state.end_reason = "ended", "timeout"
                ended.append(state)
            elif restart:
                state.status, state.end_reason, state.node = "ended", "restarted", None
                ended.append(state)
        if state is None or state.status != "active":
            bot = self.compiled(tenant_id, *binding)
            if bot is None:
                raise NotYetKnown(f"bot version {binding} not readable yet", delay_s=5)
            # derived from the turn's first input, so a retried first turn reuses the id (and its reply ids)
            session_id = "bs_" + hashlib.sha256(f"{conversation_id}#{pending[0][0]}".encode()).hexdigest()[:20]
            state = self._engine.new_session(bot, ctx, session_id)
            state.address, state.contact_key, state.contact_id = (event.reply_to_address, event.contact_key,
                                                                   event.contact_id)
        else:
            found = self.compiled(tenant_id, state.bot_id, state.version)
            assert found is not None
            bot = found
        usage: list[Usage] = []
        turn = self._turn_input(event, bot.definition, [p for _, p in pending], plan, usage)
        result = self._engine.turn(bot, state, turn, ctx)
        result.usage[:0] = usage
        self._emit(event, bot, state, result, ended, now)
        self._sessions.commit(tenant_id, conversation_id, snapshot, state=state.to_dict(),
                              consumed=[message_id for message_id, _ in pending],
                              paused="handoff" if result.handoff else None, expires_at=self._expiry(now_ms))
        if result.close_conversation:
            self._closer.close(tenant_id, conversation_id, actor=f"bot:{bot.definition.id}")
        if state.status == "active":
            self._schedule_timeout(event.tenant_id, event.channel_id, conversation_id, state, bot.definition)
        return BotOutcome("turn", replies=len(result.replies), generation=result.generation, ended=result.ended)

    def _expiry(self, now_ms: int) -> int:
        return now_ms // 1000 + self._config.retention_s

    def _context(self, event: MessageReceived, now: int, plan: Plan | None) -> TurnContext:
        contact = self._contacts.contact_card(event.tenant_id, event.contact_id) if event.contact_id else {}
        return TurnContext(tenant_id=event.tenant_id, conversation_id=event.conversation_id,
                           channel_id=event.channel_id, address=event.reply_to_address, now=now,
                           contact={"contact_id": event.contact_id, **contact}, interactive=True,
                           tier=plan.llm_tier if plan else "LITE")

    def _turn_input(self, event: MessageReceived, definition: BotDefinition, items: Sequence[dict[str, Any]],
                    plan: Plan | None, usage: list[Usage]) -> TurnInput:
        texts: list[str] = []
        media: list[dict[str, Any]] = []
        reply_id: str | None = None
        start_flow = next((str(i["start_flow"]) for i in items if i.get("start_flow")), None)
        for item in items:
            if item.get("reply_id"):
                reply_id = str(item["reply_id"])
            elif item.get("text") and not item.get("media"):
                texts.append(str(item["text"]))
            if item.get("media"):
                found = dict(item["media"])
                found.setdefault("type", item.get("type"))
                if item.get("text"):
                    found["caption"] = item["text"]
                media.append(self._enrich(event, definition, found, item, plan, usage))
        for found in media:  # a caption is also something the customer said
            if found.get("caption"):
                texts.append(str(found["caption"]))
        return TurnInput(text="\n".join(texts) if texts else None, reply_id=reply_id, media=tuple(media),
                         start_flow=start_flow)

    def _enrich(self, event: MessageReceived, definition: BotDefinition, media: dict[str, Any],
                item: dict[str, Any], plan: Plan | None, usage: list[Usage]) -> dict[str, Any]:
        """Voice2text and Imagebot: a voice note becomes text, an image gets a description (when enabled)."""
        addons = self._addons
        kind = media.get("type")
        if addons.media_key is None or addons.blobs is None or plan is None:
            return media
        wants_voice = kind == "audio" and plan.voice2text and definition.settings.voice_notes and addons.transcriber
        wants_image = kind == "image" and plan.imagebot and definition.settings.images and addons.describer
        key = addons.media_key(event.tenant_id, str(item.get("channel_id") or event.channel_id),
                               str(item.get("message_id") or ""), media.get("mime_type"))
        media["s3_key"] = key
        if not (wants_voice or wants_image):
            return media
        from shared.services.addons import DescriptionFailed, TranscriptionFailed

        if wants_voice and addons.transcriber is not None:
            if addons.blobs.get(key) is None:  # the media fetcher has not copied the voice note to S3 yet
                raise NotYetKnown("the voice note is not in S3 yet", delay_s=2)
            try:
                transcript = addons.transcriber.transcribe(key, str(media.get("mime_type") or "audio/ogg"),
                                                           "es-US" if definition.language == "es" else "en-US")
                media["transcript"] = transcript.text
                usage.append(Usage(kind="voice", seconds=transcript.seconds or 0.0))
            except TranscriptionFailed:
                media["transcript"] = None
        if wants_image and addons.describer is not None:
            data = addons.blobs.get(key)
            if data is None:
                raise NotYetKnown("the image is not in S3 yet", delay_s=2)
            try:
                described = addons.describer.describe(
                    data, str(media.get("mime_type") or "image/jpeg"),
                    "Describí la imagen en una o dos frases. Si es un documento, comprobante o boleta, "
                    "transcribí los datos principales (tipo, nombre, números, montos, fechas).")
                media["description"] = described.text
                usage.append(Usage(kind="image", input_tokens=described.usage.input_tokens,
                                   output_tokens=described.usage.output_tokens))
            except DescriptionFailed:
                pass
        return media

    def _emit(self, event: MessageReceived, bot: CompiledBot, state: SessionState, result: TurnResult,
              ended: list[SessionState], now: int) -> None:
        group = thread_group_id(event.tenant_id, event.channel_id, event.contact_key)
        for index, content in enumerate(result.replies):
            request = OutboundRequest(
                request_id=f"bot:{event.conversation_id}:{state.session_id}:{state.turns}:{index}",
                tenant_id=event.tenant_id, channel_id=event.channel_id, contact_key=event.contact_key,
                to=event.reply_to_address, content=content, origin=f"bot:{bot.definition.id}")
            self._outbound.enqueue(request, group_id=group, dedup_id=dedup_id(event.channel_id, request.request_id))
        events: list[TenantEvent] = []
        if result.handoff is not None:
            h = result.handoff
            events.append(HandoffRequested(
                tenant_id=event.tenant_id, channel_id=event.channel_id, conversation_id=event.conversation_id,
                contact_id=event.contact_id, contact_key=event.contact_key, bot_id=bot.definition.id,
                session_id=state.session_id, team=h.team, skills=h.skills, priority=h.priority, reason=h.reason,
                summary=h.summary, data=h.data))
        for finished in [*ended, *([state] if result.ended else [])]:
            events.append(self._ended_event(event.tenant_id, event.channel_id, event.conversation_id,
                                            event.contact_id, finished, now))
            self._sessions.record_session(event.tenant_id, self._session_record(finished, event.conversation_id,
                                                                                now))
        for used in result.usage:
            self._sessions.record_session(event.tenant_id, {
                "kind": "usage", "usage": used.kind, "model": used.model, "input_tokens": used.input_tokens,
                "output_tokens": used.output_tokens, "seconds": used.seconds, "bot_id": bot.definition.id,
                "session_id": state.session_id, "conversation_id": event.conversation_id, "turn": state.turns,
                "at": now})
        if events:
            self._events.publish(events)

    @staticmethod
    def _ended_event(tenant_id: str, channel_id: str, conversation_id: str, contact_id: str | None,
                     state: SessionState, now: int) -> BotSessionEnded:
        return BotSessionEnded(
            tenant_id=tenant_id, channel_id=channel_id, conversation_id=conversation_id, contact_id=contact_id,
            bot_id=state.bot_id, version=state.version, session_id=state.session_id,
            reason=state.end_reason or "solved", started_at=_iso(state.started_at),
            ended_at=_iso(now), turns=state.turns, input_tokens=state.tokens_in, output_tokens=state.tokens_out,
            contact_key=state.contact_key, ai_turns=state.ai_answers, llm_tier=state.llm_tier)

    @staticmethod
    def _session_record(state: SessionState, conversation_id: str, now: int) -> dict[str, Any]:
        return {"kind": "session", "session_id": state.session_id, "bot_id": state.bot_id,
                "version": state.version, "conversation_id": conversation_id, "reason": state.end_reason,
                "started_at": state.started_at, "ended_at": now, "turns": state.turns,
                "input_tokens": state.tokens_in, "output_tokens": state.tokens_out, "at": now}

    def _schedule_timeout(self, tenant_id: str, channel_id: str, conversation_id: str, state: SessionState,
                          definition: BotDefinition) -> None:
        self._scheduler.schedule(BotTimeoutCheck(tenant_id=tenant_id, channel_id=channel_id,
                                                 conversation_id=conversation_id, session_id=state.session_id,
                                                 turn=state.turns),
                                 delay_s=min(definition.settings.session_timeout_s, SQS_MAX_DELAY_S))

    # -- idle sessions -----------------------------------------------------------------------------------------
    def on_timeout_check(self, check: BotTimeoutCheck) -> BotOutcome:
        now_ms = self._now_ms()
        current = self._sessions.get(check.tenant_id, check.conversation_id)
        state = SessionState.from_dict(current.state) if current and current.state else None
        if state is None or state.status != "active" or state.session_id != check.session_id \
                or state.turns != check.turn:
            return BotOutcome("timeout_stale")
        bot = self.compiled(check.tenant_id, state.bot_id, state.version)
        timeout = bot.definition.settings.session_timeout_s if bot else 0
        remaining = state.last_activity_at + timeout - now_ms // 1000
        if bot is not None and remaining > 0:
            self._scheduler.schedule(check, delay_s=min(remaining, SQS_MAX_DELAY_S))
            return BotOutcome("timeout_rescheduled")
        snapshot = self._sessions.acquire(check.tenant_id, check.conversation_id, now_ms=now_ms, lease_ms=LEASE_MS)
        if snapshot is None:
            raise NotYetKnown("a turn is running", delay_s=2)
        try:
            fresh = SessionState.from_dict(snapshot.state) if snapshot.state else None
            if fresh is None or fresh.session_id != state.session_id or fresh.turns != state.turns \
                    or fresh.status != "active":
                self._sessions.release(check.tenant_id, check.conversation_id, snapshot)
                return BotOutcome("timeout_stale")
            replies = 0
            if bot is not None:
                ctx = TurnContext(tenant_id=check.tenant_id, conversation_id=check.conversation_id,
                                  channel_id=check.channel_id, address=fresh.address or "", now=now_ms // 1000)
                result = self._engine.timeout(bot, fresh, ctx)
                replies = len(result.replies)
                event = MessageReceived(
                    tenant_id=check.tenant_id, channel_id=check.channel_id, message_id=f"timeout-{fresh.turns}",
                    contact_key=fresh.contact_key or "", contact_id=fresh.contact_id,
                    reply_to_address=fresh.address or "", conversation_id=check.conversation_id,
                    message_type="system", sent_at=_iso(now_ms // 1000))
                if not fresh.address:
                    result.replies.clear()
                self._emit(event, bot, fresh, result, [], now_ms // 1000)
            else:
                fresh.status, fresh.end_reason = "ended", "timeout"
            self._sessions.commit(check.tenant_id, check.conversation_id, snapshot, state=fresh.to_dict(),
                                  consumed=[], paused=snapshot.paused, expires_at=self._expiry(now_ms))
        except BaseException:
            self._sessions.release(check.tenant_id, check.conversation_id, snapshot)
            raise
        return BotOutcome("timeout", replies=replies, ended="timeout")

    # -- conversation closed -------------------------------------------------------------------------------------
    def on_conversation_closed(self, event: ConversationClosed) -> BotOutcome:
        """An agent or the API closed the conversation: a session still running ends as `closed`."""
        now_ms = self._now_ms()
        snapshot = self._sessions.acquire(event.tenant_id, event.conversation_id, now_ms=now_ms, lease_ms=LEASE_MS)
        if snapshot is None:
            current = self._sessions.get(event.tenant_id, event.conversation_id)
            if current is None:
                return BotOutcome("closed_no_session")
            raise NotYetKnown("a turn is running", delay_s=2)
        state = SessionState.from_dict(snapshot.state) if snapshot.state else None
        if state is None or state.status != "active" or event.closed_by.startswith("bot:"):
            self._sessions.release(event.tenant_id, event.conversation_id, snapshot)
            return BotOutcome("closed_no_session")
        state.status, state.end_reason, state.node = "ended", "closed", None
        now = now_ms // 1000
        self._events.publish([self._ended_event(event.tenant_id, event.channel_id, event.conversation_id,
                                                event.contact_id, state, now)])
        self._sessions.record_session(event.tenant_id, self._session_record(state, event.conversation_id, now))
        self._sessions.commit(event.tenant_id, event.conversation_id, snapshot, state=state.to_dict(),
                              consumed=list(snapshot.pending), paused=None, expires_at=self._expiry(now_ms))
        return BotOutcome("closed", ended="closed")


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


class ContactReaderPort(Protocol):
    def get_contact(self, tenant_id: str, contact_id: str) -> Any: ...


class StoreContactCards:
    """What a bot may know about the customer: name, first phone and email, language, custom fields."""

    def __init__(self, store: ContactReaderPort) -> None:
        self._store = store

    def contact_card(self, tenant_id: str, contact_id: str) -> dict[str, Any]:
        contact = self._store.get_contact(tenant_id, contact_id)
        if contact is None:
            return {}
        return {"name": contact.name, "phone": (contact.phones or [None])[0],
                "email": (contact.emails or [None])[0], "language": contact.language,
                "fields": dict(contact.fields)}
