"""Publishing the bot's persistent menu: Messenger/Instagram profile, Telegram commands, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from shared.errors import InvalidInput, NotFound
from shared.models.channel import Channel, ChannelSecrets
from shared.ports import BotVersion, ProviderSendError
from shared.services.channel_menus import ChannelMenuService
from tests.unit.fakes_bots import InMemoryBotRegistry

MENU = [{"title": "Mis deudas", "to": "inicio.fin"}, {"title": "Crédito", "to": "inicio", "command": "prestamo"}]


def bot(menu: list[dict[str, Any]]) -> str:
    return json.dumps({"id": "b", "name": "B", "start": "inicio", "channels": ["*"], "menu": menu, "flows": {
        "inicio": {"start": "hola", "nodes": {"hola": {"type": "message", "text": "Hola", "next": "fin"},
                                              "fin": {"type": "close", "text": "Chau"}}}}})


class Directory:
    def __init__(self, *channels: Channel) -> None:
        self.channels = {c.channel_id: c for c in channels}

    def get_channel(self, channel_id: str) -> Channel | None:
        return self.channels.get(channel_id)

    def get_secrets(self, channel: Channel, *, fresh: bool = False) -> ChannelSecrets:
        return ChannelSecrets(app_secret=SecretStr("s"), verify_token=SecretStr("v"),
                              access_token=SecretStr(f"token-{channel.channel_id}"))


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Any]] = []
        self.refuse = False

    def set_messenger_profile(self, access_token: str, body: dict[str, Any], *, platform: str | None = None) -> None:
        if self.refuse:
            raise ProviderSendError(http_status=400, code=100, title="(#100) Invalid menu", details=None)
        self.calls.append((access_token, body, platform))

    def call(self, token: str, method: str, params: dict[str, Any]) -> Any:
        self.calls.append((token, method, params))
        return True


def channel(channel_id: str, kind: str, tenant: str = "t") -> Channel:
    return Channel.model_validate({"tenant_id": tenant, "channel_id": channel_id, "kind": kind,
                                   "phone_number_id": "1234567", "secret_name": "s"})


def service(menu: list[dict[str, Any]] = MENU) -> tuple[ChannelMenuService, Recorder]:
    registry = InMemoryBotRegistry()
    registry.put_version(BotVersion(tenant_id="t", bot_id="b", version=1, source=bot(menu), format="json",
                                    checksum="x", created_at=datetime(2026, 1, 1, tzinfo=UTC)), name="B",
                         channels=["*"])
    registry.activate("t", "b", 1, ["*"])
    recorder = Recorder()
    directory = Directory(channel("fb", "messenger"), channel("ig", "instagram"), channel("tg", "telegram"),
                          channel("wa", "whatsapp"), channel("other", "messenger", tenant="u"))
    return ChannelMenuService(registry=registry, directory=directory, pages=recorder, telegram=recorder), recorder


def test_messenger_gets_get_started_and_a_persistent_menu_of_postbacks() -> None:
    svc, recorder = service()
    published = svc.publish("t", "fb")
    [(token, body, platform)] = recorder.calls
    assert (token, platform) == ("token-fb", None)
    assert body["get_started"] == {"payload": "GET_STARTED"}
    assert body["persistent_menu"][0]["call_to_actions"] == [
        {"type": "postback", "title": "Mis deudas", "payload": "menu:inicio.fin"},
        {"type": "postback", "title": "Crédito", "payload": "menu:inicio"}]
    assert (published.bot_id, published.version, len(published.items)) == ("b", 1, 2)
    svc.publish("t", "ig")
    assert recorder.calls[-1][2] == "instagram"
    assert "composer_input_disabled" not in recorder.calls[-1][1]["persistent_menu"][0]


def test_telegram_gets_commands_and_the_commands_menu_button() -> None:
    svc, recorder = service()
    svc.publish("t", "tg")
    assert recorder.calls == [
        ("token-tg", "setMyCommands", {"commands": [{"command": "mis_deudas", "description": "Mis deudas"},
                                                    {"command": "prestamo", "description": "Crédito"}]}),
        ("token-tg", "setChatMenuButton", {"menu_button": {"type": "commands"}})]


def test_an_empty_menu_clears_it() -> None:
    svc, recorder = service([])
    svc.publish("t", "fb")
    assert recorder.calls[0][1]["persistent_menu"] == []


def test_refusals_name_the_reason_and_other_tenants_channels_do_not_exist() -> None:
    svc, recorder = service()
    with pytest.raises(InvalidInput, match="whatsapp channels have no persistent menu"):
        svc.publish("t", "wa")
    with pytest.raises(NotFound):
        svc.publish("t", "other")
    recorder.refuse = True
    with pytest.raises(InvalidInput, match="Invalid menu"):
        svc.publish("t", "fb")
    svc2, _ = service([{"title": "Saldo", "to": "inicio"}, {"title": "saldo", "to": "inicio.fin"}])
    with pytest.raises(InvalidInput, match="/saldo"):
        svc2.publish("t", "tg")
