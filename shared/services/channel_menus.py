"""The persistent menu of the bot answering a channel, published where the channel has one.

The bot definition's `menu` (title + where it leads) becomes:
- Messenger and Instagram: the Messenger Profile (`POST /me/messenger_profile`, `platform=instagram` for
  Instagram) with a Get Started button and a persistent menu of postbacks whose payload is "menu:<to>";
- Telegram: the bot's commands (`setMyCommands`, "/mis_deudas") and the menu button listing them
  (`setChatMenuButton`).
The bot engine follows both (shared/services/bot_engine.py, `_menu_item`) from anywhere in a conversation.
WhatsApp has no persistent menu: publishing there is refused with that reason. An empty menu clears it.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel

from shared.errors import InvalidInput, NotFound
from shared.models.bots import MENU_PAYLOAD_PREFIX, BotDefinition, menu_command
from shared.ports import BotRegistry, ChannelDirectory, ProviderSendError

GET_STARTED = "GET_STARTED"


class ProfileClient(Protocol):
    def set_messenger_profile(self, access_token: str, body: dict[str, Any], *, platform: str | None = None
                              ) -> None: ...


class CommandsClient(Protocol):
    def call(self, token: str, method: str, params: dict[str, Any]) -> Any: ...


class MenuPublished(BaseModel):
    channel_id: str
    kind: str
    bot_id: str
    version: int
    items: list[dict[str, str]]


def page_profile(definition: BotDefinition, *, instagram: bool = False) -> dict[str, Any]:
    """The Messenger Profile body: Get Started, and the persistent menu (or none, which removes it). Instagram
    has no `composer_input_disabled`."""
    actions = [{"type": "postback", "title": item.title, "payload": f"{MENU_PAYLOAD_PREFIX}{item.to}"}
               for item in definition.menu]
    menu: dict[str, Any] = {"locale": "default", "call_to_actions": actions}
    if not instagram:
        menu["composer_input_disabled"] = False
    return {"get_started": {"payload": GET_STARTED}, "persistent_menu": [menu] if actions else []}


def telegram_commands(definition: BotDefinition) -> list[dict[str, str]]:
    """setMyCommands' list: one command per menu item (descriptions are 1-256 characters)."""
    seen: set[str] = set()
    commands = []
    for item in definition.menu:
        command = menu_command(item)
        if command in seen:
            raise InvalidInput(f"two menu items give the Telegram command /{command}: set `command` on one")
        seen.add(command)
        commands.append({"command": command, "description": item.title})
    return commands


class ChannelMenuService:
    def __init__(self, *, registry: BotRegistry, directory: ChannelDirectory, pages: ProfileClient,
                 telegram: CommandsClient) -> None:
        self._registry = registry
        self._directory = directory
        self._pages = pages
        self._telegram = telegram

    def publish(self, tenant_id: str, channel_id: str) -> MenuPublished:
        channel = self._directory.get_channel(channel_id)
        if channel is None or channel.tenant_id != tenant_id:
            raise NotFound(f"no channel {channel_id}")
        if channel.kind not in ("messenger", "instagram", "telegram"):
            raise InvalidInput(f"{channel.kind} channels have no persistent menu")
        active = self._registry.bot_for_channel(tenant_id, channel_id)
        if active is None:
            raise InvalidInput(f"no active bot answers channel {channel_id}: activate one first")
        bot_id, version = active
        stored = self._registry.get_version(tenant_id, bot_id, version)
        if stored is None:
            raise NotFound(f"bot {bot_id} has no version {version}")
        from shared.services.bot_loader import load_version

        definition = load_version(stored)
        token = self._directory.get_secrets(channel).access_token.get_secret_value()
        try:
            if channel.kind == "telegram":
                commands = telegram_commands(definition)
                self._telegram.call(token, "setMyCommands", {"commands": commands})
                self._telegram.call(token, "setChatMenuButton",
                                    {"menu_button": {"type": "commands" if commands else "default"}})
            else:
                self._pages.set_messenger_profile(token, page_profile(definition,
                                                                      instagram=channel.kind == "instagram"),
                                                  platform="instagram" if channel.kind == "instagram" else None)
        except ProviderSendError as exc:
            raise InvalidInput(f"{channel.kind} refused the menu: {exc.title or exc}") from exc
        return MenuPublished(channel_id=channel_id, kind=channel.kind, bot_id=bot_id, version=version,
                             items=[{"title": i.title, "to": i.to, "command": menu_command(i)}
                                    for i in definition.menu])
