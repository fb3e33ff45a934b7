"""Jobs end to end on the local stack: CSV import with a rejected-rows report (inline and uploaded), export of a
segment through a pre-signed link, and erasure of a contact with its messages and media."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.local.stack import LocalStack
from shared.adapters.dynamodb import DynamoMessageStore, thread_key
from shared.adapters.dynamodb_jobs import DynamoErasure, DynamoJobStore
from shared.adapters.sqs_jobs import S3JobFiles
from shared.config import get_settings
from shared.wiring import erasure_service
from tests.integration.api_client import OPERATOR_KEY, call, onboard
from tests.integration.conftest import register_media, table, wait_for
from tests.integration.payloads import envelope, new_wamid

pytestmark = pytest.mark.integration


def _finished(stack: LocalStack, key: str, job_id: str) -> dict[str, Any]:
    stack.wait_idle(timeout=60)
    return dict(wait_for(lambda: (j := call(stack, "GET", f"/v1/jobs/{job_id}", key=key).body)
                         and j["status"] in ("succeeded", "failed") and j, timeout=30))


def _download(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        data: bytes = response.read()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, so Excel reads the accents
    return data.decode("utf-8-sig")


IMPORT = (
    "\ufeffNombre;Teléfono;Correo;Etiquetas;Puntos\r\n"
    "Ana Pérez;011 15 2345-6789;ana@example.com;vip;10\r\n"
    "Beto;12;beto@example.com;;\r\n"
    "Caro;;caro@example;;\r\n"
    "Dora;+54 9 11 5555-0101;;nueva;muchos\r\n"
    "Eva;+54 9 11 5555-0102;eva@example.com;;7\r\n"
)


def test_import_creates_contacts_and_reports_bad_rows(stack: LocalStack) -> None:
    key = onboard(stack, "jobs-import")
    other = onboard(stack, "jobs-other")
    assert call(stack, "PUT", "/v1/fields/puntos", {"key": "puntos", "label": "Puntos", "type": "number"},
                key=key).status == 200

    started = call(stack, "POST", "/v1/imports", {"csv": IMPORT, "default_country": "AR"}, key=key)
    assert started.status == 202, started.text
    assert started.body["status"] == "queued" and started.body["kind"] == "import"
    assert "files" not in started.body
    job = _finished(stack, key, started.body["job_id"])

    assert job["status"] == "succeeded", job
    assert job["progress"] == {"processed": 5, "total": 5, "created": 2, "updated": 0, "unchanged": 0, "rejected": 3}
    assert job["result"]["delimiter"] == ";" and job["result"]["encoding"] == "utf-8"
    sample = [(r["line"], [p["code"] for p in r["reasons"]]) for r in job["result"]["rejected_sample"]]
    assert sample == [(3, ["invalid_phone"]), (4, ["invalid_email"]), (5, ["invalid_field"])]
    report = list(csv.reader(io.StringIO(_download(job["result"]["report_url"]))))
    assert report[0] == ["line", "reasons", "Nombre", "Teléfono", "Correo", "Etiquetas", "Puntos"]
    assert [r[0] for r in report[1:]] == ["3", "4", "5"] and "Puntos: puntos: expected a number" in report[3][1]

    [ana] = call(stack, "GET", "/v1/contacts?phone=%2B5491123456789", key=key).body["items"]
    assert (ana["name"], ana["tags"], ana["fields"], ana["version"]) == ("Ana Pérez", ["vip"], {"puntos": 10}, 1)

    # the same file again: everything matches, nothing is written
    again = call(stack, "POST", "/v1/imports", {"csv": IMPORT, "default_country": "AR"}, key=key)
    second = _finished(stack, key, again.body["job_id"])
    assert second["progress"]["unchanged"] == 2 and second["progress"]["created"] == 0
    assert call(stack, "GET", f"/v1/contacts/{ana['contact_id']}", key=key).body["version"] == 1

    listed = call(stack, "GET", "/v1/jobs?limit=1", key=key).body
    assert [j["job_id"] for j in listed["items"]] == [again.body["job_id"]] and listed["next_cursor"]
    rest = call(stack, "GET", f"/v1/jobs?cursor={listed['next_cursor']}", key=key).body
    assert [j["job_id"] for j in rest["items"]] == [started.body["job_id"]]

    # another tenant sees none of it
    assert call(stack, "GET", f"/v1/jobs/{job['job_id']}", key=other).status == 404
    assert call(stack, "GET", "/v1/jobs", key=other).body["items"] == []
    assert call(stack, "GET", f"/v1/jobs?cursor={listed['next_cursor']}", key=other).status == 422


def test_unknown_columns_fail_the_import_before_any_row(stack: LocalStack) -> None:
    key = onboard(stack, "jobs-columns")
    started = call(stack, "POST", "/v1/imports", {"csv": "email,color\na@b.co,rojo\n"}, key=key)
    job = _finished(stack, key, started.body["job_id"])
    assert job["status"] == "failed" and [e["code"] for e in job["errors"]] == ["unknown_column"]
    assert call(stack, "GET", "/v1/contacts", key=key).body["items"] == []
    refused = call(stack, "POST", "/v1/imports", {"csv": "a", "upload": True}, key=key)
    assert refused.status == 422


def test_an_uploaded_file_is_imported_after_start(stack: LocalStack) -> None:
    key = onboard(stack, "jobs-upload")
    created = call(stack, "POST", "/v1/imports", {"upload": True, "columns": {"Cliente": "name", "Cel": "phone"},
                                                  "default_country": "MX"}, key=key)
    assert created.status == 202 and created.body["status"] == "awaiting_upload"
    job_id, upload_url = created.body["job_id"], created.body["result"]["upload_url"]
    assert call(stack, "POST", f"/v1/imports/{job_id}/start", key=key).status == 409  # nothing uploaded yet

    # Excel in a Spanish locale: Windows-1252 and ';'
    body = "Cliente;Cel\r\nJosé Núñez;55 1234 5678\r\n".encode("cp1252")
    upload = urllib.request.Request(upload_url, data=body, method="PUT", headers={"Content-Type": "text/csv"})
    urllib.request.urlopen(upload, timeout=10).read()
    started = call(stack, "POST", f"/v1/imports/{job_id}/start", key=key)
    assert started.status == 202 and started.body["status"] == "queued"
    job = _finished(stack, key, job_id)
    assert job["status"] == "succeeded" and job["progress"]["created"] == 1
    assert job["result"]["encoding"] == "windows-1252"
    [jose] = call(stack, "GET", "/v1/contacts?phone=%2B525512345678", key=key).body["items"]
    assert jose["name"] == "José Núñez"


def test_export_of_a_segment_through_a_presigned_link(stack: LocalStack) -> None:
    key = onboard(stack, "jobs-export")
    for name, phone, tags in (("Ana", "+5491155550201", ["vip"]), ("Beto", "+5491155550202", []),
                              ("Carla Ñandú", "+5491155550203", ["vip", "norte"])):
        created = call(stack, "POST", "/v1/contacts", {"name": name, "phone": phone, "tags": tags}, key=key)
        assert created.status == 201, created.text
    segment = call(stack, "POST", "/v1/segments", {"name": "VIP", "filter": {
        "field": "tags", "op": "has", "value": "vip"}}, key=key)
    assert segment.status == 201, segment.text

    started = call(stack, "POST", "/v1/exports", {"segment_id": segment.body["segment_id"]}, key=key)
    assert started.status == 202, started.text
    job = _finished(stack, key, started.body["job_id"])
    assert job["status"] == "succeeded" and job["progress"]["processed"] == 2
    rows = list(csv.DictReader(io.StringIO(_download(job["result"]["download_url"]))))
    assert sorted((r["name"], r["phones"], r["tags"]) for r in rows) == [
        ("Ana", "+5491155550201", "vip"), ("Carla Ñandú", "+5491155550203", "vip;norte")]
    assert list(rows[0])[:3] == ["contact_id", "name", "phones"] and list(rows[0])[-2:] == ["created_at",
                                                                                           "last_inbound_at"]
    # reading the job again signs a fresh link that works as well
    fresh = call(stack, "GET", f"/v1/jobs/{job['job_id']}", key=key).body
    assert fresh["result"]["url_expires_at"] and _download(fresh["result"]["download_url"])

    unknown = call(stack, "POST", "/v1/exports", {"segment_id": "sg_nope"}, key=key)
    assert unknown.status == 422
    bad_column = call(stack, "POST", "/v1/exports", {"fields": ["name", "password"]}, key=key)
    assert bad_column.status == 422


def test_erasure_removes_messages_media_and_contact_and_keeps_a_record(stack: LocalStack) -> None:
    tenant, pni, secret, wa_id = "jobs-erase", "300000000000077", "jobs-erase-secret", "5491155550777"
    key = onboard(stack, tenant)
    connected = call(stack, "POST", f"/platform/v1/tenants/{tenant}/channels", {
        "phone_number_id": pni, "app_secret": secret, "access_token": "erase-token"}, key=OPERATOR_KEY)
    assert connected.status == 201, connected.text
    channel = connected.body["channel"]["channel_id"]
    sha = register_media(stack, "erase-media-1", b"\xff\xd8\xff\xe0 private photo " * 50)
    contacts = [{"profile": {"name": "Persona Privada"}, "wa_id": wa_id}]
    for message in ({"type": "text", "text": {"body": "mi DNI es 12345678"}},
                    {"type": "image", "image": {"mime_type": "image/jpeg", "sha256": sha, "id": "erase-media-1"}}):
        body = envelope({"contacts": contacts, "messages": [{"from": wa_id, "id": new_wamid(),
                                                             "timestamp": "1795290000", **message}]}, pni=pni)
        assert stack.post_webhook(body, secret=secret, channel_id=channel)[0] == 200
    stack.wait_idle(timeout=60)

    messages = DynamoMessageStore(table(stack))
    stored = wait_for(lambda: (m := messages.thread_messages(tenant, channel, wa_id)) and
                      any(x.get("media_state") == "stored" for x in m) and m)
    media_key = next(x["media_s3_key"] for x in stored if x.get("media_s3_key"))
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.head_object(Bucket=stack.resources.bucket, Key=media_key)
    [contact] = call(stack, "GET", "/v1/contacts?phone=%2B5491155550777", key=key).body["items"]

    # when the contact is erased
    erased = call(stack, "DELETE", f"/v1/contacts/{contact['contact_id']}", key=key)
    assert erased.status == 202, erased.text
    assert erased.body["status"] == "queued"
    job = _finished(stack, key, erased.body["job_id"])

    # then nothing of theirs is left
    assert job["status"] == "succeeded", job
    assert call(stack, "GET", f"/v1/contacts/{contact['contact_id']}", key=key).status == 404
    assert call(stack, "GET", "/v1/contacts?phone=%2B5491155550777", key=key).body["items"] == []
    assert messages.thread_messages(tenant, channel, wa_id) == []
    with pytest.raises(ClientError):
        s3.head_object(Bucket=stack.resources.bucket, Key=media_key)
    leftovers = table(stack).query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={
        ":pk": thread_key(tenant, channel, wa_id)["pk"]})["Items"]
    assert leftovers == []  # the thread item and its conversation records
    assert call(stack, "GET", "/v1/conversations", key=key).body["items"] == []

    # and the record says what happened, without personal data
    [record] = call(stack, "GET", "/v1/erasures", key=key).body["items"]
    assert (record["contact_id"], record["job_id"], record["status"]) == (
        contact["contact_id"], erased.body["job_id"], "completed")
    assert record["counts"] == {"messages": 2, "media": 1, "conversations": 1, "threads": 1, "contact": 1}
    text = json.dumps(record)
    assert "Persona" not in text and "5491155550777" not in text and "DNI" not in text

    # a retried run finds nothing more to remove and keeps the record as it was
    service = erasure_service(get_settings())
    stored_job = DynamoJobStore(table(stack)).get_job(tenant, erased.body["job_id"])
    assert stored_job is not None
    again = service.execute(stored_job)
    assert again.result.counts == {}
    [same] = DynamoErasure(table(stack)).list_records(tenant, limit=10, cursor=None).items
    assert same.counts == record["counts"]
    assert S3JobFiles(s3, stack.resources.bucket).get(media_key) is None
    assert call(stack, "DELETE", f"/v1/contacts/{contact['contact_id']}", key=key).status == 404


def test_erasing_media_removes_every_version_in_a_versioned_bucket(stack: LocalStack) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = "it-jobs-versioned"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"first", b"second"):
        s3.put_object(Bucket=bucket, Key="media/t/c/wamid.1", Body=body)
    s3.put_object(Bucket=bucket, Key="media/t/c/wamid.10", Body=b"another message's media")

    files = S3JobFiles(s3, bucket)
    assert files.purge(["media/t/c/wamid.1", "media/t/c/missing"]) == 1

    versions = s3.list_object_versions(Bucket=bucket, Prefix="media/t/c/")
    assert [v["Key"] for v in versions.get("Versions", [])] == ["media/t/c/wamid.10"]
    assert not versions.get("DeleteMarkers")
    assert files.purge(["media/t/c/wamid.1"]) == 0  # a retry finds nothing left
