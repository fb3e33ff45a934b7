"""The Messenger/Instagram part of the local Graph API emulator (mounted by GraphEmulator under /local/graph).

Graph API (Page access token as Bearer):
- GET  /local/graph/{version}/me                         -> {"id", "name"} of the token's Page, or error 190
- POST /local/graph/{version}/me/messages                -> {"recipient_id", "message_id"}; checks the body as the
     Send API does (recipient, messaging_type and tag, one of message/sender_action, 2,000-character text, at
     most 13 quick replies of 20 characters); a blocked recipient answers 551 ("This person isn't available")
- POST /local/graph/{version}/{page_id}/subscribed_apps  -> {"success": true} (the token must be that Page's)
- POST /local/graph/{version}/me/messenger_profile       -> {"result": "success"} (persistent menu, Get Started)

Test helpers (no token):
- GET|DELETE /local/graph/pages/calls   -> every call above, in order (DELETE forgets them)
- GET|POST   /local/graph/pages/config  {"pages": {"<token>": {"id": "...", "name": "..."}}, "blocked": ["<psid>"]}
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

Reply = tuple[int, dict[str, str], bytes]

_ME = re.compile(r"^/local/graph/v[\d.]+/me$")
_SEND = re.compile(r"^/local/graph/v[\d.]+/me/messages$")
_PROFILE = re.compile(r"^/local/graph/v[\d.]+/me/messenger_profile$")
_SUBSCRIBE = re.compile(r"^/local/graph/v[\d.]+/(?P<page>\d+)/subscribed_apps$")
MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})
TAGS = frozenset({"HUMAN_AGENT", "ACCOUNT_UPDATE", "POST_PURCHASE_UPDATE", "CONFIRMED_EVENT_UPDATE"})
SENDER_ACTIONS = frozenset({"mark_seen", "typing_on", "typing_off", "react", "unreact"})


def _json(status: int, body: Any) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _error(status: int, code: int, message: str, subcode: int | None = None) -> Reply:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "local"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return _json(status, {"error": error})


def _invalid(message: str) -> Reply:
    return _error(400, 100, f"(#100) {message}")


@dataclass
class PageEmulator:
    pages: dict[str, dict[str, str]] = field(default_factory=dict)  # token -> {"id", "name"}
    blocked: set[str] = field(default_factory=set)
    calls: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: dict[str, list[str]] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    replied_comments: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def helper(self, method: str, path: str, body: bytes) -> Reply | None:
        if path == "/local/graph/pages/calls":
            with self._lock:
                if method == "DELETE":
                    self.calls.clear()
                    return _json(200, {"ok": True})
                return _json(200, list(self.calls))
        if path == "/local/graph/pages/config":
            if method == "POST":
                spec = json.loads(body or b"{}")
                with self._lock:
                    self.pages.update(spec.get("pages") or {})
                    if "blocked" in spec:
                        self.blocked = set(spec["blocked"] or [])
            return _json(200, {"pages": {t: p["id"] for t, p in self.pages.items()}, "blocked": sorted(self.blocked)})
        return None

    def handle(self, method: str, path: str, token: str, body: bytes, params: dict[str, str]) -> Reply | None:
        """A Page API call, or None when the path is not one (the WhatsApp emulator answers it)."""
        kind = ("me" if _ME.match(path) else "send" if _SEND.match(path) else "profile" if _PROFILE.match(path)
                else "subscribe" if _SUBSCRIBE.match(path) else None)
        if kind is None:
            return None
        page = self.pages.get(token)
        if page is None:
            reply = _error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        elif kind == "me" and method == "GET":
            reply = _json(200, {"id": page["id"], "name": page.get("name", "Page")})
        elif kind == "send" and method == "POST":
            reply = self._send(page, body)
        elif kind == "profile" and method == "POST":
            with self._lock:
                self.profiles[page["id"]] = json.loads(body or b"{}")
            reply = _json(200, {"result": "success"})
        elif kind == "subscribe" and method == "POST":
            m = _SUBSCRIBE.match(path)
            if m is None or m["page"] != page["id"]:
                reply = _error(403, 200, "(#200) The token is not this Page's")
            else:
                fields = params.get("subscribed_fields", "")
                with self._lock:
                    self.subscriptions[page["id"]] = fields.split(",") if fields else []
                reply = _json(200, {"success": True})
        else:
            reply = _error(400, 100, f"Unsupported {method} request")
        with self._lock:
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = body.decode(errors="replace")
            self.calls.append({"path": path, "page_id": page["id"] if page else None, "body": parsed,
                               "status": reply[0]})
        return reply

    def _send(self, page: dict[str, str], body: bytes) -> Reply:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return _invalid("The request body is not JSON")
        recipient = data.get("recipient") if isinstance(data, dict) else None
        if not isinstance(recipient, dict) or not (recipient.get("id") or recipient.get("comment_id")):
            return _invalid("param recipient must be non-empty.")
        action, message = data.get("sender_action"), data.get("message")
        if (action is None) == (message is None):
            return _invalid("Exactly one of message or sender_action must be given")
        to = str(recipient.get("id") or "")
        if to in self.blocked:
            return _error(400, 551, "This person isn't available right now.", subcode=1545041)
        if action is not None:
            if action not in SENDER_ACTIONS:
                return _invalid(f"param sender_action must be one of {sorted(SENDER_ACTIONS)}")
            return _json(200, {"recipient_id": to})
        messaging_type = data.get("messaging_type")
        if recipient.get("comment_id"):  # a private reply: one per comment, text only
            comment = str(recipient["comment_id"])
            if comment in self.replied_comments:
                return _error(400, 10900, "Activity already replied to")
            if not isinstance(message, dict) or not message.get("text"):
                return _invalid("a private reply is a text message")
            self.replied_comments.add(comment)
            return _json(200, {"recipient_id": f"psid-of-{comment}",
                               "message_id": "m_LOCAL" + secrets.token_urlsafe(24)})
        if messaging_type not in MESSAGING_TYPES:
            return _invalid("param messaging_type must be one of RESPONSE, UPDATE, MESSAGE_TAG")
        if (messaging_type == "MESSAGE_TAG") != (data.get("tag") is not None) or (
                data.get("tag") is not None and data["tag"] not in TAGS):
            return _invalid("a valid tag is required with messaging_type MESSAGE_TAG, and only then")
        if not isinstance(message, dict) or not (message.get("text") or message.get("attachment")):
            return _invalid("param message must have text or an attachment")
        text = message.get("text")
        if isinstance(text, str) and len(text) > 2000:
            return _invalid("param message[text] must be UTF-8 encoded and have 2000 characters or fewer")
        quick = message.get("quick_replies")
        if quick is not None and (not isinstance(quick, list) or len(quick) > 13 or any(
                len(str(q.get("title", ""))) > 20 or not q.get("payload") for q in quick if isinstance(q, dict))):
            return _invalid("param message[quick_replies] must have at most 13 items with titles of 20 characters")
        return _json(200, {"recipient_id": to, "message_id": "m_LOCAL" + secrets.token_urlsafe(24)})
