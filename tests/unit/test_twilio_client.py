"""The Twilio client against the local Twilio emulator (httpx.MockTransport, no sockets): sends, Twilio's error
answers, timeouts (a read timeout is ambiguous), and the auth token never in what is raised."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from infra.local.twilio_emulator import TwilioEmulator
from shared.adapters.twilio import TwilioClient
from shared.models.envelopes import OutboundRequest, TextContent
from shared.ports import ProviderSendError
from shared.services.sms_payloads import build_form

ACCOUNT = "AC" + "a1" * 16
TOKEN = "s3cr3t-auth-token-0123456789abcd"
NUMBER = "+14155550100"
CUSTOMER = "+5491155550000"


def over(emulator: TwilioEmulator) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        reply = emulator.handle(request.method, request.url.path, request.read(), dict(request.headers))
        assert reply is not None
        status, headers, body = reply
        return httpx.Response(status, headers=headers, content=body)
    return httpx.MockTransport(handler)


@pytest.fixture
def emulator() -> TwilioEmulator:
    return TwilioEmulator({ACCOUNT: TOKEN})


@pytest.fixture
def client(emulator: TwilioEmulator) -> TwilioClient:
    return TwilioClient(base_url="http://gateway.local/local/twilio", timeout_s=5, transport=over(emulator))


def failing(raise_: Callable[[httpx.Request], httpx.Response]) -> TwilioClient:
    return TwilioClient(timeout_s=5, transport=httpx.MockTransport(raise_))


def test_a_send_answers_the_new_message_sid_and_is_recorded(client: TwilioClient, emulator: TwilioEmulator) -> None:
    result = client.send(ACCOUNT, TOKEN, {"To": CUSTOMER, "From": NUMBER, "Body": "Hola",
                                          "MediaUrl": ["https://cdn.banco.example/a.jpg"],
                                          "StatusCallback": "https://hooks.banco.example/s"})
    assert result.provider_message_id is not None and re.fullmatch(r"SM[0-9a-f]{32}", result.provider_message_id)
    assert result.message_status == "queued"
    [call] = emulator.calls
    assert call["path"] == f"/local/twilio/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert call["account_sid"] == ACCOUNT and call["status"] == 201
    assert call["form"]["Body"] == "Hola" and call["form"]["MediaUrl"] == "https://cdn.banco.example/a.jpg"


def test_a_form_of_build_form_goes_through(client: TwilioClient, emulator: TwilioEmulator) -> None:
    form = build_form(OutboundRequest(request_id="r", tenant_id="t", channel_id="c", contact_key=CUSTOMER,
                                      to=CUSTOMER, content=TextContent(body="¿Saldo? ñ 👋")),
                      number=NUMBER, status_callback=None)
    assert form is not None
    assert client.send(ACCOUNT, TOKEN, form).provider_message_id
    assert emulator.calls[0]["form"] == {"To": CUSTOMER, "From": NUMBER, "Body": "¿Saldo? ñ 👋"}


def test_wrong_credentials_are_twilios_20003_and_the_token_is_never_raised(client: TwilioClient) -> None:
    with pytest.raises(ProviderSendError) as caught:
        client.send(ACCOUNT, "wrong-token-value", {"To": CUSTOMER, "From": NUMBER, "Body": "Hola"})
    error = caught.value
    assert (error.http_status, error.code, error.title) == (401, 20003, "Authenticate")
    assert error.details == "https://www.twilio.com/docs/errors/20003" and not error.ambiguous
    assert "wrong-token-value" not in repr(vars(error)) + str(error)


@pytest.mark.parametrize(("form", "code"), [
    ({"To": CUSTOMER, "From": NUMBER}, 21619),
    ({"To": "011 5555", "From": NUMBER, "Body": "x"}, 21211),
    ({"From": NUMBER, "Body": "x"}, 21604),
    ({"To": "+5491100000000", "From": NUMBER, "Body": "x"}, 21610),
])
def test_twilios_refusals_carry_its_code(client: TwilioClient, emulator: TwilioEmulator, form: dict[str, str],
                                         code: int) -> None:
    emulator.handle("POST", "/local/twilio/config", json.dumps({"unsubscribed": ["+5491100000000"]}).encode())
    with pytest.raises(ProviderSendError) as caught:
        client.send(ACCOUNT, TOKEN, form)
    assert caught.value.http_status == 400 and caught.value.code == code
    assert emulator.calls[-1]["status"] == 400


def test_check_account_answers_the_account_or_401(client: TwilioClient) -> None:
    account = client.check_account(ACCOUNT, TOKEN)
    assert account["sid"] == ACCOUNT and account["status"] == "active"
    with pytest.raises(ProviderSendError) as caught:
        client.check_account(ACCOUNT, "nope")
    assert caught.value.code == 20003


def test_an_account_sid_that_is_not_alphanumeric_never_reaches_a_url(client: TwilioClient,
                                                                     emulator: TwilioEmulator) -> None:
    with pytest.raises(ProviderSendError, match="invalid account sid"):
        client.send("AC1/../../Other", TOKEN, {"To": CUSTOMER, "From": NUMBER, "Body": "x"})
    assert emulator.calls == []


def test_throttling_keeps_retry_after() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "7"},
                              json={"code": 20429, "message": "Too Many Requests", "status": 429})
    with pytest.raises(ProviderSendError) as caught:
        failing(answer).send(ACCOUNT, TOKEN, {"To": CUSTOMER, "From": NUMBER, "Body": "x"})
    assert (caught.value.http_status, caught.value.code, caught.value.retry_after_s) == (429, 20429, 7)


def test_a_server_error_without_json_keeps_the_http_status() -> None:
    with pytest.raises(ProviderSendError) as caught:
        failing(lambda request: httpx.Response(503, text="<html>")).send(ACCOUNT, TOKEN, {"Body": "x"})
    assert caught.value.http_status == 503 and caught.value.code is None
    assert caught.value.title == "Service Unavailable"


@pytest.mark.parametrize(("exc", "ambiguous", "title"), [
    (httpx.ReadTimeout("timed out"), True, "no answer from Twilio in time"),
    (httpx.ConnectTimeout("timed out"), False, "timeout"),
    (httpx.ConnectError("refused"), False, "connection error"),
])
def test_only_a_read_timeout_is_ambiguous(exc: Exception, ambiguous: bool, title: str) -> None:
    def answer(request: httpx.Request) -> Any:
        raise exc
    with pytest.raises(ProviderSendError) as caught:
        failing(answer).send(ACCOUNT, TOKEN, {"To": CUSTOMER, "From": NUMBER, "Body": "x"})
    assert caught.value.ambiguous is ambiguous and caught.value.title == title
    assert caught.value.http_status is None and TOKEN not in str(caught.value) + str(caught.value.details)


def test_the_emulators_calls_can_be_read_and_cleared(client: TwilioClient, emulator: TwilioEmulator) -> None:
    client.send(ACCOUNT, TOKEN, {"To": CUSTOMER, "From": NUMBER, "Body": "x"})
    reply = emulator.handle("DELETE", "/local/twilio/calls", b"")
    assert reply is not None and len(json.loads(reply[2])) == 1
    reply = emulator.handle("GET", "/local/twilio/calls", b"")
    assert reply is not None and json.loads(reply[2]) == []
    assert emulator.handle("GET", "/local/telegram/calls", b"") is None
