"""Authenticator: API keys (Bearer and X-Api-Key), the operator key, revocation, suspension, the cache and
the last-used write, over in-memory tenancy fakes and an advancing clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.errors import Unauthorized
from shared.models.tenancy import ROLE_SCOPES, ApiKey, Plan, Tenant
from shared.services.auth import CACHE_TTL, Authenticator, key_hash
from tests.unit.fakes_crm import T0, FakeClock, FakeOperators, InMemoryTenancy

OPERATOR_KEY = "op_" + "o" * 40
ACME_KEY = "ok_" + "a" * 43
GLOBEX_KEY = "ok_" + "g" * 43
CONTACTS = "/v1/contacts"


class Env:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.tenancy = InMemoryTenancy()
        for tenant_id, rate in (("acme", 7), ("globex", 20)):
            self.tenancy.create_tenant(Tenant(tenant_id=tenant_id, name=tenant_id, created_at=T0,
                                              plan=Plan(rate_limit_per_s=rate)))
        self.put("acme", ACME_KEY, key_id="key_acme", scopes=("contacts:read",))
        self.put("globex", GLOBEX_KEY, key_id="key_globex")
        self.auth = Authenticator(keys=self.tenancy, tenants=self.tenancy, operators=FakeOperators(OPERATOR_KEY),
                                  clock=self.clock)

    def put(self, tenant_id: str, raw: str, *, key_id: str, scopes: tuple[str, ...] = ("contacts:read",
                                                                                        "contacts:write"),
            **extra: Any) -> None:
        self.tenancy.put_key(key_hash(raw), ApiKey(key_id=key_id, tenant_id=tenant_id, name=key_id, scopes=scopes,
                                                   hint=raw[:7], created_at=T0, **extra))

    def revoke(self, key_id: str, tenant_id: str = "acme") -> None:
        assert self.tenancy.revoke_key(tenant_id, key_id, self.clock.peek()) is not None

    def suspend(self, tenant_id: str = "acme") -> None:
        self.tenancy.update_tenant(tenant_id, status="suspended", reason="unpaid")


@pytest.fixture
def env() -> Env:
    return Env()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- credentials ----------------------------------------------------------------------------------------

def test_a_bearer_api_key_authenticates_as_its_tenant(env: Env) -> None:
    principal = env.auth.authenticate(bearer(ACME_KEY), CONTACTS)

    assert (principal.kind, principal.tenant_id, principal.principal_id) == ("api_key", "acme", "key:key_acme")
    assert principal.scopes == ("contacts:read",)
    assert principal.rate_limit_per_s == 7


@pytest.mark.parametrize("headers", [
    {"X-Api-Key": ACME_KEY},
    {"x-api-key": f"  {ACME_KEY} "},
    {"authorization": f"bearer {ACME_KEY}"},
])
def test_an_api_key_is_accepted_in_either_header(env: Env, headers: dict[str, str]) -> None:
    assert env.auth.authenticate(headers, CONTACTS).tenant_id == "acme"


def test_the_tenant_comes_from_the_key_never_from_the_request(env: Env) -> None:
    principal = env.auth.authenticate({**bearer(GLOBEX_KEY), "X-Tenant-Id": "acme"}, "/v1/tenants/acme/contacts")

    assert principal.tenant_id == "globex"
    assert principal.rate_limit_per_s == 20


@pytest.mark.parametrize("headers", [None, {}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"},
                                     {"X-Api-Key": ""}])
def test_missing_credentials_are_unauthorized(env: Env, headers: dict[str, str] | None) -> None:
    with pytest.raises(Unauthorized):
        env.auth.authenticate(headers, CONTACTS)


def test_an_unknown_key_is_unauthorized(env: Env) -> None:
    with pytest.raises(Unauthorized):
        env.auth.authenticate(bearer("ok_" + "z" * 43), CONTACTS)


def test_a_revoked_key_is_unauthorized(env: Env) -> None:
    env.revoke("key_acme")

    with pytest.raises(Unauthorized):
        env.auth.authenticate(bearer(ACME_KEY), CONTACTS)


def test_a_key_of_a_suspended_tenant_is_unauthorized(env: Env) -> None:
    env.suspend("acme")

    with pytest.raises(Unauthorized):
        env.auth.authenticate(bearer(ACME_KEY), CONTACTS)
    assert env.auth.authenticate(bearer(GLOBEX_KEY), CONTACTS).tenant_id == "globex"


def test_a_key_of_an_unknown_tenant_is_unauthorized(env: Env) -> None:
    env.put("deleted", "ok_" + "d" * 43, key_id="key_deleted")

    with pytest.raises(Unauthorized):
        env.auth.authenticate(bearer("ok_" + "d" * 43), CONTACTS)


# --- the operator key -----------------------------------------------------------------------------------

def test_the_operator_key_is_accepted_on_platform_paths(env: Env) -> None:
    principal = env.auth.authenticate(bearer(OPERATOR_KEY), "/platform/tenants")

    assert (principal.kind, principal.tenant_id, principal.scopes) == ("operator", None, ("platform",))


def test_the_operator_key_is_refused_outside_platform_paths(env: Env) -> None:
    with pytest.raises(Unauthorized):
        env.auth.authenticate(bearer(OPERATOR_KEY), CONTACTS)


def test_a_tenant_key_is_never_accepted_on_platform_paths(env: Env) -> None:
    for path in ("/platform/tenants", "/platform/tenants/acme/keys"):
        with pytest.raises(Unauthorized):
            env.auth.authenticate(bearer(ACME_KEY), path)
        with pytest.raises(Unauthorized):
            env.auth.authenticate({"X-Api-Key": ACME_KEY}, path)


# --- last used and the cache ----------------------------------------------------------------------------

def test_last_used_is_written_at_most_once_a_minute(env: Env) -> None:
    hashed = key_hash(ACME_KEY)

    for _ in range(5):
        env.auth.authenticate(bearer(ACME_KEY), CONTACTS)
        env.clock.advance(seconds=10)  # requests at t0 .. t0+40
    env.clock.advance(seconds=11)  # t0+61
    env.auth.authenticate(bearer(ACME_KEY), CONTACTS)
    env.auth.authenticate(bearer(ACME_KEY), CONTACTS)

    assert env.tenancy.touches == [(hashed, T0), (hashed, T0 + timedelta(seconds=61))]
    assert env.tenancy.keys[hashed].last_used_at == T0 + timedelta(seconds=61)


def test_a_key_used_recently_elsewhere_is_not_touched_again(env: Env) -> None:
    env.put("acme", "ok_" + "r" * 43, key_id="key_recent", last_used_at=T0 - timedelta(seconds=20))

    env.auth.authenticate(bearer("ok_" + "r" * 43), CONTACTS)

    assert env.tenancy.touches == []


def test_lookups_are_cached_within_the_ttl(env: Env) -> None:
    env.auth.authenticate(bearer(ACME_KEY), CONTACTS)
    env.clock.advance(seconds=59)
    env.auth.authenticate(bearer(ACME_KEY), CONTACTS)

    assert env.tenancy.key_reads == 1
    assert env.tenancy.tenant_reads == 1


def test_a_revocation_is_visible_once_the_cache_expires(env: Env) -> None:
    env.auth.authenticate(bearer(ACME_KEY), CONTACTS)
    env.clock.advance(seconds=1)
    env.revoke("key_acme")

    env.clock.advance(seconds=30)
    env.auth.authenticate(bearer(ACME_KEY), CONTACTS)  # still cached: tolerated up to the TTL
    env.clock.advance(CACHE_TTL - timedelta(seconds=30))

    with pytest.raises(Unauthorized):
        env.auth.authenticate(bearer(ACME_KEY), CONTACTS)


def test_a_suspension_is_visible_once_the_cache_expires(env: Env) -> None:
    env.auth.authenticate(bearer(ACME_KEY), CONTACTS)
    env.suspend("acme")
    env.clock.advance(CACHE_TTL)

    with pytest.raises(Unauthorized):
        env.auth.authenticate(bearer(ACME_KEY), CONTACTS)


def test_a_revocation_is_visible_within_the_ttl_even_when_last_used_is_refreshed(env: Env) -> None:
    raw = "ok_" + "e" * 43
    env.put("acme", raw, key_id="key_elsewhere", last_used_at=T0 - timedelta(seconds=30))  # another instance
    env.auth.authenticate(bearer(raw), CONTACTS)  # t0: loaded, cached until t0+60, no touch
    env.clock.advance(seconds=1)
    env.revoke("key_elsewhere")  # t0+1
    env.clock.advance(seconds=29)
    env.auth.authenticate(bearer(raw), CONTACTS)  # t0+30: cached, last-used is a minute old -> touched
    env.clock.advance(CACHE_TTL - timedelta(seconds=29))  # t0+61: the revocation is CACHE_TTL old

    with pytest.raises(Unauthorized):
        env.auth.authenticate(bearer(raw), CONTACTS)


# --- users (JWT) ----------------------------------------------------------------------------------------

class FakeJwt:
    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims

    def verify(self, token: str) -> dict[str, Any]:
        if token != "h.p.s":
            raise Unauthorized("bad token")
        return self.claims


def test_a_user_token_carries_its_tenant_and_role_scopes(env: Env) -> None:
    auth = Authenticator(keys=env.tenancy, tenants=env.tenancy, operators=FakeOperators(), clock=env.clock,
                         jwt=FakeJwt({"sub": "u1", "custom:tenant_id": "acme", "cognito:groups": ["agent"]}))

    principal = auth.authenticate(bearer("h.p.s"), CONTACTS)

    assert (principal.kind, principal.tenant_id, principal.role) == ("user", "acme", "agent")
    assert principal.scopes == ROLE_SCOPES["agent"]


def test_a_user_of_a_suspended_tenant_is_unauthorized(env: Env) -> None:
    env.suspend("acme")
    auth = Authenticator(keys=env.tenancy, tenants=env.tenancy, operators=FakeOperators(), clock=env.clock,
                         jwt=FakeJwt({"sub": "u1", "custom:tenant_id": "acme", "cognito:groups": ["admin"]}))

    with pytest.raises(Unauthorized):
        auth.authenticate(bearer("h.p.s"), CONTACTS)
