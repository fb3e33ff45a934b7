"""A tenant onboarded through the platform API with its own WhatsApp number (no bot, no fallback campaign), and
the customer's side of it: signed webhooks in, what the Graph emulator received out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.local.stack import LocalStack
from tests.integration.api_client import OPERATOR_KEY, call, onboard
from tests.integration.conftest import sends_to, wait_for
from tests.integration.payloads import envelope, new_wamid


class Tenant:
    def __init__(self, stack: LocalStack, tenant_id: str, pni: str) -> None:
        self.stack, self.tenant_id, self.pni, self.secret = stack, tenant_id, pni, f"{tenant_id}-secret"
        self.key = onboard(stack, tenant_id)
        answer = call(stack, "POST", f"/platform/v1/tenants/{tenant_id}/channels", {
            "phone_number_id": pni, "app_secret": self.secret, "access_token": f"{tenant_id}-token"},
            key=OPERATOR_KEY)
        assert answer.status == 201, answer.text
        self.channel_id = str(answer.body["channel"]["channel_id"])

    def api(self, method: str, path: str, body: Any = None, status: int | None = 200) -> Any:
        answer = call(self.stack, method, path, body, key=self.key)
        if status is not None:
            assert answer.status == status, f"{method} {path}: {answer.status} {answer.text}"
        return answer.body

    def say(self, wa_id: str, text: str, *, reply_id: str | None = None) -> None:
        message: dict[str, Any] = {"from": wa_id, "id": new_wamid(),
                                   "timestamp": str(int(datetime.now(UTC).timestamp()))}
        if reply_id:
            message |= {"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {
                "id": reply_id, "title": text}}}
        else:
            message |= {"type": "text", "text": {"body": text}}
        status, _ = self.stack.post_webhook(envelope({"contacts": [{"profile": {"name": "Lucía Gómez"},
                                                                    "wa_id": wa_id}], "messages": [message]},
                                                     pni=self.pni), secret=self.secret, channel_id=self.channel_id)
        assert status == 200

    def texts(self, wa_id: str) -> list[str]:
        out = []
        for request in sends_to(self.stack, wa_id):
            body = request["body"]
            if body.get("type") == "text":
                out.append(body["text"]["body"])
            elif body.get("type") == "interactive":
                out.append(body["interactive"]["body"]["text"])
        return out

    def conversation(self, wa_id: str) -> dict[str, Any]:
        items = wait_for(lambda: [c for c in self.api("GET", "/v1/conversations")["items"]
                                  if c["contact_key"] == wa_id])
        return dict(items[0])

    def executions(self, workflow_id: str) -> list[dict[str, Any]]:
        return list(self.api("GET", f"/v1/workflows/{workflow_id}/executions")["executions"])
