"""Property-based fuzzing of the REST API from its own OpenAPI document (schemathesis, on the local gateway).

Every operation gets generated requests, valid and invalid; no answer may be a 5xx, and every documented
answer must match its schema (problem+json for errors).
"""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from infra.local.stack import LocalStack  # noqa: E402
from tests.integration.api_client import onboard  # noqa: E402

pytestmark = pytest.mark.integration
MAX_EXAMPLES = 15
_state: dict[str, Any] = {}


@pytest.fixture(scope="module")
def fuzz_key(stack: LocalStack) -> str:
    if "key" not in _state:
        _state["key"] = onboard(stack, "fuzz", max_contacts=100_000, rate_limit_per_s=10_000)
    return str(_state["key"])


def test_no_5xx_and_answers_match_the_schema(stack: LocalStack, fuzz_key: str) -> None:
    """Each operation is fuzzed on its own (hypothesis drives schemathesis' strategies); all failures are listed."""
    from hypothesis import given

    api = schemathesis.openapi.from_url(f"{stack.url}/v1/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def run(case: Any) -> None:
            case.call_and_validate(base_url=stack.url, headers={"Authorization": f"Bearer {fuzz_key}"},
                                   checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect them all, then report
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
