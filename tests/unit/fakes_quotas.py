"""Fakes for the quota service: counts from callables (the other services' own fakes) or set numbers, alert
markers with the adapter's conditional-put semantics, and a publisher that can fail."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from shared.models.events import QuotaThresholdReached, TenantEvent
from shared.models.tenancy import Plan, Tenant
from shared.services.quotas import QuotaService
from tests.unit.fakes_crm import FakeTenants

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


class FakeCounts:
    """QuotaCounts: a resource's count comes from its source callable, else from `set()`."""

    def __init__(self, **sources: Callable[..., int]) -> None:
        self._sources = sources
        self._values: dict[tuple[str, ...], int] = {}

    def set(self, tenant_id: str, resource: str, value: int, month: str | None = None) -> None:
        self._values[(resource, tenant_id, *([month] if month else []))] = value

    def _get(self, resource: str, *key: str) -> int:
        source = self._sources.get(resource)
        return source(*key) if source else self._values.get((resource, *key), 0)

    def sessions(self, tenant_id: str, month: str) -> int:
        return self._get("sessions", tenant_id, month)

    def contacts(self, tenant_id: str) -> int:
        return self._get("contacts", tenant_id)

    def agents(self, tenant_id: str) -> int:
        return self._get("agents", tenant_id)

    def bots(self, tenant_id: str) -> int:
        return self._get("bots", tenant_id)


class FakeMarkers:
    """QuotaMarkers: put if absent or written for another limit; release only a claim of the same limit."""

    def __init__(self) -> None:
        self.markers: dict[tuple[str, str, str, int], int] = {}
        self.claims = 0

    def claim(self, tenant_id: str, resource: str, period: str, threshold: int, *, limit: int, used: int,
              at: datetime) -> bool:
        self.claims += 1
        key = (tenant_id, resource, period, threshold)
        if self.markers.get(key) == limit:
            return False
        self.markers[key] = limit
        return True

    def release(self, tenant_id: str, resource: str, period: str, threshold: int, *, limit: int) -> None:
        key = (tenant_id, resource, period, threshold)
        if self.markers.get(key) == limit:
            del self.markers[key]


class FlakyPublisher:
    """EventPublisher keeping what it published; the next `failures` calls raise instead."""

    def __init__(self) -> None:
        self.events: list[TenantEvent] = []
        self.failures = 0

    def publish(self, events: Sequence[TenantEvent]) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("PutEvents failed")
        self.events.extend(events)

    def alerts(self) -> list[tuple[str, str, int, int, int]]:
        return [(e.resource, e.period, e.threshold_percent, e.used, e.limit) for e in self.events
                if isinstance(e, QuotaThresholdReached)]


class Quotas:
    """A QuotaService over fakes, for one tenant whose plan a test sets."""

    def __init__(self, plan: Plan, *, tenant_id: str = "acme", counts: FakeCounts | None = None,
                 markers: FakeMarkers | None = None) -> None:
        self.tenant_id = tenant_id
        self.tenants = FakeTenants(Tenant(tenant_id=tenant_id, name="Acme", plan=plan, created_at=NOW))
        self.counts = counts or FakeCounts()
        self.markers = markers or FakeMarkers()
        self.events = FlakyPublisher()
        self.clock = FixedClock()
        self.metrics: list[QuotaThresholdReached] = []
        self.service = self.new_container()

    def new_container(self) -> QuotaService:
        """Another Lambda container: same table and bus, an empty in-memory cache."""
        return QuotaService(tenants=self.tenants, counts=self.counts, markers=self.markers, events=self.events,
                            clock=self.clock, on_alert=self.metrics.append)

    def set_plan(self, plan: Plan) -> None:
        tenant = self.tenants.tenants[self.tenant_id]
        self.tenants.tenants[self.tenant_id] = tenant.model_copy(update={"plan": plan})
