"""Tenants, plans, API keys and the authenticated principal every request carries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    # Quotas (shared/services/quotas.py; what happens at each limit is in the README's "Plans and quotas").
    # Plans stored before these fields existed read with the defaults.
    max_sessions_per_month: int = Field(
        default=2000, ge=0, le=100_000_000,
        description="Sessions per month (UTC) in the plan; 0 = unlimited. Never refused: sessions beyond it are "
                    "served and counted as over plan")
    max_agents: int = Field(default=10, ge=0, le=100_000,
                            description="Users (agents, supervisors, admins) of the tenant; 0 = unlimited. "
                                        "Inviting one more is refused (409)")
    max_bots: int = Field(default=5, ge=0, le=10_000,
                          description="Bots (not versions); 0 = unlimited. Uploading a new bot is refused (409)")
    alert_thresholds: tuple[int, ...] = Field(
        default=(80, 100), max_length=5,
        description="Percentages of each quota at which QuotaThresholdReached is published once; () = no alerts")

    @field_validator("alert_thresholds")
    @classmethod
    def _thresholds(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 1 <= t <= 1000 for t in value):
            raise ValueError("alert thresholds are percentages from 1 to 1000, e.g. [80, 100]")
        if len(set(value)) != len(value):
            raise ValueError("alert thresholds must not repeat")
        return tuple(sorted(value))


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
