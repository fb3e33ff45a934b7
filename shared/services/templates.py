"""Template registry per WhatsApp channel, and the account health Meta reports by webhook.

- Sync reads every page of `GET /{WABA-ID}/message_templates`; templates gone from Meta are marked DELETED.
- Create lints first (errors refuse, warnings are returned), then submits to Meta (`POST message_templates`);
  the template waits as PENDING until Meta's status webhook says otherwise.
- Account-health webhooks (template status/quality/category, number quality and messaging limit, account
  events) are stored once each, applied to the registry and the channel's health, published as
  `AccountHealthChanged` (warnings and critical ones counted by the handler as a CloudWatch metric with an
  alarm), and a paused or disabled template pauses the broadcasts that use it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from shared.errors import Conflict, InvalidInput, NotFound
from shared.models.events import AccountHealthChanged
from shared.models.templates import (
    ChannelHealth,
    HealthEvent,
    LintFinding,
    MessageTemplate,
    TemplateComponent,
    TemplateInput,
    normalize_language,
)
from shared.ports import Clock, EventPublisher, ProviderSendError
from shared.services.template_lint import lint_template
from shared.services.template_params import TemplateParamError, build_components, render_preview

TIER_LIMITS: dict[str, int | None] = {"TIER_50": 50, "TIER_250": 250, "TIER_1K": 1000, "TIER_2K": 2000,
                                      "TIER_10K": 10_000, "TIER_100K": 100_000, "TIER_UNLIMITED": None}
_INT_TIERS = {250: "TIER_250", 1000: "TIER_1K", 2000: "TIER_2K", 10_000: "TIER_10K", 100_000: "TIER_100K",
              -1: "TIER_UNLIMITED"}
PAUSING_EVENTS = frozenset({"PAUSED", "DISABLED", "REJECTED", "PENDING_DELETION", "DELETED", "LOCKED", "FLAGGED"})
RESTRICTING_ACCOUNT_EVENTS = frozenset({"ACCOUNT_RESTRICTION", "ACCOUNT_VIOLATION", "DISABLED_UPDATE",
                                        "ACCOUNT_DELETED", "ACCOUNT_OFFBOARDED"})


class TemplateStore(Protocol):
    def put(self, template: MessageTemplate) -> None: ...

    def get(self, tenant_id: str, channel_id: str, name: str, language: str) -> MessageTemplate | None: ...

    def list_templates(self, tenant_id: str, channel_id: str) -> list[MessageTemplate]: ...

    def delete(self, tenant_id: str, channel_id: str, name: str, language: str) -> None: ...

    def health(self, tenant_id: str, channel_id: str) -> ChannelHealth | None: ...

    def put_health(self, health: ChannelHealth) -> None: ...

    def add_health_event(self, tenant_id: str, channel_id: str, event: HealthEvent, *, dedup: str) -> bool: ...

    def health_events(self, tenant_id: str, channel_id: str, *, limit: int) -> list[HealthEvent]: ...


class TemplateGraph(Protocol):
    def list_templates(self, waba_id: str, access_token: str, *, after: str | None = None, limit: int = 100
                       ) -> tuple[list[dict[str, Any]], str | None]: ...

    def create_template(self, waba_id: str, access_token: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def delete_template(self, waba_id: str, access_token: str, name: str) -> None: ...


class Channels(Protocol):
    def get_channel(self, channel_id: str) -> Any: ...

    def get_secrets(self, channel: Any, *, fresh: bool = False) -> Any: ...


# (tenant, channel, template name, language, reason) -> ids of the broadcasts paused
BroadcastPauser = Callable[[str, str, str, str, str], list[str]]


def _with_lint(template: MessageTemplate) -> MessageTemplate:
    return template.model_copy(update={"lint": lint_template(template)})


def parse_graph_template(tenant_id: str, channel_id: str, data: Mapping[str, Any], now: datetime
                         ) -> MessageTemplate:
    quality = data.get("quality_score")
    score = quality.get("score") if isinstance(quality, dict) else quality
    fmt = str(data.get("parameter_format") or "POSITIONAL").upper()
    return _with_lint(MessageTemplate(
        tenant_id=tenant_id, channel_id=channel_id, name=str(data["name"]),
        language=normalize_language(str(data["language"])), template_id=str(data["id"]) if data.get("id") else None,
        status=str(data.get("status") or "PENDING").upper(), category=str(data.get("category") or "UTILITY").upper(),
        previous_category=data.get("previous_category"), quality=str(score or "UNKNOWN").upper(),
        rejected_reason=data.get("rejected_reason") if data.get("rejected_reason") not in (None, "NONE") else None,
        parameter_format="NAMED" if fmt == "NAMED" else "POSITIONAL",
        components=[TemplateComponent.model_validate(c) for c in data.get("components") or []
                    if isinstance(c, dict)],
        source="sync", synced_at=now, updated_at=now))


def limit_of(value: Any) -> tuple[str | None, int | None]:
    """A messaging limit as Meta sends it (TIER_2K, or an integer such as 2000 / -1) → (name, users or None)."""
    if isinstance(value, int) and not isinstance(value, bool):
        name = _INT_TIERS.get(value, f"TIER_{value}")
        return name, None if value < 0 else value
    if isinstance(value, str) and value.upper().startswith("TIER_"):
        name = value.upper()
        if name in TIER_LIMITS:
            return name, TIER_LIMITS[name]
        digits = name[5:].replace("K", "000")
        return name, int(digits) if digits.isdigit() else None
    return None, None


class TemplateService:
    def __init__(self, *, store: TemplateStore, graph: TemplateGraph | None, channels: Channels,
                 events: EventPublisher,
                 clock: Clock, pause_broadcasts: BroadcastPauser | None = None, default_mps: int = 80) -> None:
        self._store = store
        self._graph = graph
        self._channels = channels
        self._events = events
        self._clock = clock
        self._pause = pause_broadcasts
        self._default_mps = default_mps

    def _channel(self, tenant_id: str, channel_id: str) -> Any:
        channel = self._channels.get_channel(channel_id)
        if channel is None or channel.tenant_id != tenant_id:
            raise NotFound(f"no channel {channel_id}")
        return channel

    def _meta(self, tenant_id: str, channel_id: str) -> tuple[TemplateGraph, str, str]:
        """The Graph client, the channel's WABA id and its token (to call Meta's template endpoints)."""
        if self._graph is None:
            raise RuntimeError("this TemplateService was built without a Graph client")
        channel = self._channel(tenant_id, channel_id)
        if not channel.waba_id:
            raise InvalidInput(f"channel {channel_id} has no WhatsApp Business Account id (waba_id); set it to "
                               "manage templates")
        return self._graph, channel.waba_id, self._channels.get_secrets(channel).access_token.get_secret_value()

    # -- registry ---------------------------------------------------------------------------------------
    def list_templates(self, tenant_id: str, channel_id: str, *, status: str | None = None,
                       category: str | None = None) -> list[MessageTemplate]:
        self._channel(tenant_id, channel_id)
        found = self._store.list_templates(tenant_id, channel_id)
        return [t for t in found if (status is None or t.status == status.upper())
                and (category is None or t.category == category.upper())]

    def get_template(self, tenant_id: str, channel_id: str, name: str, language: str) -> MessageTemplate:
        self._channel(tenant_id, channel_id)
        template = self._store.get(tenant_id, channel_id, name, normalize_language(language))
        if template is None:
            raise NotFound(f"no template {name} ({language}) on channel {channel_id}; sync the templates first")
        return template

    def sync(self, tenant_id: str, channel_id: str) -> dict[str, int]:
        graph, waba, token = self._meta(tenant_id, channel_id)
        now = self._clock.now()
        seen: set[str] = set()
        added = updated = 0
        after: str | None = None
        try:
            while True:
                page, after = graph.list_templates(waba, token, after=after)
                for data in page:
                    if not data.get("name") or not data.get("language"):
                        continue
                    template = parse_graph_template(tenant_id, channel_id, data, now)
                    seen.add(template.key)
                    current = self._store.get(tenant_id, channel_id, template.name, template.language)
                    if current is None:
                        added += 1
                    elif current.model_dump(exclude={"synced_at", "updated_at", "source"}) == template.model_dump(
                            exclude={"synced_at", "updated_at", "source"}):
                        continue
                    else:
                        updated += 1
                    self._store.put(template)
                if not after:
                    break
        except ProviderSendError as exc:
            raise InvalidInput(f"Meta refused the template listing: {exc.title or exc} (code {exc.code})") from None
        removed = 0
        for template in self._store.list_templates(tenant_id, channel_id):
            if template.key not in seen and template.status != "DELETED" and template.source != "created":
                self._store.put(template.model_copy(update={"status": "DELETED", "updated_at": now}))
                removed += 1
        return {"added": added, "updated": updated, "removed": removed, "total": len(seen)}

    def create(self, tenant_id: str, channel_id: str, data: TemplateInput) -> MessageTemplate:
        now = self._clock.now()
        draft = MessageTemplate(tenant_id=tenant_id, channel_id=channel_id, name=data.name,
                                language=normalize_language(data.language), category=data.category,
                                parameter_format=data.parameter_format, components=data.components,
                                source="created", updated_at=now)
        findings = lint_template(draft)
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise InvalidInput("the template would be rejected", errors=[
                {"location": f.rule, "message": f.message} for f in errors])
        if self._store.get(tenant_id, channel_id, draft.name, draft.language) is not None:
            raise Conflict(f"template {draft.name} ({draft.language}) already exists on this channel")
        graph, waba, token = self._meta(tenant_id, channel_id)
        body: dict[str, Any] = {"name": data.name, "language": draft.language, "category": data.category,
                "parameter_format": data.parameter_format,
                "components": [c.model_dump(exclude_none=True) for c in data.components]}
        if data.allow_category_change:
            body["allow_category_change"] = True
        try:
            answer = graph.create_template(waba, token, body)
        except ProviderSendError as exc:
            raise InvalidInput(f"Meta refused the template: {exc.title or exc}",
                               errors=[{"location": "meta", "message": exc.details or exc.title or str(exc)}]
                               ) from None
        template = draft.model_copy(update={"template_id": str(answer.get("id") or "") or None,
                                            "status": str(answer.get("status") or "PENDING").upper(),
                                            "category": str(answer.get("category") or data.category).upper(),
                                            "lint": findings})
        self._store.put(template)
        return template

    def delete(self, tenant_id: str, channel_id: str, name: str, language: str) -> None:
        template = self.get_template(tenant_id, channel_id, name, language)
        graph, waba, token = self._meta(tenant_id, channel_id)
        try:
            graph.delete_template(waba, token, template.name)
        except ProviderSendError as exc:
            if exc.http_status != 404:
                raise InvalidInput(f"Meta refused the deletion: {exc.title or exc}") from None
        self._store.delete(tenant_id, channel_id, template.name, template.language)

    def validate(self, tenant_id: str, channel_id: str, name: str, language: str, values: Mapping[str, Any]
                 ) -> dict[str, Any]:
        """The send components for these values, or 422 naming every problem (before Meta sees anything)."""
        template = self.get_template(tenant_id, channel_id, name, language)
        problems: list[dict[str, object]] = []
        if not template.sendable:
            problems.append({"location": "template", "message": f"the template is {template.status}; only "
                             "APPROVED templates can be sent"})
        try:
            components = build_components(template, values)
        except TemplateParamError as exc:
            problems += [{"location": p.slot, "message": p.message} for p in exc.problems]
            components = []
        if problems:
            raise InvalidInput("the template parameters are not valid", errors=problems)
        return {"components": components, "preview": render_preview(template, values)}

    def lint(self, template: TemplateInput) -> list[LintFinding]:
        return lint_template(MessageTemplate(tenant_id="-", channel_id="-", name=template.name,
                                             language=template.language, category=template.category,
                                             parameter_format=template.parameter_format,
                                             components=template.components, updated_at=self._clock.now()))

    # -- health ---------------------------------------------------------------------------------------
    def health(self, tenant_id: str, channel_id: str) -> dict[str, Any]:
        self._channel(tenant_id, channel_id)
        current = self._store.health(tenant_id, channel_id) or ChannelHealth(tenant_id=tenant_id,
                                                                             channel_id=channel_id)
        templates = self._store.list_templates(tenant_id, channel_id)
        by_status: dict[str, int] = {}
        for t in templates:
            by_status[t.status] = by_status.get(t.status, 0) + 1
        return {"health": current.model_dump(mode="json"),
                "templates": {"by_status": by_status,
                              "low_quality": [t.key for t in templates if t.quality in ("RED", "YELLOW")],
                              "recategorization_risk": [t.key for t in templates
                                                        if any(f.rule == "marketing_in_utility" for f in t.lint)]},
                "events": [e.model_dump(mode="json") for e in self._store.health_events(tenant_id, channel_id,
                                                                                        limit=50)]}

    def daily_limit(self, tenant_id: str, channel_id: str) -> tuple[str | None, int | None]:
        health = self._store.health(tenant_id, channel_id)
        if health is None or health.messaging_limit is None:
            return None, None
        return health.messaging_limit, health.daily_limit

    def throughput(self, tenant_id: str, channel_id: str) -> int:
        health = self._store.health(tenant_id, channel_id)
        return health.throughput_mps if health else self._default_mps

    def on_account_update(self, tenant_id: str, channel_id: str, field: str, value: Mapping[str, Any],
                          at: datetime) -> HealthEvent | None:
        """Apply one account-health webhook change once. None when it was already applied."""
        dedup = hashlib.sha256(json.dumps([field, value], sort_keys=True, default=str).encode()).hexdigest()
        event = self._describe(tenant_id, channel_id, field, value, at)
        if not self._store.add_health_event(tenant_id, channel_id, event, dedup=dedup):
            return None
        paused: list[str] = []
        if field in ("message_template_status_update", "message_template_quality_update",
                     "template_category_update"):
            paused = self._apply_template(tenant_id, channel_id, field, value, at)
        else:
            self._apply_health(tenant_id, channel_id, field, value, at)
        self._events.publish([AccountHealthChanged(tenant_id=tenant_id, channel_id=channel_id, field=field,
                                                   summary=event.summary, severity=event.severity,
                                                   template=event.template, paused_broadcasts=paused)])
        return event

    @staticmethod
    def _describe(tenant_id: str, channel_id: str, field: str, value: Mapping[str, Any], at: datetime
                  ) -> HealthEvent:
        name = value.get("message_template_name")
        lang = value.get("message_template_language")
        key = f"{name}#{normalize_language(str(lang))}" if name and lang else None
        severity = "info"
        if field == "message_template_status_update":
            status = str(value.get("event") or "").upper()
            summary = f"template {name} ({lang}) is now {status}"
            if value.get("reason") not in (None, "NONE"):
                summary += f": {value.get('reason')}"
            severity = "critical" if status in ("DISABLED", "PAUSED") else (
                "warning" if status in PAUSING_EVENTS else "info")
        elif field == "message_template_quality_update":
            new = str(value.get("new_quality_score") or "UNKNOWN").upper()
            summary = f"template {name} ({lang}) quality {value.get('previous_quality_score')} → {new}"
            severity = "warning" if new in ("RED", "YELLOW") else "info"
        elif field == "template_category_update":
            if value.get("correct_category"):
                summary = (f"Meta will re-categorize template {name} ({lang}) from {value.get('new_category')} "
                           f"to {value.get('correct_category')}")
            else:
                summary = (f"template {name} ({lang}) re-categorized from {value.get('previous_category')} to "
                           f"{value.get('new_category')}")
            severity = "warning"
        elif field == "phone_number_quality_update":
            limit = value.get("max_daily_conversations_per_business") or value.get("current_limit")
            summary = f"number {value.get('display_phone_number')}: {value.get('event')}, limit {limit}"
            severity = "warning" if str(value.get("event")).upper() in ("FLAGGED", "DOWNGRADE") else "info"
        elif field == "account_update":
            summary = f"account: {value.get('event')}"
            severity = "critical" if str(value.get("event")).upper() in RESTRICTING_ACCOUNT_EVENTS else "info"
        elif field == "business_capability_update":
            summary = f"capabilities: daily limit {value.get('max_daily_conversations_per_business')}"
        else:
            summary = f"{field} update"
        return HealthEvent(field=field, at=at, summary=summary[:500], severity=severity, template=key,
                           value=dict(value))

    def _apply_template(self, tenant_id: str, channel_id: str, field: str, value: Mapping[str, Any],
                        at: datetime) -> list[str]:
        name, lang = value.get("message_template_name"), value.get("message_template_language")
        if not name or not lang:
            return []
        language = normalize_language(str(lang))
        current = self._store.get(tenant_id, channel_id, str(name), language) or MessageTemplate(
            tenant_id=tenant_id, channel_id=channel_id, name=str(name), language=language,
            template_id=str(value.get("message_template_id") or "") or None, source="webhook", updated_at=at)
        changes: dict[str, Any] = {"updated_at": at}
        if field == "message_template_status_update":
            status = str(value.get("event") or current.status).upper()
            detail = value.get("other_info") or value.get("rejection_info") or value.get("disable_info")
            changes.update(status=status, status_detail=json.dumps(detail, ensure_ascii=False)[:1000] if detail
                           else None, rejected_reason=value.get("reason") if value.get("reason") not in
                           (None, "NONE") else None)
            if value.get("message_template_category"):
                changes["category"] = str(value["message_template_category"]).upper()
        elif field == "message_template_quality_update":
            changes["quality"] = str(value.get("new_quality_score") or "UNKNOWN").upper()
        elif value.get("correct_category"):
            changes["correct_category"] = str(value["correct_category"]).upper()
        else:
            changes.update(previous_category=value.get("previous_category") or current.category,
                           category=str(value.get("new_category") or current.category).upper(),
                           correct_category=None)
        updated = _with_lint(current.model_copy(update=changes))
        self._store.put(updated)
        if field == "message_template_status_update" and updated.status in PAUSING_EVENTS and self._pause:
            return self._pause(tenant_id, channel_id, updated.name, updated.language,
                               f"Meta set template {updated.name} to {updated.status}")
        return []

    def _apply_health(self, tenant_id: str, channel_id: str, field: str, value: Mapping[str, Any],
                      at: datetime) -> None:
        health = self._store.health(tenant_id, channel_id) or ChannelHealth(tenant_id=tenant_id,
                                                                            channel_id=channel_id,
                                                                            throughput_mps=self._default_mps)
        changes: dict[str, Any] = {"updated_at": at}
        if field in ("phone_number_quality_update", "business_capability_update"):
            raw = value.get("max_daily_conversations_per_business") or value.get("current_limit") or \
                value.get("max_daily_conversation_per_phone")
            name, users = limit_of(raw)
            if name:
                changes.update(messaging_limit=name, daily_limit=users)
            event = value.get("event")
            if event:
                changes["quality_event"] = str(event).upper()
                if str(event).upper() == "THROUGHPUT_UPGRADE":
                    changes["throughput_mps"] = 1000
        elif field == "account_update":
            event = str(value.get("event") or "").upper()
            changes["account_event"] = event
            if event in RESTRICTING_ACCOUNT_EVENTS:
                changes["account_restricted"] = True
            elif event in ("ACCOUNT_RECONNECTED", "VERIFIED_ACCOUNT"):
                changes["account_restricted"] = False
        self._store.put_health(health.model_copy(update=changes))

    def set_throughput(self, tenant_id: str, channel_id: str, mps: int) -> ChannelHealth:
        """Configure the number's throughput (80 default; 1,000 after Meta's upgrade)."""
        self._channel(tenant_id, channel_id)
        if not 1 <= mps <= 1000:
            raise InvalidInput("throughput must be between 1 and 1000 messages per second")
        health = self._store.health(tenant_id, channel_id) or ChannelHealth(tenant_id=tenant_id,
                                                                            channel_id=channel_id)
        updated = health.model_copy(update={"throughput_mps": mps, "updated_at": self._clock.now()})
        self._store.put_health(updated)
        return updated
