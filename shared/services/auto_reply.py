"""Closing the loop before the bot engine exists: answer each new inbound message with the channel's reply."""

from __future__ import annotations

from dataclasses import dataclass

from shared.models.envelopes import OutboundRequest, TextContent
from shared.models.events import MessageReceived
from shared.ports import ChannelDirectory, OutboundQueue
from shared.services.ingest import dedup_id, thread_group_id

# Reactions, system notices and unreadable messages are not questions: no reply.
NO_REPLY_TYPES = frozenset({"reaction", "system", "unsupported", "unknown"})


@dataclass(frozen=True)
class AutoReplyOutcome:
    queued: bool
    reason: str


class AutoReplyService:
    def __init__(self, *, directory: ChannelDirectory, outbound: OutboundQueue) -> None:
        self._directory = directory
        self._outbound = outbound

    def on_message(self, event: MessageReceived) -> AutoReplyOutcome:
        channel = self._directory.get_channel(event.channel_id)
        if channel is None or channel.tenant_id != event.tenant_id:
            return AutoReplyOutcome(False, "channel_not_found")
        if not channel.auto_reply_text:
            return AutoReplyOutcome(False, "no_auto_reply_configured")
        if event.message_type in NO_REPLY_TYPES:
            return AutoReplyOutcome(False, f"no_reply_for_{event.message_type}")
        request = OutboundRequest(
            request_id=f"auto-reply:{event.channel_id}:{event.message_id}",  # the same message is answered once
            tenant_id=event.tenant_id, channel_id=event.channel_id, contact_key=event.contact_key,
            to=event.reply_to_address, content=TextContent(body=channel.auto_reply_text), origin="auto_reply")
        self._outbound.enqueue(request, group_id=thread_group_id(event.tenant_id, event.channel_id,
                                                                 event.contact_key),
                               dedup_id=dedup_id(event.channel_id, request.request_id))
        return AutoReplyOutcome(True, "queued")
