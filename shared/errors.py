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


class MalformedForm(MalformedJson):
    """A form-encoded webhook body (Twilio) that cannot be read: answered 400 like malformed JSON."""


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


class StaleBroadcast(DomainError):
    """A broadcast changed since it was read (optimistic version check); read it again."""


class VerificationFailed(DomainError):
    """Meta's GET handshake did not match (answered 403)."""


# --- API errors: each maps to one application/problem+json answer with a stable `code` ---------------

class ApiProblem(DomainError):
    """An error the REST API returns as RFC 9457 problem+json."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(ApiProblem):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ApiProblem):
    status, code, title = 409, "conflict", "Conflict"


class InvalidInput(ApiProblem):
    status, code, title = 422, "invalid_input", "Invalid input"


class TemplateRequired(InvalidInput):
    """Free-form content outside the 24-hour customer-service window: only a template can be sent."""

    code, title = "template_required", "Template required"


class WindowClosed(InvalidInput):
    """Messenger/Instagram: past the 24-hour standard window only a person may reply, for 7 days."""

    code, title = "window_closed", "Messaging window closed"


class Forbidden(ApiProblem):
    status, code, title = 403, "forbidden", "Forbidden"


class Unauthorized(ApiProblem):
    status, code, title = 401, "unauthorized", "Unauthorized"


class PlanLimitReached(ApiProblem):
    status, code, title = 402, "plan_limit_reached", "Plan limit reached"


class RateLimited(ApiProblem):
    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class PreconditionFailed(ApiProblem):
    status, code, title = 412, "precondition_failed", "Precondition failed"
