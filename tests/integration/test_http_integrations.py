"""Integrations over real HTTP: the SSRF-safe httpx transport against a loopback server (the sample core-banking
API plus a few extra paths) and the Secrets Manager reader against moto server."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from examples.core_banking.api import CoreBankingApi
from infra.local.stack import LocalStack
from shared.adapters.http_integrations import HttpxTransport, SecretsManagerJsonReader
from shared.services.integrations import (
    BlockedTarget,
    IntegrationRunner,
    IntegrationSpec,
    TransportError,
)

pytestmark = pytest.mark.integration

API_KEY = "demo-core-key"
PREFIX = "omnichannel/integrations"
MOUNT = "/local/core-banking"


@dataclass
class Upstream:
    api: CoreBankingApi
    port: int
    paths: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    api = CoreBankingApi(api_key=API_KEY, slow_delay_s=3.5)
    state = Upstream(api=api, port=0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _serve(self) -> None:
            state.paths.append(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith("/redirect"):
                self._send(302, {"Location": f"{MOUNT}/customers/30123456"}, b"")
                return
            if self.path == "/big":
                self._send(200, {"Content-Type": "application/json"}, b'"' + b"x" * 2_000_000 + b'"')
                return
            if self.path.startswith("/echo"):
                self._send(200, {"Content-Type": "application/json"}, json.dumps({
                    "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": json.loads(body) if body else None}).encode())
                return
            reply = api.handle(self.command, self.path, dict(self.headers.items()), body)
            self._send(*(reply or (404, {"Content-Type": "application/json"}, b'{"error":"not_found"}')))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def transport(upstream: Upstream) -> Iterator[HttpxTransport]:
    http = HttpxTransport(allow_private=frozenset({f"127.0.0.1:{upstream.port}"}))
    yield http
    http.close()


@pytest.fixture
def tenant(stack: LocalStack) -> str:
    """A tenant with its core-banking secret stored in moto's Secrets Manager."""
    tenant_id = f"t{uuid.uuid4().hex[:10]}"
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name=f"{PREFIX}/{tenant_id}/core-banking", SecretString=json.dumps({"api_key": API_KEY}))
    return tenant_id


def runner(transport: HttpxTransport) -> IntegrationRunner:
    reader = SecretsManagerJsonReader(boto3.client("secretsmanager", region_name="us-east-1"))
    return IntegrationRunner(transport=transport, secrets=reader, secret_prefix=PREFIX)


def customer_spec(base: str, **overrides: Any) -> IntegrationSpec:
    return IntegrationSpec.model_validate({
        "name": "consultar_cliente", "description": "Busca un cliente por DNI.",
        "url": base + MOUNT + "/customers/{{input.documento}}",
        "headers": {"X-Api-Key": "{{secret.core.api_key}}"}, "secrets": {"core": "core-banking"},
        "parameters": {"documento": {"type": "string", "description": "DNI"}},
        "outputs": {"customer_number": "customer_number", "zona": "zone"}, **overrides})


def test_allowlisted_loopback_call_end_to_end(upstream: Upstream, transport: HttpxTransport, tenant: str) -> None:
    result = runner(transport).call(tenant, customer_spec(upstream.base), variables={},
                                    inputs={"documento": "30123456"})
    assert (result.ok, result.status, result.error) == (True, 200, None)
    assert result.outputs == {"customer_number": "C-1001", "zona": "palermo"}
    assert result.data["full_name"] == "Lucía Fernández"


def test_post_with_body_query_and_http_errors(upstream: Upstream, transport: HttpxTransport, tenant: str) -> None:
    run = runner(transport)
    outages = IntegrationSpec.model_validate({
        "name": "consultar_cortes", "description": "Cortes por zona.", "url": upstream.base + MOUNT + "/outages",
        "headers": {"X-Api-Key": "{{secret.core.api_key}}"}, "secrets": {"core": "core-banking"},
        "query": {"zone": "{{zona}}"}, "outputs": {"corte": "outages.0.description?"}})
    result = run.call(tenant, outages, variables={"zona": "palermo"})
    assert result.ok and "fibra" in result.outputs["corte"]
    assert run.call(tenant, outages, variables={"zona": "caida"}).error == "http_503"
    assert run.call(tenant, customer_spec(upstream.base), variables={}, inputs={"documento": "99999999"}
                    ).error == "http_500"

    disburse = IntegrationSpec.model_validate({
        "name": "desembolsar", "description": "Desembolso.", "method": "POST",
        "url": upstream.base + MOUNT + "/disbursements",
        "headers": {"X-Api-Key": "{{secret.core.api_key}}", "Idempotency-Key": "{{solicitud}}"},
        "secrets": {"core": "core-banking"},
        "body": {"customer_number": "C-1004", "amount": "{{input.monto}}", "account": "{{cuenta}}"},
        "parameters": {"monto": {"type": "integer", "description": "Monto"}},
        "outputs": {"disbursement_id": "disbursement_id"}, "success_statuses": [201]})
    variables = {"solicitud": uuid.uuid4().hex, "cuenta": "0110599520000012345678"}
    first = run.call(tenant, disburse, variables=variables, inputs={"monto": 1000})
    again = run.call(tenant, disburse, variables=variables, inputs={"monto": 1000})
    assert first.ok and first.status == 201 and first.outputs == again.outputs
    assert run.call(tenant, disburse, variables={**variables, "solicitud": "x"}, inputs={"monto": 10**9}
                    ).error == "http_422"


def test_transport_sends_json_and_the_pinned_host(upstream: Upstream, transport: HttpxTransport) -> None:
    response = transport.request("POST", upstream.base + "/echo?a=1", headers={"X-Canal": "whatsapp"},
                                 params={"zona": "villa crespo", "q": "ñ/&"},
                                 json_body={"nombre": "Lucía", "monto": 10}, timeout_s=5)
    echoed = json.loads(response.body)
    assert echoed["path"] == "/echo?a=1&zona=villa+crespo&q=%C3%B1%2F%26"
    assert echoed["body"] == {"nombre": "Lucía", "monto": 10}
    assert echoed["headers"]["host"] == f"127.0.0.1:{upstream.port}"
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["headers"]["x-canal"] == "whatsapp"


def test_missing_secret_and_wrong_key(upstream: Upstream, transport: HttpxTransport, stack: LocalStack) -> None:
    result = runner(transport).call("nobody", customer_spec(upstream.base), variables={},
                                    inputs={"documento": "30123456"})
    assert result.error == "secret_missing:core"
    other = f"t{uuid.uuid4().hex[:10]}"
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name=f"{PREFIX}/{other}/core-banking", SecretString=json.dumps({"api_key": "wrong"}))
    assert runner(transport).call(other, customer_spec(upstream.base), variables={}, inputs={"documento": "1"}
                                  ).error == "http_401"


@pytest.mark.parametrize("url_of", [
    lambda port: f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}/x",  # loopback, not allowlisted
    lambda port: "https://127.0.0.1/x",
    lambda port: "http://169.254.169.254/latest/meta-data/",
    lambda port: "https://169.254.169.254/latest/meta-data/",
    lambda port: "https://[::ffff:169.254.169.254]/latest/meta-data/",
    lambda port: "https://[fd00:ec2::254]/latest/meta-data/",
    lambda port: "https://localhost/x",
    lambda port: "https://10.0.0.5/x",
    lambda port: "https://user:pw@core.example.com/x",
])
def test_blocked_targets(upstream: Upstream, transport: HttpxTransport, url_of: Any) -> None:
    with pytest.raises(BlockedTarget):
        transport.request("GET", url_of(upstream.port), headers={}, params={}, json_body=None, timeout_s=2)


def test_dns_rebinding_to_a_private_address_is_blocked() -> None:
    rebinding = HttpxTransport(resolver=lambda host, port: ["93.184.216.34", "169.254.169.254"])
    with pytest.raises(BlockedTarget):
        rebinding.request("GET", "https://core.banco.example/x", headers={}, params={}, json_body=None, timeout_s=2)
    rebinding.close()


def test_blocked_target_maps_to_the_error(transport: HttpxTransport, tenant: str) -> None:
    spec = customer_spec("https://169.254.169.254")
    assert runner(transport).call(tenant, spec, variables={}, inputs={"documento": "1"}).error == "blocked_target"


def test_timeout(upstream: Upstream, transport: HttpxTransport, tenant: str) -> None:
    spec = customer_spec(upstream.base, timeout_s=0.5)
    result = runner(transport).call(tenant, spec, variables={}, inputs={"documento": "88888888"})
    assert (result.ok, result.error, result.status) == (False, "timeout", None)
    assert result.duration_ms < 3000


def test_redirects_are_not_followed(upstream: Upstream, transport: HttpxTransport, tenant: str) -> None:
    before = len(upstream.paths)
    spec = customer_spec(upstream.base, url=upstream.base + "/redirect/{{input.documento}}")
    result = runner(transport).call(tenant, spec, variables={}, inputs={"documento": "30123456"})
    assert (result.ok, result.error, result.status) == (False, "http_302", 302)
    assert upstream.paths[before:] == ["/redirect/30123456"]


def test_response_body_is_capped(upstream: Upstream, transport: HttpxTransport, tenant: str) -> None:
    spec = customer_spec(upstream.base, url=upstream.base + "/big", parameters={}, outputs={"x": "x"})
    assert runner(transport).call(tenant, spec, variables={}).error == "bad_response"


def test_connection_refused() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    http = HttpxTransport(allow_private=frozenset({f"127.0.0.1:{closed_port}"}))
    with pytest.raises(TransportError):
        http.request("GET", f"http://127.0.0.1:{closed_port}/x", headers={}, params={}, json_body=None, timeout_s=2)
    http.close()


def test_secrets_manager_reader(stack: LocalStack) -> None:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    name = f"{PREFIX}/reader-{uuid.uuid4().hex[:8]}/core-banking"
    now = [0.0]
    reader = SecretsManagerJsonReader(client, ttl_s=300, clock=lambda: now[0])
    assert reader.read_json(name) is None
    client.create_secret(Name=name, SecretString=json.dumps({"api_key": "v1"}))
    assert reader.read_json(name) == {"api_key": "v1"}  # misses are not cached
    client.put_secret_value(SecretId=name, SecretString=json.dumps({"api_key": "v2"}))
    cached = reader.read_json(name)
    assert cached == {"api_key": "v1"}
    cached["api_key"] = "mutated"
    assert reader.read_json(name) == {"api_key": "v1"}  # callers get copies
    now[0] = 301
    assert reader.read_json(name) == {"api_key": "v2"}

    not_object = f"{PREFIX}/reader-{uuid.uuid4().hex[:8]}/list"
    client.create_secret(Name=not_object, SecretString="[1, 2]")
    with pytest.raises(ValueError, match="not a JSON object"):
        reader.read_json(not_object)
