"""An LlmProvider over any OpenAI-compatible Chat Completions endpoint (OpenAI, Azure OpenAI's v1 API, vLLM,
Ollama, Groq, OpenRouter, LiteLLM...).

POST {base_url}/chat/completions with
    {"model", "messages": [{"role": "system"|"user"|"assistant"|"tool", ...}], "max_tokens", "temperature",
     "tools": [{"type": "function", "function": {"name", "description", "parameters"}}]}
Assistant tool calls: message.tool_calls[] = {"id", "type": "function", "function": {"name", "arguments"}}
where `arguments` is a JSON *string*; results go back as {"role": "tool", "tool_call_id", "content": "<json>"}.
finish_reason: stop | tool_calls | length | content_filter (| function_call, legacy); usage: prompt_tokens,
completion_tokens.

`max_tokens_field`: OpenAI deprecated `max_tokens` in favour of `max_completion_tokens` (required by its
reasoning models); most compatible servers still read `max_tokens`, the default here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from shared.services.generative import (
    LlmMessage,
    LlmReply,
    LlmUnavailable,
    StopReason,
    TokenUsage,
    ToolCall,
    ToolSpec,
)

_FINISH_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refused",
}


class OpenAiCompatible:
    def __init__(self, base_url: str, api_key_provider: Callable[[], str], http: httpx.Client | None = None,
                 timeout_s: float = 30, *, max_tokens_field: str = "max_tokens") -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._api_key = api_key_provider
        self._http = http or httpx.Client(timeout=timeout_s)
        self._timeout_s = timeout_s
        self._max_tokens_field = max_tokens_field

    def converse(self, *, model_id: str, system: str, messages: Sequence[LlmMessage], tools: Sequence[ToolSpec],
                 max_tokens: int, temperature: float = 0.2) -> LlmReply:
        body: dict[str, Any] = {
            "model": model_id,
            "messages": chat_messages(system, messages),
            self._max_tokens_field: max_tokens,
            "temperature": temperature,
        }
        if tools:
            body["tools"] = [{"type": "function", "function": {
                "name": tool.name, "description": tool.description, "parameters": tool.input_schema}}
                for tool in tools]
        try:
            response = self._http.post(self._url, json=body, timeout=self._timeout_s,
                                       headers={"Authorization": f"Bearer {self._api_key()}"})
        except httpx.TimeoutException as exc:
            raise LlmUnavailable("LLM endpoint timed out", code="Timeout") from exc
        except httpx.HTTPError as exc:
            raise LlmUnavailable(f"LLM endpoint unreachable: {type(exc).__name__}", code=type(exc).__name__) from exc
        if response.status_code >= 400:
            status = response.status_code
            raise LlmUnavailable(f"LLM endpoint answered HTTP {status}", code=f"HTTP{status}",
                                 retryable=status == 429 or status >= 500)
        try:
            payload = response.json()
        except ValueError as exc:
            raise LlmUnavailable("LLM endpoint answered with invalid JSON", code="BadJson") from exc
        return parse_chat_completion(payload)


def chat_messages(system: str, messages: Sequence[LlmMessage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if system.strip():
        out.append({"role": "system", "content": system})
    for message in messages:
        if message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {"id": call.id, "type": "function",
                     "function": {"name": call.name, "arguments": json.dumps(call.input, ensure_ascii=False)}}
                    for call in message.tool_calls]
            if entry["content"] is not None or message.tool_calls:
                out.append(entry)
            continue
        out.extend({"role": "tool", "tool_call_id": result.tool_call_id,
                    "content": json.dumps(result.content or ({"error": "failed"} if result.is_error else {"ok": True}),
                                          ensure_ascii=False)}
                   for result in message.tool_results)
        if message.text:
            out.append({"role": "user", "content": message.text})
    return out


def parse_chat_completion(payload: Any) -> LlmReply:
    try:
        choice = payload["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise LlmUnavailable("LLM endpoint answered without choices", code="BadResponse") from exc
    calls: list[ToolCall] = []
    for raw in message.get("tool_calls") or ():
        function = raw.get("function") or {}
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as exc:
                raise LlmUnavailable("tool call arguments are not JSON", code="BadToolArguments") from exc
        if not isinstance(arguments, dict):
            raise LlmUnavailable("tool call arguments are not a JSON object", code="BadToolArguments")
        calls.append(ToolCall(id=str(raw.get("id") or f"call_{len(calls)}"), name=str(function.get("name")),
                              input=arguments))
    finish = str(choice.get("finish_reason") or "")
    stop: StopReason = "refused" if message.get("refusal") else _FINISH_REASONS.get(finish, "other")
    if calls and stop in ("end_turn", "other"):
        stop = "tool_use"  # some servers answer tool calls with finish_reason "stop"
    content = message.get("content")
    text = content.strip() if isinstance(content, str) and content.strip() else None
    usage = payload.get("usage") or {}
    return LlmReply(text=text, tool_calls=tuple(calls), stop_reason=stop,
                    usage=TokenUsage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)))
