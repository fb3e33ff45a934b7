"""/v1/contacts: create, read, update, delete, search and list; tags, identities, consent, timeline."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, Field

from functions.api import deps
from shared.errors import InvalidInput
from shared.http.context import require
from shared.models.crm import TAG, Activity, ConsentInput, Contact, ContactInput, ContactPatch, Identity

router = APIGatewayHttpRouter()
TAGS = ["Contacts"]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]


class ContactPage(BaseModel):
    items: list[Contact]
    next_cursor: str | None = None


class ActivityPage(BaseModel):
    items: list[Activity]
    next_cursor: str | None = None


class TagChange(BaseModel):
    model_config = {"extra": "forbid"}
    add: list[Annotated[str, Field(pattern=TAG)]] = Field(default_factory=list, max_length=50)
    remove: list[Annotated[str, Field(pattern=TAG)]] = Field(default_factory=list, max_length=50)


class IdentityInput(Identity):
    default_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


@router.post("/v1/contacts", tags=TAGS, summary="Create a contact", responses={201: {"description": "Created"}})
def create_contact(body: ContactInput) -> tuple[Contact, int]:
    who = require(router, "contacts:write")
    return deps.contacts().create(who.tenant_id or "", body, actor=who.principal_id), 201


@router.get("/v1/contacts", tags=TAGS, summary="List or search contacts (newest first)")
def list_contacts(limit: Limit = 50, cursor: Cursor = None,
                  phone: Annotated[str | None, Query(max_length=40)] = None,
                  email: Annotated[str | None, Query(max_length=254)] = None,
                  segment_id: Annotated[str | None, Query(max_length=64)] = None,
                  default_country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None) -> ContactPage:
    who = require(router, "contacts:read")
    tenant = who.tenant_id or ""
    if phone or email:
        found = deps.contacts().find(tenant, phone=phone, email=email, default_country=default_country)
        return ContactPage(items=found[:limit])
    if segment_id:
        page = deps.segments().members(tenant, segment_id, limit=limit, cursor=cursor)
    else:
        page = deps.contacts().page(tenant, limit=limit, cursor=cursor)
    return ContactPage(items=page.items, next_cursor=page.cursor)


@router.get("/v1/contacts/<contact_id>", tags=TAGS, summary="Get a contact")
def get_contact(contact_id: str) -> Contact:
    who = require(router, "contacts:read")
    return deps.contacts().get(who.tenant_id or "", contact_id)


@router.patch("/v1/contacts/<contact_id>", tags=TAGS, summary="Update a contact's attributes")
def update_contact(contact_id: str, body: ContactPatch) -> Contact:
    who = require(router, "contacts:write")
    return deps.contacts().update(who.tenant_id or "", contact_id, body, actor=who.principal_id)


@router.delete("/v1/contacts/<contact_id>", tags=TAGS, summary="Erase a contact and everything of theirs",
               responses={202: {"description": "Erasure accepted"}})
def delete_contact(contact_id: str) -> tuple[dict[str, str], int]:
    who = require(router, "contacts:write")
    record = deps.erasure().request(who.tenant_id or "", contact_id, actor=who.principal_id)
    return record, 202


@router.post("/v1/contacts/<contact_id>/tags", tags=TAGS, summary="Add and remove tags")
def change_tags(contact_id: str, body: TagChange) -> Contact:
    who = require(router, "contacts:write")
    if not body.add and not body.remove:
        raise InvalidInput("give tags to add or remove")
    return deps.contacts().change_tags(who.tenant_id or "", contact_id, add=body.add, remove=body.remove,
                                       actor=who.principal_id)


@router.delete("/v1/contacts/<contact_id>/tags/<tag>", tags=TAGS, summary="Remove one tag")
def remove_tag(contact_id: str, tag: str) -> Contact:
    who = require(router, "contacts:write")
    return deps.contacts().change_tags(who.tenant_id or "", contact_id, remove=[tag], actor=who.principal_id)


@router.post("/v1/contacts/<contact_id>/identities", tags=TAGS, summary="Attach an identity (channel id, phone, email)")
def add_identity(contact_id: str, body: IdentityInput) -> Contact:
    who = require(router, "contacts:write")
    identity = Identity(kind=body.kind, value=body.value, channel_id=body.channel_id)
    return deps.contacts().add_identity(who.tenant_id or "", contact_id, identity, actor=who.principal_id,
                                        default_country=body.default_country)


@router.delete("/v1/contacts/<contact_id>/identities/<kind>/<value>", tags=TAGS, summary="Detach an identity")
def remove_identity(contact_id: str, kind: str, value: str) -> Contact:
    who = require(router, "contacts:write")
    return deps.contacts().remove_identity(who.tenant_id or "", contact_id, kind, value, actor=who.principal_id)


@router.post("/v1/contacts/<contact_id>/consent", tags=TAGS, summary="Record an opt-in or opt-out, with evidence")
def set_consent(contact_id: str, body: ConsentInput) -> Contact:
    who = require(router, "contacts:write")
    return deps.contacts().set_consent(who.tenant_id or "", contact_id, body, actor=who.principal_id)


@router.get("/v1/contacts/<contact_id>/timeline", tags=TAGS, summary="The contact's activity, newest first")
def timeline(contact_id: str, limit: Limit = 50, cursor: Cursor = None) -> ActivityPage:
    who = require(router, "contacts:read")
    page = deps.contacts().timeline(who.tenant_id or "", contact_id, limit=limit, cursor=cursor)
    return ActivityPage(items=page.items, next_cursor=page.cursor)
