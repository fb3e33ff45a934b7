"""BotRuntime: bot per channel, burst coalescing, dedup, one turn at a time, pause, handoff, timeouts, add-ons."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.errors import NotYetKnown
from shared.models.events import (
    BotFlowRequested,
    BotSessionEnded,
    BotTimeoutCheck,
    ConversationClosed,
    HandoffRequested,
)
from shared.models.tenancy import Plan
from shared.services.addons import Described, Transcript, TranscriptionFailed
from shared.services.bot_runtime import IN_FLIGHT_GRACE_MS, Addons
from shared.services.generative import TokenUsage
from tests.unit.fakes_bots import RuntimeRig


def settle(rig: RuntimeRig, *events: object) -> list[str]:
    """Deliver events like SQS does: a record raising NotYetKnown comes back after its delay."""
    outcomes = []
    queue = list(events)
    for _ in range(50):
        if not queue:
            break
        retry = []
        for event in queue:
            try:
                outcomes.append(rig.runtime.on_message(event).kind)  # type: ignore[arg-type]
            except NotYetKnown as exc:
                retry.append((event, exc.delay_s or 1))
        if retry:
            rig.clock.advance(seconds=max(d for _, d in retry))
        queue = [e for e, _ in retry]
    return outcomes


def test_first_message_gets_the_menu_after_the_burst_window() -> None:
    rig = RuntimeRig()
    event = rig.event("hola")
    with pytest.raises(NotYetKnown) as waiting:
        rig.runtime.on_message(event)
    assert waiting.value.delay_s == 2 and rig.outbound.requests == []
    rig.clock.advance(seconds=2)
    assert rig.runtime.on_message(event).kind == "turn"
    [menu] = rig.texts()
    assert "¿En qué te puedo ayudar?" in menu
    request = rig.outbound.requests[0]
    assert request.to == "5491122223333" and request.origin == "bot:banco-demo"


def test_a_burst_typed_in_fragments_gets_one_answer_in_order() -> None:
    rig = RuntimeRig()
    first, second, third = rig.event("hola"), rig.event("quiero pedir"), rig.event("un préstamo")
    outcomes = settle(rig, first, second, third)
    assert outcomes.count("turn") == 1 and outcomes.count("already_answered") == 2
    assert len(rig.texts()) == 1 and "DNI" in rig.texts()[0]  # "hola quiero pedir un préstamo" -> crédito


def test_a_burst_waits_for_a_stored_message_that_has_not_reached_the_bot_yet() -> None:
    # given "hola", then "un préstamo" stored by the inbound processor but still on its way to the bot
    rig = RuntimeRig(window_s=1)
    first, late = rig.event("hola"), rig.event("quiero un préstamo")
    with pytest.raises(NotYetKnown):
        rig.runtime.on_message(first)
    rig.clock.advance(seconds=2)  # the quiet window of the messages the bot has seen is over
    # when the first message comes back, the turn waits for the later one
    with pytest.raises(NotYetKnown) as waiting:
        rig.runtime.on_message(first)
    assert "on its way" in str(waiting.value) and rig.outbound.requests == []
    # then, once it arrives, both are answered together, once
    assert settle(rig, late, first).count("turn") == 1
    assert len(rig.texts()) == 1 and "DNI" in rig.texts()[0]


def test_a_later_message_that_never_arrives_delays_the_turn_only_up_to_the_grace() -> None:
    rig = RuntimeRig(window_s=1)
    first = rig.event("hola")
    rig.event("perdido")  # stored, but its event never comes
    with pytest.raises(NotYetKnown):
        rig.runtime.on_message(first)
    rig.clock.advance(seconds=3 + IN_FLIGHT_GRACE_MS / 1000 - 0.5)  # inside the cap plus the grace: still waiting
    with pytest.raises(NotYetKnown):
        rig.runtime.on_message(first)
    rig.clock.advance(seconds=1)
    assert rig.runtime.on_message(first).kind == "turn"
    assert "¿En qué te puedo ayudar?" in rig.texts()[0]


def test_only_unanswered_messages_of_this_conversation_that_take_a_turn_hold_the_burst() -> None:
    # a reaction stored after the text does not hold it
    rig = RuntimeRig(window_s=1)
    text = rig.event("hola")
    rig.event(None, message_type="reaction")
    with pytest.raises(NotYetKnown):
        rig.runtime.on_message(text)
    rig.clock.advance(seconds=2)
    assert rig.runtime.on_message(text).kind == "turn"
    # nor a newest message already answered (Meta's timestamps put the answered one last)
    answered = rig.event("hola de nuevo")
    rig.clock.advance(seconds=2)
    assert settle(rig, answered) == ["turn"]
    follow = rig.event("quiero un préstamo")
    rig.threads.store(answered)
    with pytest.raises(NotYetKnown):
        rig.runtime.on_message(follow)
    rig.clock.advance(seconds=2)
    assert rig.runtime.on_message(follow).kind == "turn"
    # nor one of another (newer) conversation of the contact
    rig3 = RuntimeRig(window_s=1)
    old = rig3.event("hola", conversation_id="cv_old")
    rig3.event("hola otra vez", conversation_id="cv_new")
    with pytest.raises(NotYetKnown):
        rig3.runtime.on_message(old)
    rig3.clock.advance(seconds=2)
    assert rig3.runtime.on_message(old).kind == "turn"


def test_the_window_is_bounded_by_the_platform_cap() -> None:
    rig = RuntimeRig(window_s=0)
    assert rig.runtime.on_message(rig.event("hola")).kind == "turn"


def test_a_chatty_customer_is_answered_within_three_windows() -> None:
    rig = RuntimeRig(window_s=2)
    events = []
    for _ in range(4):  # a message every 1.5 s keeps extending the burst...
        event = rig.event("hola")
        events.append(event)
        with pytest.raises(NotYetKnown):
            rig.runtime.on_message(event)
        rig.clock.advance(seconds=1.5)
    # ...but the first message's retry at t=6 s (3 windows after the burst began) runs the turn
    assert rig.runtime.on_message(events[0]).kind == "turn"
    assert len(rig.texts()) == 1


def test_redelivered_events_never_answer_twice() -> None:
    rig = RuntimeRig(window_s=0)
    event = rig.event("hola")
    assert rig.runtime.on_message(event).kind == "turn"
    assert rig.runtime.on_message(event).kind == "already_answered"
    assert len(rig.outbound.requests) == 1


def test_turns_of_one_conversation_never_overlap() -> None:
    rig = RuntimeRig(window_s=0)
    rig.sessions.acquire("demo", "cv_1", now_ms=int(rig.clock.peek().timestamp() * 1000), lease_ms=60_000)
    with pytest.raises(NotYetKnown, match="another turn"):
        rig.runtime.on_message(rig.event("hola"))


def test_a_retried_turn_sends_the_same_request_ids() -> None:
    """If the commit fails after the replies were queued, the retry derives the same ids (FIFO dedup)."""
    rig = RuntimeRig(window_s=0)
    event = rig.event("hola")
    original = rig.sessions.commit

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("DynamoDB unavailable")

    rig.sessions.commit = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        rig.runtime.on_message(event)
    rig.sessions.commit = original  # type: ignore[method-assign]
    assert rig.runtime.on_message(event).kind == "turn"
    ids = [r.request_id for r in rig.outbound.requests]
    assert len(ids) == 1  # the second enqueue had the same id and was deduplicated


def test_no_bot_bound_falls_back_to_the_channel_auto_reply() -> None:
    rig = RuntimeRig(window_s=0)
    rig.registry.deactivate("demo", "banco-demo")
    assert rig.runtime.on_message(rig.event("hola")).kind == "auto_reply"
    assert rig.texts() == ["Hola (respuesta fija)"]


def test_reactions_and_unknown_types_are_not_turns() -> None:
    rig = RuntimeRig(window_s=0)
    assert rig.runtime.on_message(rig.event(None, message_type="reaction")).kind == "skipped"
    assert rig.outbound.requests == []


def test_paused_bot_stays_silent_and_resumes() -> None:
    rig = RuntimeRig(window_s=0)
    rig.sessions.set_paused("demo", "cv_1", "api")
    assert rig.runtime.on_message(rig.event("hola")).kind == "paused"
    assert rig.outbound.requests == []
    rig.sessions.set_paused("demo", "cv_1", None)
    assert rig.runtime.on_message(rig.event("hola")).kind == "turn"
    assert len(rig.outbound.requests) == 1


def test_handoff_publishes_the_request_pauses_the_bot_and_records_the_session() -> None:
    rig = RuntimeRig(window_s=0)
    rig.runtime.on_message(rig.event("hola"))
    rig.runtime.on_message(rig.event("quiero hablar con un asesor"))
    [handoff] = rig.events.of_type(HandoffRequested)
    assert handoff.team == "atencion" and handoff.conversation_id == "cv_1" and handoff.contact_id == "ct_1"
    [ended] = rig.events.of_type(BotSessionEnded)
    assert ended.reason == "handoff" and ended.turns == 2
    assert rig.sessions.get("demo", "cv_1").paused == "handoff"  # type: ignore[union-attr]
    assert rig.runtime.on_message(rig.event("hola?")).kind == "paused"
    assert any(r["kind"] == "session" and r["reason"] == "handoff" for r in rig.sessions.records)


def test_idle_session_ends_with_timeout_and_says_so() -> None:
    rig = RuntimeRig(window_s=0)
    rig.runtime.on_message(rig.event("hola"))
    [(check, delay)] = rig.scheduler.checks
    assert delay == 900 and check.turn == 1
    assert rig.runtime.on_timeout_check(check).kind == "timeout_rescheduled"  # too early
    rig.clock.advance(seconds=901)
    outcome = rig.runtime.on_timeout_check(check)
    assert outcome.kind == "timeout" and outcome.replies == 1
    assert "inactividad" in rig.texts()[-1]
    [ended] = rig.events.of_type(BotSessionEnded)
    assert ended.reason == "timeout"
    # the next message starts a new session at the main menu
    rig.runtime.on_message(rig.event("hola"))
    assert "¿En qué te puedo ayudar?" in rig.texts()[-1]


def test_a_stale_timeout_check_does_nothing() -> None:
    rig = RuntimeRig(window_s=0)
    rig.runtime.on_message(rig.event("hola"))
    rig.runtime.on_message(rig.event("1"))
    rig.clock.advance(seconds=901)
    first_check = rig.scheduler.checks[0][0]
    assert rig.runtime.on_timeout_check(first_check).kind == "timeout_stale"


def test_a_message_after_the_timeout_starts_over_and_records_the_timeout() -> None:
    rig = RuntimeRig(window_s=0)
    rig.runtime.on_message(rig.event("hola"))
    rig.runtime.on_message(rig.event("1"))  # waiting for the DNI
    rig.clock.advance(timedelta(hours=1))
    rig.runtime.on_message(rig.event("hola"))
    assert "¿En qué te puedo ayudar?" in rig.texts()[-1]
    assert [e.reason for e in rig.events.of_type(BotSessionEnded)] == ["timeout"]


def test_conversation_closed_by_an_agent_ends_the_session_as_closed() -> None:
    rig = RuntimeRig(window_s=0)
    rig.runtime.on_message(rig.event("hola"))
    closed = ConversationClosed(tenant_id="demo", channel_id="wa", conversation_id="cv_1", contact_id="ct_1",
                                closed_at="2026-11-21T12:00:00Z", closed_by="user:ag_1")
    assert rig.runtime.on_conversation_closed(closed).kind == "closed"
    assert [e.reason for e in rig.events.of_type(BotSessionEnded)] == ["closed"]


def test_a_close_node_closes_the_conversation() -> None:
    rig = RuntimeRig(window_s=0)
    rig.runtime.on_message(rig.event("hola"))
    rig.runtime.on_message(rig.event("chau, gracias"))
    assert rig.closer.closed == [("demo", "cv_1", "bot:banco-demo")]
    assert rig.events.of_type(BotSessionEnded)[0].reason == "solved"


def test_interactive_reply_ids_pick_menu_options() -> None:
    rig = RuntimeRig(window_s=0)
    rig.runtime.on_message(rig.event("hola"))
    rig.runtime.on_message(rig.event("Tarjeta de crédito", message_type="interactive", reply_id="tarjeta"))
    assert "Pidamos tu tarjeta" in rig.texts()[-1]


class Voice:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, str, str]] = []

    def transcribe(self, s3_key: str, mime_type: str, language_code: str) -> Transcript:
        self.calls.append((s3_key, mime_type, language_code))
        if self.fail:
            raise TranscriptionFailed("job failed")
        return Transcript(text="quiero hacer un reclamo", seconds=4.0)


class Eyes:
    def describe(self, image: bytes, mime_type: str, prompt: str) -> Described:
        return Described(text="Foto de un DNI argentino", usage=TokenUsage(input_tokens=800, output_tokens=20))


class Blobs:
    def get(self, key: str) -> bytes | None:
        return b"\xff\xd8jpeg"


def _media_key(tenant: str, channel: str, message_id: str, mime: str | None) -> str:
    return f"media/{tenant}/{channel}/{message_id}"


def test_voice_notes_are_transcribed_and_counted_when_the_plan_has_voice2text() -> None:
    voice = Voice()
    rig = RuntimeRig(window_s=0, plan=Plan(voice2text=True),
                     addons=Addons(transcriber=voice, blobs=Blobs(), media_key=_media_key))
    rig.runtime.on_message(rig.event(None, message_type="audio",
                                     media={"id": "m1", "mime_type": "audio/ogg; codecs=opus"}))
    assert "DNI" in rig.texts()[-1]  # "quiero hacer un reclamo" -> reclamos asks for the DNI
    assert voice.calls[0][2] == "es-US"
    assert [r["usage"] for r in rig.sessions.records if r["kind"] == "usage"] == ["voice"]


def test_voice_notes_are_not_transcribed_without_the_add_on() -> None:
    voice = Voice()
    rig = RuntimeRig(window_s=0, plan=Plan(voice2text=False),
                     addons=Addons(transcriber=voice, blobs=Blobs(), media_key=_media_key))
    rig.runtime.on_message(rig.event(None, message_type="audio", media={"id": "m1", "mime_type": "audio/ogg"}))
    assert voice.calls == []
    assert "¿En qué te puedo ayudar?" in rig.texts()[-1]


def test_images_are_described_for_the_bot_when_the_plan_has_imagebot() -> None:
    rig = RuntimeRig(window_s=0, plan=Plan(imagebot=True),
                     addons=Addons(describer=Eyes(), blobs=Blobs(), media_key=_media_key))
    rig.runtime.on_message(rig.event("hola"))
    rig.runtime.on_message(rig.event("2"))
    for answer in ("30123456", "Lucía Fernández", "15/03/1990", "850000", "5"):
        rig.runtime.on_message(rig.event(answer))
    rig.runtime.on_message(rig.event(None, message_type="image", media={"id": "m9", "mime_type": "image/jpeg"}))
    state = rig.sessions.get("demo", "cv_1").state  # type: ignore[union-attr]
    assert state["vars"]["foto_dni"]["description"] == "Foto de un DNI argentino"
    assert state["vars"]["foto_dni"]["s3_key"].startswith("media/demo/wa/")
    usage = [r for r in rig.sessions.records if r["kind"] == "usage"]
    assert usage and usage[0]["usage"] == "image" and usage[0]["input_tokens"] == 800


def test_a_failed_transcription_still_answers() -> None:
    rig = RuntimeRig(window_s=0, plan=Plan(voice2text=True),
                     addons=Addons(transcriber=Voice(fail=True), blobs=Blobs(), media_key=_media_key))
    assert rig.runtime.on_message(rig.event(None, message_type="audio", media={"id": "m1"})).kind == "turn"
    assert rig.texts()  # the main menu rather than silence


def test_timeout_check_for_unknown_conversation_is_stale() -> None:
    rig = RuntimeRig(window_s=0)
    check = BotTimeoutCheck(tenant_id="demo", channel_id="wa", conversation_id="cv_x", session_id="bs", turn=1)
    assert rig.runtime.on_timeout_check(check).kind == "timeout_stale"


class NoBlobs:
    def get(self, key: str) -> bytes | None:
        return None


def test_a_voice_note_waits_for_the_media_fetcher() -> None:
    voice = Voice()
    rig = RuntimeRig(window_s=0, plan=Plan(voice2text=True),
                     addons=Addons(transcriber=voice, blobs=NoBlobs(), media_key=_media_key))
    with pytest.raises(NotYetKnown, match="not in S3 yet"):
        rig.runtime.on_message(rig.event(None, message_type="audio", media={"id": "m1", "mime_type": "audio/ogg"}))
    assert voice.calls == [] and rig.outbound.requests == []
    assert rig.sessions.get("demo", "cv_1").state is None  # type: ignore[union-attr]  # nothing committed


def test_a_reply_a_workflow_question_waits_for_is_left_to_the_workflow() -> None:
    rig = RuntimeRig()
    waiting = {("demo", "wa")}
    rig.runtime._workflow_waits = lambda tenant, channel, key: (tenant, channel) in waiting  # noqa: SLF001
    assert rig.runtime.on_message(rig.event("5")).kind == "workflow_answer"
    assert rig.outbound.requests == []
    waiting.clear()  # answered: the bot talks again
    with pytest.raises(NotYetKnown):
        rig.runtime.on_message(rig.event("hola"))


def flow_request(flow: str = "credito", request_id: str = "wf:wx_1:2") -> BotFlowRequested:
    return BotFlowRequested(tenant_id="demo", channel_id="wa", conversation_id="cv_1", contact_id="ct_1",
                            contact_key="5491122223333", reply_to_address="5491122223333", flow=flow,
                            request_id=request_id, requested_by="workflow:wx_1")


def test_a_workflow_starts_a_flow_the_bot_speaks_first_and_a_redelivery_changes_nothing() -> None:
    rig = RuntimeRig(window_s=0)
    rig.runtime.on_message(rig.event("hola"))  # a session at the main menu
    rig.sessions.set_paused("demo", "cv_1", "workflow")
    outcome = rig.runtime.on_flow_requested(flow_request())
    assert outcome.kind == "turn" and outcome.replies == 1
    assert "DNI" in rig.texts()[-1]  # the credit flow's first question, without a message from the customer
    assert rig.outbound.requests[-1].to == "5491122223333"
    [ended] = rig.events.of_type(BotSessionEnded)
    assert ended.reason == "restarted" and ended.turns == 1
    assert rig.sessions.get("demo", "cv_1").paused is None  # type: ignore[union-attr]
    # the customer's answer continues the flow the workflow started
    rig.runtime.on_message(rig.event("30123456"))
    assert "DNI" not in rig.texts()[-1]
    # a handoff since, then the same request again: nothing is sent and the pause stays
    rig.sessions.set_paused("demo", "cv_1", "handoff")
    sent = len(rig.outbound.requests)
    assert rig.runtime.on_flow_requested(flow_request()).kind == "already_answered"
    assert len(rig.outbound.requests) == sent and rig.sessions.get("demo", "cv_1").paused == "handoff"  # type: ignore[union-attr]


def test_a_flow_request_waits_for_a_running_turn_and_needs_a_bot() -> None:
    rig = RuntimeRig(window_s=0)
    snapshot = rig.sessions.acquire("demo", "cv_1", now_ms=int(rig.clock.peek().timestamp() * 1000), lease_ms=60_000)
    assert snapshot is not None
    with pytest.raises(NotYetKnown):
        rig.runtime.on_flow_requested(flow_request())
    rig.sessions.release("demo", "cv_1", snapshot)
    assert rig.runtime.on_flow_requested(flow_request()).kind == "turn"
    other = BotFlowRequested(**{**flow_request().model_dump(), "channel_id": "otro"})
    assert rig.runtime.on_flow_requested(other).kind == "channel_not_found"
