"""Saved segments: validated against the tenant's custom fields when saved, evaluated over its contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.errors import InvalidInput, NotFound
from shared.models.crm import Contact
from shared.models.segments import Segment, SegmentInput
from shared.ports import Clock, Page
from shared.services.contacts import ContactService, new_id
from shared.services.segments import Predicate, SegmentInvalid, compile_filter


class SegmentStore(Protocol):
    def put_segment(self, segment: Segment) -> None: ...

    def get_segment(self, tenant_id: str, segment_id: str) -> str | None: ...

    def list_segments(self, tenant_id: str) -> list[str]: ...

    def delete_segment(self, tenant_id: str, segment_id: str) -> bool: ...


class SegmentService:
    MAX_PER_TENANT = 500

    def __init__(self, *, store: SegmentStore, contacts: ContactService, clock: Clock) -> None:
        self._store = store
        self._contacts = contacts
        self._clock = clock

    def _compile(self, tenant_id: str, data: SegmentInput | Segment) -> Predicate:
        try:
            return compile_filter(data.filter, self._contacts.field_defs(tenant_id))
        except SegmentInvalid as exc:
            raise InvalidInput("the segment filter is not valid",
                               errors=[{"location": p.path, "message": p.message} for p in exc.problems]) from None

    def create(self, tenant_id: str, data: SegmentInput) -> Segment:
        self._compile(tenant_id, data)
        if len(self._store.list_segments(tenant_id)) >= self.MAX_PER_TENANT:
            raise InvalidInput(f"at most {self.MAX_PER_TENANT} segments per tenant")
        now = self._clock.now()
        segment = Segment(segment_id=new_id("sg", self._clock), tenant_id=tenant_id, name=data.name,
                          description=data.description, filter=data.filter, created_at=now, updated_at=now)
        self._store.put_segment(segment)
        return segment

    def get(self, tenant_id: str, segment_id: str) -> Segment:
        doc = self._store.get_segment(tenant_id, segment_id)
        if doc is None:
            raise NotFound(f"no segment {segment_id}")
        return Segment.model_validate_json(doc)

    def list(self, tenant_id: str) -> list[Segment]:
        return sorted((Segment.model_validate_json(d) for d in self._store.list_segments(tenant_id)),
                      key=lambda s: s.created_at)

    def update(self, tenant_id: str, segment_id: str, data: SegmentInput) -> Segment:
        current = self.get(tenant_id, segment_id)
        self._compile(tenant_id, data)
        segment = current.model_copy(update={"name": data.name, "description": data.description,
                                             "filter": data.filter, "updated_at": self._clock.now()})
        self._store.put_segment(segment)
        return segment

    def delete(self, tenant_id: str, segment_id: str) -> None:
        if not self._store.delete_segment(tenant_id, segment_id):
            raise NotFound(f"no segment {segment_id}")

    def predicate(self, tenant_id: str, segment_id: str) -> Predicate:
        return self._compile(tenant_id, self.get(tenant_id, segment_id))

    def members(self, tenant_id: str, segment_id: str, *, limit: int, cursor: str | None,
                now: datetime | None = None) -> Page:
        """A page of matching contacts; reads listing pages until `limit` matches or the end."""
        predicate = self.predicate(tenant_id, segment_id)
        at = now or self._clock.now()
        found: list[Contact] = []
        while True:
            page = self._contacts.page(tenant_id, limit=100, cursor=cursor)
            for contact in page.items:
                if predicate(contact, at):
                    found.append(contact)
                    if len(found) == limit:  # resume right after the last contact returned
                        return Page(found, self._contacts.cursor_after(contact))
            cursor = page.cursor
            if not cursor:
                return Page(found, None)

    def count(self, tenant_id: str, segment_id: str) -> int:
        predicate = self.predicate(tenant_id, segment_id)
        now = self._clock.now()
        return sum(1 for c in self._contacts.iter_all(tenant_id) if predicate(c, now))
