"""/v1/reports: conversations, responses, resolutions, messages, contacts, assignments, CSAT, sentiment and bots
over local days in a time zone, with one filter (channel, campaign/team or agent); the agents' leaderboard and
their time in each status. Every figure is a sum of hourly counters kept from the domain events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from functions.api import deps
from shared.http.context import require
from shared.services.reports import REPORTS

router = APIGatewayHttpRouter()
TAGS = ["Reports"]
DEFAULT_ZONE = "America/Argentina/Buenos_Aires"


@router.get("/v1/reports/<name>", tags=TAGS, summary="A report over local days",
            description="`name` is one of: " + ", ".join(REPORTS) + ". Totals and one entry per local day of the "
                        "range in `tz` (a zone a whole number of hours from UTC). Filter by one of `channel`, "
                        "`campaign` (the team) or `agent`. `agents` is the leaderboard (sorted by conversations "
                        "closed), `users` the time each agent spent online, busy, on each break. Response times "
                        "are given in seconds and in business seconds (within the campaign's opening hours).")
def get_report(name: str,
               date_from: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD, local; default: "
                                                       "7 days before `to`")] = None,
               date_to: Annotated[date | None, Query(alias="to", description="YYYY-MM-DD, local, included; "
                                                     "default: today")] = None,
               tz: Annotated[str, Query(description="IANA time zone", max_length=64)] = DEFAULT_ZONE,
               channel: Annotated[str | None, Query(max_length=80)] = None,
               campaign: Annotated[str | None, Query(max_length=40, description="campaign (team) id")] = None,
               agent: Annotated[str | None, Query(max_length=80, description="user id")] = None) -> dict[str, Any]:
    who = require(router, "reports:read")
    end = date_to or datetime.now(UTC).date()
    start = date_from or end - timedelta(days=6)
    return deps.reports().report(who.tenant_id or "", name, start=start, end=end, time_zone=tz, channel=channel,
                                 campaign=campaign, agent=agent)


class ExportInput(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    date_from: date = Field(alias="from", description="YYYY-MM-DD, local", examples=["2026-11-01"])
    date_to: date = Field(alias="to", description="YYYY-MM-DD, local, included", examples=["2026-11-30"])
    tz: str = Field(default=DEFAULT_ZONE, max_length=64)


@router.post("/v1/reports/exports", tags=TAGS, summary="Export closed conversations as CSV (one row each)",
             description="One row per conversation closed in the range: channel, contact, tags, bot/agent, campaign, "
                         "agent, first response, resolution, CSAT, sentiment, closing note category. Answers with a "
                         "signed S3 link valid for an hour.")
def export_conversations(body: ExportInput) -> dict[str, Any]:
    who = require(router, "reports:read")
    return deps.report_exports().export_conversations(who.tenant_id or "", start=body.date_from, end=body.date_to,
                                                      time_zone=body.tz)


@router.get("/v1/reports/monthly/<month>", tags=TAGS, summary="The monthly executive summary",
            description="Volumes, service (first response, resolution), quality (CSAT, negative conversations), the "
                        "bots' share, the top agents and usage, with the change against the month before.")
def monthly_summary(month: str, tz: Annotated[str, Query(description="IANA time zone", max_length=64)] = DEFAULT_ZONE
                    ) -> dict[str, Any]:
    who = require(router, "reports:read")
    return deps.report_exports().summary(who.tenant_id or "", month, time_zone=tz)


@router.post("/v1/reports/analytics/<day>", tags=TAGS, summary="Write (again) a UTC day of the BI export",
             description="The schedule (every 30 minutes) writes each settled UTC day once; this rewrites one "
                         "(e.g. after late CSAT answers). Files: "
                         "analytics/conversations|hourly/tenant_id=<you>/dt=<day>/ in the platform bucket, read by "
                         "the Glue tables `conversations` and `hourly`.")
def export_analytics_day(day: date) -> dict[str, Any]:
    who = require(router, "reports:read")
    return {"day": day.isoformat(), **deps.report_exports().export_day(who.tenant_id or "", day)}
