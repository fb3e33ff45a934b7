"""User management against moto server's Cognito and DynamoDB, and real Cognito-issued tokens through the
verifier and the Authenticator (moto signs RS256 tokens and serves the pool's JWKS)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from infra.local.stack import LocalStack
from shared import wiring
from shared.adapters.cognito_users import CognitoUserDirectory
from shared.adapters.dynamodb_tenancy import DynamoTenancy
from shared.adapters.dynamodb_users import DynamoUserIndex
from shared.config import Settings
from shared.errors import Conflict, NotFound, Unauthorized
from shared.models.tenancy import Tenant
from shared.services.auth import Authenticator
from shared.services.users import Actor, UserInvite, UserService, UserUpdate
from tests.integration.conftest import table

pytestmark = pytest.mark.integration

ADMIN = Actor("admin")
PASSWORD = "Sup3r-secret-passw0rd!"


@dataclass(frozen=True)
class Pool:
    pool_id: str
    client_id: str


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture(scope="module")
def cognito(stack: LocalStack) -> Any:
    return boto3.client("cognito-idp", region_name="us-east-1")


@pytest.fixture(scope="module")
def pool(cognito: Any) -> Iterator[Pool]:
    """Configured as the CDK stack must configure it: email sign-in, custom:tenant_id, one group per role."""
    pool_id = cognito.create_user_pool(
        PoolName=f"it-{uuid.uuid4().hex[:8]}", UsernameAttributes=["email"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": True,
                 "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "40"}}])["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="agents", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH",
                                                                   "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["email", "custom:tenant_id"], WriteAttributes=["email"],
        SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]["ClientId"]
    for role in ("admin", "supervisor", "agent"):
        cognito.create_group(UserPoolId=pool_id, GroupName=role)
    yield Pool(pool_id, client_id)
    cognito.delete_user_pool(UserPoolId=pool_id)


@pytest.fixture
def service(stack: LocalStack, cognito: Any, pool: Pool) -> UserService:
    return UserService(directory=CognitoUserDirectory(cognito, pool.pool_id, app_client_id=pool.client_id),
                       index=DynamoUserIndex(table(stack)), clock=SystemClock())


@pytest.fixture
def tenant() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def attributes(cognito: Any, pool: Pool, username: str) -> dict[str, str]:
    user = cognito.admin_get_user(UserPoolId=pool.pool_id, Username=username)
    return {a["Name"]: a["Value"] for a in user["UserAttributes"]}


def groups(cognito: Any, pool: Pool, username: str) -> set[str]:
    found = cognito.admin_list_groups_for_user(UserPoolId=pool.pool_id, Username=username)["Groups"]
    return {g["GroupName"] for g in found}


def test_an_invited_user_is_a_cognito_user_with_its_tenant_and_role_group(service: UserService, cognito: Any,
                                                                           pool: Pool, tenant: str) -> None:
    user = service.invite(tenant, UserInvite(email=f"ana@{tenant}.com", role="supervisor", name="Ana"), ADMIN)
    attrs = attributes(cognito, pool, f"ana@{tenant}.com")
    assert attrs["custom:tenant_id"] == tenant and attrs["email_verified"] == "true" and attrs["sub"] == user.user_id
    assert groups(cognito, pool, f"ana@{tenant}.com") == {"supervisor"}
    assert [u.user_id for u in service.list_users(tenant)] == [user.user_id]
    assert service.get_user(tenant, user.user_id).status == "FORCE_CHANGE_PASSWORD"
    with pytest.raises(NotFound):
        service.get_user("someone-else", user.user_id)
    with pytest.raises(Conflict):
        service.invite("someone-else", UserInvite(email=f"ana@{tenant}.com"), ADMIN)


def active_admins(stack: LocalStack, tenant: str) -> int:
    """The adapter's guard counter (key format from shared/adapters/dynamodb_users.py)."""
    item = table(stack).get_item(Key={"pk": f"T#{tenant}#USERS", "sk": "ROSTER"}).get("Item") or {}
    return int(item.get("active_admins", 0))


def test_the_last_admin_guard_holds_in_dynamodb(stack: LocalStack, service: UserService, cognito: Any, pool: Pool,
                                                tenant: str) -> None:
    first = service.invite(tenant, UserInvite(email=f"one@{tenant}.com", role="admin"), ADMIN)
    with pytest.raises(Conflict, match="last enabled admin"):
        service.update_user(tenant, first.user_id, UserUpdate(role="agent"), Actor("admin", first.user_id))
    second = service.invite(tenant, UserInvite(email=f"two@{tenant}.com", role="admin"), ADMIN)
    demoted = service.update_user(tenant, first.user_id, UserUpdate(role="agent"), Actor("admin", first.user_id))
    assert demoted.role == "agent" and groups(cognito, pool, f"one@{tenant}.com") == {"agent"}
    with pytest.raises(Conflict):
        service.delete_user(tenant, second.user_id, Actor("admin", second.user_id))
    with pytest.raises(Conflict):
        service.update_user(tenant, second.user_id, UserUpdate(enabled=False), ADMIN)
    assert active_admins(stack, tenant) == 1
    assert groups(cognito, pool, f"two@{tenant}.com") == {"admin"}


def test_disable_reset_and_delete_reach_cognito(service: UserService, cognito: Any, pool: Pool, tenant: str) -> None:
    agent = service.invite(tenant, UserInvite(email=f"ana@{tenant}.com"), ADMIN)
    username = f"ana@{tenant}.com"
    cognito.admin_set_user_password(UserPoolId=pool.pool_id, Username=username, Password=PASSWORD, Permanent=True)
    assert service.reset_password(tenant, agent.user_id, ADMIN).action == "password_reset"
    assert cognito.admin_get_user(UserPoolId=pool.pool_id, Username=username)["UserStatus"] == "RESET_REQUIRED"
    assert service.update_user(tenant, agent.user_id, UserUpdate(enabled=False), ADMIN).enabled is False
    assert cognito.admin_get_user(UserPoolId=pool.pool_id, Username=username)["Enabled"] is False
    service.delete_user(tenant, agent.user_id, ADMIN)
    with pytest.raises(cognito.exceptions.UserNotFoundException):
        cognito.admin_get_user(UserPoolId=pool.pool_id, Username=username)
    assert service.list_users(tenant) == []


def test_a_cognito_id_token_authenticates_as_its_tenant(stack: LocalStack, service: UserService, cognito: Any,
                                                        pool: Pool, tenant: str) -> None:
    service.invite(tenant, UserInvite(email=f"boss@{tenant}.com", role="admin"), ADMIN)
    cognito.admin_set_user_password(UserPoolId=pool.pool_id, Username=f"boss@{tenant}.com", Password=PASSWORD,
                                    Permanent=True)
    tokens = cognito.admin_initiate_auth(UserPoolId=pool.pool_id, ClientId=pool.client_id,
                                         AuthFlow="ADMIN_NO_SRP_AUTH",
                                         AuthParameters={"USERNAME": f"boss@{tenant}.com", "PASSWORD": PASSWORD}
                                         )["AuthenticationResult"]
    verifier = wiring.jwt_verifier(Settings(user_pool_id=pool.pool_id, user_pool_client_id=pool.client_id))
    assert verifier is not None
    tenancy = DynamoTenancy(table(stack))
    tenancy.create_tenant(Tenant(tenant_id=tenant, name="IT", created_at=datetime.now(UTC)))

    class NoOperators:
        def operator_key_hashes(self) -> frozenset[str]:
            return frozenset()

    auth = Authenticator(keys=tenancy, tenants=tenancy, operators=NoOperators(), clock=SystemClock(), jwt=verifier)
    who = auth.authenticate({"Authorization": f"Bearer {tokens['IdToken']}"}, "/v1/users")
    assert (who.kind, who.tenant_id, who.role) == ("user", tenant, "admin")
    # a Cognito access token is valid, but carries no custom attribute: it needs the V2 trigger to be usable
    assert verifier.verify(tokens["AccessToken"])["token_use"] == "access"
    with pytest.raises(Unauthorized, match="no tenant"):
        auth.authenticate({"Authorization": f"Bearer {tokens['AccessToken']}"}, "/v1/users")


def test_a_tenants_identity_provider_is_created_enabled_on_the_client_and_resolves_the_tenant(
        service: UserService, cognito: Any, pool: Pool, tenant: str) -> None:
    provider = service.connect_identity_provider(tenant, "SAML", "ad", metadata_url="https://adfs.example.com/md")
    described = cognito.describe_identity_provider(UserPoolId=pool.pool_id, ProviderName=f"t-{tenant}-ad")
    assert described["IdentityProvider"]["ProviderType"] == "SAML"
    client = cognito.describe_user_pool_client(UserPoolId=pool.pool_id, ClientId=pool.client_id)["UserPoolClient"]
    assert f"t-{tenant}-ad" in client["SupportedIdentityProviders"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]  # kept
    identities = f'[{{"providerName": "t-{tenant}-ad", "userId": "ana", "primary": "true"}}]'
    overrides = service.token_overrides(username=f"t-{tenant}-ad_ana", groups=[],
                                        user_attributes={"identities": identities})
    assert overrides.id_claims == {"custom:tenant_id": tenant} and overrides.groups == ("agent",)
    assert provider.tenant_id == tenant
