"""A local stand-in for the LLM: an OpenAI-compatible `/chat/completions` on the gateway (no network, no model).

It is not intelligent and does not pretend to be: it lets the generative path of the bot engine run end to
end locally (OpenAiCompatible adapter -> GenerativeAgent -> tools -> reply) with deterministic answers:
  * when the request offers tools and the customer's last message contains a number the `buscar_cliente`
    or `consultar_deuda` tool can take (a DNI, a customer number like C-1003), it calls that tool once and,
    with the tool result in hand, answers with the fields it got back;
  * otherwise, when the system prompt carries knowledge passages, it answers with the first passage;
  * otherwise it calls `handoff_to_agent` (what the grounding rules tell a real model to do).
Usage is reported as characters / 4, so token accounting has numbers to record.
"""

from __future__ import annotations

import json
import re
from typing import Any

Reply = tuple[int, dict[str, str], bytes]

_PASSAGE = re.compile(r'<passage ref="[^"]*" title="[^"]*">\n(.*?)\n</passage>', re.S)
# the agent redacts PII before the prompt, so a DNI arrives as a placeholder the agent restores in tool calls
_DOCUMENT = re.compile(r"\[DOC_\d+\]|\b\d{7,8}\b")
_CUSTOMER = re.compile(r"\b[Cc]-?\d{4}\b")


def _completion(message: dict[str, Any], finish: str, prompt_chars: int) -> dict[str, Any]:
    content = message.get("content") or ""
    return {"id": "chatcmpl-local", "object": "chat.completion", "model": "local-emulator",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": max(1, prompt_chars // 4), "completion_tokens": max(1, len(content) // 4),
                      "total_tokens": max(2, (prompt_chars + len(content)) // 4)}}


def _tool_call(name: str, arguments: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [{
        "id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}]}


class LlmEmulator:
    def __init__(self, mount: str = "/local/llm/v1") -> None:
        self.mount = mount
        self.requests: list[dict[str, Any]] = []

    def handle(self, method: str, path: str, body: bytes) -> Reply | None:
        if path != f"{self.mount}/chat/completions":
            return None
        if method != "POST":
            return 405, {"Content-Type": "application/json"}, b'{"error":"method_not_allowed"}'
        request = json.loads(body or b"{}")
        self.requests.append(request)
        answer = self.answer(request)
        return 200, {"Content-Type": "application/json"}, json.dumps(answer, ensure_ascii=False).encode()

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        messages = request.get("messages") or []
        prompt_chars = sum(len(str(m.get("content") or "")) for m in messages)
        system = next((str(m.get("content") or "") for m in messages if m.get("role") == "system"), "")
        tools = {t["function"]["name"] for t in request.get("tools") or []}
        last = messages[-1] if messages else {}
        if last.get("role") == "tool":  # a tool answered: say what it returned
            data = json.loads(last.get("content") or "{}")
            if data.get("error") or not data:
                return _completion(_tool_call("handoff_to_agent", {"reason": "tool_failed"}, "call-2"),
                                   "tool_calls", prompt_chars)
            facts = ", ".join(f"{k}: {v}" for k, v in data.items() if not isinstance(v, dict | list))
            return _completion({"role": "assistant", "content": f"Esto es lo que encontré: {facts}."}, "stop",
                               prompt_chars)
        user = str(last.get("content") or "")
        customer = _CUSTOMER.search(user)
        if customer and "consultar_deuda" in tools:
            number = customer.group(0).upper().replace("C", "C-").replace("--", "-")
            return _completion(_tool_call("consultar_deuda", {"numero_cliente": number}, "call-1"), "tool_calls",
                               prompt_chars)
        document = _DOCUMENT.search(user)
        if document and "buscar_cliente" in tools:
            return _completion(_tool_call("buscar_cliente", {"documento": document.group(0)}, "call-1"),
                               "tool_calls", prompt_chars)
        passages = _PASSAGE.findall(system)
        if passages and "no passage matches" not in system:
            text = passages[0].strip().splitlines()[-1]
            return _completion({"role": "assistant", "content": text}, "stop", prompt_chars)
        return _completion(_tool_call("handoff_to_agent", {"reason": "no_answer_in_knowledge"}, "call-1"),
                           "tool_calls", prompt_chars)
