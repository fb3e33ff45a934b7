"""Plans' quotas per tenant: sessions of the month, contacts, agents and bots; what happens at each limit, and
alerts when usage reaches a threshold of a limit.

**At the limit.** A customer is never refused or dropped: losing a customer's message is worse than overage.
Sessions beyond the month's quota are served as any other and reported as `over_plan` (overage): the month's
exact session count (the usage meter's) minus the plan's limit, so it is exact for the plan in force when it is
read. Contacts keep what the CRM already does: the API and imports are refused at the cap (402), a new customer
who writes is still created, flagged `over_cap` and not counted. Agents (every user of the tenant: a seat) and
bots are configuration, not customers: one more beyond the plan is refused with 409 before anything is created.
That check reads the count first, so two creations at the same instant can both pass; the quota view then shows
it as over plan.

**Alerts.** After a change that can raise a count (a session counted, a contact, user or bot created), the
count is read again and every threshold it has reached is claimed with a durable conditional marker (one per
resource, period, threshold and limit: a new plan re-arms them) before `QuotaThresholdReached` is published, so
redeliveries, retries and concurrent counters alert once. Checking every reached threshold, not only the one
just crossed, means a count that jumps past one (or a check that failed) is still alerted at the next change.
If the publish fails the marker is released, so the next check claims it again; only a crash between the two
writes loses that one alert.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from shared.errors import Conflict
from shared.models.events import QuotaThresholdReached
from shared.models.tenancy import Plan, Tenant
from shared.observability import logger
from shared.ports import Clock, EventPublisher

Resource = Literal["sessions", "contacts", "agents", "bots"]
RESOURCES: tuple[Resource, ...] = ("sessions", "contacts", "agents", "bots")
CURRENT = "current"  # the period of standing counts (contacts, agents, bots): not reset each month

WHAT_COUNTS: dict[Resource, str] = {
    "sessions": "Sessions started this month (UTC) on every channel, as GET /v1/usage counts them.",
    "contacts": "Contacts within the plan (merged ones and those flagged over_cap are not counted).",
    "agents": "Users of the tenant: agents, supervisors and admins, enabled or disabled (API keys and users "
              "signing in through the tenant's own identity provider are not).",
    "bots": "Bots, whatever their number of versions.",
}
AT_LIMIT: dict[Resource, str] = {
    "sessions": "Never refused: every customer is answered. Sessions beyond the plan are served and counted as "
                "over plan (overage).",
    "contacts": "Creating contacts through the API or an import is refused (402 plan_limit_reached). A new "
                "customer who writes is still served: the contact is created, flagged over_cap and not counted. "
                "Existing contacts keep working.",
    "agents": "Inviting another user is refused (409 quota_reached); existing users keep working.",
    "bots": "Uploading a new bot is refused (409 quota_reached); new versions of existing bots are accepted.",
}


class QuotaReached(Conflict):
    """Creating one more would go beyond the plan's quota (agents, bots)."""

    code, title = "quota_reached", "Plan quota reached"


class QuotaUse(BaseModel):
    resource: Resource
    period: str = Field(description="YYYY-MM (UTC) for sessions; 'current' for standing counts")
    used: int
    limit: int | None = Field(description="The plan's limit; null: unlimited")
    percent: float | None = Field(description="used / limit, in percent (1 decimal); null when unlimited")
    over_plan: int | None = Field(
        description="Beyond the limit: sessions served over the plan this month (overage); users or bots kept "
                    "after the plan was lowered; null for contacts (over-cap contacts are flagged over_cap)")
    thresholds_reached: list[int] = Field(description="The plan's alert thresholds this usage has reached")
    what_counts: str
    at_limit: str = Field(description="What happens at 100%")


class QuotaReport(BaseModel):
    plan: str
    month: str = Field(description="The month (UTC) the sessions are counted in")
    alert_thresholds: list[int]
    items: list[QuotaUse]


class QuotaCounts(Protocol):
    def sessions(self, tenant_id: str, month: str) -> int:
        """Sessions started in the month (UTC), read after the latest count (strongly consistent)."""
        ...

    def contacts(self, tenant_id: str) -> int: ...

    def agents(self, tenant_id: str) -> int: ...

    def bots(self, tenant_id: str) -> int: ...


class QuotaMarkers(Protocol):
    def claim(self, tenant_id: str, resource: str, period: str, threshold: int, *, limit: int, used: int,
              at: datetime) -> bool:
        """Record that this threshold's alert is sent, once per limit; False when it already is."""
        ...

    def release(self, tenant_id: str, resource: str, period: str, threshold: int, *, limit: int) -> None:
        """Forget a claim whose alert could not be published, so that the next check claims it again."""
        ...


class TenantLookup(Protocol):
    def get_tenant(self, tenant_id: str) -> Tenant | None: ...


class QuotaGate(Protocol):
    """What the services that create agents, bots and contacts need (satisfied by QuotaService)."""

    def admit(self, tenant_id: str, resource: Resource) -> None: ...

    def after_change(self, tenant_id: str, resource: Resource) -> None: ...


def limit_of(plan: Plan, resource: Resource) -> int | None:
    """The plan's limit of the resource; None: unlimited. (max_contacts keeps its meaning: 0 allows none.)"""
    if resource == "contacts":
        return plan.max_contacts
    value = {"sessions": plan.max_sessions_per_month, "agents": plan.max_agents, "bots": plan.max_bots}[resource]
    return value or None


def thresholds_reached(used: int, limit: int | None, thresholds: tuple[int, ...]) -> list[int]:
    if not limit:
        return []
    return [t for t in thresholds if used * 100 >= t * limit]


class QuotaService:
    def __init__(self, *, tenants: TenantLookup, counts: QuotaCounts, markers: QuotaMarkers, events: EventPublisher,
                 clock: Clock, on_alert: Callable[[QuotaThresholdReached], None] | None = None) -> None:
        self._tenants = tenants
        self._counts = counts
        self._markers = markers
        self._events = events
        self._clock = clock
        self._on_alert = on_alert
        # markers known to be written (per container): a tenant over a threshold does not write on every session
        self._known: set[tuple[str, str, str, int, int]] = set()

    def _plan(self, tenant_id: str) -> Plan | None:
        tenant = self._tenants.get_tenant(tenant_id)
        return tenant.plan if tenant else None

    def _count(self, tenant_id: str, resource: Resource, month: str) -> int:
        if resource == "sessions":
            return self._counts.sessions(tenant_id, month)
        return {"contacts": self._counts.contacts, "agents": self._counts.agents,
                "bots": self._counts.bots}[resource](tenant_id)

    def _month(self) -> str:
        return self._clock.now().astimezone(UTC).strftime("%Y-%m")

    # -- reading -----------------------------------------------------------------------------------------------
    def report(self, tenant_id: str) -> QuotaReport:
        plan = self._plan(tenant_id) or Plan()
        month = self._month()
        return QuotaReport(plan=plan.name, month=month, alert_thresholds=list(plan.alert_thresholds),
                           items=[self._use(tenant_id, plan, r, month) for r in RESOURCES])

    def _use(self, tenant_id: str, plan: Plan, resource: Resource, month: str) -> QuotaUse:
        used = self._count(tenant_id, resource, month)
        limit = limit_of(plan, resource)
        return QuotaUse(
            resource=resource, period=month if resource == "sessions" else CURRENT, used=used, limit=limit,
            percent=round(used * 100 / limit, 1) if limit else None,
            over_plan=None if resource == "contacts" else max(0, used - limit) if limit else 0,
            thresholds_reached=thresholds_reached(used, limit, plan.alert_thresholds),
            what_counts=WHAT_COUNTS[resource], at_limit=AT_LIMIT[resource])

    def session_limit(self, tenant_id: str) -> int | None:
        """The plan's sessions per month; None: unlimited (or no such tenant)."""
        plan = self._plan(tenant_id)
        return limit_of(plan, "sessions") if plan else None

    # -- at the limit ------------------------------------------------------------------------------------------
    def admit(self, tenant_id: str, resource: Resource) -> None:
        """Refuse (409) creating one more agent or bot when the plan's quota is used up."""
        if resource not in ("agents", "bots"):
            raise ValueError(f"{resource} are never refused here")
        plan = self._plan(tenant_id)
        limit = limit_of(plan, resource) if plan else None
        if plan is None or limit is None:
            return
        used = self._count(tenant_id, resource, self._month())
        if used < limit:
            return
        if resource == "agents":
            raise QuotaReached(f"the plan '{plan.name}' allows {limit} users (max_agents) and the tenant has "
                               f"{used}: delete a user or ask for a bigger plan")
        raise QuotaReached(f"the plan '{plan.name}' allows {limit} bots (max_bots) and the tenant has {used}: "
                           "upload a new version of an existing bot instead, or ask for a bigger plan")

    # -- alerts ------------------------------------------------------------------------------------------------
    def check(self, tenant_id: str, resource: Resource, *, month: str | None = None) -> list[QuotaThresholdReached]:
        """Publish QuotaThresholdReached for every threshold the count has reached and nobody alerted yet.
        Raises when a marker or the publish fails (a failed publish releases its marker first)."""
        plan = self._plan(tenant_id)
        limit = limit_of(plan, resource) if plan else None
        if plan is None or not limit or not plan.alert_thresholds:
            return []
        month = month or self._month()
        period = month if resource == "sessions" else CURRENT
        used = self._count(tenant_id, resource, month)
        alerts: list[QuotaThresholdReached] = []
        for threshold in thresholds_reached(used, limit, plan.alert_thresholds):
            known = (tenant_id, resource, period, threshold, limit)
            if known in self._known:
                continue
            if self._markers.claim(tenant_id, resource, period, threshold, limit=limit, used=used,
                                   at=self._clock.now()):
                event = QuotaThresholdReached(tenant_id=tenant_id, resource=resource, period=period,
                                              threshold_percent=threshold, used=used, limit=limit)
                try:
                    self._events.publish([event])
                except Exception:
                    self._markers.release(tenant_id, resource, period, threshold, limit=limit)
                    raise
                logger.info("quota threshold reached", extra={"tenant_id": tenant_id, "resource": resource,
                                                              "period": period, "threshold": threshold,
                                                              "used": used, "limit": limit})
                alerts.append(event)
                if self._on_alert is not None:
                    self._on_alert(event)
            self._known.add(known)
        return alerts

    def sessions_counted(self, tenant_id: str, month: str) -> None:
        """After the usage meter counted (or met again) a session of `month`: alert at thresholds. Raises, so
        the record is retried and its redelivery checks again."""
        self.check(tenant_id, "sessions", month=month)

    def after_change(self, tenant_id: str, resource: Resource) -> None:
        """After a contact, user or bot was created: alert at thresholds, best effort (the change is done and
        must not fail for an alert; the next change checks again)."""
        try:
            self.check(tenant_id, resource)
        except Exception:
            logger.exception("quota alert check failed", extra={"tenant_id": tenant_id, "resource": resource})
