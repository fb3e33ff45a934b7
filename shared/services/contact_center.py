"""The contact center's API side: campaigns, agents' presence, agents' work on conversations, supervisors' live
view and silent monitoring, transcripts. Who holds a conversation changes only through RoutingService."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, TemplateRequired, WindowClosed
from shared.models.contact_center import (
    AgentLive,
    AgentMe,
    AgentPresence,
    AssignedConversation,
    Campaign,
    CampaignInput,
    CampaignLive,
    CampaignStats,
    CapacityInput,
    CloseNote,
    ContactCenterSettings,
    CsatInput,
    QueueEntry,
    ReplyInput,
    StatusChange,
    StatusInput,
    Transcript,
    TranscriptEntry,
    TranscriptSummary,
    WaitingLive,
)
from shared.models.conversations import Conversation, ConversationDetail, MessageView, SendAccepted
from shared.models.crm import Contact
from shared.models.envelopes import MarkReadContent, MediaContent, OutboundContent, OutboundRequest
from shared.models.events import (
    AgentCapacityChanged,
    AgentNotified,
    AgentStatusChanged,
    ConversationNoteAdded,
    CsatRecorded,
)
from shared.models.files import FileDownload
from shared.models.tenancy import Principal
from shared.ports import ChannelDirectory, Clock, EventPublisher, OutboundQueue, Page, Thread
from shared.services.queue_keys import dedup_id, thread_group_id
from shared.services.routing import RoutingService, render_message
from shared.services.schedule import is_open, local_day
from shared.services.send_policy import Refusal, check_send

_CONTENT: TypeAdapter[Any] = TypeAdapter(OutboundContent)
SUPERVISING_ROLES = ("supervisor", "admin")


class CenterStore(Protocol):
    def put_campaign(self, campaign: Campaign, *, expected_version: int | None) -> bool: ...

    def get_campaign(self, tenant_id: str, campaign_id: str) -> Campaign | None: ...

    def list_campaigns(self, tenant_id: str) -> list[Campaign]: ...

    def get_settings(self, tenant_id: str) -> ContactCenterSettings: ...

    def put_settings(self, tenant_id: str, settings: ContactCenterSettings) -> None: ...

    def get_agent(self, tenant_id: str, user_id: str) -> AgentPresence | None: ...

    def list_agents(self, tenant_id: str) -> list[AgentPresence]: ...

    def set_status(self, tenant_id: str, user_id: str, change: StatusChange, *, name: str | None
                   ) -> AgentPresence | None: ...

    def set_capacity(self, tenant_id: str, user_id: str, max_concurrent: int | None, *, at: datetime) -> None: ...

    def status_timeline(self, tenant_id: str, user_id: str, *, since: datetime, until: datetime
                        ) -> list[StatusChange]: ...

    def agent_conversations(self, tenant_id: str, user_id: str) -> list[AssignedConversation]: ...

    def queue_entries(self, tenant_id: str, campaign_id: str) -> list[QueueEntry]: ...

    def stats(self, tenant_id: str, day: str, scopes: Sequence[str]) -> dict[str, dict[str, int]]: ...

    def add_note(self, c: Conversation, *, note_id: str, text: str, author: str, at: datetime) -> bool:
        """False when a note with this id is there already."""
        ...

    def mark_first_response(self, c: Conversation, at: datetime) -> bool: ...

    def search_conversations(self, tenant_id: str, *, since: datetime, until: datetime, filters: dict[str, str],
                             limit: int, cursor: str | None) -> Page: ...

    def timeline_extras(self, c: Conversation) -> list[dict[str, Any]]: ...


class MessageReader(Protocol):
    def messages(self, conversation: Conversation, *, limit: int = 200) -> list[MessageView]: ...


class ThreadReader(Protocol):
    def get_thread(self, tenant_id: str, channel_id: str, contact_key: str) -> Thread | None: ...


class ContactReader(Protocol):
    def get_contact(self, tenant_id: str, contact_id: str) -> Contact | None: ...


class UserLookup(Protocol):
    def get_user(self, tenant_id: str, user_id: str) -> Any | None: ...


MEDIA_LINK_TTL_S = 300  # customers' media: a link for the screen that shows it, not to keep


class FileMedia(Protocol):
    def as_media_content(self, tenant_id: str, file_id: str, caption: str | None = None) -> MediaContent: ...

    def object_download(self, key: str, *, download_name: str | None = None,
                        expires_s: int | None = None) -> FileDownload: ...


class ContactCenterService:
    def __init__(self, *, store: CenterStore, routing: RoutingService, messages: MessageReader,
                 threads: ThreadReader, contacts: ContactReader, users: UserLookup, outbound: OutboundQueue,
                 events: EventPublisher, clock: Clock, channels: ChannelDirectory, files: FileMedia,
                 service_window: timedelta = timedelta(hours=24)) -> None:
        self._files = files
        self._channels = channels
        self._store = store
        self._routing = routing
        self._messages = messages
        self._threads = threads
        self._contacts = contacts
        self._users = users
        self._outbound = outbound
        self._events = events
        self._clock = clock
        self._window = service_window

    @property
    def routing(self) -> RoutingService:
        return self._routing

    # -- campaigns ---------------------------------------------------------------------------------------------
    def _check_campaign(self, tenant_id: str, data: CampaignInput) -> None:
        unknown = [m for m in data.members if self._users.get_user(tenant_id, m) is None]
        if unknown:
            raise InvalidInput(f"unknown user(s) in members: {', '.join(unknown[:10])}")
        if data.fallback:
            other = next((c for c in self._store.list_campaigns(tenant_id)
                          if c.fallback and c.campaign_id != data.campaign_id), None)
            if other is not None:
                raise Conflict(f"campaign {other.campaign_id} is already the fallback; unset it first")

    def create_campaign(self, tenant_id: str, data: CampaignInput) -> Campaign:
        self._check_campaign(tenant_id, data)
        now = self._clock.now()
        campaign = Campaign(**data.model_dump(), tenant_id=tenant_id, version=1, created_at=now, updated_at=now)
        if not self._store.put_campaign(campaign, expected_version=None):
            raise Conflict(f"campaign {data.campaign_id} already exists")
        return campaign

    def replace_campaign(self, tenant_id: str, campaign_id: str, data: CampaignInput) -> Campaign:
        current = self.get_campaign(tenant_id, campaign_id)
        if data.campaign_id != campaign_id:
            raise InvalidInput("campaign_id in the body must match the URL")
        self._check_campaign(tenant_id, data)
        updated = Campaign(**data.model_dump(), tenant_id=tenant_id, version=current.version + 1,
                           created_at=current.created_at, updated_at=self._clock.now())
        if not self._store.put_campaign(updated, expected_version=current.version):
            raise Conflict("the campaign changed meanwhile; read it again")
        if updated.enabled:  # more agents, a bigger cap or new hours may let the queue move
            self._routing.drain(tenant_id, updated)
        return updated

    def get_campaign(self, tenant_id: str, campaign_id: str) -> Campaign:
        campaign = self._store.get_campaign(tenant_id, campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_id}")
        return campaign

    def list_campaigns(self, tenant_id: str) -> list[Campaign]:
        return sorted(self._store.list_campaigns(tenant_id), key=lambda c: c.campaign_id)

    def settings(self, tenant_id: str) -> ContactCenterSettings:
        return self._store.get_settings(tenant_id)

    def put_settings(self, tenant_id: str, settings: ContactCenterSettings) -> ContactCenterSettings:
        self._store.put_settings(tenant_id, settings)
        return settings

    # -- agents --------------------------------------------------------------------------------------------------
    def _user(self, tenant_id: str, user_id: str) -> Any:
        user = self._users.get_user(tenant_id, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        return user

    def set_status(self, tenant_id: str, user_id: str, data: StatusInput, *, by: str) -> AgentPresence:
        user = self._user(tenant_id, user_id)
        if data.break_type is not None:
            allowed = self._store.get_settings(tenant_id).break_types
            if data.break_type not in allowed:
                raise InvalidInput(f"unknown break type '{data.break_type}'; one of: {', '.join(allowed)}")
        now = self._clock.now()
        before = self._store.get_agent(tenant_id, user_id)
        if before is not None and before.status == data.status and before.break_type == data.break_type:
            return before
        change = StatusChange(user_id=user_id, status=data.status, break_type=data.break_type,
                              previous_status=before.status if before else None, at=now, by=by)
        self._store.set_status(tenant_id, user_id, change, name=getattr(user, "name", None) or user.email)
        self._events.publish([AgentStatusChanged(
            tenant_id=tenant_id, user_id=user_id, status=data.status, break_type=data.break_type,
            previous_status=change.previous_status, at=now.isoformat(), by=by)])
        presence = self._store.get_agent(tenant_id, user_id)
        assert presence is not None
        return presence

    def set_capacity(self, tenant_id: str, user_id: str, data: CapacityInput) -> AgentPresence:
        self._user(tenant_id, user_id)
        self._store.set_capacity(tenant_id, user_id, data.max_concurrent, at=self._clock.now())
        self._events.publish([AgentCapacityChanged(tenant_id=tenant_id, user_id=user_id,
                                                   max_concurrent=data.max_concurrent)])
        presence = self._store.get_agent(tenant_id, user_id)
        assert presence is not None
        return presence

    def me(self, tenant_id: str, user_id: str) -> AgentMe:
        presence = self._store.get_agent(tenant_id, user_id) or AgentPresence(
            user_id=user_id, tenant_id=tenant_id, since=self._clock.now())
        campaigns = [c.campaign_id for c in self.list_campaigns(tenant_id) if user_id in c.members]
        return AgentMe(presence=presence, conversations=self._store.agent_conversations(tenant_id, user_id),
                       campaigns=campaigns, break_types=self._store.get_settings(tenant_id).break_types)

    def agents(self, tenant_id: str) -> list[AgentPresence]:
        return sorted(self._store.list_agents(tenant_id), key=lambda a: a.user_id)

    def status_timeline(self, tenant_id: str, user_id: str, *, since: datetime, until: datetime
                        ) -> list[StatusChange]:
        self._user(tenant_id, user_id)
        return self._store.status_timeline(tenant_id, user_id, since=since, until=until)

    def my_conversations(self, tenant_id: str, user_id: str) -> list[Conversation]:
        out = []
        for link in self._store.agent_conversations(tenant_id, user_id):
            found = self._routing.conversation(tenant_id, link.conversation_id)
            out.append(found)
        return sorted(out, key=lambda c: c.assigned_at or c.opened_at)

    # -- permissions -----------------------------------------------------------------------------------------------
    @staticmethod
    def user_id(principal: Principal) -> str | None:
        return principal.principal_id.removeprefix("user:") if principal.kind == "user" else None

    @staticmethod
    def supervises(principal: Principal) -> bool:
        return principal.kind == "api_key" and principal.allows("admin") or (
            principal.kind == "user" and principal.role in SUPERVISING_ROLES)

    def _may_work(self, principal: Principal, c: Conversation, *, taking: bool = False) -> None:
        """Agents work on the conversations they hold (and take waiting ones of their campaigns); supervisors,
        admins and API keys (integrations, external desks) on any of the tenant's."""
        if principal.kind != "user" or principal.role in SUPERVISING_ROLES:
            return
        me = self.user_id(principal)
        if c.routing == "assigned" and c.assignee == me:
            return
        if taking and c.routing in ("waiting", "overflow", "out_of_hours", "none"):
            if c.campaign_id is None:
                return
            campaign = self._store.get_campaign(c.tenant_id, c.campaign_id)
            if campaign is not None and me in campaign.members:
                return
        raise Forbidden("agents work on the conversations assigned to them")

    def require_supervisor(self, principal: Principal) -> None:
        if not self.supervises(principal):
            raise Forbidden("this needs the supervisor or admin role (or an admin API key)")

    # -- work on a conversation ----------------------------------------------------------------------------------
    def assign(self, principal: Principal, conversation_id: str, agent_id: str | None) -> Conversation:
        tenant_id = principal.tenant_id or ""
        c = self._routing.conversation(tenant_id, conversation_id)
        me = self.user_id(principal)
        target = agent_id or me
        if target is None:
            raise InvalidInput("give agent_id: an API key is not an agent")
        if target != me:
            self.require_supervisor(principal)
        else:
            self._may_work(principal, c, taking=True)
        self._user(tenant_id, target)
        return self._routing.assign(tenant_id, conversation_id, target, actor=principal.principal_id,
                                    reason="take" if target == me else "manual")

    def unassign(self, principal: Principal, conversation_id: str) -> Conversation:
        tenant_id = principal.tenant_id or ""
        self._may_work(principal, self._routing.conversation(tenant_id, conversation_id))
        return self._routing.unassign(tenant_id, conversation_id, actor=principal.principal_id)

    def transfer(self, principal: Principal, conversation_id: str, *, agent_id: str | None, campaign_id: str | None,
                 note: str | None) -> Conversation:
        tenant_id = principal.tenant_id or ""
        c = self._routing.conversation(tenant_id, conversation_id)
        self._may_work(principal, c)
        if agent_id:
            self._user(tenant_id, agent_id)
        if note:
            self.add_note(principal, conversation_id, note)
        return self._routing.transfer(tenant_id, conversation_id, agent_id=agent_id, campaign_id=campaign_id,
                                      actor=principal.principal_id)

    def close(self, principal: Principal, conversation_id: str, note: Any | None) -> Conversation:
        tenant_id = principal.tenant_id or ""
        self._may_work(principal, self._routing.conversation(tenant_id, conversation_id))
        return self._routing.close(tenant_id, conversation_id, actor=principal.principal_id, note=note)

    def reopen(self, principal: Principal, conversation_id: str) -> Conversation:
        tenant_id = principal.tenant_id or ""
        c = self._routing.conversation(tenant_id, conversation_id)
        me = self.user_id(principal)
        if principal.kind == "user" and principal.role not in SUPERVISING_ROLES and me not in c.agents:
            raise Forbidden("agents reopen conversations they handled")
        return self._routing.reopen(tenant_id, conversation_id, actor=principal.principal_id, agent_id=me)

    def record_csat(self, principal: Principal, conversation_id: str, data: CsatInput) -> dict[str, Any]:
        """Publish the conversation's CSAT answer (reports count it for the conversation's campaign and agent)."""
        tenant_id = principal.tenant_id or ""
        c = self._routing.conversation(tenant_id, conversation_id)
        now = self._clock.now()
        csat_id = f"api_{data.answer_id}" if data.answer_id else f"csat_{int(now.timestamp() * 1000):013d}"
        self._events.publish([CsatRecorded.of(c, score=data.score, comment=data.comment, csat_id=csat_id,
                                         by=principal.principal_id, at=now)])
        return {"conversation_id": conversation_id, "score": data.score, "csat_id": csat_id}

    def add_note(self, principal: Principal, conversation_id: str, text: str) -> str:
        tenant_id = principal.tenant_id or ""
        c = self._routing.conversation(tenant_id, conversation_id)
        self._may_work(principal, c)
        now = self._clock.now()
        note_id = f"note_{int(now.timestamp() * 1000):013d}{secrets.token_hex(4)}"
        self._store.add_note(c, note_id=note_id, text=text, author=principal.principal_id, at=now)
        self._events.publish([ConversationNoteAdded.of(c, note_id=note_id, text=text, author=principal.principal_id)])
        return note_id

    def reply(self, principal: Principal, conversation_id: str, data: ReplyInput, *, request_id: str
              ) -> SendAccepted:
        tenant_id = principal.tenant_id or ""
        c = self._routing.conversation(tenant_id, conversation_id)
        if c.status == "closed":
            raise Conflict("the conversation is closed; reopen it to reply")
        self._may_work(principal, c)
        if data.snippet is not None:
            content: Any = self._snippet(principal, c, data.snippet)
        elif data.file_id is not None:
            content = self._files.as_media_content(tenant_id, data.file_id, data.caption)
        else:
            try:
                content = _CONTENT.validate_python(data.content)
            except ValidationError as exc:
                raise InvalidInput("content is not a valid message",
                                   errors=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]) from None
            if content.type == "mark_read":
                raise InvalidInput("use POST /v1/conversations/{id}/read to mark messages read")
        thread = self._threads.get_thread(tenant_id, c.channel_id, c.contact_key)
        now = self._clock.now()
        channel = self._channels.get_channel(c.channel_id)
        kind = channel.kind if channel else "whatsapp"
        # An agent is a person: on Messenger/Instagram the reply may use the HUMAN_AGENT tag (7 days).
        refusal = check_send(content, last_inbound_at=thread.last_inbound_at if thread else None, now=now,
                             window=self._window, kind=kind, human_agent=True)
        if refusal is Refusal.TEMPLATE_REQUIRED:
            raise TemplateRequired("the 24-hour customer-service window is closed: only a template can be sent")
        if refusal is Refusal.WINDOW_CLOSED:
            raise WindowClosed("more than 7 days since the customer's last message: wait for them to write again")
        if refusal is Refusal.NOT_ON_CHANNEL:
            raise InvalidInput(f"templates are WhatsApp-only; this conversation is on {kind}")
        request = OutboundRequest(
            request_id=f"conv:{tenant_id}:{conversation_id}:{data.client_reference}" if data.client_reference
            else request_id, tenant_id=tenant_id, channel_id=c.channel_id, contact_key=c.contact_key,
            to=thread.address if thread else c.contact_key, content=content, origin=principal.principal_id,
            human_agent=True)
        self._outbound.enqueue(request, group_id=thread_group_id(tenant_id, c.channel_id, c.contact_key),
                               dedup_id=dedup_id(c.channel_id, request.request_id))
        if c.first_response_at is None and c.routing in ("assigned", "desk"):
            self._store.mark_first_response(c, now)
        return SendAccepted(message_id=request.message_id, channel_id=c.channel_id, contact_id=c.contact_id or "",
                            to=request.to)

    def _snippet(self, principal: Principal, c: Conversation, key: str) -> Any:
        campaigns = [self._store.get_campaign(c.tenant_id, c.campaign_id)] if c.campaign_id else []
        me = self.user_id(principal)
        campaigns += [x for x in self._store.list_campaigns(c.tenant_id) if me and me in x.members]
        snippet, campaign = next(((x.snippet(key), x) for x in campaigns if x is not None and x.snippet(key)),
                                 (None, None))
        if snippet is None or campaign is None:
            raise NotFound(f"no snippet '{key}' in this conversation's campaign")
        contact = self._contacts.get_contact(c.tenant_id, c.contact_id) if c.contact_id else None
        agent = self._store.get_agent(c.tenant_id, me) if me else None
        values = {"contact": {"name": (contact.name if contact else None) or "", "fields": contact.fields
                              if contact else {}},
                  "agent": {"name": (agent.name if agent else None) or ""},
                  "campaign": {"name": campaign.name}}
        return _CONTENT.validate_python({"type": "text", "body": render_message(snippet.text, values)})

    def media_link(self, tenant_id: str, conversation_id: str, message_id: str) -> FileDownload:
        """A short-lived link to the stored bytes of a message's media (an image, a voice note, a document the
        customer sent), for agents' and supervisors' screens."""
        c = self._routing.conversation(tenant_id, conversation_id)
        found = next((m for m in self._messages.messages(c, limit=1000)
                      if message_id in (m.message_id, m.provider_message_id)), None)
        if found is None:
            raise NotFound(f"no message {message_id} in conversation {conversation_id}")
        if not found.media_stored or not found.media_key:
            raise NotFound("this message has no stored media (none, not fetched yet, or it failed)")
        name = (found.media or {}).get("filename")
        return self._files.object_download(found.media_key, expires_s=MEDIA_LINK_TTL_S,
                                           download_name=name if isinstance(name, str) else None)

    def mark_read(self, principal: Principal, conversation_id: str) -> int:
        """The agent read the conversation: blue ticks for the customer's last message (WhatsApp marks every
        earlier message read too). Supervisors' silent view never calls this."""
        tenant_id = principal.tenant_id or ""
        c = self._routing.conversation(tenant_id, conversation_id)
        self._may_work(principal, c)
        last = next((m for m in reversed(self._messages.messages(c, limit=500)) if m.direction == "in"), None)
        if last is None or c.status == "closed":
            return 0
        thread = self._threads.get_thread(tenant_id, c.channel_id, c.contact_key)
        request = OutboundRequest(request_id=f"read:{c.channel_id}:{last.message_id}", tenant_id=tenant_id,
                                  channel_id=c.channel_id, contact_key=c.contact_key,
                                  to=thread.address if thread else c.contact_key,
                                  content=MarkReadContent(message_id=last.message_id), origin=principal.principal_id)
        self._outbound.enqueue(request, group_id=thread_group_id(tenant_id, c.channel_id, c.contact_key),
                               dedup_id=dedup_id(c.channel_id, request.request_id))
        return 1

    # -- supervisors ----------------------------------------------------------------------------------------------
    def live(self, tenant_id: str, campaign_id: str) -> CampaignLive:
        campaign = self.get_campaign(tenant_id, campaign_id)
        now = self._clock.now()
        settings = self._store.get_settings(tenant_id)
        agent_day = local_day(settings.time_zone, now).isoformat()
        day = local_day(campaign.schedule.time_zone, now)
        presences = {a.user_id: a for a in self._store.list_agents(tenant_id)}
        counters = self._store.stats(tenant_id, agent_day, [f"A#{m}" for m in campaign.members])
        campaign_counters = self._store.stats(tenant_id, day.isoformat(), [f"C#{campaign_id}"]).get(
            f"C#{campaign_id}", {})
        agents = []
        long_chats: list[str] = []
        for member in campaign.members:
            p = presences.get(member) or AgentPresence(user_id=member, tenant_id=tenant_id,
                                                       since=datetime.fromtimestamp(0, now.tzinfo))
            mine = counters.get(f"A#{member}", {})
            agents.append(AgentLive(user_id=member, name=p.name, status=p.status, break_type=p.break_type,
                                    since=p.since, seconds_in_status=max(0, int((now - p.since).total_seconds())),
                                    active=p.active, cap=p.cap_for(campaign), completed_in=mine.get("completed_in", 0),
                                    completed_out=mine.get("completed_out", 0)))
            if p.active:
                for link in self._store.agent_conversations(tenant_id, member):
                    if (now - link.assigned_at).total_seconds() > campaign.max_duration_s:
                        long_chats.append(link.conversation_id)
        waiting = self._waiting(tenant_id, campaign_id, now)
        return CampaignLive(campaign_id=campaign_id, name=campaign.name, enabled=campaign.enabled,
                            open_now=is_open(campaign.schedule, now), agents=agents, waiting=waiting,
                            long_chats=long_chats, stats=campaign_stats(day, campaign_counters))

    def _waiting(self, tenant_id: str, campaign_id: str, now: datetime) -> list[WaitingLive]:
        """A campaign's queue in the order it is served, with each customer's wait so far."""
        entries = sorted(self._store.queue_entries(tenant_id, campaign_id), key=lambda e: e.sort_key)
        return [WaitingLive(conversation_id=e.conversation_id, campaign_id=campaign_id, position=i + 1,
                            channel_id=e.channel_id, contact_id=e.contact_id, priority=e.priority,
                            queued_at=e.queued_at, wait_s=max(0, int((now - e.queued_at).total_seconds())),
                            window_closes_at=e.window_closes_at, reason=e.reason, summary=e.summary)
                for i, e in enumerate(entries)]

    def my_queue(self, tenant_id: str, user_id: str) -> list[WaitingLive]:
        """The customers waiting in the campaigns the agent is a member of (enabled ones), longest wait first:
        what the agent may take. Positions are per campaign."""
        now = self._clock.now()
        waiting = [w for c in self.list_campaigns(tenant_id) if c.enabled and user_id in c.members
                   for w in self._waiting(tenant_id, c.campaign_id, now)]
        return sorted(waiting, key=lambda w: (-w.wait_s, w.conversation_id))

    def spy(self, tenant_id: str, agent_id: str, *, limit: int = 200) -> list[ConversationDetail]:
        """An agent's live conversations, read without a trace: no read receipt, no event, no write."""
        self._user(tenant_id, agent_id)
        out = []
        now = self._clock.now()
        for link in self._store.agent_conversations(tenant_id, agent_id):
            c = self._routing.conversation(tenant_id, link.conversation_id)
            thread = self._threads.get_thread(tenant_id, c.channel_id, c.contact_key)
            closes = thread.last_inbound_at + self._window if thread and thread.last_inbound_at else None
            out.append(ConversationDetail(conversation=c, messages=self._messages.messages(c, limit=limit),
                                          window_open=bool(closes and closes > now), window_closes_at=closes))
        return out

    def notify_agent(self, principal: Principal, agent_id: str, *, kind: str, text: str | None) -> AgentPresence:
        """A supervisor's action on an agent: message them, pause them (a supervisor break) or log them out."""
        tenant_id = principal.tenant_id or ""
        self.require_supervisor(principal)
        self._user(tenant_id, agent_id)
        presence: AgentPresence | None
        if kind == "paused":
            presence = self.set_status(tenant_id, agent_id, StatusInput(status="break", break_type=_pause_type(
                self._store.get_settings(tenant_id))), by=principal.principal_id)
        elif kind == "logout":
            presence = self.set_status(tenant_id, agent_id, StatusInput(status="offline"), by=principal.principal_id)
        else:
            presence = self._store.get_agent(tenant_id, agent_id)
        self._events.publish([AgentNotified(tenant_id=tenant_id, user_id=agent_id, kind=kind, text=text,
                                            by=principal.principal_id)])
        return presence or AgentPresence(user_id=agent_id, tenant_id=tenant_id, since=self._clock.now())

    # -- transcripts -------------------------------------------------------------------------------------------------
    def search_transcripts(self, tenant_id: str, *, since: datetime, until: datetime, filters: dict[str, str],
                           limit: int, cursor: str | None) -> tuple[list[TranscriptSummary], str | None]:
        if until < since:
            raise InvalidInput("`to` is before `from`")
        if until - since > timedelta(days=366):
            raise InvalidInput("search at most 366 days at once")
        page = self._store.search_conversations(tenant_id, since=since, until=until, filters=filters, limit=limit,
                                                cursor=cursor)
        return [summary_of(c) for c in page.items], page.cursor

    def transcript(self, tenant_id: str, conversation_id: str) -> Transcript:
        c = self._routing.conversation(tenant_id, conversation_id)
        contact = self._contacts.get_contact(tenant_id, c.contact_id) if c.contact_id else None
        names: dict[str, str | None] = {}
        entries: list[TranscriptEntry] = []
        for m in self._messages.messages(c, limit=5000):
            author = "customer" if m.direction == "in" else (m.origin or "api")
            entries.append(TranscriptEntry(
                at=m.at, kind="message", direction=m.direction, author=_author_kind(author),
                author_name=self._name(tenant_id, author, names) if m.direction == "out" else
                (contact.name if contact else None), type=m.type, text=m.text, status=m.status, media=m.media,
                error=m.error_title))
        for item in self._store.timeline_extras(c):
            author = str(item.get("author") or "system")
            entries.append(TranscriptEntry(
                at=datetime.fromisoformat(str(item["created_at"]).replace("Z", "+00:00")),
                kind="note" if item.get("item_kind") == "note" else "event", author=_author_kind(author),
                author_name=self._name(tenant_id, author, names), type=str(item.get("kind") or "note"),
                text=item.get("text")))
        entries.sort(key=lambda e: e.at)
        return Transcript(summary=summary_of(c), contact_name=contact.name if contact else None, entries=entries)

    def _name(self, tenant_id: str, author: str, cache: dict[str, str | None]) -> str | None:
        if not author.startswith("user:"):
            return None
        if author not in cache:
            user = self._users.get_user(tenant_id, author.removeprefix("user:"))
            cache[author] = (getattr(user, "name", None) or getattr(user, "email", None)) if user else None
        return cache[author]


def _author_kind(origin: str) -> str:
    if origin.startswith("bot:") or origin == "bot":
        return "bot"
    return origin


def _pause_type(settings: ContactCenterSettings) -> str:
    return "pausa_supervisor" if "pausa_supervisor" in settings.break_types else settings.break_types[0]


def summary_of(c: Conversation) -> TranscriptSummary:
    return TranscriptSummary(conversation_id=c.conversation_id, channel_id=c.channel_id, contact_id=c.contact_id,
                             contact_key=c.contact_key, status=c.status, origin=c.origin, opened_at=c.opened_at,
                             closed_at=c.closed_at, campaign_id=c.campaign_id, agents=c.agents,
                             closing_note=CloseNote.model_validate(c.closing_note) if c.closing_note else None)


def campaign_stats(day: Any, counters: dict[str, int]) -> CampaignStats:
    stats = CampaignStats(day=day, **{k: v for k, v in counters.items() if k in CampaignStats.model_fields})
    handled = stats.answered + stats.abandoned
    return stats.model_copy(update={
        "service_level_pct": round(100 * stats.answered_in_sla / handled, 1) if handled else None,
        "abandon_rate_pct": round(100 * stats.abandoned / handled, 1) if handled else None,
        "average_wait_s": round(stats.wait_ms_total / stats.answered / 1000, 1) if stats.answered else None})
