"""Broadcasts: drafts, audience preparation with cost and tier preview, start/schedule/pause/resume/cancel,
paced fan-out by bucket, statuses and replies attributed, failed-recipient retry, and the report.

The work runs on the `broadcasts` queue (one message = prepare a page run, or send one bucket) and a
per-minute tick (start what is due, re-enqueue what a lost message left). Every message is idempotent:
preparation advances a checkpoint conditioned on its sequence number, and sending claims each recipient
before the send (see broadcast_sender).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from shared.errors import Conflict, InvalidInput, NotFound, StaleBroadcast
from shared.models.broadcasts import (
    FINAL_STATUSES,
    Broadcast,
    BroadcastInput,
    BroadcastView,
    Counts,
    Exclusion,
    Recipient,
    RetryInput,
    ScheduleInput,
)
from shared.models.crm import ConsentInput, Contact
from shared.models.events import BroadcastStatusChanged
from shared.models.templates import MessageTemplate
from shared.ports import Clock, EventPublisher, Page
from shared.services.broadcast_audience import (
    Candidate,
    Eligible,
    bucket_of,
    evaluate,
    purpose_of,
)
from shared.services.broadcast_sender import (
    BucketResult,
    BucketSender,
    SendContext,
    iso,
)
from shared.services.broadcast_tracking import BroadcastTracking
from shared.services.pacing import Pacer
from shared.services.rate_card import RateCard
from shared.services.schedule import check_zone
from shared.services.template_params import build_components, render_preview

PAGE = 200  # audience candidates per checkpoint
BUCKET_SIZE = 100
MAX_LIST_BYTES = 50_000_000


class BroadcastQueue(Protocol):
    def send(self, messages: Sequence[dict[str, Any]], *, delay_s: int = 0) -> None: ...


class TemplateSource(Protocol):
    def get_template(self, tenant_id: str, channel_id: str, name: str, language: str) -> MessageTemplate: ...

    def daily_limit(self, tenant_id: str, channel_id: str) -> tuple[str | None, int | None]: ...

    def throughput(self, tenant_id: str, channel_id: str) -> int: ...


class ContactsPort(Protocol):
    def get(self, tenant_id: str, contact_id: str) -> Contact: ...

    def page(self, tenant_id: str, *, limit: int = 50, cursor: str | None = None) -> Page: ...

    def set_consent(self, tenant_id: str, contact_id: str, data: ConsentInput, *, actor: str) -> Contact: ...

    def change_tags(self, tenant_id: str, contact_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = (),
                    actor: str) -> Contact: ...


class ContactLookup(Protocol):
    def identities_batch(self, tenant_id: str, kind: str, values: Sequence[str]) -> dict[str, str]: ...

    def contacts_batch(self, tenant_id: str, contact_ids: Sequence[str]) -> dict[str, Contact]: ...

    def soft_index(self, tenant_id: str) -> list[tuple[str, str, str]]: ...


class SegmentsPort(Protocol):
    def predicate(self, tenant_id: str, segment_id: str) -> Callable[[Contact, datetime], bool]: ...


class FilesPort(Protocol):
    def read(self, tenant_id: str, file_id: str, *, max_bytes: int) -> bytes: ...


class ChannelsPort(Protocol):
    def get_channel(self, channel_id: str) -> Any: ...

    def get_secrets(self, channel: Any, *, fresh: bool = False) -> Any: ...


def new_broadcast_id(clock: Clock) -> str:
    return f"bc_{int(clock.now().timestamp() * 1000):013x}{secrets.token_hex(4)}"


def _utc(value: datetime, zone: str) -> datetime:
    return value.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC) if value.tzinfo is None else value.astimezone(UTC)


class BroadcastService:
    def __init__(self, *, store: Any, templates: TemplateSource, contacts: ContactsPort, lookup: ContactLookup,
                 segments: SegmentsPort, files: FilesPort, channels: ChannelsPort, queue: BroadcastQueue,
                 sender: BucketSender, pacer: Callable[[str, float], Pacer], clock: Clock,
                 rate_card: RateCard | None = None, default_mps: int = 80,
                 count_contacts: Callable[[str], int] | None = None, events: EventPublisher | None = None,
                 on_bucket: Callable[[BucketResult], None] | None = None) -> None:
        self._events = events
        self._on_bucket = on_bucket  # told each bucket run's counts (the worker's progress metrics)
        self._count_contacts = count_contacts
        self._tracking = BroadcastTracking(store=store, contacts=contacts, clock=clock)
        # per preparation run: the uploaded list's rows and the tenant's phone index (read once per run)
        self._rows_cache: dict[tuple[str, str], tuple[list[str], list[dict[str, str]]]] = {}
        self._soft_cache: dict[str, dict[str, str]] = {}
        self._store = store
        self._templates = templates
        self._contacts = contacts
        self._lookup = lookup
        self._segments = segments
        self._files = files
        self._channels = channels
        self._queue = queue
        self._sender = sender
        self._pacer = pacer
        self._clock = clock
        self._rates = rate_card or RateCard.load()
        self._default_mps = default_mps

    # -- drafts ---------------------------------------------------------------------------------------
    def _template(self, tenant_id: str, data: BroadcastInput | Broadcast) -> MessageTemplate:
        channel = self._channels.get_channel(data.channel_id)
        if channel is None or channel.tenant_id != tenant_id:
            raise NotFound(f"no channel {data.channel_id}")
        template = self._templates.get_template(tenant_id, data.channel_id, data.template_name,
                                                data.template_language)
        known = set(_slots(template))
        unknown = sorted(set(data.variables) - known)
        if unknown:
            raise InvalidInput("the template has no such variables", errors=[
                {"location": f"variables.{slot}", "message": f"not a variable of {template.name} "
                 f"(its variables: {', '.join(sorted(known)) or 'none'})"} for slot in unknown])
        return template

    def create(self, tenant_id: str, data: BroadcastInput, *, actor: str) -> Broadcast:
        template = self._template(tenant_id, data)
        now = self._clock.now()
        broadcast = Broadcast(tenant_id=tenant_id, broadcast_id=new_broadcast_id(self._clock), name=data.name,
                              channel_id=data.channel_id, template_name=data.template_name,
                              template_language=data.template_language, category=template.category,
                              audience=data.audience, variables=data.variables, rate_mps=data.rate_mps,
                              on_reply=data.on_reply, attribution_hours=data.attribution_hours, created_by=actor,
                              created_at=now, updated_at=now)
        self._store.put(broadcast, expected_version=None)
        return broadcast

    def update(self, tenant_id: str, broadcast_id: str, data: BroadcastInput) -> Broadcast:
        current = self.get_broadcast(tenant_id, broadcast_id)
        if current.status not in ("draft", "ready"):
            raise Conflict(f"broadcast {broadcast_id} is {current.status}; only drafts can be edited")
        template = self._template(tenant_id, data)
        if current.status == "ready":
            self._store.reset_prep(tenant_id, broadcast_id, current.buckets)
        return self._save(current, name=data.name, channel_id=data.channel_id, template_name=data.template_name,
                          template_language=data.template_language, category=template.category,
                          audience=data.audience, variables=data.variables, rate_mps=data.rate_mps,
                          on_reply=data.on_reply, attribution_hours=data.attribution_hours, status="draft",
                          prepared=None, buckets=0)

    def get_broadcast(self, tenant_id: str, broadcast_id: str) -> Broadcast:
        found = self._store.get(tenant_id, broadcast_id)
        if found is None:
            raise NotFound(f"no broadcast {broadcast_id}")
        return found  # type: ignore[no-any-return]

    def view(self, tenant_id: str, broadcast_id: str) -> BroadcastView:
        b = self.get_broadcast(tenant_id, broadcast_id)
        return self._view(b)

    def _view(self, b: Broadcast) -> BroadcastView:
        c = self._store.counters(b.tenant_id, b.broadcast_id) if b.status != "draft" else {}
        total = int((b.prepared or {}).get("eligible", 0))
        done = c.get("sent", 0) + c.get("failed", 0) + c.get("unconfirmed", 0)
        counts = Counts(total=total, queued=max(total - done, 0), sent=c.get("sent", 0),
                        delivered=c.get("delivered", 0), read=c.get("read", 0), replied=c.get("replied", 0),
                        failed=c.get("failed", 0), unconfirmed=c.get("unconfirmed", 0),
                        excluded=int(sum((b.prepared or {}).get("excluded", {}).values())))
        return BroadcastView(**b.model_dump(), counts=counts, progress=round(done / total, 4) if total else 0.0)

    def list_broadcasts(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        page = self._store.list_broadcasts(tenant_id, limit=limit, cursor=cursor)
        return Page([self._view(b) for b in page.items], page.cursor)

    def _save(self, b: Broadcast, **changes: Any) -> Broadcast:
        updated = b.model_copy(update={**changes, "version": b.version + 1, "updated_at": self._clock.now()})
        self._store.put(updated, expected_version=b.version)
        if self._events is not None and updated.status != b.status:
            self._events.publish([BroadcastStatusChanged(
                tenant_id=b.tenant_id, broadcast_id=b.broadcast_id, status=updated.status, previous_status=b.status,
                reason=updated.paused_reason if updated.status == "paused" else updated.error)])
        return updated

    def _change(self, tenant_id: str, broadcast_id: str, fn: Callable[[Broadcast], dict[str, Any] | None]
                ) -> Broadcast:
        """Read, decide, write with the version read; again if someone else wrote first."""
        for _ in range(8):
            b = self.get_broadcast(tenant_id, broadcast_id)
            changes = fn(b)
            if changes is None:
                return b
            try:
                return self._save(b, **changes)
            except StaleBroadcast:
                continue
        raise Conflict(f"broadcast {broadcast_id} is changing concurrently; try again")

    # -- preview --------------------------------------------------------------------------------------
    def preview(self, tenant_id: str, broadcast_id: str, contact_id: str | None) -> dict[str, Any]:
        b = self.get_broadcast(tenant_id, broadcast_id)
        template = self._template(tenant_id, b)
        if contact_id:
            candidate = Candidate(self._contacts.get(tenant_id, contact_id))
        else:
            first, _ = self._candidates(b, None, limit=1)
            candidate = first[0] if first else Candidate(None)
        outcome = evaluate(candidate, template=template, variables=b.variables, purpose=purpose_of(b.category),
                           default_country=b.audience.default_country)
        contact = candidate.contact
        answer: dict[str, Any] = {"contact_id": contact.contact_id if contact else None,
                                  "template": {"name": template.name, "language": template.language,
                                               "category": template.category, "status": template.status}}
        if isinstance(outcome, Eligible):
            answer.update(eligible=True, to=outcome.to, params=outcome.params,
                          rendered=render_preview(template, outcome.params),
                          components=build_components(template, outcome.params))
        else:
            answer.update(eligible=False, reason=outcome.reason, detail=outcome.detail,
                          rendered=render_preview(template, {}))
        return answer

    # -- lifecycle ------------------------------------------------------------------------------------
    def prepare(self, tenant_id: str, broadcast_id: str, *, then: str = "stop") -> Broadcast:
        """Resolve the audience (async): eligible recipients, exclusions with reasons, cost and tier."""
        def decide(b: Broadcast) -> dict[str, Any] | None:
            if b.status not in ("draft", "ready"):
                raise Conflict(f"broadcast {broadcast_id} is {b.status}; it can be prepared as a draft or ready")
            return {"status": "preparing", "then": then, "prepared": None, "error": None,
                    "buckets": max(1, -(-self._audience_size(b) // BUCKET_SIZE))}

        before = self.get_broadcast(tenant_id, broadcast_id)
        self._template(tenant_id, before)
        if before.status == "ready":
            self._store.reset_prep(tenant_id, broadcast_id, before.buckets)
        b = self._change(tenant_id, broadcast_id, decide)
        self._queue.send([{"op": "prepare", "tenant_id": tenant_id, "broadcast_id": broadcast_id}])
        return b

    def start(self, tenant_id: str, broadcast_id: str, data: ScheduleInput) -> Broadcast:
        if data.at is not None:
            try:
                check_zone(data.time_zone)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
        at = _utc(data.at, data.time_zone) if data.at is not None else None
        if at is not None and at <= self._clock.now():
            at = None
        b = self.get_broadcast(tenant_id, broadcast_id)
        template = self._template(tenant_id, b)
        if not template.sendable:
            raise Conflict(f"template {template.name} ({template.language}) is {template.status}; only APPROVED "
                           "templates can be broadcast")
        then = "schedule" if at is not None else "start"

        def decide(b: Broadcast) -> dict[str, Any] | None:
            fields: dict[str, Any] = {"schedule_at": at, "time_zone": data.time_zone,
                                      "allow_over_tier": data.allow_over_tier}
            if b.status == "draft":
                return {**fields, "status": "preparing", "then": then, "prepared": None, "error": None,
                        "buckets": max(1, -(-self._audience_size(b) // BUCKET_SIZE))}
            if b.status == "ready":
                self._check_tier(b, data.allow_over_tier)
                return {**fields, "status": "scheduled" if at else "sending", "then": "stop",
                        "started_at": None if at else self._clock.now()}
            raise Conflict(f"broadcast {broadcast_id} is {b.status}; start a draft or a ready broadcast")

        b = self._change(tenant_id, broadcast_id, decide)
        if b.status == "preparing":
            self._queue.send([{"op": "prepare", "tenant_id": tenant_id, "broadcast_id": broadcast_id}])
        elif b.status == "sending":
            self._enqueue_buckets(b)
        return b

    def _check_tier(self, b: Broadcast, allow: bool) -> None:
        tier = (b.prepared or {}).get("tier") or {}
        if tier.get("fits") is False and not allow:
            raise Conflict(f"the audience ({tier.get('audience_outside_window')} recipients outside the service "
                           f"window) exceeds the messaging limit {tier.get('limit_name')} "
                           f"({tier.get('limit')} unique users per 24 h); reduce it or start with allow_over_tier")

    def pause(self, tenant_id: str, broadcast_id: str, *, reason: str = "paused by a user") -> Broadcast:
        def decide(b: Broadcast) -> dict[str, Any] | None:
            if b.status == "paused":
                return None
            if b.status not in ("preparing", "scheduled", "sending"):
                raise Conflict(f"broadcast {broadcast_id} is {b.status}; it cannot be paused")
            return {"status": "paused", "paused_from": b.status, "paused_reason": reason}

        return self._change(tenant_id, broadcast_id, decide)

    def pause_using(self, tenant_id: str, channel_id: str, name: str, language: str, reason: str) -> list[str]:
        """Pause the tenant's live broadcasts that send this template (Meta paused or disabled it)."""
        paused = []
        for t, bid in self._store.active() + self._store.scheduled():
            if t != tenant_id:
                continue
            b = self._store.get(t, bid)
            if b is None or b.channel_id != channel_id or (b.template_name, b.template_language) != (name, language):
                continue
            try:
                after = self.pause(t, bid, reason=reason)
            except Conflict:
                continue
            if after.status == "paused":
                paused.append(bid)
        return paused

    def resume(self, tenant_id: str, broadcast_id: str) -> Broadcast:
        def decide(b: Broadcast) -> dict[str, Any] | None:
            if b.status != "paused":
                raise Conflict(f"broadcast {broadcast_id} is {b.status}; only a paused broadcast resumes")
            return {"status": b.paused_from or "sending", "paused_from": None, "paused_reason": None}

        b = self._change(tenant_id, broadcast_id, decide)
        if b.status == "sending":
            template = self._template(tenant_id, b)
            if not template.sendable:
                self.pause(tenant_id, broadcast_id, reason=f"template {template.name} is {template.status}")
                raise Conflict(f"template {template.name} is {template.status}; the broadcast stays paused")
            self._enqueue_buckets(b)
        elif b.status == "preparing":
            self._queue.send([{"op": "prepare", "tenant_id": tenant_id, "broadcast_id": broadcast_id}])
        return b

    def cancel(self, tenant_id: str, broadcast_id: str) -> Broadcast:
        def decide(b: Broadcast) -> dict[str, Any] | None:
            if b.status in FINAL_STATUSES:
                raise Conflict(f"broadcast {broadcast_id} is already {b.status}")
            return {"status": "cancelled", "completed_at": self._clock.now()}

        return self._change(tenant_id, broadcast_id, decide)

    def retry_failed(self, tenant_id: str, broadcast_id: str, data: RetryInput) -> dict[str, Any]:
        b = self.get_broadcast(tenant_id, broadcast_id)
        if b.status not in ("sending", "completed", "paused"):
            raise Conflict(f"broadcast {broadcast_id} is {b.status}; failed recipients can be retried once it "
                           "has sent")
        now = self._clock.now()
        classes = set(data.error_classes) if data.error_classes else None
        moved, skipped = 0, dict[str, int]()
        buckets: set[int] = set()
        for r in list(self._store.iter_failed(tenant_id, broadcast_id)):
            cls = r.error_class or "permanent"
            why = None
            if classes is not None and cls not in classes:
                why = "not selected"
            elif classes is None and cls == "opted_out":
                why = "opted_out"
            elif cls == "marketing_cap" and r.retry_at and r.retry_at > now and not data.include_waiting:
                why = "marketing_cap_waiting"
            if why:
                skipped[why] = skipped.get(why, 0) + 1
                continue
            adds = {"failed": -1} if r.status == "failed" else {"unconfirmed": -1}
            if self._store.move(tenant_id, broadcast_id, r, {"status": "queued", "retry_at": None,
                                                             "updated_at": iso(now)}, adds,
                                failed_view=False):
                moved += 1
                buckets.add(r.bucket)
        if moved:
            self._store.reopen_buckets(tenant_id, broadcast_id, buckets)
            after = self._change(tenant_id, broadcast_id, lambda cur: {"status": "sending", "completed_at": None}
                                 if cur.status == "completed" else None)
            if after.status == "sending":
                self._enqueue_buckets(after, only=buckets)
        return {"retried": moved, "skipped": skipped}

    # -- reading recipients ------------------------------------------------------------------------
    def recipients(self, tenant_id: str, broadcast_id: str, *, status: str | None, limit: int,
                   cursor: str | None) -> Page:
        b = self.get_broadcast(tenant_id, broadcast_id)
        if status == "failed":
            return self._store.failed(tenant_id, broadcast_id, limit=limit, cursor=cursor)  # type: ignore[no-any-return]
        if status == "excluded":
            return self._store.exclusions(tenant_id, broadcast_id, limit=limit, cursor=cursor)  # type: ignore[no-any-return]
        if status is not None:
            raise InvalidInput("status filter must be failed or excluded (or none for every recipient)")
        return self._store.all_recipients(tenant_id, broadcast_id, b.buckets, limit=limit,  # type: ignore[no-any-return]
                                          cursor=cursor)

    def report(self, tenant_id: str, broadcast_id: str) -> dict[str, Any]:
        view = self.view(tenant_id, broadcast_id)
        c = self._store.counters(tenant_id, broadcast_id)
        failures = sorted(((k[5:], v) for k, v in c.items() if k.startswith("fail_") and v), key=lambda kv: -kv[1])
        billed = {k[5:]: v for k, v in c.items() if k.startswith("bill_") and v}
        day = (view.started_at or self._clock.now()).date()
        cost = self._rates.estimate(day, [(m, view.category, n) for m, n in sorted(billed.items())])
        counts = view.counts
        return {"broadcast_id": broadcast_id, "status": view.status, "counts": counts.model_dump(),
                "read_rate": round(counts.read / counts.delivered, 4) if counts.delivered else None,
                "reply_rate": round(counts.replied / counts.delivered, 4) if counts.delivered else None,
                "failure_reasons": [{"code": None if code == "none" else int(code), "count": n}
                                    for code, n in failures],
                "excluded": (view.prepared or {}).get("excluded", {}),
                "cost": {"billable_deliveries": billed, **cost.as_dict()},
                "estimated_cost": (view.prepared or {}).get("cost")}

    # -- the worker: preparation -----------------------------------------------------------------------
    def _audience_size(self, b: Broadcast) -> int:
        a = b.audience
        if a.contact_ids:
            return len(a.contact_ids)
        if a.list_file_id:
            return max(len(self._list_rows(b)[1]), 1)
        return max(self._contact_count(b.tenant_id), 1)

    def _contact_count(self, tenant_id: str) -> int:
        return self._count_contacts(tenant_id) if self._count_contacts else 1000

    def _list_rows(self, b: Broadcast) -> tuple[list[str], list[dict[str, str]]]:
        from shared.services.jobs import decode_csv, parse_csv  # noqa: PLC0415 - CSV reading shared with imports

        key = (b.tenant_id, b.audience.list_file_id or "")
        if key not in self._rows_cache:
            text, _ = decode_csv(self._files.read(b.tenant_id, key[1], max_bytes=MAX_LIST_BYTES))
            table = parse_csv(text)
            headers = list(table.headers)
            rows = [dict(zip(headers, cells, strict=False)) for _, cells in table.rows]
            self._rows_cache.clear()
            self._rows_cache[key] = (headers, rows)
        return self._rows_cache[key]

    def _candidates(self, b: Broadcast, cursor: str | None, *, limit: int = PAGE
                    ) -> tuple[list[Candidate], str | None]:
        """One page of the audience and the cursor after it (None: the end)."""
        a, t = b.audience, b.tenant_id
        if a.contact_ids:
            start = int(cursor or 0)
            ids = a.contact_ids[start:start + limit]
            found = self._lookup.contacts_batch(t, ids)
            out = [Candidate(found.get(cid)) for cid in ids]
            nxt = start + len(ids)
            return out, str(nxt) if nxt < len(a.contact_ids) else None
        if a.list_file_id:
            headers, rows = self._list_rows(b)
            start = int(cursor or 0)
            chunk = rows[start:start + limit]
            return self._list_candidates(b, headers, chunk), (str(start + len(chunk))
                                                              if start + len(chunk) < len(rows) else None)
        predicate = (self._segments.predicate(t, a.segment_id) if a.segment_id else
                     (lambda c, _now: bool(set(a.tags) & set(c.tags))))
        now = self._clock.now()
        page = self._contacts.page(t, limit=limit, cursor=cursor)
        return [Candidate(c) for c in page.items if predicate(c, now)], page.cursor

    def _list_candidates(self, b: Broadcast, headers: list[str], rows: list[dict[str, str]]) -> list[Candidate]:
        from shared.services.jobs import HEADER_ALIASES, fold  # noqa: PLC0415 - the import's column names
        from shared.services.phone import InvalidPhone, normalize_phone  # noqa: PLC0415

        column = next((h for h in headers if HEADER_ALIASES.get(fold(h)) in ("whatsapp", "phone")), None)
        if column is None:
            raise InvalidInput("the list needs a phone or whatsapp column")
        phones = [row.get(column, "") for row in rows]
        wa_ids: list[str | None] = []
        for raw in phones:
            try:
                wa_ids.append(normalize_phone(raw, default_country=b.audience.default_country)[1:] if raw else None)
            except InvalidPhone:
                wa_ids.append(None)
        t = b.tenant_id
        by_wa = self._lookup.identities_batch(t, "whatsapp", [w for w in wa_ids if w])
        missing = [w for w in wa_ids if w and w not in by_wa]
        if missing:
            soft = self._soft_phones(t)
            by_wa.update({w: soft["+" + w] for w in missing if "+" + w in soft})
        contacts = self._lookup.contacts_batch(t, list(set(by_wa.values())))
        return [Candidate(contacts.get(by_wa.get(w or "", "")), row=row, phone=raw or None)
                for row, raw, w in zip(rows, phones, wa_ids, strict=True)]

    def _soft_phones(self, tenant_id: str) -> dict[str, str]:
        if tenant_id not in self._soft_cache:
            self._soft_cache.clear()
            self._soft_cache[tenant_id] = {value: cid for kind, value, cid in self._lookup.soft_index(tenant_id)
                                           if kind == "phone"}
        return self._soft_cache[tenant_id]

    def run_prepare(self, tenant_id: str, broadcast_id: str, deadline_reached: Callable[[], bool]) -> str:
        b = self._store.get(tenant_id, broadcast_id)
        if b is None or b.status != "preparing":
            return "not_preparing"
        self._rows_cache.clear()
        self._soft_cache.clear()
        try:
            template = self._template(tenant_id, b)
        except (NotFound, InvalidInput) as exc:
            self._fail(b, f"the broadcast cannot be prepared: {exc}")
            return "failed"
        purpose = purpose_of(template.category)
        exclude_tags = frozenset(b.audience.exclude_tags)
        now = self._clock.now()
        while True:
            state = self._store.prep_state(tenant_id, broadcast_id)
            if state.done:
                return self._finish_prepare(tenant_id, broadcast_id)
            try:
                candidates, cursor = self._candidates(b, state.cursor)
            except (InvalidInput, NotFound, Conflict) as exc:
                self._fail(b, f"the audience cannot be read: {exc}")
                return "failed"
            recipients: dict[str, Recipient] = {}
            exclusions: list[Exclusion] = []
            adds: dict[str, int] = {"candidates": len(candidates)}
            for cand in candidates:
                outcome = evaluate(cand, template=template, variables=b.variables, purpose=purpose,
                                   default_country=b.audience.default_country, exclude_tags=exclude_tags)
                if isinstance(outcome, Eligible):
                    market = self._rates.market_of(outcome.to)
                    recipients[outcome.to] = Recipient(
                        to=outcome.to, bucket=bucket_of(outcome.to, b.buckets), contact_id=outcome.contact_id,
                        contact_key=outcome.contact_key, market=market, params=outcome.params)
                    adds[f"m_{market}"] = adds.get(f"m_{market}", 0) + 1
                    inbound = cand.contact.last_inbound_at if cand.contact else None
                    if inbound is not None and now - inbound < timedelta(hours=24):
                        adds[f"w_{market}"] = adds.get(f"w_{market}", 0) + 1
                else:
                    reason = outcome.reason.split(":")[0]
                    exclusions.append(Exclusion(to=outcome.to, contact_id=outcome.contact_id, reason=outcome.reason,
                                                detail=outcome.detail))
                    adds[f"x_{reason}"] = adds.get(f"x_{reason}", 0) + 1
            self._store.put_recipients(tenant_id, broadcast_id, list(recipients.values()))
            self._store.put_exclusions(tenant_id, broadcast_id, exclusions)
            if not self._store.save_prep(tenant_id, broadcast_id, seq=state.seq, cursor=cursor, adds=adds,
                                         done=cursor is None):
                return "lost_race"
            if cursor is None:
                return self._finish_prepare(tenant_id, broadcast_id)
            if deadline_reached():
                self._queue.send([{"op": "prepare", "tenant_id": tenant_id, "broadcast_id": broadcast_id}])
                return "continued"

    def _finish_prepare(self, tenant_id: str, broadcast_id: str) -> str:
        b = self.get_broadcast(tenant_id, broadcast_id)
        if b.status != "preparing":
            return "not_preparing"
        state = self._store.prep_state(tenant_id, broadcast_id)
        sizes = {bucket: self._store.bucket_count(tenant_id, broadcast_id, bucket) for bucket in range(b.buckets)}
        total = sum(sizes.values())
        self._store.init_buckets(tenant_id, broadcast_id, sizes, total)
        counts = state.counts
        by_market = {k[2:]: v for k, v in counts.items() if k.startswith("m_")}
        in_window = {k[2:]: v for k, v in counts.items() if k.startswith("w_")}
        excluded = {k[2:]: v for k, v in counts.items() if k.startswith("x_")}
        eligible_seen = sum(by_market.values())
        day = (b.schedule_at or self._clock.now()).date()
        billable = [(m, b.category, n - (in_window.get(m, 0) if b.category.upper() == "UTILITY" else 0))
                    for m, n in sorted(by_market.items())]
        cost = self._rates.estimate(day, billable)
        outside = total - min(sum(in_window.values()), total)
        limit_name, limit = self._templates.daily_limit(tenant_id, b.channel_id)
        tier = {"limit_name": limit_name, "limit": limit, "audience_outside_window": outside,
                "fits": None if limit_name is None else (limit is None or outside <= limit),
                "note": ("Meta counts unique users reached outside the 24 h service window per business "
                         "portfolio over a moving 24 h; other sends in the last 24 h also count")
                if limit_name else "no messaging-limit webhook received yet for this number: the tier is unknown"}
        prepared = {"candidates": counts.get("candidates", 0), "eligible": total,
                    "duplicates": max(eligible_seen - total, 0), "excluded": excluded, "by_market": by_market,
                    "in_service_window": in_window, "cost": cost.as_dict(),
                    "cost_note": "utility templates inside an open service window are free; duplicates are "
                                 "counted once when sent", "tier": tier}

        def decide(cur: Broadcast) -> dict[str, Any] | None:
            if cur.status != "preparing":
                return None
            fields: dict[str, Any] = {"prepared": prepared, "then": "stop"}
            if cur.then == "stop" or total == 0:
                return {**fields, "status": "ready" if total else "completed",
                        "completed_at": None if total else self._clock.now()}
            if tier["fits"] is False and not cur.allow_over_tier:
                return {**fields, "status": "ready", "error": f"not started: the audience exceeds the messaging "
                        f"limit {limit_name}; start again with allow_over_tier or reduce the audience"}
            if cur.then == "schedule" and cur.schedule_at and cur.schedule_at > self._clock.now():
                return {**fields, "status": "scheduled"}
            return {**fields, "status": "sending", "started_at": self._clock.now()}

        after = self._change(tenant_id, broadcast_id, decide)
        if after.status == "sending":
            self._enqueue_buckets(after)
        return "prepared"

    def _fail(self, b: Broadcast, error: str) -> None:
        self._change(b.tenant_id, b.broadcast_id, lambda cur: {"status": "failed", "error": error[:1000],
                                                                "completed_at": self._clock.now()}
                     if cur.status not in FINAL_STATUSES else None)

    def _enqueue_buckets(self, b: Broadcast, *, only: set[int] | None = None, delay_s: int = 0) -> None:
        pending = self._store.pending_buckets(b.tenant_id, b.broadcast_id)
        chosen = [x for x in pending if only is None or x in only]
        self._queue.send([{"op": "send", "tenant_id": b.tenant_id, "broadcast_id": b.broadcast_id, "bucket": x}
                          for x in chosen], delay_s=delay_s)

    # -- the worker: sending ---------------------------------------------------------------------------
    def run_send(self, tenant_id: str, broadcast_id: str, bucket: int, deadline_reached: Callable[[], bool]
                 ) -> str:
        b = self._store.get(tenant_id, broadcast_id)
        if b is None or b.status != "sending":
            return "not_sending"  # paused or cancelled: resume re-enqueues what is left
        try:
            template = self._templates.get_template(tenant_id, b.channel_id, b.template_name, b.template_language)
        except NotFound:
            self.pause(tenant_id, broadcast_id, reason=f"template {b.template_name} ({b.template_language}) is "
                       "no longer in the registry")
            return "template_missing"
        if not template.sendable:
            self.pause(tenant_id, broadcast_id, reason=f"template {template.name} is {template.status}")
            return "template_not_sendable"
        channel = self._channels.get_channel(b.channel_id)
        if channel is None or channel.tenant_id != tenant_id or not channel.enabled:
            self.pause(tenant_id, broadcast_id, reason=f"channel {b.channel_id} is missing or disabled")
            return "channel_unavailable"
        token = self._channels.get_secrets(channel).access_token.get_secret_value()
        rate = b.rate_mps or self._templates.throughput(tenant_id, b.channel_id) or self._default_mps
        pacer = self._pacer(f"T#{tenant_id}#{channel.phone_number_id}", float(rate))
        checked: dict[str, Any] = {"at": self._clock.now(), "status": "sending"}

        def still_sending() -> str | None:
            now = self._clock.now()
            if now - checked["at"] >= timedelta(seconds=1):  # one read per second of sending, not per group
                cur = self._store.get(tenant_id, broadcast_id)
                checked.update(at=now, status=cur.status if cur else "cancelled")
            return None if checked["status"] == "sending" else str(checked["status"])

        ctx = SendContext(broadcast=b, template=template, phone_number_id=channel.phone_number_id,
                          access_token=token, pacer=pacer, still_sending=still_sending,
                          deadline_reached=deadline_reached)
        result = self._sender.send_bucket(ctx, bucket)
        if self._on_bucket is not None:
            self._on_bucket(result)
        self._after_bucket(b, bucket, result)
        return result.stopped or "sent"

    def _after_bucket(self, b: Broadcast, bucket: int, result: BucketResult) -> None:
        t, bid = b.tenant_id, b.broadcast_id
        for contact_id in result.opted_out:
            self._tracking.opt_out(t, contact_id, "marketing", source="whatsapp_131050",
                                   text="Meta reported that the user stopped marketing messages (131050)")
        if result.stopped == "template":
            self.pause(t, bid, reason=result.pause_reason or "the template was refused")
            return
        if result.stopped == "deadline":
            self._queue.send([{"op": "send", "tenant_id": t, "broadcast_id": bid, "bucket": bucket}])
            return
        if result.stopped:
            return
        if result.next_retry_at is not None:
            wait = (result.next_retry_at - self._clock.now()).total_seconds()
            self._queue.send([{"op": "send", "tenant_id": t, "broadcast_id": bid, "bucket": bucket}],
                             delay_s=max(0, min(900, int(wait) + 1)))
            return
        remaining = self._store.finish_bucket(t, bid, bucket)
        if remaining == 0:
            self._change(t, bid, lambda cur: {"status": "completed", "completed_at": self._clock.now()}
                         if cur.status == "sending" else None)

    # -- the tick -------------------------------------------------------------------------------------
    def tick(self) -> dict[str, int]:
        """Start due scheduled broadcasts; re-enqueue the work of active ones (lost messages, crashed workers)."""
        started = resent = 0
        for t, bid in self._store.due_scheduled(self._clock.now()):
            b = self._change(t, bid, lambda cur: {"status": "sending", "started_at": self._clock.now()}
                             if cur.status == "scheduled" else None)
            if b.status == "sending":
                self._enqueue_buckets(b)
                started += 1
        for t, bid in self._store.active():
            b = self._store.get(t, bid)
            if b is None:
                continue
            if b.status == "preparing" and self._clock.now() - b.updated_at > timedelta(minutes=2):
                self._queue.send([{"op": "prepare", "tenant_id": t, "broadcast_id": bid}])
                resent += 1
            elif b.status == "sending" and self._clock.now() - b.updated_at > timedelta(minutes=2):
                self._enqueue_buckets(b)  # duplicates are harmless: claims decide who sends
                resent += 1
        return {"started": started, "resent": resent}


def _slots(template: MessageTemplate) -> Iterator[str]:
    from shared.services.template_params import variables_of  # noqa: PLC0415

    for v in variables_of(template):
        yield v.slot
