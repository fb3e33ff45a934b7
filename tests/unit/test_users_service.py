"""UserService over fakes of Cognito and the per-tenant index: invitations, roles, the last-admin guard,
tenant isolation and federation."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from shared.errors import ApiProblem, Conflict, Forbidden, InvalidInput, NotFound
from shared.models.tenancy import ROLE_SCOPES, Principal
from shared.services.users import (
    Actor,
    DirectoryUser,
    IdentityProvider,
    ProviderAlreadyExists,
    ProviderKind,
    Role,
    UserAlreadyExists,
    UserInvite,
    UserRecord,
    UserService,
    UserUpdate,
    WriteOutcome,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ADMIN = Actor("admin")
SUPERVISOR = Actor("supervisor", "sub-sup")


class FixedClock:
    def now(self) -> datetime:
        return NOW


@dataclass
class CognitoUser:
    user: DirectoryUser
    groups: set[str] = field(default_factory=set)


class FakeDirectory:
    """Cognito as the service sees it."""

    def __init__(self) -> None:
        self.users: dict[str, CognitoUser] = {}
        self.providers: dict[str, dict[str, object]] = {}
        self.client_providers: list[str] = ["COGNITO"]
        self.calls: list[tuple[str, str]] = []
        self.fail_on: set[str] = set()
        self._ids = itertools.count(1)

    def _maybe_fail(self, op: str) -> None:
        if op in self.fail_on:
            raise RuntimeError(f"cognito {op} failed")

    def create_user(self, *, email: str, tenant_id: str, name: str | None) -> DirectoryUser:
        self._maybe_fail("create_user")
        if any(u.user.email == email for u in self.users.values()):
            raise UserAlreadyExists(email)
        n = next(self._ids)
        user = DirectoryUser(username=f"uname-{n}", sub=f"sub-{n}", email=email, status="FORCE_CHANGE_PASSWORD",
                             enabled=True, created_at=NOW, tenant_id=tenant_id, name=name)
        self.users[user.username] = CognitoUser(user)
        self.calls.append(("create_user", email))
        return user

    def resend_invitation(self, username: str) -> None:
        self.calls.append(("resend_invitation", username))

    def get_user(self, username: str) -> DirectoryUser | None:
        found = self.users.get(username)
        return found.user if found else None

    def set_role(self, username: str, role: Role) -> None:
        self._maybe_fail("set_role")
        groups = self.users[username].groups
        groups -= {"admin", "supervisor", "agent"}
        groups.add(role)

    def set_enabled(self, username: str, enabled: bool) -> None:
        self._maybe_fail("set_enabled")
        entry = self.users[username]
        entry.user = replace(entry.user, enabled=enabled)

    def reset_password(self, username: str) -> None:
        self.calls.append(("reset_password", username))

    def delete_user(self, username: str) -> None:
        self._maybe_fail("delete_user")
        self.users.pop(username, None)

    def create_identity_provider(self, *, provider_name: str, kind: ProviderKind, details: dict[str, str],
                                 attribute_mapping: dict[str, str]) -> None:
        self._maybe_fail("create_identity_provider")
        if provider_name in self.providers:
            raise ProviderAlreadyExists(provider_name)
        self.providers[provider_name] = {"kind": kind, "details": details, "mapping": attribute_mapping}

    def delete_identity_provider(self, provider_name: str) -> None:
        self.providers.pop(provider_name, None)

    def enable_provider_on_client(self, provider_name: str) -> None:
        self._maybe_fail("enable_provider_on_client")
        self.client_providers.append(provider_name)


class FakeIndex:
    """The DynamoDB index with the same guard semantics as DynamoUserIndex (an enabled-admin counter)."""

    def __init__(self) -> None:
        self.users: dict[tuple[str, str], UserRecord] = {}
        self.admins: dict[str, int] = {}
        self.providers: dict[str, IdentityProvider] = {}

    @staticmethod
    def _counts(user: UserRecord) -> int:
        return 1 if user.role == "admin" and user.enabled else 0

    def _move(self, tenant_id: str, delta: int) -> bool:
        current = self.admins.get(tenant_id, 0)
        if delta < 0 and current <= 1:
            return False
        self.admins[tenant_id] = current + delta
        return True

    def add_user(self, user: UserRecord) -> bool:
        if (user.tenant_id, user.user_id) in self.users:
            return False
        self._move(user.tenant_id, self._counts(user))
        self.users[(user.tenant_id, user.user_id)] = user
        return True

    def get_user(self, tenant_id: str, user_id: str) -> UserRecord | None:
        return self.users.get((tenant_id, user_id))

    def list_users(self, tenant_id: str) -> list[UserRecord]:
        return [u for (t, _), u in self.users.items() if t == tenant_id]

    def _stale(self, user: UserRecord) -> bool:
        stored = self.users.get((user.tenant_id, user.user_id))
        return stored is None or (stored.role, stored.enabled) != (user.role, user.enabled)

    def replace_user(self, before: UserRecord, after: UserRecord) -> WriteOutcome:
        if self._stale(before):
            return WriteOutcome.STALE
        if not self._move(after.tenant_id, self._counts(after) - self._counts(before)):
            return WriteOutcome.LAST_ADMIN
        self.users[(after.tenant_id, after.user_id)] = after
        return WriteOutcome.OK

    def remove_user(self, user: UserRecord) -> WriteOutcome:
        if self._stale(user):
            return WriteOutcome.STALE
        if not self._move(user.tenant_id, -self._counts(user)):
            return WriteOutcome.LAST_ADMIN
        del self.users[(user.tenant_id, user.user_id)]
        return WriteOutcome.OK

    def add_provider(self, provider: IdentityProvider) -> bool:
        if provider.provider_name in self.providers:
            return False
        self.providers[provider.provider_name] = provider
        return True

    def get_provider(self, provider_name: str) -> IdentityProvider | None:
        return self.providers.get(provider_name)

    def remove_provider(self, provider_name: str) -> None:
        self.providers.pop(provider_name, None)

    def list_providers(self, tenant_id: str) -> list[IdentityProvider]:
        return [p for p in self.providers.values() if p.tenant_id == tenant_id]


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def index() -> FakeIndex:
    return FakeIndex()


@pytest.fixture
def service(directory: FakeDirectory, index: FakeIndex) -> UserService:
    return UserService(directory=directory, index=index, clock=FixedClock())


def invite(service: UserService, email: str, role: Role = "agent", tenant: str = "acme",
           actor: Actor = ADMIN) -> str:
    return service.invite(tenant, UserInvite(email=email, role=role), actor).user_id


def confirm(directory: FakeDirectory, user_id: str) -> None:
    """The user signed in once and chose a password."""
    entry = next(u for u in directory.users.values() if u.user.sub == user_id)
    entry.user = replace(entry.user, status="CONFIRMED")


# --- who may manage users -----------------------------------------------------------------------------

@pytest.mark.parametrize(("principal", "role"), [
    (Principal(kind="api_key", principal_id="key:k1", tenant_id="acme", scopes=("admin",)), "admin"),
    (Principal(kind="user", principal_id="user:s1", tenant_id="acme", scopes=ROLE_SCOPES["admin"], role="admin"),
     "admin"),
    (Principal(kind="user", principal_id="user:s2", tenant_id="acme", scopes=ROLE_SCOPES["supervisor"],
               role="supervisor"), "supervisor"),
])
def test_admins_and_supervisors_are_actors(principal: Principal, role: str) -> None:
    assert Actor.of(principal).role == role


@pytest.mark.parametrize("principal", [
    Principal(kind="user", principal_id="user:s3", tenant_id="acme", scopes=ROLE_SCOPES["agent"], role="agent"),
    Principal(kind="api_key", principal_id="key:k2", tenant_id="acme", scopes=("contacts:write",), role="supervisor"),
])
def test_agents_and_non_admin_keys_cannot_manage_users(principal: Principal) -> None:
    with pytest.raises(Forbidden):
        Actor.of(principal)


# --- invitations --------------------------------------------------------------------------------------

def test_an_invitation_creates_the_cognito_user_in_its_role_group_and_indexes_it(
        service: UserService, directory: FakeDirectory, index: FakeIndex) -> None:
    user = service.invite("acme", UserInvite(email=" Ana@Example.COM ", role="supervisor", name="Ana"), ADMIN)
    assert (user.email, user.role, user.status, user.name) == ("ana@example.com", "supervisor",
                                                                "FORCE_CHANGE_PASSWORD", "Ana")
    cognito = directory.users["uname-1"]
    assert cognito.user.tenant_id == "acme" and cognito.groups == {"supervisor"}
    assert index.get_user("acme", user.user_id) is not None
    assert service.get_user("acme", user.user_id) == user


def test_an_email_already_in_the_pool_is_a_conflict(service: UserService) -> None:
    invite(service, "ana@example.com")
    with pytest.raises(Conflict):
        invite(service, "ana@example.com", tenant="globex")


def test_a_failed_invitation_leaves_no_cognito_user_behind(service: UserService, directory: FakeDirectory,
                                                           index: FakeIndex) -> None:
    directory.fail_on.add("set_role")
    with pytest.raises(RuntimeError):
        invite(service, "ana@example.com")
    assert directory.users == {} and index.users == {}


def test_supervisors_invite_agents_and_supervisors_but_never_admins(service: UserService) -> None:
    invite(service, "agent@example.com", "agent", actor=SUPERVISOR)
    invite(service, "sup@example.com", "supervisor", actor=SUPERVISOR)
    with pytest.raises(Forbidden):
        invite(service, "boss@example.com", "admin", actor=SUPERVISOR)


def test_invalid_emails_and_unknown_fields_are_refused() -> None:
    with pytest.raises(ValueError):
        UserInvite(email="not-an-email")
    with pytest.raises(ValueError):
        UserInvite.model_validate({"email": "a@example.com", "tenant_id": "globex"})
    with pytest.raises(ValueError):
        UserUpdate()


# --- tenant isolation ---------------------------------------------------------------------------------

def test_users_are_listed_per_tenant(service: UserService) -> None:
    a = invite(service, "a@acme.com")
    invite(service, "g@globex.com", tenant="globex")
    assert [u.user_id for u in service.list_users("acme")] == [a]


def test_another_tenants_user_is_not_found_and_never_changed(service: UserService, directory: FakeDirectory) -> None:
    victim = invite(service, "boss@acme.com", "admin")
    confirm(directory, victim)
    with pytest.raises(NotFound):
        service.get_user("globex", victim)
    with pytest.raises(NotFound):
        service.update_user("globex", victim, UserUpdate(enabled=False), ADMIN)
    with pytest.raises(NotFound):
        service.reset_password("globex", victim, ADMIN)
    with pytest.raises(NotFound):
        service.delete_user("globex", victim, ADMIN)
    assert service.get_user("acme", victim).enabled
    assert directory.users["uname-1"].groups == {"admin"} and directory.calls == [("create_user", "boss@acme.com")]


def test_an_index_entry_pointing_at_another_tenants_cognito_user_is_not_found(
        service: UserService, directory: FakeDirectory, index: FakeIndex) -> None:
    victim = invite(service, "g@globex.com", tenant="globex")
    stored = index.get_user("globex", victim)
    assert stored is not None
    index.users[("acme", victim)] = stored.model_copy(update={"tenant_id": "acme"})  # a corrupted index row
    with pytest.raises(NotFound):
        service.update_user("acme", victim, UserUpdate(role="admin"), ADMIN)
    assert directory.users[stored.username].groups == {"agent"}


# --- roles and the last-admin guard -------------------------------------------------------------------

def test_a_role_change_moves_the_user_to_the_new_group(service: UserService, directory: FakeDirectory) -> None:
    invite(service, "boss@acme.com", "admin")
    agent = invite(service, "ana@acme.com")
    assert service.update_user("acme", agent, UserUpdate(role="supervisor"), ADMIN).role == "supervisor"
    assert directory.users["uname-2"].groups == {"supervisor"}
    assert service.get_user("acme", agent).role == "supervisor"


def test_the_last_admin_cannot_demote_disable_or_delete_themselves(service: UserService,
                                                                   directory: FakeDirectory) -> None:
    boss = invite(service, "boss@acme.com", "admin")
    me = Actor("admin", boss)
    for attempt in (lambda: service.update_user("acme", boss, UserUpdate(role="agent"), me),
                    lambda: service.update_user("acme", boss, UserUpdate(enabled=False), me),
                    lambda: service.delete_user("acme", boss, me)):
        with pytest.raises(Conflict, match="last enabled admin"):
            attempt()
    assert directory.users["uname-1"].groups == {"admin"} and directory.users["uname-1"].user.enabled
    assert service.get_user("acme", boss).role == "admin"


def test_with_two_admins_one_may_step_down_but_not_the_second(service: UserService) -> None:
    first = invite(service, "one@acme.com", "admin")
    second = invite(service, "two@acme.com", "admin")
    service.update_user("acme", first, UserUpdate(role="supervisor"), Actor("admin", first))
    with pytest.raises(Conflict):
        service.delete_user("acme", second, Actor("admin", second))


def test_a_disabled_admin_does_not_count_as_the_tenants_admin(service: UserService) -> None:
    active = invite(service, "one@acme.com", "admin")
    dormant = invite(service, "two@acme.com", "admin")
    service.update_user("acme", dormant, UserUpdate(enabled=False), ADMIN)
    with pytest.raises(Conflict):
        service.update_user("acme", active, UserUpdate(role="agent"), ADMIN)
    service.update_user("acme", dormant, UserUpdate(enabled=True), ADMIN)  # back: now the other may step down
    assert service.update_user("acme", active, UserUpdate(role="agent"), ADMIN).role == "agent"


def test_other_tenants_admins_do_not_count(service: UserService) -> None:
    boss = invite(service, "boss@acme.com", "admin")
    invite(service, "boss@globex.com", "admin", tenant="globex")
    with pytest.raises(Conflict):
        service.update_user("acme", boss, UserUpdate(role="agent"), ADMIN)


def test_supervisors_cannot_promote_to_admin_or_touch_admins(service: UserService) -> None:
    boss = invite(service, "boss@acme.com", "admin")
    invite(service, "boss2@acme.com", "admin")
    agent = invite(service, "ana@acme.com")
    with pytest.raises(Forbidden):
        service.update_user("acme", agent, UserUpdate(role="admin"), SUPERVISOR)
    with pytest.raises(Forbidden):
        service.update_user("acme", boss, UserUpdate(enabled=False), SUPERVISOR)
    with pytest.raises(Forbidden):
        service.delete_user("acme", boss, SUPERVISOR)
    assert service.update_user("acme", agent, UserUpdate(enabled=False), SUPERVISOR).enabled is False


def test_a_cognito_failure_during_an_update_restores_the_index(service: UserService, directory: FakeDirectory,
                                                               index: FakeIndex) -> None:
    invite(service, "one@acme.com", "admin")
    second = invite(service, "two@acme.com", "admin")
    directory.fail_on.add("set_enabled")
    with pytest.raises(RuntimeError):
        service.update_user("acme", second, UserUpdate(role="agent", enabled=False), ADMIN)
    restored = index.get_user("acme", second)
    assert restored is not None and (restored.role, restored.enabled) == ("admin", True)
    assert directory.users["uname-2"].groups == {"admin"} and index.admins["acme"] == 2


def test_an_unchanged_update_writes_nothing(service: UserService, directory: FakeDirectory) -> None:
    agent = invite(service, "ana@acme.com")
    directory.fail_on.update({"set_role", "set_enabled"})
    assert service.update_user("acme", agent, UserUpdate(role="agent", enabled=True), ADMIN).role == "agent"


# --- passwords and deletion ---------------------------------------------------------------------------

def test_a_user_who_never_signed_in_gets_a_new_invitation(service: UserService, directory: FakeDirectory) -> None:
    agent = invite(service, "ana@acme.com")
    assert service.reset_password("acme", agent, ADMIN).action == "invitation_resent"
    assert directory.calls[-1] == ("resend_invitation", "uname-1")


def test_a_confirmed_user_gets_a_password_reset(service: UserService, directory: FakeDirectory) -> None:
    agent = invite(service, "ana@acme.com")
    confirm(directory, agent)
    assert service.reset_password("acme", agent, ADMIN).action == "password_reset"
    assert directory.calls[-1] == ("reset_password", "uname-1")


def test_a_disabled_user_gets_no_password_reset(service: UserService) -> None:
    agent = invite(service, "ana@acme.com")
    service.update_user("acme", agent, UserUpdate(enabled=False), ADMIN)
    with pytest.raises(Conflict, match="disabled"):
        service.reset_password("acme", agent, ADMIN)


def test_deleting_a_user_removes_it_from_cognito_and_the_index(service: UserService, directory: FakeDirectory,
                                                               index: FakeIndex) -> None:
    agent = invite(service, "ana@acme.com")
    service.delete_user("acme", agent, ADMIN)
    assert directory.users == {} and index.users == {}
    with pytest.raises(NotFound):
        service.get_user("acme", agent)


def test_a_user_already_gone_from_cognito_is_dropped_from_the_index(service: UserService, directory: FakeDirectory,
                                                                    index: FakeIndex) -> None:
    agent = invite(service, "ana@acme.com")
    directory.users.clear()
    with pytest.raises(NotFound):
        service.get_user("acme", agent)
    service.delete_user("acme", agent, ADMIN)
    assert index.users == {}


def test_a_failed_cognito_delete_keeps_the_user_indexed(service: UserService, directory: FakeDirectory,
                                                        index: FakeIndex) -> None:
    invite(service, "one@acme.com", "admin")
    second = invite(service, "two@acme.com", "admin")
    directory.fail_on.add("delete_user")
    with pytest.raises(RuntimeError):
        service.delete_user("acme", second, ADMIN)
    assert index.get_user("acme", second) is not None and index.admins["acme"] == 2


def test_without_a_user_pool_user_management_answers_not_configured(directory: FakeDirectory,
                                                                     index: FakeIndex) -> None:
    service = UserService(directory=directory, index=index, clock=FixedClock(), configured=False)
    with pytest.raises(ApiProblem) as caught:
        service.list_users("acme")
    assert caught.value.status == 501


# --- federation ---------------------------------------------------------------------------------------

def test_a_saml_provider_is_created_with_an_email_mapping_and_recorded_for_the_tenant(
        service: UserService, directory: FakeDirectory, index: FakeIndex) -> None:
    provider = service.connect_identity_provider("acme", "SAML", "ad", metadata_url="https://adfs.acme.com/md.xml")
    assert provider.provider_name == "t-acme-ad" and provider.default_role == "agent"
    created = directory.providers["t-acme-ad"]
    assert created["kind"] == "SAML"
    assert created["details"] == {"MetadataURL": "https://adfs.acme.com/md.xml", "IDPSignout": "false"}
    assert "email" in created["mapping"]  # type: ignore[operator]
    assert not any("tenant" in k for k in created["mapping"])  # type: ignore[attr-defined]
    assert "t-acme-ad" in directory.client_providers
    assert index.list_providers("acme") == [provider]


def test_an_oidc_provider_needs_issuer_and_client_credentials(service: UserService,
                                                              directory: FakeDirectory) -> None:
    with pytest.raises(InvalidInput):
        service.connect_identity_provider("acme", "OIDC", "entra", issuer="https://login.example.com/x")
    service.connect_identity_provider("acme", "OIDC", "entra", issuer="https://login.example.com/x",
                                      client_id="cid", client_secret="secret", default_role="supervisor")
    assert directory.providers["t-acme-entra"]["details"] == {
        "oidc_issuer": "https://login.example.com/x", "client_id": "cid", "client_secret": "secret",
        "authorize_scopes": "openid email profile", "attributes_request_method": "GET"}


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"metadata_url": "http://adfs.acme.com/md.xml"}, "ad"),  # not https
    ({"metadata_url": "https://adfs.acme.com/md.xml"}, "Active_Directory"),  # not a short name
    ({"metadata_url": "https://adfs.acme.com/md.xml"}, "a-much-too-long-name-for-it"),
    ({"metadata_url": "https://adfs.acme.com/md.xml", "default_role": "admin"}, "ad"),
    ({"metadata_url": "https://adfs.acme.com/md.xml", "client_secret": "s"}, "ad"),
])
def test_bad_provider_settings_are_refused(service: UserService, directory: FakeDirectory,
                                           kwargs: dict[str, str], name: str) -> None:
    with pytest.raises(InvalidInput):
        service.connect_identity_provider("acme", "SAML", name, **kwargs)  # type: ignore[arg-type]
    assert directory.providers == {}


def test_a_provider_name_over_cognitos_32_characters_is_refused(service: UserService) -> None:
    with pytest.raises(InvalidInput, match="32"):
        service.connect_identity_provider("acme-international-holdings", "SAML", "directory",
                                          metadata_url="https://adfs.acme.com/md.xml")


def test_a_provider_name_is_connected_once(service: UserService) -> None:
    service.connect_identity_provider("acme", "SAML", "ad", metadata_url="https://adfs.acme.com/md.xml")
    with pytest.raises(Conflict):
        service.connect_identity_provider("acme", "SAML", "ad", metadata_url="https://adfs.acme.com/md.xml")


def test_a_failed_connection_leaves_neither_record_nor_provider(service: UserService, directory: FakeDirectory,
                                                                index: FakeIndex) -> None:
    directory.fail_on.add("enable_provider_on_client")
    with pytest.raises(RuntimeError):
        service.connect_identity_provider("acme", "SAML", "ad", metadata_url="https://adfs.acme.com/md.xml")
    assert directory.providers == {} and index.providers == {}


# --- through the /v1 API (the handler with this service) ---------------------------------------------

def api_event(method: str, path: str, principal: Principal, body: object = None) -> dict[str, object]:
    from shared.http.context import principal_context

    return {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"}, "queryStringParameters": None,
        "requestContext": {"accountId": "123456789012", "apiId": "local", "domainName": "127.0.0.1",
                           "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                                    "userAgent": "test"},
                           "requestId": "r-1", "routeKey": f"{method} {path}", "stage": "$default",
                           "time": "01/Mar/2025:12:00:00 +0000", "timeEpoch": 1740830400000,
                           "authorizer": {"lambda": principal_context(principal)}},
        "body": None if body is None else json.dumps(body), "isBase64Encoded": False,
    }


def user_principal(role: str, sub: str = "sub-caller", tenant: str = "acme") -> Principal:
    return Principal(kind="user", principal_id=f"user:{sub}", tenant_id=tenant, scopes=ROLE_SCOPES[role], role=role)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, service: UserService) -> Callable[..., tuple[int, Any]]:
    from functions.api import deps, handler

    monkeypatch.setattr(deps, "users", lambda: service)
    monkeypatch.setattr(deps, "tenancy", lambda: SimpleNamespace(hit=lambda tenant, second: 1))

    def call(method: str, path: str, principal: Principal, body: object = None) -> tuple[int, Any]:
        out = handler.app.resolve(api_event(method, path, principal, body), None)  # type: ignore[arg-type]
        return out["statusCode"], json.loads(out["body"]) if out.get("body") else None

    return call


def test_me_describes_the_caller(api: Callable[..., tuple[int, Any]]) -> None:
    status, body = api("GET", "/v1/me", user_principal("supervisor", "sub-9"))
    assert status == 200
    assert body == {"kind": "user", "principal_id": "user:sub-9", "tenant_id": "acme", "role": "supervisor",
                    "scopes": list(ROLE_SCOPES["supervisor"]), "user_id": "sub-9"}
    key = Principal(kind="api_key", principal_id="key:k1", tenant_id="acme", scopes=("messages:send",))
    assert api("GET", "/v1/me", key)[1]["user_id"] is None


def test_the_api_invites_lists_and_deletes_within_the_callers_tenant(api: Callable[..., tuple[int, Any]]) -> None:
    admin = user_principal("admin")
    status, created = api("POST", "/v1/users", admin, {"email": "ana@acme.com", "role": "agent"})
    assert status == 201 and created["role"] == "agent" and "username" not in created and "tenant_id" not in created
    assert [u["user_id"] for u in api("GET", "/v1/users", admin)[1]["items"]] == [created["user_id"]]
    assert api("GET", "/v1/users", user_principal("admin", tenant="globex"))[1] == {"items": []}
    status, problem = api("GET", f"/v1/users/{created['user_id']}", user_principal("admin", tenant="globex"))
    assert status == 404 and problem["code"] == "not_found"
    status, reset = api("POST", f"/v1/users/{created['user_id']}/reset-password", admin)
    assert status == 202 and reset["action"] == "invitation_resent"
    assert api("DELETE", f"/v1/users/{created['user_id']}", admin)[0] == 204
    assert api("GET", f"/v1/users/{created['user_id']}", admin)[0] == 404


def test_the_api_refuses_agents_and_supervisors_granting_admin(api: Callable[..., tuple[int, Any]]) -> None:
    assert api("GET", "/v1/users", user_principal("agent"))[0] == 403
    status, problem = api("POST", "/v1/users", user_principal("supervisor"), {"email": "x@acme.com", "role": "admin"})
    assert status == 403 and problem["code"] == "forbidden"


def test_the_api_answers_the_last_admin_guard_with_409(api: Callable[..., tuple[int, Any]]) -> None:
    admin = user_principal("admin")
    boss = api("POST", "/v1/users", admin, {"email": "boss@acme.com", "role": "admin"})[1]
    status, problem = api("PATCH", f"/v1/users/{boss['user_id']}", user_principal("admin", boss["user_id"]),
                          {"role": "agent"})
    assert status == 409 and "last enabled admin" in problem["detail"]
    assert api("PATCH", f"/v1/users/{boss['user_id']}", admin, {"tenant_id": "globex"})[0] == 422


# --- the Cognito adapter's error mapping --------------------------------------------------------------

class RefusingCognito:
    def __init__(self, code: str, message: str = "") -> None:
        self.code, self.message = code, message

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        from botocore.exceptions import ClientError

        def refuse(**kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": self.code, "Message": self.message}}, operation)

        return refuse


@pytest.mark.parametrize(("code", "problem", "status"), [
    ("UsernameExistsException", Conflict, 409),
    ("TooManyRequestsException", ApiProblem, 429),
    ("InvalidParameterException", InvalidInput, 422),
])
def test_cognito_refusals_become_api_problems(index: FakeIndex, code: str, problem: type[ApiProblem],
                                             status: int) -> None:
    from shared.adapters.cognito_users import CognitoUserDirectory

    service = UserService(directory=CognitoUserDirectory(RefusingCognito(code, "bad"), "pool", app_client_id="c"),
                          index=index, clock=FixedClock())
    with pytest.raises(problem) as caught:
        service.invite("acme", UserInvite(email="ana@acme.com"), ADMIN)
    assert caught.value.status == status


def test_rejected_saml_metadata_is_invalid_input_and_leaves_no_record(index: FakeIndex) -> None:
    from shared.adapters.cognito_users import CognitoUserDirectory

    cognito = RefusingCognito("InvalidParameterException", "Could not retrieve metadata from the URL")
    service = UserService(directory=CognitoUserDirectory(cognito, "pool", app_client_id="c"), index=index,
                          clock=FixedClock())
    with pytest.raises(InvalidInput, match="metadata"):
        service.connect_identity_provider("acme", "SAML", "ad", metadata_url="https://adfs.acme.com/md.xml")
    assert index.providers == {}
