"""Cognito Pre Token Generation trigger: the tenant claim (and a default role) for federated users.

Event V1 (`version` "1") changes the ID token through `claimsOverrideDetails`; events V2/V3 (Essentials or
Plus pools) change both tokens through `claimsAndScopeOverrideDetails`. Native users' ID tokens are left
as they are. A raised error fails the sign-in, which is the safe answer when the provider lookup fails.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.config import get_settings
from shared.observability import logger
from shared.services.users import TokenOverrides, UserService


@lru_cache(maxsize=1)
def get_service() -> UserService:
    return wiring.user_service(get_settings())


def _groups(current: dict[str, Any], groups: tuple[str, ...]) -> dict[str, Any]:
    return {"groupsToOverride": list(groups), "iamRolesToOverride": current.get("iamRolesToOverride") or [],
            "preferredRole": current.get("preferredRole")}


def _v1(o: TokenOverrides, current_groups: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if o.id_claims:
        details["claimsToAddOrOverride"] = o.id_claims
    if o.suppress:
        details["claimsToSuppress"] = list(o.suppress)
    if o.groups is not None:
        details["groupOverrideDetails"] = _groups(current_groups, o.groups)
    return {"claimsOverrideDetails": details} if details else {}


def _v2(o: TokenOverrides, current_groups: dict[str, Any]) -> dict[str, Any]:
    def token(claims: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if claims:
            out["claimsToAddOrOverride"] = claims
        if o.suppress:
            out["claimsToSuppress"] = list(o.suppress)
        return out

    details: dict[str, Any] = {k: v for k, v in (("idTokenGeneration", token(o.id_claims)),
                                                 ("accessTokenGeneration", token(o.access_claims))) if v}
    if o.groups is not None:
        details["groupOverrideDetails"] = _groups(current_groups, o.groups)
    return {"claimsAndScopeOverrideDetails": details} if details else {}


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not str(event.get("triggerSource", "")).startswith("TokenGeneration_"):
        return event
    request = event.get("request") or {}
    current_groups = request.get("groupConfiguration") or {}
    overrides = get_service().token_overrides(username=str(event.get("userName") or ""),
                                              user_attributes=request.get("userAttributes") or {},
                                              groups=current_groups.get("groupsToOverride") or [])
    response = _v1(overrides, current_groups) if str(event.get("version", "1")) == "1" else _v2(overrides,
                                                                                             current_groups)
    event["response"] = {**(event.get("response") or {}), **response}
    return event
