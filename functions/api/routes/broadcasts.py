"""/v1/channels/{id}/templates, /v1/channels/{id}/health and /v1/broadcasts: WhatsApp templates and broadcasts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from functions.api import deps
from shared.http.context import require
from shared.models.broadcasts import (
    Broadcast,
    BroadcastInput,
    BroadcastView,
    Exclusion,
    Recipient,
    RetryInput,
    ScheduleInput,
)
from shared.models.templates import LintFinding, MessageTemplate, TemplateInput

router = APIGatewayHttpRouter()
TEMPLATES = ["Templates"]
BROADCASTS = ["Broadcasts"]


class TemplateList(BaseModel):
    items: list[MessageTemplate]


class SyncResult(BaseModel):
    added: int
    updated: int
    removed: int
    total: int


class ParamsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str = Field(min_length=2, max_length=12)
    parameters: dict[str, Any] = Field(default_factory=dict, max_length=40,
                                       description="Slot → value (header, body.1, body.<name>, button.<index>)")


class LintResult(BaseModel):
    findings: list[LintFinding]


class ThroughputInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    throughput_mps: int = Field(ge=1, le=1000)


class BroadcastPage(BaseModel):
    items: list[BroadcastView]
    next_cursor: str | None = None


class RecipientPage(BaseModel):
    items: list[Recipient] | list[Exclusion]
    next_cursor: str | None = None


class PreviewInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: str | None = Field(default=None, max_length=64, description="Default: the audience's first")


class RetryResult(BaseModel):
    retried: int
    skipped: dict[str, int]


# -- templates -----------------------------------------------------------------------------------------------

@router.get("/v1/channels/<channel_id>/templates", tags=TEMPLATES, summary="The channel's templates",
            description="As last synced from Meta and updated by Meta's status, quality and category webhooks, "
                        "each with lint findings (e.g. marketing content in a utility template).")
def list_templates(channel_id: str, status: Annotated[str | None, Query(max_length=20)] = None,
                   category: Annotated[str | None, Query(max_length=20)] = None) -> TemplateList:
    who = require(router, "contacts:read")
    return TemplateList(items=deps.templates().list_templates(who.tenant_id or "", channel_id, status=status,
                                                    category=category))


@router.post("/v1/channels/<channel_id>/templates/sync", tags=TEMPLATES,
             summary="Sync the templates from Meta (GET /{WABA-ID}/message_templates, every page)")
def sync_templates(channel_id: str) -> SyncResult:
    who = require(router, "admin")
    return SyncResult(**deps.templates().sync(who.tenant_id or "", channel_id))


@router.post("/v1/channels/<channel_id>/templates", tags=TEMPLATES, summary="Create a template and submit it",
             description="Linted first (errors refuse with 422, warnings are returned on the template); then "
                         "submitted to Meta, where it waits as PENDING until Meta's review webhook.",
             responses={201: {"description": "Submitted"}})
def create_template(channel_id: str, body: TemplateInput) -> tuple[MessageTemplate, int]:
    who = require(router, "admin")
    return deps.templates().create(who.tenant_id or "", channel_id, body), 201


@router.post("/v1/templates/lint", tags=TEMPLATES, summary="Lint a template without submitting it")
def lint_template(body: TemplateInput) -> LintResult:
    require(router, "contacts:read")
    return LintResult(findings=deps.templates().lint(body))


@router.get("/v1/channels/<channel_id>/templates/<name>", tags=TEMPLATES, summary="One template")
def get_template(channel_id: str, name: str, language: Annotated[str, Query(min_length=2, max_length=12)]
                 ) -> MessageTemplate:
    who = require(router, "contacts:read")
    return deps.templates().get_template(who.tenant_id or "", channel_id, name, language)


@router.delete("/v1/channels/<channel_id>/templates/<name>", tags=TEMPLATES, summary="Delete a template at Meta",
               responses={204: {"description": "Deleted"}})
def delete_template(channel_id: str, name: str, language: Annotated[str, Query(min_length=2, max_length=12)]
                    ) -> tuple[None, int]:
    who = require(router, "admin")
    deps.templates().delete(who.tenant_id or "", channel_id, name, language)
    return None, 204


@router.post("/v1/channels/<channel_id>/templates/<name>/validate", tags=TEMPLATES,
             summary="Check parameters and build the send components (before Meta sees anything)")
def validate_params(channel_id: str, name: str, body: ParamsInput) -> dict[str, Any]:
    who = require(router, "contacts:read")
    return deps.templates().validate(who.tenant_id or "", channel_id, name, body.language, body.parameters)


@router.get("/v1/channels/<channel_id>/health", tags=TEMPLATES, summary="Account health",
            description="The number's quality and messaging-limit tier, throughput, account events, template "
                        "statuses and quality, and the last 50 health events from Meta's webhooks.")
def health(channel_id: str) -> dict[str, Any]:
    who = require(router, "contacts:read")
    return deps.templates().health(who.tenant_id or "", channel_id)


@router.put("/v1/channels/<channel_id>/throughput", tags=TEMPLATES, summary="Set the number's throughput",
            description="Messages per second broadcasts may send on this number (80 default, up to 1,000 after "
                        "Meta's automatic upgrade; the THROUGHPUT_UPGRADE webhook sets 1,000 by itself).")
def set_throughput(channel_id: str, body: ThroughputInput) -> dict[str, Any]:
    who = require(router, "admin")
    return deps.templates().set_throughput(who.tenant_id or "", channel_id, body.throughput_mps
                                           ).model_dump(mode="json")


# -- broadcasts ----------------------------------------------------------------------------------------------

@router.post("/v1/broadcasts", tags=BROADCASTS, summary="Create a broadcast (a draft)",
             responses={201: {"description": "Created"}})
def create_broadcast(body: BroadcastInput) -> tuple[Broadcast, int]:
    who = require(router, "admin")
    return deps.broadcasts().create(who.tenant_id or "", body, actor=who.principal_id), 201


@router.get("/v1/broadcasts", tags=BROADCASTS, summary="List broadcasts, newest first, with progress")
def list_broadcasts(limit: Annotated[int, Query(ge=1, le=100)] = 20,
                    cursor: Annotated[str | None, Query(max_length=2048)] = None) -> BroadcastPage:
    who = require(router, "contacts:read")
    page = deps.broadcasts().list_broadcasts(who.tenant_id or "", limit=limit, cursor=cursor)
    return BroadcastPage(items=page.items, next_cursor=page.cursor)


@router.get("/v1/broadcasts/<broadcast_id>", tags=BROADCASTS, summary="A broadcast with its progress counts")
def get_broadcast(broadcast_id: str) -> BroadcastView:
    who = require(router, "contacts:read")
    return deps.broadcasts().view(who.tenant_id or "", broadcast_id)


@router.put("/v1/broadcasts/<broadcast_id>", tags=BROADCASTS, summary="Edit a draft (or a ready broadcast)")
def update_broadcast(broadcast_id: str, body: BroadcastInput) -> Broadcast:
    who = require(router, "admin")
    return deps.broadcasts().update(who.tenant_id or "", broadcast_id, body)


@router.post("/v1/broadcasts/<broadcast_id>/preview", tags=BROADCASTS,
             summary="The message one contact would get (variables filled), or why they are excluded")
def preview(broadcast_id: str, body: PreviewInput) -> dict[str, Any]:
    who = require(router, "contacts:read")
    return deps.broadcasts().preview(who.tenant_id or "", broadcast_id, body.contact_id)


@router.post("/v1/broadcasts/<broadcast_id>/prepare", tags=BROADCASTS,
             summary="Resolve the audience: eligible recipients, exclusions, cost preview and tier check",
             description="Runs in the background (status preparing → ready); `prepared` then holds the counts, "
                         "the cost by market and category from the dated rate card, and the tier check.",
             responses={202: {"description": "Preparing"}})
def prepare(broadcast_id: str) -> tuple[Broadcast, int]:
    who = require(router, "admin")
    return deps.broadcasts().prepare(who.tenant_id or "", broadcast_id), 202


@router.post("/v1/broadcasts/<broadcast_id>/start", tags=BROADCASTS, summary="Start now or schedule",
             description="A draft is prepared first. Refused (409) when the audience exceeds the messaging-limit "
                         "tier, unless allow_over_tier.", responses={202: {"description": "Started or scheduled"}})
def start(broadcast_id: str, body: ScheduleInput) -> tuple[Broadcast, int]:
    who = require(router, "admin")
    return deps.broadcasts().start(who.tenant_id or "", broadcast_id, body), 202


@router.post("/v1/broadcasts/<broadcast_id>/pause", tags=BROADCASTS, summary="Pause")
def pause(broadcast_id: str) -> Broadcast:
    who = require(router, "admin")
    return deps.broadcasts().pause(who.tenant_id or "", broadcast_id, reason=f"paused by {who.principal_id}")


@router.post("/v1/broadcasts/<broadcast_id>/resume", tags=BROADCASTS, summary="Resume")
def resume(broadcast_id: str) -> Broadcast:
    who = require(router, "admin")
    return deps.broadcasts().resume(who.tenant_id or "", broadcast_id)


@router.post("/v1/broadcasts/<broadcast_id>/cancel", tags=BROADCASTS, summary="Cancel (final)")
def cancel(broadcast_id: str) -> Broadcast:
    who = require(router, "admin")
    return deps.broadcasts().cancel(who.tenant_id or "", broadcast_id)


@router.get("/v1/broadcasts/<broadcast_id>/recipients", tags=BROADCASTS, summary="Recipients",
            description="status=failed: the failed-recipients view (Meta's code, title, details, error class); "
                        "status=excluded: who was left out and why; none: everyone, bucket by bucket.")
def recipients(broadcast_id: str, status: Annotated[Literal["failed", "excluded"] | None, Query()] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 100,
               cursor: Annotated[str | None, Query(max_length=2048)] = None) -> RecipientPage:
    who = require(router, "contacts:read")
    page = deps.broadcasts().recipients(who.tenant_id or "", broadcast_id, status=status, limit=limit,
                                        cursor=cursor)
    return RecipientPage(items=page.items, next_cursor=page.cursor)


@router.post("/v1/broadcasts/<broadcast_id>/retry", tags=BROADCASTS, summary="Resend failed recipients",
             description="Failed and unconfirmed recipients go back to the queue and are sent again (marketing_cap "
                         "ones only after their 24 h wait unless include_waiting; opted-out ones never unless "
                         "their class is named).")
def retry(broadcast_id: str, body: RetryInput) -> RetryResult:
    who = require(router, "admin")
    return RetryResult(**deps.broadcasts().retry_failed(who.tenant_id or "", broadcast_id, body))


@router.get("/v1/broadcasts/<broadcast_id>/report", tags=BROADCASTS,
            summary="Counts per status, failure reasons, replies, read rate and cost")
def report(broadcast_id: str) -> dict[str, Any]:
    who = require(router, "contacts:read")
    return deps.broadcasts().report(who.tenant_id or "", broadcast_id)
