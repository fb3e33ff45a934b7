"""/v1/campaigns, /v1/contact-center, /v1/agents: campaigns and their live view, agents' presence, supervisors'
actions on agents (silent view, pause, message, log out)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from functions.api import deps
from shared.errors import Forbidden, InvalidInput
from shared.http.context import as_utc, require
from shared.models.contact_center import (
    AgentMe,
    AgentMessageInput,
    AgentPresence,
    Campaign,
    CampaignInput,
    CampaignLive,
    CapacityInput,
    ContactCenterSettings,
    StatusChange,
    StatusInput,
    WaitingLive,
)
from shared.models.conversations import Conversation, ConversationDetail
from shared.models.tenancy import Principal

router = APIGatewayHttpRouter()
CAMPAIGNS, AGENTS, SUPERVISION = ["Campaigns"], ["Agents"], ["Supervision"]


class CampaignList(BaseModel):
    items: list[Campaign]


class AgentList(BaseModel):
    items: list[AgentPresence]


class ConversationList(BaseModel):
    items: list[Conversation]


class WaitingList(BaseModel):
    items: list[WaitingLive]


class SpyView(BaseModel):
    agent_id: str
    conversations: list[ConversationDetail]


class Timeline(BaseModel):
    items: list[StatusChange]


def _me(who: Principal) -> str:
    user_id = deps.contact_center().user_id(who)
    if user_id is None:
        raise Forbidden("only users (agents, supervisors, admins) have a presence; API keys do not")
    return user_id


def _supervisor(scope: str = "conversations:read") -> Principal:
    who = require(router, scope)
    deps.contact_center().require_supervisor(who)
    return who


# -- campaigns -----------------------------------------------------------------------------------------------------
@router.post("/v1/campaigns", tags=CAMPAIGNS, status_code=201, summary="Create a campaign (team)")
def create_campaign(body: CampaignInput) -> Campaign:
    who = require(router, "admin")
    return deps.contact_center().create_campaign(who.tenant_id or "", body)


@router.get("/v1/campaigns", tags=CAMPAIGNS, summary="List campaigns")
def list_campaigns() -> CampaignList:
    who = require(router, "conversations:read")
    return CampaignList(items=deps.contact_center().list_campaigns(who.tenant_id or ""))


@router.get("/v1/campaigns/<campaign_id>", tags=CAMPAIGNS, summary="Get a campaign")
def get_campaign(campaign_id: str) -> Campaign:
    who = require(router, "conversations:read")
    return deps.contact_center().get_campaign(who.tenant_id or "", campaign_id)


@router.put("/v1/campaigns/<campaign_id>", tags=CAMPAIGNS, summary="Replace a campaign",
            description="`enabled: false` stops routing to it and keeps its data; the queue drains on changes.")
def replace_campaign(campaign_id: str, body: CampaignInput) -> Campaign:
    who = require(router, "admin")
    return deps.contact_center().replace_campaign(who.tenant_id or "", campaign_id, body)


@router.get("/v1/campaigns/<campaign_id>/live", tags=SUPERVISION, summary="Live monitoring of a campaign",
            description="Each member's status, conversations held and completed today, time in status; the waiting "
                        "queue with wait times; today's service level and abandonment.")
def campaign_live(campaign_id: str) -> CampaignLive:
    who = _supervisor()
    return deps.contact_center().live(who.tenant_id or "", campaign_id)


@router.get("/v1/contact-center/settings", tags=CAMPAIGNS, summary="Break types and the agents' time zone")
def get_settings() -> ContactCenterSettings:
    who = require(router, "conversations:read")
    return deps.contact_center().settings(who.tenant_id or "")


@router.put("/v1/contact-center/settings", tags=CAMPAIGNS, summary="Set break types and the agents' time zone")
def put_settings(body: ContactCenterSettings) -> ContactCenterSettings:
    who = require(router, "admin")
    return deps.contact_center().put_settings(who.tenant_id or "", body)


# -- agents ---------------------------------------------------------------------------------------------------------
@router.get("/v1/agents/me", tags=AGENTS, summary="My presence, my conversations, my campaigns, break types")
def agent_me() -> AgentMe:
    who = require(router, "conversations:read")
    return deps.contact_center().me(who.tenant_id or "", _me(who))


@router.put("/v1/agents/me/status", tags=AGENTS, summary="Set my status (online, busy, break, offline)",
            description="Online agents receive conversations; busy and break keep theirs but get no new ones; going "
                        "offline re-queues conversations of campaigns configured to (`on_agent_offline`).")
def set_my_status(body: StatusInput) -> AgentPresence:
    who = require(router, "conversations:read")
    me = _me(who)
    return deps.contact_center().set_status(who.tenant_id or "", me, body, by=who.principal_id)


@router.get("/v1/agents/me/conversations", tags=AGENTS, summary="The conversations I hold")
def my_conversations() -> ConversationList:
    who = require(router, "conversations:read")
    return ConversationList(items=deps.contact_center().my_conversations(who.tenant_id or "", _me(who)))


@router.get("/v1/agents/me/queue", tags=AGENTS, summary="Customers waiting in my campaigns (I may take them)",
            description="Every enabled campaign I am a member of: its waiting conversations with their wait so far, "
                        "longest wait first. Take one with POST /v1/conversations/{id}/assign.")
def my_queue() -> WaitingList:
    who = require(router, "conversations:read")
    return WaitingList(items=deps.contact_center().my_queue(who.tenant_id or "", _me(who)))


@router.get("/v1/agents", tags=SUPERVISION, summary="Every agent's presence")
def list_agents() -> AgentList:
    who = _supervisor()
    return AgentList(items=deps.contact_center().agents(who.tenant_id or ""))


@router.put("/v1/agents/<agent_id>/status", tags=SUPERVISION, summary="Set an agent's status")
def set_agent_status(agent_id: str, body: StatusInput) -> AgentPresence:
    who = _supervisor("conversations:write")
    return deps.contact_center().set_status(who.tenant_id or "", agent_id, body, by=who.principal_id)


@router.put("/v1/agents/<agent_id>/capacity", tags=SUPERVISION, summary="Set an agent's own conversation limit",
            description="Overrides each campaign's max_per_agent for this agent; raising it lets the queues drain.")
def set_agent_capacity(agent_id: str, body: CapacityInput) -> AgentPresence:
    who = _supervisor("conversations:write")
    return deps.contact_center().set_capacity(who.tenant_id or "", agent_id, body)


@router.get("/v1/agents/<agent_id>/status-timeline", tags=SUPERVISION, summary="An agent's status changes")
def status_timeline(agent_id: str,
                    since: Annotated[datetime | None, Query(alias="from")] = None,
                    until: Annotated[datetime | None, Query(alias="to")] = None) -> Timeline:
    who = require(router, "conversations:read")
    if deps.contact_center().user_id(who) != agent_id:
        deps.contact_center().require_supervisor(who)
    end = as_utc(until) or datetime.now(UTC)
    start = as_utc(since) or end - timedelta(days=1)
    if end < start or end - start > timedelta(days=93):
        raise InvalidInput("give `from` before `to`, at most 93 days apart")
    return Timeline(items=deps.contact_center().status_timeline(who.tenant_id or "", agent_id, since=start, until=end))


@router.get("/v1/agents/<agent_id>/conversations", tags=SUPERVISION,
            summary="Watch an agent's live conversations silently",
            description="Read-only: no read receipt reaches the customer and nobody is notified (\"spy\").")
def spy_agent(agent_id: str) -> SpyView:
    who = _supervisor()
    return SpyView(agent_id=agent_id, conversations=deps.contact_center().spy(who.tenant_id or "", agent_id))


@router.post("/v1/agents/<agent_id>/pause", tags=SUPERVISION, summary="Pause an agent (a supervisor break)")
def pause_agent(agent_id: str) -> AgentPresence:
    who = _supervisor("conversations:write")
    return deps.contact_center().notify_agent(who, agent_id, kind="paused", text=None)


@router.post("/v1/agents/<agent_id>/logout", tags=SUPERVISION, summary="Log an agent out",
             description="Sets them offline (their conversations re-queue per campaign) and closes their live "
                         "connections.")
def logout_agent(agent_id: str) -> AgentPresence:
    who = _supervisor("conversations:write")
    return deps.contact_center().notify_agent(who, agent_id, kind="logout", text=None)


@router.post("/v1/agents/<agent_id>/messages", tags=SUPERVISION, status_code=202,
             summary="Send an agent a message (pushed to their clients)")
def message_agent(agent_id: str, body: AgentMessageInput) -> AgentPresence:
    who = _supervisor("conversations:write")
    return deps.contact_center().notify_agent(who, agent_id, kind="message", text=body.text)
