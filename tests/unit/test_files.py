"""The files library over fakes: WhatsApp limits per kind, quota, confirm checks, tenant isolation, sending."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import ValidationError

from shared.errors import Conflict, InvalidInput, NotFound, PlanLimitReached
from shared.models.files import KB, MB, FileInput, FileRecord, LibraryFile
from shared.ports import Page
from shared.services.files import (
    FileQuotaExceeded,
    FileService,
    PresignedUpload,
    StoredObject,
    object_key,
    safe_name,
)

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
GIF = b"GIF89a\x01\x00\x01\x00"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"
OGG_OPUS = b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead\x01\x01"
OGG_VORBIS = b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis\x00\x00"
WEBP_STATIC = b"RIFF\x00\x00\x00\x00WEBPVP8 \x00\x00\x00\x00"
WEBP_ANIMATED = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02\x00\x00\x00"


def body(head: bytes, size: int) -> bytes:
    return head + b"\x00" * (size - len(head))


# -- fakes ---------------------------------------------------------------------------------------------------
@dataclass
class FakeClock:
    at: datetime = T0

    def now(self) -> datetime:
        return self.at


@dataclass
class FakeFileStore:
    records: dict[tuple[str, str], FileRecord] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)

    def create(self, record: FileRecord, *, quota_bytes: int) -> None:
        tenant = record.file.tenant_id
        if self.usage.get(tenant, 0) + record.file.size_bytes > quota_bytes:
            raise FileQuotaExceeded()
        self.records[(tenant, record.file.file_id)] = record
        self.usage[tenant] = self.usage.get(tenant, 0) + record.file.size_bytes

    def get(self, tenant_id: str, file_id: str) -> FileRecord | None:
        return self.records.get((tenant_id, file_id))

    def mark_ready(self, file: LibraryFile) -> bool:
        record = self.records.get((file.tenant_id, file.file_id))
        if record is None or record.file.status != "pending":
            return False
        self.records[(file.tenant_id, file.file_id)] = FileRecord(file, record.object_key, record.upload_expires_at)
        return True

    def delete(self, record: FileRecord) -> bool:
        gone = self.records.pop((record.file.tenant_id, record.file.file_id), None)
        if gone is None:
            return False
        self.usage[record.file.tenant_id] -= record.file.size_bytes
        return True

    def list_files(self, tenant_id: str, *, limit: int, cursor: str | None, kind: str | None = None,
                   tag: str | None = None, folder: str | None = None) -> Page:
        files = sorted((r.file for (t, _), r in self.records.items() if t == tenant_id),
                       key=lambda f: f.file_id, reverse=True)
        files = [f for f in files if (not kind or f.media_kind == kind) and (not tag or tag in f.tags)
                 and (not folder or f.folder == folder) and (not cursor or f.file_id < cursor)]
        page = files[:limit]
        return Page(list(page), page[-1].file_id if len(files) > limit else None)

    def expired_pending(self, tenant_id: str, *, before: datetime) -> list[FileRecord]:
        return [r for (t, _), r in self.records.items()
                if t == tenant_id and r.file.status == "pending" and r.upload_expires_at < before]


@dataclass
class FakeStorage:
    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)

    def presign_put(self, key: str, *, content_type: str, size_bytes: int, expires_s: int) -> PresignedUpload:
        return PresignedUpload(url=f"https://s3.test/{urllib.parse.quote(key)}?op=put&ttl={expires_s}",
                               headers={"Content-Type": content_type})

    def presign_get(self, key: str, *, expires_s: int, download_name: str | None = None) -> str:
        extra = f"&name={urllib.parse.quote(download_name)}" if download_name else ""
        return f"https://s3.test/{urllib.parse.quote(key)}?op=get&ttl={expires_s}{extra}"

    def head(self, key: str) -> StoredObject | None:
        got = self.objects.get(key)
        return StoredObject(size_bytes=len(got[0]), content_type=got[1]) if got else None

    def read_prefix(self, key: str, size: int) -> bytes:
        return self.objects[key][0][:size] if key in self.objects else b""

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)
        self.deleted.append(key)

    # what a client does with the pre-signed PUT
    def put(self, url: str, data: bytes, content_type: str) -> None:
        key = urllib.parse.unquote(urllib.parse.urlsplit(url).path.lstrip("/"))
        self.objects[key] = (data, content_type)


@dataclass
class World:
    store: FakeFileStore
    storage: FakeStorage
    clock: FakeClock
    service: FileService

    def key_of(self, tenant: str, file_id: str) -> str:
        return self.store.records[(tenant, file_id)].object_key

    def uploaded(self, tenant: str, *, name: str = "menu.pdf", content_type: str = "application/pdf",
                 data: bytes = PDF, declared: int | None = None, tags: tuple[str, ...] = (),
                 confirm: bool = True) -> LibraryFile:
        upload = self.service.create(tenant, FileInput(name=name, content_type=content_type,
                                                       size_bytes=declared or len(data), tags=list(tags)),
                                     actor="usr_1")
        self.storage.put(upload.upload_url, data, upload.headers["Content-Type"])
        return self.service.confirm(tenant, upload.file.file_id) if confirm else upload.file


def make_world(quota: int = 1000 * MB) -> World:
    store, storage, clock = FakeFileStore(), FakeStorage(), FakeClock()
    return World(store, storage, clock, FileService(store=store, storage=storage, clock=clock, quota_bytes=quota))


@pytest.fixture
def world() -> World:
    return make_world()


# -- limits per WhatsApp media kind --------------------------------------------------------------------------
@pytest.mark.parametrize(("content_type", "kind", "limit"), [
    ("image/jpeg", "image", 5 * MB), ("image/png", "image", 5 * MB),
    ("audio/ogg", "audio", 16 * MB), ("audio/mpeg", "audio", 16 * MB),
    ("video/mp4", "video", 16 * MB), ("video/3gpp", "video", 16 * MB),
    ("application/pdf", "document", 100 * MB),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document", 100 * MB),
    ("image/webp", "sticker", 500 * KB),
])
def test_each_kind_accepts_its_limit_and_refuses_one_byte_more(content_type: str, kind: str, limit: int) -> None:
    assert FileInput(name="f", content_type=content_type, size_bytes=limit).media_kind == kind
    with pytest.raises(ValidationError, match="at most"):
        FileInput(name="f", content_type=content_type, size_bytes=limit + 1)


@pytest.mark.parametrize("content_type", ["image/gif", "video/quicktime", "application/zip", "audio/wav", "text/html"])
def test_content_types_whatsapp_cannot_send_are_refused(content_type: str) -> None:
    with pytest.raises(ValidationError):
        FileInput(name="f", content_type=content_type, size_bytes=10)


def test_content_type_is_compared_without_case_or_parameters() -> None:
    data = FileInput(name="a", content_type="Image/JPEG; charset=binary", size_bytes=10)
    assert (data.content_type, data.media_kind) == ("image/jpeg", "image")


@pytest.mark.parametrize("bad", [{"size_bytes": 0}, {"name": "  "}, {"name": "a\r\nb"}, {"tags": ["#nope"]},
                                 {"tenant_id": "other"}])
def test_file_input_refuses_bad_fields(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FileInput.model_validate({"name": "a.pdf", "content_type": "application/pdf", "size_bytes": 10, **bad})


# -- create --------------------------------------------------------------------------------------------------
def test_create_gives_a_pending_file_and_a_put_bound_to_its_type_under_the_tenant_prefix(world: World) -> None:
    upload = world.service.create("acme", FileInput(name="Menú (v2).PDF", content_type="application/pdf",
                                                    size_bytes=2048, tags=["menu", "menu"]), actor="usr_1")
    file = upload.file
    assert file.status == "pending" and file.file_id.startswith("fl_") and file.media_kind == "document"
    assert file.tags == ("menu",) and file.created_by == "usr_1" and file.tenant_id == "acme"
    assert world.key_of("acme", file.file_id) == f"files/acme/{file.file_id}/Menu_v2.PDF"
    assert upload.headers == {"Content-Type": "application/pdf"} and upload.method == "PUT"
    assert upload.expires_at == T0 + timedelta(seconds=900)
    assert "files/acme" not in LibraryFile.model_validate(file).model_dump_json()  # the key is never shown


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd", "etc_passwd"), ("Menú (v2).PDF", "Menu_v2.PDF"), ("...", "file"), ("日本.png", "file.png"),
    ("a" * 300 + ".docx", "a" * 100 + ".docx"), ("no extension", "no_extension"),
])
def test_safe_name_keeps_keys_inside_the_file_prefix(name: str, expected: str) -> None:
    assert safe_name(name) == expected
    assert object_key("acme", "fl_1", name).count("/") == 3


# -- confirm -------------------------------------------------------------------------------------------------
def test_confirm_marks_a_matching_upload_ready(world: World) -> None:
    world.clock.at = T0 + timedelta(minutes=2)
    file = world.uploaded("acme")
    assert file.status == "ready" and file.ready_at == T0 + timedelta(minutes=2)
    assert world.service.get("acme", file.file_id).status == "ready"


def test_confirm_twice_answers_the_ready_file_again(world: World) -> None:
    file = world.uploaded("acme")
    assert world.service.confirm("acme", file.file_id) == file


def test_confirm_before_the_upload_is_a_conflict_and_keeps_the_file_pending(world: World) -> None:
    upload = world.service.create("acme", FileInput(name="a.pdf", content_type="application/pdf", size_bytes=10),
                                  actor="usr_1")
    with pytest.raises(Conflict):
        world.service.confirm("acme", upload.file.file_id)
    assert world.service.get("acme", upload.file.file_id).status == "pending"


@pytest.mark.parametrize(("declared_type", "data", "uploaded_type", "declared_size", "location"), [
    ("application/pdf", PDF, "application/pdf", len(PDF) + 1, "size_bytes"),       # fewer bytes than declared
    ("image/png", body(PNG, 64), "image/jpeg", 64, "content_type"),               # PUT with another type
    ("image/jpeg", body(GIF, 64), "image/jpeg", 64, "content"),                   # a GIF called .jpg
    ("audio/ogg", body(OGG_VORBIS, 64), "audio/ogg", 64, "content"),              # Vorbis: WhatsApp wants Opus
    ("image/webp", body(WEBP_STATIC, 200 * KB), "image/webp", 200 * KB, "size_bytes"),  # static sticker > 100 KB
])
def test_confirm_rejects_a_mismatched_upload_and_deletes_object_and_record(
        world: World, declared_type: str, data: bytes, uploaded_type: str, declared_size: int, location: str) -> None:
    upload = world.service.create("acme", FileInput(name="x", content_type=declared_type,
                                                    size_bytes=declared_size), actor="usr_1")
    key = world.key_of("acme", upload.file.file_id)
    world.storage.put(upload.upload_url, data, uploaded_type)

    with pytest.raises(InvalidInput) as caught:
        world.service.confirm("acme", upload.file.file_id)

    assert location in {e["location"] for e in caught.value.errors}
    assert key not in world.storage.objects and key in world.storage.deleted
    assert ("acme", upload.file.file_id) not in world.store.records
    assert world.store.usage["acme"] == 0  # the reservation is released
    with pytest.raises(NotFound):
        world.service.get("acme", upload.file.file_id)


@pytest.mark.parametrize(("content_type", "data"), [
    ("image/jpeg", body(JPEG, 100)), ("image/png", body(PNG, 100)), ("video/mp4", body(MP4, 100)),
    ("audio/ogg", body(OGG_OPUS, 100)), ("image/webp", body(WEBP_STATIC, 90 * KB)),
    ("image/webp", body(WEBP_ANIMATED, 400 * KB)), ("text/plain", b"hello\n"),
])
def test_confirm_accepts_well_formed_files_of_each_kind(world: World, content_type: str, data: bytes) -> None:
    assert world.uploaded("acme", name="f", content_type=content_type, data=data).status == "ready"


# -- quota ---------------------------------------------------------------------------------------------------
def test_quota_counts_pending_uploads_and_refuses_what_does_not_fit() -> None:
    world = make_world(quota=1000)
    world.service.create("acme", FileInput(name="a.pdf", content_type="application/pdf", size_bytes=600), actor="u")
    with pytest.raises(PlanLimitReached):
        world.service.create("acme", FileInput(name="b.pdf", content_type="application/pdf", size_bytes=500),
                             actor="u")
    world.service.create("other", FileInput(name="b.pdf", content_type="application/pdf", size_bytes=500), actor="u")


def test_a_file_larger_than_the_whole_quota_is_refused_before_storing_anything() -> None:
    world = make_world(quota=100)
    with pytest.raises(PlanLimitReached):
        world.service.create("acme", FileInput(name="a.pdf", content_type="application/pdf", size_bytes=101),
                             actor="u")
    assert world.store.records == {}


def test_deleting_a_file_releases_its_bytes_and_its_object() -> None:
    world = make_world(quota=len(PDF))
    file = world.uploaded("acme")
    key = world.key_of("acme", file.file_id)
    world.service.delete("acme", file.file_id)
    assert key not in world.storage.objects and world.store.usage["acme"] == 0
    world.uploaded("acme")  # fits again


def test_abandoned_uploads_are_swept_when_the_quota_is_reached_but_not_before_their_url_expires() -> None:
    world = make_world(quota=1000)
    abandoned = world.service.create("acme", FileInput(name="a.pdf", content_type="application/pdf",
                                                       size_bytes=800), actor="u")
    second = FileInput(name="b.pdf", content_type="application/pdf", size_bytes=800)
    world.clock.at = T0 + timedelta(minutes=30)  # URL expired, but an upload may still be finishing
    with pytest.raises(PlanLimitReached):
        world.service.create("acme", second, actor="u")

    world.clock.at = T0 + timedelta(hours=2)
    assert world.service.create("acme", second, actor="u").file.status == "pending"
    with pytest.raises(NotFound):
        world.service.get("acme", abandoned.file.file_id)
    assert world.store.usage["acme"] == 800


# -- tenant isolation ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", ["get", "confirm", "delete", "download_url", "as_media_content"])
def test_another_tenant_gets_404_for_a_file_it_does_not_own(world: World, call: str) -> None:
    file = world.uploaded("acme")
    with pytest.raises(NotFound):
        getattr(world.service, call)("globex", file.file_id)
    assert world.service.get("acme", file.file_id).status == "ready"
    assert world.service.list("globex").items == []


def test_a_malformed_file_id_is_404(world: World) -> None:
    with pytest.raises(NotFound):
        world.service.get("acme", "../fl_x")


# -- reads and sending ---------------------------------------------------------------------------------------
def test_list_is_newest_first_and_filters_by_kind_and_tag(world: World) -> None:
    older = world.uploaded("acme", name="a.pdf", tags=("menu",))
    world.clock.at = T0 + timedelta(seconds=1)
    newer = world.uploaded("acme", name="b.jpg", content_type="image/jpeg", data=body(JPEG, 50), tags=("promo",))
    assert [f.file_id for f in world.service.list("acme").items] == [newer.file_id, older.file_id]
    assert [f.file_id for f in world.service.list("acme", kind="document").items] == [older.file_id]
    assert [f.file_id for f in world.service.list("acme", tag="promo").items] == [newer.file_id]


def test_as_media_content_is_only_for_ready_files(world: World) -> None:
    pending = world.uploaded("acme", confirm=False)
    with pytest.raises(Conflict):
        world.service.as_media_content("acme", pending.file_id)
    with pytest.raises(Conflict):
        world.service.download_url("acme", pending.file_id)


def test_as_media_content_sends_a_document_by_link_with_its_name_and_caption(world: World) -> None:
    file = world.uploaded("acme", name="Carta de vinos.pdf")
    content = world.service.as_media_content("acme", file.file_id, caption="Nuestra carta")
    assert (content.type, content.filename, content.caption, content.media_id) == (
        "document", "Carta de vinos.pdf", "Nuestra carta", None)
    assert content.link is not None and "op=get" in content.link and "ttl=3600" in content.link
    assert "name=" not in content.link  # WhatsApp takes the name from `filename`


def test_as_media_content_of_an_image_has_no_filename_and_audio_refuses_a_caption(world: World) -> None:
    image = world.uploaded("acme", name="promo.jpg", content_type="image/jpeg", data=body(JPEG, 100))
    assert world.service.as_media_content("acme", image.file_id).model_dump(exclude_none=True).keys() == {
        "type", "link"}
    audio = world.uploaded("acme", name="hola.ogg", content_type="audio/ogg", data=body(OGG_OPUS, 100))
    with pytest.raises(InvalidInput, match="caption"):
        world.service.as_media_content("acme", audio.file_id, caption="hola")
    assert world.service.as_media_content("acme", audio.file_id).type == "audio"


def test_download_url_is_short_lived_and_names_the_file(world: World) -> None:
    file = world.uploaded("acme", name="menu.pdf")
    download = world.service.download_url("acme", file.file_id)
    assert "ttl=900" in download.url and "name=menu.pdf" in download.url
    assert download.expires_at == T0 + timedelta(seconds=900)


# -- the REST routes -----------------------------------------------------------------------------------------
def api_event(method: str, path: str, *, scopes: str, body: dict[str, Any] | None = None,
              query: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "version": "2.0", "routeKey": "ANY /v1/{proxy+}", "rawPath": path,
        "rawQueryString": urllib.parse.urlencode(query or {}), "headers": {"content-type": "application/json"},
        "queryStringParameters": query, "pathParameters": {"proxy": path.removeprefix("/v1/")},
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                                    "userAgent": "test"}, "requestId": "r", "routeKey": "ANY /v1/{proxy+}",
                           "stage": "$default", "timeEpoch": 0,
                           "authorizer": {"lambda": {"kind": "api_key", "principal_id": "key_1", "tenant_id": "acme",
                                                     "scopes": scopes, "rate_limit_per_s": 20}}},
        "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }


@pytest.fixture
def api(world: World, monkeypatch: pytest.MonkeyPatch) -> APIGatewayHttpResolver:
    from functions.api import deps
    from functions.api.routes import files
    from shared.http import problems

    monkeypatch.setattr(deps, "files", lambda: world.service)
    app = APIGatewayHttpResolver(enable_validation=True)
    problems.register(app)
    app.include_router(files.router)
    return app


def call(app: APIGatewayHttpResolver, *args: Any, **kwargs: Any) -> tuple[int, Any]:
    context: Any = {}  # the routes never read the Lambda context
    result = app.resolve(api_event(*args, **kwargs), context)
    return result["statusCode"], json.loads(result["body"]) if result.get("body") else None


def test_routes_create_confirm_read_and_delete_without_showing_the_object_key(
        api: APIGatewayHttpResolver, world: World) -> None:
    status, created = call(api, "POST", "/v1/files", scopes="admin",
                           body={"name": "menu.pdf", "content_type": "application/pdf", "size_bytes": len(PDF)})
    assert status == 201 and created["file"]["status"] == "pending" and "files/acme" not in json.dumps(created["file"])
    world.storage.put(created["upload_url"], PDF, "application/pdf")
    file_id = created["file"]["file_id"]

    assert call(api, "POST", f"/v1/files/{file_id}/confirm", scopes="admin")[1]["status"] == "ready"
    status, page = call(api, "GET", "/v1/files", scopes="contacts:read", query={"kind": "document"})
    assert status == 200 and [f["file_id"] for f in page["items"]] == [file_id]
    assert call(api, "GET", f"/v1/files/{file_id}/download", scopes="contacts:read")[0] == 200
    assert call(api, "DELETE", f"/v1/files/{file_id}", scopes="admin")[0] == 204
    assert call(api, "GET", f"/v1/files/{file_id}", scopes="contacts:read")[0] == 404


def test_routes_need_admin_to_write_and_contacts_read_to_read(api: APIGatewayHttpResolver) -> None:
    declared = {"name": "a.pdf", "content_type": "application/pdf", "size_bytes": 10}
    assert call(api, "POST", "/v1/files", scopes="contacts:read contacts:write", body=declared)[0] == 403
    assert call(api, "GET", "/v1/files", scopes="conversations:read")[0] == 403
    assert call(api, "GET", "/v1/files", scopes="contacts:read")[0] == 200


def test_route_refuses_an_image_over_whatsapps_limit_with_422(api: APIGatewayHttpResolver) -> None:
    status, problem = call(api, "POST", "/v1/files", scopes="admin",
                           body={"name": "big.png", "content_type": "image/png", "size_bytes": 5 * MB + 1})
    assert status == 422 and problem["code"] == "invalid_input"
