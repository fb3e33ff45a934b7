"""Actor strings (who did something: `user:<id>`, `key:<id>`, `bot:<id>`, `workflow:<execution>`, `system`), kept
in a module of their own so that light consumers (usage metering) need not import the event models."""

from __future__ import annotations

DESK_PREFIX = "desk:"  # an external contact center holding a campaign's conversations: desk:<campaign>


def closed_by_kind(closed_by: str) -> str:
    """Who closed a conversation (`ConversationClosed.closed_by`): the bot, a person (an agent, or an API key on
    someone's behalf) or the platform."""
    if closed_by.startswith(("user:", "key:")):
        return "agent"
    if closed_by.startswith("bot"):
        return "bot"
    return "system"


def origin_kind(origin: str) -> str:
    """Who wrote an outbound message: agent (a person in the console), api (an integrator's key), bot, automation
    (workflows, platform messages such as queue positions) or broadcast."""
    if origin.startswith("user:"):
        return "agent"
    if origin.startswith("key:"):
        return "api"
    if origin.startswith("bot:") or origin == "auto_reply":
        return "bot"
    if origin.startswith("broadcast:"):
        return "broadcast"
    return "automation"


def user_of(origin: str) -> str | None:
    """The user id of a person's actor string (`user:<id>`), else None."""
    return origin[5:] if origin.startswith("user:") else None


def person(assignee: object) -> str | None:
    """The agent (user id) an assignee names; None for none or an external desk (`desk:<campaign>`)."""
    text = str(assignee or "")
    return text if text and not text.startswith(DESK_PREFIX) else None
