"""Domain errors. Handlers map them to HTTP answers or batch-item failures in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Base class for errors the domain knows how to name."""


class ChannelNotFound(DomainError):
    pass


class SignatureInvalid(DomainError):
    pass


class PayloadTooLarge(DomainError):
    pass


class MalformedJson(DomainError):
    pass


class EnqueueFailed(DomainError):
    """The durable enqueue failed: the webhook must not be acknowledged (the provider retries)."""


class RetryableError(DomainError):
    """A transient failure: the record is retried later (SQS visibility backoff), never dropped."""

    def __init__(self, message: str, *, delay_s: int | None = None) -> None:
        super().__init__(message)
        self.delay_s = delay_s


class NotYetKnown(RetryableError):
    """Something this record refers to has not been stored yet; retry later."""


class MediaTooLarge(DomainError):
    """A media download exceeded the size limit."""


class VerificationFailed(DomainError):
    """Meta's GET handshake did not match (answered 403)."""
