"""Webhook bodies for integration tests, in the Cloud API's documented shape."""

from __future__ import annotations

import secrets
import time
from typing import Any

PNI = "100000000000001"
# a 1x1 PNG (the files library checks the magic bytes against the declared type)
PNG_1X1 = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a0e5a8f70000000049454e44ae426082")


def envelope(value: dict[str, Any], *, pni: str = PNI, field: str = "messages") -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": field, "value": {"messaging_product": "whatsapp",
                                  "metadata": {"display_phone_number": "15550000001", "phone_number_id": pni},
                                  **value}}]}]}


def new_wamid() -> str:
    return "wamid.IT" + secrets.token_hex(12).upper()


def text_message(wa_id: str, text: str, *, wamid: str | None = None, ts: int | None = None,
                 name: str = "Cliente Prueba") -> dict[str, Any]:
    return envelope({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [{
        "from": wa_id, "id": wamid or new_wamid(), "timestamp": str(ts or int(time.time())), "type": "text",
        "text": {"body": text}}]})


def image_message(wa_id: str, media_id: str, sha256: str, *, wamid: str | None = None,
                  pni: str = PNI) -> dict[str, Any]:
    return envelope(pni=pni, value={"contacts": [{"profile": {"name": "Cliente"}, "wa_id": wa_id}], "messages": [{
        "from": wa_id, "id": wamid or new_wamid(), "timestamp": str(int(time.time())), "type": "image",
        "image": {"caption": "mi factura", "mime_type": "image/jpeg", "sha256": sha256, "id": media_id}}]})


def status(wamid: str, value: str, recipient: str, *, callback: str | None = None, ts: int | None = None,
           errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": wamid, "status": value, "timestamp": str(ts or int(time.time())),
                            "recipient_id": recipient}
    if callback:
        item["biz_opaque_callback_data"] = callback
    if errors:
        item["errors"] = errors
    return envelope({"statuses": [item]})
