"""A local stand-in for Twilio's Messaging REST API on the gateway's loopback port.

- POST /local/twilio/2010-04-01/Accounts/{sid}/Messages.json   answers like Twilio: Basic auth must be a
  configured account's sid and token (else 401, code 20003); To and From are required (21604, 21603), Body or
  MediaUrl too (21619); a To that is not E.164 answers 21211, a To in `unsubscribed` (replied STOP) 21610; a
  good send answers 201 {"sid": "SM<32 hex>", "status": "queued", "to", "from", "body", ...} (real Twilio
  gives MMS an "MM" sid; here every sid is "SM").
- GET  /local/twilio/2010-04-01/Accounts/{sid}.json             the account (200) or 401.
- GET|DELETE /local/twilio/calls                                what it received: [{path, account_sid, form,
  status}] in arrival order, a repeated form field as a list (DELETE clears it).
- POST /local/twilio/config                                     {"accounts": {sid: token}, "unsubscribed": [...]}
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

PREFIX = "/local/twilio"
_SEND = re.compile(r"^2010-04-01/Accounts/(?P<sid>[A-Za-z0-9]+)/Messages\.json$")
_ACCOUNT = re.compile(r"^2010-04-01/Accounts/(?P<sid>[A-Za-z0-9]+)\.json$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
ERRORS = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21619: (400, "A Message Body, Media URL or Content SID is required."),
}

Reply = tuple[int, dict[str, str], bytes]


def _json(status: int, body: Any) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(body, ensure_ascii=False).encode()


def _error(code: int, **values: str) -> Reply:
    status, message = ERRORS[code]
    return _json(status, {"code": code, "message": message.format(**values),
                          "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})


def _header(headers: Mapping[str, str] | None, name: str) -> str:
    return next((v for k, v in (headers or {}).items() if k.lower() == name), "")


def _basic(headers: Mapping[str, str] | None) -> tuple[str, str] | None:
    scheme, _, encoded = _header(headers, "authorization").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class TwilioEmulator:
    def __init__(self, accounts: Mapping[str, str] | None = None) -> None:
        self.accounts: dict[str, str] = dict(accounts or {})
        self.unsubscribed: set[str] = set()
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def handle(self, method: str, path: str, body: bytes, headers: Mapping[str, str] | None = None
               ) -> Reply | None:
        if not path.startswith(PREFIX + "/"):
            return None
        rest = path[len(PREFIX) + 1:]
        if rest == "calls" and method in ("GET", "DELETE"):
            with self._lock:
                calls = list(self.calls)
                if method == "DELETE":
                    self.calls.clear()
            return _json(200, calls)
        if rest == "config" and method == "POST":
            spec = json.loads(body or b"{}")
            with self._lock:
                self.accounts.update({str(k): str(v) for k, v in (spec.get("accounts") or {}).items()})
                self.unsubscribed = {str(n) for n in spec.get("unsubscribed", self.unsubscribed)}
            return _json(200, {"ok": True})
        send, account = _SEND.match(rest), _ACCOUNT.match(rest)
        match = send if method == "POST" else account if method == "GET" else None
        if match is None:
            return _error(20404)
        sid = match["sid"]
        with self._lock:
            if _basic(headers) != (sid, self.accounts.get(sid)):
                self.calls.append({"path": path, "account_sid": sid, "form": {}, "status": 401})
                return _error(20003)
            if account is not None and method == "GET":
                self.calls.append({"path": path, "account_sid": sid, "form": {}, "status": 200})
                return _json(200, {"sid": sid, "friendly_name": "Banco Demo (local)", "status": "active",
                                   "type": "Full"})
            return self._send(path, sid, body)

    def _send(self, path: str, sid: str, body: bytes) -> Reply:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        form: dict[str, str | list[str]] = {}
        for name, value in pairs:  # a repeated name (MediaUrl) keeps every value, as a list
            previous = form.get(name)
            form[name] = value if previous is None else [*([previous] if isinstance(previous, str) else previous),
                                                         value]
        media = [value for name, value in pairs if name == "MediaUrl" and value]
        fields = dict(pairs)
        to, sender, text = fields.get("To", ""), fields.get("From", ""), fields.get("Body", "")
        reply: Reply
        if not to:
            reply = _error(21604)
        elif not sender:
            reply = _error(21603)
        elif not text and not media:
            reply = _error(21619)
        elif not _E164.match(to):
            reply = _error(21211, to=to)
        elif to in self.unsubscribed:
            reply = _error(21610)
        else:
            now = format_datetime(datetime.now(UTC), usegmt=True)
            message_sid = "SM" + uuid.uuid4().hex
            reply = _json(201, {
                "sid": message_sid, "account_sid": sid, "status": "queued",
                "to": to, "from": sender, "body": text, "num_media": str(len(media)), "num_segments": "1",
                "direction": "outbound-api", "api_version": "2010-04-01", "date_created": now, "date_updated": now,
                "date_sent": None, "error_code": None, "error_message": None, "price": None,
                "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json"})
        self.calls.append({"path": path, "account_sid": sid, "form": form, "status": reply[0]})
        return reply
