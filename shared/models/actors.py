"""Actor strings (who did something: `user:<id>`, `key:<id>`, `bot:<id>`, `workflow:<execution>`, `system`), kept
in a module of their own so that light consumers (usage metering) need not import the event models."""

from __future__ import annotations


def closed_by_kind(closed_by: str) -> str:
    """Who closed a conversation (`ConversationClosed.closed_by`): the bot, a person (an agent, or an API key on
    someone's behalf) or the platform."""
    if closed_by.startswith(("user:", "key:")):
        return "agent"
    if closed_by.startswith("bot"):
        return "bot"
    return "system"
