"""/v1 CRM configuration and maintenance: custom fields, segments, duplicates, merges, channels (and their
click-to-chat links and QR codes)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, Field

from functions.api import deps
from shared.errors import InvalidInput, NotFound
from shared.http.context import base_url, require
from shared.models.channel import Channel
from shared.models.crm import Contact, CustomFieldDef, MergeRecord
from shared.models.segments import Segment, SegmentInput
from shared.services.chat_links import chat_link, qr_code

router = APIGatewayHttpRouter()


class FieldList(BaseModel):
    items: list[CustomFieldDef]


@router.get("/v1/fields", tags=["Custom fields"], summary="The tenant's custom field definitions")
def list_fields() -> FieldList:
    who = require(router, "contacts:read")
    return FieldList(items=sorted(deps.contacts().field_defs(who.tenant_id or "").values(), key=lambda f: f.key))


@router.put("/v1/fields/<key>", tags=["Custom fields"], summary="Define or relabel a custom field")
def put_field(key: str, body: CustomFieldDef) -> CustomFieldDef:
    who = require(router, "admin")
    if body.key != key:
        raise InvalidInput("the key in the path and the body differ")
    return deps.contacts().put_field_def(who.tenant_id or "", body)


@router.delete("/v1/fields/<key>", tags=["Custom fields"], summary="Delete a custom field definition",
               responses={204: {"description": "Deleted"}})
def delete_field(key: str) -> Response[None]:
    who = require(router, "admin")
    deps.contacts().delete_field_def(who.tenant_id or "", key)
    return Response(status_code=204)


class SegmentList(BaseModel):
    items: list[Segment]


class SegmentCount(BaseModel):
    segment_id: str
    count: int


@router.post("/v1/segments", tags=["Segments"], summary="Save a segment (a filter over contacts)",
             responses={201: {"description": "Created"}})
def create_segment(body: SegmentInput) -> tuple[Segment, int]:
    who = require(router, "admin")
    return deps.segments().create(who.tenant_id or "", body), 201


@router.get("/v1/segments", tags=["Segments"], summary="List segments")
def list_segments() -> SegmentList:
    who = require(router, "contacts:read")
    return SegmentList(items=deps.segments().list(who.tenant_id or ""))


@router.get("/v1/segments/<segment_id>", tags=["Segments"], summary="Get a segment")
def get_segment(segment_id: str) -> Segment:
    who = require(router, "contacts:read")
    return deps.segments().get(who.tenant_id or "", segment_id)


@router.put("/v1/segments/<segment_id>", tags=["Segments"], summary="Replace a segment's name and filter")
def update_segment(segment_id: str, body: SegmentInput) -> Segment:
    who = require(router, "admin")
    return deps.segments().update(who.tenant_id or "", segment_id, body)


@router.delete("/v1/segments/<segment_id>", tags=["Segments"], summary="Delete a segment",
               responses={204: {"description": "Deleted"}})
def delete_segment(segment_id: str) -> Response[None]:
    who = require(router, "admin")
    deps.segments().delete(who.tenant_id or "", segment_id)
    return Response(status_code=204)


@router.get("/v1/segments/<segment_id>/count", tags=["Segments"], summary="How many contacts match now")
def count_segment(segment_id: str) -> SegmentCount:
    who = require(router, "contacts:read")
    return SegmentCount(segment_id=segment_id, count=deps.segments().count(who.tenant_id or "", segment_id))


class DuplicateGroupOut(BaseModel):
    kind: str
    value: str
    contact_ids: list[str]


class DuplicateList(BaseModel):
    items: list[DuplicateGroupOut]


class MergeInput(BaseModel):
    model_config = {"extra": "forbid"}
    survivor_id: str = Field(min_length=1, max_length=64, description="The contact that stays")
    merged_id: str = Field(min_length=1, max_length=64, description="The contact folded into it")


class SplitResult(BaseModel):
    survivor: Contact
    restored: Contact


@router.get("/v1/duplicates", tags=["Merge"], summary="Contacts sharing a normalized phone or email")
def duplicates(limit: Annotated[int, Query(ge=1, le=500)] = 100) -> DuplicateList:
    who = require(router, "contacts:read")
    groups = deps.contacts().duplicates(who.tenant_id or "")[:limit]
    return DuplicateList(items=[DuplicateGroupOut(kind=g.kind, value=g.value, contact_ids=list(g.contact_ids))
                                for g in groups])


@router.post("/v1/merges", tags=["Merge"], summary="Merge two contacts (audited, undoable)",
             responses={201: {"description": "Merged"}})
def merge(body: MergeInput) -> tuple[MergeRecord, int]:
    who = require(router, "contacts:write")
    return deps.contacts().merge(who.tenant_id or "", body.survivor_id, body.merged_id, actor=who.principal_id), 201


@router.get("/v1/merges/<merge_id>", tags=["Merge"], summary="A merge's audit record")
def get_merge(merge_id: str) -> MergeRecord:
    who = require(router, "contacts:read")
    return deps.contacts().get_merge(who.tenant_id or "", merge_id)


@router.post("/v1/merges/<merge_id>/split", tags=["Merge"], summary="Undo a merge")
def split(merge_id: str) -> SplitResult:
    who = require(router, "contacts:write")
    survivor, restored = deps.contacts().split(who.tenant_id or "", merge_id, actor=who.principal_id)
    return SplitResult(survivor=survivor, restored=restored)


class ChannelOut(BaseModel):
    channel_id: str
    kind: str
    display_phone_number: str | None = None
    phone_number_id: str
    handle: str | None = None
    enabled: bool
    webhook_url: str


class ChannelList(BaseModel):
    items: list[ChannelOut]


@router.get("/v1/channels", tags=["Channels"], summary="The tenant's channels and their webhook URLs")
def list_channels() -> ChannelList:
    who = require(router, "contacts:read")
    base = base_url(router.current_event.raw_event)
    return ChannelList(items=[ChannelOut(
        channel_id=c.channel_id, kind=c.kind, display_phone_number=c.display_phone_number,
        phone_number_id=c.phone_number_id, handle=c.handle, enabled=c.enabled, webhook_url=c.webhook_url(base))
        for c in deps.channels().list_for_tenant(who.tenant_id or "")])


class ChatLink(BaseModel):
    channel_id: str
    kind: str
    url: str = Field(description="Opens a conversation with the channel (wa.me, m.me, ig.me, t.me or sms:)")


def _channel(tenant_id: str, channel_id: str) -> Channel:
    channel = deps.channels().get(channel_id)
    if channel is None or channel.tenant_id != tenant_id:
        raise NotFound(f"no channel {channel_id}")
    return channel


@router.get("/v1/channels/<channel_id>/link", tags=["Channels"], summary="The channel's click-to-chat link")
def channel_link(channel_id: str,
                 text: Annotated[str | None, Query(max_length=1000, description="Prefilled message (WhatsApp, SMS)")]
                 = None,
                 ref: Annotated[str | None, Query(description="Where the customer came from (Messenger ref, "
                                                  "Telegram start parameter); 1-64 of A-Z a-z 0-9 _ -")] = None
                 ) -> ChatLink:
    who = require(router, "contacts:read")
    channel = _channel(who.tenant_id or "", channel_id)
    return ChatLink(channel_id=channel_id, kind=channel.kind, url=chat_link(channel, text=text, ref=ref))


@router.get("/v1/channels/<channel_id>/qr", tags=["Channels"], summary="The click-to-chat link as a QR code",
            responses={200: {"description": "The QR code", "content": {"image/svg+xml": {}, "image/png": {}}}})
def channel_qr(channel_id: str,  # type: ignore[no-untyped-def]  # an image: no return annotation, so
               format: Annotated[Literal["svg", "png"], Query(description="svg (default) or png")] = "svg",
               text: Annotated[str | None, Query(max_length=1000)] = None,
               ref: Annotated[str | None, Query()] = None,
               scale: Annotated[int, Query(ge=1, le=40, description="Pixels per module")] = 8):
    # Powertools does not validate the body as JSON (it is documented in `responses`); bytes go out base64-encoded
    who = require(router, "contacts:read")
    url = chat_link(_channel(who.tenant_id or "", channel_id), text=text, ref=ref)
    return Response(status_code=200, content_type="image/svg+xml" if format == "svg" else "image/png",
                    body=qr_code(url, format, scale=scale), headers={"X-Chat-Link": url})
