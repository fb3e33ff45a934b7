"""A local emulator of Meta's Graph API (the parts the sender and media fetcher use), with injectable faults.

- POST /local/graph/{version}/{phone_number_id}/messages  -> Meta's send response (or an injected fault)
- GET  /local/graph/{version}/{media_id}                  -> media info with a download URL
- GET  /local/graph/media/{media_id}                      -> the media bytes (Bearer token required)
- GET  /local/graph/requests                              -> every request received, in arrival order
- POST /local/graph/faults                                -> queue faults: {"path_contains": "/messages",
     "status": 429, "error": {"code": 130429, "message": "..."}, "times": 2, "delay_s": 0}
- DELETE /local/graph/requests | /local/graph/faults      -> reset
- POST /local/graph/media  {"media_id", "data_b64", "mime_type"} -> register downloadable media
Optionally (auto_status) it posts signed sent/delivered/read status webhooks back, as Meta does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Reply = tuple[int, dict[str, str], bytes]

_SEND = re.compile(r"^/local/graph/(?P<version>v[\d.]+)/(?P<pni>[^/]+)/messages$")
_MEDIA_INFO = re.compile(r"^/local/graph/(?P<version>v[\d.]+)/(?P<media_id>[^/]+)$")
_MEDIA_BYTES = re.compile(r"^/local/graph/media/(?P<media_id>[^/]+)$")


def _json(status: int, body: Any) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


@dataclass
class Fault:
    path_contains: str
    status: int
    error: dict[str, Any] | None
    times: int
    delay_s: float = 0.0


@dataclass
class GraphEmulator:
    base_url: str = ""  # the local server's URL, for media download links
    status_sink: Callable[[str, dict[str, Any]], None] | None = None  # (phone_number_id, statuses webhook body)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults.clear()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path_contains in path and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        if not path.startswith("/local/graph"):
            return None
        if path == "/local/graph/requests":
            if method == "DELETE":
                self.reset()
                return _json(200, {"ok": True})
            with self._lock:
                return _json(200, list(self.requests))
        if path == "/local/graph/faults":
            return self._faults(method, body)
        if path == "/local/graph/media" and method == "POST":
            spec = json.loads(body or b"{}")
            self.media[spec["media_id"]] = (base64.b64decode(spec["data_b64"]), spec.get("mime_type", "image/jpeg"))
            return _json(200, {"ok": True})
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= 7:
            return _json(401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                         "code": 190, "fbtrace_id": "local"}})
        if (m := _MEDIA_BYTES.match(path)) and method == "GET":
            return self._media_bytes(m["media_id"], path)
        if (m := _SEND.match(path)) and method == "POST":
            return self._send(path, m["pni"], body)
        if (m := _MEDIA_INFO.match(path)) and method == "GET":
            return self._media_info(m["media_id"], path)
        return _json(404, {"error": {"message": f"Unknown path components: {path}", "code": 2500}})

    def _faults(self, method: str, body: bytes) -> Reply:
        if method == "DELETE":
            with self._lock:
                self.faults.clear()
            return _json(200, {"ok": True})
        spec = json.loads(body or b"{}")
        items = spec if isinstance(spec, list) else [spec]
        with self._lock:
            for item in items:
                self.faults.append(Fault(path_contains=item.get("path_contains", "/messages"),
                                         status=int(item.get("status", 500)), error=item.get("error"),
                                         times=int(item.get("times", 1)), delay_s=float(item.get("delay_s", 0))))
        return _json(200, {"ok": True, "queued": len(items)})

    def _apply_fault(self, path: str) -> Reply | None:
        fault = self._take_fault(path)
        if fault is None:
            return None
        if fault.delay_s:
            time.sleep(fault.delay_s)
        error = {"message": "(#131000) Something went wrong", "type": "OAuthException", "code": 131000,
                 "fbtrace_id": "local-fault", **(fault.error or {})}
        return _json(fault.status, {"error": error})

    def _record(self, path: str, body: bytes, outcome: int) -> None:
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode(errors="replace")
        with self._lock:
            self.requests.append({"path": path, "body": parsed, "status": outcome})

    def _send(self, path: str, phone_number_id: str, body: bytes) -> Reply:
        fault = self._apply_fault(path)
        if fault is not None:
            self._record(path, body, fault[0])
            return fault
        payload = json.loads(body or b"{}")
        self._record(path, body, 200)
        if payload.get("status") == "read":
            return _json(200, {"success": True})
        to = payload.get("to", "")
        wamid = "wamid.LOCAL" + secrets.token_hex(12).upper()
        contact = {"input": to, "wa_id": to if to.isdigit() else ""}
        if not to.isdigit():
            contact["user_id"] = to
        if self.status_sink:
            self._emit_statuses(phone_number_id, wamid, to, payload.get("biz_opaque_callback_data"))
        return _json(200, {"messaging_product": "whatsapp", "contacts": [contact],
                           "messages": [{"id": wamid, "message_status": "accepted"}]})

    def _emit_statuses(self, phone_number_id: str, wamid: str, to: str, callback: str | None) -> None:
        def run() -> None:
            for status in ("sent", "delivered", "read"):
                time.sleep(0.3)
                item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(int(time.time())),
                                        "recipient_id": to}
                if callback:
                    item["biz_opaque_callback_data"] = callback
                if status == "sent":
                    item["pricing"] = {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                                       "category": "service"}
                body = {"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{
                    "field": "messages", "value": {"messaging_product": "whatsapp",
                                                   "metadata": {"display_phone_number": "15550000001",
                                                                "phone_number_id": phone_number_id},
                                                   "statuses": [item]}}]}]}
                assert self.status_sink is not None
                self.status_sink(phone_number_id, body)

        threading.Thread(target=run, daemon=True).start()

    def _media_info(self, media_id: str, path: str) -> Reply:
        fault = self._apply_fault(path)
        if fault is not None:
            self._record(path, b"", fault[0])
            return fault
        self._record(path, b"", 200)
        if media_id not in self.media:
            return _json(404, {"error": {"message": "Unsupported get request. Object does not exist", "code": 100}})
        data, mime = self.media[media_id]
        return _json(200, {"messaging_product": "whatsapp", "id": media_id, "mime_type": mime,
                           "sha256": hashlib.sha256(data).hexdigest(), "file_size": str(len(data)),
                           "url": f"{self.base_url}/local/graph/media/{media_id}"})

    def _media_bytes(self, media_id: str, path: str) -> Reply:
        fault = self._apply_fault(path)
        if fault is not None:
            return fault
        if media_id not in self.media:
            return _json(404, {"error": {"message": "media not found", "code": 100}})
        data, mime = self.media[media_id]
        return 200, {"Content-Type": mime}, data
