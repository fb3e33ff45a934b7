"""One-time codes sent to a customer (WhatsApp, SMS, e-mail) to confirm an operation.

    code, state = issue(now=now, pepper=pepper)          # send `code`; store state.to_dict()
    result, state = check(state, typed, now=now, pepper=pepper)  # store the new state again

The state never holds the code: only HMAC-SHA256(pepper, "otp1:<expires_at>:<code>") in hex, the expiry
and the attempts left, and it is JSON-serializable (`to_dict` / `from_dict`). `pepper` is a server-side
secret kept out of the database, so a leaked state does not reveal the code.

`check` results, in this order of precedence:
    locked   no attempts left (a used code is locked too: codes work once)
    expired  `now` is at or past `expires_at` (attempts are not spent)
    ok       the code matches; the returned state has no attempts left
    wrong    it does not; one attempt is spent (`attempts_left` tells how many remain; 0 -> next is locked)
What the customer typed is normalized first (spaces and dashes removed: "123 456", "123-456"); any input,
well-formed or not, spends an attempt when it does not match. The comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

_VERSION = 1
_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2014\u2212]+")

OtpKind = Literal["ok", "wrong", "expired", "locked"]


class RandomSource(Protocol):
    def randbelow(self, exclusive_upper_bound: int, /) -> int: ...


@dataclass(frozen=True)
class OtpState:
    code_mac: str  # hex HMAC-SHA256 of the code
    expires_at: int  # unix seconds
    attempts_left: int

    def to_dict(self) -> dict[str, Any]:
        return {"v": _VERSION, "code_mac": self.code_mac, "expires_at": self.expires_at,
                "attempts_left": self.attempts_left}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OtpState:
        try:
            code_mac, expires_at, attempts_left = data["code_mac"], data["expires_at"], data["attempts_left"]
        except (KeyError, TypeError):
            raise ValueError("not an OTP state") from None
        if data.get("v", _VERSION) != _VERSION or not isinstance(code_mac, str) \
                or not re.fullmatch(r"[0-9a-f]{64}", code_mac) \
                or any(isinstance(v, bool) or not isinstance(v, int) for v in (expires_at, attempts_left)):
            raise ValueError("not an OTP state")
        return cls(code_mac=code_mac, expires_at=expires_at, attempts_left=max(0, attempts_left))


@dataclass(frozen=True)
class OtpCheck:
    kind: OtpKind
    attempts_left: int

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def _mac(pepper: bytes, expires_at: int, code: str) -> str:
    return hmac.new(pepper, f"otp{_VERSION}:{expires_at}:{code}".encode(), hashlib.sha256).hexdigest()


def normalize(code: str) -> str:
    """What the customer typed without spaces and dashes."""
    return _SEPARATORS.sub("", code)


def issue(*, length: int = 6, ttl_s: int = 300, max_attempts: int = 3, now: int, pepper: bytes,
          rng: RandomSource = secrets) -> tuple[str, OtpState]:
    """A new code of `length` digits (leading zeros possible) and the state to store."""
    if not 4 <= length <= 12:
        raise ValueError("length must be between 4 and 12 digits")
    if ttl_s <= 0 or max_attempts <= 0:
        raise ValueError("ttl_s and max_attempts must be positive")
    if not pepper:
        raise ValueError("a pepper is required")
    code = "".join(str(rng.randbelow(10)) for _ in range(length))
    expires_at = int(now) + int(ttl_s)
    return code, OtpState(code_mac=_mac(pepper, expires_at, code), expires_at=expires_at,
                          attempts_left=max_attempts)


def check(state: OtpState, code: str, *, now: int, pepper: bytes) -> tuple[OtpCheck, OtpState]:
    """Check what the customer typed; returns the result and the state to store (see the module doc)."""
    if state.attempts_left <= 0:
        return OtpCheck("locked", 0), state
    if now >= state.expires_at:
        return OtpCheck("expired", state.attempts_left), state
    typed = normalize(code if isinstance(code, str) else "")
    matches = hmac.compare_digest(_mac(pepper, state.expires_at, typed), state.code_mac)
    if matches:
        return OtpCheck("ok", 0), replace(state, attempts_left=0)
    left = state.attempts_left - 1
    return OtpCheck("wrong", left), replace(state, attempts_left=left)
