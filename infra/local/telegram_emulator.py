"""A local stand-in for the Telegram Bot API on the gateway's loopback port.

- POST /local/telegram/bot<token>/<method> answers like the Bot API: {"ok": true, "result": ...} for sendMessage,
  sendPhoto, sendVideo, sendAudio, sendDocument, sendSticker, sendLocation (a Message with a per-chat message_id),
  getFile (for a file in `files`: {file_id: (bytes, file_path)}), setMessageReaction, sendChatAction,
  answerCallbackQuery, setWebhook, getMe; an unknown token answers 401 Unauthorized, a chat in `blocked` 403
  "Forbidden: bot was blocked by the user", a missing chat_id or text 400, and `throttle` (a count) that many 429s
  with parameters.retry_after.
- GET  /local/telegram/file/bot<token>/<file_path>  the bytes of a file in `files` (after getFile)
- GET  /local/telegram/calls                 what it received: [{token, method, params}] in arrival order.
- POST /local/telegram/config                {"tokens": [...], "blocked": [chat ids], "throttle": n}
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

PREFIX = "/local/telegram"
SENDS = {"sendMessage": "text", "sendPhoto": "photo", "sendVideo": "video", "sendAudio": "audio",
         "sendDocument": "document", "sendSticker": "sticker", "sendLocation": "latitude"}
ACKS = {"setMessageReaction", "sendChatAction", "answerCallbackQuery", "setWebhook", "deleteWebhook"}


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body, ensure_ascii=False).encode()


def _error(status: int, description: str, **parameters: Any) -> tuple[int, dict[str, str], bytes]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return _json(status, body)


class TelegramEmulator:
    def __init__(self, tokens: set[str] | None = None) -> None:
        self.tokens: set[str] = set(tokens or ())
        self.blocked: set[str] = set()
        self.throttle = 0
        self.calls: list[dict[str, Any]] = []
        self._next_id: dict[str, int] = {}
        self.files: dict[str, tuple[bytes, str]] = {}  # file_id -> (bytes, file_path): getFile and downloads
        self._lock = threading.Lock()

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes] | None:
        if not path.startswith(PREFIX + "/"):
            return None
        rest = path[len(PREFIX) + 1:]
        if rest == "calls" and method == "GET":
            with self._lock:
                return _json(200, list(self.calls))
        if rest == "config" and method == "POST":
            spec = json.loads(body or b"{}")
            with self._lock:
                self.tokens |= {str(t) for t in spec.get("tokens", [])}
                self.blocked = {str(c) for c in spec.get("blocked", self.blocked)}
                self.throttle = int(spec.get("throttle", self.throttle))
            return _json(200, {"ok": True})
        if rest.startswith("file/bot") and method == "GET":  # a file getFile pointed at
            token, _, file_path = rest[len("file/bot"):].partition("/")
            with self._lock:
                found = next((data for data, p in self.files.values() if p == file_path), None)
                if token not in self.tokens or found is None:
                    return _error(404, "Not Found")
            return 200, {"Content-Type": "application/octet-stream"}, found
        if not rest.startswith("bot") or "/" not in rest or method != "POST":
            return _error(404, "Not Found")
        token, api_method = rest[3:].split("/", 1)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "Bad Request: can't parse JSON")
        with self._lock:
            if token not in self.tokens:
                return _error(401, "Unauthorized")
            self.calls.append({"token": token, "method": api_method, "params": params})
            if api_method == "getMe":
                return _json(200, {"ok": True, "result": {"id": int(token.split(":")[0]), "is_bot": True,
                                                          "first_name": "Banco Demo", "username": "banco_demo_bot"}})
            if api_method in ACKS:
                return _json(200, {"ok": True, "result": True})
            if api_method == "getFile":
                file_id = str(params.get("file_id") or "")
                if file_id not in self.files:
                    return _error(400, "Bad Request: invalid file_id")
                data, file_path = self.files[file_id]
                return _json(200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": file_id[:8],
                                                          "file_size": len(data), "file_path": file_path}})
            if api_method not in SENDS:
                return _error(404, "Not Found: method not found")
            chat = str(params.get("chat_id") or "")
            if not chat or SENDS[api_method] not in params:
                return _error(400, f"Bad Request: {'chat_id' if not chat else SENDS[api_method]} is empty")
            if self.throttle > 0:
                self.throttle -= 1
                return _error(429, "Too Many Requests: retry after 1", retry_after=1)
            if chat in self.blocked:
                return _error(403, "Forbidden: bot was blocked by the user")
            self._next_id[chat] = self._next_id.get(chat, 1000) + 1
            return _json(200, {"ok": True, "result": {"message_id": self._next_id[chat], "date": int(time.time()),
                                                      "chat": {"id": int(chat) if chat.lstrip("-").isdigit()
                                                               else chat, "type": "private"}}})
