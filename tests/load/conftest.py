"""The load tests run in their own pytest process with their own local stack (make test runs them after the
rest): a 100,000-recipient broadcast fills the moto table, which would slow every other test's index queries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local.stack import LocalStack


@pytest.fixture(scope="session")
def load_stack() -> Iterator[LocalStack]:
    local = LocalStack(prefix="load", visibility_timeout_s=20, demo_bot=False, schedules=False, max_pollers=4,
                       extra_env={"BROADCAST_CLAIM_LEASE_S": "3", "BROADCAST_CONCURRENCY": "24"})
    local.start()
    yield local
    local.stop()
