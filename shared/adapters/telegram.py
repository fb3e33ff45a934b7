"""Telegram Bot API client over httpx: `POST {base}/bot<token>/<method>` with JSON parameters.

The Bot API answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code": 403, "description": "...",
"parameters": {"retry_after": 5}}`; failures become ProviderSendError with Telegram's code and description.
The token is part of the URL, so it never appears in what is raised or logged.
"""

from __future__ import annotations

from typing import Any

import httpx

from shared.ports import ProviderSendError, SendResult
from shared.services.telegram_parser import message_ref


class BotApiClient:
    def __init__(self, *, base_url: str, timeout_s: float, transport: httpx.BaseTransport | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._http = httpx.Client(timeout=timeout_s, transport=transport, headers={"User-Agent": "omnichannel/0.1"})

    def call(self, token: str, method: str, params: dict[str, Any]) -> Any:
        """One Bot API method; its `result`, or ProviderSendError."""
        try:
            response = self._http.post(f"{self._base}/bot{token}/{method}", json=params)
        except httpx.TimeoutException as exc:
            raise ProviderSendError(http_status=None, code=None, title="timeout", details=method) from exc
        except httpx.TransportError as exc:
            raise ProviderSendError(http_status=None, code=None, title="connection error",
                                    details=type(exc).__name__) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400 or not isinstance(body, dict) or body.get("ok") is not True:
            body = body if isinstance(body, dict) else {}
            parameters: dict[str, Any] = body["parameters"] if isinstance(body.get("parameters"), dict) else {}
            retry_after = parameters.get("retry_after")
            code = body.get("error_code") if isinstance(body.get("error_code"), int) else response.status_code
            raise ProviderSendError(http_status=response.status_code, code=code,
                                    title=str(body.get("description") or response.reason_phrase or "error"),
                                    details=method, retry_after_s=retry_after if isinstance(retry_after, int) else None)
        return body.get("result")

    def send(self, token: str, method: str, params: dict[str, Any]) -> SendResult:
        """A message-sending method: the sent message's id as we store it (`<chat id>:<message id>`)."""
        result = self.call(token, method, params)
        if isinstance(result, dict) and result.get("message_id") is not None:
            chat: dict[str, Any] = result["chat"] if isinstance(result.get("chat"), dict) else {}
            return SendResult(provider_message_id=message_ref(chat.get("id", params.get("chat_id")),
                                                              result["message_id"]))
        return SendResult(provider_message_id=None)
