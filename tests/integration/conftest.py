from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from infra.local.stack import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    # moto keeps its state per process, so one stack serves the whole session (tests use distinct contacts)
    local = LocalStack(prefix="it", visibility_timeout_s=2,
                       extra_env={"RETRY_BASE_DELAY_S": "1", "RETRY_MAX_DELAY_S": "2",
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
