"""Sending one bucket of a broadcast: claim before send, paced, classified, recorded once.

A bucket is ~100 recipients in one partition. A worker sends its due recipients in groups:

1. **Claim** the group (queued → sending, attempt + 1) in one transaction: the per-recipient idempotency
   record, written before anything goes to Meta. A duplicate worker finds the recipients no longer queued.
2. **Pace**: tokens from the number's shared bucket (`pacing.Pacer`), then send concurrently.
3. **Record** every outcome (sent with the wamid, retry later, failed with Meta's code) in one transaction
   conditioned on the claim, with the counters; the thread history gets the message.

A worker that dies between 1 and 3 leaves recipients in `sending`. The next worker to see the bucket after
the claim lease (longer than a worker's lifetime) marks them `unconfirmed`: they may have reached Meta, so
they are not resent by themselves (at most once); a status webhook for them still moves them forward
(Meta echoes our request id as callback data) and "retry failed" resends the rest.

Error classes (retry policy): throttled (130429: shared cool-down, the recipient waits, no attempt used),
pair_limit (131056: this recipient waits 4^n s), transient (5xx, timeouts, 131000...: exponential backoff
up to `max_attempts`), marketing_cap (131049: failed, retry allowed after 24 h), template (132001/132015/
132016: the template cannot be sent; the broadcast pauses), opted_out (131050: failed, the contact's
marketing consent is withdrawn), permanent (everything else: failed with Meta's reason).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.models.broadcasts import Broadcast, Recipient
from shared.models.envelopes import OutboundRequest, TemplateContent, outbound_message_id
from shared.models.events import BroadcastGroupSent
from shared.models.templates import MessageTemplate
from shared.ports import Clock, EventPublisher, ProviderSendError, SendResult
from shared.services.pacing import Pacer, pair_limit_delay_s
from shared.services.template_params import build_components
from shared.services.whatsapp_errors import RETRYABLE_CODES
from shared.services.whatsapp_payloads import build_payload

THROTTLED = 130429
PAIR_LIMIT = 131056
MARKETING_CAP = 131049
MARKETING_OPTED_OUT = 131050
TEMPLATE_BLOCKING = frozenset({132001, 132015, 132016})
TEMPLATE_PARAMS = frozenset({132000, 132005, 132007, 132008, 132012})
MARKETING_CAP_WAIT = timedelta(hours=24)


def error_class(http_status: int | None, code: int | None) -> str:
    if code == THROTTLED:
        return "throttled"
    if code == PAIR_LIMIT:
        return "pair_limit"
    if code == MARKETING_CAP:
        return "marketing_cap"
    if code == MARKETING_OPTED_OUT:
        return "opted_out"
    if code in TEMPLATE_BLOCKING or code in TEMPLATE_PARAMS:
        return "template"
    if code in RETRYABLE_CODES or http_status is None or http_status == 429 or http_status >= 500:
        return "transient"
    return "permanent"


def outcome_class(error: ProviderSendError) -> str:
    """error_class, except that a send that may have reached Meta (no answer in time) is `unconfirmed`: it is
    never resent automatically (a late status with our callback data confirms it; retry resends it)."""
    return "unconfirmed" if error.ambiguous else error_class(error.http_status, error.code)


def request_id(broadcast_id: str, bucket: int, to: str, attempt: int) -> str:
    """Also the callback data Meta echoes on statuses: names the recipient and the attempt."""
    return f"bc:{broadcast_id}:{bucket}:{to}:{attempt}"


def parse_callback(data: str | None) -> tuple[str, int, str, int] | None:
    if not data or not data.startswith("bc:"):
        return None
    parts = data.split(":")
    if len(parts) != 5 or not parts[2].isdigit() or not parts[4].isdigit():
        return None
    return parts[1], int(parts[2]), parts[3], int(parts[4])


class GraphSender(Protocol):
    def send(self, phone_number_id: str, access_token: str, payload: dict[str, Any]) -> SendResult: ...


class SenderStore(Protocol):
    def recipients(self, tenant_id: str, broadcast_id: str, bucket: int) -> list[Recipient]: ...

    def claim(self, tenant_id: str, broadcast_id: str, claims: Sequence[tuple[Recipient, str]], now: datetime
              ) -> list[Recipient]: ...

    def record(self, tenant_id: str, broadcast_id: str, writes: Sequence[Any], *, expect: str = "sending"
               ) -> list[Any]: ...


class MessageItems(Protocol):
    """The thread-history side: the message item an accepted or failed broadcast send leaves."""

    def outbound_item(self, request: OutboundRequest, *, now: datetime) -> dict[str, Any]: ...

    def accepted_fields(self, request: OutboundRequest, provider_message_id: str, now: datetime
                        ) -> dict[str, Any]: ...

    def failed_fields(self, *, code: int | None, title: str | None, details: str | None, now: datetime
                      ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ReplyWindow:
    channel_id: str
    sent_at: datetime
    until: datetime


@dataclass(frozen=True)
class RecipientWrite:
    """One recipient's change (a send outcome, a sweep, a status, a retry) and the counters it moves."""

    recipient: Recipient  # as claimed / read: the write is conditioned on its status and attempt
    fields: dict[str, Any]  # attributes to set (None removes)
    failed_view: bool  # listed in the failed view afterwards
    adds: dict[str, int]  # counters this change moves
    items: tuple[dict[str, Any], ...] = ()  # written after it: the thread-history message
    reply: ReplyWindow | None = None  # a send: the thread's replies are attributed to it for a while


@dataclass(frozen=True)
class SenderPolicy:
    group_size: int = 50
    concurrency: int = 16
    max_attempts: int = 5  # transient and pair-limit attempts per recipient
    base_delay_s: int = 2
    max_delay_s: int = 600
    claim_lease: timedelta = timedelta(minutes=16)  # longer than a worker lives (Lambda max 15 min)
    reply_window: timedelta = timedelta(hours=72)


@dataclass
class BucketResult:
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    unconfirmed: int = 0
    skipped: int = 0
    stopped: str | None = None  # paused | cancelled | template | deadline
    next_retry_at: datetime | None = None
    pause_reason: str | None = None
    opted_out: list[str] = field(default_factory=list)  # contact ids Meta says opted out (131050)


@dataclass(frozen=True)
class SendContext:
    broadcast: Broadcast
    template: MessageTemplate
    phone_number_id: str
    access_token: str
    pacer: Pacer
    still_sending: Callable[[], str | None]  # None while the broadcast may send, else why not
    deadline_reached: Callable[[], bool]


class BucketSender:
    def __init__(self, *, store: SenderStore, graph: GraphSender, messages: MessageItems, clock: Clock,
                 policy: SenderPolicy, rng: random.Random | None = None,
                 events: EventPublisher | None = None) -> None:
        self._events = events  # BroadcastGroupSent per group of accepted sends (reports count messages out)
        self._store = store
        self._graph = graph
        self._messages = messages
        self._clock = clock
        self._policy = policy
        self._rng = rng or random.Random()
        self._pool = ThreadPoolExecutor(max_workers=policy.concurrency, thread_name_prefix="bc-send")

    # -- the bucket --------------------------------------------------------------------------------------
    def send_bucket(self, ctx: SendContext, bucket: int) -> BucketResult:
        b = ctx.broadcast
        result = BucketResult()
        now = self._clock.now()
        recipients = self._store.recipients(b.tenant_id, b.broadcast_id, bucket)
        self._sweep_stale(b, recipients, now, result)
        due = [r for r in recipients if r.status == "queued" and (r.retry_at is None or r.retry_at <= now)]
        for start in range(0, len(due), self._policy.group_size):
            why = ctx.still_sending()
            if why is not None:
                result.stopped = why
                return result
            if ctx.deadline_reached():
                result.stopped = "deadline"
                return result
            self._group(ctx, due[start:start + self._policy.group_size], result)
            if result.stopped:
                return result
        # What is left: recipients waiting for a retry, or held by another worker (a duplicate delivery).
        left = self._store.recipients(b.tenant_id, b.broadcast_id, bucket)
        now = self._clock.now()
        waits = [r.retry_at or now for r in left if r.status == "queued"]
        held = [r for r in left if r.status == "sending"]
        if held:
            oldest = min(r.claimed_at or now for r in held)
            waits.append(max(now + timedelta(seconds=10), min(oldest + self._policy.claim_lease,
                                                              now + timedelta(seconds=60))))
        if waits:
            result.next_retry_at = min(waits)
        return result

    def _sweep_stale(self, b: Broadcast, recipients: list[Recipient], now: datetime, result: BucketResult) -> None:
        stale = [r for r in recipients if r.status == "sending" and r.claimed_at is not None
                 and now - r.claimed_at > self._policy.claim_lease]
        writes = [RecipientWrite(r, {"status": "unconfirmed", "error_class": "unconfirmed", "error_code": None,
                                     "error_title": "the worker stopped during the send",
                                     "error_details": "no answer from Meta was recorded for this attempt; it may "
                                                      "have been delivered, so it is not resent automatically "
                                                      "(retry failed resends it)",
                                     "updated_at": iso(now)}, True, {"unconfirmed": 1}) for r in stale]
        result.unconfirmed += len(self._store.record(b.tenant_id, b.broadcast_id, writes))

    # -- one group ---------------------------------------------------------------------------------------
    def _group(self, ctx: SendContext, group: list[Recipient], result: BucketResult) -> None:
        b = ctx.broadcast
        now = self._clock.now()
        claims = [(r, outbound_message_id(request_id(b.broadcast_id, r.bucket, r.to, r.attempt + 1))) for r in group]
        held = self._store.claim(b.tenant_id, b.broadcast_id, claims, now)
        result.skipped += len(group) - len(held)
        futures = []
        index = 0
        while index < len(held):
            granted = ctx.pacer.acquire(len(held) - index)
            for r in held[index:index + granted]:
                request = self._request(ctx, r)
                futures.append((r, request, self._pool.submit(self._send_one, ctx, request)))
            index += granted
        outcomes = [(r, request, f.result()) for r, request, f in futures]
        self._record(ctx, outcomes, result)

    def _send_one(self, ctx: SendContext, request: OutboundRequest) -> SendResult | ProviderSendError:
        try:
            return self._graph.send(ctx.phone_number_id, ctx.access_token,
                                    build_payload(request, callback_data=request.request_id))
        except ProviderSendError as exc:
            return exc

    def _request(self, ctx: SendContext, r: Recipient) -> OutboundRequest:
        b, template = ctx.broadcast, ctx.template
        components = build_components(template, r.params)  # validated when prepared
        return OutboundRequest(request_id=request_id(b.broadcast_id, r.bucket, r.to, r.attempt),
                               tenant_id=b.tenant_id, channel_id=b.channel_id, contact_key=r.contact_key, to=r.to,
                               content=TemplateContent(name=template.name, language=template.language,
                                                       components=components), origin=f"broadcast:{b.broadcast_id}")

    def _record(self, ctx: SendContext,
                outcomes: list[tuple[Recipient, OutboundRequest, SendResult | ProviderSendError]],
                result: BucketResult) -> None:
        b = ctx.broadcast
        now = self._clock.now()
        writes = []
        throttled = False
        for r, request, outcome in outcomes:
            base = {"updated_at": iso(now), "claimed_at": None}
            if isinstance(outcome, SendResult):
                wamid = outcome.provider_message_id or ""
                item = {**self._messages.outbound_item(request, now=now),
                        **self._messages.accepted_fields(request, wamid, now),
                        "broadcast_id": b.broadcast_id}
                writes.append(RecipientWrite(r, {**base, "status": "sent", "provider_message_id": wamid,
                                                 "sent_at": iso(now), "retry_at": None, "error_class": None,
                                                 "error_code": None, "error_title": None, "error_details": None},
                                             False, {"sent": 1}, (item,),
                                             reply=ReplyWindow(b.channel_id, now,
                                                               now + timedelta(hours=b.attribution_hours))))
                result.sent += 1
                continue
            kind = outcome_class(outcome)
            if kind == "unconfirmed":
                writes.append(RecipientWrite(r, {**base, "status": "unconfirmed", "error_class": "unconfirmed",
                                                 "error_code": None, "error_title": outcome.title,
                                                 "error_details": "the request may have been accepted; it is not "
                                                                  "resent automatically (retry failed resends it)"},
                                             True, {"unconfirmed": 1}))
                result.unconfirmed += 1
                continue
            title = outcome.title or str(outcome)
            error: dict[str, Any] = {"error_class": kind, "error_code": outcome.code, "error_title": title,
                                     "error_details": outcome.details}
            retry_at: datetime | None = None
            attempt = r.attempt
            if kind == "throttled":
                throttled = True
                attempt = r.attempt - 1  # Meta's throughput, not this recipient: no attempt used
                retry_at = now + timedelta(seconds=1 + self._rng.random())
            elif kind == "pair_limit" and r.attempt < self._policy.max_attempts:
                retry_at = now + timedelta(seconds=pair_limit_delay_s(r.attempt))
            elif kind == "transient" and r.attempt < self._policy.max_attempts:
                delay = min(self._policy.base_delay_s * 2 ** (r.attempt - 1), self._policy.max_delay_s)
                retry_at = now + timedelta(seconds=delay * (0.5 + self._rng.random() / 2))
            if retry_at is not None:
                writes.append(RecipientWrite(r, {**base, **error, "status": "queued", "attempt": attempt,
                                                 "retry_at": iso(retry_at)}, False, {}))
                result.retry_later += 1
                continue
            if kind in ("transient", "pair_limit"):
                title = error["error_title"] = f"retries exhausted after {r.attempt} attempts: {title}"
            fields = {**base, **error, "status": "failed", "failed_at": iso(now),
                      "retry_at": iso(now + MARKETING_CAP_WAIT) if kind == "marketing_cap" else None}
            item = {**self._messages.outbound_item(request, now=now),
                    **self._messages.failed_fields(code=outcome.code, title=title,
                                                   details=outcome.details, now=now),
                    "broadcast_id": b.broadcast_id}
            writes.append(RecipientWrite(r, fields, True, {"failed": 1, f"fail_{outcome.code or 'none'}": 1},
                                         (item,)))
            result.failed += 1
            if kind == "opted_out" and r.contact_id:
                result.opted_out.append(r.contact_id)
            if kind == "template" and outcome.code in TEMPLATE_BLOCKING:
                result.stopped = "template"
                result.pause_reason = (f"Meta refused the template ({outcome.code}: {outcome.title}); "
                                       "fix or wait for it, then resume")
        written = self._store.record(b.tenant_id, b.broadcast_id, writes)
        sent = {id(w.recipient) for w in written if w.fields.get("status") == "sent"}
        if self._events is not None and sent:
            ids = sorted(request.message_id for r, request, _ in outcomes if id(r) in sent)
            self._events.publish([BroadcastGroupSent(
                tenant_id=b.tenant_id, channel_id=b.channel_id, broadcast_id=b.broadcast_id,
                batch_id=hashlib.sha256("#".join(ids).encode()).hexdigest()[:32], count=len(ids),
                sent_at=iso(now))])
        if throttled:
            ctx.pacer.throttled()


def iso(value: datetime) -> str:
    """The table's timestamp format (as shared.adapters.dynamodb writes it)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
