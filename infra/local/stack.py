"""The local stack: moto server + a gateway that builds API Gateway v2 events + SQS pollers + Graph emulator.

The same handlers as in AWS run in-process: the gateway calls the HTTP function's `lambda_handler` with
the event API Gateway would send, the pollers call each consumer with the SQS batch Lambda would send and
delete only what the handler did not report as failed, and moto's EventBridge delivers to the SQS targets
of the rules in infra/topology.py.

The WebSocket API (agents' pushes) is infra/local/websocket_gateway.py on a port of its own, its management
API is served by this gateway under /local/ws, and the schedules of infra/topology.py are timer threads.

Run: `python -m infra.local.stack` (what `make dev` does). Tests use `LocalStack` directly.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from examples.core_banking.api import CoreBankingApi
from infra import console_site, topology
from infra.local.email_emulator import EmailEmulator
from infra.local.graph_emulator import GraphEmulator
from infra.local.llm_emulator import LlmEmulator
from infra.local.provision import (
    CORE_BANKING_API_KEY,
    DEMO_INSTAGRAM,
    DEMO_PASSWORD,
    DEMO_TEMPLATES,
    REGION,
    DemoChannel,
    DemoEmail,
    DemoPage,
    DemoSms,
    DemoTelegram,
    DemoTenant,
    DemoWebChat,
    LocalResources,
    provision,
    schedule_plan,
    seed_channel,
    seed_contact_center,
    seed_demo_bot,
    seed_email_channel,
    seed_page_channel,
    seed_platform_secrets,
    seed_sms_channel,
    seed_telegram_channel,
    seed_tenant,
    seed_webchat_channel,
    sign_in,
)
from infra.local.telegram_emulator import TelegramEmulator
from infra.local.twilio_emulator import TwilioEmulator
from infra.local.websocket_gateway import WebSocketGateway
from shared.services.signature import sign

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# The WebSocket API's management API (`{WEBSOCKET_MANAGEMENT_URL}/@connections/{id}`) on this gateway.
WS_MANAGEMENT_PATH = "/local/ws/@connections/"


DEMO_PAGE = Path(__file__).resolve().parent / "webchat_demo.html"

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FakeContext:
    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _atomic_moto_dynamodb() -> None:
    """moto's DynamoDB made atomic and its transactions O(items), its FIFO queues safe for concurrent pollers,
    its EventBridge without a parser per delivery: see infra/local/moto_fixes.py."""
    from infra.local.moto_fixes import patch_moto_dynamodb, patch_moto_events, patch_moto_sqs

    patch_moto_dynamodb()
    patch_moto_events()
    patch_moto_sqs()


LOCAL_POLLERS = 3  # concurrent batches per queue locally (Lambda would scale further)


class FunctionHost:
    """Loads handlers by name and runs up to `concurrency[name]` invocations of a function at once (one warm
    container each; one when not given: HTTP functions keep the current request in their resolver's state)."""

    def __init__(self, concurrency: dict[str, int] | None = None) -> None:
        self._concurrency = concurrency or {}
        self._locks: dict[str, threading.Semaphore] = {}
        self._handlers: dict[str, Handler] = {}
        self._loading = threading.Lock()
        self.invocations: dict[str, int] = {}
        self.current = threading.local()  # which function this thread is running (for call accounting)

    def invoke(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        with self._loading:
            if name not in self._handlers:
                module = importlib.import_module(f"functions.{name}.handler")
                self._handlers[name] = module.lambda_handler
                self._locks[name] = threading.Semaphore(self._concurrency.get(name, 1))
            self.invocations[name] = self.invocations.get(name, 0) + 1
        with self._locks[name]:
            self.current.function = name
            try:
                return self._handlers[name](event, FakeContext(name, topology.function(name).memory_mb))
            finally:
                self.current.function = None


def _match(route_path: str, path: str) -> dict[str, str] | None:
    want, got = route_path.strip("/").split("/"), path.strip("/").split("/")
    if want and want[-1].endswith("+}"):  # greedy {proxy+}: one or more trailing segments
        if len(got) < len(want):
            return None
        head = _match("/".join(want[:-1]), "/".join(got[:len(want) - 1]))
        if head is None:
            return None
        return {**head, want[-1][1:-2]: urllib.parse.unquote("/".join(got[len(want) - 1:]))}
    if len(want) != len(got):
        return None
    params = {}
    for w, g in zip(want, got, strict=True):
        if w.startswith("{") and w.endswith("}"):
            params[w[1:-1]] = urllib.parse.unquote(g)
        elif w != g:
            return None
    return params


def apigw_v2_event(method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes,
                   route_key: str, path_params: dict[str, str]) -> dict[str, Any]:
    """The payload-format-2.0 event API Gateway HTTP APIs send to Lambda."""
    text_types = ("application/json", "text/", "application/x-www-form-urlencoded")
    content_type = headers.get("content-type", "")
    is_text = not body or content_type.startswith(text_types)
    try:
        body_text = body.decode("utf-8") if is_text else None
    except UnicodeDecodeError:
        body_text = None
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    return {
        "version": "2.0", "routeKey": route_key, "rawPath": raw_path, "rawQueryString": query,
        "headers": {**{k.lower(): v for k, v in headers.items()}, "x-forwarded-proto": "http"},
        "queryStringParameters": {k: ",".join(v) for k, v in params.items()} or None,
        "pathParameters": path_params,
        "requestContext": {"accountId": "123456789012", "apiId": "local",
                           "domainName": headers.get("host", "127.0.0.1"),
                           "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent", "")},
                           "requestId": str(uuid.uuid4()), "routeKey": route_key, "stage": "$default",
                           "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
                           "timeEpoch": int(time.time() * 1000)},
        "body": body_text if body_text is not None else base64.b64encode(body).decode(),
        "isBase64Encoded": body_text is None,
    }


class Poller(threading.Thread):
    """Feeds SQS batches to a consumer like the Lambda event source mapping does."""

    def __init__(self, stack: LocalStack, spec: topology.QueueSpec) -> None:
        super().__init__(daemon=True, name=f"poller-{spec.name}")
        self.stack, self.spec = stack, spec
        self.busy = False

    def run(self) -> None:
        import boto3

        sqs = boto3.client("sqs", region_name=REGION)
        url, arn = self.stack.resources.queue_urls[self.spec.name], self.stack.resources.queue_arns[self.spec.name]
        while not self.stack.stopping.is_set():
            try:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=self.spec.batch_size, WaitTimeSeconds=1,
                                          AttributeNames=["All"], MessageAttributeNames=["All"])
                messages = got.get("Messages", [])
                if not messages:
                    continue
                self.busy = True
                event = {"Records": [{
                    "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
                    "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": arn,
                    "awsRegion": REGION} for m in messages]}
                try:
                    result = self.stack.host.invoke(self.spec.consumer, event)
                    failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
                except Exception:  # a crashed invocation: every record comes back after its visibility timeout
                    failed = {m["MessageId"] for m in messages}
                done = [m for m in messages if m["MessageId"] not in failed]
                for start in range(0, len(done), 10):
                    chunk = done[start:start + 10]
                    sqs.delete_message_batch(QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
            except Exception as exc:  # keep polling; print what went wrong
                if not self.stack.stopping.is_set():
                    print(f"[poller {self.spec.name}] {exc!r}", file=sys.stderr)
                    time.sleep(0.5)
            finally:
                self.busy = False


class LocalStack:
    def __init__(self, *, port: int | None = None, moto_port: int | None = None, prefix: str = "omnichannel",
                 demo: DemoChannel | None = None, visibility_timeout_s: int | None = 5, auto_status: bool = False,
                 extra_env: dict[str, str] | None = None, tenant: DemoTenant | None = None,
                 demo_bot: bool = True, ws_port: int | None = None, schedules: bool = True,
                 max_pollers: int = 4) -> None:
        self.max_pollers = max_pollers  # per queue, up to the queue's max_concurrency
        self.port = port or free_port()
        self.moto_port = moto_port or free_port()
        self.ws_port = ws_port or free_port()
        self.schedules = schedules
        self.prefix = prefix
        self.demo = demo or DemoChannel()
        self.tenant = tenant or DemoTenant(tenant_id=self.demo.tenant_id)
        self.visibility_timeout_s = visibility_timeout_s
        self.auto_status = auto_status
        self.extra_env = extra_env or {}
        self.url = f"http://127.0.0.1:{self.port}"
        self.moto_url = f"http://127.0.0.1:{self.moto_port}"
        self.stopping = threading.Event()
        self.host = FunctionHost({q.consumer: self.pollers_for(q) for q in topology.QUEUES})
        self.graph = GraphEmulator(base_url=self.url)
        self.core_banking = CoreBankingApi(api_key=CORE_BANKING_API_KEY)
        self.llm = LlmEmulator()
        self.telegram = TelegramEmulator()
        self.twilio = TwilioEmulator()
        self.email = EmailEmulator(bucket=lambda: self.resources.bucket,
                                   queue_url=lambda: self.resources.queue_urls["email"])
        self._http_lock = threading.Lock()
        self.demo_bot = demo_bot
        self.pollers: list[Poller] = []
        self._server: ThreadingHTTPServer | None = None
        self._moto: Any = None
        self.websockets = WebSocketGateway(self.host.invoke, port=self.ws_port)
        self._timers: list[threading.Thread] = []
        self._clients: tuple[Any, Any] | None = None  # moto Scheduler and SQS clients of the workflow timers

    def pollers_for(self, spec: topology.QueueSpec) -> int:
        """Concurrent batches of a queue. A standard queue scales out as Lambda's event source mapping does
        (here up to LOCAL_POLLERS, so one slow turn does not hold every other conversation's; max_concurrency
        caps it). A FIFO queue gets one poller: the local visibility timeouts are seconds, and a batch that
        outlives its timeout must not be redelivered to a second poller while the first still runs it (order)."""
        if spec.fifo:
            return 1
        return max(1, min(spec.max_concurrency or LOCAL_POLLERS, self.max_pollers))

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        _atomic_moto_dynamodb()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self._moto.start()
        os.environ.update({
            "AWS_ENDPOINT_URL": self.moto_url, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
            "GRAPH_BASE_URL": f"{self.url}/local/graph", "GRAPH_API_VERSION": "v23.0",
            "TELEGRAM_BASE_URL": f"{self.url}/local/telegram", "TWILIO_BASE_URL": f"{self.url}/local/twilio",
            "MEDIA_INSECURE_HOSTS": "127.0.0.1",
            "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "Omnichannel",
            "POWERTOOLS_SERVICE_NAME": "omnichannel-local", "POWERTOOLS_DEV": "false",
            # the sample core-banking API is served by this gateway on loopback: let bot integrations reach it
            "INTEGRATIONS_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{self.port}",
            # generative turns go to the local LLM stand-in through the OpenAI-compatible adapter
            "LLM_PROVIDER": "openai", "OPENAI_BASE_URL": f"{self.url}/local/llm/v1",
            # the WebSocket API's management endpoint (API Gateway's callback URL): this gateway, under /local/ws
            "WEBSOCKET_MANAGEMENT_URL": self.websocket_management_url,
            # where web chat widgets open their WebSocket (API Gateway's wss:// URL in AWS)
            "WEBSOCKET_PUBLIC_URL": self.ws_url, "SES_REGION": REGION,
        })
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        # FakeContext always has 30 s left: broadcast workers hand over only when below 5 s (never, locally)
        os.environ.setdefault("BROADCAST_HANDOVER_MS", "5000")
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", os.environ["LOG_LEVEL"])
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        self.resources: LocalResources = provision(self.prefix, visibility_timeout_s=self.visibility_timeout_s)
        os.environ.update(self.resources.env())
        os.environ.update(self.extra_env)
        self._reset_caches()
        seed_tenant(self.resources, self.tenant)
        self.channel = seed_channel(self.resources, self.demo)
        seed_platform_secrets()
        self.agents: dict[str, str] = {}
        if self.demo_bot:
            seed_demo_bot(self.tenant.tenant_id, self.core_banking_url)
            self.agents = seed_contact_center(self.resources, self.tenant.tenant_id)
        if self.auto_status:
            self.graph.status_sink = self._post_status_webhook
        # WABA id -> (channel id, app secret): where the emulator's template and account webhooks are posted
        self.account_channels: dict[str, tuple[str, str]] = {
            self.demo.waba_id: (self.demo.channel_id, self.demo.app_secret)}
        self.graph.account_sink = self._post_account_webhook
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._request_handler())
        threading.Thread(target=self._server.serve_forever, daemon=True, name="gateway").start()
        for spec in topology.QUEUES:
            for _ in range(self.pollers_for(spec)):
                poller = Poller(self, spec)
                poller.start()
                self.pollers.append(poller)
        self.websockets.start()
        if self.schedules:
            for name, (period_s, _, _) in schedule_plan().items():
                timer = threading.Thread(target=self._schedule, args=(name, period_s), daemon=True,
                                         name=f"schedule-{name}")
                timer.start()
                self._timers.append(timer)
            timer = threading.Thread(target=self._fire_schedules_forever, daemon=True, name="workflow-timers")
            timer.start()
            self._timers.append(timer)
        return self

    def stop(self) -> None:
        self.stopping.set()
        for timer in self._timers:
            timer.join(timeout=5)
        self.websockets.stop()  # before the HTTP gateway and moto: closing sockets may still call functions
        for poller in self.pollers:
            poller.join(timeout=5)
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._moto:
            self._moto.stop()

    @staticmethod
    def _reset_caches() -> None:
        """Settings and clients are cached per process, as in Lambda; a new stack needs fresh ones."""
        from shared.adapters import aws
        from shared.config import get_settings

        get_settings.cache_clear()
        aws.client.cache_clear()
        aws.table.cache_clear()
        aws.presigning_client.cache_clear()
        for spec in topology.FUNCTIONS:
            module = sys.modules.get(f"functions.{spec.name}.handler")
            for root in ("get_service", "get_authenticator"):  # composition roots (lru_cached)
                if module is not None and hasattr(module, root):
                    getattr(module, root).cache_clear()
        deps = sys.modules.get("functions.api.deps")
        if deps is not None:
            deps.clear()
        from shared.http import context

        context._idempotent_runner.cache_clear()

    # -- HTTP ------------------------------------------------------------------------------------------
    def _request_handler(self) -> type[BaseHTTPRequestHandler]:
        stack = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                if os.environ.get("LOCAL_HTTP_LOG"):
                    super().log_message(format, *args)

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = stack.dispatch(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

        return Handler

    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes
                 ) -> tuple[int, dict[str, str], bytes]:
        parsed = urllib.parse.urlsplit(target)
        lowered = {k.lower(): v for k, v in headers.items()}
        if parsed.path == "/health":
            return 200, {"Content-Type": "application/json"}, b'{"status":"ok"}'
        if parsed.path == "/local/sign-in" and method == "POST":
            return self._sign_in(body)
        if parsed.path.startswith(WS_MANAGEMENT_PATH):  # no lock: functions call it while they run
            connection_id = urllib.parse.unquote(parsed.path[len(WS_MANAGEMENT_PATH):])
            if not connection_id or "/" in connection_id:
                return 404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}'
            return self.websockets.management(method, connection_id, body)
        graph = self.graph.handle(method, parsed.path, lowered, body, query=parsed.query)
        if graph is not None:
            return graph
        example = self.core_banking.handle(method, target, lowered, body)
        if example is not None:
            return example
        llm = self.llm.handle(method, parsed.path, body)
        if llm is not None:
            return llm
        telegram = self.telegram.handle(method, parsed.path, body)
        if telegram is not None:
            return telegram
        twilio = self.twilio.handle(method, parsed.path, body, lowered)
        if twilio is not None:
            return twilio
        email = self.email.handle(method, parsed.path, parsed.query, body)
        if email is not None:
            return email
        if parsed.path == "/demo/webchat" and method == "GET":
            return self.demo_page(urllib.parse.parse_qs(parsed.query))
        if method == "GET" and console_site.owns(parsed.path):
            return self.console_file(parsed.path)
        # API Gateway picks the most specific route: exact paths before greedy {proxy+} ones.
        for route in sorted(topology.ROUTES, key=lambda r: ("+}" in r.path, r.method == "ANY")):
            params = _match(route.path, parsed.path)
            if params is None:
                continue
            if route.method not in (method, "ANY"):
                continue
            event = apigw_v2_event(method, parsed.path, parsed.query, lowered, body,
                                   f"{route.method} {route.path}", params)
            # One HTTP invocation at a time: in AWS each function has its own process, here they share one,
            # and Powertools resolvers keep the current request in state their routers share.
            with self._http_lock:
                if route.auth != "none":
                    decision = self.host.invoke("authorizer", {**event, "type": "REQUEST", "routeArn": "local"})
                    if not decision.get("isAuthorized"):
                        return 403, {"Content-Type": "application/json"}, b'{"message":"Forbidden"}'
                    event["requestContext"]["authorizer"] = {"lambda": decision.get("context") or {}}
                result = self.host.invoke(route.function, event)
            payload = result.get("body") or ""
            data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
            headers_out = {k: str(v) for k, v in (result.get("headers") or {}).items()}
            return int(result.get("statusCode", 200)), headers_out, data
        if any(_match(r.path, parsed.path) is not None for r in topology.ROUTES):
            return 405, {"Content-Type": "application/json"}, b'{"message":"Method Not Allowed"}'
        return 404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}'

    # -- schedules ------------------------------------------------------------------------------------
    def _schedule(self, name: str, period_s: int) -> None:
        """An EventBridge schedule: its message on its queue once per period (the first one after one period)."""
        while not self.stopping.wait(period_s):
            try:
                self.tick(name)
            except Exception as exc:  # keep ticking; print what went wrong
                if not self.stopping.is_set():
                    print(f"[schedule {name}] {exc!r}", file=sys.stderr)

    def fire_schedules(self, now: datetime | None = None) -> int:
        """Fire the workflow timers (one-time EventBridge Scheduler schedules) due at `now` (default: the real
        time; tests pass a later time to play a wait of hours or days): what Scheduler does in AWS. Each is sent
        to its target queue once and deleted (ActionAfterCompletion=DELETE)."""
        from shared.adapters.sqs import queue_url_from_arn

        client, sqs = self._scheduler_clients()
        group = self.resources.scheduler_group
        at = now or datetime.now(UTC)
        fired = 0
        for summary in client.list_schedules(GroupName=group).get("Schedules", []):
            name = summary["Name"]
            try:
                schedule = client.get_schedule(Name=name, GroupName=group)
            except client.exceptions.ResourceNotFoundException:
                continue
            expression = str(schedule.get("ScheduleExpression", ""))
            if not expression.startswith("at("):
                continue
            due = datetime.fromisoformat(expression[3:-1]).replace(tzinfo=UTC)
            if due > at:
                continue
            target = schedule["Target"]
            sqs.send_message(
                QueueUrl=queue_url_from_arn(target["Arn"], self.moto_url), MessageBody=target.get("Input") or "{}")
            client.delete_schedule(Name=name, GroupName=group)
            fired += 1
        return fired

    def _scheduler_clients(self) -> tuple[Any, Any]:
        """Scheduler and SQS clients of moto, made once (the timer thread polls every second)."""
        if self._clients is None:
            import boto3

            self._clients = (boto3.client("scheduler", region_name=REGION), boto3.client("sqs", region_name=REGION))
        return self._clients

    def _fire_schedules_forever(self) -> None:
        while not self.stopping.wait(1.0):
            try:
                self.fire_schedules()
            except Exception as exc:  # keep firing; print what went wrong
                if not self.stopping.is_set():
                    print(f"[workflow timers] {exc!r}", file=sys.stderr)

    def tick(self, name: str) -> None:
        """Send a schedule's message now (what its EventBridge rule does once per period)."""
        import boto3

        _, queue, body = schedule_plan()[name]
        boto3.client("sqs", region_name=REGION).send_message(QueueUrl=self.resources.queue_urls[queue],
                                                             MessageBody=body)

    def _sign_in(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Local only: a seeded user's Cognito ID token (moto's pool) for an email (and password)."""
        try:
            data = json.loads(body or b"{}")
            token = sign_in(self.resources, str(data["email"]), str(data.get("password") or DEMO_PASSWORD))
        except Exception as exc:  # unknown user, wrong password, bad JSON: all a 401 here
            return 401, {"Content-Type": "application/json"}, json.dumps({"message": str(exc)[:200]}).encode()
        return 200, {"Content-Type": "application/json"}, json.dumps({"id_token": token}).encode()

    # -- helpers for people and tests ------------------------------------------------------------------
    @property
    def ws_url(self) -> str:
        """Where agents' and supervisors' clients connect: `{ws_url}/?token=<ID token or API key>`."""
        return self.websockets.url

    @property
    def websocket_management_url(self) -> str:
        return f"{self.url}{WS_MANAGEMENT_PATH.removesuffix('/@connections/')}"

    @property
    def core_banking_url(self) -> str:
        return f"{self.url}/local/core-banking"

    def webhook_url(self, channel_id: str | None = None) -> str:
        return f"{self.url}/webhooks/whatsapp/{channel_id or self.demo.channel_id}"

    def post_webhook(self, body: dict[str, Any] | bytes, *, secret: str | None = None,
                     channel_id: str | None = None) -> tuple[int, bytes]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(self.webhook_url(channel_id), data=raw, method="POST", headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(secret or self.demo.app_secret, raw)})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def _post_status_webhook(self, phone_number_id: str, body: dict[str, Any]) -> None:
        if phone_number_id == self.demo.phone_number_id and not self.stopping.is_set():
            self.post_webhook(body)

    def _post_account_webhook(self, waba_id: str, body: dict[str, Any]) -> None:
        """Meta's template review and account webhooks, to the channel of that WABA (`account_channels`)."""
        target = self.account_channels.get(waba_id)
        if target is not None and not self.stopping.is_set():
            channel_id, app_secret = target
            self.post_webhook(body, secret=app_secret, channel_id=channel_id)

    def idle(self) -> bool:
        import boto3

        if any(p.busy for p in self.pollers):
            return False
        sqs = boto3.client("sqs", region_name=REGION)
        for url in self.resources.queue_urls.values():
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            if int(attrs["ApproximateNumberOfMessages"]) or int(attrs["ApproximateNumberOfMessagesNotVisible"]):
                return False
        return True

    def seed_demo_channels(self) -> tuple[DemoTelegram, DemoPage, DemoPage, DemoSms]:
        """The demo tenant's Telegram, Messenger, Instagram and SMS channels, known to their emulators."""
        telegram, messenger, instagram, sms = DemoTelegram(), DemoPage(), DEMO_INSTAGRAM, DemoSms()
        seed_telegram_channel(self.resources, telegram)
        self.telegram.tokens.add(telegram.bot_token)
        for page in (messenger, instagram):
            seed_page_channel(self.resources, page)
            self.graph.pages.pages[page.page_token] = page.token_owner
        seed_sms_channel(self.resources, sms, webhook_base=self.url)
        self.twilio.accounts[sms.account_sid] = sms.auth_token
        return telegram, messenger, instagram, sms

    def seed_web_and_email(self) -> tuple[DemoWebChat, DemoEmail]:
        """The demo tenant's web chat (served at /demo/webchat) and support address (mail: /local/email)."""
        webchat, email = DemoWebChat(), DemoEmail()
        seed_webchat_channel(self.resources, webchat)
        seed_email_channel(self.resources, email)
        return webchat, email

    def console_config(self) -> dict[str, Any]:
        """The console's config.json here: the REST API on this origin, the local WebSocket, local sign-in."""
        return {"api_base": "", "ws_url": self.ws_url, "auth": {"mode": "local"}, "stage": "local"}

    def console_file(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """The agent console (infra/console/) at /console/, with the headers CloudFront adds in AWS."""
        if path == console_site.PREFIX:
            return 301, {"Location": f"{console_site.PREFIX}/"}, b""
        headers = console_site.security_headers([self.ws_url, self.moto_url])  # moto: S3 pre-signed uploads
        if path == f"{console_site.PREFIX}/config.json":
            return 200, {**headers, "Content-Type": "application/json"}, json.dumps(self.console_config()).encode()
        found = console_site.read(path)
        if found is None:
            return 404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}'
        data, kind = found
        return 200, {**headers, "Content-Type": kind}, data

    def demo_page(self, params: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        """The demo shop with the widget of `?channel=` (default demo-webchat); `?user=<id>` signs that customer
        in (the site's server computes user_hash with the identity secret, as the README shows)."""
        from shared.config import get_settings
        from shared.services.webchat import identity_hash
        from shared.wiring import _directory

        channel_id = (params.get("channel") or [DemoWebChat.channel_id])[0]
        user = (params.get("user") or [""])[0]
        identity = ""
        directory = _directory(get_settings())
        channel = directory.get_channel(channel_id)
        if user and channel is not None:  # what the shop's server does for a signed-in customer
            secret = directory.get_secrets(channel).app_secret.get_secret_value()
            settings = {"userId": user, "userHash": identity_hash(secret, user),
                        "name": (params.get("name") or [None])[0]}
            identity = f"<script>window.OmniChatSettings = {json.dumps(settings)};</script>"
        page = DEMO_PAGE.read_text(encoding="utf-8")
        page = page.replace("{{WIDGET_URL}}", f"{self.url}/webchat/{urllib.parse.quote(channel_id)}/widget.js")
        page = page.replace("{{IDENTITY_SCRIPT}}", identity)
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()

    def wait_idle(self, timeout: float = 30.0, settle: int = 2) -> None:
        """Wait until every queue is empty and no consumer is running, `settle` times in a row."""
        deadline, streak = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            streak = streak + 1 if self.idle() else 0
            if streak >= settle:
                return
            time.sleep(0.2)
        raise TimeoutError("local stack did not become idle")


def main() -> None:
    port = int(os.environ.get("PORT", "3000"))
    demo = DemoChannel(
        app_secret=os.environ.get("DEMO_APP_SECRET", DemoChannel.app_secret),
        verify_token=os.environ.get("DEMO_VERIFY_TOKEN", DemoChannel.verify_token),
        access_token=os.environ.get("DEMO_ACCESS_TOKEN", DemoChannel.access_token),
        phone_number_id=os.environ.get("DEMO_PHONE_NUMBER_ID", DemoChannel.phone_number_id),
        auto_reply_text=os.environ.get("DEMO_AUTO_REPLY", DemoChannel.auto_reply_text),
    )
    stack = LocalStack(port=port, moto_port=int(os.environ.get("MOTO_PORT", "0")) or None, demo=demo,
                       auto_status=os.environ.get("LOCAL_AUTO_STATUS", "true") == "true").start()
    stack.graph.seed_templates(stack.demo.waba_id, DEMO_TEMPLATES)  # the demo WABA's approved templates
    telegram, messenger, instagram, sms = stack.seed_demo_channels()
    webchat, email = stack.seed_web_and_email()
    print(f"""
Local stack ready on {stack.url}   (GET {stack.url}/health)
  moto server (AWS_ENDPOINT_URL): {stack.moto_url}
  demo tenant:           {demo.tenant_id}
  WhatsApp channel:      {demo.channel_id} (phone_number_id {demo.phone_number_id})
  webhook URL:           {stack.webhook_url()}
  verify token:          {demo.verify_token}
  app secret:            {demo.app_secret}
  access token:          {demo.access_token}
  Telegram channel:      {telegram.channel_id}: POST {stack.url}/webhooks/telegram/{telegram.channel_id}
                         (X-Telegram-Bot-Api-Secret-Token: {telegram.secret_token})
  Messenger channel:     {messenger.channel_id} (Page {messenger.account_id}):
                         {stack.url}/webhooks/messenger/{messenger.channel_id}
  Instagram channel:     {instagram.channel_id} (account {instagram.account_id}):
                         {stack.url}/webhooks/instagram/{instagram.channel_id}
                         (both signed with X-Hub-Signature-256, app secret {messenger.app_secret})
  SMS channel (Twilio):  {sms.channel_id} ({sms.number}): {stack.url}/webhooks/sms/{sms.channel_id}
                         (X-Twilio-Signature with Auth Token {sms.auth_token}; sends reach /local/twilio)
  web chat:              open {stack.url}/demo/webchat in a browser (the widget, bottom right; add
                         ?user=cliente-42 to chat as a signed-in customer); embed: <script
                         src="{stack.url}/webchat/{webchat.channel_id}/widget.js" async></script>
  email channel:         {email.address}: curl --data-binary @mail.eml {stack.url}/local/email/inbound
                         (SES's receipt, locally); answers: GET {stack.url}/local/email/outbox
  REST API:              {stack.url}/v1   (docs: {stack.url}/v1/docs, spec: {stack.url}/v1/openapi.json)
  WebSocket (pushes):    {stack.ws_url}/?token=<agent ID token or API key>   (send {{"action":"ping"}})
  demo API key:          {stack.tenant.api_key}   (Authorization: Bearer … or X-Api-Key)
  platform API:          {stack.url}/platform/v1   operator key: {stack.tenant.operator_key}
  demo bot:              banco-demo (examples/bots/banco_demo.yaml) answers on every demo channel
  contact center:        campaigns atencion (fallback) and cobranzas; "asesor" in the chat hands off to Ana
  agents (password {DEMO_PASSWORD}): ana@demo.local (online), bruno@demo.local; supervisor sofia@demo.local
  sign in (local only):  curl -d '{{"email":"ana@demo.local"}}' {stack.url}/local/sign-in  -> an ID token: the
                         Bearer for /v1, and ?token= for the WebSocket {stack.ws_url}
  core-banking example:  {stack.core_banking_url}   (X-Api-Key: demo-core-key)
  LLM stand-in:          {stack.url}/local/llm/v1/chat/completions
  Graph emulator:        {stack.url}/local/graph/{{version}}/{{phone_number_id}}/messages
  requests it received:  GET {stack.url}/local/graph/requests
Try it: `make chat` in another terminal (you talk to the demo bot). Ctrl-C stops.
""", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stack.stop()


if __name__ == "__main__":
    main()
