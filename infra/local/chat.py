"""Terminal chat: type as a WhatsApp user; each line is signed and posted as a Cloud API webhook to the
local stack, and whatever the platform sends back to you through the Graph emulator is printed.

Usage: `make chat` (with `make dev` running). Env: PORT, CHAT_WA_ID, CHAT_NAME, DEMO_APP_SECRET.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from infra.local.provision import DemoChannel
from shared.services.signature import sign


def text_webhook(phone_number_id: str, wa_id: str, name: str, text: str) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DemoChannel.display_phone_number, "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": f"wamid.CHAT{secrets.token_hex(10).upper()}",
                      "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}}]}}]}]}


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _watch(base: str, wa_id: str, stop: threading.Event) -> None:
    seen = len(_get(f"{base}/local/graph/requests"))
    while not stop.is_set():
        requests = _get(f"{base}/local/graph/requests")
        for req in requests[seen:]:
            body = req.get("body") or {}
            if body.get("to") != wa_id:
                continue
            kind = body.get("type")
            content = body.get(kind, {}) if isinstance(kind, str) else {}
            shown = content.get("body") if isinstance(content, dict) else None
            print(f"\n  negocio> {shown or json.dumps(content, ensure_ascii=False)}\nyou> ", end="", flush=True)
        seen = len(requests)
        time.sleep(0.5)


def main() -> None:
    base = f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"
    wa_id = os.environ.get("CHAT_WA_ID", "5491155550101")
    name = os.environ.get("CHAT_NAME", "María González")
    secret = os.environ.get("DEMO_APP_SECRET", DemoChannel.app_secret)
    pni = os.environ.get("DEMO_PHONE_NUMBER_ID", DemoChannel.phone_number_id)
    url = f"{base}/webhooks/whatsapp/{os.environ.get('DEMO_CHANNEL_ID', DemoChannel.channel_id)}"
    try:
        _get(f"{base}/health")
    except (urllib.error.URLError, OSError):
        sys.exit(f"No local stack at {base}: run `make dev` first.")
    stop = threading.Event()
    threading.Thread(target=_watch, args=(base, wa_id, stop), daemon=True).start()
    print(f"Chatting as {name} (+{wa_id}) with {url}. Ctrl-D to quit.")
    try:
        while True:
            line = input("you> ").strip()
            if not line:
                continue
            raw = json.dumps(text_webhook(pni, wa_id, name, line)).encode()
            request = urllib.request.Request(url, data=raw, method="POST", headers={
                "Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, raw)})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as err:
                status = err.code
            if status != 200:
                print(f"  (webhook answered {status})")
    except (EOFError, KeyboardInterrupt):
        stop.set()
        print()


if __name__ == "__main__":
    main()
