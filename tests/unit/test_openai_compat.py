"""The OpenAI-compatible provider over httpx.MockTransport, with recorded-shape chat.completions responses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.adapters.openai_compat import OpenAiCompatible, chat_messages, parse_chat_completion
from shared.services.generative import (
    END_TOOL,
    HANDOFF_TOOL,
    GenerativeAgent,
    LlmMessage,
    LlmUnavailable,
    TokenUsage,
    ToolCall,
    ToolOutcome,
    ToolResult,
    ToolSpec,
)

BASE_URL = "https://llm.example.test/v1/"
LOOKUP = ToolSpec("lookup_order", "Find an order.", {"type": "object", "properties": {"order_id": {"type": "string"}},
                                                     "required": ["order_id"]})


def completion(message: dict[str, Any], finish_reason: str, usage: tuple[int, int] = (82, 17)) -> dict[str, Any]:
    return {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "refusal": None, "annotations": [], **message},
                     "logprobs": None, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage),
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
        "service_tier": "default",
        "system_fingerprint": "fp_fc9f1d7035",
    }


TOOL_CALLS = completion({"content": None, "tool_calls": [{
    "id": "call_FthC9qRpsL5kBpwwyw6c7j4k", "type": "function",
    "function": {"name": "lookup_order", "arguments": "{\"order_id\":\"A-1001\",\"email\":\"[EMAIL_1]\"}"}}]},
    "tool_calls", usage=(301, 24))
FINAL = completion({"content": "Tu pedido A-1001 llega el jueves; te avisamos a [EMAIL_1]."}, "stop",
                   usage=(362, 19))


class Endpoint:
    """A MockTransport handler answering queued responses and recording every request body."""

    def __init__(self, *responses: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0)
        return item(request) if callable(item) else item

    def body(self, index: int) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.requests[index].content)
        return data

    def provider(self, **kwargs: Any) -> OpenAiCompatible:
        http = httpx.Client(transport=httpx.MockTransport(self))
        return OpenAiCompatible(BASE_URL, lambda: "sk-test", http=http, **kwargs)


def test_request_shape_and_plain_answer() -> None:
    endpoint = Endpoint(httpx.Response(200, json=FINAL))
    reply = endpoint.provider().converse(model_id="gpt-4o", system="Sé breve.",
                                         messages=[LlmMessage("user", text="hola")], tools=[LOOKUP], max_tokens=300,
                                         temperature=0.1)
    request = endpoint.requests[0]
    assert str(request.url) == "https://llm.example.test/v1/chat/completions"
    assert request.method == "POST"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert endpoint.body(0) == {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "Sé breve."}, {"role": "user", "content": "hola"}],
        "max_tokens": 300,
        "temperature": 0.1,
        "tools": [{"type": "function", "function": {"name": "lookup_order", "description": "Find an order.",
                                                    "parameters": LOOKUP.input_schema}}],
    }
    assert reply.text == "Tu pedido A-1001 llega el jueves; te avisamos a [EMAIL_1]."
    assert (reply.stop_reason, reply.tool_calls, reply.usage) == ("end_turn", (), TokenUsage(362, 19))


def test_max_completion_tokens_field_and_no_tools() -> None:
    endpoint = Endpoint(httpx.Response(200, json=FINAL))
    endpoint.provider(max_tokens_field="max_completion_tokens").converse(
        model_id="o4-mini", system="", messages=[LlmMessage("user", text="hola")], tools=[], max_tokens=50)
    body = endpoint.body(0)
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body and "tools" not in body
    assert body["messages"] == [{"role": "user", "content": "hola"}]


def test_tool_calls_are_parsed() -> None:
    reply = parse_chat_completion(TOOL_CALLS)
    assert reply.stop_reason == "tool_use"
    assert reply.text is None
    assert reply.tool_calls == (ToolCall("call_FthC9qRpsL5kBpwwyw6c7j4k", "lookup_order",
                                         {"order_id": "A-1001", "email": "[EMAIL_1]"}),)
    assert reply.usage == TokenUsage(301, 24)


@pytest.mark.parametrize(("finish", "stop"), [("stop", "end_turn"), ("length", "max_tokens"),
                                              ("content_filter", "refused"), ("tool_calls", "tool_use"),
                                              ("weird", "other")])
def test_finish_reasons(finish: str, stop: str) -> None:
    assert parse_chat_completion(completion({"content": "x"}, finish)).stop_reason == stop


def test_refusal_field_is_refused() -> None:
    payload = completion({"content": None, "refusal": "I can't help with that."}, "stop")
    assert parse_chat_completion(payload).stop_reason == "refused"


def test_tool_calls_with_finish_reason_stop_are_tool_use() -> None:
    payload = json.loads(json.dumps(TOOL_CALLS))
    payload["choices"][0]["finish_reason"] = "stop"
    assert parse_chat_completion(payload).stop_reason == "tool_use"


def test_history_with_tools_maps_to_tool_messages() -> None:
    messages = [
        LlmMessage("user", text="¿mi pedido?"),
        LlmMessage("assistant", text=None, tool_calls=(ToolCall("call_1", "lookup_order", {"order_id": "Ñ-1"}),)),
        LlmMessage("user", tool_results=(ToolResult("call_1", {"status": "shipped"}),
                                         ToolResult("call_2", {}, is_error=True))),
        LlmMessage("user", text="gracias"),
    ]
    assert chat_messages("sys", messages) == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "¿mi pedido?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "lookup_order", "arguments": "{\"order_id\": \"Ñ-1\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"status\": \"shipped\"}"},
        {"role": "tool", "tool_call_id": "call_2", "content": "{\"error\": \"failed\"}"},
        {"role": "user", "content": "gracias"},
    ]


@pytest.mark.parametrize(("response", "code", "retryable"), [
    (httpx.Response(429, json={"error": {"message": "Rate limit reached", "type": "requests"}}), "HTTP429", True),
    (httpx.Response(500, text="upstream error"), "HTTP500", True),
    (httpx.Response(503, text="overloaded"), "HTTP503", True),
    (httpx.Response(401, json={"error": {"message": "Incorrect API key provided"}}), "HTTP401", False),
    (httpx.Response(400, json={"error": {"message": "bad request"}}), "HTTP400", False),
    (httpx.Response(200, text="<html>gateway</html>"), "BadJson", True),
    (httpx.Response(200, json={"object": "error"}), "BadResponse", True),
    (httpx.Response(200, json=completion({"content": None, "tool_calls": [{
        "id": "c", "type": "function", "function": {"name": "t", "arguments": "{not json"}}]}, "tool_calls")),
     "BadToolArguments", True),
])
def test_errors_raise_llm_unavailable(response: httpx.Response, code: str, retryable: bool) -> None:
    endpoint = Endpoint(response)
    with pytest.raises(LlmUnavailable) as caught:
        endpoint.provider().converse(model_id="m", system="", messages=[LlmMessage("user", text="hola")], tools=[],
                                     max_tokens=10)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)


def test_timeouts_and_connection_errors_raise_llm_unavailable() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    for handler, code in ((timeout, "Timeout"), (refused, "ConnectError")):
        with pytest.raises(LlmUnavailable) as caught:
            Endpoint(handler).provider().converse(model_id="m", system="", messages=[LlmMessage("user", text="x")],
                                                  tools=[], max_tokens=10)
        assert caught.value.code == code


def test_agent_tool_loop_over_the_openai_provider() -> None:
    """End to end: the tool call's placeholder is restored for the integration, the result goes back as a
    role "tool" message, and no personal data is ever posted."""
    endpoint = Endpoint(httpx.Response(200, json=TOOL_CALLS), httpx.Response(200, json=FINAL))
    seen: list[dict[str, Any]] = []

    def call_tool(name: str, args: dict[str, Any]) -> ToolOutcome:
        seen.append(args)
        return ToolOutcome(True, {"status": "shipped", "contact": "ana@example.com"})

    result = GenerativeAgent(endpoint.provider()).run_turn(
        model_id="gpt-4o", instructions="Tienda Sol.", history=[], user_text="Soy ana@example.com, ¿mi pedido A-1001?",
        tools=[LOOKUP], call_tool=call_tool, knowledge=None, token_budget=10_000)

    assert seen == [{"order_id": "A-1001", "email": "ana@example.com"}]
    second = endpoint.body(1)["messages"]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "lookup_order"
    assert second[-1] == {"role": "tool", "tool_call_id": "call_FthC9qRpsL5kBpwwyw6c7j4k",
                          "content": json.dumps({"status": "shipped", "contact": "[EMAIL_1]"})}
    assert [t["function"]["name"] for t in endpoint.body(0)["tools"]] == ["lookup_order", HANDOFF_TOOL, END_TOOL]
    for request in endpoint.requests:
        assert b"ana@example.com" not in request.content
    assert result.reply_text == "Tu pedido A-1001 llega el jueves; te avisamos a ana@example.com."
    assert result.usage == TokenUsage(301 + 362, 24 + 19)
