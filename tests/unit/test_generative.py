"""The generative turn: grounding, the tool-calling loop, PII never reaching the model, budgets and handoffs.

Two providers: a scripted fake (to drive every branch) and the real BedrockConverse adapter over a botocore
Stubber, answering with recorded-shape Converse responses from tests/fixtures/bedrock.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from shared.adapters.bedrock import BedrockConverse, converse_messages, converse_request, parse_converse_response
from shared.services.generative import (
    BUILTIN_TOOLS,
    END_TOOL,
    HANDOFF_TOOL,
    LOW_CONFIDENCE_RULE,
    GenerativeAgent,
    LlmMessage,
    LlmReply,
    LlmUnavailable,
    TokenUsage,
    ToolCall,
    ToolOutcome,
    ToolResult,
    ToolSpec,
    build_system_prompt,
    message_from_dict,
    message_to_dict,
    repair_history,
    trim_history,
)
from shared.services.retrieval import KnowledgeDoc, KnowledgeIndex

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bedrock"
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"

CUSTOMER_EMAIL = "ana.gomez@example.com"
CUSTOMER_DNI = "30.123.456"
CUSTOMER_PHONE = "+54 9 11 5555-6666"
PII = (CUSTOMER_EMAIL, CUSTOMER_DNI, "30123456", CUSTOMER_PHONE, "5555-6666")

LOOKUP_ORDER = ToolSpec(
    name="lookup_order",
    description="Find an order by its id and the customer's document number.",
    input_schema={"type": "object",
                  "properties": {"order_id": {"type": "string"}, "document": {"type": "string"}},
                  "required": ["order_id", "document"]})

KNOWLEDGE = KnowledgeIndex.build([
    KnowledgeDoc("envios", "Envíos", "El envío a Córdoba cuesta $1500 y demora 3 días hábiles.", "kb"),
    KnowledgeDoc("pagos", "Medios de pago", "Aceptamos tarjetas y transferencias, hasta 6 cuotas.", "kb"),
])


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def reply(text: str | None = None, *calls: ToolCall, stop: str | None = None,
          usage: tuple[int, int] = (100, 20)) -> LlmReply:
    reason = stop or ("tool_use" if calls else "end_turn")
    return LlmReply(text=text, tool_calls=calls, stop_reason=reason, usage=TokenUsage(*usage))  # type: ignore[arg-type]


class ScriptedProvider:
    """Answers with the scripted replies in order (an exception instance is raised) and records every call."""

    def __init__(self, *script: LlmReply | Exception) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []

    def converse(self, *, model_id: str, system: str, messages: Sequence[LlmMessage], tools: Sequence[ToolSpec],
                 max_tokens: int, temperature: float = 0.2) -> LlmReply:
        self.requests.append({"model_id": model_id, "system": system, "messages": list(messages),
                              "tools": list(tools), "max_tokens": max_tokens, "temperature": temperature})
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class Integrations:
    """The caller's `call_tool`: records calls, answers from a table."""

    def __init__(self, answers: dict[str, ToolOutcome] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        self.calls.append((name, copy.deepcopy(args)))
        return self.answers.get(name, ToolOutcome(True, {"status": "ok"}))


def run(provider: Any, *, user_text: str = "hola", tools: Sequence[ToolSpec] = (LOOKUP_ORDER,),
        integrations: Integrations | None = None, knowledge: KnowledgeIndex | None = KNOWLEDGE,
        token_budget: int = 20_000, history: Sequence[LlmMessage] = (), agent: GenerativeAgent | None = None,
        **kwargs: Any) -> Any:
    agent = agent or GenerativeAgent(provider)
    return agent.run_turn(model_id=MODEL, instructions="Sos el asistente de Tienda Sol.", history=history,
                          user_text=user_text, tools=tools, call_tool=integrations or Integrations(),
                          knowledge=knowledge, token_budget=token_budget, **kwargs)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)


def assert_no_pii(blob: str) -> None:
    for value in PII:
        assert value not in blob, f"{value!r} reached the model"


# --- the scripted provider ----------------------------------------------------------------------------------

def test_grounded_answer() -> None:
    provider = ScriptedProvider(reply("El envío a Córdoba cuesta $1500.", usage=(900, 25)))
    result = run(provider, user_text="¿Cuánto sale el envío a Córdoba?")
    assert result.reply_text == "El envío a Córdoba cuesta $1500."
    assert (result.handoff, result.finished, result.calls) == (False, False, 1)
    assert result.usage == TokenUsage(900, 25)
    assert result.knowledge_confidence == 1.0 and not result.low_confidence
    assert [p.doc_id for p in result.passages][0] == "envios"
    request = provider.requests[0]
    assert request["model_id"] == MODEL
    assert request["system"].startswith("Sos el asistente de Tienda Sol.")
    assert '<passage ref="envios#0" title="Envíos">' in request["system"]
    assert "handoff_to_agent" in request["system"] and "WhatsApp" in request["system"]
    assert [t.name for t in request["tools"]] == ["lookup_order", HANDOFF_TOOL, END_TOOL]
    assert request["messages"] == [LlmMessage("user", text="¿Cuánto sale el envío a Córdoba?")]
    assert result.history == (LlmMessage("user", text="¿Cuánto sale el envío a Córdoba?"),
                              LlmMessage("assistant", text="El envío a Córdoba cuesta $1500."))


def test_tool_loop_restores_arguments_redacts_results_and_restores_the_reply() -> None:
    provider = ScriptedProvider(
        reply("Busco tu pedido.", ToolCall("t1", "lookup_order", {"order_id": "A-1001", "document": "[DOC_1]"}),
              usage=(1000, 40)),
        reply("Llega el jueves; te avisamos a [EMAIL_1] y al [PHONE_1].", usage=(1200, 30)))
    integrations = Integrations({"lookup_order": ToolOutcome(True, {
        "status": "shipped", "eta": "jueves", "phone": CUSTOMER_PHONE, "holder_dni": 30123456})})
    result = run(provider, integrations=integrations,
                 user_text=f"Hola, soy Ana ({CUSTOMER_EMAIL}), DNI {CUSTOMER_DNI}. ¿Dónde está mi pedido A-1001?")

    # The integration ran with the real value, not the placeholder.
    assert integrations.calls == [("lookup_order", {"order_id": "A-1001", "document": CUSTOMER_DNI})]
    assert result.tool_calls == (ToolCall("t1", "lookup_order", {"order_id": "A-1001", "document": CUSTOMER_DNI}),)
    # Its result went back to the model, redacted (the same document, written without dots, is the same [DOC_1]).
    second = provider.requests[1]["messages"]
    assert second[-2] == LlmMessage("assistant", text="Busco tu pedido.", tool_calls=(
        ToolCall("t1", "lookup_order", {"order_id": "A-1001", "document": "[DOC_1]"}),))
    assert second[-1] == LlmMessage("user", tool_results=(ToolResult(
        "t1", {"status": "shipped", "eta": "jueves", "phone": "[PHONE_1]", "holder_dni": "[DOC_1]"}),))
    # Nothing personal in any request; the customer sees their own data.
    assert_no_pii(dumps(provider.requests))
    assert result.reply_text == f"Llega el jueves; te avisamos a {CUSTOMER_EMAIL} y al {CUSTOMER_PHONE}."
    assert_no_pii(dumps([message_to_dict(m) for m in result.history]))
    assert result.pii_mapping["[EMAIL_1]"] == CUSTOMER_EMAIL
    assert result.usage == TokenUsage(2200, 70) and result.calls == 2


def test_tool_failure_and_unknown_tool_are_reported_to_the_model() -> None:
    def broken(name: str, args: dict[str, Any]) -> ToolOutcome:
        raise TimeoutError("integration down")

    provider = ScriptedProvider(
        reply(None, ToolCall("t1", "lookup_order", {"order_id": "1"}), ToolCall("t2", "delete_everything", {})),
        reply("No pude consultar tu pedido ahora."))
    result = run(provider, integrations=broken)  # type: ignore[arg-type]
    results = provider.requests[1]["messages"][-1].tool_results
    assert results == (ToolResult("t1", {"error": "tool_failed", "type": "TimeoutError"}, is_error=True),
                       ToolResult("t2", {"error": "unknown_tool", "tool": "delete_everything"}, is_error=True))
    assert result.reply_text == "No pude consultar tu pedido ahora."


def test_failed_outcome_is_an_error_result() -> None:
    provider = ScriptedProvider(reply(None, ToolCall("t1", "lookup_order", {"order_id": "1"})), reply("Ups."))
    run(provider, integrations=Integrations({"lookup_order": ToolOutcome(False, {})}))
    assert provider.requests[1]["messages"][-1].tool_results == (ToolResult("t1", {"error": "failed"}, True),)


def test_handoff_tool_hands_off_with_the_model_reason() -> None:
    provider = ScriptedProvider(reply("Te paso con una persona.", ToolCall("h1", HANDOFF_TOOL,
                                                                           {"reason": "wants a human"})))
    result = run(provider, user_text="quiero hablar con alguien")
    assert (result.handoff, result.handoff_reason, result.finished) == (True, "wants a human", False)
    assert result.reply_text == "Te paso con una persona."
    assert result.tool_calls == (ToolCall("h1", HANDOFF_TOOL, {"reason": "wants a human"}),)
    # The history keeps the call with its acknowledgement, so the next turn is valid for every provider.
    assert result.history[-1] == LlmMessage("user", tool_results=(ToolResult("h1", {"ok": True}),))


def test_end_conversation_finishes_after_running_the_other_calls() -> None:
    integrations = Integrations()
    provider = ScriptedProvider(reply("¡Gracias, [EMAIL_1]!", ToolCall("t1", "lookup_order", {"order_id": "9"}),
                                      ToolCall("e1", END_TOOL, {"summary": "Order 9 checked for [EMAIL_1]"})))
    result = run(provider, integrations=integrations, user_text=f"gracias, soy {CUSTOMER_EMAIL}")
    assert integrations.calls == [("lookup_order", {"order_id": "9"})]
    assert (result.finished, result.handoff) == (True, False)
    assert result.summary == f"Order 9 checked for {CUSTOMER_EMAIL}"
    assert result.reply_text == f"¡Gracias, {CUSTOMER_EMAIL}!"


def test_refused_hands_off() -> None:
    result = run(ScriptedProvider(reply("blocked", stop="refused")))
    assert (result.handoff, result.handoff_reason, result.reply_text) == (True, "refused", None)


def test_empty_answer_hands_off() -> None:
    result = run(ScriptedProvider(reply("   \n")))
    assert (result.handoff, result.handoff_reason) == (True, "empty_answer")


def test_cut_answer_hands_off_for_the_token_budget() -> None:
    result = run(ScriptedProvider(reply("El envío cuesta", stop="max_tokens")))
    assert (result.handoff, result.handoff_reason) == (True, "token_budget")


def test_llm_unavailable_hands_off_and_keeps_the_message_in_history() -> None:
    result = run(ScriptedProvider(LlmUnavailable("Bedrock ThrottlingException", code="ThrottlingException")),
                 user_text=f"mi mail es {CUSTOMER_EMAIL}")
    assert (result.handoff, result.handoff_reason, result.calls) == (True, "llm_unavailable", 0)
    assert result.error == "ThrottlingException: Bedrock ThrottlingException"
    assert result.history == (LlmMessage("user", text="mi mail es [EMAIL_1]"),)


def test_llm_unavailable_after_a_tool_round() -> None:
    integrations = Integrations()
    provider = ScriptedProvider(reply(None, ToolCall("t1", "lookup_order", {"order_id": "1"})),
                                LlmUnavailable("timeout", code="ModelTimeoutException"))
    result = run(provider, integrations=integrations)
    assert (result.handoff_reason, result.calls, len(integrations.calls)) == ("llm_unavailable", 1, 1)
    assert result.history[-1].tool_results  # complete call/result pair kept


def test_token_budget_exhausted_before_the_final_answer() -> None:
    integrations = Integrations()
    provider = ScriptedProvider(reply(None, ToolCall("t1", "lookup_order", {"order_id": "1"}), usage=(1500, 100)))
    result = run(provider, integrations=integrations, token_budget=1700)
    assert (result.handoff, result.handoff_reason) == (True, "token_budget")
    assert result.calls == 1 and result.usage == TokenUsage(1500, 100)
    assert len(integrations.calls) == 1


def test_max_tokens_is_capped_by_the_configured_cap_and_the_budget_left() -> None:
    provider = ScriptedProvider(reply(None, ToolCall("t1", "lookup_order", {"order_id": "1"}), usage=(1000, 50)),
                                reply("Listo."))
    agent = GenerativeAgent(provider, max_output_tokens=500)
    result = run(provider, agent=agent, token_budget=2600)
    first, second = (r["max_tokens"] for r in provider.requests)
    assert first == 500  # the cap
    assert 64 <= second < 500  # what the budget leaves after the first call and the estimated next input
    assert second <= 2600 - 1050 - 1050
    assert result.reply_text == "Listo."


def test_budget_smaller_than_the_prompt_hands_off_without_calling() -> None:
    provider = ScriptedProvider()
    result = run(provider, token_budget=100)
    assert (result.handoff_reason, result.calls, provider.requests) == ("token_budget", 0, [])


def test_tool_rounds_are_bounded() -> None:
    provider = ScriptedProvider(*(reply(None, ToolCall(f"t{i}", "lookup_order", {"order_id": str(i)}))
                                  for i in range(3)))
    integrations = Integrations()
    result = run(provider, integrations=integrations, agent=GenerativeAgent(provider, max_tool_rounds=2))
    assert (result.handoff, result.handoff_reason, result.calls) == (True, "tool_rounds", 3)
    assert len(integrations.calls) == 2
    assert result.history[-1].tool_results  # the third, unanswered tool call is not persisted


def test_a_builtin_call_is_honoured_even_at_the_round_limit() -> None:
    provider = ScriptedProvider(reply(None, ToolCall("t0", "lookup_order", {"order_id": "0"})),
                                reply(None, ToolCall("h", HANDOFF_TOOL, {"reason": ""})))
    result = run(provider, agent=GenerativeAgent(provider, max_tool_rounds=1))
    assert (result.handoff, result.handoff_reason) == (True, "model_requested")


def test_low_confidence_adds_the_handoff_rule_only_without_tools() -> None:
    off_topic = "¿cuál es la capital de Francia?"
    provider = ScriptedProvider(reply("No tengo esa información."), reply("No sé."))
    without_tools = run(provider, user_text=off_topic, tools=())
    with_tools = run(provider, user_text=off_topic)
    assert without_tools.low_confidence and without_tools.knowledge_confidence == 0.0
    assert LOW_CONFIDENCE_RULE in provider.requests[0]["system"]
    assert not with_tools.low_confidence
    assert LOW_CONFIDENCE_RULE not in provider.requests[1]["system"]
    assert "(no passage matches this message)" in provider.requests[0]["system"]


def test_without_knowledge_there_is_no_knowledge_section() -> None:
    provider = ScriptedProvider(reply("Hola."))
    result = run(provider, knowledge=None)
    assert "# Knowledge" not in provider.requests[0]["system"]
    assert result.knowledge_confidence is None and not result.low_confidence


def test_follow_up_question_uses_the_previous_question_for_retrieval() -> None:
    history = [LlmMessage("user", text="¿cuánto sale el envío a Córdoba?"), LlmMessage("assistant", text="$1500.")]
    provider = ScriptedProvider(reply("3 días hábiles."))
    result = run(provider, history=history, user_text="¿y cuánto demora?", tools=())
    assert result.passages[0].doc_id == "envios"
    assert not result.low_confidence


def test_caller_tools_cannot_shadow_builtins() -> None:
    provider = ScriptedProvider(reply("ok"))
    run(provider, tools=(LOOKUP_ORDER, ToolSpec(HANDOFF_TOOL, "evil", {"type": "object"})))
    assert [t.name for t in provider.requests[0]["tools"]] == ["lookup_order", HANDOFF_TOOL, END_TOOL]
    assert provider.requests[0]["tools"][1] == BUILTIN_TOOLS[0]


def test_pii_mapping_carries_over_turns() -> None:
    first = run(ScriptedProvider(reply("Anotado.")), user_text=f"mi mail es {CUSTOMER_EMAIL}")
    provider = ScriptedProvider(reply("Te escribimos a [EMAIL_1] y al [PHONE_1]."))
    second = run(provider, history=first.history, pii_mapping=first.pii_mapping,
                 user_text=f"y mi cel {CUSTOMER_PHONE}, mail {CUSTOMER_EMAIL}")
    assert provider.requests[0]["messages"][-1].text == "y mi cel [PHONE_1], mail [EMAIL_1]"
    assert second.reply_text == f"Te escribimos a {CUSTOMER_EMAIL} y al {CUSTOMER_PHONE}."


def test_history_is_trimmed_and_starts_with_a_customer_message() -> None:
    history: list[LlmMessage] = []
    for i in range(8):
        history += [LlmMessage("user", text=f"pregunta {i}"),
                    LlmMessage("assistant", tool_calls=(ToolCall(f"c{i}", "lookup_order", {"order_id": str(i)}),)),
                    LlmMessage("user", tool_results=(ToolResult(f"c{i}", {"ok": True}),)),
                    LlmMessage("assistant", text=f"respuesta {i}")]
    provider = ScriptedProvider(reply("ok"))
    result = run(provider, history=history)
    sent = provider.requests[0]["messages"]
    assert len(sent) <= 11 and sent[0].role == "user" and sent[0].text and not sent[0].tool_results
    assert len(result.history) <= 10
    assert result.history[0].role == "user" and result.history[0].text and not result.history[0].tool_results
    assert result.history[-1] == LlmMessage("assistant", text="ok")


def test_repair_history_drops_orphans() -> None:
    messages = [
        LlmMessage("user", tool_results=(ToolResult("x", {"ok": True}),)),              # orphan result
        LlmMessage("user", text="hola"),
        LlmMessage("assistant", text="miro", tool_calls=(ToolCall("a", "t", {}),)),      # never answered
        LlmMessage("user", text="¿y?"),
    ]
    assert repair_history(messages) == [LlmMessage("user", text="hola"), LlmMessage("assistant", text="miro"),
                                        LlmMessage("user", text="¿y?")]
    assert trim_history([LlmMessage("assistant", text="a"), LlmMessage("user", text="b")], 10) == [
        LlmMessage("user", text="b")]


def test_message_dict_round_trip() -> None:
    message = LlmMessage("assistant", text="x", tool_calls=(ToolCall("1", "t", {"a": [1, "b"]}),))
    results = LlmMessage("user", tool_results=(ToolResult("1", {"e": 1}, is_error=True),))
    for item in (message, results, LlmMessage("user", text="hola")):
        assert message_from_dict(json.loads(json.dumps(message_to_dict(item)))) == item


def test_token_usage_adds() -> None:
    assert TokenUsage(1, 2) + TokenUsage(3, 4) == TokenUsage(4, 6)
    assert TokenUsage(4, 6).total == 10


def test_system_prompt_escapes_passage_attributes() -> None:
    passage = KNOWLEDGE.search("envío")[0]
    prompt = build_system_prompt("", [passage], knowledge=True)
    assert prompt.startswith("# Rules")
    assert passage.text in prompt


# --- the real Bedrock adapter over a botocore Stubber ------------------------------------------------------

@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber, list[dict[str, Any]]]]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    sent: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        sent.append(copy.deepcopy(params))

    client.meta.events.register("provide-client-params.bedrock-runtime.Converse", capture)
    with Stubber(client) as stubber:
        yield client, stubber, sent
        stubber.assert_no_pending_responses()


TOOL_CONFIG = {"tools": [
    {"toolSpec": {"name": t.name, "description": t.description, "inputSchema": {"json": t.input_schema}}}
    for t in (LOOKUP_ORDER, *BUILTIN_TOOLS)]}


def test_bedrock_tool_loop_executes_the_integration_and_feeds_the_result_back(
        bedrock: tuple[Any, Stubber, list[dict[str, Any]]]) -> None:
    client, stubber, sent = bedrock
    user_text = f"Hola, mi DNI es {CUSTOMER_DNI} y mi mail {CUSTOMER_EMAIL}. ¿Dónde está el pedido A-1001?"
    redacted_user = "Hola, mi DNI es [DOC_1] y mi mail [EMAIL_1]. ¿Dónde está el pedido A-1001?"
    order = {"order_id": "A-1001", "status": "shipped", "eta": "jueves", "notify_phone": CUSTOMER_PHONE}
    integrations = Integrations({"lookup_order": ToolOutcome(True, order)})
    tool_use = fixture("converse_tool_use")
    stubber.add_response("converse", tool_use, {
        "modelId": MODEL,
        "system": [{"text": ANY}],
        "messages": [{"role": "user", "content": [{"text": redacted_user}]}],
        "toolConfig": TOOL_CONFIG,
        "inferenceConfig": {"maxTokens": 700, "temperature": 0.2},
    })
    # The second request must carry the model's toolUse and our toolResult with the callable's output (redacted).
    stubber.add_response("converse", fixture("converse_final"), {
        "modelId": MODEL,
        "system": [{"text": ANY}],
        "messages": [
            {"role": "user", "content": [{"text": redacted_user}]},
            {"role": "assistant", "content": tool_use["output"]["message"]["content"]},
            {"role": "user", "content": [{"toolResult": {
                "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                "content": [{"json": {"order_id": "A-1001", "status": "shipped", "eta": "jueves",
                                      "notify_phone": "[PHONE_1]"}}]}}]},
        ],
        "toolConfig": TOOL_CONFIG,
        "inferenceConfig": {"maxTokens": ANY, "temperature": 0.2},
    })
    result = run(BedrockConverse(client), user_text=user_text, integrations=integrations)

    assert integrations.calls == [("lookup_order", {"order_id": "A-1001", "document": CUSTOMER_DNI})]
    assert result.reply_text == (f"Tu pedido A-1001 está en camino y llega el jueves. Te avisamos por correo a "
                                 f"{CUSTOMER_EMAIL} y por WhatsApp al {CUSTOMER_PHONE}.")
    assert result.usage == TokenUsage(1208 + 1391, 87 + 46) and result.calls == 2
    assert len(sent) == 2
    assert_no_pii(dumps(sent))
    assert sent[0]["system"][0]["text"].startswith("Sos el asistente de Tienda Sol.")


def test_bedrock_handoff_tool(bedrock: tuple[Any, Stubber, list[dict[str, Any]]]) -> None:
    client, stubber, _ = bedrock
    stubber.add_response("converse", fixture("converse_handoff"), None)
    result = run(BedrockConverse(client), user_text="quiero hablar con una persona")
    assert (result.handoff, result.handoff_reason) == (True, "customer asks for a human")
    assert result.reply_text == "Te paso con una persona del equipo."


def test_bedrock_end_conversation(bedrock: tuple[Any, Stubber, list[dict[str, Any]]]) -> None:
    client, stubber, _ = bedrock
    stubber.add_response("converse", fixture("converse_end_conversation"), None)
    result = run(BedrockConverse(client), user_text="listo, gracias!")
    assert (result.finished, result.handoff) == (True, False)
    assert result.summary == "Customer asked about shipping to Córdoba; answered."


def test_bedrock_guardrail_intervened_is_refused(bedrock: tuple[Any, Stubber, list[dict[str, Any]]]) -> None:
    client, stubber, _ = bedrock
    stubber.add_response("converse", fixture("converse_guardrail_intervened"), None)
    result = run(BedrockConverse(client, guardrail_id="gr-123", guardrail_version="1"), user_text="algo feo")
    assert (result.handoff, result.handoff_reason, result.reply_text) == (True, "refused", None)


@pytest.mark.parametrize(("code", "retryable"), [("ThrottlingException", True), ("ModelTimeoutException", True),
                                                 ("ServiceUnavailableException", True),
                                                 ("AccessDeniedException", False)])
def test_bedrock_errors_become_llm_unavailable(bedrock: tuple[Any, Stubber, list[dict[str, Any]]], code: str,
                                               retryable: bool) -> None:
    client, stubber, _ = bedrock
    stubber.add_client_error("converse", service_error_code=code, service_message="nope", http_status_code=429)
    with pytest.raises(LlmUnavailable) as caught:
        BedrockConverse(client).converse(model_id=MODEL, system="s", messages=[LlmMessage("user", text="hola")],
                                         tools=[], max_tokens=100)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)


def test_bedrock_throttling_hands_off(bedrock: tuple[Any, Stubber, list[dict[str, Any]]]) -> None:
    client, stubber, _ = bedrock
    stubber.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
    result = run(BedrockConverse(client))
    assert (result.handoff, result.handoff_reason) == (True, "llm_unavailable")


def test_bedrock_plain_answer(bedrock: tuple[Any, Stubber, list[dict[str, Any]]]) -> None:
    client, stubber, sent = bedrock
    stubber.add_response("converse", fixture("converse_text"), None)
    result = run(BedrockConverse(client), user_text="¿cuánto sale el envío a Córdoba?", tools=())
    assert result.reply_text == "El envío a Córdoba cuesta $1500 y demora 3 días hábiles."
    assert [t["toolSpec"]["name"] for t in sent[0]["toolConfig"]["tools"]] == [HANDOFF_TOOL, END_TOOL]


# --- Converse mapping details ------------------------------------------------------------------------------

def test_converse_messages_merge_roles_and_put_tool_results_first() -> None:
    messages = [
        LlmMessage("user", text="hola"),
        LlmMessage("assistant", text="  ", tool_calls=(ToolCall("a", "t", {"x": 1}),)),
        LlmMessage("user", tool_results=(ToolResult("a", {"e": "bad"}, is_error=True),)),
        LlmMessage("user", text="¿y?"),
    ]
    assert converse_messages(messages) == [
        {"role": "user", "content": [{"text": "hola"}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "a", "name": "t", "input": {"x": 1}}}]},
        {"role": "user", "content": [
            {"toolResult": {"toolUseId": "a", "content": [{"json": {"e": "bad"}}], "status": "error"}},
            {"text": "¿y?"}]},
    ]


def test_tool_config_is_declared_when_history_has_tool_blocks_but_no_tools_are_offered() -> None:
    messages = [LlmMessage("user", text="hola"),
                LlmMessage("assistant", tool_calls=(ToolCall("a", "lookup_order", {}),)),
                LlmMessage("user", tool_results=(ToolResult("a", {"ok": True}),))]
    request = converse_request(model_id=MODEL, system="", messages=messages, tools=[], max_tokens=10,
                               temperature=0.0)
    assert "system" not in request
    assert request["toolConfig"] == {"tools": [{"toolSpec": {
        "name": "lookup_order", "description": "Not available in this turn.",
        "inputSchema": {"json": {"type": "object", "properties": {}}}}}]}
    plain = converse_request(model_id=MODEL, system="s", messages=messages[:1], tools=[], max_tokens=10,
                             temperature=0.0)
    assert "toolConfig" not in plain


@pytest.mark.parametrize(("raw", "normalized"), [
    ("end_turn", "end_turn"), ("stop_sequence", "end_turn"), ("tool_use", "tool_use"), ("max_tokens", "max_tokens"),
    ("guardrail_intervened", "refused"), ("content_filtered", "refused"), ("malformed_tool_use", "other"),
    ("model_context_window_exceeded", "max_tokens")])
def test_stop_reasons_are_normalized(raw: str, normalized: str) -> None:
    response = fixture("converse_text") | {"stopReason": raw}
    assert parse_converse_response(response).stop_reason == normalized


def test_unreadable_response_is_llm_unavailable() -> None:
    with pytest.raises(LlmUnavailable):
        parse_converse_response({"output": {}})
