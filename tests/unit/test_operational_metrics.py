"""The operations metrics the dashboard and alarms read (infra/constructs/observability.py), as the handlers emit
them: EMF read back from stdout, with the names, units and dimensions CloudWatch would index."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from shared.errors import SignatureInvalid
from shared.models.events import ConversationAssigned, ConversationQueued
from shared.observability import logger, metrics
from shared.services.bot_runtime import BotOutcome
from shared.services.broadcast_sender import BucketResult
from shared.services.inbound import InboundOutcome
from shared.services.ingest import IngestOutcome
from shared.services.outbound import SendOutcome
from tests.unit.emf import Emitted, named


class Context:
    function_name = "fn"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


@pytest.fixture(autouse=True)
def _service_name(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As in Lambda (POWERTOOLS_SERVICE_NAME): every metric has the `service` dimension, and per-metric ones come on
    top of it (single_metric reads the variable per call; the shared Metrics read it at import)."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "fn")
    monkeypatch.setattr(metrics, "service", "fn")
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def only(found: list[Emitted]) -> Emitted:
    assert len(found) == 1, found
    return found[0]


def sqs_event(*bodies: str, sent_ms: int | None = None) -> dict[str, Any]:
    attributes = {"ApproximateReceiveCount": "1", "MessageGroupId": "g", "MessageDeduplicationId": "d"}
    if sent_ms is not None:
        attributes["SentTimestamp"] = str(sent_ms)
    return {"Records": [{"messageId": f"m{i}", "receiptHandle": f"rh{i}", "body": body, "attributes": attributes,
                         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo", "awsRegion": "us-east-1"}
                        for i, body in enumerate(bodies)]}


# -- webhooks: every delivery counted by channel kind, every bad signature too ---------------------------------------

class RefusingIngest:
    """Every provider's delivery has a bad signature."""

    def _refuse(self, *args: Any) -> IngestOutcome:
        raise SignatureInvalid("bad signature")

    receive = receive_page = receive_sms = receive_telegram = _refuse


class AcceptingIngest:
    def _accept(self, *args: Any) -> IngestOutcome:
        return IngestOutcome(tenant_id="acme", enqueued=1)

    receive = receive_page = receive_sms = receive_telegram = _accept


def webhook_event(load_event: Callable[..., Any], kind: str) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(load_event("apigw/post_messenger_text.json" if kind == "instagram"
                                     else "apigw/post_sms_text.json" if kind == "sms" else "apigw/post_text.json"))
    path = f"/webhooks/{kind}/demo-{kind}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = f"POST /webhooks/{kind}/{{channel_id}}"
    return event


WEBHOOKS = [("functions.whatsapp_webhook.handler", "whatsapp"), ("functions.page_webhook.handler", "messenger"),
            ("functions.page_webhook.handler", "instagram"), ("functions.telegram_webhook.handler", "telegram"),
            ("functions.sms_webhook.handler", "sms")]


def handler_module(path: str) -> ModuleType:
    import importlib

    return importlib.import_module(path)


@pytest.mark.parametrize(("module", "kind"), WEBHOOKS)
def test_a_bad_signature_is_counted_with_its_channel_kind(
        module: str, kind: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        load_event: Callable[..., Any]) -> None:
    handler = handler_module(module)
    monkeypatch.setattr(handler, "get_service", lambda: RefusingIngest())

    response = handler.lambda_handler(webhook_event(load_event, kind), Context())

    assert response["statusCode"] == 401
    out = capsys.readouterr().out
    for name in ("WebhookReceived", "WebhookSignatureRejected"):
        metric = only(named(out, name))
        assert (metric.unit, metric.values) == ("Count", (1.0,))
        assert metric.dimensions == {"channel": kind, "service": "fn"}


@pytest.mark.parametrize(("module", "kind"), WEBHOOKS)
def test_an_accepted_delivery_is_counted_and_no_signature_failure(
        module: str, kind: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        load_event: Callable[..., Any]) -> None:
    handler = handler_module(module)
    monkeypatch.setattr(handler, "get_service", lambda: AcceptingIngest())

    response = handler.lambda_handler(webhook_event(load_event, kind), Context())

    assert response["statusCode"] == 200
    out = capsys.readouterr().out
    assert only(named(out, "WebhookReceived")).dimensions == {"channel": kind, "service": "fn"}
    assert named(out, "WebhookSignatureRejected") == []


def test_a_refused_page_delivery_on_an_unknown_path_never_makes_a_dimension_of_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    from functions.page_webhook import handler
    from shared.http import webhooks

    app = APIGatewayHttpResolver()
    app.current_event = type("E", (), {"path": "/webhooks/+15551234567/x"})()
    monkeypatch.setattr(handler, "app", app)

    webhooks.refused(SignatureInvalid("bad"), "Meta", handler._path_kind())

    assert only(named(capsys.readouterr().out, "WebhookSignatureRejected")).dimensions["channel"] == "unknown"


def test_an_ses_notification_is_counted_once_as_an_email_delivery(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from functions.email_processor import handler
    from shared.services.email_channel import EmailOutcome

    monkeypatch.setattr(handler, "get_service", lambda: type("S", (), {
        "receive": lambda self, notification: EmailOutcome("enqueued", units=1, channels=["em1"])})())
    retried = sqs_event("{}")
    retried["Records"][0]["attributes"]["ApproximateReceiveCount"] = "2"

    handler.lambda_handler(sqs_event("{}"), Context())
    handler.lambda_handler(retried, Context())  # our own retry, not another delivery

    assert only(named(capsys.readouterr().out, "WebhookReceived")).dimensions == {"channel": "email", "service": "fn"}


def test_a_visitor_message_is_counted_as_a_webchat_delivery(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], load_event: Callable[..., Any]) -> None:
    from functions.webchat_api import handler

    monkeypatch.setattr(handler, "get_service", lambda: type("S", (), {
        "post_message": lambda self, channel_id, token, data, origin: {"status": "accepted"}})())
    event = webhook_event(load_event, "webchat")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/webchat/wc1/messages"
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /webchat/{channel_id}/messages"
    event["headers"] = {"content-type": "application/json", "authorization": "Bearer t"}
    event["body"] = json.dumps({"client_message_id": "c-12345678", "text": "hola"})

    assert handler.lambda_handler(event, Context())["statusCode"] == 202
    assert only(named(capsys.readouterr().out, "WebhookReceived")).dimensions == {"channel": "webchat",
                                                                                  "service": "fn"}


# -- inbound: ingest-to-processed lag ----------------------------------------------------------------------------------

def inbound_body() -> str:
    return json.dumps({"tenant_id": "acme", "channel_id": "ch1", "kind": "message", "phone_number_id": "pn",
                       "payload": {}, "received_at_ms": 0})


def test_inbound_processor_records_the_lag_from_the_records_sent_timestamp(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from functions.inbound_processor import handler

    class Stores:
        def process(self, unit: Any, attempt: int) -> InboundOutcome:
            return InboundOutcome("stored")

    monkeypatch.setattr(handler, "get_service", lambda: Stores())
    sent_ms = int(time.time() * 1000) - 4_000

    result = handler.lambda_handler(sqs_event(inbound_body(), sent_ms=sent_ms), Context())

    assert result == {"batchItemFailures": []}
    lag = only(named(capsys.readouterr().out, "IngestLag"))
    assert lag.unit == "Milliseconds"
    assert 4_000 <= lag.values[0] < 64_000
    assert lag.dimensions == {"service": "fn"}  # the alarm's p95 reads the plain metric


def test_a_record_without_a_sent_timestamp_is_processed_without_a_lag(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from functions.inbound_processor import handler

    monkeypatch.setattr(handler, "get_service", lambda: type("S", (), {
        "process": lambda self, unit, attempt: InboundOutcome("stored")})())

    assert handler.lambda_handler(sqs_event(inbound_body()), Context()) == {"batchItemFailures": []}
    assert named(capsys.readouterr().out, "IngestLag") == []


# -- outbound: failures by the provider's error code -------------------------------------------------------------------

def outbound_body() -> str:
    return json.dumps({"request_id": "r1", "tenant_id": "acme", "channel_id": "ch1", "contact_key": "k",
                       "to": "k", "content": {"type": "text", "body": "hola"}})


@pytest.mark.parametrize(("code", "dimension"), [(131026, "131026"), (None, "none")])
def test_a_failed_send_is_counted_plain_and_by_error_code(
        code: int | None, dimension: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from functions.outbound_sender import handler

    monkeypatch.setattr(handler, "get_service", lambda: type("S", (), {
        "send": lambda self, request, attempt: SendOutcome("failed", reason="Message undeliverable", code=code)})())

    handler.lambda_handler(sqs_event(outbound_body(), sent_ms=0), Context())

    failed = named(capsys.readouterr().out, "SendFailed")
    assert {tuple(sorted(m.dimensions)) for m in failed} == {("service",), ("error_code", "service")}
    by_code = only([m for m in failed if "error_code" in m.dimensions])
    assert (by_code.unit, by_code.values, by_code.dimensions["error_code"]) == ("Count", (1.0,), dimension)


def test_a_failure_log_never_carries_the_recipients_number(monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    from functions.outbound_sender import handler

    twilio = "The 'To' number +15551234567 is not a valid phone number."
    monkeypatch.setattr(handler, "get_service", lambda: type("S", (), {
        "send": lambda self, request, attempt: SendOutcome("failed", reason=twilio, code=21211)})())

    handler.lambda_handler(sqs_event(outbound_body(), sent_ms=0), Context())

    [record] = [r for r in caplog.records if r.getMessage() == "message not sent"]
    line = logger.registered_formatter.format(record)  # the JSON line CloudWatch Logs gets
    log = json.loads(line)
    assert (log["tenant_id"], log["channel_id"], log["code"]) == ("acme", "ch1", 21211)
    assert log["reason"] == "The 'To' number [PHONE_1] is not a valid phone number."
    assert "5551234567" not in line


def test_a_refused_send_is_not_a_failure_by_code(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from functions.outbound_sender import handler

    monkeypatch.setattr(handler, "get_service", lambda: type("S", (), {
        "send": lambda self, request, attempt: SendOutcome("refused", reason="window_closed")})())

    handler.lambda_handler(sqs_event(outbound_body(), sent_ms=0), Context())

    out = capsys.readouterr().out
    assert named(out, "SendFailed") == []
    assert only(named(out, "SendRefused")).values == (1.0,)


# -- bot turns: latency by generation ----------------------------------------------------------------------------------

def message_received() -> str:
    detail = {"tenant_id": "acme", "channel_id": "ch1", "message_id": "wamid.1", "contact_key": "k",
              "reply_to_address": "k", "conversation_id": "cv1", "message_type": "text", "sent_at": "2026-03-02"}
    return json.dumps({"detail-type": "MessageReceived", "detail": detail})


def test_a_bot_turn_records_its_latency_by_generation_and_plain(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from functions.bot_turn import handler

    class SlowModel:
        def on_message(self, event: Any) -> BotOutcome:
            time.sleep(0.02)
            return BotOutcome("turn", replies=1, generation="generative")

    monkeypatch.setattr(handler, "get_service", lambda: SlowModel())

    handler.lambda_handler(sqs_event(message_received()), Context())

    latencies = named(capsys.readouterr().out, "BotTurnLatency")
    assert {m.unit for m in latencies} == {"Milliseconds"}
    by_generation = only([m for m in latencies if "generation" in m.dimensions])
    plain = only([m for m in latencies if "generation" not in m.dimensions])
    assert by_generation.dimensions == {"generation": "generative", "service": "fn"}
    assert plain.dimensions == {"service": "fn"}  # the alarm's p95 reads this one
    assert by_generation.values[0] >= 20 and plain.values == by_generation.values


def test_a_coalesced_record_is_not_a_turn_and_has_no_latency(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from functions.bot_turn import handler

    monkeypatch.setattr(handler, "get_service", lambda: type("S", (), {
        "on_message": lambda self, event: BotOutcome("coalesced")})())

    handler.lambda_handler(sqs_event(message_received()), Context())

    assert named(capsys.readouterr().out, "BotTurnLatency") == []


# -- router: assignment wait and service level -------------------------------------------------------------------------

def assigned(wait_s: int, *, reason: str = "queue", kind: str = "agent") -> ConversationAssigned:
    return ConversationAssigned(tenant_id="acme", channel_id="ch1", conversation_id=f"cv{wait_s}", campaign_id="c1",
                                assignee="ana", assignee_kind=kind, reason=reason, wait_s=wait_s)


def test_queue_assignments_record_their_wait_and_whether_they_were_within_the_sla(
        capsys: pytest.CaptureFixture[str]) -> None:
    from functions.router import handler

    sla = handler.ASSIGNMENT_SLA_S
    handler.record_assignments([
        assigned(12), assigned(sla), assigned(sla + 1),
        assigned(500, reason="manual"), assigned(500, kind="desk"),  # not waits in a queue
        ConversationQueued(tenant_id="acme", channel_id="ch1", conversation_id="cv", campaign_id="c1", position=1,
                           reason="handoff"),
    ])
    metrics.flush_metrics()

    out = capsys.readouterr().out
    wait = only(named(out, "AssignmentWait"))
    assert (wait.unit, wait.values) == ("Seconds", (12.0, float(sla), float(sla + 1)))
    assert only(named(out, "AssignedWithinSla")).values == (1.0, 1.0, 0.0)
    assert only(named(out, "AssignedAfterSla")).values == (0.0, 0.0, 1.0)


def test_the_routers_service_reports_what_it_publishes(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.router import handler

    built: list[Any] = []
    monkeypatch.setattr(handler, "get_settings", lambda: "settings")
    monkeypatch.setattr(handler, "routing_service", lambda settings, **kw: built.append((settings, kw)))
    handler.get_service.cache_clear()
    try:
        handler.get_service()
    finally:
        handler.get_service.cache_clear()

    assert built == [("settings", {"published": handler.record_assignments})]


# -- broadcasts: progress per bucket run -------------------------------------------------------------------------------

def test_a_bucket_run_records_recipients_sent_failed_unconfirmed_and_retried_later(
        capsys: pytest.CaptureFixture[str]) -> None:
    from functions.broadcast_worker import handler

    handler.record_bucket(BucketResult(sent=7, failed=2, unconfirmed=1, retry_later=3, skipped=4))
    metrics.flush_metrics()

    out = capsys.readouterr().out
    assert {name: only(named(out, name)).values for name in (
        "BroadcastMessagesSent", "BroadcastMessagesFailed", "BroadcastMessagesUnconfirmed",
        "BroadcastMessagesRetryLater")} == {
        "BroadcastMessagesSent": (7.0,), "BroadcastMessagesFailed": (2.0,), "BroadcastMessagesUnconfirmed": (1.0,),
        "BroadcastMessagesRetryLater": (3.0,)}
    assert {m.unit for m in named(out, "BroadcastMessagesSent")} == {"Count"}


def test_the_broadcast_workers_service_reports_each_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.broadcast_worker import handler

    built: list[Any] = []
    monkeypatch.setattr(handler, "get_settings", lambda: "settings")
    monkeypatch.setattr(handler, "broadcast_service", lambda settings, **kw: built.append((settings, kw)))
    handler.get_service.cache_clear()
    try:
        handler.get_service()
    finally:
        handler.get_service.cache_clear()

    assert built == [("settings", {"on_bucket": handler.record_bucket})]
