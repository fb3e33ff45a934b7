"""Classify Graph API errors: retry transient ones with backoff, record permanent ones once."""

from __future__ import annotations

from shared.ports import ProviderErrorKind

# Throttling and transient platform errors (channels.md 1.7).
RETRYABLE_CODES = frozenset({
    4,  # app call rate limit
    80007,  # WABA rate limit
    130429,  # throughput exceeded
    131056,  # pair rate limit (this recipient)
    131000,  # something went wrong
    131016,  # service unavailable
    131057,  # account in maintenance (throughput upgrade)
    135000,  # generic user error, documented as retryable with backoff
    2,  # temporary API error
    32,  # Messenger: Page request limit reached
    613,  # Messenger: calls to this API exceeded the rate limit
})
# Permanent errors that need a human (token, account, payment): counted as alerts.
ALERT_CODES = frozenset({0, 190, 131031, 368, 131042, 10, 200})


def classify(http_status: int | None, code: int | None) -> ProviderErrorKind:
    if code in RETRYABLE_CODES:
        return ProviderErrorKind.RETRYABLE
    if http_status is None or http_status == 429 or http_status >= 500:
        return ProviderErrorKind.RETRYABLE  # timeouts, connection errors, throttling, server errors
    return ProviderErrorKind.PERMANENT


def needs_alert(code: int | None) -> bool:
    return code in ALERT_CODES


def backoff_seconds(attempt: int, *, base_s: int, max_s: int, retry_after_s: int | None = None) -> int:
    """Exponential backoff (base * 2^(attempt-1)), honouring Retry-After, capped."""
    delay = base_s * (2 ** max(attempt - 1, 0))
    if retry_after_s:
        delay = max(delay, retry_after_s)
    return int(min(delay, max_s))
