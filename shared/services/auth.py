"""Authentication for the REST APIs: tenant API keys, agents' JWTs and the platform operator key.

The Lambda authorizer calls `Authenticator.authenticate` once per request; what it returns becomes the
request's principal. The tenant always comes from the credential, never from the request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.errors import Unauthorized
from shared.models.tenancy import ROLE_SCOPES, ApiKey, Principal, Tenant
from shared.ports import Clock

KEY_PREFIX = "ok_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last-used is written at most once a minute per key
CACHE_TTL = timedelta(seconds=60)  # a revoked key or suspended tenant stops working within this


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(secret: str) -> str:
    """API keys are 256-bit random strings, so a plain SHA-256 is a safe, fast lookup key."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class KeyStore(Protocol):
    def get_key(self, hashed: str) -> ApiKey | None: ...

    def touch_key(self, hashed: str, at: datetime, *, older_than: datetime) -> None: ...


class TenantDirectory(Protocol):
    def get_tenant(self, tenant_id: str) -> Tenant | None: ...


class OperatorKeys(Protocol):
    def operator_key_hashes(self) -> frozenset[str]: ...


class JwtVerifier(Protocol):
    def verify(self, token: str) -> dict[str, Any]:
        """Claims of a valid token; raises Unauthorized otherwise."""


def credential(headers: dict[str, str] | None) -> str | None:
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    auth = lowered.get("authorization", "").strip()
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    key = lowered.get("x-api-key", "").strip()
    return key or None


@dataclass
class _Cached:
    value: Any
    until: datetime


class Authenticator:
    def __init__(self, *, keys: KeyStore, tenants: TenantDirectory, operators: OperatorKeys, clock: Clock,
                 jwt: JwtVerifier | None = None) -> None:
        self._keys = keys
        self._tenants = tenants
        self._operators = operators
        self._jwt = jwt
        self._clock = clock
        self._cache: dict[str, _Cached] = {}

    def _cached(self, key: str, load: Any) -> Any:
        now = self._clock.now()
        hit = self._cache.get(key)
        if hit and hit.until > now:
            return hit.value
        value = load()
        if len(self._cache) > 5000:
            self._cache.clear()
        self._cache[key] = _Cached(value, now + CACHE_TTL)
        return value

    def authenticate(self, headers: dict[str, str] | None, path: str) -> Principal:
        token = credential(headers)
        if not token:
            raise Unauthorized("missing credentials: send Authorization: Bearer <key> or X-Api-Key")
        hashed = key_hash(token)
        if path.startswith("/platform/"):
            operators = self._cached("operators", self._operators.operator_key_hashes)
            if not any(hmac.compare_digest(hashed, h) for h in operators):
                raise Unauthorized("not a platform operator credential")
            return Principal(kind="operator", principal_id="operator:" + hashed[:12], scopes=("platform",))
        if token.count(".") == 2 and self._jwt is not None:
            return self._user(token)
        key: ApiKey | None = self._cached("key:" + hashed, lambda: self._keys.get_key(hashed))
        if key is None or key.revoked_at is not None:
            raise Unauthorized("unknown or revoked API key")
        tenant = self._active_tenant(key.tenant_id)
        now = self._clock.now()
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            self._keys.touch_key(hashed, now, older_than=now - LAST_USED_RESOLUTION)
            hit = self._cache.get("key:" + hashed)  # keep the original expiry: revocation shows within CACHE_TTL
            until = hit.until if hit else now + CACHE_TTL
            self._cache["key:" + hashed] = _Cached(key.model_copy(update={"last_used_at": now}), until)
        return Principal(kind="api_key", principal_id="key:" + key.key_id, tenant_id=key.tenant_id,
                         scopes=key.scopes, rate_limit_per_s=tenant.plan.rate_limit_per_s)

    def _active_tenant(self, tenant_id: str) -> Tenant:
        tenant: Tenant | None = self._cached("tenant:" + tenant_id, lambda: self._tenants.get_tenant(tenant_id))
        if tenant is None or tenant.status != "active":
            raise Unauthorized("tenant is suspended or unknown")
        return tenant

    def _user(self, token: str) -> Principal:
        assert self._jwt is not None
        claims = self._jwt.verify(token)
        tenant_id = claims.get("custom:tenant_id") or claims.get("tenant_id")
        if not isinstance(tenant_id, str) or not tenant_id:
            raise Unauthorized("token carries no tenant")
        groups = claims.get("cognito:groups") or []
        role = next((r for r in ("admin", "supervisor", "agent") if r in groups), None)
        if role is None:
            raise Unauthorized("user has no role in this tenant")
        tenant = self._active_tenant(tenant_id)
        return Principal(kind="user", principal_id="user:" + str(claims.get("sub", "")), tenant_id=tenant_id,
                         scopes=ROLE_SCOPES[role], role=role, rate_limit_per_s=tenant.plan.rate_limit_per_s)
