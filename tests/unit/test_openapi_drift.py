"""The committed OpenAPI document (docs/openapi.json) is exactly what the code generates."""

from __future__ import annotations

import json

from functions.api.handler import openapi_json
from functions.api.openapi_dump import TARGET


def test_committed_openapi_document_matches_the_code() -> None:
    committed = TARGET.read_text(encoding="utf-8")
    assert committed == openapi_json() + "\n", "docs/openapi.json is stale: run `make openapi` and commit it"


def test_every_operation_documents_problem_json_errors_and_security() -> None:
    document = json.loads(openapi_json())
    assert {"bearer", "apiKey"} <= set(document["components"]["securitySchemes"])
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for code in ("401", "403", "404", "422", "429"):
                content = operation["responses"][code]["content"]
                assert "application/problem+json" in content, (method, path, code)
