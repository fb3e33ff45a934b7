"""Report exports: the row-level CSV (one row per closed conversation, spreadsheet-safe), the BI export's daily
partitions written once per settled day, and the monthly summary with its change against the month before."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.services.report_exports import (
    CONVERSATION_COLUMNS,
    HOURLY_COLUMNS,
    ReportExports,
    conversation_row,
)
from shared.services.reports import ConversationFact
from shared.services.transcript_render import safe_cell
from tests.unit.test_reports import MON, WA, Events, FakeReports, aggregator, feed


class Files:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        self.objects[key] = data

    def presign_get(self, key: str, *, expires_s: int, filename: str | None = None) -> str:
        return f"https://s3.local/{key}?name={filename}"


class Marks:
    def __init__(self, done: set[tuple[str, date]]) -> None:
        self.done = done

    def exported(self, tenant_id: str, day: date) -> bool:
        return (tenant_id, day) in self.done

    def mark_exported(self, tenant_id: str, day: date) -> None:
        self.done.add((tenant_id, day))


def exports(store: FakeReports, files: Files, now: datetime, done: set[tuple[str, date]] | None = None
            ) -> ReportExports:
    marks = Marks(done if done is not None else set())
    return ReportExports(reports=aggregator(store), store=store, files=files, marks=marks, tenants=lambda: ["acme"],
                         tags=lambda tenant, contact: ["=cmd()", "vip"] if contact == "ct-57300" else [],
                         clock=lambda: now)


def closed_day(store: FakeReports) -> None:
    agg = aggregator(store)
    e = Events()
    e.opened(MON, "c1", "57300")
    e.customer(MON, "c1", "57300", 0)
    e.assigned(MON + timedelta(seconds=30), "c1", "ana", "soporte", wait_s=30)  # waiting for people since MON
    e.reply(MON + timedelta(seconds=90), "c1", "57300", 1, "user:ana")
    e.closed(MON + timedelta(minutes=10), "c1", "57300", "user:ana", "soporte", "ana")
    e.opened(MON + timedelta(hours=1), "c2", "57301")  # still open: not exported
    feed(agg, e.out)


def test_the_row_level_export_has_one_safe_row_per_closed_conversation() -> None:
    store, files = FakeReports(), Files()
    closed_day(store)
    result = exports(store, files, MON + timedelta(days=1)).export_conversations(
        "acme", start=MON.date(), end=MON.date(), time_zone="America/Bogota")
    assert result["rows"] == 1 and result["download_url"].startswith("https://s3.local/exports/acme/reports/")
    [data] = files.objects.values()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == list(CONVERSATION_COLUMNS)
    row = rows[0]
    assert (row["conversation_id"], row["agent"], row["campaign_id"], row["handled_by"]) == \
        ("c1", "ana", "soporte", "agent")
    assert (row["first_response_s"], row["first_agent_response_s"], row["resolution_s"]) == ("90", "90", "600")
    assert row["tags"] == "'=cmd();vip"  # a cell a spreadsheet would run as a formula is quoted
    assert safe_cell("+1") == "'+1" and safe_cell("hola") == "hola"


def test_the_bi_export_writes_each_settled_day_once_in_tenant_and_day_partitions() -> None:
    store, files = FakeReports(), Files()
    closed_day(store)
    done: set[tuple[str, date]] = set()
    too_early = datetime(2026, 11, 17, 5, tzinfo=UTC)  # MON's day has not settled yet (late answers)
    assert exports(store, files, too_early, done).export_due() == {"acme": 0}  # the day before MON
    later = datetime(2026, 11, 17, 7, tzinfo=UTC)
    assert exports(store, files, later, done).export_due() == {"acme": 1}
    assert exports(store, files, later, done).export_due() == {}  # once
    partition = f"tenant_id=acme/dt={MON.date()}"
    conversations = files.objects[f"analytics/conversations/{partition}/conversations.csv"].decode()
    assert len(conversations.splitlines()) == 1 and conversations.startswith("c1,")  # no header (Athena)
    hourly = list(csv.reader(io.StringIO(files.objects[f"analytics/hourly/{partition}/hourly.csv"].decode())))
    assert all(len(r) == len(HOURLY_COLUMNS) for r in hourly)
    assert ["2026-11-16T14:00:00Z", "all", "-", "conversations_opened", "1"] in hourly
    assert ["2026-11-16T14:00:00Z", "ag", "ana", "assigned", "1"] in hourly


def test_the_monthly_summary_compares_with_the_month_before() -> None:
    store = FakeReports()
    agg = aggregator(store)
    e = Events()
    for n in range(2):
        e.opened(MON - timedelta(days=30) + timedelta(hours=n), f"old{n}", f"5730{n}")
    for n in range(3):
        e.opened(MON + timedelta(hours=n), f"new{n}", f"5731{n}")
        e.closed(MON + timedelta(hours=n, minutes=5), f"new{n}", f"5731{n}", "bot:b1")
    feed(agg, e.out)
    summary = exports(store, Files(), MON).summary("acme", "2026-11", time_zone="America/Bogota")
    assert summary["figures"]["conversations_opened"] == 3
    assert summary["figures"]["resolved_by_bot_percent"] == 0.0  # closed by the bot but nobody answered: "none"
    assert summary["change_vs_previous_month"]["conversations_opened"] == 50.0


def test_a_row_of_an_unanswered_conversation_leaves_times_empty() -> None:
    fact = ConversationFact(conversation_id="c9", channel_id=WA, opened_at=MON, closed_at=MON + timedelta(hours=1),
                            closed_by="system")
    row: dict[str, Any] = conversation_row(fact)
    assert row["first_response_s"] == "" and row["resolution_s"] == "3600" and row["handled_by"] == "none"
    assert datetime.fromisoformat(row["closed_at"].replace("Z", "+00:00")).tzinfo == UTC
