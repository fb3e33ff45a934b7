"""Cognito user pool adapter (boto3 cognito-idp): users, role groups and tenants' identity providers.

The pool signs users in by email (`UsernameAttributes=["email"]`), so Cognito generates the username; the
`sub` is the user id the rest of the platform sees. Cognito itself emails the temporary password.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.errors import InvalidInput, RateLimited
from shared.services.users import (
    ROLES,
    DirectoryUser,
    ProviderAlreadyExists,
    ProviderKind,
    Role,
    UserAlreadyExists,
)

TENANT_ATTRIBUTE = "custom:tenant_id"
# What UpdateUserPoolClient accepts: every field not sent is reset to its default, so all are copied.
_CLIENT_FIELDS = (
    "ClientName", "RefreshTokenValidity", "AccessTokenValidity", "IdTokenValidity", "TokenValidityUnits",
    "ReadAttributes", "WriteAttributes", "ExplicitAuthFlows", "SupportedIdentityProviders", "CallbackURLs",
    "LogoutURLs", "DefaultRedirectURI", "AllowedOAuthFlows", "AllowedOAuthScopes", "AllowedOAuthFlowsUserPoolClient",
    "AnalyticsConfiguration", "PreventUserExistenceErrors", "EnableTokenRevocation",
    "EnablePropagateAdditionalUserContextData", "AuthSessionValidity", "RefreshTokenRotation",
)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _domain(exc: ClientError) -> Exception:
    """Cognito errors the caller can act on; anything else stays a server error."""
    code = _code(exc)
    if code in ("TooManyRequestsException", "LimitExceededException"):
        return RateLimited("the identity service is busy; retry shortly", retry_after_s=2)
    if code == "InvalidParameterException":
        message = str(exc.response.get("Error", {}).get("Message", ""))[:300]
        return InvalidInput(f"the identity service refused the request: {message}")
    unchanged: Exception = exc
    return unchanged


def _user(username: str, attributes: list[dict[str, str]], status: str, enabled: bool, created: Any
          ) -> DirectoryUser:
    attrs = {a["Name"]: a.get("Value", "") for a in attributes}
    created_at = created if isinstance(created, datetime) else datetime.now(UTC)
    return DirectoryUser(username=username, sub=attrs.get("sub", username), email=attrs.get("email", ""),
                         status=status, enabled=enabled, created_at=created_at.astimezone(UTC),
                         tenant_id=attrs.get(TENANT_ATTRIBUTE), name=attrs.get("name"))


class CognitoUserDirectory:
    """Satisfies shared.services.users.UserDirectory for one user pool (and its app client)."""

    def __init__(self, client: Any, user_pool_id: str, *, app_client_id: str = "") -> None:
        self._client = client
        self._pool = user_pool_id
        self._app_client = app_client_id

    # -- users ---------------------------------------------------------------------------------------
    def create_user(self, *, email: str, tenant_id: str, name: str | None) -> DirectoryUser:
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"},
                      {"Name": TENANT_ATTRIBUTE, "Value": tenant_id}]
        if name:
            attributes.append({"Name": "name", "Value": name})
        try:
            user = self._client.admin_create_user(UserPoolId=self._pool, Username=email, UserAttributes=attributes,
                                                  DesiredDeliveryMediums=["EMAIL"])["User"]
        except ClientError as exc:
            if _code(exc) in ("UsernameExistsException", "AliasExistsException"):
                raise UserAlreadyExists(email) from None
            raise _domain(exc) from None
        return _user(user["Username"], user.get("Attributes", []), user.get("UserStatus", "FORCE_CHANGE_PASSWORD"),
                     bool(user.get("Enabled", True)), user.get("UserCreateDate"))

    def resend_invitation(self, username: str) -> None:
        self._client.admin_create_user(UserPoolId=self._pool, Username=username, MessageAction="RESEND",
                                       DesiredDeliveryMediums=["EMAIL"])

    def get_user(self, username: str) -> DirectoryUser | None:
        try:
            user = self._client.admin_get_user(UserPoolId=self._pool, Username=username)
        except ClientError as exc:
            if _code(exc) == "UserNotFoundException":
                return None
            raise
        return _user(user["Username"], user.get("UserAttributes", []), user.get("UserStatus", ""),
                     bool(user.get("Enabled", True)), user.get("UserCreateDate"))

    def set_role(self, username: str, role: Role) -> None:
        groups = self._client.admin_list_groups_for_user(UserPoolId=self._pool, Username=username)["Groups"]
        current = {g["GroupName"] for g in groups}
        if role not in current:
            self._client.admin_add_user_to_group(UserPoolId=self._pool, Username=username, GroupName=role)
        for other in current & (set(ROLES) - {role}):
            self._client.admin_remove_user_from_group(UserPoolId=self._pool, Username=username, GroupName=other)

    def set_enabled(self, username: str, enabled: bool) -> None:
        if enabled:
            self._client.admin_enable_user(UserPoolId=self._pool, Username=username)
        else:
            self._client.admin_disable_user(UserPoolId=self._pool, Username=username)

    def reset_password(self, username: str) -> None:
        self._client.admin_reset_user_password(UserPoolId=self._pool, Username=username)

    def delete_user(self, username: str) -> None:
        try:
            self._client.admin_delete_user(UserPoolId=self._pool, Username=username)
        except ClientError as exc:
            if _code(exc) != "UserNotFoundException":
                raise

    # -- identity providers --------------------------------------------------------------------------
    def create_identity_provider(self, *, provider_name: str, kind: ProviderKind, details: dict[str, str],
                                 attribute_mapping: dict[str, str]) -> None:
        try:
            self._client.create_identity_provider(UserPoolId=self._pool, ProviderName=provider_name,
                                                  ProviderType=kind, ProviderDetails=details,
                                                  AttributeMapping=attribute_mapping)
        except ClientError as exc:
            if _code(exc) == "DuplicateProviderException":
                raise ProviderAlreadyExists(provider_name) from None
            raise _domain(exc) from None

    def delete_identity_provider(self, provider_name: str) -> None:
        try:
            self._client.delete_identity_provider(UserPoolId=self._pool, ProviderName=provider_name)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise

    def enable_provider_on_client(self, provider_name: str) -> None:
        """Add the provider to the app client's SupportedIdentityProviders (read, then write every field)."""
        if not self._app_client:
            raise RuntimeError("no app client configured")
        current = self._client.describe_user_pool_client(UserPoolId=self._pool,
                                                         ClientId=self._app_client)["UserPoolClient"]
        providers = list(current.get("SupportedIdentityProviders") or ["COGNITO"])
        if provider_name in providers:
            return
        update = {k: current[k] for k in _CLIENT_FIELDS if k in current}
        update["SupportedIdentityProviders"] = [*providers, provider_name]
        self._client.update_user_pool_client(UserPoolId=self._pool, ClientId=self._app_client, **update)
