"""Tenants, plans, API keys and the authenticated principal every request carries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TENANT_ID = r"^[a-z0-9][a-z0-9-]{1,39}$"

# Scopes an API key or a user role can carry. `admin` covers configuration (fields, segments, webhooks,
# imports, files, keys); the others are the everyday integrator operations.
SCOPES: tuple[str, ...] = (
    "contacts:read", "contacts:write", "conversations:read", "conversations:write", "messages:send", "admin",
    "bots:read", "bots:write", "workflows:read", "workflows:write", "reports:read",
)
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "agent": ("contacts:read", "contacts:write", "conversations:read", "conversations:write", "messages:send"),
    "supervisor": ("contacts:read", "contacts:write", "conversations:read", "conversations:write", "messages:send",
                   "bots:read", "workflows:read", "reports:read"),
    "admin": SCOPES,
}

Scope = Literal["contacts:read", "contacts:write", "conversations:read", "conversations:write", "messages:send",
                "admin", "bots:read", "bots:write", "workflows:read", "workflows:write", "reports:read"]


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="starter", min_length=1, max_length=40)
    max_contacts: int = Field(default=1000, ge=0, le=100_000_000)
    rate_limit_per_s: int = Field(default=20, ge=1, le=10_000, description="API requests per second per tenant")
    retention_days: int = Field(default=0, ge=0, le=3650, description="Messages are deleted after this; 0 = keep")
    llm_tier: Literal["LITE", "PRO"] = Field(default="LITE", description="Model tier of generative bot turns")
    voice2text: bool = Field(default=False, description="Add-on: voice notes are transcribed for the bots")
    imagebot: bool = Field(default=False, description="Add-on: images are described/read for the bots")


class Tenant(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str = Field(pattern=TENANT_ID)
    name: str = Field(min_length=1, max_length=200)
    status: Literal["active", "suspended"] = "active"
    plan: Plan = Field(default_factory=Plan)
    created_at: datetime
    suspended_reason: str | None = None


class ApiKey(BaseModel):
    """An API key as stored: only the SHA-256 of the secret is kept; the secret is shown once."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    tenant_id: str
    name: str
    scopes: tuple[str, ...]
    hint: str  # the first characters, to recognize a key in a list
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class Principal(BaseModel):
    """Who is calling. The tenant always comes from here, never from the request."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["api_key", "user", "operator"]
    principal_id: str
    tenant_id: str | None = None  # None only for the platform operator
    scopes: tuple[str, ...] = ()
    role: str | None = None
    rate_limit_per_s: int = 20

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes
