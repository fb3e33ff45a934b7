"""An integrator's webhook endpoint on loopback, and the fixture that lets the dispatcher post to it (private hosts
are refused unless WEBHOOKS_ALLOW_PRIVATE_HOSTS names them)."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from infra.local.stack import LocalStack, free_port


class Receiver:
    """A webhook endpoint on loopback: keeps every request; answers with the queued `answers` (status codes), then
    200."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                pass

            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True, name="webhook-receiver").start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def payloads(self, name: str) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests if r["path"] == f"/{name}"]


def _forget_settings() -> None:
    from functions.api import deps
    from shared.config import get_settings

    get_settings.cache_clear()
    deps.clear()
    handler = sys.modules.get("functions.webhook_dispatcher.handler")
    if handler is not None:
        handler.get_service.cache_clear()


@pytest.fixture(name="receiver")
def receiver_fixture(stack: LocalStack) -> Iterator[Receiver]:
    """A Receiver the webhook dispatcher may post to (import this into a test module to use `receiver`)."""
    local = Receiver()
    before = os.environ.get("WEBHOOKS_ALLOW_PRIVATE_HOSTS")
    os.environ["WEBHOOKS_ALLOW_PRIVATE_HOSTS"] = f"127.0.0.1:{local.port}"
    _forget_settings()
    yield local
    local.server.shutdown()
    if before is None:
        os.environ.pop("WEBHOOKS_ALLOW_PRIVATE_HOSTS", None)
    else:
        os.environ["WEBHOOKS_ALLOW_PRIVATE_HOSTS"] = before
    _forget_settings()
