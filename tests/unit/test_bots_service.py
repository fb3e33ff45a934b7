"""BotService over in-memory stores: versions, activation, conflicts and clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import Conflict, InvalidInput, NotFound
from shared.ports import BotVersion, VersionTaken
from shared.services.bots import BotService, BotUpload
from tests.unit.fakes_bots import InMemoryBotRegistry, InMemorySessions
from tests.unit.fakes_crm import FakeClock

BOT = """
id: eco
name: Eco
channels: ["*"]
start: main
flows:
  main:
    start: fin
    nodes:
      fin: {type: close, text: "Chau"}
"""


class Conversations:
    def get(self, tenant_id: str, conversation_id: str) -> Any:
        if conversation_id != "cv_1":
            raise NotFound("no conversation")
        return object()


def service(registry: InMemoryBotRegistry | None = None) -> BotService:
    return BotService(registry=registry or InMemoryBotRegistry(), sessions=InMemorySessions(),
                      conversations=Conversations(), clock=FakeClock())


def test_upload_creates_versions_and_the_same_text_creates_none() -> None:
    bots = service()
    first = bots.upload("t1", BotUpload(source=BOT), actor="key_1")
    assert (first.version, first.active, first.created_by) == (1, True, "key_1")
    assert bots.upload("t1", BotUpload(source=BOT), actor="key_1").version == 1
    second = bots.upload("t1", BotUpload(source=BOT.replace("Chau", "Adiós")), actor=None)
    assert second.version == 2
    assert [v.version for v in bots.versions("t1", "eco").items] == [2, 1]
    assert bots.get("t1", "eco").active_version == 2
    assert bots.activate("t1", "eco", 1).active_version == 1


def test_invalid_text_is_a_422_listing_lines() -> None:
    with pytest.raises(InvalidInput) as refused:
        service().upload("t1", BotUpload(source=BOT.replace("start: fin", "start: nada")), actor=None)
    assert refused.value.errors == [{"path": "flows.main.start", "line": 8, "column": 5,
                                     "message": "node 'nada' does not exist in flow 'main'"}]


def test_a_concurrent_upload_is_a_conflict() -> None:
    class Racing(InMemoryBotRegistry):
        def put_version(self, version: BotVersion, *, name: str, channels: Any) -> None:
            raise VersionTaken("eco v1")

    with pytest.raises(Conflict, match="at the same time"):
        service(Racing()).upload("t1", BotUpload(source=BOT), actor=None)


def test_two_bots_cannot_answer_one_channel() -> None:
    bots = service()
    bots.upload("t1", BotUpload(source=BOT), actor=None)
    with pytest.raises(Conflict, match="already answered by bot eco"):
        bots.upload("t1", BotUpload(source=BOT.replace("id: eco", "id: otro")), actor=None)
    # another tenant's '*' is its own
    assert service().upload("t2", BotUpload(source=BOT.replace("id: eco", "id: otro")), actor=None).active


def test_a_bot_without_channels_cannot_be_activated() -> None:
    with pytest.raises(InvalidInput, match="binds no channels"):
        service().upload("t1", BotUpload(source=BOT.replace('channels: ["*"]', "channels: []")), actor=None)


def test_unknown_bots_versions_and_conversations_are_404() -> None:
    bots = service()
    with pytest.raises(NotFound):
        bots.get("t1", "eco")
    bots.upload("t1", BotUpload(source=BOT), actor=None)
    with pytest.raises(NotFound):
        bots.activate("t1", "eco", 9)
    with pytest.raises(NotFound):
        bots.session("t1", "cv_other")
    assert bots.pause("t1", "cv_1", "agent").paused == "agent"
    assert bots.resume("t1", "cv_1").paused is None


def test_exactly_one_of_source_or_definition() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        BotUpload(source=BOT, definition={"id": "x"})
