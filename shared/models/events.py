"""Domain events published to the EventBridge bus. The detail-type is the class name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.timestamps import iso_z


class TenantEvent(BaseModel):
    """Every event belongs to one tenant; integrator webhooks are routed by it."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str

    @property
    def detail_type(self) -> str:
        return type(self).__name__


class DomainEvent(TenantEvent):
    """An event about a conversation on one channel."""

    channel_id: str


class MessageReceived(DomainEvent):
    message_id: str  # provider message id (wamid)
    contact_key: str
    contact_id: str | None = None  # the CRM contact (None only when the contact could not be resolved)
    reply_to_address: str  # where a reply is addressed (wa_id or BSUID)
    conversation_id: str
    message_type: str
    text: str | None = None
    sent_at: str
    has_media: bool = False
    media: dict[str, Any] | None = None
    within_window: bool = True
    reply_id: str | None = None  # the id of the reply button / list row tapped (interactive replies)
    broadcast_id: str | None = None  # a reply to this broadcast (within its attribution window)
    start_flow: str | None = None  # the broadcast asks the bot to start this flow for the reply


class CommentReceived(DomainEvent):
    """A public comment on a Page post or Instagram media (answer it with one private reply)."""

    comment_id: str
    post_id: str | None = None
    author_id: str
    author_name: str | None = None
    text: str | None = None
    created_at: str


class ConversationOpened(DomainEvent):
    conversation_id: str
    contact_key: str
    contact_id: str | None = None
    opened_by_message_id: str
    opened_at: str


class MessageStatusChanged(DomainEvent):
    message_id: str  # our message id
    provider_message_id: str | None = None
    contact_key: str | None = None
    status: str
    previous_status: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    error_details: str | None = None
    at: str | None = None  # when the provider says it happened
    # WhatsApp's pricing block (on `sent` and on one of delivered/read): what Meta charges for the message
    pricing_model: str | None = None  # PMP (per message, since 2025-07-01) | CBP (legacy)
    pricing_type: str | None = None  # regular (billable) | free_customer_service | free_entry_point
    pricing_category: str | None = None  # marketing | utility | authentication | service | ...
    billable: bool | None = None

    @classmethod
    def of(cls, tenant_id: str, channel_id: str, update: Any, applied: Any, *, contact_key: str | None = None
           ) -> MessageStatusChanged:
        """The event of a status `update` (shared.models.messages.StatusUpdate) that moved a stored message
        (shared.ports.StatusApplied) forward; its first error, if any, and its pricing."""
        error = update.errors[0] if update.errors else None
        pricing = update.pricing
        return cls(tenant_id=tenant_id, channel_id=channel_id, message_id=applied.message_id,
                   provider_message_id=update.provider_message_id, contact_key=contact_key or applied.contact_key,
                   status=update.raw_status, previous_status=applied.previous_status,
                   error_code=error.code if error else None, error_title=error.title if error else None,
                   error_details=error.details if error else None,
                   at=iso_z(update.at),
                   pricing_model=pricing.pricing_model if pricing else None,
                   pricing_type=pricing.type if pricing else None,
                   pricing_category=pricing.category if pricing else None,
                   billable=pricing.billable if pricing else None)


class MessageSent(DomainEvent):
    """The provider accepted an outbound message (or, on web chat, it was stored for the widget)."""

    message_id: str  # our message id (out_...)
    provider_message_id: str | None = None
    contact_key: str
    origin: str  # who asked: user:<id> | key:<id> | bot:<id> | auto_reply | workflow:<id> | broadcast:<id> | system
    message_type: str  # text | template | image | interactive | ...
    sent_at: str


class ConversationClosed(DomainEvent):
    conversation_id: str
    contact_id: str | None = None
    contact_key: str | None = None  # the customer's address on the channel (usage: whose session ended)
    closed_at: str
    closed_by: str
    campaign_id: str | None = None  # the contact center's campaign, when people handled it
    assignee: str | None = None  # the agent (user id) or desk (desk:<campaign>) that held it
    note_category: str | None = None  # the closing note's category


class CsatRecorded(DomainEvent):
    """The customer rated the service of a conversation (1-5): by a workflow's record_csat step or the API."""

    conversation_id: str
    score: int
    csat_id: str  # the answer's id: the same answer recorded twice counts once; a new answer replaces the old
    comment: str | None = None
    campaign_id: str | None = None
    assignee: str | None = None
    recorded_at: str
    recorded_by: str

    @classmethod
    def of(cls, c: Any, *, score: int, comment: str | None, csat_id: str, by: str, at: datetime) -> CsatRecorded:
        """The CSAT answer of conversation `c` (shared.models.conversations.Conversation): its campaign and agent."""
        return cls(tenant_id=c.tenant_id, channel_id=c.channel_id, conversation_id=c.conversation_id, score=score,
                   csat_id=csat_id, comment=comment, campaign_id=c.campaign_id, assignee=c.assignee,
                   recorded_at=iso_z(at), recorded_by=by)


class ContactEvent(TenantEvent):
    contact_id: str


class ContactCreated(ContactEvent):
    source: str  # api, inbound, import
    over_cap: bool = False


class ContactUpdated(ContactEvent):
    changes: tuple[str, ...] = ()
    tags_added: tuple[str, ...] = ()
    tags_removed: tuple[str, ...] = ()
    fields_changed: tuple[str, ...] = ()  # custom fields whose value changed, and "lifecycle"
    actor: str | None = None  # who changed it (workflow:<execution> bounds workflow chains)


class ContactMerged(ContactEvent):
    merged_contact_id: str
    merge_id: str


class ContactDeleted(ContactEvent):
    """Erasure: the contact and everything of theirs is gone; only this id remains in the record."""

    erasure_id: str


class HandoffRequested(DomainEvent):
    """The bot hands the conversation to a team of people (the contact center picks it up)."""

    conversation_id: str
    contact_id: str | None = None
    contact_key: str
    bot_id: str
    session_id: str
    team: str
    skills: tuple[str, ...] = ()
    priority: str = "normal"
    reason: str
    summary: str
    data: dict[str, Any] = {}


class BotSessionEnded(DomainEvent):
    """A bot session ended: solved by the bot, handed to an agent, or the customer stopped answering."""

    conversation_id: str
    contact_id: str | None = None
    bot_id: str
    version: int
    session_id: str
    reason: str  # solved | handoff | timeout | closed | restarted (a workflow started a flow) | error
    started_at: str
    ended_at: str
    turns: int
    input_tokens: int = 0
    output_tokens: int = 0
    contact_key: str | None = None  # the customer's address on the channel
    ai_turns: int = 0  # turns the generative assistant answered: an "AI session"
    llm_tier: str | None = None  # LITE | PRO: the model tier of those turns


class BotFlowRequested(DomainEvent):
    """A workflow asks the channel's bot to start one of its flows in a conversation now (the bot speaks first).
    `request_id` is the workflow step's effect key: the bot turn consumes it once."""

    conversation_id: str
    contact_id: str | None = None
    contact_key: str
    reply_to_address: str
    flow: str
    request_id: str
    requested_by: str  # workflow:<execution id>


class BotTimeoutCheck(TenantEvent):
    """Not published on the bus: a delayed message the bot sends itself to end idle sessions."""

    channel_id: str
    conversation_id: str
    session_id: str
    turn: int


# --- contact center -------------------------------------------------------------------------------------------

class ConversationQueued(DomainEvent):
    """The conversation waits in a campaign's FIFO queue (position 1 = next)."""

    conversation_id: str
    contact_id: str | None = None
    campaign_id: str
    position: int
    priority: str = "normal"
    reason: str  # handoff | no_bot | unassigned | transfer | agent_offline | reopen


class ConversationOverflowed(DomainEvent):
    """Asked for people but was not queued: the queue was at its ACD limit, or it was out of hours."""

    conversation_id: str
    contact_id: str | None = None
    campaign_id: str
    reason: str  # acd_full | out_of_hours | no_campaign


class ConversationAssigned(DomainEvent):
    conversation_id: str
    contact_id: str | None = None
    campaign_id: str
    assignee: str  # a user id, or desk:<campaign> for an external contact center
    assignee_kind: str = "agent"  # agent | desk
    assignee_name: str | None = None  # the agent's display name (workflows greet with it), or the desk's
    previous_assignee: str | None = None
    reason: str  # queue | manual | take | transfer | reopen
    wait_s: int = 0
    summary: str | None = None


class ConversationUnassigned(DomainEvent):
    conversation_id: str
    contact_id: str | None = None
    campaign_id: str | None = None
    agent_id: str
    reason: str  # unassign | transfer | agent_offline
    requeued: bool = True


class ConversationReopened(DomainEvent):
    conversation_id: str
    contact_id: str | None = None
    reopened_by: str


class ConversationNoteAdded(DomainEvent):
    """An internal note: never sent to the customer."""

    conversation_id: str
    note_id: str
    author: str
    text: str
    campaign_id: str | None = None
    assignee: str | None = None

    @classmethod
    def of(cls, c: Any, *, note_id: str, text: str, author: str) -> ConversationNoteAdded:
        """The event of a note on conversation `c` (its campaign, and its agent while one holds it)."""
        return cls(tenant_id=c.tenant_id, channel_id=c.channel_id, conversation_id=c.conversation_id,
                   note_id=note_id, author=author, text=text, campaign_id=c.campaign_id,
                   assignee=c.assignee if c.routing == "assigned" else None)


class RoutedMessageReceived(DomainEvent):
    """A customer message in a conversation people hold (an agent or an external desk): what their clients
    and the desk's webhook receive."""

    conversation_id: str
    contact_id: str | None = None
    campaign_id: str | None = None
    assignee: str | None = None
    routing: str
    message_id: str
    message_type: str
    text: str | None = None
    sent_at: str
    media: dict[str, Any] | None = None


class AgentStatusChanged(TenantEvent):
    """Every change of an agent's status: the status timeline reports are made of."""

    user_id: str
    status: str
    break_type: str | None = None
    previous_status: str | None = None
    at: str
    by: str


class AgentCapacityChanged(TenantEvent):
    user_id: str
    max_concurrent: int | None = None


class AgentNotified(TenantEvent):
    """A supervisor's message to an agent, or a forced log-out: pushed to the agent's clients."""

    user_id: str
    kind: str  # message | logout | paused
    text: str | None = None
    by: str


# --- templates and broadcasts ---------------------------------------------------------------------------------

class AccountHealthChanged(TenantEvent):
    """Meta changed a template's status, quality or category, the number's quality or limit, or the account."""

    channel_id: str
    field: str  # the webhook field, e.g. message_template_status_update
    summary: str
    severity: str  # info | warning | critical
    template: str | None = None  # name#language
    paused_broadcasts: list[str] = []


class BroadcastGroupSent(TenantEvent):
    """A group of a broadcast's recipients (up to the sender's group size) the provider accepted: what reports count
    as messages out. One event per group, not per recipient: a 100,000-recipient broadcast is 2,000 events (each
    recipient's statuses still arrive one by one from Meta as MessageStatusChanged)."""

    channel_id: str
    broadcast_id: str
    batch_id: str  # derived from the group's accepted message ids: a redelivery counts once
    count: int
    sent_at: str


class BroadcastStatusChanged(TenantEvent):
    broadcast_id: str
    status: str
    previous_status: str
    reason: str | None = None


# --- plans and quotas -----------------------------------------------------------------------------------------

class QuotaThresholdReached(TenantEvent):
    """A quota of the tenant's plan reached one of its alert thresholds: published once per resource, period,
    threshold and limit (a durable marker), so redeliveries and concurrent counters never alert twice."""

    resource: str  # sessions | contacts | agents | bots
    period: str  # YYYY-MM (UTC) for sessions; "current" for standing counts (contacts, agents, bots)
    threshold_percent: int
    used: int
    limit: int
