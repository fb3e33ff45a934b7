"""/v1/conversations and /v1/messages: list and filter, read with messages, close; send to a contact."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from functions.api import deps
from shared.http.context import require
from shared.models.contact_center import AssignInput, CloseInput, CsatInput, NoteInput, ReplyInput, TransferInput
from shared.models.conversations import Conversation, ConversationDetail, SendAccepted, SendMessageInput
from shared.models.files import FileDownload
from shared.services.comments import CommentList, PrivateReplyAccepted, PrivateReplyInput

router = APIGatewayHttpRouter()
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]


class NoteCreated(BaseModel):
    note_id: str


class MarkedRead(BaseModel):
    marked: int


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


@router.get("/v1/conversations/<conversation_id>/media/<message_id>", tags=["Conversations"],
            summary="A short-lived link to a message's stored media",
            description="Images, voice notes, videos and documents customers sent are kept in the media bucket "
                        "(`media_stored` on the message); the link works for 5 minutes.")
def media_link(conversation_id: str, message_id: str) -> FileDownload:
    who = require(router, "conversations:read")
    return deps.contact_center().media_link(who.tenant_id or "", conversation_id, message_id)


@router.post("/v1/conversations/<conversation_id>/close", tags=["Conversations"], summary="Close a conversation",
             description="Optionally with a closing note (category + text). Frees the agent's place (the queue "
                         "moves) and the thread (the customer's next message opens a new conversation).")
def close_conversation(conversation_id: str, body: Annotated[CloseInput | None, Body()] = None) -> Conversation:
    who = require(router, "conversations:write")
    return deps.contact_center().close(who, conversation_id, body.note if body else None)


@router.post("/v1/conversations/<conversation_id>/csat", tags=["Conversations"],
             summary="Record the customer's satisfaction score", status_code=202,
             description="1-5, with an optional comment. Reports count it for the conversation's campaign and agent "
                         "(GET /v1/reports/csat). Workflows record it with the record_csat step.")
def record_csat(conversation_id: str, body: CsatInput) -> dict[str, Any]:
    who = require(router, "conversations:write")
    return deps.contact_center().record_csat(who, conversation_id, body)


@router.post("/v1/conversations/<conversation_id>/reopen", tags=["Conversations"], summary="Reopen a conversation",
             description="An agent who handled it takes it back (if under their limit); otherwise it waits in its "
                         "campaign's queue. 409 when the contact already has another open conversation there.")
def reopen_conversation(conversation_id: str) -> Conversation:
    who = require(router, "conversations:write")
    return deps.contact_center().reopen(who, conversation_id)


@router.post("/v1/conversations/<conversation_id>/messages", tags=["Conversations"], status_code=202,
             summary="Reply in a conversation (an agent, a supervisor, an external desk)",
             description="Content (text, media, template, interactive) or a campaign snippet by key, through the "
                         "outbound sender. Outside the 24-hour window free-form content is refused with 422 "
                         "`template_required`.")
def reply(conversation_id: str, body: ReplyInput) -> SendAccepted:
    who = require(router, "messages:send")
    request_id = router.current_event.request_context.request_id
    return deps.contact_center().reply(who, conversation_id, body, request_id=f"conv:{who.tenant_id}:{request_id}")


@router.post("/v1/conversations/<conversation_id>/notes", tags=["Conversations"], status_code=201,
             summary="Add an internal note (never sent to the customer)")
def add_note(conversation_id: str, body: NoteInput) -> NoteCreated:
    who = require(router, "conversations:write")
    return NoteCreated(note_id=deps.contact_center().add_note(who, conversation_id, body.text))


@router.post("/v1/conversations/<conversation_id>/read", tags=["Conversations"],
             summary="Mark the customer's messages read (blue ticks)")
def mark_read(conversation_id: str) -> MarkedRead:
    who = require(router, "conversations:write")
    return MarkedRead(marked=deps.contact_center().mark_read(who, conversation_id))


@router.post("/v1/conversations/<conversation_id>/assign", tags=["Conversations"],
             summary="Assign to an agent, or take it (no agent_id)",
             description="Never above the agent's limit and only to online agents (409 otherwise). Agents take "
                         "waiting conversations of their campaigns; assigning someone else needs a supervisor.")
def assign(conversation_id: str, body: AssignInput) -> Conversation:
    who = require(router, "conversations:write")
    return deps.contact_center().assign(who, conversation_id, body.agent_id)


@router.post("/v1/conversations/<conversation_id>/unassign", tags=["Conversations"],
             summary="Give it back to its campaign's queue")
def unassign(conversation_id: str) -> Conversation:
    who = require(router, "conversations:write")
    return deps.contact_center().unassign(who, conversation_id)


@router.post("/v1/conversations/<conversation_id>/transfer", tags=["Conversations"],
             summary="Transfer to an agent or to a campaign's queue")
def transfer(conversation_id: str, body: TransferInput) -> Conversation:
    who = require(router, "conversations:write")
    return deps.contact_center().transfer(who, conversation_id, agent_id=body.agent_id, campaign_id=body.campaign_id,
                                          note=body.note)


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


@router.get("/v1/channels/<channel_id>/comments", tags=["Comments"],
            summary="Recent comments on the Page's posts or the Instagram account's media, newest first")
def list_comments(channel_id: str, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> CommentList:
    who = require(router, "conversations:read")
    return deps.comments().list(who.tenant_id or "", channel_id, limit=limit)


@router.post("/v1/channels/<channel_id>/comments/<comment_id>/private-reply", tags=["Comments"], status_code=202,
             summary="Answer a comment privately (once, within 7 days of the comment)",
             description="The reply arrives in the commenter's inbox (Messenger or Instagram Direct); when they "
                         "answer, the conversation goes on as any other. 409 when the comment already has its reply.")
def private_reply(channel_id: str, comment_id: str, body: PrivateReplyInput) -> tuple[PrivateReplyAccepted, int]:
    who = require(router, "messages:send")
    return deps.comments().private_reply(who.tenant_id or "", channel_id, comment_id, body,
                                         actor=who.principal_id), 202
