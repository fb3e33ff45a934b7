"""The webhook's HTTP contract, through the local gateway (API Gateway v2 events) into the real handler."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from infra.local.stack import LocalStack
from shared.services.signature import sign
from tests.integration.conftest import table, wait_for
from tests.integration.payloads import envelope, text_message

pytestmark = pytest.mark.integration


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("content-type", ""), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("content-type", ""), err.read().decode()


def _post_raw(stack: LocalStack, raw: bytes, headers: dict[str, str], channel: str = "demo-whatsapp") -> int:
    request = urllib.request.Request(stack.webhook_url(channel), data=raw, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def test_health_answers_when_ready(stack: LocalStack) -> None:
    assert _get(f"{stack.url}/health")[0] == 200


def test_verification_handshake_echoes_the_challenge_as_text(stack: LocalStack) -> None:
    status, ctype, body = _get(stack.webhook_url() + "?hub.mode=subscribe&hub.challenge=1158201444"
                                                     "&hub.verify_token=local-verify-token")
    assert (status, body) == (200, "1158201444")
    assert ctype.startswith("text/plain")


@pytest.mark.parametrize("query", [
    "hub.mode=subscribe&hub.challenge=x&hub.verify_token=wrong",
    "hub.mode=unsubscribe&hub.challenge=x&hub.verify_token=local-verify-token",
    "hub.challenge=x",
])
def test_verification_with_wrong_token_or_mode_is_forbidden(stack: LocalStack, query: str) -> None:
    assert _get(stack.webhook_url() + "?" + query)[0] == 403


def test_unknown_channel_is_404(stack: LocalStack) -> None:
    assert _get(stack.webhook_url("no-such-channel") + "?hub.mode=subscribe&hub.challenge=1&hub.verify_token=x"
                )[0] == 404
    raw = json.dumps(text_message("5491100000001", "hola")).encode()
    assert _post_raw(stack, raw, {"X-Hub-Signature-256": sign("local-app-secret", raw)}, "no-such-channel") == 404


def test_missing_or_invalid_signature_is_401_and_nothing_is_stored(stack: LocalStack) -> None:
    body = text_message("5491100000002", "sin firma")
    raw = json.dumps(body).encode()
    assert _post_raw(stack, raw, {"Content-Type": "application/json"}) == 401
    assert _post_raw(stack, raw, {"X-Hub-Signature-256": sign("another-secret", raw)}) == 401
    assert _post_raw(stack, raw + b" ", {"X-Hub-Signature-256": sign("local-app-secret", raw)}) == 401
    stack.wait_idle()
    wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert "Item" not in table(stack).get_item(Key={"pk": f"T#demo#MSG#demo-whatsapp#{wamid}", "sk": "MSG"})


def test_signed_body_that_is_not_json_is_400(stack: LocalStack) -> None:
    raw = b"this is not json"
    assert _post_raw(stack, raw, {"X-Hub-Signature-256": sign("local-app-secret", raw)}) == 400


def test_body_over_one_megabyte_is_413(stack: LocalStack) -> None:
    raw = b'{"object":"whatsapp_business_account","pad":"' + b"x" * (1024 * 1024) + b'"}'
    assert _post_raw(stack, raw, {"X-Hub-Signature-256": sign("local-app-secret", raw)}) == 413


@pytest.mark.parametrize(("body", "reason"), [
    (text_message("5491100000003", "otro número", ) | {}, None),
    ({"object": "page", "entry": []}, "envelope"),
    (envelope({"user_preferences": [{"wa_id": "1", "category": "marketing_messages", "value": "stop"}]},
              field="user_preferences"), "unhandled field"),
])
def test_wrong_shape_or_other_phone_number_is_200_and_quarantined(stack: LocalStack, body: dict, reason: str | None
                                                                   ) -> None:
    if reason is None:  # a message for another phone_number_id than this channel's
        body = json.loads(json.dumps(body).replace("100000000000001", "999999999999999"))
        reason = "phone_number_id"
    status, answer = stack.post_webhook(body)
    assert status == 200
    assert json.loads(answer)["quarantined"] == 1
    records = wait_for(lambda: [i for i in table(stack).query(KeyConditionExpression=Key("pk").eq(
        "T#demo#QUARANTINE"))["Items"] if any(reason in r for r in i["reasons"])])
    raw = boto3.client("s3", region_name="us-east-1").get_object(
        Bucket=stack.resources.bucket, Key=records[-1]["body_s3_key"])["Body"].read()
    assert json.loads(raw) == body  # the exact bytes are kept, visibly


def test_base64_encoded_body_is_verified_on_the_decoded_bytes(stack: LocalStack) -> None:
    import base64

    from infra.local.stack import apigw_v2_event

    body = json.dumps(text_message("5491100000004", "ñandú — acentos")).encode()
    event = apigw_v2_event("POST", "/webhooks/whatsapp/demo-whatsapp", "", {
        "x-hub-signature-256": sign("local-app-secret", body), "content-type": "application/octet-stream"},
        body, "POST /webhooks/whatsapp/{channel_id}", {"channel_id": "demo-whatsapp"})
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == body
    result = stack.host.invoke("whatsapp_webhook", event)
    assert result["statusCode"] == 200
