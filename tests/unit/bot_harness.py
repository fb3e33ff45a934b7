"""Drive the bot engine in-process: the demo bot, its integrations answered by the sample core-banking API
(no sockets: a transport that calls CoreBankingApi.handle), email/SMS/documents/links captured."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from examples.core_banking.api import CoreBankingApi
from shared.models.bot_session import SessionState, TurnInput, TurnResult
from shared.models.envelopes import ButtonsContent, ListContent, MediaContent, TemplateContent, TextContent
from shared.services.bot_engine import BotEngine, BotPorts, CompiledBot, DeliveryFailed, TurnContext, compile_bot
from shared.services.bot_loader import load_definition
from shared.services.generative import LlmProvider
from shared.services.integrations import HttpResponse, IntegrationRunner, TransportTimeout

REPO = Path(__file__).resolve().parents[2]
DEMO_BOT = REPO / "examples" / "bots" / "banco_demo.yaml"
BASE = "https://core.banco-demo.example/local/core-banking"


class InProcessTransport:
    """HttpTransport that answers from CoreBankingApi; a timeout when the API would take too long."""

    def __init__(self, api: CoreBankingApi) -> None:
        self.api = api
        self.calls: list[tuple[str, str, Any]] = []

    def request(self, method: str, url: str, *, headers: Mapping[str, str], params: Mapping[str, str],
                json_body: Any, timeout_s: float) -> HttpResponse:
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.urlencode(dict(params)) if params else parts.query
        target = parts.path + (f"?{query}" if query else "")
        self.calls.append((method, target, json_body))
        slept: list[float] = []
        self.api.sleep = slept.append
        reply = self.api.handle(method, target, {k.lower(): v for k, v in headers.items()},
                                json.dumps(json_body).encode() if json_body is not None else b"")
        if slept and sum(slept) > timeout_s:
            raise TransportTimeout(f"no answer in {timeout_s}s")
        assert reply is not None, target
        status, reply_headers, body = reply
        return HttpResponse(status=status, body=body, headers=dict(reply_headers))


class Secrets:
    def __init__(self) -> None:
        self.values = {"omnichannel/bots/demo/core-banking": {"base_url": BASE, "api_key": "demo-core-key"}}

    def read_json(self, name: str) -> dict[str, Any] | None:
        return self.values.get(name)


@dataclass
class Captured:
    emails: list[dict[str, Any]] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    fail_email: bool = False

    def send(self, *, tenant_id: str, to: str, subject: str, body: str, sender: str | None,
             attachments: Any = ()) -> str:
        if self.fail_email:
            raise DeliveryFailed("ses down")
        self.emails.append({"to": to, "subject": subject, "body": body, "attachments": list(attachments)})
        return f"email-{len(self.emails)}"


class Sms:
    def __init__(self, captured: Captured) -> None:
        self.captured = captured

    def send(self, *, tenant_id: str, to: str, text: str) -> str:
        self.captured.sms.append({"to": to, "text": text})
        return "sms-1"


class Documents:
    def __init__(self, captured: Captured) -> None:
        self.captured = captured

    def put_pdf(self, *, tenant_id: str, conversation_id: str, filename: str, data: bytes) -> str:
        self.captured.documents.append({"filename": filename, "data": data})
        return f"https://files.example/{filename}"


class Links:
    def __init__(self, captured: Captured) -> None:
        self.captured = captured

    def issue(self, *, tenant_id: str, contact_id: str, purpose: str, ttl_s: int, base_url: str | None) -> str:
        self.captured.links.append({"contact_id": contact_id, "purpose": purpose, "ttl_s": ttl_s})
        return f"https://links.example/l?t={purpose}-{contact_id}"


def reply_text(content: Any) -> str:
    """A reply as the customer would read it (buttons/lists flattened)."""
    if isinstance(content, TextContent):
        return content.body
    if isinstance(content, ButtonsContent):
        return content.body + "\n" + " | ".join(b.title for b in content.buttons)
    if isinstance(content, ListContent):
        return content.body + "\n" + " | ".join(r.title for s in content.sections for r in s.rows)
    if isinstance(content, MediaContent):
        return f"[{content.type}:{content.filename or content.link}] {content.caption or ''}"
    if isinstance(content, TemplateContent):
        return f"[template:{content.name}]"
    return str(content)


class BotChat:
    """A conversation with a bot: say() runs one turn and returns the replies."""

    def __init__(self, source: str | None = None, *, llm: LlmProvider | None = None, interactive: bool = True,
                 now: int = 1_800_000_000) -> None:
        self.definition = load_definition(source or DEMO_BOT.read_text(encoding="utf-8"))
        self.bot: CompiledBot = compile_bot(self.definition, 1)
        self.api = CoreBankingApi(api_key="demo-core-key")
        self.transport = InProcessTransport(self.api)
        self.captured = Captured()
        self.ports = BotPorts(
            integrations=IntegrationRunner(transport=self.transport, secrets=Secrets(),
                                           secret_prefix="omnichannel/bots"),
            email=self.captured, sms=Sms(self.captured), documents=Documents(self.captured),
            links=Links(self.captured), llm=llm, otp_pepper=b"test-pepper", models={"LITE": "model-lite"})
        self.engine = BotEngine(self.ports)
        self.now = now
        self.interactive = interactive
        self.ctx = self._ctx()
        self.state: SessionState = self.engine.new_session(self.bot, self.ctx, "bs_test")
        self.results: list[TurnResult] = []

    def _ctx(self) -> TurnContext:
        return TurnContext(tenant_id="demo", conversation_id="cv_test", channel_id="wa", address="5491122223333",
                           now=self.now, contact={"contact_id": "ct_1", "name": "Lucía", "phone": "+5491122223333"},
                           interactive=self.interactive)

    def turn(self, text: str | None = None, *, reply_id: str | None = None,
             media: tuple[dict[str, Any], ...] = ()) -> TurnResult:
        self.ctx = self._ctx()
        if self.state.status != "active":
            self.state = self.engine.new_session(self.bot, self.ctx, f"bs_test{len(self.results)}")
        result = self.engine.turn(self.bot, self.state, TurnInput(text=text, reply_id=reply_id,
                                                                  media=media), self.ctx)
        self.results.append(result)
        return result

    def say(self, text: str | None = None, **kwargs: Any) -> str:
        return "\n".join(reply_text(r) for r in self.turn(text, **kwargs).replies)

    @property
    def vars(self) -> dict[str, Any]:
        return self.state.vars

    def last_otp_code(self) -> str:
        for result in reversed(self.results):
            for reply in result.replies:
                if isinstance(reply, TemplateContent):
                    return str(reply.components[0]["parameters"][0]["text"])
        raise AssertionError("no code was sent")
