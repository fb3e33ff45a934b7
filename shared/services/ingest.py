"""Webhook ingest: verify, split, enqueue durably, quarantine what cannot be accepted. Nothing slow here."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.errors import (
    ChannelNotFound,
    DomainError,
    EnqueueFailed,
    MalformedForm,
    MalformedJson,
    PayloadTooLarge,
    SignatureInvalid,
    VerificationFailed,
)
from shared.models.channel import Channel, ChannelKind, ChannelSecrets
from shared.ports import ChannelDirectory, Clock, InboundQueue, Quarantine
from shared.services.messenger_parser import PageKind, split_page_webhook
from shared.services.queue_keys import queued_unit
from shared.services.signature import verify_challenge, verify_signature
from shared.services.sms_parser import split_sms_webhook
from shared.services.telegram_parser import SECRET_HEADER as TELEGRAM_SECRET_HEADER
from shared.services.telegram_parser import split_update, verify_secret_token
from shared.services.twilio_signature import SIGNATURE_HEADER as TWILIO_SIGNATURE_HEADER
from shared.services.twilio_signature import parse_form
from shared.services.twilio_signature import validate as valid_twilio_signature
from shared.services.webhook_units import SplitResult
from shared.services.whatsapp_parser import split_webhook


@dataclass
class IngestOutcome:
    tenant_id: str
    enqueued: int = 0
    quarantined: int = 0
    ignored: int = 0
    quarantine_reasons: list[str] = field(default_factory=list)
    answer_callback: str | None = None  # Telegram: the callback query to answer in the webhook's response


# How a webhook answers what ingest refuses. 500 only for a failed durable enqueue: the provider retries then.
REFUSALS: dict[type[DomainError], int] = {ChannelNotFound: 404, VerificationFailed: 403, SignatureInvalid: 401,
                                          PayloadTooLarge: 413, MalformedJson: 400, EnqueueFailed: 500}
_FIXED_REASONS: dict[type[DomainError], str] = {
    ChannelNotFound: "unknown channel", EnqueueFailed: "temporarily unable to accept the webhook; retry"}


def refusal(exc: DomainError) -> tuple[int, str]:
    """(HTTP status, reason) for one of REFUSALS."""
    kind = next(k for k in REFUSALS if isinstance(exc, k))
    return REFUSALS[kind], _FIXED_REASONS.get(kind, str(exc))


def _json(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body)
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"body is not JSON: {exc.msg} at position {exc.pos}") from exc
    except UnicodeDecodeError as exc:
        raise MalformedJson("body is not UTF-8 JSON") from exc


class IngestService:
    def __init__(self, *, directory: ChannelDirectory, queue: InboundQueue, quarantine: Quarantine, clock: Clock,
                 max_body_bytes: int) -> None:
        self._directory = directory
        self._queue = queue
        self._quarantine = quarantine
        self._clock = clock
        self._max_body_bytes = max_body_bytes

    def _channel(self, channel_id: str, kind: ChannelKind = "whatsapp") -> Channel:
        channel = self._directory.get_channel(channel_id)
        if channel is None or not channel.enabled or channel.kind != kind:
            raise ChannelNotFound(channel_id)
        return channel

    def verify_subscription(self, channel_id: str, params: dict[str, str], kind: ChannelKind = "whatsapp") -> str:
        """Meta's GET handshake (WhatsApp, Messenger, Instagram): the challenge to echo, or VerificationFailed
        (answered 403)."""
        channel = self._channel(channel_id, kind)
        secrets = self._directory.get_secrets(channel)
        challenge = verify_challenge(params, secrets.verify_token.get_secret_value())
        if challenge is None:
            raise VerificationFailed("hub.mode or hub.verify_token does not match")
        return challenge

    def _open(self, channel_id: str, kind: ChannelKind, raw_body: bytes, presented: str | None,
              authentic: Callable[[ChannelSecrets], bool], refusal: str,
              parse: Callable[[bytes], Any] = _json) -> tuple[Channel, Any]:
        """Size, channel (of this kind), authenticity before anything else, then the (JSON) body."""
        if len(raw_body) > self._max_body_bytes:
            raise PayloadTooLarge(f"body is {len(raw_body)} bytes; the limit is {self._max_body_bytes}")
        channel = self._channel(channel_id, kind)
        secrets = self._directory.get_secrets(channel)
        if not authentic(secrets):
            # The secret may have been rotated since we cached it: look once more (rate-limited by the adapter).
            fresh = self._directory.get_secrets(channel, fresh=True) if presented else secrets
            if fresh == secrets or not authentic(fresh):
                raise SignatureInvalid(refusal)
        return channel, parse(raw_body)

    def receive(self, channel_id: str, raw_body: bytes, signature: str | None) -> IngestOutcome:
        """A WhatsApp Cloud API webhook: X-Hub-Signature-256 first, then split into units."""
        channel, body = self._open(
            channel_id, "whatsapp", raw_body, signature,
            lambda s: verify_signature(s.app_secret.get_secret_value(), raw_body, signature),
            "missing or invalid X-Hub-Signature-256")
        return self._enqueue(channel, raw_body, split_webhook(body, channel.phone_number_id))

    def receive_page(self, channel_id: str, kind: PageKind, raw_body: bytes, signature: str | None
                     ) -> IngestOutcome:
        """A Messenger or Instagram webhook: X-Hub-Signature-256 first (the app secret), then one unit per
        messaging item of this channel's Page or account."""
        channel, body = self._open(
            channel_id, kind, raw_body, signature,
            lambda s: verify_signature(s.app_secret.get_secret_value(), raw_body, signature),
            "missing or invalid X-Hub-Signature-256")
        outcome = IngestOutcome(tenant_id=channel.tenant_id)
        for owner, part in self._by_account(channel, kind, body, raw_body, signature):
            one = self._enqueue(owner, raw_body, split_page_webhook(part, kind=kind, account_id=owner.phone_number_id),
                                provider=kind)
            outcome.enqueued += one.enqueued
            outcome.ignored += one.ignored
            outcome.quarantined += one.quarantined
            outcome.quarantine_reasons += one.quarantine_reasons
        return outcome

    def _by_account(self, channel: Channel, kind: PageKind, body: Any, raw_body: bytes, signature: str | None
                    ) -> list[tuple[Channel, Any]]:
        """Meta posts every Page (or Instagram account) of an app to the app's one callback URL: each entry goes
        to the channel of its account when that channel is of this kind, enabled, and its own app secret verifies
        this very body (the same app); anything else stays with the receiving channel, which quarantines it."""
        if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
            return [(channel, body)]
        parts: dict[str, tuple[Channel, list[Any]]] = {channel.channel_id: (channel, [])}
        for entry in body["entry"]:
            account = str(entry.get("id")) if isinstance(entry, dict) else ""
            owner = channel
            if account and account != channel.phone_number_id:
                other = self._directory.channel_for_account(kind, account)
                if (other is not None and other.enabled and other.kind == kind and verify_signature(
                        self._directory.get_secrets(other).app_secret.get_secret_value(), raw_body, signature)):
                    owner = other
            parts.setdefault(owner.channel_id, (owner, []))[1].append(entry)
        return [(owner, {**body, "entry": entries}) for owner, entries in parts.values() if entries]

    def receive_sms(self, channel_id: str, raw_body: bytes, signature: str | None, url: str) -> IngestOutcome:
        """A Twilio SMS/MMS webhook or status callback: X-Twilio-Signature over the public URL Twilio called and
        the form as received, then one unit. Twilio retries for seconds only: the answer waits for the enqueue."""
        try:
            params = parse_form(raw_body) if len(raw_body) <= self._max_body_bytes else []
        except ValueError as exc:
            raise MalformedForm(str(exc)) from exc
        channel, _ = self._open(
            channel_id, "sms", raw_body, signature,
            lambda s: valid_twilio_signature(s.app_secret.get_secret_value(), url, params, signature),
            f"missing or invalid {TWILIO_SIGNATURE_HEADER}", parse=lambda _raw: params)
        split = split_sms_webhook(params, account_sid=channel.waba_id or "", number=channel.phone_number_id)
        return self._enqueue(channel, raw_body, split, provider="sms")

    def receive_telegram(self, channel_id: str, raw_body: bytes, secret_token: str | None) -> IngestOutcome:
        """A Telegram update: the webhook's secret token first (constant time), then one unit."""
        channel, body = self._open(
            channel_id, "telegram", raw_body, secret_token,
            lambda s: verify_secret_token(s.verify_token.get_secret_value(), secret_token),
            f"missing or wrong {TELEGRAM_SECRET_HEADER}")
        outcome = self._enqueue(channel, raw_body, split_update(body), provider="telegram")
        query = body.get("callback_query") if isinstance(body, dict) else None
        if isinstance(query, dict) and isinstance(query.get("id"), str) and outcome.enqueued:
            outcome.answer_callback = query["id"]
        return outcome

    def _enqueue(self, channel: Channel, raw_body: bytes, split: SplitResult,
                 provider: ChannelKind = "whatsapp") -> IngestOutcome:
        now = self._clock.now()
        received_ms = int(now.timestamp() * 1000)
        queued = [
            queued_unit(channel, kind=draft.kind, provider=provider, payload=draft.payload,
                        contact_key=draft.contact_key, dedup_key=draft.dedup_key, received_at_ms=received_ms,
                        contacts=draft.contacts, value_errors=draft.value_errors)
            for draft in split.units
        ]
        if queued:
            self._queue.enqueue(queued)  # raises EnqueueFailed: not acknowledged, Meta retries
        outcome = IngestOutcome(tenant_id=channel.tenant_id, enqueued=len(queued), ignored=split.ignored)
        if split.rejected:
            reasons = [rejection.reason for rejection in split.rejected]
            self._quarantine.put(tenant_id=channel.tenant_id, channel_id=channel.channel_id, reasons=reasons,
                                 raw_body=raw_body, received_at=now)
            outcome.quarantined = len(reasons)
            outcome.quarantine_reasons = reasons
        return outcome
