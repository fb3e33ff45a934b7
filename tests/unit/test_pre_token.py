"""The Cognito pre-token trigger: federated users get their provider's tenant; native users keep their token."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.cognito_pre_token import handler
from shared.services.users import IdentityProvider, UserService

NOW = datetime(2025, 3, 1, tzinfo=UTC)


@dataclass
class Context:
    function_name: str = "cognito_pre_token"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cognito_pre_token"
    aws_request_id: str = "req-1"


class Providers:
    def __init__(self, *providers: IdentityProvider) -> None:
        self._providers = {p.provider_name: p for p in providers}
        self.lookups: list[str] = []

    def get_provider(self, provider_name: str) -> IdentityProvider | None:
        self.lookups.append(provider_name)
        return self._providers.get(provider_name)


class NoDirectory:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the trigger must not call Cognito ({name})")


@pytest.fixture
def providers() -> Providers:
    return Providers(
        IdentityProvider(provider_name="t-acme-ad", tenant_id="acme", kind="SAML", name="ad", default_role="agent",
                         created_at=NOW),
        # a record whose name does not carry its tenant: never trusted
        IdentityProvider(provider_name="t-acme-odd", tenant_id="globex", kind="OIDC", name="odd",
                         default_role="supervisor", created_at=NOW))


@pytest.fixture(autouse=True)
def service(monkeypatch: pytest.MonkeyPatch, providers: Providers) -> UserService:
    svc = UserService(directory=NoDirectory(), index=providers, clock=None)  # type: ignore[arg-type]
    monkeypatch.setattr(handler, "get_service", lambda: svc)
    return svc


def event(username: str, attributes: dict[str, str], *, groups: list[str] | None = None, version: str = "1",
          source: str = "TokenGeneration_HostedAuth") -> dict[str, Any]:
    return {
        "version": version, "triggerSource": source, "region": "us-east-1", "userPoolId": "us-east-1_Pool",
        "userName": username, "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client"},
        "request": {"userAttributes": {"sub": "s-1", "email": "ana@acme.com", **attributes},
                    "groupConfiguration": {"groupsToOverride": groups or [], "iamRolesToOverride": ["arn:role/x"],
                                           "preferredRole": None}},
        "response": {"claimsOverrideDetails": None} if version == "1" else {"claimsAndScopeOverrideDetails": None},
    }


def federated(provider: str, user_id: str = "ana@acme.com", **extra: str) -> dict[str, str]:
    identities = [{"userId": user_id, "providerName": provider, "providerType": "SAML", "issuer": None,
                   "primary": "true", "dateCreated": "1700000000000"}]
    return {"identities": json.dumps(identities), "cognito:user_status": "EXTERNAL_PROVIDER", **extra}


def run(evt: dict[str, Any]) -> dict[str, Any]:
    return handler.lambda_handler(copy.deepcopy(evt), Context())  # type: ignore[arg-type]


def test_a_native_users_token_is_left_as_it_is(providers: Providers) -> None:
    evt = event("3f1c-uuid", {"custom:tenant_id": "acme", "cognito:user_status": "CONFIRMED"}, groups=["admin"])
    assert run(evt) == evt
    assert providers.lookups == []


def test_a_federated_user_gets_the_providers_tenant_and_default_role() -> None:
    out = run(event("t-acme-ad_ana@acme.com", federated("t-acme-ad")))
    details = out["response"]["claimsOverrideDetails"]
    assert details["claimsToAddOrOverride"] == {"custom:tenant_id": "acme"}
    assert details["groupOverrideDetails"] == {"groupsToOverride": ["agent"], "iamRolesToOverride": ["arn:role/x"],
                                               "preferredRole": None}


def test_a_federated_user_with_a_role_keeps_it() -> None:
    out = run(event("t-acme-ad_ana@acme.com", federated("t-acme-ad"), groups=["supervisor", "night-shift"]))
    details = out["response"]["claimsOverrideDetails"]
    assert details["claimsToAddOrOverride"] == {"custom:tenant_id": "acme"}
    assert "groupOverrideDetails" not in details


def test_a_federated_user_in_other_groups_only_also_gets_the_default_role() -> None:
    out = run(event("t-acme-ad_ana@acme.com", federated("t-acme-ad"), groups=["night-shift"]))
    assert out["response"]["claimsOverrideDetails"]["groupOverrideDetails"]["groupsToOverride"] == [
        "night-shift", "agent"]


def test_a_tenant_sent_by_the_idp_is_replaced_by_the_providers_tenant() -> None:
    out = run(event("t-acme-ad_ana@acme.com", federated("t-acme-ad", **{"custom:tenant_id": "globex"})))
    assert out["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"] == {"custom:tenant_id": "acme"}


@pytest.mark.parametrize("provider", ["t-initech-ad", "t-acme-odd"])
def test_an_unknown_or_inconsistent_provider_gets_no_tenant(provider: str) -> None:
    out = run(event(f"{provider}_ana@acme.com", federated(provider, **{"custom:tenant_id": "acme"})))
    details = out["response"]["claimsOverrideDetails"]
    assert "claimsToAddOrOverride" not in details and "groupOverrideDetails" not in details
    assert "custom:tenant_id" in details["claimsToSuppress"]


def test_a_native_username_that_looks_federated_proves_nothing(providers: Providers) -> None:
    evt = event("t-acme-ad_mallory", {"cognito:user_status": "CONFIRMED"})
    assert run(evt) == evt
    evt = event("t-acme-ad_mallory", federated("t-acme-ad", **{"cognito:user_status": "CONFIRMED"}))
    assert run(evt) == evt
    assert providers.lookups == []


def test_identities_that_do_not_match_the_username_are_ignored() -> None:
    evt = event("someone-else", federated("t-acme-ad"))
    assert run(evt) == evt


def test_other_trigger_sources_are_passed_through() -> None:
    evt = event("t-acme-ad_ana@acme.com", federated("t-acme-ad"), source="PostConfirmation_ConfirmSignUp")
    assert run(evt) == evt


def test_a_v2_event_puts_the_tenant_in_both_tokens_of_a_federated_user() -> None:
    out = run(event("t-acme-ad_ana@acme.com", federated("t-acme-ad"), version="2",
                    source="TokenGeneration_RefreshTokens"))
    details = out["response"]["claimsAndScopeOverrideDetails"]
    assert details["idTokenGeneration"] == {"claimsToAddOrOverride": {"custom:tenant_id": "acme"}}
    assert details["accessTokenGeneration"] == {"claimsToAddOrOverride": {"custom:tenant_id": "acme"}}
    assert details["groupOverrideDetails"]["groupsToOverride"] == ["agent"]


def test_a_v2_event_gives_a_native_users_access_token_its_tenant() -> None:
    out = run(event("3f1c-uuid", {"custom:tenant_id": "acme", "cognito:user_status": "CONFIRMED"}, version="2",
                    groups=["agent"]))
    details = out["response"]["claimsAndScopeOverrideDetails"]
    assert details == {"accessTokenGeneration": {"claimsToAddOrOverride": {"custom:tenant_id": "acme"}}}


def test_a_v2_event_suppresses_the_tenant_of_an_unknown_provider_in_both_tokens() -> None:
    out = run(event("t-initech-ad_x", federated("t-initech-ad"), version="2"))
    details = out["response"]["claimsAndScopeOverrideDetails"]
    for token in ("idTokenGeneration", "accessTokenGeneration"):
        assert details[token] == {"claimsToSuppress": ["custom:tenant_id", "tenant_id"]}
