"""End to end on moto server + the Graph emulator: webhook -> stored -> reply -> statuses -> stored."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from infra.local.stack import LocalStack
from shared.adapters.dynamodb import DynamoMessageStore
from shared.models.envelopes import OutboundRequest, TemplateContent, TextContent
from shared.services.queue_keys import dedup_id, thread_group_id
from tests.integration.conftest import inject_fault, register_media, sends_to, table, wait_for
from tests.integration.payloads import image_message, new_wamid, status, text_message

pytestmark = pytest.mark.integration


def store(stack: LocalStack) -> DynamoMessageStore:
    return DynamoMessageStore(table(stack))


def outbound(stack: LocalStack, wa_id: str) -> list[dict]:
    return [m for m in store(stack).thread_messages("demo", "demo-whatsapp", wa_id) if m["direction"] == "out"]


def test_text_message_is_stored_answered_and_statuses_move_forward_only(stack: LocalStack) -> None:
    wa_id, wamid = "5491155550101", new_wamid()
    status_code, _ = stack.post_webhook(text_message(wa_id, "Hola, quiero saber mi saldo", wamid=wamid,
                                                     name="María González"))
    assert status_code == 200
    stack.wait_idle()

    inbound = store(stack).get_message("demo", "demo-whatsapp", wamid)
    assert inbound and inbound["text"] == "Hola, quiero saber mi saldo" and inbound["direction"] == "in"
    [reply] = sends_to(stack, wa_id)
    assert reply["body"]["type"] == "text" and reply["body"]["text"]["body"].startswith("¡Hola!")
    [sent] = outbound(stack, wa_id)
    assert sent["status"] == "accepted" and sent["provider_message_id"].startswith("wamid.")
    callback = reply["body"]["biz_opaque_callback_data"]
    assert callback == sent["message_id"]

    # out of order: read arrives before delivered (and delivered is re-sent); sent arrives last
    now = int(time.time())
    for value, ts in (("read", now + 2), ("delivered", now + 1), ("delivered", now + 1), ("sent", now)):
        assert stack.post_webhook(status(sent["provider_message_id"], value, wa_id, callback=callback, ts=ts))[0] == 200
    stack.wait_idle()
    [after] = outbound(stack, wa_id)
    assert after["status"] == "read"
    assert after["delivered_at"] and after["read_at"] and after["sent_at"]


def test_status_without_callback_data_is_found_by_wamid(stack: LocalStack) -> None:
    wa_id = "5491155550102"
    stack.post_webhook(text_message(wa_id, "hola"))
    stack.wait_idle()
    [sent] = outbound(stack, wa_id)
    stack.post_webhook(status(sent["provider_message_id"], "failed", wa_id, errors=[{
        "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
        "error_data": {"details": "Message Undeliverable."}}]))
    stack.wait_idle()
    [failed] = outbound(stack, wa_id)
    assert (failed["status"], int(failed["error_code"]), failed["error_details"]) == (
        "failed", 131026, "Message Undeliverable.")


def test_duplicate_wamid_is_stored_once_and_answered_once_even_days_later(stack: LocalStack) -> None:
    wa_id, wamid = "5491155550103", new_wamid()
    body = text_message(wa_id, "¿Están abiertos?", wamid=wamid)
    assert stack.post_webhook(body)[0] == 200
    assert stack.post_webhook(body)[0] == 200  # seconds later: absorbed by the FIFO dedup window
    stack.wait_idle()
    # days later the FIFO window is gone: deliver the same unit under a new dedup id, as SQS would then
    from shared.models.envelopes import InboundUnit

    value = body["entry"][0]["changes"][0]["value"]
    unit = InboundUnit(tenant_id="demo", channel_id="demo-whatsapp", kind="message", phone_number_id="100000000000001",
                       payload=value["messages"][0], contacts=value["contacts"], received_at_ms=0)
    boto3.client("sqs", region_name="us-east-1").send_message(
        QueueUrl=stack.resources.queue_urls["inbound"], MessageBody=unit.model_dump_json(),
        MessageGroupId=thread_group_id("demo", "demo-whatsapp", wa_id), MessageDeduplicationId="days-later")
    stack.wait_idle()
    messages = store(stack).thread_messages("demo", "demo-whatsapp", wa_id)
    assert [m["direction"] for m in messages].count("in") == 1
    assert len(sends_to(stack, wa_id)) == 1


def test_permanent_send_error_marks_the_message_failed_once_with_metas_reason(stack: LocalStack) -> None:
    wa_id = "5491155550104"
    inject_fault(stack, path_contains="/messages", status=400, times=1, error={
        "code": 131026, "message": "(#131026) Message undeliverable",
        "error_data": {"messaging_product": "whatsapp", "details": "Message Undeliverable."}})
    stack.post_webhook(text_message(wa_id, "hola"))
    stack.wait_idle()
    time.sleep(2.5)  # longer than the visibility timeout: a retry would have happened by now
    stack.wait_idle()
    assert len(sends_to(stack, wa_id)) == 1
    [failed] = outbound(stack, wa_id)
    assert failed["status"] == "failed" and int(failed["error_code"]) == 131026
    assert failed["error_details"] == "Message Undeliverable."


def test_throttled_graph_api_recovers_without_loss(stack: LocalStack) -> None:
    wa_id = "5491155550105"
    inject_fault(stack, path_contains="/messages", status=429, times=2, error={
        "code": 130429, "message": "(#130429) Rate limit hit"})
    stack.post_webhook(text_message(wa_id, "hola"))
    wait_for(lambda: [m for m in outbound(stack, wa_id) if m["status"] == "accepted"], timeout=40)
    attempts = sends_to(stack, wa_id)
    assert [a["status"] for a in attempts] == [429, 429, 200]


def test_free_form_message_outside_the_window_is_refused_before_calling_meta(stack: LocalStack) -> None:
    wa_id = "5491155550106"  # never wrote to us: no open customer-service window
    request = OutboundRequest(request_id="api:test-outside-window", tenant_id="demo", channel_id="demo-whatsapp",
                              contact_key=wa_id, to=wa_id, content=TextContent(body="Promo"))
    boto3.client("sqs", region_name="us-east-1").send_message(
        QueueUrl=stack.resources.queue_urls["outbound"], MessageBody=request.model_dump_json(),
        MessageGroupId=thread_group_id("demo", "demo-whatsapp", wa_id),
        MessageDeduplicationId=dedup_id("demo-whatsapp", request.request_id))
    stack.wait_idle()
    assert sends_to(stack, wa_id) == []
    [refused] = outbound(stack, wa_id)
    assert (refused["status"], refused["error_title"]) == ("refused", "template_required")

    template = OutboundRequest(request_id="api:test-template", tenant_id="demo", channel_id="demo-whatsapp",
                               contact_key=wa_id, to=wa_id,
                               content=TemplateContent(name="recordatorio_pago", language="es_AR"))
    boto3.client("sqs", region_name="us-east-1").send_message(
        QueueUrl=stack.resources.queue_urls["outbound"], MessageBody=template.model_dump_json(),
        MessageGroupId=thread_group_id("demo", "demo-whatsapp", wa_id),
        MessageDeduplicationId=dedup_id("demo-whatsapp", template.request_id))
    stack.wait_idle()
    [sent] = sends_to(stack, wa_id)
    assert sent["body"]["template"] == {"name": "recordatorio_pago", "language": {"code": "es_AR"}}


def test_poison_message_reaches_the_dlq_while_other_conversations_keep_flowing(stack: LocalStack) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.send_message(QueueUrl=stack.resources.queue_urls["inbound"], MessageBody='{"not": "an inbound unit"}',
                     MessageGroupId="poison-group", MessageDeduplicationId="poison-1")
    wa_id = "5491155550107"
    stack.post_webhook(text_message(wa_id, "hola, ¿me ayudan?"))
    wait_for(lambda: sends_to(stack, wa_id), timeout=20)

    def dlq_depth() -> int:
        attrs = sqs.get_queue_attributes(QueueUrl=stack.resources.dlq_urls["inbound"],
                                         AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"])

    wait_for(lambda: dlq_depth() >= 1, timeout=60)
    [dead] = sqs.receive_message(QueueUrl=stack.resources.dlq_urls["inbound"])["Messages"]
    assert json.loads(dead["Body"]) == {"not": "an inbound unit"}


def test_inbound_media_is_copied_to_s3_and_verified(stack: LocalStack) -> None:
    data = b"\xff\xd8\xff\xe0 fake jpeg bytes " * 100
    sha_b64 = register_media(stack, "9001", data)
    wa_id, good, bad = "5491155550108", new_wamid(), new_wamid()
    stack.post_webhook(image_message(wa_id, "9001", sha_b64, wamid=good))
    stack.post_webhook(image_message(wa_id, "9001", "AAAA" + sha_b64[4:], wamid=bad))

    stored = wait_for(lambda: (m := store(stack).get_message("demo", "demo-whatsapp", good)) and
                      m.get("media_state") == "stored" and m)
    blob = boto3.client("s3", region_name="us-east-1").get_object(Bucket=stack.resources.bucket,
                                                                  Key=stored["media_s3_key"])["Body"].read()
    assert blob == data
    mismatch = wait_for(lambda: (m := store(stack).get_message("demo", "demo-whatsapp", bad)) and
                        m.get("media_state") == "failed" and m)
    assert mismatch["media_error"] == "sha256 mismatch"
    stack.wait_idle()
    # a media failure never blocks the message or the reply (the fixed auto-reply answers once per conversation)
    assert len(sends_to(stack, wa_id)) == 1
