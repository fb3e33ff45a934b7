"""A small HTTP client for the local gateway's REST APIs, and tenant onboarding through the platform API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from infra.local.stack import LocalStack

OPERATOR_KEY = "local-platform-key"
DEMO_KEY = "local-demo-api-key"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    text: str


def call(stack: LocalStack, method: str, path: str, body: Any = None, *, key: str | None = DEMO_KEY,
         headers: dict[str, str] | None = None, raw: bytes | None = None) -> Answer:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    sent = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {}),
            **(headers or {})}
    request = urllib.request.Request(stack.url + path, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, out_headers, payload = response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as err:
        status, out_headers, payload = err.code, dict(err.headers.items()), err.read()
    text = payload.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return Answer(status, {k.lower(): v for k, v in out_headers.items()}, parsed, text)


def onboard(stack: LocalStack, tenant_id: str, *, max_contacts: int = 1000, rate_limit_per_s: int = 1000,
            scopes: list[str] | None = None) -> str:
    """Create a tenant through the platform API and return a fresh API key for it."""
    created = call(stack, "POST", "/platform/v1/tenants", {
        "tenant_id": tenant_id, "name": tenant_id.title(),
        "plan": {"name": "test", "max_contacts": max_contacts, "rate_limit_per_s": rate_limit_per_s}},
        key=OPERATOR_KEY)
    assert created.status in (201, 409), created.text
    issued = call(stack, "POST", f"/platform/v1/tenants/{tenant_id}/api-keys",
                  {"name": "tests", **({"scopes": scopes} if scopes else {})}, key=OPERATOR_KEY)
    assert issued.status == 201, issued.text
    return str(issued.body["key"])
