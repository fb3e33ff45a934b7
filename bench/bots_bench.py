"""Warm bot-turn latency per generation, in-process: BotRuntime + BotEngine with in-memory stores (AWS stubbed),
the demo bot's integrations answered in-process by the sample core-banking API, a scripted LLM that answers at
once (so the generative row is our overhead: retrieval, redaction, prompt, tool loop — not a model's latency).
Baseline of the same run: the same runtime answering with a channel's fixed auto-reply (no bot bound).

Run alone: python -m bench.bots_bench
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class _InstantLlm:
    """Answers every call with a short text; no tool calls (the knowledge path of a generative turn)."""

    def converse(self, *, model_id: str, system: str, messages: Sequence[Any], tools: Sequence[Any],
                 max_tokens: int, temperature: float = 0.2) -> Any:
        from shared.services.generative import LlmReply, TokenUsage

        return LlmReply(text="Atendemos las 24 horas por WhatsApp.", tool_calls=(), stop_reason="end_turn",
                        usage=TokenUsage(input_tokens=len(system) // 4, output_tokens=10))


def _time(setup: Callable[[int], Any], run: Callable[[Any], Any], iterations: int) -> dict[str, float]:
    samples = []
    for i in range(iterations):
        prepared = setup(i)
        started = time.perf_counter()
        run(prepared)
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return {"p50_us": statistics.median(samples), "p95_us": samples[int(len(samples) * 0.95) - 1],
            "n": len(samples)}


def run(iterations: int = 300) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.unit.fakes_bots import RuntimeRig

    rig = RuntimeRig(window_s=0, llm=_InstantLlm())
    runtime = rig.runtime
    results: dict[str, Any] = {}

    def fresh(first: str | None = None) -> Callable[[int], Any]:
        def setup(i: int) -> Any:
            conversation = f"cv_{len(results)}_{i}"
            if first is not None:
                runtime.on_message(rig.event(first, conversation_id=conversation))
            return conversation
        return setup

    def send(text: str, **kwargs: Any) -> Callable[[Any], Any]:
        def go(conversation: str) -> Any:
            outcome = runtime.on_message(rig.event(text, conversation_id=conversation, **kwargs))
            assert outcome.kind == "turn", outcome
            return outcome
        return go

    cases = {
        "rules: menu choice (tap) -> next question": (fresh("hola"), send("Solicitar un crédito",
                                                                            message_type="interactive",
                                                                            reply_id="credito")),
        "rules + 2 integrations: DNI -> customer + preapproved limit": (fresh("necesito un credito"),
                                                                        send("30123456")),
        "keywords: 'quiero un préstamo' on a new session": (fresh(), send("quiero un préstamo")),
        "intents: 'necesito plata prestada' on a new session": (fresh(), send("necesito plata prestada")),
        "knowledge: '¿a qué hora abren?' on a new session": (fresh(), send("¿a qué hora abren?")),
        "generative (instant model): unknown question": (fresh(), send("¿qué opinan de las criptomonedas?")),
    }
    for label, (setup, go) in cases.items():
        for warm in range(5):  # warm caches (compiled bot, classifiers)
            go(setup(10_000 + warm))
        results[label] = _time(setup, go, iterations)
    rig.registry.deactivate("demo", "banco-demo")  # baseline: same runtime, no bot -> fixed auto-reply

    def auto(conversation: str) -> Any:
        outcome = runtime.on_message(rig.event("hola", conversation_id=conversation))
        assert outcome.kind == "auto_reply", outcome
        return outcome

    results["baseline: fixed auto-reply (no bot bound)"] = _time(fresh(), auto, iterations)
    from shared.services.bot_engine import compile_bot
    from shared.services.bot_loader import load_definition

    text = (ROOT / "examples" / "bots" / "banco_demo.yaml").read_text(encoding="utf-8")
    loads, compiles = [], []
    for _ in range(7):  # median of 7: one sample on this shared machine is noise
        started = time.perf_counter()
        definition = load_definition(text)
        loaded = time.perf_counter()
        compile_bot(definition, 1)
        loads.append((loaded - started) * 1000)
        compiles.append((time.perf_counter() - loaded) * 1000)
    return {"turns": results, "load_ms": statistics.median(loads), "compile_ms": statistics.median(compiles),
            "iterations": iterations}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
