"""/v1/transcripts ("grabaciones"): search conversations and read, print or export one with every line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from functions.api import deps
from shared.http.context import as_utc, require
from shared.models.contact_center import Transcript, TranscriptSummary

router = APIGatewayHttpRouter()
TAGS = ["Transcripts"]


class TranscriptPage(BaseModel):
    items: list[TranscriptSummary]
    next_cursor: str | None = None


@router.get("/v1/transcripts", tags=TAGS, summary="Search transcripts",
            description="Conversations opened between `from` and `to` (default: the last 7 days), newest first, "
                        "filtered by channel, campaign, agent (anyone who held it), contact and direction "
                        "(`in`: the customer started it). `format=csv` exports the page as CSV.",
            responses={200: {"description": "The page (JSON), or CSV with format=csv",
                             "content": {"application/json": {"model": TranscriptPage}, "text/csv": {}}}})
def search(since: Annotated[datetime | None, Query(alias="from")] = None,
           until: Annotated[datetime | None, Query(alias="to")] = None,
           channel_id: Annotated[str | None, Query(max_length=64)] = None,
           campaign_id: Annotated[str | None, Query(max_length=40)] = None,
           agent_id: Annotated[str | None, Query(max_length=64)] = None,
           contact_id: Annotated[str | None, Query(max_length=64)] = None,
           direction: Annotated[Literal["in", "out"] | None, Query()] = None,
           limit: Annotated[int, Query(ge=1, le=500)] = 50,
           cursor: Annotated[str | None, Query(max_length=2048)] = None,
           format: Annotated[Literal["json", "csv"], Query()] = "json") -> Response[str]:  # noqa: A002
    who = require(router, "conversations:read")
    end = as_utc(until) or datetime.now(UTC)
    start = as_utc(since) or end - timedelta(days=7)
    filters = {k: v for k, v in (("channel_id", channel_id), ("campaign_id", campaign_id), ("agent_id", agent_id),
                                 ("contact_id", contact_id), ("direction", direction)) if v}
    items, next_cursor = deps.contact_center().search_transcripts(who.tenant_id or "", since=start, until=end,
                                                                  filters=filters, limit=limit, cursor=cursor)
    if format == "csv":
        from shared.services.transcript_render import summaries_to_csv

        return Response(status_code=200, content_type="text/csv; charset=utf-8", body=summaries_to_csv(items),
                        headers={"Content-Disposition": 'attachment; filename="transcripts.csv"'})
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body=TranscriptPage(items=items, next_cursor=next_cursor).model_dump_json())


@router.get("/v1/transcripts/<conversation_id>", tags=TAGS, summary="One transcript: every message, note and event",
            description="Customer, bot, agents and API messages with delivery status, internal notes and routing "
                        "events, in order. `format=html` is a printable page; `format=csv` a CSV file.",
            responses={200: {"description": "The transcript (JSON), a printable page or CSV",
                             "content": {"application/json": {"model": Transcript}, "text/html": {},
                                         "text/csv": {}}}})
def transcript(conversation_id: str,
               format: Annotated[Literal["json", "html", "csv"], Query()] = "json"  # noqa: A002
               ) -> Response[str]:
    who = require(router, "conversations:read")
    found = deps.contact_center().transcript(who.tenant_id or "", conversation_id)
    if format == "html":
        from shared.services.transcript_render import to_html

        return Response(status_code=200, content_type=content_types.TEXT_HTML + "; charset=utf-8",
                        body=to_html(found))
    if format == "csv":
        from shared.services.transcript_render import to_csv

        return Response(status_code=200, content_type="text/csv; charset=utf-8", body=to_csv(found),
                        headers={"Content-Disposition": f'attachment; filename="{conversation_id}.csv"'})
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=found.model_dump_json())
