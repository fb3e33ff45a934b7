"""/v1/files: the tenant's library of documents and images that agents, bots and broadcasts send.

Upload in three steps: POST /v1/files (declare name, type, size) -> PUT the bytes to the returned
`upload_url` with its `headers` -> POST /v1/files/{file_id}/confirm. Only confirmed files can be sent.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from functions.api import deps
from shared.http.context import require
from shared.models.crm import TAG
from shared.models.files import FileDownload, FileInput, FilePage, FileUpload, LibraryFile, MediaKind

router = APIGatewayHttpRouter()  # the Powertools class has no annotated __init__
TAGS = ["Files"]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]


@router.post("/v1/files", tags=TAGS, summary="Declare a file and get a pre-signed URL to upload it",
             responses={201: {"description": "Created (pending until confirmed)"}})
def create_file(body: FileInput) -> tuple[FileUpload, int]:
    who = require(router, "messages:send")  # agents attach files to their replies; deleting stays with admins
    return deps.files().create(who.tenant_id or "", body, actor=who.principal_id), 201


@router.post("/v1/files/<file_id>/confirm", tags=TAGS, summary="Check the uploaded bytes and make the file sendable")
def confirm_file(file_id: str) -> LibraryFile:
    who = require(router, "messages:send")
    return deps.files().confirm(who.tenant_id or "", file_id)


@router.get("/v1/files", tags=TAGS, summary="List files (newest first)")
def list_files(limit: Limit = 50, cursor: Cursor = None,
               kind: Annotated[MediaKind | None, Query(description="WhatsApp media kind")] = None,
               tag: Annotated[str | None, Query(pattern=TAG)] = None,
               folder: Annotated[str | None, Query(max_length=100)] = None) -> FilePage:
    who = require(router, "contacts:read")
    return deps.files().list(who.tenant_id or "", limit=limit, cursor=cursor, kind=kind, tag=tag, folder=folder)


@router.get("/v1/files/<file_id>", tags=TAGS, summary="Get a file")
def get_file(file_id: str) -> LibraryFile:
    who = require(router, "contacts:read")
    return deps.files().get(who.tenant_id or "", file_id)


@router.get("/v1/files/<file_id>/download", tags=TAGS, summary="A short-lived URL to download a ready file")
def download_file(file_id: str) -> FileDownload:
    who = require(router, "contacts:read")
    return deps.files().download_url(who.tenant_id or "", file_id)


@router.delete("/v1/files/<file_id>", tags=TAGS, summary="Delete a file and its bytes",
               responses={204: {"description": "Deleted"}})
def delete_file(file_id: str) -> tuple[None, int]:
    who = require(router, "admin")
    deps.files().delete(who.tenant_id or "", file_id)
    return None, 204
