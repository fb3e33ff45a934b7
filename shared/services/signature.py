"""Meta webhook authenticity: the verification handshake and X-Hub-Signature-256 (pure functions)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "x-hub-signature-256"
_PREFIX = "sha256="


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup (API Gateway v2 lowercases names; other callers may not)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def sign(app_secret: str, raw_body: bytes) -> str:
    """The header value Meta sends: sha256=<hex HMAC-SHA256 of the raw body keyed by the app secret>."""
    return _PREFIX + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: str, raw_body: bytes, signature_header: str | None) -> bool:
    """Constant-time check of X-Hub-Signature-256 over the exact bytes received."""
    if not signature_header or not signature_header.startswith(_PREFIX) or not app_secret:
        return False
    received = signature_header[len(_PREFIX):].strip().lower()
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.encode(), expected.encode())


def verify_challenge(params: Mapping[str, str] | None, verify_token: str) -> str | None:
    """Meta's GET handshake: the challenge to echo when mode and token match, else None."""
    params = params or {}
    mode = params.get("hub.mode")
    token = params.get("hub.verify_token")
    challenge = params.get("hub.challenge")
    if mode != "subscribe" or token is None or challenge is None or not verify_token:
        return None
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    return challenge
