"""/v1/conversations and /v1/messages: list and filter, read with messages, close; send to a contact."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from functions.api import deps
from shared.http.context import require
from shared.models.conversations import Conversation, ConversationDetail, SendAccepted, SendMessageInput

router = APIGatewayHttpRouter()
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]


class ConversationPage(BaseModel):
    items: list[Conversation]
    next_cursor: str | None = None


@router.get("/v1/conversations", tags=["Conversations"], summary="List conversations, newest first")
def list_conversations(limit: Limit = 50, cursor: Cursor = None,
                       status: Annotated[Literal["open", "closed"] | None, Query()] = None,
                       channel_id: Annotated[str | None, Query(max_length=64)] = None,
                       contact_id: Annotated[str | None, Query(max_length=64)] = None) -> ConversationPage:
    who = require(router, "conversations:read")
    page = deps.conversations().page(who.tenant_id or "", status=status, channel_id=channel_id,
                                     contact_id=contact_id, limit=limit, cursor=cursor)
    return ConversationPage(items=page.items, next_cursor=page.cursor)


@router.get("/v1/conversations/<conversation_id>", tags=["Conversations"],
            summary="A conversation with its messages and the 24-hour window")
def get_conversation(conversation_id: str,
                     limit: Annotated[int, Query(ge=1, le=500)] = 200) -> ConversationDetail:
    who = require(router, "conversations:read")
    return deps.conversations().detail(who.tenant_id or "", conversation_id, limit=limit)


@router.post("/v1/conversations/<conversation_id>/close", tags=["Conversations"], summary="Close a conversation")
def close_conversation(conversation_id: str) -> Conversation:
    who = require(router, "conversations:write")
    return deps.conversations().close(who.tenant_id or "", conversation_id, actor=who.principal_id)


@router.post("/v1/messages", tags=["Messages"], summary="Send a message to a contact",
             description="Text, media, template or interactive, through the outbound sender. Free-form content "
                         "is refused with 422 outside the 24-hour customer-service window.",
             responses={202: {"description": "Queued for sending"}})
def send_message(body: SendMessageInput) -> tuple[SendAccepted, int]:
    who = require(router, "messages:send")
    request_id = router.current_event.request_context.request_id
    accepted = deps.conversations().send(who.tenant_id or "", body, actor=who.principal_id,
                                         request_id=f"api:{who.tenant_id}:{request_id}")
    return accepted, 202
