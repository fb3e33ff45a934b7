"""Agents, supervisors and admins of a tenant: Cognito users, indexed per tenant in DynamoDB.

Cognito holds the identity (email, password, the `custom:tenant_id` attribute, one role group); the
per-tenant index answers "who are the users of this tenant" (Cognito's ListUsers cannot filter on custom
attributes) and carries the last-admin guard: a counter of the tenant's enabled admins changed in the
same transaction as the user, so two admins demoting each other at once cannot leave the tenant without
one. A user id is the Cognito `sub` (what the JWT's principal carries). Every read goes through the index
keyed by the caller's tenant, so another tenant's user is simply not found (404).

Federation: a tenant's own IdP (SAML or OIDC, e.g. Active Directory) becomes a Cognito identity provider
named `t-<tenant>-<name>`, recorded provider -> tenant in DynamoDB. Federated users carry no tenant
attribute; the pre-token trigger (`token_overrides`) adds it from that record, never from anything the IdP
sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.errors import ApiProblem, Conflict, DomainError, Forbidden, InvalidInput, NotFound
from shared.models.crm import normalize_email
from shared.models.tenancy import Principal
from shared.observability import logger
from shared.ports import Clock

if TYPE_CHECKING:
    from shared.services.quotas import QuotaGate

Role = Literal["admin", "supervisor", "agent"]
ROLES: tuple[Role, ...] = ("admin", "supervisor", "agent")
ProviderKind = Literal["SAML", "OIDC"]
TENANT_CLAIM = "custom:tenant_id"
PROVIDER_NAME_MAX = 32  # Cognito's limit on identity provider names
PROVIDER_SHORT_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$")
SAML_EMAIL = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"


# --- models -----------------------------------------------------------------------------------------

class User(BaseModel):
    """A user as the API shows it."""

    model_config = ConfigDict(frozen=True)

    user_id: str = Field(description="Stable id (the Cognito `sub`, also the JWT subject)")
    email: str
    name: str | None = None
    role: Role
    enabled: bool = True
    status: str = Field(default="FORCE_CHANGE_PASSWORD",
                        description="Cognito's status: FORCE_CHANGE_PASSWORD until the first sign-in, then CONFIRMED")
    created_at: datetime


class UserRecord(User):
    """A user as indexed: the public fields plus the tenant and the Cognito username."""

    tenant_id: str
    username: str

    def public(self) -> User:
        return User.model_validate(self.model_dump(include=set(User.model_fields)))


class UserInvite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, description="Cognito emails the temporary password to this address")
    role: Role = "agent"
    name: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    enabled: bool | None = Field(default=None, description="false: the user cannot sign in or refresh tokens")

    @model_validator(mode="after")
    def _something(self) -> UserUpdate:
        if self.role is None and self.enabled is None:
            raise ValueError("give a role or enabled")
        return self


class PasswordReset(BaseModel):
    user_id: str
    action: Literal["invitation_resent", "password_reset"] = Field(
        description="invitation_resent: the user never signed in, a new temporary password was emailed; "
                    "password_reset: a reset code was emailed, the old password no longer works")


class IdentityProvider(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider_name: str
    tenant_id: str
    kind: ProviderKind
    name: str
    default_role: Role
    created_at: datetime


@dataclass(frozen=True)
class Actor:
    """Who manages users: an admin (an admin user or an API key with the admin scope) or a supervisor."""

    role: Role
    user_id: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        user_id = principal.principal_id.removeprefix("user:") if principal.kind == "user" else None
        if principal.allows("admin"):
            return cls("admin", user_id)
        if principal.kind == "user" and principal.role == "supervisor":
            return cls("supervisor", user_id)
        raise Forbidden("managing users needs the admin scope or the supervisor role")


@dataclass(frozen=True)
class DirectoryUser:
    username: str
    sub: str
    email: str
    status: str
    enabled: bool
    created_at: datetime
    tenant_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class TokenOverrides:
    """What the pre-token trigger changes in a user's tokens."""

    id_claims: dict[str, str] = field(default_factory=dict)  # added to (or replacing) ID token claims
    access_claims: dict[str, str] = field(default_factory=dict)  # access token: trigger event V2 only
    suppress: tuple[str, ...] = ()  # removed from both tokens
    groups: tuple[str, ...] | None = None  # None: leave the user's groups as they are


class WriteOutcome(StrEnum):
    OK = "ok"
    STALE = "stale"  # the user changed or disappeared since it was read
    LAST_ADMIN = "last_admin"  # the write would leave the tenant without an enabled admin


class UserAlreadyExists(DomainError):
    pass


class ProviderAlreadyExists(DomainError):
    pass


class UserManagementDisabled(ApiProblem):
    status, code, title = 501, "not_configured", "Not configured"


# --- ports ------------------------------------------------------------------------------------------

class UserDirectory(Protocol):
    """The identity store (Cognito). Usernames are the directory's; user ids are `sub`s."""

    def create_user(self, *, email: str, tenant_id: str, name: str | None) -> DirectoryUser:
        """Create the user and email a temporary password; raises UserAlreadyExists."""

    def resend_invitation(self, username: str) -> None: ...

    def get_user(self, username: str) -> DirectoryUser | None: ...

    def set_role(self, username: str, role: Role) -> None:
        """Make `role` the user's only role group (other groups are left alone)."""

    def set_enabled(self, username: str, enabled: bool) -> None: ...

    def reset_password(self, username: str) -> None: ...

    def delete_user(self, username: str) -> None:
        """Delete the user; an already deleted user is not an error."""

    def create_identity_provider(self, *, provider_name: str, kind: ProviderKind, details: dict[str, str],
                                 attribute_mapping: dict[str, str]) -> None:
        """Raises ProviderAlreadyExists."""

    def delete_identity_provider(self, provider_name: str) -> None: ...

    def enable_provider_on_client(self, provider_name: str) -> None:
        """Let the app client sign users in through this provider."""


class UserIndex(Protocol):
    """Users per tenant and identity providers per tenant (DynamoDB)."""

    def add_user(self, user: UserRecord) -> bool:
        """Index a new user (and count it if it is an enabled admin); False when already indexed."""

    def get_user(self, tenant_id: str, user_id: str) -> UserRecord | None: ...

    def list_users(self, tenant_id: str) -> list[UserRecord]: ...

    def replace_user(self, before: UserRecord, after: UserRecord) -> WriteOutcome:
        """Write `after` if the stored user still has `before`'s role and enabled flag."""

    def remove_user(self, user: UserRecord) -> WriteOutcome: ...

    def add_provider(self, provider: IdentityProvider) -> bool:
        """False when a provider of this name is already recorded."""

    def get_provider(self, provider_name: str) -> IdentityProvider | None: ...

    def remove_provider(self, provider_name: str) -> None: ...

    def list_providers(self, tenant_id: str) -> list[IdentityProvider]: ...


# --- the service ------------------------------------------------------------------------------------

def _may_manage(actor: Actor, target: UserRecord | None, new_role: Role | None) -> None:
    if actor.role == "admin":
        return
    if actor.role != "supervisor":
        raise Forbidden("managing users needs the admin scope or the supervisor role")
    if new_role == "admin":
        raise Forbidden("supervisors cannot grant the admin role")
    if target is not None and target.role == "admin":
        raise Forbidden("supervisors cannot change admins")


def federated_provider(username: str, user_attributes: Mapping[str, str]) -> str | None:
    """The identity provider a federated user signed in through; None for native users.

    Only the `identities` attribute counts (Cognito writes it, users cannot), cross-checked with the
    username Cognito gives federated users (`<provider name>_<id>`). A username alone proves nothing: a
    native username could look like a provider prefix.
    """
    status = user_attributes.get("cognito:user_status")
    if status is not None and status != "EXTERNAL_PROVIDER":
        return None
    try:
        identities = json.loads(user_attributes.get("identities") or "[]")
    except ValueError:
        return None
    if not isinstance(identities, list):
        return None
    for identity in identities:
        name = identity.get("providerName") if isinstance(identity, dict) else None
        if isinstance(name, str) and name and username.lower().startswith(name.lower() + "_"):
            return name
    return None


class UserService:
    def __init__(self, *, directory: UserDirectory, index: UserIndex, clock: Clock, configured: bool = True,
                 quotas: QuotaGate | None = None) -> None:
        self._directory = directory
        self._index = index
        self._clock = clock
        self._configured = configured
        self._quotas = quotas  # the plan's max_agents: checked before Cognito creates (and emails) anyone

    def _ready(self) -> None:
        if not self._configured:
            raise UserManagementDisabled("no Cognito user pool is configured for this deployment")

    # -- reads ---------------------------------------------------------------------------------------
    def list_users(self, tenant_id: str) -> list[User]:
        self._ready()
        users = sorted(self._index.list_users(tenant_id), key=lambda u: (u.created_at, u.user_id))
        return [u.public() for u in users]

    def get_user(self, tenant_id: str, user_id: str) -> User:
        record, live = self._load(tenant_id, user_id)
        return _live(record, live)

    def _load(self, tenant_id: str, user_id: str) -> tuple[UserRecord, DirectoryUser]:
        """The tenant's user as indexed, and its live directory state; 404 for anyone else's."""
        record, live = self._load_maybe_gone(tenant_id, user_id)
        if live is None:
            raise NotFound("no such user")
        return record, live

    def _load_maybe_gone(self, tenant_id: str, user_id: str) -> tuple[UserRecord, DirectoryUser | None]:
        self._ready()
        record = self._index.get_user(tenant_id, user_id)
        if record is None or record.tenant_id != tenant_id:
            raise NotFound("no such user")
        live = self._directory.get_user(record.username)
        if live is not None and (live.tenant_id != tenant_id or live.sub != record.user_id):
            logger.error("user index does not match the directory", extra={"tenant_id": tenant_id,
                                                                            "user_id": user_id})
            raise NotFound("no such user")
        return record, live

    # -- writes --------------------------------------------------------------------------------------
    def invite(self, tenant_id: str, invite: UserInvite, actor: Actor) -> User:
        self._ready()
        _may_manage(actor, None, invite.role)
        if self._quotas is not None:
            self._quotas.admit(tenant_id, "agents")
        try:
            created = self._directory.create_user(email=invite.email, tenant_id=tenant_id, name=invite.name)
        except UserAlreadyExists:
            raise Conflict("a user with this email already exists") from None
        record = UserRecord(user_id=created.sub, tenant_id=tenant_id, username=created.username, email=invite.email,
                            name=invite.name, role=invite.role, enabled=True, status=created.status,
                            created_at=created.created_at)
        try:
            self._directory.set_role(created.username, invite.role)
            if not self._index.add_user(record):
                raise Conflict("this user is already indexed")
        except Exception:
            self._undo(lambda: self._directory.delete_user(created.username), "invite")
            raise
        logger.info("user invited", extra={"tenant_id": tenant_id, "user_id": record.user_id, "role": record.role})
        if self._quotas is not None:
            self._quotas.after_change(tenant_id, "agents")
        return record.public()

    def update_user(self, tenant_id: str, user_id: str, update: UserUpdate, actor: Actor) -> User:
        before, live = self._load(tenant_id, user_id)
        _may_manage(actor, before, update.role)
        after = before.model_copy(update={k: v for k, v in (("role", update.role), ("enabled", update.enabled))
                                          if v is not None})
        if after == before:
            return _live(before, live)
        self._check(self._index.replace_user(before, after), "demoted or disabled")
        try:
            self._apply(before, after)
        except Exception:
            self._undo(lambda: self._apply(after, before), "update")
            self._undo(lambda: self._index.replace_user(after, before), "update")
            raise
        logger.info("user updated", extra={"tenant_id": tenant_id, "user_id": user_id, "role": after.role,
                                           "enabled": after.enabled})
        return after.public().model_copy(update={"status": live.status})

    def _apply(self, before: UserRecord, after: UserRecord) -> None:
        if after.role != before.role:
            self._directory.set_role(after.username, after.role)
        if after.enabled != before.enabled:
            self._directory.set_enabled(after.username, after.enabled)

    def reset_password(self, tenant_id: str, user_id: str, actor: Actor) -> PasswordReset:
        record, live = self._load(tenant_id, user_id)
        _may_manage(actor, record, None)
        if not live.enabled:
            raise Conflict("the user is disabled; enable it first")
        if live.status == "EXTERNAL_PROVIDER":
            raise InvalidInput("this user signs in through the business's identity provider")
        if live.status == "FORCE_CHANGE_PASSWORD":
            self._directory.resend_invitation(record.username)
            return PasswordReset(user_id=user_id, action="invitation_resent")
        self._directory.reset_password(record.username)
        return PasswordReset(user_id=user_id, action="password_reset")

    def delete_user(self, tenant_id: str, user_id: str, actor: Actor) -> None:
        record, live = self._load_maybe_gone(tenant_id, user_id)  # gone from Cognito: drop the index entry
        _may_manage(actor, record, None)
        self._check(self._index.remove_user(record), "deleted")
        if live is None:
            return
        try:
            self._directory.delete_user(record.username)
        except Exception:
            self._undo(lambda: self._index.add_user(record), "delete")
            raise
        logger.info("user deleted", extra={"tenant_id": tenant_id, "user_id": user_id})

    @staticmethod
    def _check(outcome: WriteOutcome, verb: str) -> None:
        if outcome is WriteOutcome.LAST_ADMIN:
            raise Conflict(f"the tenant's last enabled admin cannot be {verb}; make another admin first")
        if outcome is WriteOutcome.STALE:
            raise Conflict("the user changed meanwhile; read it again and retry")

    @staticmethod
    def _undo(action: Callable[[], object], step: str) -> None:
        try:
            action()
        except Exception:
            logger.exception("could not undo a partial user change", extra={"step": step})

    # -- federation ----------------------------------------------------------------------------------
    def connect_identity_provider(self, tenant_id: str, kind: ProviderKind, name: str, *,
                                  metadata_url: str | None = None, issuer: str | None = None,
                                  client_id: str | None = None, client_secret: str | None = None,
                                  default_role: Role = "agent") -> IdentityProvider:
        """Let the tenant's users sign in through its own SAML or OIDC identity provider."""
        self._ready()
        if not PROVIDER_SHORT_NAME.match(name):
            raise InvalidInput("the provider name is 1-22 lowercase letters, digits and inner hyphens")
        provider_name = f"t-{tenant_id}-{name}"
        if len(provider_name) > PROVIDER_NAME_MAX:
            raise InvalidInput(f"'{provider_name}' is longer than Cognito's {PROVIDER_NAME_MAX} characters; "
                               "choose a shorter name")
        if default_role == "admin":
            raise InvalidInput("federated users start as agents or supervisors; grant admin explicitly")
        details, mapping = _provider_config(kind, metadata_url, issuer, client_id, client_secret)
        record = IdentityProvider(provider_name=provider_name, tenant_id=tenant_id, kind=kind, name=name,
                                  default_role=default_role, created_at=self._clock.now())
        if not self._index.add_provider(record):
            raise Conflict("this tenant already has an identity provider of this name")
        created = False
        try:
            self._directory.create_identity_provider(provider_name=provider_name, kind=kind, details=details,
                                                     attribute_mapping=mapping)
            created = True
            self._directory.enable_provider_on_client(provider_name)
        except Exception as exc:
            if created:
                self._undo(lambda: self._directory.delete_identity_provider(provider_name), "connect")
            self._undo(lambda: self._index.remove_provider(provider_name), "connect")
            if isinstance(exc, ProviderAlreadyExists):
                raise Conflict("this identity provider already exists in the user pool") from None
            raise
        logger.info("identity provider connected", extra={"tenant_id": tenant_id, "provider": provider_name})
        return record

    def token_overrides(self, *, username: str, user_attributes: Mapping[str, str],
                        groups: Sequence[str]) -> TokenOverrides:
        """What the pre-token trigger sets in a user's tokens.

        Native users: their ID token is left as it is (it carries `custom:tenant_id` already); the access
        token, which Cognito never gives custom attributes, gets the same tenant (V2 events only).
        Federated users: the tenant recorded for their provider, in both tokens, whatever the IdP sent, and
        the provider's default role group when they have no role. Unknown provider: no tenant at all.
        """
        provider_name = federated_provider(username, user_attributes)
        if provider_name is None:
            tenant_id = user_attributes.get(TENANT_CLAIM)
            return TokenOverrides(access_claims={TENANT_CLAIM: tenant_id} if tenant_id else {})
        provider = self._index.get_provider(provider_name)
        if provider is None or not provider_name.startswith(f"t-{provider.tenant_id}-"):
            logger.warning("federated sign-in through an unknown provider", extra={"provider": provider_name})
            return TokenOverrides(suppress=(TENANT_CLAIM, "tenant_id"))
        claims = {TENANT_CLAIM: provider.tenant_id}
        has_role = any(g in ROLES for g in groups)
        return TokenOverrides(id_claims=claims, access_claims=claims,
                              groups=None if has_role else (*groups, provider.default_role))


def _live(record: UserRecord, live: DirectoryUser) -> User:
    return record.public().model_copy(update={"status": live.status, "enabled": live.enabled})


def _https(value: str | None, what: str) -> str:
    if not value or not value.startswith("https://") or len(value) > 2048:
        raise InvalidInput(f"{what} must be an https:// URL")
    return value


def _provider_config(kind: ProviderKind, metadata_url: str | None, issuer: str | None, client_id: str | None,
                     client_secret: str | None) -> tuple[dict[str, str], dict[str, str]]:
    if kind == "SAML":
        if issuer or client_id or client_secret:
            raise InvalidInput("a SAML provider takes metadata_url only")
        return ({"MetadataURL": _https(metadata_url, "metadata_url"), "IDPSignout": "false"},
                {"email": SAML_EMAIL})
    if kind == "OIDC":
        if metadata_url:
            raise InvalidInput("an OIDC provider takes issuer, client_id and client_secret")
        if not client_id or not client_secret:
            raise InvalidInput("an OIDC provider needs client_id and client_secret")
        return ({"oidc_issuer": _https(issuer, "issuer"), "client_id": client_id, "client_secret": client_secret,
                 "authorize_scopes": "openid email profile", "attributes_request_method": "GET"},
                {"email": "email", "email_verified": "email_verified"})
    raise InvalidInput("kind is SAML or OIDC")
