"""Erasure of a contact ("right to be forgotten"): everything of theirs goes, a record without personal data stays.

`request` (the API, 202) checks the contact, records a job and an erasure record, and queues the job. The
worker runs `execute`, which is idempotent: every step deletes what is still there, in an order that keeps
a retry able to find the rest:

  for each thread of the contact (one per channel):
      every message of the thread timeline, page by page: its media objects in S3 first (every version:
      the bucket is versioned), then the items
      the conversation records and the thread item itself (the thread is what leads to its messages)
  extra erasers (usage rows, when they exist: see `ContactDataEraser`)
  the contact: profile, identity rows, timeline, plan counter (ContactStore.delete_contact)

The record (`GET /v1/erasures`) keeps the tenant, the contact id, who asked, when, and how many items of
each kind were removed; counts are added after each thread, so a retried erasure does not count twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol

from shared.errors import Conflict, NotFound
from shared.models.events import ContactDeleted
from shared.models.jobs import ErasureRecord, Job, JobInputs, JobProgress, MessageRef
from shared.ports import Clock, ContactStore, EventPublisher, Page, Thread
from shared.services.contacts import new_id
from shared.services.jobs import JobQueue, JobStore


class ThreadEraser(Protocol):
    def iter_thread_messages(self, thread: Thread, *, page_size: int = 100) -> Iterator[list[MessageRef]]:
        """The thread timeline in pages; deleting the page just read is safe while iterating."""

    def delete_messages(self, refs: Sequence[MessageRef]) -> None: ...

    def delete_thread(self, thread: Thread) -> int:
        """Delete the thread item and its conversation records; returns how many conversations there were."""


class ErasureRecords(Protocol):
    def put_record(self, record: ErasureRecord) -> None:
        """Store the record unless it exists (a retried request keeps the first)."""

    def update_record(self, tenant_id: str, contact_id: str, requested_at: datetime, *,
                      status: Literal["running", "completed"] | None = None, erased_at: datetime | None = None,
                      add: Mapping[str, int] | None = None) -> None: ...

    def list_records(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
        """Newest first."""


class BlobPurger(Protocol):
    def purge(self, keys: Sequence[str]) -> int:
        """Delete the objects with every stored version of them; returns how many had anything stored."""


class ContactDataEraser(Protocol):
    """A hook for data about a contact stored by other features (per-contact usage rows, when they exist).

    `erase` deletes what is still there and returns how many items it removed (0 on a retry).
    """

    name: str

    def erase(self, tenant_id: str, contact_id: str) -> int: ...


class ErasureService:
    def __init__(self, *, contacts: ContactStore, threads: ThreadEraser, records: ErasureRecords,
                 blobs: BlobPurger, jobs: JobStore, queue: JobQueue, events: EventPublisher, clock: Clock,
                 extra: Sequence[ContactDataEraser] = ()) -> None:
        self._contacts = contacts
        self._threads = threads
        self._records = records
        self._blobs = blobs
        self._jobs = jobs
        self._queue = queue
        self._events = events
        self._clock = clock
        # Usage rows are not recorded yet: when they are, their eraser is passed here (see wiring).
        self._extra = tuple(extra)

    # -- API -----------------------------------------------------------------------------------------
    def request(self, tenant_id: str, contact_id: str, *, actor: str) -> dict[str, str]:
        contact = self._contacts.get_contact(tenant_id, contact_id)
        if contact is None:
            raise NotFound(f"no contact {contact_id}")
        if contact.merged_into:
            raise Conflict(f"contact {contact_id} was merged into {contact.merged_into}; erase that contact")
        job = Job(job_id=new_id("jb", self._clock), tenant_id=tenant_id, kind="erasure", status="queued",
                  actor=actor, inputs=JobInputs(contact_id=contact_id), created_at=self._clock.now())
        self._jobs.create_job(job)
        self._records.put_record(ErasureRecord(tenant_id=tenant_id, contact_id=contact_id, job_id=job.job_id,
                                               actor=actor, requested_at=job.created_at, status="queued"))
        self._queue.enqueue(tenant_id, job.job_id)
        return {"job_id": job.job_id, "status": "queued"}

    def list_records(self, tenant_id: str, *, limit: int = 50, cursor: str | None = None) -> Page:
        return self._records.list_records(tenant_id, limit=limit, cursor=cursor)

    # -- worker (JobService runs it as the executor of `erasure` jobs) --------------------------------
    def execute(self, job: Job) -> Job:
        t, cid = job.tenant_id, job.inputs.contact_id
        if not cid:
            raise ValueError("an erasure job names its contact")
        at = job.created_at
        self._records.update_record(t, cid, at, status="running")
        total: Counter[str] = Counter()
        for thread in self._contacts.contact_threads(t, cid):
            counts: Counter[str] = Counter()
            for page in self._threads.iter_thread_messages(thread):
                media = [r.media_key for r in page if r.media_key]
                if media:  # objects first: a retry still finds their keys on the message items
                    counts["media"] += self._blobs.purge(media)
                self._threads.delete_messages(page)
                counts["messages"] += len(page)
            counts["conversations"] += self._threads.delete_thread(thread)
            counts["threads"] += 1
            self._records.update_record(t, cid, at, add=counts)
            total.update(counts)
        for eraser in self._extra:
            removed = eraser.erase(t, cid)
            if removed:
                self._records.update_record(t, cid, at, add={eraser.name: removed})
                total[eraser.name] += removed
        contact = self._contacts.get_contact(t, cid)
        if contact is not None:
            self._contacts.delete_contact(contact)
            total["contact"] += 1
        self._records.update_record(t, cid, at, status="completed", erased_at=self._clock.now(),
                                    add={"contact": total["contact"]} if total["contact"] else None)
        self._events.publish([ContactDeleted(tenant_id=t, contact_id=cid, erasure_id=job.job_id)])
        return job.model_copy(update={
            "progress": JobProgress(processed=sum(total.values()), total=sum(total.values())),
            "result": job.result.model_copy(update={"counts": dict(total)})})
