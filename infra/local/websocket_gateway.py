"""The local API Gateway WebSocket API: a WebSocket server on loopback and its management API.

Clients connect to `ws://127.0.0.1:<port>/?token=...`. The gateway calls the functions of
infra/topology.py WEBSOCKET_ROUTES with the events API Gateway sends: `$connect` during the opening handshake
(a non-2xx statusCode rejects the handshake with that status, as API Gateway does), `$default` for every
frame (or the route named by the frame's `action`, API Gateway's default route selection expression) and
`$disconnect` when the socket closes. The management API (`POST|GET|DELETE @connections/{id}`, what
boto3's `apigatewaymanagementapi` client calls) is served by the local HTTP gateway through `management()`;
an unknown connection is 410 GoneException, like AWS.
"""

from __future__ import annotations

import base64
import http
import json
import logging
import os
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra import topology

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
API_ID = "local"
STAGE = "local"
MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's WebSocket message limit
CLOSE_TIMEOUT_S = 2.0
GONE = (410, {"Content-Type": "application/json", "x-amzn-ErrorType": "GoneException"}, b'{"message":null}')


def route_functions() -> dict[str, str]:
    """route key -> function, as the gateway runs it (compared with the template by the parity test)."""
    return {r.route_key: r.function for r in topology.WEBSOCKET_ROUTES}


def new_connection_id() -> str:
    """An id shaped like API Gateway's (16 characters of URL-safe base64, e.g. 'L0SM9cOFvHcCIhw=')."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


def _http_time(at: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(at))


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Client:
    connection_id: str
    socket: Any  # websockets.sync.server.ServerConnection
    headers: dict[str, str]
    multi_headers: dict[str, list[str]]
    source_ip: str
    user_agent: str
    connected_at_ms: int
    last_active_ms: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class WebSocketGateway:
    def __init__(self, invoke: Invoke, *, port: int, host: str = "127.0.0.1") -> None:
        self._invoke = invoke
        self.host, self.port = host, port
        self.url = f"ws://{host}:{port}"
        self.routes = route_functions()
        self._lock = threading.Lock()
        self._handshakes: dict[uuid.UUID, _Client] = {}  # accepted by $connect, handshake not yet finished
        self._open: dict[str, _Client] = {}
        self._stopping = threading.Event()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> WebSocketGateway:
        from websockets.sync.server import serve

        logging.getLogger("websockets.server").setLevel(logging.WARNING)
        self._server = serve(self._handle, self.host, self.port, process_request=self._on_handshake,
                             max_size=MAX_MESSAGE_BYTES, close_timeout=CLOSE_TIMEOUT_S, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="websocket-gateway")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every connection (no $disconnect is invoked: the stack is going away) and the listener."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def connection_ids(self) -> list[str]:
        with self._lock:
            return list(self._open)

    # -- API Gateway's side of the socket ---------------------------------------------------------------
    def _base_context(self, client: _Client, route_key: str, event_type: str) -> dict[str, Any]:
        now = time.time()
        request_id = base64.urlsafe_b64encode(os.urandom(11)).decode()
        return {
            "routeKey": route_key, "eventType": event_type, "extendedRequestId": request_id,
            "requestTime": _http_time(now), "messageDirection": "IN", "stage": STAGE,
            "connectedAt": client.connected_at_ms, "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": client.source_ip, "userAgent": client.user_agent},
            "requestId": request_id, "domainName": f"{self.host}:{self.port}", "connectionId": client.connection_id,
            "apiId": API_ID,
        }

    def _on_handshake(self, connection: Any, request: Any) -> Any:
        """$connect: the function decides; anything but a 2xx rejects the handshake with that status."""
        parsed = urllib.parse.urlsplit(request.path)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.raw_items():
            multi_headers.setdefault(name, []).append(value)
        headers = {name: ",".join(values) for name, values in multi_headers.items()}
        peer = connection.remote_address
        client = _Client(connection_id=new_connection_id(), socket=connection, headers=headers,
                         multi_headers=multi_headers, source_ip=str(peer[0]) if peer else "127.0.0.1",
                         user_agent=request.headers.get("User-Agent", ""), connected_at_ms=int(time.time() * 1000))
        event = {
            "headers": headers, "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "requestContext": self._base_context(client, "$connect", "CONNECT"),
            "isBase64Encoded": False,
        }
        result = self._invoke(self.routes["$connect"], event) or {}
        status = int(result.get("statusCode", 200))
        if not 200 <= status < 300:
            body = result.get("body") or f"{http.HTTPStatus(status).phrase}\n"
            return connection.respond(http.HTTPStatus(status), str(body))
        with self._lock:
            self._handshakes[connection.id] = client
        return None

    def _handle(self, connection: Any) -> None:
        with self._lock:
            client = self._handshakes.pop(connection.id)
            self._open[client.connection_id] = client
        try:
            for frame in connection:
                client.last_active_ms = int(time.time() * 1000)
                self._message(client, frame)
        except Exception:  # noqa: S110 - a connection closed with an error code ends like any other
            pass
        finally:
            with self._lock:
                self._open.pop(client.connection_id, None)
            if not self._stopping.is_set():
                context = self._base_context(client, "$disconnect", "DISCONNECT")
                context.update({"disconnectStatusCode": connection.close_code or 1006,
                                "disconnectReason": connection.close_reason or ""})
                self._safe_invoke(self.routes["$disconnect"], {
                    "headers": client.headers, "multiValueHeaders": client.multi_headers,
                    "requestContext": context, "isBase64Encoded": False})

    def _message(self, client: _Client, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            body, encoded = base64.b64encode(frame).decode(), True
        else:
            body, encoded = frame, False
        route_key = "$default"
        if not encoded:
            try:
                action = json.loads(frame).get("action")
            except (ValueError, AttributeError):
                action = None
            if isinstance(action, str) and action in self.routes and not action.startswith("$"):
                route_key = action
        context = self._base_context(client, route_key, "MESSAGE")
        context["messageId"] = base64.urlsafe_b64encode(os.urandom(11)).decode()
        self._safe_invoke(self.routes[route_key], {"requestContext": context, "body": body,
                                                   "isBase64Encoded": encoded})

    def _safe_invoke(self, function: str, event: dict[str, Any]) -> None:
        try:
            self._invoke(function, event)
        except Exception as exc:  # API Gateway logs an integration error; the connection stays open
            print(f"[websocket gateway] {function} failed: {exc!r}")

    # -- the management API -----------------------------------------------------------------------------
    def management(self, method: str, connection_id: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            client = self._open.get(connection_id)
            if client is not None and method == "DELETE":
                self._open.pop(connection_id)
        if client is None:
            return GONE
        if method == "POST":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            try:
                with client.lock:
                    client.socket.send(text if text is not None else body)
            except Exception:  # closed under us: what AWS reports for a connection that just went away
                return GONE
            return 200, {}, b""
        if method == "GET":
            return 200, {"Content-Type": "application/json"}, json.dumps({
                "connectedAt": _iso(client.connected_at_ms),
                "identity": {"sourceIp": client.source_ip, "userAgent": client.user_agent},
                "lastActiveAt": _iso(client.last_active_ms or client.connected_at_ms)}).encode()
        if method == "DELETE":
            # AWS answers at once and closes the socket asynchronously; $disconnect follows.
            threading.Thread(target=client.socket.close, daemon=True, name="websocket-close").start()
            return 204, {}, b""
        return 405, {"Content-Type": "application/json"}, b'{"message":"Method Not Allowed"}'
