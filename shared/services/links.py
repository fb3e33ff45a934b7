"""Signed, expiring self-service links unique to one customer ("descargá tu estado de cuenta", "pagá acá").

Token format (URL-safe, no padding):

    base64url(compact JSON payload) "." base64url(HMAC-SHA256(secret, <the first part as ASCII>))

The payload is {"c": contact_id, "exp": expires_at (unix seconds), "n": nonce, "p": purpose, "t": tenant_id,
"v": 1} with sorted keys. The nonce is random unless given, so every link is unique and can be made
single-use by remembering the nonces already used. The payload is signed, not encrypted: it holds ids,
never personal data.

`verify_link` checks, in this order: the shape (`malformed`), the signature against each secret in turn,
in constant time (`bad_signature`), then the expiry (`expired`) and, when asked, the purpose
(`wrong_purpose`). Key rotation: sign with the newest secret and verify with `secrets=[new, old]` during
the grace period.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets as _random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

VERSION = 1
MAX_TOKEN_CHARS = 2048
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_SIGNATURE_CHARS = 43  # 32 bytes in unpadded base64url


class InvalidLink(ValueError):
    """The token cannot be used; `reason` is malformed, bad_signature, expired or wrong_purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkClaims:
    tenant_id: str
    contact_id: str
    purpose: str
    expires_at: int
    nonce: str


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _B64URL.match(text):
        raise InvalidLink("malformed")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidLink("malformed") from None


def _mac(secret: bytes, signed_part: str) -> bytes:
    return hmac.new(secret, signed_part.encode("ascii"), hashlib.sha256).digest()


def sign_link(*, secret: bytes, tenant_id: str, contact_id: str, purpose: str, expires_at: int,
              nonce: str | None = None) -> str:
    """A token for this customer and purpose, valid until `expires_at` (unix seconds, exclusive)."""
    if not secret:
        raise ValueError("an empty secret cannot sign links")
    for name, value in (("tenant_id", tenant_id), ("contact_id", contact_id), ("purpose", purpose)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} is required")
    if isinstance(expires_at, bool) or not isinstance(expires_at, int):
        raise ValueError("expires_at must be unix seconds (int)")
    payload = {"c": contact_id, "exp": expires_at, "n": nonce if nonce is not None else _random.token_urlsafe(12),
               "p": purpose, "t": tenant_id, "v": VERSION}
    body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode())
    token = f"{body}.{_b64encode(_mac(secret, body))}"
    if len(token) > MAX_TOKEN_CHARS:
        raise ValueError("the link payload is too long")
    return token


def _claims(payload: Any) -> LinkClaims:
    if not isinstance(payload, dict) or payload.get("v") != VERSION:
        raise InvalidLink("malformed")
    texts = [payload.get(key) for key in ("t", "c", "p", "n")]
    expires_at = payload.get("exp")
    if not all(isinstance(text, str) for text in texts) or isinstance(expires_at, bool) \
            or not isinstance(expires_at, int):
        raise InvalidLink("malformed")
    tenant_id, contact_id, purpose, nonce = (str(text) for text in texts)
    return LinkClaims(tenant_id=tenant_id, contact_id=contact_id, purpose=purpose, expires_at=expires_at,
                      nonce=nonce)


def verify_link(token: str, *, secret: bytes | None = None, secrets: Sequence[bytes] | None = None, now: int,
                purpose: str | None = None) -> LinkClaims:
    """The claims of a valid token; raises InvalidLink(reason). Give `secret`, or `secrets` (newest first)
    during a key rotation. With `purpose`, a token signed for another purpose is `wrong_purpose`."""
    keys = [secret] if secret is not None else list(secrets or [])
    if (secret is not None and secrets is not None) or not keys or not all(keys):
        raise ValueError("give exactly one of secret= or secrets=, with non-empty keys")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise InvalidLink("malformed")
    body, signature_text = token.split(".")
    if not body or len(signature_text) != _SIGNATURE_CHARS:
        raise InvalidLink("malformed")
    signature = _b64decode(signature_text)
    if _b64encode(signature) != signature_text:  # one spelling per signature (no malleable trailing bits)
        raise InvalidLink("malformed")
    _b64decode(body)  # shape check before spending HMACs
    matches = [hmac.compare_digest(_mac(key, body), signature) for key in keys]  # every key: no early exit
    if not any(matches):
        raise InvalidLink("bad_signature")
    try:
        payload = json.loads(_b64decode(body))
    except (ValueError, UnicodeDecodeError):
        raise InvalidLink("malformed") from None
    claims = _claims(payload)
    if now >= claims.expires_at:
        raise InvalidLink("expired")
    if purpose is not None and not hmac.compare_digest(claims.purpose.encode(), purpose.encode()):
        raise InvalidLink("wrong_purpose")
    return claims


def link_url(base_url: str, token: str) -> str:
    """`base_url` with the token as its `t` query parameter (other parameters and the fragment are kept)."""
    parts = urlsplit(base_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "t"]
    query.append(("t", token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment))
