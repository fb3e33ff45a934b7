"""The outbound sender: one guard for every send path, the provider call (Graph Cloud API, Messenger/Instagram Send
API or Bot API), outcome recorded once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shared.errors import RetryableError
from shared.models.channel import Channel
from shared.models.comments import COMMENT_ADDRESS_PREFIX
from shared.models.envelopes import OutboundRequest
from shared.models.events import MessageSent, MessageStatusChanged
from shared.models.messages import Identity, StatusKind, StatusUpdate
from shared.ports import (
    ChannelDirectory,
    Clock,
    EventPublisher,
    MessageStore,
    OutboundClaim,
    PageMessagingClient,
    ProviderErrorKind,
    ProviderSendError,
    SendResult,
    SmsClient,
    TelegramClient,
    WhatsAppClient,
)
from shared.services.email_channel import EmailDelivery
from shared.services.messenger_payloads import build_bodies
from shared.services.send_policy import Refusal, UnsupportedOnChannel, check_send, message_tag, needs_window
from shared.services.sms_payloads import build_form
from shared.services.telegram_payloads import build_call
from shared.services.webchat import WebChatPush, outbound_view
from shared.services.whatsapp_errors import backoff_seconds, classify, needs_alert
from shared.services.whatsapp_payloads import build_payload
from shared.timestamps import iso_z

REFUSAL_DETAILS = {
    Refusal.TEMPLATE_REQUIRED: "free-form messages need an open 24h customer-service window; send a template",
    Refusal.NOT_ON_CHANNEL: "templates are WhatsApp-only; send text, media or buttons on this channel",
    Refusal.WINDOW_CLOSED: "more than 24 hours since the customer's last message: only an agent may reply "
                           "(HUMAN_AGENT tag, up to 7 days)",
}


@dataclass(frozen=True)
class SendOutcome:
    kind: str  # sent | duplicate | refused | failed | unconfirmed | read_marked
    reason: str | None = None
    code: int | None = None
    alert: bool = False
    provider_message_id: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_s: int = 2
    max_delay_s: int = 300


class SenderService:
    def __init__(self, *, directory: ChannelDirectory, store: MessageStore, client: WhatsAppClient,
                 telegram: TelegramClient, pages: PageMessagingClient, sms: SmsClient, events: EventPublisher,
                 clock: Clock, retry: RetryPolicy, service_window: timedelta = timedelta(hours=24),
                 webchat: WebChatPush | None = None, email: EmailDelivery | None = None) -> None:
        self._webchat = webchat
        self._email = email
        self._sms = sms
        self._directory = directory
        self._store = store
        self._client = client
        self._telegram = telegram
        self._pages = pages
        self._events = events
        self._clock = clock
        self._retry = retry
        self._window = service_window

    def send(self, request: OutboundRequest, *, attempt: int = 1) -> SendOutcome:
        channel = self._directory.get_channel(request.channel_id)
        if channel is None or channel.tenant_id != request.tenant_id:
            # Never send on a channel of another tenant; nothing to record it against either.
            return SendOutcome("refused", reason="channel_not_found")
        if request.content.type == "mark_read":
            return self._mark_read(request, channel, attempt)
        claim = self._store.claim_outbound(request, now=self._clock.now())
        if claim is OutboundClaim.DONE:
            return SendOutcome("duplicate")
        last_inbound = None
        # A private reply to a comment has its own rule (7 days from the comment, checked when it was asked for).
        private_reply = request.to.startswith(COMMENT_ADDRESS_PREFIX) and channel.kind in ("messenger", "instagram")
        if private_reply:
            last_inbound = self._clock.now()
        elif needs_window(channel.kind, request.content):
            thread = self._store.get_thread(request.tenant_id, request.channel_id, request.contact_key)
            last_inbound = thread.last_inbound_at if thread else None
        now = self._clock.now()
        refusal = check_send(request.content, last_inbound_at=last_inbound, now=now, window=self._window,
                             channel_enabled=channel.enabled, kind=channel.kind, human_agent=request.human_agent)
        if refusal is not None:
            return self._fail(request, status="refused", code=None, title=refusal.value,
                              details=REFUSAL_DETAILS.get(refusal))
        if channel.kind == "webchat":
            return self._send_webchat(request)
        tag = message_tag(channel.kind, request.content, last_inbound_at=last_inbound, now=now, window=self._window,
                          human_agent=request.human_agent)
        try:
            result = self._deliver(channel, request, callback_data=request.message_id, tag=tag)
        except UnsupportedOnChannel as exc:  # a form the channel does not have (a reaction on Messenger, ...)
            return self._fail(request, status="refused", code=None, title=Refusal.NOT_ON_CHANNEL.value,
                              details=str(exc))
        except ProviderSendError as exc:
            if exc.ambiguous:
                # Sent and no answer: the provider may have accepted it. Resending could deliver it twice (Twilio
                # and the Send API have no idempotency key), so it is kept visible as unconfirmed instead.
                return self._fail(request, status="unconfirmed", code=None,
                                  title="no answer from the provider in time: it may have been delivered",
                                  details=exc.title)
            kind = classify(exc.http_status, exc.code)
            if kind is ProviderErrorKind.RETRYABLE and attempt < self._retry.max_attempts:
                delay = backoff_seconds(attempt, base_s=self._retry.base_delay_s, max_s=self._retry.max_delay_s,
                                        retry_after_s=exc.retry_after_s)
                raise RetryableError(str(exc), delay_s=delay) from exc
            title = exc.title if kind is ProviderErrorKind.PERMANENT else f"retries exhausted: {exc.title or exc}"
            return self._fail(request, status="failed", code=exc.code, title=title, details=exc.details)
        provider_id = result.provider_message_id or ""
        self._store.record_sent(request, provider_message_id=provider_id, now=self._clock.now())
        self._sent(request, provider_id)
        return SendOutcome("sent", provider_message_id=provider_id)

    def _sent(self, request: OutboundRequest, provider_message_id: str) -> None:
        """Reports count messages out (and response times) from this; a redelivery after a crash here publishes it
        again with the same message id, which reports count once."""
        self._events.publish([MessageSent(
            tenant_id=request.tenant_id, channel_id=request.channel_id, message_id=request.message_id,
            provider_message_id=provider_message_id or None, contact_key=request.contact_key,
            origin=request.origin, message_type=request.content.type,
            sent_at=iso_z(self._clock.now()))])

    def _send_webchat(self, request: OutboundRequest) -> SendOutcome:
        """Web chat is our own channel: the stored message is the delivery (the widget reads its history); open
        widgets get it pushed at once, which makes it delivered."""
        now = self._clock.now()
        try:
            view = outbound_view(request, at=now)
        except UnsupportedOnChannel as exc:
            return self._fail(request, status="refused", code=None, title=Refusal.NOT_ON_CHANNEL.value,
                              details=str(exc))
        self._store.record_sent(request, provider_message_id=request.message_id, now=now)
        self._sent(request, request.message_id)
        pushed = (self._webchat.push(request.tenant_id, request.channel_id, request.contact_key, "message", view)
                  if self._webchat else 0)
        if pushed:
            update = StatusUpdate(provider="webchat", provider_message_id=request.message_id,
                                  status=StatusKind.DELIVERED, raw_status=StatusKind.DELIVERED.value,
                                  at=self._clock.now(),
                                  recipient=Identity(key=request.contact_key, provider="webchat"))
            applied = self._store.apply_status(request.tenant_id, request.channel_id, update)
            if applied is not None and applied.advanced:
                self._events.publish([MessageStatusChanged.of(request.tenant_id, request.channel_id, update, applied,
                                                              contact_key=request.contact_key)])
        return SendOutcome("sent", provider_message_id=request.message_id)

    def _deliver(self, channel: Channel, request: OutboundRequest, *, callback_data: str | None = None,
                 tag: str | None = None) -> SendResult:
        """The provider call for the channel's kind; raises ProviderSendError (classified the same way for all:
        the Bot API's error_code is the HTTP status, so only 429, 5xx and no answer are retryable)."""
        if channel.kind == "webchat":  # only read receipts and typing get here: the visitor's widget shows them
            content = request.content
            if content.type == "mark_read" and self._webchat is not None:
                self._webchat.push(request.tenant_id, request.channel_id, request.contact_key, "status",
                                   {"id": content.message_id, "status": "read"})
                if content.typing_indicator:
                    self._webchat.push(request.tenant_id, request.channel_id, request.contact_key, "typing",
                                       {"on": True})
            return SendResult(provider_message_id=None)
        if channel.kind == "email":
            if request.content.type == "mark_read" or self._email is None:
                return SendResult(provider_message_id=None)  # email has no read receipt to give
            return self._email.send(channel, request)
        token = self._directory.get_secrets(channel).access_token.get_secret_value()
        if channel.kind in ("messenger", "instagram"):
            # A caption after its media, a typing indicator after the read receipt: the first call's id is the
            # message's (a retry after a failed second call sends the first again: at least once).
            results = [self._pages.send_page(token, body)
                       for body in build_bodies(request, kind=channel.kind, tag=tag)]
            return results[0] if results else SendResult(provider_message_id=None)
        if channel.kind == "sms":
            form = build_form(request, number=channel.phone_number_id, status_callback=channel.callback_url)
            if form is None:  # a read receipt: SMS has none
                return SendResult(provider_message_id=None)
            return self._sms.send(channel.waba_id or "", token, form)
        if channel.kind == "telegram":
            call = build_call(request)
            if call is None:  # a bare read receipt: bots have none
                return SendResult(provider_message_id=None)
            return self._telegram.send(token, call.method, call.params)
        return self._client.send(channel.phone_number_id, token, build_payload(request, callback_data=callback_data))

    def _mark_read(self, request: OutboundRequest, channel: Channel, attempt: int) -> SendOutcome:
        try:
            self._deliver(channel, request)
        except ProviderSendError as exc:
            if classify(exc.http_status, exc.code) is ProviderErrorKind.RETRYABLE and attempt < 3:
                raise RetryableError(str(exc), delay_s=self._retry.base_delay_s) from exc
            return SendOutcome("failed", reason=exc.title, code=exc.code)
        return SendOutcome("read_marked")

    def _fail(self, request: OutboundRequest, *, status: str, code: int | None, title: str | None,
              details: str | None) -> SendOutcome:
        self._store.record_failed(request, status=status, code=code, title=title, details=details,
                                  now=self._clock.now())
        self._events.publish([MessageStatusChanged(
            tenant_id=request.tenant_id, channel_id=request.channel_id,
            message_id=request.message_id, contact_key=request.contact_key, status=status,
            error_code=code, error_title=title, error_details=details)])
        return SendOutcome(status, reason=title, code=code, alert=needs_alert(code))
