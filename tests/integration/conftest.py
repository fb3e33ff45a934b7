from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from infra.local.provision import DemoChannel, DemoTenant, seed_channel, seed_demo_bot, seed_tenant
from infra.local.stack import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    # moto keeps its state per process, so one stack serves the whole session (tests use distinct contacts)
    # The demo tenant keeps the channel's fixed auto-reply here (message-flow tests count replies); the demo
    # bot answers on its own tenant and channel (the `bank` fixture).
    local = LocalStack(prefix="it", visibility_timeout_s=2, demo_bot=False,
                       extra_env={"BOT_COALESCE_CAP_S": "1","RETRY_BASE_DELAY_S": "1", "RETRY_MAX_DELAY_S": "2",
                                  "WEBHOOKS_RETRY_BASE_DELAY_S": "1", "WEBHOOKS_RETRY_MAX_DELAY_S": "2",
                                  "WEBHOOKS_MAX_ATTEMPTS": "3"})
    local.start()
    yield local
    local.stop()


@pytest.fixture(autouse=True)
def _clean_graph(stack: LocalStack) -> None:
    stack.graph.reset()


def graph_requests(stack: LocalStack) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{stack.url}/local/graph/requests", timeout=10) as response:
        return list(json.loads(response.read()))


def sends_to(stack: LocalStack, to: str) -> list[dict[str, Any]]:
    return [r for r in graph_requests(stack) if r["path"].endswith("/messages") and (r["body"] or {}).get("to") == to]


def register_media(stack: LocalStack, media_id: str, data: bytes, mime_type: str = "image/jpeg") -> str:
    """Media the Graph emulator serves for `media_id` (what a customer's photo points at); its sha256 (base64), as
    the webhook carries it."""
    request = urllib.request.Request(f"{stack.url}/local/graph/media", method="POST", data=json.dumps({
        "media_id": media_id, "data_b64": base64.b64encode(data).decode(), "mime_type": mime_type}).encode())
    urllib.request.urlopen(request, timeout=10).read()
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def inject_fault(stack: LocalStack, **fault: Any) -> None:
    request = urllib.request.Request(f"{stack.url}/local/graph/faults", data=json.dumps(fault).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def table(stack: LocalStack) -> Any:
    return boto3.resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


BANK = DemoChannel(tenant_id="banco", channel_id="banco-whatsapp", phone_number_id="100000000000077",
                   display_phone_number="15550000077", app_secret="banco-app-secret", verify_token="banco-verify",
                   access_token="banco-access-token", auto_reply_text="")


@pytest.fixture(scope="session")
def bank(stack: LocalStack) -> DemoChannel:
    """A second tenant whose WhatsApp channel is answered by the Spanish demo bot (examples/bots)."""
    seed_tenant(stack.resources, DemoTenant(tenant_id=BANK.tenant_id, name="Banco Demo", api_key="banco-api-key"))
    seed_channel(stack.resources, BANK)
    seed_demo_bot(BANK.tenant_id, stack.core_banking_url)
    return BANK
