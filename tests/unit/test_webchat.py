"""Web chat: visitor session tokens, signed-in identity (HMAC), pre-chat form, messages in as inbound units, the
visitor's own history, read receipts, origins, and pushes to open widgets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from shared.errors import ChannelNotFound, Forbidden, InvalidInput, NotFound, Unauthorized
from shared.models.channel import Channel, ChannelSecrets, PrechatField, WebChatSettings
from shared.models.envelopes import OutboundRequest
from shared.models.messages import MessageType
from shared.services.send_policy import UnsupportedOnChannel
from shared.services.webchat import (
    IdentityInput,
    PrechatInput,
    ReadInput,
    SessionInput,
    Visitor,
    VisitorConnection,
    VisitorMessageInput,
    VisitorPush,
    WebChatService,
    identity_hash,
    item_view,
    outbound_view,
    read_token,
    sign_token,
)
from shared.services.webchat_parser import parse_webchat, parse_webchat_status

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
IDENTITY_SECRET, TOKEN_KEY = "identity-secret-1", "token-key-1"


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> datetime:
        return self.at


class Directory:
    def __init__(self, **settings: Any) -> None:
        web = WebChatSettings(**settings)
        self.channels = {
            "wc1": Channel(tenant_id="t1", channel_id="wc1", kind="webchat", phone_number_id="wc1", secret_name="s",
                           webchat=web),
            "wc2": Channel(tenant_id="t2", channel_id="wc2", kind="webchat", phone_number_id="wc2", secret_name="s2"),
            "wa1": Channel(tenant_id="t1", channel_id="wa1", phone_number_id="123", secret_name="s3"),
        }

    def get_channel(self, channel_id: str) -> Channel | None:
        return self.channels.get(channel_id)

    def channel_for_account(self, kind: str, account_id: str) -> Channel | None:
        return None

    def get_secrets(self, channel: Channel, *, fresh: bool = False) -> ChannelSecrets:
        suffix = "" if channel.channel_id == "wc1" else "-other"
        return ChannelSecrets(app_secret=SecretStr(IDENTITY_SECRET + suffix),
                              verify_token=SecretStr(TOKEN_KEY + suffix),
                              access_token=SecretStr("x"))


class Queue:
    def __init__(self) -> None:
        self.units: list[Any] = []

    def enqueue(self, units: list[Any]) -> None:
        self.units.extend(units)


class History:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def thread_messages(self, tenant_id: str, channel_id: str, contact_key: str) -> list[dict[str, Any]]:
        return [i for i in self.items if (i["tenant_id"], i["channel_id"], i["contact_key"]) ==
                (tenant_id, channel_id, contact_key)]

    def get_message(self, tenant_id: str, channel_id: str, message_id: str) -> dict[str, Any] | None:
        return next((i for i in self.items if (i["tenant_id"], i["channel_id"], i["message_id"]) ==
                     (tenant_id, channel_id, message_id)), None)


class Connections:
    def __init__(self) -> None:
        self.open: dict[str, VisitorConnection] = {}

    def add(self, connection: VisitorConnection, *, now: datetime) -> None:
        self.open[connection.connection_id] = connection

    def remove(self, connection_id: str) -> VisitorConnection | None:
        return self.open.pop(connection_id, None)

    def list(self, tenant_id: str, channel_id: str, contact_key: str) -> list[VisitorConnection]:
        return [c for c in self.open.values() if (c.tenant_id, c.channel_id, c.contact_key) ==
                (tenant_id, channel_id, contact_key)]


def service(**settings: Any) -> tuple[WebChatService, Queue, History, Connections, Clock]:
    queue, history, connections, clock = Queue(), History(), Connections(), Clock()
    return (WebChatService(directory=Directory(**settings), queue=queue, history=history, connections=connections,
                           clock=clock, websocket_url="wss://ws.example/live"), queue, history, connections, clock)


# -- tokens -------------------------------------------------------------------------------------------------------
def test_token_round_trip_keeps_the_visitor_and_profile() -> None:
    visitor = Visitor(channel_id="wc1", contact_key="anon:abc", name="Ana Pérez", email="ana@x.com", phone="5491122")
    token, expires = sign_token(TOKEN_KEY, visitor, now=NOW)
    assert expires == NOW + timedelta(days=30)
    assert read_token(TOKEN_KEY, token, channel_id="wc1", now=NOW) == visitor


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
    lambda t: t.replace("v1.", "v2.", 1),
    lambda t: "garbage",
    lambda t: t.split(".")[0] + ".e30." + t.split(".")[2],  # payload swapped ({}): signature no longer matches
])
def test_tampered_tokens_are_refused(mutate: Any) -> None:
    token, _ = sign_token(TOKEN_KEY, Visitor(channel_id="wc1", contact_key="anon:abc"), now=NOW)
    with pytest.raises(Unauthorized):
        read_token(TOKEN_KEY, mutate(token), channel_id="wc1", now=NOW)


def test_a_token_is_bound_to_its_channel_and_key() -> None:
    token, _ = sign_token(TOKEN_KEY, Visitor(channel_id="wc1", contact_key="anon:abc"), now=NOW)
    with pytest.raises(Unauthorized, match="another channel"):
        read_token(TOKEN_KEY, token, channel_id="wc9", now=NOW)
    with pytest.raises(Unauthorized, match="signature"):
        read_token("another-key", token, channel_id="wc1", now=NOW)


def test_expired_tokens_are_refused_but_renewable_for_a_while() -> None:
    token, _ = sign_token(TOKEN_KEY, Visitor(channel_id="wc1", contact_key="anon:abc"), now=NOW)
    later = NOW + timedelta(days=31)
    with pytest.raises(Unauthorized, match="expired"):
        read_token(TOKEN_KEY, token, channel_id="wc1", now=later)
    assert read_token(TOKEN_KEY, token, channel_id="wc1", now=later, renew=True).contact_key == "anon:abc"
    with pytest.raises(Unauthorized):
        read_token(TOKEN_KEY, token, channel_id="wc1", now=NOW + timedelta(days=121), renew=True)


# -- sessions -------------------------------------------------------------------------------------------------------
def test_an_anonymous_session_gets_a_fresh_visitor_and_the_websocket_url() -> None:
    svc, *_ = service()
    one = svc.start_session("wc1", SessionInput())
    two = svc.start_session("wc1", SessionInput())
    assert one["visitor_id"].startswith("anon:") and one["visitor_id"] != two["visitor_id"]
    assert one["websocket_url"] == "wss://ws.example/live"
    assert read_token(TOKEN_KEY, one["token"], channel_id="wc1", now=NOW).contact_key == one["visitor_id"]


def test_a_returning_visitor_keeps_their_thread_even_with_an_expired_token() -> None:
    svc, _, _, _, clock = service()
    first = svc.start_session("wc1", SessionInput())
    clock.at = NOW + timedelta(days=45)
    again = svc.start_session("wc1", SessionInput(token=first["token"]))
    assert again["visitor_id"] == first["visitor_id"] and again["token"] != first["token"]


def test_a_foreign_token_starts_a_new_visitor_instead_of_failing() -> None:
    svc, *_ = service()
    other_channel, _ = sign_token(TOKEN_KEY + "-other", Visitor(channel_id="wc2", contact_key="anon:zzz"), now=NOW)
    session = svc.start_session("wc1", SessionInput(token=other_channel))
    assert session["visitor_id"] != "anon:zzz"


def test_signed_in_customers_are_recognized_by_their_hmac() -> None:
    svc, *_ = service()
    good = IdentityInput(user_id="cliente-42", user_hash=identity_hash(IDENTITY_SECRET, "cliente-42"),
                         name="Ana", email="ana@x.com")
    session = svc.start_session("wc1", SessionInput(identity=good))
    assert session["visitor_id"] == "user:cliente-42"
    visitor = read_token(TOKEN_KEY, session["token"], channel_id="wc1", now=NOW)
    assert (visitor.name, visitor.email, visitor.verified) == ("Ana", "ana@x.com", True)
    # the same customer from another device is the same visitor
    assert svc.start_session("wc1", SessionInput(identity=good))["visitor_id"] == "user:cliente-42"


def test_a_wrong_identity_hash_is_401_never_a_silent_downgrade() -> None:
    svc, *_ = service()
    forged = IdentityInput(user_id="cliente-42", user_hash=identity_hash("guessed", "cliente-42"))
    with pytest.raises(Unauthorized, match="user_hash"):
        svc.start_session("wc1", SessionInput(identity=forged))
    other_user = IdentityInput(user_id="cliente-43", user_hash=identity_hash(IDENTITY_SECRET, "cliente-42"))
    with pytest.raises(Unauthorized):
        svc.start_session("wc1", SessionInput(identity=other_user))


def test_identity_required_refuses_anonymous_visitors() -> None:
    svc, *_ = service(identity_required=True)
    with pytest.raises(Unauthorized, match="signed-in"):
        svc.start_session("wc1", SessionInput())


def test_an_anonymous_token_does_not_carry_over_to_a_signed_in_session_and_back() -> None:
    svc, *_ = service()
    signed = svc.start_session("wc1", SessionInput(identity=IdentityInput(
        user_id="u1", user_hash=identity_hash(IDENTITY_SECRET, "u1"))))
    # after log-out the page has no identity: the stored signed-in token must not keep the customer's thread
    after = svc.start_session("wc1", SessionInput(token=signed["token"]))
    assert after["visitor_id"].startswith("anon:")


def test_prechat_form_is_validated_with_spanish_reasons() -> None:
    svc, *_ = service(prechat_fields=(PrechatField(name="name", label="Nombre", required=True),
                                      PrechatField(name="email", label="Email"),
                                      PrechatField(name="phone", label="Teléfono")))
    with pytest.raises(InvalidInput, match="Nombre es obligatorio"):
        svc.start_session("wc1", SessionInput(prechat=PrechatInput(email="ana@x.com")))
    with pytest.raises(InvalidInput, match="email no es válido"):
        svc.start_session("wc1", SessionInput(prechat=PrechatInput(name="Ana", email="no-es-email")))
    with pytest.raises(InvalidInput, match="código de país"):
        svc.start_session("wc1", SessionInput(prechat=PrechatInput(name="Ana", phone="011 2345")))
    session = svc.start_session("wc1", SessionInput(prechat=PrechatInput(name="Ana", phone="+54 9 11 2345-6789")))
    visitor = read_token(TOKEN_KEY, session["token"], channel_id="wc1", now=NOW)
    assert (visitor.name, visitor.phone) == ("Ana", "5491123456789")


def test_unknown_or_non_webchat_channels_are_not_found() -> None:
    svc, *_ = service()
    for channel_id in ("nope", "wa1"):
        with pytest.raises(ChannelNotFound):
            svc.start_session(channel_id, SessionInput())


def test_listed_origins_admit_only_those_pages() -> None:
    svc, *_ = service(allowed_origins=("https://tienda.example",))
    svc.config("wc1", "https://tienda.example/")
    svc.start_session("wc1", SessionInput(), origin="https://tienda.example")
    with pytest.raises(Forbidden):
        svc.start_session("wc1", SessionInput(), origin="https://evil.example")


def test_config_describes_the_widget() -> None:
    svc, *_ = service(title="Tienda", prechat_fields=(PrechatField(name="email", label="Correo", required=True),))
    config = svc.config("wc1")
    assert config["title"] == "Tienda" and config["prechat"] == {
        "enabled": True, "fields": [{"name": "email", "label": "Correo", "required": True, "type": "email"}]}


# -- messages in --------------------------------------------------------------------------------------------------
def _session(svc: WebChatService, **kwargs: Any) -> str:
    return str(svc.start_session("wc1", SessionInput(**kwargs))["token"])


def test_a_visitor_message_becomes_an_inbound_unit_of_their_thread() -> None:
    svc, queue, *_ = service()
    token = _session(svc, prechat=PrechatInput(name="Ana", email="ana@x.com"))
    accepted = svc.post_message("wc1", token, VisitorMessageInput(client_message_id="c-000001", text="Hola"))
    [queued] = queue.units
    unit = queued.unit
    assert (unit.tenant_id, unit.channel_id, unit.provider, unit.kind) == ("t1", "wc1", "webchat", "message")
    assert unit.payload["text"] == "Hola" and unit.payload["id"] == accepted["message_id"]
    assert unit.payload["profile"] == {"name": "Ana", "email": "ana@x.com"}
    message = parse_webchat(unit.payload, received_at=NOW)
    assert message.type is MessageType.TEXT and message.text == "Hola"
    assert (message.sender.key, message.sender.provider, message.sender.name, message.sender.email) == (
        unit.payload["from"], "webchat", "Ana", "ana@x.com")


def test_a_retried_post_has_the_same_id_and_dedup_id_but_two_visitors_never_collide() -> None:
    svc, queue, *_ = service()
    one, two = _session(svc), _session(svc)
    body = VisitorMessageInput(client_message_id="same-client-id", text="Hola")
    first = svc.post_message("wc1", one, body)
    again = svc.post_message("wc1", one, body)
    other = svc.post_message("wc1", two, body)
    assert first == again and first != other
    assert queue.units[0].dedup_id == queue.units[1].dedup_id != queue.units[2].dedup_id
    assert queue.units[0].group_id != queue.units[2].group_id  # one FIFO group per visitor thread


def test_button_taps_become_button_replies() -> None:
    svc, queue, *_ = service()
    svc.post_message("wc1", _session(svc), VisitorMessageInput.model_validate(
        {"client_message_id": "c-000002", "reply": {"id": "saldo", "title": "Ver saldo"}}))
    message = parse_webchat(queue.units[0].unit.payload, received_at=NOW)
    assert message.type is MessageType.INTERACTIVE
    assert message.interactive is not None and (message.interactive.id, message.text) == ("saldo", "Ver saldo")


def test_bad_messages_are_refused_with_reasons() -> None:
    svc, queue, *_ = service()
    token = _session(svc)
    with pytest.raises(InvalidInput, match="exactly one"):
        svc.post_message("wc1", token, VisitorMessageInput(client_message_id="c-000003"))
    with pytest.raises(InvalidInput, match="empty"):
        svc.post_message("wc1", token, VisitorMessageInput(client_message_id="c-000003", text="   "))
    with pytest.raises(ValidationError):
        VisitorMessageInput(client_message_id="c-000003", text="x" * 4097)
    with pytest.raises(ValidationError):
        VisitorMessageInput(client_message_id="no spaces allowed", text="x")
    with pytest.raises(Unauthorized):
        svc.post_message("wc1", None, VisitorMessageInput(client_message_id="c-000003", text="Hola"))
    assert queue.units == []


# -- history and read receipts ---------------------------------------------------------------------------------------
def _item(contact_key: str, message_id: str, direction: str, **extra: Any) -> dict[str, Any]:
    return {"tenant_id": "t1", "channel_id": "wc1", "contact_key": contact_key, "message_id": message_id,
            "direction": direction, **extra}


def test_history_is_the_visitors_own_thread_only_and_hides_failed_sends() -> None:
    svc, _, history, _, _ = service()
    token = _session(svc)
    me = read_token(TOKEN_KEY, token, channel_id="wc1", now=NOW).contact_key
    buttons = {"type": "buttons", "body": "¿Qué necesitas?", "buttons": [{"id": "a", "title": "Saldo"}]}
    history.items = [
        _item(me, "wc_1", "in", message_type="text", text="Hola", sent_at="2026-11-22T12:00:00.000Z"),
        _item(me, "out_1", "out", status="accepted", content=json.dumps(buttons), text=None,
              created_at="2026-11-22T12:00:01.000Z"),
        _item(me, "out_2", "out", status="refused", content=json.dumps({"type": "text", "body": "x"}),
              created_at="2026-11-22T12:00:02.000Z"),
        _item("anon:someone-else", "wc_9", "in", message_type="text", text="secreto",
              sent_at="2026-11-22T12:00:00.000Z"),
    ]
    views = svc.history("wc1", token)
    assert [v["id"] for v in views] == ["wc_1", "out_1"]
    assert views[1]["buttons"] == [{"id": "a", "title": "Saldo"}] and views[1]["status"] == "sent"


def test_read_receipts_only_for_our_messages_in_the_visitors_thread() -> None:
    svc, queue, history, _, _ = service()
    token = _session(svc)
    me = read_token(TOKEN_KEY, token, channel_id="wc1", now=NOW).contact_key
    history.items = [_item(me, "out_1", "out", status="sent"), _item("anon:other", "out_2", "out", status="sent"),
                     _item(me, "wc_1", "in")]
    svc.mark_read("wc1", token, ReadInput(message_id="out_1"))
    status = parse_webchat_status(queue.units[0].unit.payload, received_at=NOW)
    assert (status.provider_message_id, status.status.value if status.status else None) == ("out_1", "read")
    for other in ("out_2", "wc_1", "missing"):
        with pytest.raises(NotFound):
            svc.mark_read("wc1", token, ReadInput(message_id=other))


# -- the WebSocket and pushes ---------------------------------------------------------------------------------------
def test_connect_records_the_visitor_and_a_bad_token_is_refused() -> None:
    svc, _, _, connections, _ = service()
    token = _session(svc)
    connection = svc.connect(token, "conn-1")
    assert connections.open["conn-1"] == connection and connection.tenant_id == "t1"
    with pytest.raises(Unauthorized):
        svc.connect("v1.bm90LWpzb24.AAAA", "conn-2")
    assert svc.disconnect("conn-1") == connection and svc.disconnect("conn-1") is None


class Pusher:
    def __init__(self, gone: set[str]) -> None:
        self.gone, self.sent = gone, []  # type: ignore[var-annotated]

    def post(self, connection_id: str, data: bytes) -> bool:
        if connection_id in self.gone:
            return False
        self.sent.append((connection_id, json.loads(data)))
        return True


def test_push_reaches_every_open_widget_of_the_visitor_and_forgets_gone_ones() -> None:
    connections = Connections()
    for cid, key in (("a", "anon:1"), ("b", "anon:1"), ("gone", "anon:1"), ("c", "anon:2")):
        connections.add(VisitorConnection(cid, "t1", "wc1", key), now=NOW)
    pusher = Pusher({"gone"})
    pushed = VisitorPush(connections, pusher).push("t1", "wc1", "anon:1", "message", {"id": "out_1"})
    assert pushed == 2 and sorted(c for c, _ in pusher.sent) == ["a", "b"]
    assert pusher.sent[0][1] == {"type": "message", "data": {"id": "out_1"}}
    assert "gone" not in connections.open and "c" in connections.open


def test_outbound_views_render_every_form_the_widget_has_and_refuse_the_rest() -> None:
    def request(content: dict[str, Any]) -> OutboundRequest:
        return OutboundRequest.model_validate({"request_id": "r1", "tenant_id": "t1", "channel_id": "wc1",
                                               "contact_key": "anon:1", "to": "anon:1", "content": content})
    listing = {"type": "list", "body": "Elige", "button": "Ver", "sections": [
        {"title": "A", "rows": [{"id": "r1", "title": "Uno"}]}, {"rows": [{"id": "r2", "title": "Dos"}]}]}
    assert outbound_view(request(listing), at=NOW)["buttons"] == [{"id": "r1", "title": "Uno"},
                                                                  {"id": "r2", "title": "Dos"}]
    image = outbound_view(request({"type": "image", "link": "https://cdn.example/a.png", "caption": "Mirá"}), at=NOW)
    assert image["media"]["url"] == "https://cdn.example/a.png" and image["text"] == "Mirá"
    for content in ({"type": "image", "media_id": "123"}, {"type": "reaction", "message_id": "m", "emoji": "👍"}):
        with pytest.raises(UnsupportedOnChannel):
            outbound_view(request(content), at=NOW)
    assert item_view({"direction": "out", "status": "accepted", "content": "{not json", "message_id": "x"}) is None
