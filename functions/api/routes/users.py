"""/v1/users: a tenant's agents, supervisors and admins (Cognito users); /v1/me: who is calling.

Admins (and API keys with the admin scope) manage everyone; supervisors manage agents and supervisors but
never grant or touch the admin role. Another tenant's user ids answer 404.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from functions.api import deps
from shared.errors import Unauthorized
from shared.http.context import principal_of
from shared.services.users import Actor, PasswordReset, User, UserInvite, UserUpdate

router = APIGatewayHttpRouter()
TAGS = ["Users"]
UserId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[\w-]+$", description="The user's id")]


class UserList(BaseModel):
    items: list[User]


class Me(BaseModel):
    kind: Literal["api_key", "user"]
    principal_id: str
    tenant_id: str
    role: str | None = None
    scopes: list[str]
    user_id: str | None = None


def _caller() -> tuple[str, Actor]:
    who = principal_of(router.current_event.raw_event)
    if who.tenant_id is None:
        raise Unauthorized("a tenant credential is required")
    return who.tenant_id, Actor.of(who)


@router.get("/v1/me", tags=TAGS, summary="The caller: credential kind, tenant, role and scopes")
def me() -> Me:
    who = principal_of(router.current_event.raw_event)
    if who.tenant_id is None or who.kind == "operator":
        raise Unauthorized("a tenant credential is required")
    return Me(kind=who.kind, principal_id=who.principal_id, tenant_id=who.tenant_id, role=who.role,
              scopes=list(who.scopes),
              user_id=who.principal_id.removeprefix("user:") if who.kind == "user" else None)


@router.post("/v1/users", tags=TAGS, summary="Invite an agent, supervisor or admin by email",
             responses={201: {"description": "Invited: Cognito emails a temporary password"}})
def invite_user(body: UserInvite) -> tuple[User, int]:
    tenant_id, actor = _caller()
    return deps.users().invite(tenant_id, body, actor), 201


@router.get("/v1/users", tags=TAGS, summary="The tenant's users")
def list_users() -> UserList:
    tenant_id, _ = _caller()
    return UserList(items=deps.users().list_users(tenant_id))


@router.get("/v1/users/<user_id>", tags=TAGS, summary="One user")
def get_user(user_id: UserId) -> User:
    tenant_id, _ = _caller()
    return deps.users().get_user(tenant_id, user_id)


@router.patch("/v1/users/<user_id>", tags=TAGS, summary="Change a user's role, or disable or enable the user")
def update_user(user_id: UserId, body: UserUpdate) -> User:
    tenant_id, actor = _caller()
    return deps.users().update_user(tenant_id, user_id, body, actor)


@router.delete("/v1/users/<user_id>", tags=TAGS, summary="Delete a user",
               responses={204: {"description": "Deleted"}})
def delete_user(user_id: UserId) -> tuple[None, int]:
    tenant_id, actor = _caller()
    deps.users().delete_user(tenant_id, user_id, actor)
    return None, 204


@router.post("/v1/users/<user_id>/reset-password", tags=TAGS,
             summary="Email a password reset code (or a new invitation if the user never signed in)",
             responses={202: {"description": "Sent"}})
def reset_password(user_id: UserId) -> tuple[PasswordReset, int]:
    tenant_id, actor = _caller()
    return deps.users().reset_password(tenant_id, user_id, actor), 202
