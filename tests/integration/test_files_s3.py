"""The files library against moto server: bytes go up through the pre-signed PUT and come down through the
pre-signed GET, the REST API drives the life of a file, and DynamoDB holds the quota in its transactions."""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.local.stack import LocalStack
from shared import wiring
from shared.adapters.aws import presigning_client
from shared.adapters.dynamodb_files import DynamoFileStore
from shared.adapters.s3_files import S3FileStorage
from shared.config import get_settings
from shared.errors import InvalidInput, NotFound, PlanLimitReached
from shared.models.files import FileInput, FileUpload
from shared.services.files import FileService
from tests.integration.api_client import call, onboard
from tests.integration.conftest import table

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.7\n" + b"0123456789" * 300 + b"\n%%EOF\n"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
GIF = b"GIF89a" + b"\x00" * 58


def http(method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def put(upload: dict[str, Any] | FileUpload, data: bytes) -> int:
    url, headers = (upload["upload_url"], upload["headers"]) if isinstance(upload, dict) else \
        (upload.upload_url, upload.headers)
    return http("PUT", url, data, headers)[0]


def new_tenant(stack: LocalStack) -> tuple[str, str]:
    tenant = f"files-{uuid.uuid4().hex[:10]}"
    return tenant, onboard(stack, tenant)


def s3_has(key_prefix: str) -> bool:
    s3 = boto3.client("s3", region_name="us-east-1")
    return bool(s3.list_objects_v2(Bucket=os.environ["MEDIA_BUCKET"], Prefix=key_prefix).get("KeyCount"))


@dataclass
class SteppingClock:
    at: datetime

    def now(self) -> datetime:
        self.at += timedelta(milliseconds=5)  # ids are time-ordered: each file is strictly newer than the last
        return self.at


def direct_service(stack: LocalStack, *, quota: int = 10**9, clock: SteppingClock | None = None
                   ) -> tuple[FileService, DynamoFileStore]:
    store = DynamoFileStore(table(stack))
    service = FileService(store=store, storage=S3FileStorage(presigning_client(), os.environ["MEDIA_BUCKET"]),
                          clock=clock or SteppingClock(datetime.now(UTC)), quota_bytes=quota)
    return service, store


def pdf(name: str = "a.pdf", size: int = 10, tags: tuple[str, ...] = ()) -> FileInput:
    return FileInput(name=name, content_type="application/pdf", size_bytes=size, tags=list(tags))


# -- through the REST API and the pre-signed URLs -----------------------------------------------------------
def test_a_file_goes_up_through_the_presigned_put_and_comes_down_through_the_presigned_get(
        stack: LocalStack) -> None:
    tenant, key = new_tenant(stack)
    created = call(stack, "POST", "/v1/files", {"name": "Carta de vinos.pdf", "content_type": "application/pdf",
                                                "size_bytes": len(PDF), "tags": ["menu"]}, key=key)
    assert created.status == 201, created.text
    upload, file_id = created.body, created.body["file"]["file_id"]
    assert upload["upload_url"].startswith(stack.moto_url + "/")  # AWS_ENDPOINT_URL reaches presigned URLs
    assert "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost" in upload["upload_url"]
    assert f"/files/{tenant}/{file_id}/Carta_de_vinos.pdf" in upload["upload_url"]
    assert "object_key" not in created.text

    assert call(stack, "GET", f"/v1/files/{file_id}/download", key=key).status == 409  # not confirmed yet
    assert put(upload, PDF) == 200
    confirmed = call(stack, "POST", f"/v1/files/{file_id}/confirm", key=key)
    assert confirmed.status == 200 and confirmed.body["status"] == "ready", confirmed.text

    download = call(stack, "GET", f"/v1/files/{file_id}/download", key=key)
    assert download.status == 200, download.text
    status, headers, data = http("GET", download.body["url"])
    assert (status, data, headers["content-type"]) == (200, PDF, "application/pdf")
    assert "Carta%20de%20vinos.pdf" in headers["content-disposition"]

    media = wiring.file_service(get_settings()).as_media_content(tenant, file_id, caption="La carta")
    assert (media.type, media.filename, media.caption) == ("document", "Carta de vinos.pdf", "La carta")
    assert media.link is not None and http("GET", media.link)[2] == PDF  # what Meta would fetch

    listed = call(stack, "GET", "/v1/files?tag=menu&kind=document", key=key)
    assert [f["file_id"] for f in listed.body["items"]] == [file_id]
    assert call(stack, "DELETE", f"/v1/files/{file_id}", key=key).status == 204
    assert call(stack, "GET", f"/v1/files/{file_id}", key=key).status == 404
    assert not s3_has(f"files/{tenant}/{file_id}/")


def test_an_upload_that_is_not_what_was_declared_is_deleted_from_s3_and_the_library(stack: LocalStack) -> None:
    tenant, key = new_tenant(stack)
    created = call(stack, "POST", "/v1/files", {"name": "promo.png", "content_type": "image/png",
                                                "size_bytes": len(GIF)}, key=key)
    file_id = created.body["file"]["file_id"]
    assert put(created.body, GIF) == 200  # right type header and length, but the bytes are a GIF

    confirmed = call(stack, "POST", f"/v1/files/{file_id}/confirm", key=key)

    assert confirmed.status == 422 and confirmed.headers["content-type"] == "application/problem+json"
    assert [e["location"] for e in confirmed.body["errors"]] == ["content"]
    assert not s3_has(f"files/{tenant}/{file_id}/")
    assert call(stack, "GET", f"/v1/files/{file_id}", key=key).status == 404


def test_another_tenant_gets_404_for_the_file_and_never_lists_it(stack: LocalStack) -> None:
    _, key_a = new_tenant(stack)
    _, key_b = new_tenant(stack)
    created = call(stack, "POST", "/v1/files", {"name": "a.pdf", "content_type": "application/pdf",
                                                "size_bytes": len(PDF)}, key=key_a)
    file_id = created.body["file"]["file_id"]
    put(created.body, PDF)
    for method, path in (("GET", ""), ("GET", "/download"), ("POST", "/confirm"), ("DELETE", "")):
        assert call(stack, method, f"/v1/files/{file_id}{path}", key=key_b).status == 404, (method, path)
    assert file_id not in call(stack, "GET", "/v1/files", key=key_b).text
    assert call(stack, "POST", f"/v1/files/{file_id}/confirm", key=key_a).body["status"] == "ready"


# -- the DynamoDB store --------------------------------------------------------------------------------------
def test_the_quota_holds_under_concurrent_creates_and_deletes_release_it(stack: LocalStack) -> None:
    service, store = direct_service(stack, quota=1000)
    tenant = f"files-{uuid.uuid4().hex[:10]}"
    outcomes: list[str] = []

    def create() -> None:
        try:
            service.create(tenant, pdf(size=300), actor="it")
            outcomes.append("created")
        except PlanLimitReached:
            outcomes.append("refused")

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created"] * 3 + ["refused"] * 3
    assert store.usage_bytes(tenant) == 900
    first = service.list(tenant).items[0]
    service.delete(tenant, first.file_id)
    assert store.usage_bytes(tenant) == 600
    service.create(tenant, pdf(size=400), actor="it")
    assert store.usage_bytes(tenant) == 1000


def test_listing_pages_newest_first_and_filters_across_pages(stack: LocalStack) -> None:
    service, _ = direct_service(stack)
    tenant = f"files-{uuid.uuid4().hex[:10]}"
    made = [service.create(tenant, pdf(name=f"{i}.pdf", tags=("even",) if i % 2 == 0 else ()), actor="it").file
            for i in range(7)]
    newest_first = [f.file_id for f in reversed(made)]

    seen, cursor = [], None
    while True:
        page = service.list(tenant, limit=3, cursor=cursor)
        seen += [f.file_id for f in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == newest_first

    evens, cursor = [], None
    for _ in range(10):
        page = service.list(tenant, limit=1, cursor=cursor, tag="even")
        evens += [f.file_id for f in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert evens == [f.file_id for f in reversed(made) if f.name in {"0.pdf", "2.pdf", "4.pdf", "6.pdf"}]
    assert service.list(tenant, kind="image").items == []
    with pytest.raises(InvalidInput):
        service.list(tenant, cursor="not-a-cursor")


def test_abandoned_uploads_are_swept_from_dynamodb_and_s3_when_the_quota_is_reached(stack: LocalStack) -> None:
    clock = SteppingClock(datetime.now(UTC))
    service, store = direct_service(stack, quota=len(PDF), clock=clock)
    tenant = f"files-{uuid.uuid4().hex[:10]}"
    abandoned = service.create(tenant, pdf(size=len(PDF)), actor="it")
    assert put(abandoned, PDF) == 200  # uploaded but never confirmed

    clock.at += timedelta(hours=3)
    service.create(tenant, pdf(size=len(PDF)), actor="it")

    with pytest.raises(NotFound):
        service.get(tenant, abandoned.file.file_id)
    assert not s3_has(f"files/{tenant}/{abandoned.file.file_id}/")
    assert store.usage_bytes(tenant) == len(PDF)
