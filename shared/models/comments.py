"""A public comment on a Facebook Page post or an Instagram media: answered privately (one private reply)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.models.channel import ChannelKind

# Where a private reply is addressed: the Send API's recipient is {"comment_id": ...}, not a person's id.
COMMENT_ADDRESS_PREFIX = "comment:"


class Comment(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    channel_id: str
    provider: ChannelKind
    comment_id: str
    post_id: str | None = None  # the Page post or the Instagram media commented on
    author_id: str  # Instagram: the IGSID; Facebook: the commenter's id as the feed webhook gives it
    author_name: str | None = None
    text: str | None = None
    created_at: datetime
    replied_at: datetime | None = None  # when our one private reply was accepted for sending
    reply_message_id: str | None = None
