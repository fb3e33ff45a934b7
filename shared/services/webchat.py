"""Web chat: our own channel, embedded in any site with one `<script>` tag (shared/data/webchat_widget.js).

The widget talks to the public `webchat_api` function over HTTPS and to the WebSocket API for pushes:

* `config`: how the widget looks (title, greeting, colour, pre-chat form).
* `start_session`: a visitor session token, HMAC-signed with the channel's own key (`verify_token` of its secret,
  never shown to anyone). A visitor is anonymous (`anon:<random>`), or a customer the site signed in: the site's
  server computes `user_hash = hex(HMAC-SHA256(identity secret, user_id))` and the widget presents both; a wrong
  hash is 401, never a silent downgrade. A previous token (even expired, within RENEW_WITHIN) keeps the visitor.
* `post_message`: a visitor's text or button tap becomes an InboundUnit on the inbound FIFO queue, exactly like a
  provider webhook: the same processor, bot, agents and workflows follow. The id is derived from the widget's
  client_message_id, so a retried POST is deduplicated by SQS and by the store.
* `history`: the visitor's own thread (never another's: the thread comes from the signed token).
* `mark_read`: the visitor saw a message of ours; only a message of their own thread.
* Pushes: the sender stores each outbound message, then pushes it to the visitor's open connections
  (`VisitorPush`); a visitor with no open connection reads it from `history` when the widget comes back.

The tenant always comes from the channel in the URL (and the token signed for it), never from the request body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ChannelNotFound, Forbidden, InvalidInput, NotFound, Unauthorized
from shared.models.channel import Channel, WebChatSettings
from shared.models.crm import normalize_email
from shared.models.envelopes import OutboundRequest
from shared.ports import ChannelDirectory, Clock, InboundQueue
from shared.services.phone import InvalidPhone, normalize_phone
from shared.services.queue_keys import queued_unit
from shared.services.realtime import Pusher, message
from shared.services.send_policy import UnsupportedOnChannel
from shared.services.webchat_parser import USER_PREFIX
from shared.services.webhook_units import as_dict, nonempty_str

WIDGET_PATH = Path(__file__).resolve().parent.parent / "data" / "webchat_widget.js"
TOKEN_VERSION = "v1"
TOKEN_TTL = timedelta(days=30)
RENEW_WITHIN = timedelta(days=90)  # an expired token still names its visitor this long after it expired
MAX_TEXT_CHARS = 4096
HISTORY_LIMIT = 200
ANON_PREFIX = "anon:"
_USER_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces: the site's own customer id
VISIBLE_OUT_STATUSES = frozenset({"accepted", "sent", "delivered", "read"})


# -- what the widget sends ------------------------------------------------------------------------------------
class PrechatInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=80)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)


class IdentityInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: str = Field(min_length=1, max_length=128)
    user_hash: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-fA-F]{64}$")
    name: str | None = Field(default=None, max_length=80)
    email: str | None = Field(default=None, max_length=254)


class SessionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(default=None, max_length=2048)
    prechat: PrechatInput | None = None
    identity: IdentityInput | None = None


class ReplyInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1, max_length=100)


class VisitorMessageInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_message_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)
    reply: ReplyInput | None = None


class ReadInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=1, max_length=128)


# -- visitors and their tokens ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Visitor:
    channel_id: str
    contact_key: str  # anon:<random> or user:<the site's user id>: the thread's and the contact's identity
    name: str | None = None
    email: str | None = None
    phone: str | None = None  # E.164 without "+", as every channel stores phones

    @property
    def verified(self) -> bool:
        return self.contact_key.startswith(USER_PREFIX)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, data: bytes) -> bytes:
    return hmac.new(key.encode(), data, hashlib.sha256).digest()


def sign_token(key: str, visitor: Visitor, *, now: datetime, ttl: timedelta = TOKEN_TTL) -> tuple[str, datetime]:
    """`v1.<payload>.<mac>`: the channel, the visitor and what they told us, signed with the channel's key."""
    expires = now + ttl
    claims = {"c": visitor.channel_id, "k": visitor.contact_key, "exp": int(expires.timestamp())}
    claims.update({f: v for f, v in (("n", visitor.name), ("e", visitor.email), ("p", visitor.phone)) if v})
    payload = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signed = f"{TOKEN_VERSION}.{payload}"
    return f"{signed}.{_b64(_mac(key, signed.encode()))}", expires


def _split_token(token: str) -> tuple[list[str], bytes, Any]:
    """(the token's parts, its MAC, its claims) as written; Unauthorized when it is not shaped like ours."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_VERSION:
        raise Unauthorized("not a web chat session token")
    try:
        return parts, _unb64(parts[2]), json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unauthorized("not a web chat session token") from exc


def read_token(key: str, token: str, *, channel_id: str, now: datetime, renew: bool = False) -> Visitor:
    """The visitor a token names; Unauthorized when it is not ours, not this channel's or expired (`renew`
    accepts an expired one within RENEW_WITHIN, to keep a returning visitor's thread)."""
    parts, given, claims = _split_token(token)
    if not hmac.compare_digest(given, _mac(key, f"{parts[0]}.{parts[1]}".encode())):
        raise Unauthorized("the session token's signature does not match")
    if not isinstance(claims, dict) or claims.get("c") != channel_id or not isinstance(claims.get("k"), str):
        raise Unauthorized("the session token belongs to another channel")
    expires = datetime.fromtimestamp(int(claims.get("exp") or 0), UTC)
    if now >= expires + (RENEW_WITHIN if renew else timedelta(0)):
        raise Unauthorized("the session has expired; start a new one")
    return Visitor(channel_id=channel_id, contact_key=claims["k"], name=claims.get("n"), email=claims.get("e"),
                   phone=claims.get("p"))


def identity_hash(secret: str, user_id: str) -> str:
    """What the site's server computes for a signed-in customer (documented in the README with examples)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


# -- messages as the widget shows them ---------------------------------------------------------------------------
def content_view(content: Mapping[str, Any]) -> dict[str, Any]:
    """An outbound message's content as the widget renders it. Raises UnsupportedOnChannel for forms the widget
    has no place for (a reaction, a template)."""
    kind = str(content.get("type") or "")
    if kind == "text":
        return {"type": "text", "text": content.get("body")}
    text = "\n".join(str(p) for p in (content.get("header"), content.get("body"), content.get("footer")) if p)
    if kind == "buttons":
        return {"type": "buttons", "text": text,
                "buttons": [{"id": b.get("id"), "title": b.get("title")} for b in content.get("buttons") or []]}
    if kind == "list":
        rows = [r for s in content.get("sections") or [] for r in as_dict(s).get("rows") or []]
        return {"type": "list", "text": text,
                "buttons": [{"id": r.get("id"), "title": r.get("title")} for r in rows]}
    if kind in ("image", "audio", "video", "document", "sticker"):
        link = nonempty_str(content.get("link"))
        if link is None:
            raise UnsupportedOnChannel("web chat shows media by URL (`link`); a provider media id has no URL here")
        return {"type": kind, "text": content.get("caption"),
                "media": {"url": link, "filename": content.get("filename"), "mime_type": None}}
    raise UnsupportedOnChannel(f"web chat has no {kind or 'such'} message")


def _public_status(status: Any) -> str | None:
    return "sent" if status == "accepted" else (str(status) if status else None)


def outbound_view(request: OutboundRequest, *, at: datetime) -> dict[str, Any]:
    view = {"id": request.message_id, "direction": "out", "text": None, "buttons": None, "media": None,
            "location": None, "sent_at": _iso(at), "status": "sent"}
    view.update(content_view(request.content.model_dump(mode="json", exclude_none=True)))
    return view


def item_view(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """A stored message (DynamoMessageStore's thread timeline item) as the widget shows it; None for what the
    visitor must not see (sends refused or failed, internal items)."""
    direction = item.get("direction")
    at = str(item.get("sent_at") or item.get("accepted_at") or item.get("created_at") or "")
    base = {"id": str(item.get("message_id")), "direction": direction, "text": item.get("text"), "buttons": None,
            "media": None, "location": None, "sent_at": at, "status": None}
    if direction == "in":
        kind = str(item.get("message_type") or "text")
        return {**base, "type": "text" if kind == "interactive" else kind}
    if direction != "out" or str(item.get("status")) not in VISIBLE_OUT_STATUSES:
        return None
    try:
        content = json.loads(str(item.get("content") or "{}"))
        view = content_view(content if isinstance(content, dict) else {})
    except (ValueError, UnsupportedOnChannel):
        return None
    return {**base, **view, "status": _public_status(item.get("status"))}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- inbound units (what the inbound processor normalizes) -------------------------------------------------------
def message_id_for(contact_key: str, client_message_id: str) -> str:
    """A visitor's message id: their widget's id, scoped to them (two visitors' ids never collide)."""
    return "wc_" + hashlib.sha256(f"{contact_key}#{client_message_id}".encode()).hexdigest()[:32]


# -- ports ------------------------------------------------------------------------------------------------------
class MessageHistory(Protocol):
    def thread_messages(self, tenant_id: str, channel_id: str, contact_key: str) -> list[dict[str, Any]]: ...

    def get_message(self, tenant_id: str, channel_id: str, message_id: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class VisitorConnection:
    connection_id: str
    tenant_id: str
    channel_id: str
    contact_key: str


class VisitorConnections(Protocol):
    def add(self, connection: VisitorConnection, *, now: datetime) -> None: ...

    def remove(self, connection_id: str) -> VisitorConnection | None:
        """Forget a visitor's connection; None when the id is not a visitor's."""

    def list(self, tenant_id: str, channel_id: str, contact_key: str) -> list[VisitorConnection]: ...


class WebChatPush(Protocol):
    def push(self, tenant_id: str, channel_id: str, contact_key: str, kind: str, data: Mapping[str, Any]) -> int:
        """Send one frame to every open widget of the visitor; how many got it."""


class VisitorPush:
    """Pushes to a visitor's open widgets (every tab); a connection the gateway reports gone is forgotten."""

    def __init__(self, connections: VisitorConnections, pusher: Pusher) -> None:
        self._connections = connections
        self._pusher = pusher

    def push(self, tenant_id: str, channel_id: str, contact_key: str, kind: str, data: Mapping[str, Any]) -> int:
        payload = message(kind, data)  # the same frame agents' clients receive
        pushed = 0
        for connection in self._connections.list(tenant_id, channel_id, contact_key):
            if self._pusher.post(connection.connection_id, payload):
                pushed += 1
            else:
                self._connections.remove(connection.connection_id)
        return pushed


# -- the service ------------------------------------------------------------------------------------------------
class WebChatService:
    def __init__(self, *, directory: ChannelDirectory, queue: InboundQueue, history: MessageHistory,
                 connections: VisitorConnections, clock: Clock, websocket_url: str) -> None:
        self._directory = directory
        self._queue = queue
        self._history = history
        self._connections = connections
        self._clock = clock
        self._websocket_url = websocket_url

    def channel(self, channel_id: str) -> tuple[Channel, WebChatSettings]:
        channel = self._directory.get_channel(channel_id)
        if channel is None or channel.kind != "webchat" or not channel.enabled:
            raise ChannelNotFound(channel_id)
        return channel, channel.webchat or WebChatSettings()

    @staticmethod
    def check_origin(settings: WebChatSettings, origin: str | None) -> None:
        """Pages of other sites may not embed the channel when the tenant listed its own. (A browser always sends
        Origin on these requests; a script outside a browser can say anything, so this guards embedding only.)"""
        if origin and settings.allowed_origins and origin.rstrip("/") not in {
                o.rstrip("/") for o in settings.allowed_origins}:
            raise Forbidden(f"pages of {origin} may not use this chat")

    def config(self, channel_id: str, origin: str | None = None) -> dict[str, Any]:
        channel, settings = self.channel(channel_id)
        self.check_origin(settings, origin)
        types = {"name": "text", "email": "email", "phone": "tel"}
        return {"channel_id": channel.channel_id, "title": settings.title, "greeting": settings.greeting,
                "color": settings.color, "identity_required": settings.identity_required,
                "prechat": {"enabled": bool(settings.prechat_fields),
                            "fields": [{"name": f.name, "label": f.label, "required": f.required,
                                        "type": types[f.name]} for f in settings.prechat_fields]}}

    # -- sessions ---------------------------------------------------------------------------------------------
    def start_session(self, channel_id: str, data: SessionInput, *, origin: str | None = None) -> dict[str, Any]:
        channel, settings = self.channel(channel_id)
        self.check_origin(settings, origin)
        keys = self._directory.get_secrets(channel)
        now = self._clock.now()
        previous: Visitor | None = None
        if data.token:
            try:
                previous = read_token(keys.verify_token.get_secret_value(), data.token, channel_id=channel_id,
                                      now=now, renew=True)
            except Unauthorized:
                previous = None  # a stale or foreign token: a new visitor, not an error (the widget just reloads)
        if data.identity is not None:
            visitor = self._signed_in(keys.app_secret.get_secret_value(), channel_id, data.identity)
        elif settings.identity_required:
            raise Unauthorized("this chat is for signed-in customers: the page must give user_id and user_hash")
        elif previous is not None and not previous.verified:
            visitor = previous
        else:
            visitor = Visitor(channel_id=channel_id, contact_key=ANON_PREFIX + secrets.token_hex(12))
        # The form is for visitors we do not know yet; a signed-in customer is known to the site already.
        if data.prechat is not None or (previous is None and data.identity is None and settings.prechat_fields):
            visitor = self._with_prechat(visitor, settings, data.prechat or PrechatInput())
        token, expires = sign_token(keys.verify_token.get_secret_value(), visitor, now=now)
        return {"token": token, "visitor_id": visitor.contact_key, "expires_at": _iso(expires),
                "websocket_url": self._websocket_url or None}

    @staticmethod
    def _signed_in(secret: str, channel_id: str, identity: IdentityInput) -> Visitor:
        if not _USER_ID.match(identity.user_id):
            raise InvalidInput("user_id must be 1-128 printable characters without spaces")
        if not hmac.compare_digest(identity_hash(secret, identity.user_id), identity.user_hash.lower()):
            raise Unauthorized("user_hash does not match user_id: sign it with the channel's identity secret")
        email = _valid_email(identity.email)
        return Visitor(channel_id=channel_id, contact_key=USER_PREFIX + identity.user_id, name=identity.name,
                       email=email)

    @staticmethod
    def _with_prechat(visitor: Visitor, settings: WebChatSettings, form: PrechatInput) -> Visitor:
        problems: list[str] = []
        values: dict[str, str | None] = {"name": form.name or None, "email": form.email or None,
                                         "phone": form.phone or None}
        for field in settings.prechat_fields:
            if field.required and not values[field.name]:
                problems.append(f"{field.label} es obligatorio")
        if values["email"]:
            values["email"] = _valid_email(values["email"])
            if values["email"] is None:
                problems.append("el email no es válido")
        if values["phone"]:
            try:
                values["phone"] = normalize_phone(values["phone"]).removeprefix("+")
            except InvalidPhone:
                problems.append("el teléfono debe incluir el código de país, p. ej. +54 9 11 2345 6789")
        if problems:
            raise InvalidInput("; ".join(problems))
        return Visitor(channel_id=visitor.channel_id, contact_key=visitor.contact_key,
                       name=visitor.name or values["name"], email=visitor.email or values["email"],
                       phone=visitor.phone or values["phone"])

    def visitor(self, channel_id: str, token: str | None, *, origin: str | None = None
                ) -> tuple[Channel, Visitor]:
        channel, settings = self.channel(channel_id)
        self.check_origin(settings, origin)
        if not token:
            raise Unauthorized("missing session token (Authorization: Bearer <token>)")
        key = self._directory.get_secrets(channel).verify_token.get_secret_value()
        return channel, read_token(key, token, channel_id=channel_id, now=self._clock.now())

    # -- the visitor writes, reads, sees -----------------------------------------------------------------------
    def post_message(self, channel_id: str, token: str | None, data: VisitorMessageInput, *,
                     origin: str | None = None) -> dict[str, Any]:
        channel, visitor = self.visitor(channel_id, token, origin=origin)
        if (data.text is None) == (data.reply is None):
            raise InvalidInput("send exactly one of text or reply")
        if data.text is not None and not data.text.strip():
            raise InvalidInput("text is empty")
        message_id = message_id_for(visitor.contact_key, data.client_message_id)
        now = self._clock.now()
        payload: dict[str, Any] = {"id": message_id, "from": visitor.contact_key,
                                   "sent_at_ms": int(now.timestamp() * 1000)}
        profile = {k: v for k, v in (("name", visitor.name), ("email", visitor.email), ("phone", visitor.phone))
                   if v}
        if profile:
            payload["profile"] = profile
        if data.reply is not None:
            payload["reply"] = data.reply.model_dump()
        else:
            payload["text"] = data.text
        self._enqueue(channel, visitor, "message", payload, dedup_key=message_id, now=now)
        return {"message_id": message_id}

    def history(self, channel_id: str, token: str | None, *, origin: str | None = None) -> list[dict[str, Any]]:
        channel, visitor = self.visitor(channel_id, token, origin=origin)
        items = self._history.thread_messages(channel.tenant_id, channel.channel_id, visitor.contact_key)
        views = [v for v in (item_view(i) for i in items) if v is not None]
        views.sort(key=lambda v: (v["sent_at"], v["id"]))
        return views[-HISTORY_LIMIT:]

    def mark_read(self, channel_id: str, token: str | None, data: ReadInput, *, origin: str | None = None) -> None:
        channel, visitor = self.visitor(channel_id, token, origin=origin)
        item = self._history.get_message(channel.tenant_id, channel.channel_id, data.message_id)
        if item is None or item.get("contact_key") != visitor.contact_key or item.get("direction") != "out":
            raise NotFound(f"no message {data.message_id} for this visitor")
        payload = {"id": data.message_id, "status": "read", "recipient": visitor.contact_key}
        self._enqueue(channel, visitor, "status", payload, dedup_key=f"{data.message_id}:read", now=self._clock.now())

    def _enqueue(self, channel: Channel, visitor: Visitor, kind: Literal["message", "status"],
                 payload: dict[str, Any], *, dedup_key: str, now: datetime) -> None:
        self._queue.enqueue([queued_unit(channel, kind=kind, provider="webchat", payload=payload,
                                         contact_key=visitor.contact_key, dedup_key=dedup_key,
                                         received_at_ms=int(now.timestamp() * 1000))])

    # -- the WebSocket ---------------------------------------------------------------------------------------
    def connect(self, token: str, connection_id: str, *, origin: str | None = None) -> VisitorConnection:
        """$connect with `?visitor=<token>`: the token names the channel (checked against the signature)."""
        channel_id = _claimed_channel(token)
        channel, visitor = self.visitor(channel_id, token, origin=origin)
        connection = VisitorConnection(connection_id=connection_id, tenant_id=channel.tenant_id,
                                       channel_id=channel.channel_id, contact_key=visitor.contact_key)
        self._connections.add(connection, now=self._clock.now())
        return connection

    def disconnect(self, connection_id: str) -> VisitorConnection | None:
        return self._connections.remove(connection_id)


def _valid_email(value: str | None) -> str | None:
    """The address as the CRM stores it (shared.models.crm.normalize_email), or None when it is not one."""
    try:
        return normalize_email(value) if value else None
    except ValueError:
        return None


def _claimed_channel(token: str) -> str:
    """The channel a token says it is for (only a hint: read_token checks it against that channel's key)."""
    _, _, claims = _split_token(token)
    channel_id = claims.get("c") if isinstance(claims, dict) else None
    if not isinstance(channel_id, str) or not channel_id:
        raise Unauthorized("not a web chat session token")
    return channel_id

