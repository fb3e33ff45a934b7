"""/v1/api-keys: a tenant admin issues, lists and revokes the tenant's own API keys."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from functions.api import deps
from shared.http.context import require
from shared.models.tenancy import ApiKey
from shared.services.platform import KeyInput, KeyIssued

router = APIGatewayHttpRouter()


class KeyList(BaseModel):
    items: list[ApiKey]


@router.post("/v1/api-keys", tags=["API keys"], summary="Issue an API key (shown once)",
             responses={201: {"description": "Issued"}})
def issue_key(body: KeyInput) -> tuple[KeyIssued, int]:
    who = require(router, "admin")
    return deps.platform().issue_key(who.tenant_id or "", body), 201


@router.get("/v1/api-keys", tags=["API keys"], summary="The tenant's API keys (hashes are never shown)")
def list_keys() -> KeyList:
    who = require(router, "admin")
    return KeyList(items=deps.platform().list_keys(who.tenant_id or ""))


@router.delete("/v1/api-keys/<key_id>", tags=["API keys"], summary="Revoke an API key")
def revoke_key(key_id: str) -> ApiKey:
    who = require(router, "admin")
    return deps.platform().revoke_key(who.tenant_id or "", key_id)
