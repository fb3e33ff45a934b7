"""Synthesize the CDK app once per test session; tests read the template, never hashed logical ids."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import Synthesized, synthesize


@pytest.fixture(scope="session")
def synthesized() -> Synthesized:
    return synthesize()


@pytest.fixture(scope="session")
def template_dict(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.template


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    return Template.from_json(synthesized.template)
