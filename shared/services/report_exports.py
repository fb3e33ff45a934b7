"""Report exports: one row per closed conversation as CSV through S3 (a signed link), the daily BI export
(partitioned by tenant and day, read by the Glue/Athena tables of infra/constructs/analytics.py) and the monthly
executive summary. Everything is read from the report aggregates (shared.services.reports): closed-conversation
rows per UTC day and hourly counters, never from a scan of the messages."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from shared.errors import InvalidInput
from shared.services.reports import (
    ConversationFact,
    ReportAggregator,
    ReportStore,
    Window,
    bots_shape,
    conversations_shape,
    csat_shape,
    month_days,
    resolutions_shape,
    responses_shape,
    sentiment_shape,
)
from shared.services.transcript_render import safe_cell
from shared.timestamps import iso_z

MAX_ROWS = 200_000  # one synchronous export; ask for a shorter range beyond this
LINK_TTL_S = 3600
ANALYTICS_PREFIX = "analytics"
SETTLE = timedelta(hours=6)  # a UTC day is exported once this long after it ended (late CSAT answers, retries)
CONVERSATION_COLUMNS: tuple[str, ...] = (
    "conversation_id", "channel_id", "contact_id", "contact_key", "tags", "opened_at", "closed_at", "closed_by",
    "handled_by", "bot", "campaign_id", "agent", "agents", "transfers", "first_response_s", "first_response_by",
    "first_agent_response_s", "responses", "avg_response_s", "resolution_s", "messages_in", "messages_out",
    "csat", "sentiment", "closing_note_category", "returning_contact",
)
HOURLY_COLUMNS: tuple[str, ...] = ("hour_utc", "dimension", "dimension_value", "metric", "value")


class ExportMarks(Protocol):
    """Which UTC days of a tenant the BI export has written."""

    def exported(self, tenant_id: str, day: date) -> bool: ...

    def mark_exported(self, tenant_id: str, day: date) -> None: ...


class ExportFiles(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    def presign_get(self, key: str, *, expires_s: int, filename: str | None = None) -> str: ...


def conversation_row(fact: ConversationFact, tags: Sequence[str] = ()) -> dict[str, str]:
    avg = round(fact.response_s / fact.response_n, 1) if fact.response_n else None
    values: dict[str, Any] = {
        "conversation_id": fact.conversation_id, "channel_id": fact.channel_id, "contact_id": fact.contact_id,
        "contact_key": fact.contact_key, "tags": ";".join(tags), "opened_at": iso_z(fact.opened_at),
        "closed_at": iso_z(fact.closed_at), "closed_by": fact.closed_by, "handled_by": fact.handled_by,
        "bot": "true" if fact.bot else "false", "campaign_id": fact.campaign_id, "agent": fact.agent,
        "agents": ";".join(fact.agents), "transfers": fact.transfers, "first_response_s": fact.first_response_s,
        "first_response_by": fact.first_response_by, "first_agent_response_s": fact.first_agent_response_s,
        "responses": fact.response_n, "avg_response_s": avg, "resolution_s": fact.resolution_s,
        "messages_in": fact.messages_in, "messages_out": fact.messages_out, "csat": fact.csat,
        "sentiment": fact.sentiment, "closing_note_category": fact.note_category,
        "returning_contact": "" if fact.returning is None else str(fact.returning).lower()}
    return {k: safe_cell(v) for k, v in values.items()}


def to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, header: bool = True) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


class ReportExports:
    def __init__(self, *, reports: ReportAggregator, store: ReportStore, files: ExportFiles,
                 tags: Callable[[str, str], Sequence[str]], clock: Callable[[], datetime],
                 marks: ExportMarks, tenants: Callable[[], Iterable[str]],
                 usage: Callable[[str, str], Mapping[str, Any]] | None = None) -> None:
        self._reports = reports
        self._store = store
        self._files = files
        self._tags = tags  # (tenant, contact id) -> the contact's tags now
        self._clock = clock
        self._usage = usage
        self._marks = marks
        self._tenants = tenants  # the active tenants, for the schedule's tick

    # -- row-level export ----------------------------------------------------------------------------------------
    def _facts(self, tenant_id: str, window: Window) -> list[ConversationFact]:
        facts: list[ConversationFact] = []
        for day in window.utc_days():
            for fact in self._store.closed(tenant_id, day):
                if fact.closed_at is not None and window.start <= fact.closed_at < window.end:
                    facts.append(fact)
            if len(facts) > MAX_ROWS:
                raise InvalidInput(f"more than {MAX_ROWS} conversations closed in this range; export a shorter one")
        return sorted(facts, key=lambda f: (f.closed_at or datetime.min.replace(tzinfo=UTC), f.conversation_id))

    def _rows(self, tenant_id: str, facts: Sequence[ConversationFact]) -> list[dict[str, str]]:
        tags: dict[str, Sequence[str]] = {}
        rows = []
        for fact in facts:
            if fact.contact_id and fact.contact_id not in tags:
                tags[fact.contact_id] = self._tags(tenant_id, fact.contact_id)
            rows.append(conversation_row(fact, tags.get(fact.contact_id or "", ())))
        return rows

    def export_conversations(self, tenant_id: str, *, start: date, end: date, time_zone: str) -> dict[str, Any]:
        """One row per conversation closed in the local days [start, end], as a CSV behind a signed link."""
        window = Window.of(start, end, time_zone)
        rows = self._rows(tenant_id, self._facts(tenant_id, window))
        export_id = secrets.token_hex(8)
        key = f"exports/{tenant_id}/reports/conversations-{start}-{end}-{export_id}.csv"
        self._files.put(key, "\ufeff".encode() + to_csv(CONVERSATION_COLUMNS, rows), content_type="text/csv")
        return {"export_id": export_id, "rows": len(rows), "columns": list(CONVERSATION_COLUMNS),
                "download_url": self._files.presign_get(key, expires_s=LINK_TTL_S,
                                                        filename=f"conversaciones-{start}-{end}.csv"),
                "url_expires_at": iso_z(self._clock() + timedelta(seconds=LINK_TTL_S))}

    # -- BI export -----------------------------------------------------------------------------------------------
    def export_day(self, tenant_id: str, day: date) -> dict[str, int]:
        """Write a finished UTC day's partitions: closed conversations and hourly counters (overwrites:
        idempotent)."""
        if day >= self._clock().astimezone(UTC).date():
            raise InvalidInput("only finished UTC days are exported")
        window = Window.of(day, day, "UTC")
        rows = self._rows(tenant_id, self._facts(tenant_id, window))
        partition = f"tenant_id={tenant_id}/dt={day.isoformat()}"
        self._files.put(f"{ANALYTICS_PREFIX}/conversations/{partition}/conversations.csv",
                        to_csv(CONVERSATION_COLUMNS, rows, header=False), content_type="text/csv")
        hourly = []
        for dimension, hour, counters in self._store.buckets(tenant_id, day, ""):
            kind, _, value = dimension.partition("#")
            at = datetime.combine(day, time(hour), tzinfo=UTC)
            for metric, count in sorted(counters.items()):
                hourly.append({"hour_utc": iso_z(at), "dimension": kind, "dimension_value": value,
                               "metric": metric, "value": count})
        self._files.put(f"{ANALYTICS_PREFIX}/hourly/{partition}/hourly.csv",
                        to_csv(HOURLY_COLUMNS, hourly, header=False), content_type="text/csv")
        self._marks.mark_exported(tenant_id, day)
        return {"conversations": len(rows), "hourly_rows": len(hourly)}

    def export_due(self) -> dict[str, int]:
        """The schedule's tick: each active tenant's last finished UTC day, once it has settled and if not
        exported yet (conversations written, by tenant)."""
        day = (self._clock() - SETTLE).date() - timedelta(days=1)
        return {tenant_id: self.export_day(tenant_id, day)["conversations"] for tenant_id in self._tenants()
                if not self._marks.exported(tenant_id, day)}

    # -- the monthly executive summary ---------------------------------------------------------------------------
    def summary(self, tenant_id: str, month: str, *, time_zone: str) -> dict[str, Any]:
        """A month in local days: volumes, service, quality, the bots' share, the top agents, usage, and the
        change against the month before."""
        first, last = month_days(month)
        current = self._figures(tenant_id, first, last, time_zone)
        before = self._figures(tenant_id, *month_days((first - timedelta(days=1)).strftime("%Y-%m")), time_zone)
        board = self._reports.report(tenant_id, "agents", start=first, end=last, time_zone=time_zone)["agents"]
        out: dict[str, Any] = {
            "month": month, "time_zone": time_zone, "figures": current,
            "change_vs_previous_month": {k: _change(v, before.get(k)) for k, v in current.items()
                                         if isinstance(v, int | float)},
            "top_agents": [{k: row[k] for k in ("agent", "closed", "avg_first_response_s", "csat_avg")}
                           for row in board[:5]],
        }
        if self._usage is not None:
            usage = self._usage(tenant_id, month)
            out["usage"] = {"sessions": usage.get("sessions", {}).get("total"),
                            "meta_cost_usd": usage.get("meta", {}).get("total_cost_usd")}
        return out

    def _figures(self, tenant_id: str, first: date, last: date, time_zone: str) -> dict[str, Any]:
        totals = self._reports.totals(tenant_id, Window.of(first, last, time_zone))
        conv, resp, mood = conversations_shape(totals), responses_shape(totals), sentiment_shape(totals)
        csat, closed = csat_shape(totals), conv["closed"]
        negative, scored = mood["conversations"].get("NEGATIVE", 0), sum(mood["conversations"].values())
        return {
            "conversations_opened": conv["opened"], "conversations_closed": closed,
            "resolved_by_bot_percent": round(100 * conv["handled_by"].get("bot", 0) / closed, 1) if closed else None,
            "messages_in": totals.get("messages_in", 0), "messages_out": totals.get("messages_out", 0),
            "avg_first_response_s": resp["first_response"]["avg_s"],
            "avg_first_agent_response_s": resp["first_agent_response"]["avg_s"],
            "avg_resolution_s": resolutions_shape(totals)["avg_resolution_s"], "csat_avg": csat["avg"],
            "csat_answers": csat["answers"],
            "negative_conversations_percent": round(100 * negative / scored, 1) if scored else None,
            "bot_sessions": bots_shape(totals)["sessions"],
            "new_contacts": totals.get("contacts_new", 0), "returning_contacts": totals.get("contacts_returning", 0),
        }


def _change(now: Any, before: Any) -> float | None:
    """The relative change in percent (None without a base)."""
    if not isinstance(before, int | float) or not before:
        return None
    return round(100 * (float(now) - before) / before, 1)
