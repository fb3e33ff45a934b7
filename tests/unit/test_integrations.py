from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import ValidationError

from shared.services.integrations import (
    BlockedTarget,
    HttpResponse,
    IntegrationRunner,
    IntegrationSpec,
    ResponseTooLarge,
    TransportError,
    TransportTimeout,
    referenced_secret_aliases,
    tool_schema,
    validate_inputs,
)


@dataclass
class FakeTransport:
    responses: list[HttpResponse | Exception] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def reply(self, status: int = 200, body: Any = None, raw: bytes | None = None) -> FakeTransport:
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.responses.append(HttpResponse(status=status, body=payload, headers={"content-type": "application/json"}))
        return self

    def fail(self, exc: Exception) -> FakeTransport:
        self.responses.append(exc)
        return self

    def request(self, method: str, url: str, *, headers: Mapping[str, str], params: Mapping[str, str],
                json_body: Any, timeout_s: float) -> HttpResponse:
        self.calls.append({"method": method, "url": url, "headers": dict(headers), "params": dict(params),
                           "json_body": json_body, "timeout_s": timeout_s})
        item = self.responses.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


@dataclass
class FakeSecrets:
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def read_json(self, name: str) -> dict[str, Any] | None:
        self.reads.append(name)
        return self.values.get(name)


class Clock:
    def __init__(self) -> None:
        self.now = 1000

    def __call__(self) -> int:
        self.now += 7
        return self.now


PREFIX = "omnichannel/integrations"


def customer_spec(**overrides: Any) -> IntegrationSpec:
    data: dict[str, Any] = {
        "name": "consultar_cliente",
        "description": "Busca un cliente por su número de documento.",
        "url": "https://core.banco.example/customers/{{input.documento}}",
        "headers": {"X-Api-Key": "{{secret.core.api_key}}", "X-Canal": "{{ canal | default: 'whatsapp' }}"},
        "secrets": {"core": "core-banking"},
        "parameters": {"documento": {"type": "string", "description": "DNI sin puntos"}},
        "outputs": {"customer_number": "customer_number", "email": "email?"},
    }
    data.update(overrides)
    return IntegrationSpec.model_validate(data)


def runner(transport: FakeTransport, secrets: FakeSecrets | None = None) -> IntegrationRunner:
    store = secrets if secrets is not None else FakeSecrets({
        f"{PREFIX}/acme/core-banking": {"api_key": "k-acme"},
        f"{PREFIX}/other/core-banking": {"api_key": "k-other"}})
    return IntegrationRunner(transport=transport, secrets=store, secret_prefix=PREFIX + "/", clock_ms=Clock())


# --- running -------------------------------------------------------------------------------------------

def test_renders_url_headers_and_maps_outputs() -> None:
    transport = FakeTransport().reply(200, {"customer_number": "C-1001", "full_name": "Lucía"})
    result = runner(transport).call("acme", customer_spec(), variables={}, inputs={"documento": "30123456"})
    assert result.ok and result.error is None
    assert result.status == 200
    assert result.outputs == {"customer_number": "C-1001", "email": None}
    assert result.data == {"customer_number": "C-1001", "full_name": "Lucía"}
    assert result.duration_ms == 7
    call = transport.calls[0]
    assert call["method"] == "GET"
    assert call["url"] == "https://core.banco.example/customers/30123456"
    assert call["headers"] == {"X-Api-Key": "k-acme", "X-Canal": "whatsapp"}
    assert call["json_body"] is None
    assert call["timeout_s"] == 5


def test_secrets_are_read_under_the_tenant_prefix_only() -> None:
    secrets = FakeSecrets({f"{PREFIX}/acme/core-banking": {"api_key": "k-acme"},
                           f"{PREFIX}/other/core-banking": {"api_key": "k-other"}})
    transport = FakeTransport().reply(200, {"customer_number": "C"}).reply(200, {"customer_number": "C"})
    run = runner(transport, secrets)
    run.call("acme", customer_spec(), variables={}, inputs={"documento": "1"})
    run.call("other", customer_spec(), variables={}, inputs={"documento": "1"})
    assert secrets.reads == [f"{PREFIX}/acme/core-banking", f"{PREFIX}/other/core-banking"]
    assert [c["headers"]["X-Api-Key"] for c in transport.calls] == ["k-acme", "k-other"]


def test_only_referenced_secrets_are_read() -> None:
    spec = customer_spec(secrets={"core": "core-banking", "crm": "crm"})
    assert referenced_secret_aliases(spec) == ["core"]
    secrets = FakeSecrets({f"{PREFIX}/acme/core-banking": {"api_key": "k"}})
    runner(FakeTransport().reply(200, {"customer_number": "C"}), secrets).call(
        "acme", spec, variables={}, inputs={"documento": "1"})
    assert secrets.reads == [f"{PREFIX}/acme/core-banking"]


def test_missing_secret() -> None:
    transport = FakeTransport()
    result = runner(transport, FakeSecrets()).call("acme", customer_spec(), variables={}, inputs={"documento": "1"})
    assert (result.ok, result.error, result.status) == (False, "secret_missing:core", None)
    assert transport.calls == []


def test_secret_without_the_field_is_a_template_error() -> None:
    secrets = FakeSecrets({f"{PREFIX}/acme/core-banking": {"other": "x"}})
    result = runner(FakeTransport(), secrets).call("acme", customer_spec(), variables={}, inputs={"documento": "1"})
    assert result.error == "template:secret.core.api_key"


def test_tenant_ids_cannot_escape_the_prefix() -> None:
    with pytest.raises(ValueError, match="tenant"):
        runner(FakeTransport()).call("../other", customer_spec(), variables={}, inputs={"documento": "1"})


def test_values_in_the_url_are_percent_encoded() -> None:
    transport = FakeTransport().reply(200, {"customer_number": "C"})
    runner(transport).call("acme", customer_spec(), variables={}, inputs={"documento": "../admin?x=1#"})
    assert transport.calls[0]["url"] == "https://core.banco.example/customers/..%2Fadmin%3Fx%3D1%23"


def test_base_url_from_a_secret_is_not_escaped() -> None:
    spec = customer_spec(url="{{secret.core.base_url}}/customers/{{input.documento}}")
    secrets = FakeSecrets({f"{PREFIX}/acme/core-banking": {"api_key": "k", "base_url": "http://127.0.0.1:3000/cb"}})
    transport = FakeTransport().reply(200, {"customer_number": "C"})
    assert runner(transport, secrets).call("acme", spec, variables={}, inputs={"documento": "1/2"}).ok
    assert transport.calls[0]["url"] == "http://127.0.0.1:3000/cb/customers/1%2F2"


def test_post_body_query_and_contact_templating() -> None:
    spec = IntegrationSpec.model_validate({
        "name": "solicitar_desembolso", "description": "Desembolsa el préstamo.", "method": "POST",
        "url": "https://core.banco.example/disbursements",
        "headers": {"Authorization": "Bearer {{secret.core.token}}", "Idempotency-Key": "{{vars.solicitud_id}}"},
        "query": {"canal": "{{contact.channel}}", "page_token": "{{ vars.cursor | default: '' }}"},
        "body": {"customer_number": "{{customer_number}}", "amount": "{{input.monto}}",
                 "meta": {"nota": "Pedido de {{contact.name}}", "tags": ["bot", "{{vars.zona | upper}}"]}},
        "secrets": {"core": "core-banking"},
        "parameters": {"monto": {"type": "integer", "description": "Monto en pesos"}},
        "outputs": {"disbursement_id": "disbursement_id"},
        "success_statuses": [201],
        "timeout_s": 2.5,
    })
    secrets = FakeSecrets({f"{PREFIX}/acme/core-banking": {"token": "t-1"}})
    transport = FakeTransport().reply(201, {"disbursement_id": "D-1", "status": "submitted"})
    result = runner(transport, secrets).call(
        "acme", spec, variables={"customer_number": "C-1001", "solicitud_id": "req-9", "zona": "palermo"},
        inputs={"monto": 150000}, contact={"name": "Lucía", "channel": "whatsapp"})
    assert result.ok and result.outputs == {"disbursement_id": "D-1"}
    call = transport.calls[0]
    assert call["headers"] == {"Authorization": "Bearer t-1", "Idempotency-Key": "req-9"}
    assert call["params"] == {"canal": "whatsapp", "page_token": ""}
    assert call["json_body"] == {"customer_number": "C-1001", "amount": 150000,
                                 "meta": {"nota": "Pedido de Lucía", "tags": ["bot", "PALERMO"]}}
    assert call["timeout_s"] == 2.5


def test_success_statuses_override_2xx() -> None:
    spec = customer_spec(success_statuses=[201])
    result = runner(FakeTransport().reply(200, {"customer_number": "C"})).call(
        "acme", spec, variables={}, inputs={"documento": "1"})
    assert (result.ok, result.error, result.status) == (False, "http_200", 200)


def test_outputs_nested_lists_and_optional() -> None:
    spec = customer_spec(outputs={"first_slot": "slots.0.id", "second_label": "slots.1.label",
                                  "limit": "data.limit", "note": "data.note?", "third": "slots.2.id?"})
    body = {"slots": [{"id": "S1"}, {"id": "S2", "label": "lun 09:00"}], "data": {"limit": 500000}}
    result = runner(FakeTransport().reply(200, body)).call("acme", spec, variables={}, inputs={"documento": "1"})
    assert result.outputs == {"first_slot": "S1", "second_label": "lun 09:00", "limit": 500000, "note": None,
                              "third": None}


def test_missing_required_output() -> None:
    spec = customer_spec(outputs={"limit": "data.limit"})
    result = runner(FakeTransport().reply(200, {"data": {}})).call("acme", spec, variables={},
                                                                   inputs={"documento": "1"})
    assert (result.ok, result.error, result.status) == (False, "missing_output:data.limit", 200)
    assert result.outputs == {}
    assert result.data == {"data": {}}


def test_http_error_keeps_the_error_body_as_data() -> None:
    result = runner(FakeTransport().reply(404, {"error": "not_found"})).call(
        "acme", customer_spec(), variables={}, inputs={"documento": "1"})
    assert (result.ok, result.error, result.status, result.data) == (False, "http_404", 404, {"error": "not_found"})


@pytest.mark.parametrize(("exc", "error"), [
    (TransportTimeout("slow"), "timeout"),
    (BlockedTarget("private"), "blocked_target"),
    (TransportError("refused"), "connection_failed"),
    (ResponseTooLarge("2 MB"), "bad_response"),
])
def test_transport_failures_map_to_errors(exc: Exception, error: str) -> None:
    result = runner(FakeTransport().fail(exc)).call("acme", customer_spec(), variables={}, inputs={"documento": "1"})
    assert (result.ok, result.error, result.status, result.outputs) == (False, error, None, {})


def test_non_json_body_is_bad_response_only_when_outputs_are_requested() -> None:
    result = runner(FakeTransport().reply(200, raw=b"<html>ok</html>")).call(
        "acme", customer_spec(), variables={}, inputs={"documento": "1"})
    assert (result.ok, result.error) == (False, "bad_response")
    no_outputs = customer_spec(outputs={})
    result = runner(FakeTransport().reply(204, raw=b"")).call("acme", no_outputs, variables={},
                                                              inputs={"documento": "1"})
    assert (result.ok, result.error, result.status, result.data) == (True, None, 204, None)


def test_missing_variable_is_a_template_error() -> None:
    spec = customer_spec(url="https://core.banco.example/credit/preapproved/{{customer_number}}", parameters={})
    transport = FakeTransport()
    result = runner(transport).call("acme", spec, variables={}, inputs=None)
    assert (result.ok, result.error) == (False, "template:customer_number")
    assert transport.calls == []


def test_header_values_with_newlines_are_refused() -> None:
    spec = customer_spec(headers={"X-Api-Key": "{{secret.core.api_key}}", "X-Nota": "{{vars.nota}}"})
    transport = FakeTransport()
    result = runner(transport).call("acme", spec, variables={"nota": "a\r\nX-Evil: 1"}, inputs={"documento": "1"})
    assert result.error == "template:X-Nota"
    assert transport.calls == []


# --- inputs --------------------------------------------------------------------------------------------

def inputs_spec() -> IntegrationSpec:
    return customer_spec(
        url="https://core.banco.example/x/{{input.documento}}",
        parameters={
            "documento": {"type": "string", "description": "DNI"},
            "monto": {"type": "number", "description": "Monto", "required": False},
            "cuotas": {"type": "integer", "description": "Cuotas", "required": False, "enum": [3, 6, 12]},
            "urgente": {"type": "boolean", "description": "Urgente", "required": False},
            "motivo": {"type": "string", "description": "Motivo", "required": False, "enum": ["luz", "agua"]},
        })


@pytest.mark.parametrize(("inputs", "bad"), [
    ({}, "documento"),
    (None, "documento"),
    ({"documento": 30123456}, "documento"),
    ({"documento": "1", "monto": "100"}, "monto"),
    ({"documento": "1", "monto": True}, "monto"),
    ({"documento": "1", "monto": float("nan")}, "monto"),
    ({"documento": "1", "cuotas": 4}, "cuotas"),
    ({"documento": "1", "cuotas": 3.5}, "cuotas"),
    ({"documento": "1", "cuotas": True}, "cuotas"),
    ({"documento": "1", "urgente": "si"}, "urgente"),
    ({"documento": "1", "motivo": "gas"}, "motivo"),
    ({"documento": "1", "extra": 1}, "extra"),
    ({"documento": "1\n2"}, "documento"),
    ({"documento": "x" * 3000}, "documento"),
])
def test_invalid_inputs(inputs: dict[str, Any] | None, bad: str) -> None:
    transport = FakeTransport()
    result = runner(transport).call("acme", inputs_spec(), variables={}, inputs=inputs)
    assert (result.ok, result.error) == (False, f"invalid_input:{bad}")
    assert transport.calls == []


def test_valid_inputs_are_normalized() -> None:
    clean, bad = validate_inputs(inputs_spec(), {"documento": "1", "monto": 10, "cuotas": 6.0, "urgente": False,
                                                 "motivo": "luz"})
    assert bad is None
    assert clean == {"documento": "1", "monto": 10, "cuotas": 6, "urgente": False, "motivo": "luz"}
    assert isinstance(clean["cuotas"], int)
    assert validate_inputs(inputs_spec(), {"documento": "1", "monto": None}) == ({"documento": "1"}, None)


# --- definitions ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer abc123"},
    {"authorization": "{{vars.token}}"},
    {"X-Api-Key": "demo-core-key"},
    {"Api-Key": "k"},
    {"Cookie": "session=abc"},
    {"Proxy-Authorization": "Basic dXNlcjpwYXNz"},
    {"X-Auth-Token": "abc"},
    {"X-Client-Secret": "abc"},
    {"X-Partner-Key": "{{input.documento}}"},
    {"X-Api-Key": "{{secret.core.api_key}} extra"},
    {"Authorization": "Bearer {{secret.core.token}}:{{vars.x}}"},
])
def test_literal_credentials_in_headers_are_rejected(headers: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="credential"):
        customer_spec(headers=headers)


@pytest.mark.parametrize("headers", [
    {"X-Api-Key": "{{secret.core.api_key}}"},
    {"Authorization": "Bearer {{ secret.core.token }}"},
    {"Cookie": "session={{secret.core.cookie}}"},
    {"X-Token": "{{secret.core.a}}{{secret.core.b}}"},
    {"Idempotency-Key": "{{vars.request_id}}"},
    {"Accept-Language": "es-AR", "X-Canal": "{{vars.canal}}"},
])
def test_secret_templated_credentials_are_accepted(headers: dict[str, str]) -> None:
    assert customer_spec(headers=headers).headers == headers


@pytest.mark.parametrize("overrides", [
    {"query": {"api_key": "abc"}},
    {"query": {"accessToken": "abc {{vars.x}}"}},
    {"url": "https://core.banco.example/x?token=abc"},
    {"url": "https://user:pass@core.banco.example/x"},
    {"method": "POST", "body": {"auth": {"password": "hunter2"}}},
    {"method": "POST", "body": [{"client_secret": "s"}]},
    {"method": "POST", "body": {"pin": 1234}},
])
def test_literal_credentials_in_query_url_and_body_are_rejected(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="credential"):
        customer_spec(**overrides)


def test_templated_credentials_in_query_and_body_are_accepted() -> None:
    spec = customer_spec(method="POST", query={"api_key": "{{secret.core.api_key}}", "page_token": "{{vars.c}}",
                                               "keyword": "luz"},
                         body={"password": "{{secret.core.password}}", "monkey": "x", "idempotency": "{{vars.i}}"})
    assert spec.query["keyword"] == "luz"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"url": "https://{{vars.host}}/x"}, "literal"),
    ({"url": "https://core.banco.example{{vars.path}}"}, "literal"),
    ({"url": "ftp://core.banco.example/x"}, "literal"),
    ({"url": "//core.banco.example/x"}, "literal"),
    ({"url": "{{vars.base_url}}/x"}, "literal"),
    ({"url": "{{input.documento}}/x"}, "literal"),
    ({"url": "{{secret.core.base_url}}{{input.documento}}"}, "literal"),
    ({"url": "{{secret.core.base_url}}.evil.example/x"}, "literal"),
    ({"url": "x{{secret.core.base_url}}/x"}, "literal"),
    ({"url": "{{secret.other.base_url}}/x"}, "undeclared secret alias"),
    ({"headers": {"X-Api-Key": "{{secret.crm.key}}"}}, "undeclared secret alias"),
    ({"headers": {"X-Api-Key": "{{secret.core}}"}}, "must name a field"),
    ({"url": "https://core.banco.example/x/{{input.cuit}}"}, "undeclared parameter"),
    ({"body": {"a": 1}}, "GET"),
    ({"name": "Consultar-Cliente"}, "name"),
    ({"description": "  "}, "description"),
    ({"timeout_s": 30}, "timeout_s"),
    ({"timeout_s": 0.1}, "timeout_s"),
    ({"secrets": {"core": "../other-tenant/core-banking"}}, "secret name"),
    ({"secrets": {"Core": "core-banking"}}, "alias"),
    ({"outputs": {"limit": "data..limit"}}, "output path"),
    ({"outputs": {"Limit": "data.limit"}}, "output variable"),
    ({"parameters": {"Doc": {"type": "string"}}}, "parameter"),
    ({"parameters": {"documento": {"type": "integer", "enum": ["a"]}}}, "enum"),
    ({"parameters": {"documento": {"type": "date"}}}, "type"),
    ({"success_statuses": [99]}, "success_statuses"),
    ({"headers": {"Host": "evil.example"}}, "transport"),
    ({"headers": {"X-Bad Name": "x"}}, "header name"),
    ({"url": "https://core.banco.example/{{ broken"}, "template"),
    ({"extra_field": 1}, "extra"),
])
def test_definition_errors(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        customer_spec(**overrides)


def test_tool_schema() -> None:
    assert tool_schema(inputs_spec()) == {
        "type": "object",
        "properties": {
            "documento": {"type": "string", "description": "DNI"},
            "monto": {"type": "number", "description": "Monto"},
            "cuotas": {"type": "integer", "description": "Cuotas", "enum": [3, 6, 12]},
            "urgente": {"type": "boolean", "description": "Urgente"},
            "motivo": {"type": "string", "description": "Motivo", "enum": ["luz", "agua"]},
        },
        "required": ["documento"],
        "additionalProperties": False,
    }
    assert tool_schema(customer_spec(parameters={}, url="https://x.example/a")) == {
        "type": "object", "properties": {}, "required": [], "additionalProperties": False}
