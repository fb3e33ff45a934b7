"""Comments and private replies: a public comment on a Page post or Instagram media is stored (once) and
published as `CommentReceived`; the business may answer it privately, once, within 7 days of the comment. The
reply goes through the outbound sender like any message, addressed to the comment (Send API recipient
`{"comment_id": ...}`); when the customer answers it, the conversation continues as a normal thread.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, Field

from shared.errors import Conflict, InvalidInput, NotFound
from shared.models.comments import COMMENT_ADDRESS_PREFIX, Comment
from shared.models.envelopes import OutboundRequest, TextContent
from shared.ports import ChannelDirectory, Clock, OutboundQueue
from shared.services.messenger_payloads import text_fits
from shared.services.queue_keys import dedup_id, thread_group_id

PRIVATE_REPLY_WINDOW = timedelta(days=7)


class CommentStore(Protocol):
    def put_comment(self, comment: Comment) -> bool: ...

    def get_comment(self, tenant_id: str, channel_id: str, comment_id: str) -> Comment | None: ...

    def list_comments(self, tenant_id: str, channel_id: str, *, limit: int) -> list[Comment]: ...

    def mark_replied(self, tenant_id: str, channel_id: str, comment_id: str, *, at: datetime,
                     message_id: str) -> bool: ...

    def clear_replied(self, tenant_id: str, channel_id: str, comment_id: str) -> None: ...


class PrivateReplyInput(BaseModel):
    model_config = {"extra": "forbid"}

    text: str = Field(min_length=1, max_length=2000)


class PrivateReplyAccepted(BaseModel):
    comment_id: str
    message_id: str
    channel_id: str


class CommentList(BaseModel):
    items: list[Comment]


class CommentService:
    def __init__(self, *, store: CommentStore, directory: ChannelDirectory, outbound: OutboundQueue,
                 clock: Clock) -> None:
        self._store = store
        self._directory = directory
        self._outbound = outbound
        self._clock = clock

    def _channel_of(self, tenant_id: str, channel_id: str) -> str:
        channel = self._directory.get_channel(channel_id)
        if channel is None or channel.tenant_id != tenant_id:
            raise NotFound(f"no channel {channel_id}")
        if channel.kind not in ("messenger", "instagram"):
            raise InvalidInput(f"{channel.kind} channels have no comments")
        return channel.kind

    def list(self, tenant_id: str, channel_id: str, *, limit: int = 50) -> CommentList:
        self._channel_of(tenant_id, channel_id)
        return CommentList(items=self._store.list_comments(tenant_id, channel_id, limit=limit))

    def private_reply(self, tenant_id: str, channel_id: str, comment_id: str, data: PrivateReplyInput, *,
                      actor: str) -> PrivateReplyAccepted:
        kind = self._channel_of(tenant_id, channel_id)
        problem = text_fits(data.text, kind)
        if problem:
            raise InvalidInput(problem)
        comment = self._store.get_comment(tenant_id, channel_id, comment_id)
        if comment is None:
            raise NotFound(f"no comment {comment_id}")
        now = self._clock.now()
        if now > comment.created_at + PRIVATE_REPLY_WINDOW:
            raise InvalidInput("a private reply must be sent within 7 days of the comment")
        request = OutboundRequest(
            request_id=f"private-reply:{tenant_id}:{channel_id}:{comment_id}", tenant_id=tenant_id,
            channel_id=channel_id, contact_key=comment.author_id, to=f"{COMMENT_ADDRESS_PREFIX}{comment_id}",
            content=TextContent(body=data.text), origin=actor)
        # Claimed first (atomically: two concurrent requests cannot both be accepted), released when it could not
        # be queued; the request id (one per comment) makes the sender send it once whatever happens.
        if not self._store.mark_replied(tenant_id, channel_id, comment_id, at=now, message_id=request.message_id):
            raise Conflict("this comment already has its one private reply")
        try:
            self._outbound.enqueue(request, group_id=thread_group_id(tenant_id, channel_id, comment.author_id),
                                   dedup_id=dedup_id(channel_id, request.request_id))
        except Exception:
            self._store.clear_replied(tenant_id, channel_id, comment_id)
            raise
        return PrivateReplyAccepted(comment_id=comment_id, message_id=request.message_id, channel_id=channel_id)
