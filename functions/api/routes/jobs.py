"""/v1/imports, /v1/exports, /v1/jobs and /v1/erasures: contact CSV import/export and the erasure log."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from functions.api import deps
from shared.http.context import require
from shared.models.jobs import ErasureRecord, ExportInput, ImportInput, Job

router = APIGatewayHttpRouter()
TAGS = ["Imports and exports"]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
ACCEPTED: dict[int, OpenAPIResponse] = {
    202: {"description": "Accepted: the job runs in the background; follow it at GET /v1/jobs/{job_id}"}}


class JobPage(BaseModel):
    items: list[Job]
    next_cursor: str | None = None


class ErasurePage(BaseModel):
    items: list[ErasureRecord]
    next_cursor: str | None = None


@router.post("/v1/imports", tags=TAGS, responses=ACCEPTED,
             summary="Import contacts from CSV (inline, or {\"upload\": true} for an upload link)")
def start_import(body: ImportInput) -> tuple[Job, int]:
    who = require(router, "admin")
    return deps.jobs().start_import(who.tenant_id or "", body, actor=who.principal_id), 202


@router.post("/v1/imports/<job_id>/start", tags=TAGS, responses=ACCEPTED,
             summary="Start an import whose file was uploaded to its upload_url")
def start_uploaded_import(job_id: str) -> tuple[Job, int]:
    who = require(router, "admin")
    return deps.jobs().start_uploaded_import(who.tenant_id or "", job_id, actor=who.principal_id), 202


@router.post("/v1/exports", tags=TAGS, responses=ACCEPTED, summary="Export contacts (all, or a segment) as CSV")
def start_export(body: ExportInput) -> tuple[Job, int]:
    who = require(router, "admin")
    return deps.jobs().start_export(who.tenant_id or "", body, actor=who.principal_id), 202


@router.get("/v1/jobs", tags=TAGS, summary="List jobs, newest first")
def list_jobs(limit: Limit = 50, cursor: Cursor = None) -> JobPage:
    who = require(router, "admin")
    page = deps.jobs().list_jobs(who.tenant_id or "", limit=limit, cursor=cursor)
    return JobPage(items=page.items, next_cursor=page.cursor)


@router.get("/v1/jobs/<job_id>", tags=TAGS, summary="A job: status, progress, and fresh links to its files")
def get_job(job_id: str) -> Job:
    who = require(router, "admin")
    return deps.jobs().get(who.tenant_id or "", job_id)


@router.get("/v1/erasures", tags=TAGS, summary="Erased contacts, newest first (no personal data is kept)")
def list_erasures(limit: Limit = 50, cursor: Cursor = None) -> ErasurePage:
    who = require(router, "admin")
    page = deps.erasure().list_records(who.tenant_id or "", limit=limit, cursor=cursor)
    return ErasurePage(items=page.items, next_cursor=page.cursor)
