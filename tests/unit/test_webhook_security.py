"""SSRF checks on integrators' URLs (at subscribe time and at every delivery), the pinned sender, signatures."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.adapters.http_webhooks import HttpxWebhookSender
from shared.errors import RetryableError
from shared.services.webhook_security import (
    UnsafeTarget,
    check_target,
    sign,
    sign_many,
    validate_target_url,
    verify,
)
from shared.services.webhooks import WebhookSendError
from tests.unit.test_webhooks_service import PUBLIC_IP, envelope, make_world, only_delivery, subscribe

DNS: dict[str, list[str]] = {
    "hooks.example.com": [PUBLIC_IP],
    "dual.example.com": [PUBLIC_IP, "2606:4700::1111"],
    "internal.example.com": ["10.0.0.7"],
    "mixed.example.com": [PUBLIC_IP, "127.0.0.1"],  # ANY private answer is enough to refuse
    "metadata.example.com": ["169.254.169.254"],
    "cgnat.example.com": ["100.64.0.1"],
    "v6-local.example.com": ["fd12:3456::1"],
    "v6-linklocal.example.com": ["fe80::1%eth0"],
    "mapped.example.com": ["::ffff:10.0.0.1"],
    "localhost": ["127.0.0.1"],
}


def resolver(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise OSError(f"NXDOMAIN {host}")
    return DNS[host]


@pytest.mark.parametrize("url", [
    # scheme, credentials, ports
    "http://hooks.example.com/in",
    "ftp://hooks.example.com/in",
    "https://user:secret@hooks.example.com/in",
    "https://hooks.example.com@evil.example/in",
    "https://hooks.example.com:8443/in",
    "https://hooks.example.com:99999/in",
    "https:///in",
    # private, loopback, link-local (cloud metadata), CGNAT, multicast, reserved, unspecified
    "https://127.0.0.1/", "https://10.0.0.1/", "https://172.16.5.4/", "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/", "https://100.64.0.1/", "https://224.0.0.1/",
    "https://240.0.0.1/", "https://0.0.0.0/", "https://255.255.255.255/",
    # IP literals in decimal, octal, hex and short forms (inet_aton accepts them all)
    "https://2130706433/", "https://0177.0.0.1/", "https://0x7f.0.0.1/", "https://0x7f.1/",
    "https://0x7f000001/", "https://127.1/", "https://017700000001/", "https://1.2.3.4.5/",
    "https://%31%32%37.0.0.1/",
    # IPv6: loopback, unspecified, ULA, link-local, IPv4-mapped/NAT64/6to4 of private addresses
    "https://[::1]/", "https://[::]/", "https://[fd00::1]/", "https://[fe80::1]/", "https://[fe80::1%25eth0]/",
    "https://[::ffff:127.0.0.1]/", "https://[::ffff:169.254.169.254]/", "https://[::ffff:a9fe:a9fe]/",
    "https://[64:ff9b::a9fe:a9fe]/", "https://[2002:7f00:1::]/", "https://[ff02::1]/",
    # names resolving to private addresses, unresolvable and single-label names
    "https://internal.example.com/", "https://mixed.example.com/", "https://metadata.example.com/",
    "https://cgnat.example.com/", "https://v6-local.example.com/", "https://v6-linklocal.example.com/",
    "https://mapped.example.com/", "https://nxdomain.example.com/", "https://localhost/",
    # parser differentials
    "https://hooks.example.com\\@127.0.0.1/", "https://hooks.example.com /in", "https://hooks.example.com/\nin",
    "https://exa_mple.com/",
])
def test_unsafe_targets_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_target(url, resolver=resolver)


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "0x7f000001", "127.1", "0177.0.0.1", "1.2.3.4.5",
                                  "0x5d.0xb8.0xd8.0x22"])
def test_numeric_host_forms_are_refused_before_any_lookup(host: str) -> None:
    asked: list[str] = []

    def any_answer_is_public(name: str, port: int) -> list[str]:  # whatever libc would make of it
        asked.append(name)
        return [PUBLIC_IP]

    with pytest.raises(UnsafeTarget):
        check_target(f"https://{host}/", resolver=any_answer_is_public)
    assert asked == []


@pytest.mark.parametrize(("url", "normalized", "addresses"), [
    ("https://hooks.example.com/in?tenant=1", "https://hooks.example.com/in?tenant=1", (PUBLIC_IP,)),
    ("HTTPS://Hooks.Example.COM/Path#fragment", "https://hooks.example.com/Path", (PUBLIC_IP,)),
    ("https://hooks.example.com.", "https://hooks.example.com/", (PUBLIC_IP,)),
    ("https://hooks.example.com:443/in", "https://hooks.example.com:443/in", (PUBLIC_IP,)),
    ("https://dual.example.com/in", "https://dual.example.com/in", (PUBLIC_IP, "2606:4700::1111")),
    ("https://93.184.216.34/in", "https://93.184.216.34/in", (PUBLIC_IP,)),
    ("https://[2606:4700::1111]/in", "https://[2606:4700::1111]/in", ("2606:4700::1111",)),
])
def test_public_https_targets_are_accepted_and_normalized(url: str, normalized: str,
                                                          addresses: tuple[str, ...]) -> None:
    target = check_target(url, resolver=resolver)
    assert (target.url, target.addresses) == (normalized, addresses)
    assert validate_target_url(url, resolver=resolver) == normalized


def test_international_names_are_checked_in_their_ascii_form() -> None:
    seen: list[str] = []

    def dns(host: str, port: int) -> list[str]:
        seen.append(host)
        return [PUBLIC_IP]

    assert check_target("https://bücher.example/", resolver=dns).host == "xn--bcher-kva.example"
    assert seen == ["xn--bcher-kva.example"]


def test_allowlisted_local_hosts_may_use_http_private_addresses_and_their_port() -> None:
    allow = frozenset({"127.0.0.1:8080", "localhost:9000"})
    assert validate_target_url("http://127.0.0.1:8080/hook", resolver=resolver, allow_private=allow)
    assert validate_target_url("http://localhost:9000/hook", resolver=resolver, allow_private=allow)
    for url in ("http://127.0.0.1:8081/hook", "http://localhost:8080/hook", "http://10.0.0.1:8080/"):
        with pytest.raises(UnsafeTarget):
            validate_target_url(url, resolver=resolver, allow_private=allow)


def test_an_explicitly_allowed_port_is_accepted() -> None:
    assert check_target("https://hooks.example.com:8443/", resolver=resolver, allowed_ports={443, 8443}).port == 8443


# --- DNS rebinding: checked again at every delivery ------------------------------------------------------

def test_a_name_that_rebinds_to_the_metadata_address_is_never_posted_to() -> None:
    world = make_world()
    subscribe(world, url="https://hooks.acme.example/in")  # public when subscribed
    world.dns.answers["hooks.acme.example"] = ["169.254.169.254"]  # ... rebinds before the delivery

    with pytest.raises(RetryableError):
        world.service.dispatch(envelope())

    assert world.sender.sent == []
    delivery = only_delivery(world)
    assert delivery.status == "pending" and (delivery.last_error or "").startswith("unsafe target")
    world.dns.answers["hooks.acme.example"] = [PUBLIC_IP]
    world.service.dispatch(envelope(), attempt=2)
    assert [s.target.addresses for s in world.sender.sent] == [(PUBLIC_IP,)]


def test_the_sender_connects_to_the_vetted_address_with_the_name_in_host_and_sni() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/"})

    sender = HttpxWebhookSender(transport=httpx.MockTransport(handler))
    target = check_target("https://hooks.example.com/in?x=1", resolver=resolver)

    assert sender.post(target, b"{}", {"X-Omnichannel-Event": "MessageReceived"}) == 302  # not followed
    [request] = seen
    assert str(request.url) == f"https://{PUBLIC_IP}/in?x=1"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.content == b"{}"


def test_the_sender_tries_the_next_vetted_address_only_when_nothing_was_sent() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host == PUBLIC_IP:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(204)

    sender = HttpxWebhookSender(transport=httpx.MockTransport(handler))
    assert sender.post(check_target("https://dual.example.com/", resolver=resolver), b"{}", {}) == 204
    assert hosts == [PUBLIC_IP, "2606:4700::1111"]


def test_a_timeout_is_a_send_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    sender = HttpxWebhookSender(transport=httpx.MockTransport(handler))
    with pytest.raises(WebhookSendError, match="timeout"):
        sender.post(check_target("https://hooks.example.com/", resolver=resolver), b"{}", {})


# --- signatures ------------------------------------------------------------------------------------------

SECRET = "whsec_test"
BODY = b'{"id":"evt-1","type":"MessageReceived"}'
TS = 1_740_000_000


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, BODY) == f"t={TS},v1={expected}"
    assert sign(SECRET, TS, BODY.decode()) == sign(SECRET, TS, BODY)


@pytest.mark.parametrize(("delta", "ok"), [(0, True), (299, True), (-299, True), (301, False), (-301, False)])
def test_verify_accepts_only_timestamps_within_the_tolerance(delta: int, ok: bool) -> None:
    assert verify(SECRET, sign(SECRET, TS, BODY), BODY, TS + delta) is ok


def test_verify_accepts_a_datetime_for_now() -> None:
    now = datetime.fromtimestamp(TS, tz=UTC) + timedelta(seconds=10)
    assert verify(SECRET, sign(SECRET, TS, BODY), BODY, now)


@pytest.mark.parametrize("tampered", [
    ("body", BODY.replace(b"evt-1", b"evt-2")),
    ("secret", "whsec_other"),
    ("timestamp", f"t={TS + 1}," + sign(SECRET, TS, BODY).split(",", 1)[1]),
    ("signature", sign(SECRET, TS, BODY)[:-1] + ("0" if sign(SECRET, TS, BODY)[-1] != "0" else "1")),
    ("header", "garbage"),
    ("header", ""),
    ("header", f"t={TS}"),
    ("header", f"v1={sign(SECRET, TS, BODY).split('v1=')[1]}"),
])
def test_verify_rejects_tampering(tampered: tuple[str, object]) -> None:
    what, value = tampered
    body, secret, header = BODY, SECRET, sign(SECRET, TS, BODY)
    if what == "body":
        body = value  # type: ignore[assignment]
    elif what == "secret":
        secret = value  # type: ignore[assignment]
    else:
        header = value  # type: ignore[assignment]
    assert not verify(secret, header, body, TS)


def test_during_a_rotation_either_secret_verifies_and_unknown_schemes_are_ignored() -> None:
    header = sign_many(["whsec_new", "whsec_old"], TS, BODY)
    assert verify("whsec_new", header, BODY, TS) and verify("whsec_old", header, BODY, TS)
    assert not verify("whsec_other", header, BODY, TS)
    assert verify(SECRET, sign(SECRET, TS, BODY) + ",v2=future", BODY, TS)
