"""Amazon Bedrock Runtime adapters: the Converse API as an LlmProvider, and image description.

Request shape (Converse):
    modelId, system=[{"text"}], messages=[{"role", "content": [blocks]}],
    inferenceConfig={"maxTokens", "temperature"},
    toolConfig={"tools": [{"toolSpec": {"name", "description", "inputSchema": {"json": schema}}}]}
Blocks: {"text"}, {"toolUse": {"toolUseId", "name", "input"}} (assistant),
        {"toolResult": {"toolUseId", "content": [{"json": {...}}], "status": "error"?}} (user),
        {"image": {"format": "jpeg|png|gif|webp", "source": {"bytes": b"..."}}} (user).
Response: output.message.content[...], stopReason, usage {inputTokens, outputTokens, totalTokens}, metrics.

Converse rules this adapter keeps:
- roles alternate user/assistant: consecutive messages of one role are merged into one message;
- in a user message, toolResult blocks come before text; empty text blocks are never sent;
- toolConfig must be present whenever the messages hold toolUse/toolResult blocks, even if no tool is offered
  now: the tools named in the history are declared (with an empty object schema) in that case;
- a toolResult with status "error" must have content; `status` is only sent for errors (it is supported by
  Anthropic Claude and Amazon Nova models only; the JSON content also says "error").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from shared.services.addons import Described, DescriptionFailed
from shared.services.generative import (
    LlmMessage,
    LlmReply,
    LlmUnavailable,
    StopReason,
    TokenUsage,
    ToolCall,
    ToolSpec,
)

_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "stop_sequence": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "guardrail_intervened": "refused",
    "content_filtered": "refused",
}
# Errors worth retrying later; the others (validation, access, unknown model) are configuration problems.
RETRYABLE_CODES = frozenset({
    "ThrottlingException", "ServiceUnavailableException", "ModelTimeoutException", "InternalServerException",
    "ModelNotReadyException", "ServiceQuotaExceededException", "ModelErrorException",
})
IMAGE_FORMATS = {"image/jpeg": "jpeg", "image/jpg": "jpeg", "image/pjpeg": "jpeg", "image/png": "png",
                 "image/gif": "gif", "image/webp": "webp"}
MAX_IMAGE_BYTES = 3_750_000  # Converse: each image at most 3.75 MB and 8000 x 8000 px


class BedrockConverse:
    """LlmProvider over boto3 `bedrock-runtime` `converse`."""

    def __init__(self, client: Any, *, guardrail_id: str | None = None, guardrail_version: str = "DRAFT") -> None:
        self._client = client
        self._guardrail = ({"guardrailIdentifier": guardrail_id, "guardrailVersion": guardrail_version}
                           if guardrail_id else None)

    def converse(self, *, model_id: str, system: str, messages: Sequence[LlmMessage], tools: Sequence[ToolSpec],
                 max_tokens: int, temperature: float = 0.2) -> LlmReply:
        request = converse_request(model_id=model_id, system=system, messages=messages, tools=tools,
                                   max_tokens=max_tokens, temperature=temperature)
        if self._guardrail:
            request["guardrailConfig"] = dict(self._guardrail)
        response = _call(self._client, request)
        return parse_converse_response(response)


class BedrockImageDescriber:
    """ImageDescriber: one Converse call with an image block and the prompt (a vision model is required)."""

    def __init__(self, client: Any, model_id: str, *, max_tokens: int = 300, temperature: float = 0.2) -> None:
        self._client = client
        self._model_id = model_id
        self._max_tokens = max_tokens
        self._temperature = temperature

    def describe(self, image: bytes, mime_type: str, prompt: str) -> Described:
        image_format = IMAGE_FORMATS.get(mime_type.split(";")[0].strip().lower())
        if image_format is None:
            raise DescriptionFailed(f"unsupported image type {mime_type!r}")
        if not image:
            raise DescriptionFailed("empty image")
        if len(image) > MAX_IMAGE_BYTES:
            raise DescriptionFailed(f"image of {len(image)} bytes exceeds the 3.75 MB Converse limit")
        request = {
            "modelId": self._model_id,
            "messages": [{"role": "user", "content": [
                {"image": {"format": image_format, "source": {"bytes": image}}},
                {"text": prompt},
            ]}],
            "inferenceConfig": {"maxTokens": self._max_tokens, "temperature": self._temperature},
        }
        try:
            reply = parse_converse_response(_call(self._client, request))
        except LlmUnavailable as exc:
            raise DescriptionFailed(str(exc), retryable=exc.retryable) from exc
        if reply.stop_reason == "refused":
            raise DescriptionFailed("the model refused to describe the image")
        text = (reply.text or "").strip()
        if not text:
            raise DescriptionFailed("empty description")
        return Described(text=text, usage=reply.usage)


# --- request -----------------------------------------------------------------------------------------------

def converse_request(*, model_id: str, system: str, messages: Sequence[LlmMessage], tools: Sequence[ToolSpec],
                     max_tokens: int, temperature: float) -> dict[str, Any]:
    request: dict[str, Any] = {
        "modelId": model_id,
        "messages": converse_messages(messages),
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature},
    }
    if system.strip():
        request["system"] = [{"text": system}]
    tool_config = _tool_config(tools, messages)
    if tool_config is not None:
        request["toolConfig"] = tool_config
    return request


def converse_messages(messages: Sequence[LlmMessage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        content = _blocks(message)
        if not content:
            continue
        if out and out[-1]["role"] == message.role:
            merged = out[-1]["content"] + content
            if message.role == "user":  # tool results first in a user message
                merged.sort(key=lambda block: 0 if "toolResult" in block else 1)
            out[-1]["content"] = merged
        else:
            out.append({"role": message.role, "content": content})
    return out


def _blocks(message: LlmMessage) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    text = message.text if message.text and message.text.strip() else None
    if message.role == "user":
        for result in message.tool_results:
            content = result.content or ({"error": "failed"} if result.is_error else {"ok": True})
            block: dict[str, Any] = {"toolUseId": result.tool_call_id, "content": [{"json": content}]}
            if result.is_error:
                block["status"] = "error"
            blocks.append({"toolResult": block})
        if text:
            blocks.append({"text": text})
    else:
        if text:
            blocks.append({"text": text})
        blocks.extend({"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.input}}
                      for call in message.tool_calls)
    return blocks


def _tool_config(tools: Sequence[ToolSpec], messages: Sequence[LlmMessage]) -> dict[str, Any] | None:
    specs = [{"toolSpec": {"name": tool.name, "description": tool.description or tool.name,
                           "inputSchema": {"json": tool.input_schema}}} for tool in tools]
    if specs:
        return {"tools": specs}
    used = list(dict.fromkeys(call.name for message in messages for call in message.tool_calls))
    if not used and not any(message.tool_results for message in messages):
        return None
    # The history holds tool blocks but no tool is offered now: Converse still requires a toolConfig.
    names = used or ["unavailable_tool"]
    return {"tools": [{"toolSpec": {"name": name, "description": "Not available in this turn.",
                                    "inputSchema": {"json": {"type": "object", "properties": {}}}}}
                      for name in names]}


# --- response ----------------------------------------------------------------------------------------------

def parse_converse_response(response: dict[str, Any]) -> LlmReply:
    try:
        content = response["output"]["message"]["content"]
        raw_stop = str(response["stopReason"])
    except (KeyError, TypeError) as exc:
        raise LlmUnavailable("unreadable Converse response", code="BadResponse") from exc
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in content:
        if "text" in block and str(block["text"]).strip():
            texts.append(str(block["text"]).strip())
        elif "toolUse" in block:
            use = block["toolUse"]
            arguments = use.get("input")
            calls.append(ToolCall(id=str(use["toolUseId"]), name=str(use["name"]),
                                  input=dict(arguments) if isinstance(arguments, dict) else {}))
    usage = response.get("usage") or {}
    return LlmReply(
        text="\n\n".join(texts) if texts else None,
        tool_calls=tuple(calls),
        stop_reason=_STOP_REASONS.get(raw_stop, "other"),
        usage=TokenUsage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))),
    )


def _call(client: Any, request: dict[str, Any]) -> dict[str, Any]:
    try:
        response: dict[str, Any] = client.converse(**request)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        raise LlmUnavailable(f"Bedrock {code}", code=code, retryable=code in RETRYABLE_CODES) from exc
    except BotoCoreError as exc:  # connection errors, read timeouts, parameter validation
        raise LlmUnavailable(f"Bedrock {type(exc).__name__}", code=type(exc).__name__,
                             retryable=not isinstance(exc, ParamValidationError)) from exc
    return response
