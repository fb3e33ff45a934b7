"""What workflow steps do to the rest of the platform, over the services and ports that already do it.

Every send goes through the outbound queue and the sender's guard (24-hour window, opt-out, channel policy), like
the bot's and agents' sends; contact changes go through the CRM service (events, history, versions); assignment
and closing through the contact center's routing (capacity, queues, stats). Keys make re-runs harmless: sends by
request id, notes by note id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from shared.errors import Conflict
from shared.models.contact_center import CloseNote
from shared.models.crm import Contact, ContactPatch
from shared.models.envelopes import OutboundRequest
from shared.models.events import BotFlowRequested, ConversationNoteAdded, CsatRecorded
from shared.models.workflows import AssignStep, HttpRequestStep
from shared.ports import EventPublisher, OutboundQueue
from shared.services.queue_keys import dedup_id, thread_group_id
from shared.services.schedule import is_open, next_open
from shared.services.workflows import Reach

logger = Logger(child=True)


class _Conversations(Protocol):
    def get(self, tenant_id: str, conversation_id: str) -> Any | None: ...


class _Threads(Protocol):
    def get_thread(self, tenant_id: str, channel_id: str, contact_key: str) -> Any | None: ...


class _Directory(Protocol):
    def get_channel(self, channel_id: str) -> Any | None: ...


class _Notes(Protocol):
    def add_note(self, c: Any, *, note_id: str, text: str, author: str, at: datetime) -> bool: ...


class _Mailer(Protocol):
    def send(self, *, tenant_id: str, to: str, subject: str, body: str, sender: str | None) -> str: ...


class _Bots(Protocol):
    def set_paused(self, tenant_id: str, conversation_id: str, paused: str | None) -> None: ...

    def bot_for_channel(self, tenant_id: str, channel_id: str) -> tuple[str, int] | None: ...

    def get_version(self, tenant_id: str, bot_id: str, version: int) -> Any | None: ...


def contact_view(contact: Contact) -> dict[str, Any]:
    data = contact.model_dump(mode="json", include={"contact_id", "name", "tags", "lifecycle", "fields",
                                                    "language", "owner_agent_id"})
    data["first_name"] = (contact.name or "").split(" ")[0] or None
    data["email"] = next(iter(contact.emails), None)
    data["phone"] = next(iter(contact.phones), None)
    return data


class PlatformWorkflowActions:
    def __init__(self, *, contacts: Any, conversations: _Conversations, threads: _Threads, directory: _Directory,
                 outbound: OutboundQueue, routing: Any, center: Any, notes: _Notes, events: EventPublisher, bots: _Bots,
                 mailer: _Mailer, email_sender: str | None, integrations: Callable[[], Any], segments: Any,
                 clock: Callable[[], datetime], round_robin: Callable[[str, str, list[str]], str],
                 sentiment: Callable[[str, str], dict[str, Any] | None] | None = None) -> None:
        self._sentiment = sentiment  # (tenant, conversation) -> the customer's sentiment so far (reports' fact)
        self._contacts = contacts  # ContactService
        self._conversations = conversations
        self._threads = threads
        self._directory = directory
        self._outbound = outbound
        self._routing = routing  # RoutingService
        self._center = center  # the contact center's store: campaigns and agents
        self._notes = notes
        self._events = events
        self._bots = bots
        self._mailer = mailer
        self._sender = email_sender
        self._integrations = integrations  # () -> IntegrationRunner, built on first use
        self._segments = segments  # SegmentService
        self._now = clock
        self._round_robin = round_robin

    # -- reading ------------------------------------------------------------------------------------------------
    def _contact(self, tenant_id: str, contact_id: str) -> Contact | None:
        from shared.errors import NotFound

        try:
            contact: Contact = self._contacts.get(tenant_id, contact_id)
        except NotFound:
            return None
        return contact

    def contact(self, tenant_id: str, contact_id: str) -> dict[str, Any] | None:
        contact = self._contact(tenant_id, contact_id)
        return contact_view(contact) if contact else None

    def find_contact(self, tenant_id: str, who: Mapping[str, str]) -> dict[str, Any] | None:
        found = self._contacts.find(tenant_id, phone=who.get("phone"), email=who.get("email"))
        return contact_view(found[0]) if found else None

    def conversation(self, tenant_id: str, conversation_id: str) -> dict[str, Any] | None:
        c = self._conversations.get(tenant_id, conversation_id)
        if c is None:
            return None
        view = dict(c.model_dump(mode="json", include={"conversation_id", "channel_id", "status", "routing",
                                                       "campaign_id", "assignee", "origin"}))
        if self._sentiment is not None:  # conditions on conversation.sentiment.label / .score / .trend
            view["sentiment"] = self._sentiment(tenant_id, conversation_id)
        return view

    def reach(self, tenant_id: str, *, contact_id: str | None, conversation_id: str | None, channel_id: str | None,
              contact_key: str | None) -> Reach | None:
        if conversation_id:
            c = self._conversations.get(tenant_id, conversation_id)
            if c is not None:
                channel_id, contact_key = c.channel_id, c.contact_key
        if channel_id and contact_key:
            found = self._thread_reach(tenant_id, channel_id, contact_key, conversation_id)
            return found[0] if found else None
        contact = self._contact(tenant_id, contact_id) if contact_id else None
        if contact is None:
            return None
        candidates: list[tuple[str, str]] = []
        for identity in contact.identities:
            if identity.channel_id and (channel_id is None or identity.channel_id == channel_id):
                candidates.append((identity.channel_id, identity.value))
        if channel_id and not candidates:
            channel = self._directory.get_channel(channel_id)
            kind = getattr(channel, "kind", None)
            if channel is not None and channel.tenant_id == tenant_id:
                values = contact.identity_values(kind) if kind in ("whatsapp", "telegram", "messenger",
                                                                   "instagram") else []
                if kind in ("whatsapp", "sms") and not values:
                    values = [p.lstrip("+") if kind == "whatsapp" else p for p in contact.phones]
                candidates = [(channel_id, v) for v in values]
        best: Reach | None = None
        best_at: datetime | None = None
        for cid, key in candidates:
            found = self._thread_reach(tenant_id, cid, key, None)
            if found is None:
                continue
            reach, thread = found
            at = thread.last_inbound_at if thread else None
            if best is None or (at and (best_at is None or at > best_at)):
                best, best_at = reach, at
        return best

    def _thread_reach(self, tenant_id: str, channel_id: str, contact_key: str, conversation_id: str | None
                      ) -> tuple[Reach, Any | None] | None:
        """The reach of a thread of this tenant's channel, with the thread (None when it has none yet)."""
        channel = self._directory.get_channel(channel_id)
        if channel is None or channel.tenant_id != tenant_id:
            return None
        thread = self._threads.get_thread(tenant_id, channel_id, contact_key)
        return Reach(channel_id=channel_id, contact_key=contact_key,
                     address=thread.address if thread else contact_key,
                     conversation_id=conversation_id or (thread.conversation_id if thread else None)), thread

    def campaign_open(self, tenant_id: str, campaign_id: str, at: datetime) -> bool | None:
        campaign = self._center.get_campaign(tenant_id, campaign_id)
        return is_open(campaign.schedule, at) if campaign else None

    def campaign_next_open(self, tenant_id: str, campaign_id: str, at: datetime) -> datetime | None:
        campaign = self._center.get_campaign(tenant_id, campaign_id)
        return next_open(campaign.schedule, at) if campaign else None

    def segment_contacts(self, tenant_id: str, segment_id: str) -> list[str]:
        predicate = self._segments.predicate(tenant_id, segment_id)
        now = self._now()
        return [c.contact_id for c in self._contacts.iter_all(tenant_id)
                if c.merged_into is None and predicate(c, now)]

    # -- doing --------------------------------------------------------------------------------------------------
    def send(self, tenant_id: str, reach: Reach, content: dict[str, Any], *, request_id: str, origin: str) -> None:
        request = OutboundRequest.model_validate({
            "request_id": request_id, "tenant_id": tenant_id, "channel_id": reach.channel_id,
            "contact_key": reach.contact_key, "to": reach.address, "content": content, "origin": origin})
        self._outbound.enqueue(request, group_id=thread_group_id(tenant_id, reach.channel_id, reach.contact_key),
                               dedup_id=dedup_id(reach.channel_id, request_id))

    def assign(self, tenant_id: str, conversation_id: str, step: AssignStep, *, key: str) -> dict[str, Any]:
        actor = "system"
        if step.agent_id and step.strategy == "campaign":
            try:
                c = self._routing.assign(tenant_id, conversation_id, step.agent_id, actor=actor, reason="manual")
            except Conflict as exc:
                if not step.campaign_id:
                    return {"status": "not_assigned", "reason": str(exc)}
            else:
                return {"status": "assigned", "agent_id": c.assignee, "campaign_id": c.campaign_id}
        if step.strategy != "campaign":
            picked = self._pick_member(tenant_id, str(step.campaign_id), step.strategy, key)
            if picked is not None:
                try:
                    c = self._routing.assign(tenant_id, conversation_id, picked.user_id, actor=actor,
                                             reason="manual")
                    return {"status": "assigned", "agent_id": c.assignee, "agent_name": picked.name,
                            "campaign_id": c.campaign_id, "strategy": step.strategy}
                except Conflict:
                    pass  # taken meanwhile: the campaign's queue decides
        result = self._routing.route(tenant_id, conversation_id, team=step.campaign_id, skills=[],
                                     priority=step.priority, reason="workflow", summary=None, event_key=key)
        out: dict[str, Any] = {"status": result.outcome, "campaign_id": result.campaign_id}
        if result.position is not None:
            out["position"] = result.position
        if result.assignee:
            out["agent_id"] = result.assignee
        return out

    def _pick_member(self, tenant_id: str, campaign_id: str, strategy: str, key: str) -> Any | None:
        campaign = self._center.get_campaign(tenant_id, campaign_id)
        if campaign is None or not campaign.enabled or not is_open(campaign.schedule, self._now()):
            return None
        members = set(campaign.members)
        eligible = [a for a in self._center.list_agents(tenant_id)
                    if a.user_id in members and a.status == "online" and a.active < a.cap_for(campaign)]
        if not eligible:
            return None
        if strategy == "least_busy":
            return min(eligible, key=lambda a: (a.active, a.last_assigned_ms, a.user_id))
        chosen = self._round_robin(tenant_id, f"campaign:{campaign_id}", [a.user_id for a in eligible])
        return next(a for a in eligible if a.user_id == chosen)

    def update_contact(self, tenant_id: str, contact_id: str, *, fields: dict[str, Any], add_tags: list[str],
                       remove_tags: list[str], lifecycle: str | None, actor: str) -> None:
        patch: dict[str, Any] = {}
        if fields:
            patch["fields"] = fields
        if lifecycle:
            patch["lifecycle"] = lifecycle
        current: Contact | None = None
        if patch:
            current = self._contacts.update(tenant_id, contact_id, ContactPatch.model_validate(patch), actor=actor)
        if add_tags or remove_tags:
            current = current or self._contacts.get(tenant_id, contact_id)
            if set(add_tags) - set(current.tags) or set(remove_tags) & set(current.tags):
                self._contacts.change_tags(tenant_id, contact_id, add=add_tags, remove=remove_tags, actor=actor)

    def add_note(self, tenant_id: str, conversation_id: str, text: str, *, note_id: str, actor: str) -> None:
        c = self._routing.conversation(tenant_id, conversation_id)
        if self._notes.add_note(c, note_id=note_id, text=text, author=actor, at=self._now()):
            self._events.publish([ConversationNoteAdded.of(c, note_id=note_id, text=text, author=actor)])
        # else: a re-run of this step found its note (the first run published the event, unless it died between)

    def record_csat(self, tenant_id: str, conversation_id: str, score: int, *, comment: str | None, csat_id: str,
                    actor: str) -> None:
        c = self._routing.conversation(tenant_id, conversation_id)
        self._events.publish([CsatRecorded.of(c, score=score, comment=comment, csat_id=csat_id, by=actor,
                                         at=self._now())])

    def close(self, tenant_id: str, conversation_id: str, *, category: str | None, note: str | None,
              actor: str) -> None:
        close_note = CloseNote(category=category, text=note) if category else None
        self._routing.close(tenant_id, conversation_id, actor=actor, note=close_note)

    def bot(self, tenant_id: str, conversation_id: str, *, action: str) -> None:
        self._bots.set_paused(tenant_id, conversation_id, None if action == "on" else "workflow")

    def start_bot_flow(self, tenant_id: str, reach: Reach, *, conversation_id: str, contact_id: str | None,
                       flow: str, key: str, actor: str) -> dict[str, Any]:
        """Ask the channel's bot (the bot turn function, through the bus) to start `flow` now. The flow is checked
        against the bot version answering the channel, so a typo fails the step instead of being lost."""
        from shared.errors import NotFound
        from shared.services.bot_loader import load_version

        binding = self._bots.bot_for_channel(tenant_id, reach.channel_id)
        if binding is None:
            raise NotFound(f"no bot answers channel {reach.channel_id}")
        stored = self._bots.get_version(tenant_id, *binding)
        if stored is None:
            raise NotFound(f"bot {binding[0]} version {binding[1]} is not readable")
        flows = load_version(stored).flows
        if flow not in flows:
            raise NotFound(f"bot {binding[0]} (version {binding[1]}) has no flow '{flow}'; "
                           f"its flows: {', '.join(sorted(flows))}")
        self._events.publish([BotFlowRequested(
            tenant_id=tenant_id, channel_id=reach.channel_id, conversation_id=conversation_id, contact_id=contact_id,
            contact_key=reach.contact_key, reply_to_address=reach.address, flow=flow, request_id=key,
            requested_by=actor)])
        return {"bot": "start_flow", "bot_id": binding[0], "version": binding[1], "flow": flow}

    def send_email(self, tenant_id: str, *, to: str, subject: str, body: str) -> str:
        return self._mailer.send(tenant_id=tenant_id, to=to, subject=subject, body=body, sender=self._sender)

    def http(self, tenant_id: str, step: HttpRequestStep, *, variables: Mapping[str, Any],
             contact: Mapping[str, Any] | None, key: str) -> dict[str, Any]:
        spec = step.integration()
        if not any(h.lower() == "idempotency-key" for h in spec.headers):
            spec = spec.model_copy(update={"headers": {**spec.headers, "Idempotency-Key": key}})
        result = self._integrations().call(tenant_id, spec, variables=variables, contact=contact)
        return {"ok": result.ok, "status": result.status, "outputs": result.outputs, "error": result.error,
                "duration_ms": result.duration_ms}
