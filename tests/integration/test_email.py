"""Email end to end on the local stack: SES's receipt (raw mail in S3, its notification on the `email` queue) to an
inbound message, the demo bot's answer sent through SES with threading headers (captured in the outbox), the
customer's reply joining the same conversation by In-Reply-To even from another address, SES redelivery stored
once, a virus refused, auto-replies dropped, attachments in S3, and onboarding through the platform API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from email import message_from_string
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import boto3
import pytest

from infra.local.provision import DemoEmail, seed_email_channel
from infra.local.stack import LocalStack
from tests.integration.api_client import call
from tests.integration.conftest import BANK, wait_for

pytestmark = pytest.mark.integration

MAIL = DemoEmail(tenant_id=BANK.tenant_id, channel_id="banco-email", address="ayuda@banco-demo.test",
                 display_name="Ayuda Banco Demo")
KEY = "banco-api-key"


@pytest.fixture(scope="module")
def mailbox(stack: LocalStack, bank: Any) -> DemoEmail:
    seed_email_channel(stack.resources, MAIL)
    return MAIL


def mail(sender: str, text: str, *, subject: str = "Consulta", in_reply_to: str | None = None,
         attachment: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[bytes, str]:
    message = EmailMessage()
    message["From"] = f"Cliente <{sender}>"
    message["To"] = MAIL.address
    message["Subject"] = subject
    message_id = make_msgid(domain="cliente.example")
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf", filename="factura.pdf")
    return message.as_bytes(), message_id


def deliver(stack: LocalStack, raw: bytes, query: str = "") -> dict[str, Any]:
    request = urllib.request.Request(f"{stack.url}/local/email/inbound{query}", data=raw, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
        return dict(json.loads(response.read()))


def outbox_to(stack: LocalStack, address: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{stack.url}/local/email/outbox", timeout=30) as response:
        return [m for m in json.loads(response.read())["messages"] if address in m["destinations"]]


def conversation_of(stack: LocalStack, contact_key: str) -> dict[str, Any] | None:
    found = call(stack, "GET", f"/v1/conversations?channel_id={MAIL.channel_id}&limit=100", key=KEY).body
    return next((c for c in found["items"] if c["contact_key"] == contact_key), None)


def messages_of(stack: LocalStack, conversation_id: str) -> list[dict[str, Any]]:
    return list(call(stack, "GET", f"/v1/conversations/{conversation_id}", key=KEY).body["messages"])


def test_an_email_is_answered_in_thread_and_the_reply_joins_the_conversation(stack: LocalStack,
                                                                             mailbox: DemoEmail) -> None:
    customer = f"cliente-{uuid.uuid4().hex[:8]}@cliente.example"
    raw, first_id = mail(customer, "Hola, quiero un crédito.\n\nSaludos")
    deliver(stack, raw)
    answer = wait_for(lambda: outbox_to(stack, customer), timeout=45)[0]
    sent = message_from_string(answer["raw"])
    assert sent["In-Reply-To"] == first_id and first_id in sent["References"]
    assert sent["Subject"] == "Re: Consulta" and MAIL.address in sent["From"]
    assert sent["Auto-Submitted"] == "auto-replied"  # the bot's answers say so (RFC 3834): no autoresponder loops
    conversation = wait_for(lambda: conversation_of(stack, customer))
    # the customer answers our email from another address of theirs: In-Reply-To names our message
    ours = sent["Message-ID"]
    quoted = "El lun, 23 nov 2026 a las 10:00, Ayuda <ayuda@banco-demo.test> escribió:\n> Hola"
    reply, _ = mail(f"otra-{customer}", f"1\n\n{quoted}",
                    subject="Re: Consulta", in_reply_to=ours)
    deliver(stack, reply)
    texts = wait_for(lambda: [m for m in messages_of(stack, conversation["conversation_id"])
                              if m["direction"] == "in" and m.get("text") == "1"])
    assert texts  # the quoted history was cut, the reply is in the first conversation
    assert conversation_of(stack, f"otra-{customer}") is None


def test_ses_redelivery_is_stored_once_and_verdicts_are_honoured(stack: LocalStack, mailbox: DemoEmail) -> None:
    customer = f"dup-{uuid.uuid4().hex[:8]}@cliente.example"
    raw, _ = mail(customer, "¿Cuál es mi deuda?")
    deliver(stack, raw)
    deliver(stack, raw)  # the same Message-ID again (SES delivers at least once)
    conversation = wait_for(lambda: conversation_of(stack, customer))
    stack.wait_idle()
    inbound = [m for m in messages_of(stack, conversation["conversation_id"]) if m["direction"] == "in"]
    assert len(inbound) == 1
    infected = f"virus-{uuid.uuid4().hex[:8]}@cliente.example"
    deliver(stack, mail(infected, "adjunto")[0], "?virus=FAIL")
    auto = f"ooo-{uuid.uuid4().hex[:8]}@cliente.example"
    deliver(stack, mail(auto, "Estoy de vacaciones", headers={"Auto-Submitted": "auto-replied"})[0])
    stack.wait_idle()
    assert conversation_of(stack, infected) is None and conversation_of(stack, auto) is None
    assert outbox_to(stack, infected) == [] and outbox_to(stack, auto) == []


def test_attachments_are_copied_to_s3(stack: LocalStack, mailbox: DemoEmail) -> None:
    customer = f"pdf-{uuid.uuid4().hex[:8]}@cliente.example"
    pdf = b"%PDF-1.4 factura de prueba"
    deliver(stack, mail(customer, "Adjunto la factura", attachment=pdf)[0])
    conversation = wait_for(lambda: conversation_of(stack, customer))
    message = wait_for(lambda: next((m for m in messages_of(stack, conversation["conversation_id"])
                                     if m["direction"] == "in"), None))
    attachments = message["attachments"]
    assert message["subject"] == "Consulta"
    [attachment] = attachments
    assert attachment["filename"] == "factura.pdf" and attachment["size"] == len(pdf)
    body = boto3.client("s3", region_name="us-east-1").get_object(
        Bucket=stack.resources.bucket, Key=attachment["s3_key"])["Body"].read()
    assert body == pdf


def test_an_email_channel_is_connected_through_the_platform_api(stack: LocalStack, bank: Any) -> None:
    created = call(stack, "POST", f"/platform/v1/tenants/{BANK.tenant_id}/channels/email",
                   {"address": "Ventas@Banco-Demo.test", "settings": {"display_name": "Ventas"}},
                   key=stack.tenant.operator_key)
    assert created.status == 201, created.body
    assert created.body["channel"]["phone_number_id"] == "ventas@banco-demo.test"
    records = {r["type"] for r in created.body["dns_records"]}
    assert "MX" in records
    again = call(stack, "POST", f"/platform/v1/tenants/{BANK.tenant_id}/channels/email",
                 {"address": "ventas@banco-demo.test"}, key=stack.tenant.operator_key)
    assert again.status == 409
    bad = call(stack, "POST", f"/platform/v1/tenants/{BANK.tenant_id}/channels/email",
               {"address": "no es un email"}, key=stack.tenant.operator_key)
    assert bad.status == 422


def test_mail_to_an_unknown_address_is_dropped_visibly(stack: LocalStack, mailbox: DemoEmail) -> None:
    raw, _ = mail("alguien@cliente.example", "hola")
    try:
        deliver(stack, raw, "?to=nadie@banco-demo.test")
    except urllib.error.HTTPError as exc:  # pragma: no cover - the emulator accepts any recipient
        raise AssertionError(exc.read()) from exc
    stack.wait_idle()
    assert outbox_to(stack, "alguien@cliente.example") == []
