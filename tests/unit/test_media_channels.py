"""Inbound media of every channel to S3: Messenger/Instagram CDN URLs, Telegram getFile, Twilio MMS; hosts checked
on every redirect hop, credentials only to their own host, size capped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shared.adapters.http_media import HttpMediaDownloader
from shared.errors import MediaTooLarge, RetryableError
from shared.models.channel import Channel, ChannelSecrets
from shared.models.events import MessageReceived
from shared.ports import ProviderSendError
from shared.services.media import MediaLimits, MediaService, host_allowed, media_key

LIMITS = MediaLimits(max_bytes=1000, allowed_mime_prefixes=("image/", "audio/", "application/pdf"))


class Directory:
    def __init__(self) -> None:
        self.channels = {c.channel_id: c for c in (
            Channel(tenant_id="t", channel_id="fb", kind="messenger", phone_number_id="1", secret_name="s"),
            Channel(tenant_id="t", channel_id="tg", kind="telegram", phone_number_id="7", secret_name="s"),
            Channel(tenant_id="t", channel_id="sms", kind="sms", phone_number_id="+1555", waba_id="AC1",
                    secret_name="s"))}

    def get_channel(self, channel_id: str) -> Channel | None:
        return self.channels.get(channel_id)

    def get_secrets(self, channel: Channel, *, fresh: bool = False) -> ChannelSecrets:
        return ChannelSecrets(app_secret=SecretStr("a"), verify_token=SecretStr("v"),
                              access_token=SecretStr(f"tok-{channel.channel_id}"))


class Store:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def record_media(self, tenant_id: str, channel_id: str, message_id: str, **fields: Any) -> None:
        self.records.append({"message_id": message_id, **fields})


class Blobs:
    def __init__(self) -> None:
        self.put_calls: dict[str, tuple[bytes, str]] = {}

    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str] | None = None) -> None:
        self.put_calls[key] = (data, content_type)


class Downloader:
    def __init__(self, answer: tuple[bytes, str | None] = (b"\x89PNG...", "image/png")) -> None:
        self.calls: list[tuple[str, Any, bool]] = []
        self.answer = answer
        self.error: Exception | None = None

    def get(self, url: str, *, allowed: Callable[[str], bool], max_bytes: int,
            auth: tuple[str, str] | None = None) -> tuple[bytes, str | None]:
        self.calls.append((url, auth, allowed(url)))
        if not allowed(url):
            raise ProviderSendError(http_status=400, code=None, title="media URL host is not allowed", details=None)
        if self.error:
            raise self.error
        return self.answer


class FileApi:
    def call(self, token: str, method: str, params: dict[str, Any]) -> Any:
        assert (method, params) == ("getFile", {"file_id": "AgAD-photo"})
        return {"file_id": "AgAD-photo", "file_path": "photos/file_1.jpg", "file_size": 12}


def service(downloader: Downloader) -> tuple[MediaService, Store, Blobs]:
    store, blobs = Store(), Blobs()
    svc = MediaService(directory=Directory(), client=None, blobs=blobs, store=store,  # type: ignore[arg-type]
                       limits=LIMITS, downloader=downloader, telegram=FileApi(),
                       telegram_base_url="https://api.telegram.org")
    return svc, store, blobs


def event(channel_id: str, media: dict[str, Any]) -> MessageReceived:
    return MessageReceived(tenant_id="t", channel_id=channel_id, message_id=f"m-{channel_id}", contact_key="c",
                           reply_to_address="c", conversation_id="cv", message_type="image", sent_at="x",
                           has_media=True, media=media)


def test_a_messenger_attachment_is_fetched_from_metas_cdn_and_stored() -> None:
    downloader = Downloader()
    svc, store, blobs = service(downloader)
    outcome = svc.fetch(event("fb", {"url": "https://scontent.xx.fbcdn.net/v/a.jpg?oh=1"}))
    # the key is the one the bot derives from the same event (no mime type in a Messenger webhook: .bin)
    assert outcome.state == "stored" and outcome.s3_key == media_key("t", "fb", "m-fb", None)
    assert blobs.put_calls[outcome.s3_key] == (b"\x89PNG...", "image/png")
    assert downloader.calls == [("https://scontent.xx.fbcdn.net/v/a.jpg?oh=1", None, True)]
    assert store.records[-1]["state"] == "stored"


def test_a_url_off_the_channels_hosts_is_never_fetched_and_the_failure_is_recorded() -> None:
    svc, store, blobs = service(Downloader())
    outcome = svc.fetch(event("fb", {"url": "https://attacker.example/fbcdn.net/x.jpg"}))
    assert outcome.state == "failed" and "not allowed" in (outcome.reason or "")
    assert blobs.put_calls == {} and store.records[-1]["state"] == "failed"


def test_a_telegram_file_is_found_with_getfile_and_downloaded_from_the_bot_api() -> None:
    downloader = Downloader((b"jpeg-bytes", "application/octet-stream"))
    svc, _, blobs = service(downloader)
    outcome = svc.fetch(event("tg", {"id": "AgAD-photo", "mime_type": "image/jpeg"}))
    assert outcome.state == "stored"
    [(url, auth, allowed)] = downloader.calls
    assert url == "https://api.telegram.org/file/bottok-tg/photos/file_1.jpg" and auth is None and allowed
    assert next(iter(blobs.put_calls.values()))[1] == "image/jpeg"  # the message's mime type, not the octet-stream


def test_twilio_media_goes_with_the_accounts_credentials_and_a_disallowed_type_is_refused() -> None:
    downloader = Downloader((b"%PDF", "application/pdf"))
    svc, _, _ = service(downloader)
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    assert svc.fetch(event("sms", {"url": url})).state == "stored"
    assert downloader.calls[-1][1] == ("AC1", "tok-sms")
    downloader.answer = (b"<html>", "text/html")
    outcome = svc.fetch(event("sms", {"url": url}))
    assert outcome.state == "failed" and "text/html" in (outcome.reason or "")


def test_a_transient_download_error_is_retried_and_a_4xx_is_not() -> None:
    downloader = Downloader()
    svc, store, _ = service(downloader)
    downloader.error = ProviderSendError(http_status=503, code=None, title="unavailable", details=None)
    with pytest.raises(RetryableError):
        svc.fetch(event("fb", {"url": "https://scontent.xx.fbcdn.net/a.jpg"}))
    assert store.records[-1]["state"] == "retrying"
    downloader.error = ProviderSendError(http_status=403, code=None, title="URL signature expired", details=None)
    assert svc.fetch(event("fb", {"url": "https://scontent.xx.fbcdn.net/a.jpg"})).state == "failed"


@pytest.mark.parametrize(("url", "ok"), [
    ("https://scontent.xx.fbcdn.net/a", True), ("https://fbcdn.net/a", True), ("http://scontent.fbcdn.net/a", False),
    ("https://fbcdn.net.attacker.example/a", False), ("https://attacker.example/?u=fbcdn.net", False),
    ("https://evilfbcdn.net/a", False)])
def test_hosts_are_matched_exactly_or_as_subdomains_over_https(url: str, ok: bool) -> None:
    assert host_allowed(url, ("fbcdn.net",)) is ok


# --- the downloader over a mock transport ---------------------------------------------------------------

def transport(routes: dict[str, httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return routes.get(str(request.url), httpx.Response(404))
    return httpx.MockTransport(handler)


def allowed(url: str) -> bool:
    return host_allowed(url, ("api.twilio.com", "twiliocdn.com"))


def test_redirects_are_followed_only_to_allowed_hosts_and_credentials_stay_with_their_host() -> None:
    seen: list[httpx.Request] = []
    start = "https://api.twilio.com/Media/ME1"
    routes = {start: httpx.Response(307, headers={"location": "https://media.twiliocdn.com/x"}),
              "https://media.twiliocdn.com/x": httpx.Response(200, content=b"img",
                                                               headers={"content-type": "image/jpeg"})}
    downloader = HttpMediaDownloader(timeout_s=5, transport=transport(routes, seen))
    assert downloader.get(start, allowed=allowed, max_bytes=100, auth=("AC1", "secret")) == (b"img", "image/jpeg")
    assert "authorization" in seen[0].headers and "authorization" not in seen[1].headers
    routes[start] = httpx.Response(302, headers={"location": "https://attacker.example/steal"})
    with pytest.raises(ProviderSendError, match="not allowed"):
        downloader.get(start, allowed=allowed, max_bytes=100, auth=("AC1", "secret"))
    assert not any(r.url.host == "attacker.example" for r in seen)


def test_a_body_over_the_limit_is_cut_and_refused() -> None:
    routes = {"https://api.twilio.com/big": httpx.Response(200, content=b"x" * 5000)}
    downloader = HttpMediaDownloader(timeout_s=5, transport=transport(routes, []))
    with pytest.raises(MediaTooLarge):
        downloader.get("https://api.twilio.com/big", allowed=allowed, max_bytes=1000)


def test_twilios_redirect_to_its_s3_bucket_is_allowed_by_path_only() -> None:
    from shared.services.media import twilio_s3_redirect

    assert twilio_s3_redirect("https://s3-external-1.amazonaws.com/media.twiliocdn.com/AC1/abc")
    assert not twilio_s3_redirect("https://s3-external-1.amazonaws.com/attacker-bucket/x")
    assert not twilio_s3_redirect("http://s3-external-1.amazonaws.com/media.twiliocdn.com/AC1/abc")
