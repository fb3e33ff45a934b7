"""Integrations: HTTP calls to a business's own systems (core banking, CRM, ERP) declared in bot definitions.

A flow node calls an integration, and an LLM can call it as a tool (`tool_schema` gives the JSON schema of
its parameters, `description` the tool description). Example:

    name: consultar_cliente
    description: Busca un cliente por su número de documento.
    url: https://api.banco.example/customers/{{input.documento}}
    headers: {X-Api-Key: "{{secret.core.api_key}}"}
    secrets: {core: core-banking}             # alias -> secret name, read per tenant
    parameters:
      documento: {type: string, description: DNI sin puntos}
    outputs: {customer_number: customer_number, email: "email?"}

Templates (see shared.services.templating) see `vars` (the conversation's variables; bare names resolve
there), `input` (the validated parameters), `contact` and `secret` (`{{secret.<alias>.<field>}}`).

Definition rules (IntegrationSpec validation):
- The scheme and host of `url` are literal, or come from a secret at its very start followed by "/" or "?"
  (`{{secret.core.base_url}}/customers/{{input.documento}}`: tenant configuration), never from variables or
  inputs, so neither the flow nor an LLM can point the call (and the secrets in its headers) at another
  server. Values placed into the URL are percent-encoded, secrets excepted (`{{input.documento}}` =
  "../admin" cannot walk the path); `| urlencode` is accepted and not applied twice.
- No literal credentials: the headers Authorization, Proxy-Authorization, Cookie, X-Api-Key, Api-Key and
  any header whose name contains "token", "secret" or "key" (except Idempotency-Key) must take their value
  from `{{secret.…}}` placeholders; an auth-scheme word ("Bearer {{secret.core.token}}") or a cookie name
  ("session={{secret.crm.cookie}}") may precede them. Query parameters (in `query` or in the url) and body
  fields whose names mark a credential (token, secret, key, password, pin, ...) must not hold literal text
  or numbers: only placeholders. User names and passwords in the URL (user:pass@host) are refused.
- Every `{{secret.<alias>.<field>}}` names a declared alias, every `{{input.<name>}}` a declared parameter.
- GET has no body. Host, Content-Length, Transfer-Encoding and Connection headers are set by the transport.

Secrets: `secrets` maps an alias to a short secret NAME ("core-banking"). The runner reads
`<secret_prefix>/<tenant_id>/<name>`, so a tenant can only ever name its own secrets; the value is a JSON
object. Only the secrets the templates reference are read. Secret values are never logged.

Results: `IntegrationRunner.call` never raises for failures of the remote system; it returns
`IntegrationResult(ok=False, error=...)` with error one of:
    invalid_input:<name>     an input (from an LLM or the flow) does not match `parameters`
    secret_missing:<alias>   the tenant's secret does not exist (or has no such field: template:secret...)
    template:<path>          a template could not be rendered (missing variable, bad filter input)
    blocked_target           the URL is not allowed (private address, not https, ...)
    timeout                  no complete answer within `timeout_s`
    connection_failed        no HTTP answer (refused, reset, TLS)
    http_<status>            a status outside `success_statuses` (default: any 2xx; redirects are not followed)
    bad_response             outputs were requested and the body is not JSON (or is too large)
    missing_output:<path>    a required output path is absent from the response
Outputs whose path ends with "?" are optional: absent -> None. Errors of the secret store itself
(throttling, permissions) propagate: that is our infrastructure failing, and the caller's retry applies.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.observability import logger
from shared.services.templating import (
    MISSING,
    Placeholder,
    TemplateError,
    literal_text,
    parse,
    referenced_paths,
    render,
    render_value,
    walk,
)

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SECRET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_OUTPUT_PATH = re.compile(r"^[\w-]+(?:\.[\w-]+)*\??$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$")
_SCHEME_HOST = re.compile(r"^https?://[^/?#{}]+(?:[/?#]|$)", re.IGNORECASE)
_TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"})
_NOT_CREDENTIAL_HEADERS = frozenset({"idempotency-key", "x-idempotency-key"})
_TRANSPORT_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_CREDENTIAL_WORDS = frozenset({"token", "secret", "key", "apikey", "password", "passwd", "pwd", "pass",
                               "passphrase", "credential", "credentials", "authorization", "signature",
                               "pin", "cookie"})
_CREDENTIAL_PREFIX = re.compile(r"^\s*(?:[A-Za-z][\w.-]*(?:\s+|=))?\s*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_INPUT_CHARS = 2000

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


# --- definitions -----------------------------------------------------------------------------------------

class ParameterSpec(BaseModel):
    """One input of an integration: a property of the LLM tool's JSON schema."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["string", "number", "integer", "boolean"] = "string"
    description: str = ""
    required: bool = True
    enum: list[str | int | float | bool] | None = None

    @model_validator(mode="after")
    def _enum_matches_type(self) -> ParameterSpec:
        if self.enum is not None:
            if not self.enum:
                raise ValueError("enum must not be empty")
            for item in self.enum:
                if not _type_ok(self.type, item):
                    raise ValueError(f"enum value {item!r} is not a {self.type}")
        return self


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return kind == "number" or isinstance(value, int) or float(value).is_integer()


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if word]


def _is_credential_name(name: str) -> bool:
    """Query parameter / body field names that carry credentials (word-based: "keyword" is not one)."""
    lowered = name.lower()
    if any(marker in lowered for marker in ("token", "secret", "password", "apikey", "api_key", "api-key")):
        return True
    return any(word in _CREDENTIAL_WORDS for word in _name_words(name))


def _is_credential_header(name: str) -> bool:
    lowered = name.lower()
    if lowered in _NOT_CREDENTIAL_HEADERS:
        return False
    return lowered in _CREDENTIAL_HEADERS or any(marker in lowered for marker in ("token", "secret", "key"))


def _from_secrets(value: Any, *, allow_prefix: bool) -> bool:
    """True when the value is made of `{{secret.…}}` placeholders (optionally after a scheme/cookie name)."""
    if not isinstance(value, str):
        return False
    paths = referenced_paths(value)
    if not paths or not all(path.startswith("secret.") for path in paths):
        return False
    rest = literal_text(value)
    return not rest.strip() or (allow_prefix and bool(_CREDENTIAL_PREFIX.match(rest)))


def _has_literal(value: Any) -> bool:
    """A value with literal (not templated) content: what a credential field must not hold."""
    if isinstance(value, str):
        return bool(literal_text(value).strip())
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_body_credentials(value: Any, where: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: object keys must be strings")
            if _is_credential_name(key) and _has_literal(item):
                raise ValueError(f"{where}.{key} holds a literal credential: use {{{{secret.<alias>.<field>}}}}")
            _check_body_credentials(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_body_credentials(item, f"{where}.{index}")


class IntegrationSpec(BaseModel):
    """An HTTP call to the business's systems, declared in a bot definition (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    method: Method = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    secrets: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=5, ge=0.5, le=15)
    outputs: dict[str, str] = Field(default_factory=dict)
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    success_statuses: list[int] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError("name must match ^[a-z][a-z0-9_]{0,63}$")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("description is required (it is the LLM tool description)")
        if len(value) > 1024:
            raise ValueError("description is limited to 1024 characters")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            parts = parse(value)
            literal = literal_text(value)
        except TemplateError as exc:
            raise ValueError(f"invalid template: {exc}") from None
        from_secret = (bool(parts) and isinstance(parts[0], Placeholder) and parts[0].path.startswith("secret.")
                       and (len(parts) == 1 or isinstance(parts[1], str) and parts[1][:1] in ("/", "?")))
        if not from_secret and not _SCHEME_HOST.match(value):
            raise ValueError("url must start with a literal http(s)://host or with a {{secret.<alias>.<field>}} "
                             "base URL followed by '/': the host never comes from variables or inputs")
        if "@" in urlsplit(value).netloc:
            raise ValueError("credentials (user:password@) are not allowed in the url")
        if _CONTROL.search(value) or " " in literal:
            raise ValueError("url has whitespace or control characters")
        for name, item in parse_qsl(urlsplit(value).query, keep_blank_values=True):
            if _is_credential_name(name) and _has_literal(item):
                raise ValueError(f"url query parameter {name} holds a literal credential: "
                                 "use {{secret.<alias>.<field>}}")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"invalid header name {name!r}")
            if name.lower() in _TRANSPORT_HEADERS:
                raise ValueError(f"header {name} is set by the transport")
            if _CONTROL.search(header):
                raise ValueError(f"header {name} has control characters")
            if _is_credential_header(name) and not _from_secrets(header, allow_prefix=True):
                raise ValueError(f"header {name} carries a credential: its value must come from "
                                 "{{secret.<alias>.<field>}} (optionally after a scheme such as 'Bearer ')")
        return value

    @field_validator("query")
    @classmethod
    def _query(cls, value: dict[str, str]) -> dict[str, str]:
        for name, item in value.items():
            if not name or _CONTROL.search(name):
                raise ValueError(f"invalid query parameter name {name!r}")
            if _is_credential_name(name) and _has_literal(item):
                raise ValueError(f"query parameter {name} holds a literal credential: "
                                 "use {{secret.<alias>.<field>}}")
        return value

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: dict[str, str]) -> dict[str, str]:
        for alias, name in value.items():
            if not _IDENTIFIER.match(alias):
                raise ValueError(f"secret alias {alias!r} must match ^[a-z][a-z0-9_]{{0,63}}$")
            if not _SECRET_NAME.match(name):
                raise ValueError(f"secret name {name!r} must be a short name like 'core-banking' "
                                 "(^[a-z0-9][a-z0-9_-]{0,63}$)")
        return value

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, value: dict[str, str]) -> dict[str, str]:
        for variable, path in value.items():
            if not _IDENTIFIER.match(variable):
                raise ValueError(f"output variable {variable!r} must match ^[a-z][a-z0-9_]{{0,63}}$")
            if not _OUTPUT_PATH.match(path):
                raise ValueError(f"output path {path!r} must be dotted segments, optionally ending with '?'")
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, ParameterSpec]) -> dict[str, ParameterSpec]:
        for name in value:
            if not _IDENTIFIER.match(name):
                raise ValueError(f"parameter {name!r} must match ^[a-z][a-z0-9_]{{0,63}}$")
        return value

    @field_validator("success_statuses")
    @classmethod
    def _statuses(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or any(not 100 <= status <= 599 for status in value)):
            raise ValueError("success_statuses must be a non-empty list of HTTP statuses")
        return value

    @model_validator(mode="after")
    def _references(self) -> IntegrationSpec:
        if self.method == "GET" and self.body is not None:
            raise ValueError("a GET integration cannot have a body")
        if self.body is not None:
            _check_body_credentials(self.body, "body")
        try:
            paths = template_paths(self)
        except TemplateError as exc:
            raise ValueError(f"invalid template: {exc}") from None
        for path in sorted(paths):
            head, _, rest = path.partition(".")
            if head == "secret":
                alias, _, secret_field = rest.partition(".")
                if alias not in self.secrets:
                    raise ValueError(f"{{{{{path}}}}} uses the undeclared secret alias {alias!r}")
                if not secret_field:
                    raise ValueError(f"{{{{{path}}}}} must name a field: {{{{secret.{alias}.<field>}}}}")
            elif head == "input":
                name = rest.partition(".")[0]
                if name not in self.parameters:
                    raise ValueError(f"{{{{{path}}}}} uses the undeclared parameter {name!r}")
        return self


def template_paths(spec: IntegrationSpec) -> set[str]:
    """Every variable the spec's url, headers, query and body use."""
    return (referenced_paths(spec.url) | referenced_paths(spec.headers) | referenced_paths(spec.query)
            | referenced_paths(spec.body))


def referenced_secret_aliases(spec: IntegrationSpec) -> list[str]:
    """The secret aliases the templates use (only these are read), sorted."""
    return sorted({path.split(".")[1] for path in template_paths(spec) if path.startswith("secret.")})


def tool_schema(spec: IntegrationSpec) -> dict[str, Any]:
    """The JSON schema (an object) of the integration's parameters, for LLM tool calling."""
    properties: dict[str, Any] = {}
    for name, param in spec.parameters.items():
        prop: dict[str, Any] = {"type": param.type}
        if param.description:
            prop["description"] = param.description
        if param.enum is not None:
            prop["enum"] = list(param.enum)
        properties[name] = prop
    return {"type": "object", "properties": properties,
            "required": [name for name, param in spec.parameters.items() if param.required],
            "additionalProperties": False}


# --- ports -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class TransportError(Exception):
    """No usable HTTP answer (connection refused or reset, TLS failure)."""


class TransportTimeout(TransportError):
    """No complete answer within the timeout."""


class BlockedTarget(TransportError):
    """The URL may not be called (private or metadata address, not https, credentials in the URL, ...)."""


class ResponseTooLarge(TransportError):
    """The response body is larger than the transport accepts."""


class HttpTransport(Protocol):
    def request(self, method: str, url: str, *, headers: Mapping[str, str], params: Mapping[str, str],
                json_body: Any, timeout_s: float) -> HttpResponse:
        """Send one request (redirects are not followed); raise TransportTimeout, BlockedTarget or
        TransportError when there is no answer."""
        ...


class SecretReader(Protocol):
    def read_json(self, name: str) -> dict[str, Any] | None:
        """The secret's JSON object, or None when there is no such secret."""
        ...


# --- running ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IntegrationResult:
    ok: bool
    status: int | None
    outputs: dict[str, Any]
    data: Any
    error: str | None
    duration_ms: int


def _monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


def validate_inputs(spec: IntegrationSpec, inputs: Mapping[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """(the inputs to use, None) or ({}, the name of the first invalid input). Unknown names, missing
    required ones, wrong types, values outside `enum` and strings with control characters are invalid.
    An integral float (3.0) is accepted as an integer."""
    given = dict(inputs or {})
    for name in sorted(given):
        if name not in spec.parameters:
            return {}, name
    clean: dict[str, Any] = {}
    for name, param in spec.parameters.items():
        if name not in given or given[name] is None:
            if param.required:
                return {}, name
            continue
        value = given[name]
        if not _type_ok(param.type, value):
            return {}, name
        if param.type == "integer" and isinstance(value, float):
            value = int(value)
        if isinstance(value, str) and (len(value) > _MAX_INPUT_CHARS or _CONTROL.search(value)):
            return {}, name
        if param.enum is not None and value not in param.enum:  # both type-checked: True == 1 cannot mix
            return {}, name
        clean[name] = value
    return clean, None


def _url_escape(path: str, text: str) -> str:
    """Values put into a URL are percent-encoded, except secrets (tenant configuration such as a base URL)."""
    return text if path.startswith("secret.") else quote(text, safe="")


def _header_text(value: str, where: str) -> str:
    if _CONTROL.search(value):
        raise TemplateError(where, "control characters in a header")
    return value


class IntegrationRunner:
    def __init__(self, *, transport: HttpTransport, secrets: SecretReader, secret_prefix: str,
                 clock_ms: Callable[[], int] = _monotonic_ms) -> None:
        self._transport = transport
        self._secrets = secrets
        self._prefix = secret_prefix.rstrip("/")
        self._clock_ms = clock_ms

    def secret_id(self, tenant_id: str, name: str) -> str:
        """Where a tenant's secret lives: `<secret_prefix>/<tenant_id>/<name>`."""
        if not _TENANT_ID.match(tenant_id):
            raise ValueError("invalid tenant id")
        if not _SECRET_NAME.match(name):
            raise ValueError("invalid secret name")
        return f"{self._prefix}/{tenant_id}/{name}"

    def call(self, tenant_id: str, spec: IntegrationSpec, *, variables: Mapping[str, Any],
             inputs: Mapping[str, Any] | None = None, contact: Mapping[str, Any] | None = None
             ) -> IntegrationResult:
        started = self._clock_ms()
        result = self._call(tenant_id, spec, variables=variables, inputs=inputs, contact=contact, started=started)
        logger.info("integration called", extra={
            "tenant_id": tenant_id, "integration": spec.name, "method": spec.method,
            "host": urlsplit(spec.url).hostname, "ok": result.ok, "status": result.status,
            "error": result.error, "duration_ms": result.duration_ms})
        return result

    def _done(self, started: int, *, error: str | None, status: int | None = None, data: Any = None,
              outputs: dict[str, Any] | None = None) -> IntegrationResult:
        return IntegrationResult(ok=error is None, status=status, outputs=outputs or {}, data=data, error=error,
                                 duration_ms=max(0, self._clock_ms() - started))

    def _call(self, tenant_id: str, spec: IntegrationSpec, *, variables: Mapping[str, Any],
              inputs: Mapping[str, Any] | None, contact: Mapping[str, Any] | None, started: int
              ) -> IntegrationResult:
        clean, bad_input = validate_inputs(spec, inputs)
        if bad_input is not None:
            return self._done(started, error=f"invalid_input:{bad_input}")

        secret_values: dict[str, Any] = {}
        for alias in referenced_secret_aliases(spec):
            value = self._secrets.read_json(self.secret_id(tenant_id, spec.secrets[alias]))
            if not isinstance(value, Mapping):
                return self._done(started, error=f"secret_missing:{alias}")
            secret_values[alias] = value

        context = {"vars": dict(variables), "input": clean, "contact": dict(contact or {}), "secret": secret_values}
        try:
            url = render(spec.url, context, escape=_url_escape)
            headers = {name: _header_text(render(value, context), name) for name, value in spec.headers.items()}
            params = {name: render(value, context) for name, value in spec.query.items()}
            body = render_value(spec.body, context) if spec.body is not None else None
        except TemplateError as exc:
            return self._done(started, error=f"template:{exc.path}")

        try:
            response = self._transport.request(spec.method, url, headers=headers, params=params, json_body=body,
                                               timeout_s=spec.timeout_s)
        except TransportTimeout:
            return self._done(started, error="timeout")
        except BlockedTarget:
            return self._done(started, error="blocked_target")
        except ResponseTooLarge:
            return self._done(started, error="bad_response")
        except TransportError:
            return self._done(started, error="connection_failed")

        data = _parse_json(response.body)
        successful = (response.status in spec.success_statuses if spec.success_statuses is not None
                      else 200 <= response.status < 300)
        if not successful:
            return self._done(started, error=f"http_{response.status}", status=response.status,
                              data=None if data is MISSING else data)
        if data is MISSING:
            if spec.outputs:
                return self._done(started, error="bad_response", status=response.status)
            return self._done(started, error=None, status=response.status, data=None)
        outputs: dict[str, Any] = {}
        for variable, raw_path in spec.outputs.items():
            optional = raw_path.endswith("?")
            path = raw_path.rstrip("?")
            value = walk(data, path.split("."))
            if value is MISSING:
                if not optional:
                    return self._done(started, error=f"missing_output:{path}", status=response.status, data=data)
                value = None
            outputs[variable] = value
        return self._done(started, error=None, status=response.status, data=data, outputs=outputs)


def _parse_json(body: bytes) -> Any:
    if not body.strip():
        return MISSING
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return MISSING
