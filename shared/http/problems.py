"""RFC 9457 problem+json answers with stable codes, registered once per resolver."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from shared.errors import ApiProblem, RateLimited
from shared.observability import logger

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://omnichannel.dev/problems/"


def problem(status: int, code: str, title: str, detail: str, *, errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> Response[str]:
    body: dict[str, Any] = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail,
                            "code": code}
    if errors:
        body["errors"] = errors
    return Response(status_code=status, content_type=PROBLEM_JSON, body=json.dumps(body, default=str),
                    headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors()[:50]:
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"location": ".".join(loc), "message": str(err.get("msg", "invalid")),
                    "type": str(err.get("type", "invalid"))})
    return out


def register(app: Any) -> None:
    @app.exception_handler(ApiProblem)
    def _api_problem(exc: ApiProblem) -> Response[str]:
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
        return problem(exc.status, exc.code, exc.title, exc.detail, errors=exc.errors or None, headers=headers)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[str]:
        return problem(422, "invalid_input", "Invalid input", "the request does not match the API schema",
                       errors=_validation_errors(exc))

    @app.exception_handler(NotFoundError)
    def _no_route(exc: NotFoundError) -> Response[str]:
        return problem(404, "not_found", "Not found", "no such endpoint")

    @app.exception_handler(json.JSONDecodeError)
    def _bad_json(exc: json.JSONDecodeError) -> Response[str]:
        return problem(400, "malformed_json", "Malformed JSON", "the request body is not valid JSON")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return problem(500, "internal_error", "Internal error", "an unexpected error occurred; it has been logged")


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object", "title": "Problem", "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string", "description": "Stable machine-readable code"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "location": {"type": "string"}, "message": {"type": "string"}, "type": {"type": "string"}}}},
    },
}
ERROR_STATUSES = {"400": "Malformed request", "401": "No principal", "402": "Plan limit reached",
                  "403": "Missing scope", "404": "Not found (also for other tenants' ids)",
                  "409": "Conflict", "412": "Precondition failed", "422": "Invalid input",
                  "429": "Rate limited (see Retry-After)"}


def document_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Add the problem+json answers to every operation, and put success bodies under their real status."""
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    document["components"]["schemas"].pop("HTTPValidationError", None)
    document["components"]["schemas"].pop("ValidationError", None)
    ref = {"$ref": "#/components/schemas/Problem"}
    for item in document.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for code in ("201", "202"):
                if code in responses and "200" in responses:
                    responses[code] = {**responses.pop("200"), "description": responses[code].get("description", "")}
            if "204" in responses:
                responses.pop("200", None)
                responses["204"] = {"description": responses["204"].get("description", "No content")}
            for code, description in ERROR_STATUSES.items():
                responses[code] = {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}
    return document
