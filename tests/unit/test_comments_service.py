"""Private replies to comments: once per comment, within 7 days, through the outbound queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import Conflict, InvalidInput, NotFound
from shared.models.channel import Channel
from shared.models.comments import Comment
from shared.services.comments import CommentService, PrivateReplyInput
from tests.unit.fakes_crm import FakeClock

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Store:
    def __init__(self) -> None:
        self.comments: dict[str, Comment] = {}

    def put_comment(self, comment: Comment) -> bool:
        return self.comments.setdefault(comment.comment_id, comment) is comment

    def get_comment(self, tenant_id: str, channel_id: str, comment_id: str) -> Comment | None:
        c = self.comments.get(comment_id)
        return c if c and (c.tenant_id, c.channel_id) == (tenant_id, channel_id) else None

    def list_comments(self, tenant_id: str, channel_id: str, *, limit: int) -> list[Comment]:
        return sorted(self.comments.values(), key=lambda c: c.created_at, reverse=True)[:limit]

    def mark_replied(self, tenant_id: str, channel_id: str, comment_id: str, *, at: datetime,
                     message_id: str) -> bool:
        c = self.comments[comment_id]
        if c.replied_at:
            return False
        self.comments[comment_id] = c.model_copy(update={"replied_at": at, "reply_message_id": message_id})
        return True


    def clear_replied(self, tenant_id: str, channel_id: str, comment_id: str) -> None:
        c = self.comments[comment_id]
        self.comments[comment_id] = c.model_copy(update={"replied_at": None, "reply_message_id": None})


class Directory:
    def get_channel(self, channel_id: str) -> Channel | None:
        kind = {"fb": "messenger", "wa": "whatsapp"}.get(channel_id)
        return Channel.model_validate({"tenant_id": "t", "channel_id": channel_id, "kind": kind,
                                       "phone_number_id": "1", "secret_name": "s"}) if kind else None

    def get_secrets(self, channel: Channel, *, fresh: bool = False) -> Any:
        raise AssertionError


class Queue:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def enqueue(self, request: Any, *, group_id: str, dedup_id: str) -> None:
        self.sent.append(request)


def setup(created: datetime = T0) -> tuple[CommentService, Store, Queue]:
    store, queue = Store(), Queue()
    store.put_comment(Comment(tenant_id="t", channel_id="fb", provider="messenger", comment_id="111_222",
                              author_id="4000001", text="¿Precio?", created_at=created))
    svc = CommentService(store=store, directory=Directory(), outbound=queue, clock=FakeClock(start=T0 + timedelta(
        days=1)))
    return svc, store, queue


def test_a_private_reply_is_queued_once_to_the_comment() -> None:
    svc, store, queue = setup()
    accepted = svc.private_reply("t", "fb", "111_222", PrivateReplyInput(text="Te escribimos"), actor="key_1")
    [request] = queue.sent
    assert (request.to, request.contact_key, request.content.body) == ("comment:111_222", "4000001", "Te escribimos")
    assert accepted.message_id == request.message_id == store.comments["111_222"].reply_message_id
    with pytest.raises(Conflict):
        svc.private_reply("t", "fb", "111_222", PrivateReplyInput(text="otra vez"), actor="key_1")
    assert len(queue.sent) == 1


def test_refusals_old_comments_unknown_ones_and_channels_without_comments() -> None:
    svc, _, queue = setup(created=T0 - timedelta(days=7))
    with pytest.raises(InvalidInput, match="7 days"):
        svc.private_reply("t", "fb", "111_222", PrivateReplyInput(text="tarde"), actor="a")
    with pytest.raises(NotFound):
        svc.private_reply("t", "fb", "999", PrivateReplyInput(text="x"), actor="a")
    with pytest.raises(InvalidInput, match="no comments"):
        svc.list("t", "wa")
    with pytest.raises(NotFound):
        svc.list("t", "nope")
    assert queue.sent == [] and len(svc.list("t", "fb").items) == 1


def test_a_reply_that_could_not_be_queued_can_be_asked_for_again() -> None:
    svc, store, queue = setup()

    def down(request: Any, *, group_id: str, dedup_id: str) -> None:
        raise RuntimeError("queue unavailable")

    queue.enqueue = down  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        svc.private_reply("t", "fb", "111_222", PrivateReplyInput(text="hola"), actor="a")
    assert store.comments["111_222"].replied_at is None
