"""A WhatsApp user simulator over a running local stack (`make dev` or the integration-test `LocalStack`).

It posts signed Cloud API webhooks (text, interactive replies, image and document messages) to the stack's
webhook endpoint and reads what the platform sent back to that user from the Graph emulator
(`GET /local/graph/requests`), rendering each Graph `/messages` payload as readable text:

    text         -> the body
    interactive  -> the body, then one "[n] title" per button or list row
    template     -> "[template name: param, param]"
    document     -> "[document filename] caption"
    image, ...   -> "[image caption]"

Standard library only (urllib), so it serves both the tests (tests/integration/test_conversations.py) and the
terminal chat (`make chat`, infra/local/chat.py).

    sim = Simulator("http://127.0.0.1:3000", phone_number_id="100000000000001", app_secret="local-app-secret",
                    channel_id="demo-whatsapp", wa_id="5491155550101", name="María González")
    sim.send_text("hola")
    print([r.text for r in sim.replies()])   # ["¡Hola! Soy el asistente ...\n[1] Solicitar un crédito  [2] ..."]
    sim.tap("Solicitar un crédito")          # a list_reply / button_reply with that row's id and title
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

# A tiny valid JPEG (1x1 pixel) and a minimal PDF: what `send_image` / `send_document` upload.
_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////"
    "////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=")
_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


class SimulatorError(RuntimeError):
    """The stack refused an input, or there is nothing to tap."""


@dataclass
class Reply:
    """One message the platform sent to the simulated user."""

    payload: dict[str, Any]
    text: str  # what a person reads, options included
    options: list[tuple[str, str]] = field(default_factory=list)  # (id, title) of buttons / list rows
    body: str = ""  # the text without the options

    def __post_init__(self) -> None:
        if not self.body:
            self.body = self.text

    @property
    def kind(self) -> str:
        return str(self.payload.get("type") or "")


def _options(interactive: dict[str, Any]) -> list[tuple[str, str]]:
    action = interactive.get("action") or {}
    if interactive.get("type") == "button":
        return [(str(b.get("reply", {}).get("id", "")), str(b.get("reply", {}).get("title", "")))
                for b in action.get("buttons") or []]
    if interactive.get("type") == "list":
        return [(str(r.get("id", "")), str(r.get("title", "")))
                for s in action.get("sections") or [] for r in s.get("rows") or []]
    return []


def template_parameters(template: dict[str, Any], component: str | None = None) -> list[str]:
    """The text parameters of a template payload (of one component type, or of all of them)."""
    found: list[str] = []
    for comp in template.get("components") or []:
        if component and str(comp.get("type", "")).lower() != component:
            continue
        for param in comp.get("parameters") or []:
            if isinstance(param, dict) and param.get("type") == "text" and param.get("text") is not None:
                found.append(str(param["text"]))
    return found


def render(payload: dict[str, Any]) -> Reply:
    """A Graph API `/messages` body as the text a person would read on the phone."""
    kind = str(payload.get("type") or "")
    content = payload.get(kind) if isinstance(payload.get(kind), dict) else {}
    assert isinstance(content, dict)
    if kind == "text":
        return Reply(payload, str(content.get("body", "")))
    if kind == "interactive":
        parts = [str((content.get(key) or {}).get("text") or "") for key in ("header", "body", "footer")]
        options = _options(content)
        body = "\n".join(p for p in parts if p)
        shown = body
        if options:
            shown += "\n" + "  ".join(f"[{i}] {title}" for i, (_, title) in enumerate(options, 1))
        return Reply(payload, shown, options, body)
    if kind == "template":
        params = template_parameters(content, "body") or template_parameters(content)
        name = str(content.get("name", ""))
        return Reply(payload, f"[template {name}: {', '.join(params)}]" if params else f"[template {name}]")
    if kind == "reaction":
        return Reply(payload, f"[reaction {content.get('emoji') or ''}]")
    if kind in ("document", "image", "video", "audio", "sticker"):
        label = content.get("filename") if kind == "document" else None
        caption = content.get("caption")
        head = f"[{kind} {label}]" if label else f"[{kind}]"
        return Reply(payload, f"{head} {caption}" if caption else head)
    return Reply(payload, f"[{kind or 'unknown'}] {json.dumps(content, ensure_ascii=False)}")


class Simulator:
    """One WhatsApp user talking to one channel of a running local stack."""

    def __init__(self, base_url: str, *, phone_number_id: str, app_secret: str, channel_id: str, wa_id: str,
                 name: str = "Cliente Prueba", display_phone_number: str = "15550000001",
                 settle_s: float = 1.5, poll_s: float = 0.2) -> None:
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self.app_secret = app_secret
        self.channel_id = channel_id
        self.wa_id = wa_id
        self.name = name
        self.display_phone_number = display_phone_number
        self.settle_s = settle_s
        self.poll_s = poll_s
        self.transcript: list[tuple[str, str]] = []  # ("user" | "bot", text), in order
        self.received: list[Reply] = []  # everything the platform sent to this user
        self.last_interactive: Reply | None = None
        self._seen = len(self._graph_requests())

    # -- HTTP ------------------------------------------------------------------------------------------
    def _http(self, method: str, path: str, body: bytes | None = None,
              headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def _graph_requests(self) -> list[dict[str, Any]]:
        status, raw = self._http("GET", "/local/graph/requests")
        if status != 200:
            raise SimulatorError(f"GET /local/graph/requests answered {status}")
        return list(json.loads(raw))

    def post(self, body: dict[str, Any]) -> None:
        """Post a webhook body signed with the channel's app secret (X-Hub-Signature-256)."""
        raw = json.dumps(body, ensure_ascii=False).encode()
        signature = "sha256=" + hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()
        status, answer = self._http("POST", f"/webhooks/whatsapp/{self.channel_id}", raw, {
            "Content-Type": "application/json", "X-Hub-Signature-256": signature})
        if status != 200:
            raise SimulatorError(f"webhook answered {status}: {answer[:300]!r}")

    def register_media(self, data: bytes, mime_type: str) -> tuple[str, str]:
        """Make bytes downloadable from the Graph emulator; returns (media id, base64 sha256)."""
        media_id = str(secrets.randbelow(9 * 10**15) + 10**15)
        status, answer = self._http("POST", "/local/graph/media", json.dumps({
            "media_id": media_id, "data_b64": base64.b64encode(data).decode(), "mime_type": mime_type}).encode(),
            {"Content-Type": "application/json"})
        if status != 200:
            raise SimulatorError(f"registering media answered {status}: {answer[:300]!r}")
        return media_id, base64.b64encode(hashlib.sha256(data).digest()).decode()

    # -- webhook bodies --------------------------------------------------------------------------------
    def webhook(self, message: dict[str, Any]) -> dict[str, Any]:
        """Wrap one `messages[]` item (type and its content) in the Cloud API webhook envelope."""
        item = {"from": self.wa_id, "id": f"wamid.SIM{secrets.token_hex(12).upper()}",
                "timestamp": str(int(time.time())), **message}
        return {"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{"field": "messages",
                "value": {"messaging_product": "whatsapp",
                          "metadata": {"display_phone_number": self.display_phone_number,
                                       "phone_number_id": self.phone_number_id},
                          "contacts": [{"profile": {"name": self.name}, "wa_id": self.wa_id}],
                          "messages": [item]}}]}]}

    # -- what the user does ----------------------------------------------------------------------------
    def send_text(self, text: str) -> None:
        self.post(self.webhook({"type": "text", "text": {"body": text}}))
        self.transcript.append(("user", text))

    def find_option(self, option: str) -> tuple[str, str]:
        """The (id, title) of the last interactive message's button or row whose title or id is `option`
        (exact first, then ignoring case)."""
        self.poll()
        if self.last_interactive is None:
            raise SimulatorError("the bot has not sent an interactive message to tap")
        options = self.last_interactive.options
        for oid, title in options:
            if option in (oid, title):
                return oid, title
        wanted = option.strip().casefold()
        for oid, title in options:
            if wanted in (oid.casefold(), title.casefold()):
                return oid, title
        raise SimulatorError(f"no option {option!r} in the last interactive message: {options}")

    def tap(self, option: str) -> None:
        """Answer the last interactive message by choosing a button / list row (by exact title or id)."""
        oid, title = self.find_option(option)
        self._tap(oid, title)

    def tap_number(self, number: int) -> None:
        """Choose option `number` (1-based, as rendered) of the last interactive message."""
        self.poll()
        if self.last_interactive is None:
            raise SimulatorError("the bot has not sent an interactive message to tap")
        options = self.last_interactive.options
        if not 1 <= number <= len(options):
            raise SimulatorError(f"option {number} does not exist (1..{len(options)})")
        self._tap(*options[number - 1])

    def _tap(self, oid: str, title: str) -> None:
        assert self.last_interactive is not None
        kind = "list_reply" if self.last_interactive.payload["interactive"].get("type") == "list" else "button_reply"
        self.post(self.webhook({"type": "interactive", "interactive": {"type": kind, kind: {"id": oid,
                                                                                            "title": title}}}))
        self.transcript.append(("user", f"(tap) {title}"))

    def send_image(self, caption: str | None = None) -> None:
        media_id, sha = self.register_media(_JPEG, "image/jpeg")
        image: dict[str, Any] = {"mime_type": "image/jpeg", "sha256": sha, "id": media_id}
        if caption:
            image["caption"] = caption
        self.post(self.webhook({"type": "image", "image": image}))
        self.transcript.append(("user", f"[image]{' ' + caption if caption else ''}"))

    def send_document(self, filename: str = "documento.pdf", caption: str | None = None) -> None:
        media_id, sha = self.register_media(_PDF, "application/pdf")
        document: dict[str, Any] = {"filename": filename, "mime_type": "application/pdf", "sha256": sha,
                                    "id": media_id}
        if caption:
            document["caption"] = caption
        self.post(self.webhook({"type": "document", "document": document}))
        self.transcript.append(("user", f"[document {filename}]"))

    def send_otp(self) -> str:
        """Type the last verification code the platform sent by template."""
        code = self.last_otp_code()
        if code is None:
            raise SimulatorError("no verification code was sent to this user")
        self.send_text(code)
        return code

    # -- what the platform sends -----------------------------------------------------------------------
    def poll(self) -> list[Reply]:
        """Messages sent to this user since the last poll (they become part of the transcript)."""
        requests = self._graph_requests()
        if len(requests) < self._seen:  # the emulator was reset
            self._seen = 0
        fresh = requests[self._seen:]
        self._seen = len(requests)
        out: list[Reply] = []
        for req in fresh:
            body = req.get("body")
            if not str(req.get("path", "")).endswith("/messages") or not isinstance(body, dict):
                continue
            if body.get("to") != self.wa_id or "type" not in body:
                continue
            reply = render(body)
            out.append(reply)
            self.received.append(reply)
            self.transcript.append(("bot", reply.text))
            if reply.options:
                self.last_interactive = reply
        return out

    def replies(self, timeout: float = 10.0) -> list[Reply]:
        """Wait for the replies to the last input: settled once nothing new came for `settle_s` after at least
        one reply arrived, or `timeout` seconds passed (then whatever came, maybe nothing)."""
        got: list[Reply] = []
        deadline = time.monotonic() + timeout
        last_at: float | None = None
        while True:
            fresh = self.poll()
            now = time.monotonic()
            if fresh:
                got.extend(fresh)
                last_at = now
            if last_at is not None and now - last_at >= self.settle_s:
                return got
            if now >= deadline:
                return got
            time.sleep(self.poll_s)

    def reply_texts(self, timeout: float = 10.0) -> list[str]:
        return [r.text for r in self.replies(timeout)]

    def last_otp_code(self) -> str | None:
        """The code in the body parameter of the last template sent to this user (e.g. codigo_verificacion)."""
        self.poll()
        for reply in reversed(self.received):
            if reply.kind == "template":
                params = template_parameters(reply.payload.get("template") or {}, "body")
                if params:
                    return params[0]
        return None

    def format_transcript(self) -> str:
        lines = []
        for who, text in self.transcript:
            label = "  usuario>" if who == "user" else "      bot>"
            lines.append(f"{label} " + text.replace("\n", "\n" + " " * (len(label) + 1)))
        return "\n".join(lines)
