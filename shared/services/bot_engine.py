"""The bot engine: one customer turn in, the bot's replies and the next session state out.

Pure Python over ports. One engine runs all four generations:
1. rules — menus, collect slots, conditions, integration calls … (flows of nodes);
2. keywords — trigger phrases, normalized and typo tolerant;
3. intents — a classifier trained from the definition's example phrases, plus the knowledge matrix;
4. generative — an LLM turn grounded in the knowledge base that may call the bot's integrations as tools.

Routing order for a message that no question is waiting for: interrupting keywords, keywords, intents
(clarifying between close candidates), the knowledge matrix, the generative assistant, then the fallback.
While a question waits (menu, collect, code, assistant), only triggers marked `interrupts` can take over.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from shared.models.bot_session import HandoffRequest, SessionState, TurnInput, TurnResult, Usage
from shared.models.bots import (
    MENU_PAYLOAD_PREFIX,
    AiNode,
    BotDefinition,
    CloseNode,
    CollectNode,
    Compare,
    ConditionNode,
    DocumentNode,
    EmailNode,
    HandoffNode,
    IntegrationNode,
    JumpNode,
    LinkNode,
    MenuItem,
    MenuNode,
    MessageNode,
    OtpNode,
    SetNode,
    menu_command,
)
from shared.models.envelopes import (
    ButtonsContent,
    ListContent,
    ListRow,
    ListSection,
    MediaContent,
    OutboundContent,
    ReplyButton,
    TemplateContent,
    TextContent,
)
from shared.services import otp as otp_codes
from shared.services.bot_loader import resolve_target
from shared.services.generative import (
    GenerativeAgent,
    LlmProvider,
    ToolOutcome,
    ToolSpec,
    message_from_dict,
    message_to_dict,
)
from shared.services.integrations import IntegrationResult, IntegrationSpec, tool_schema
from shared.services.nlu import Decision, IntentClassifier, KeywordMatcher, KnowledgeMatrix, decide
from shared.services.pdf import render_pdf
from shared.services.retrieval import KnowledgeDoc, KnowledgeIndex
from shared.services.slots import validate_slot
from shared.services.templating import MISSING, TemplateError, lookup, render, render_value
from shared.services.text_norm import fold

MAX_STEPS = 60  # nodes executed in one turn before the engine declares a loop


# -- ports ---------------------------------------------------------------------------------------------------
class IntegrationCaller(Protocol):
    def call(self, tenant_id: str, spec: IntegrationSpec, *, variables: Mapping[str, Any],
             inputs: Mapping[str, Any] | None = None, contact: Mapping[str, Any] | None = None,
             ) -> IntegrationResult: ...


class EmailSender(Protocol):
    def send(self, *, tenant_id: str, to: str, subject: str, body: str, sender: str | None,
             attachments: Sequence[dict[str, Any]] = ()) -> str: ...


class SmsSender(Protocol):
    def send(self, *, tenant_id: str, to: str, text: str) -> str: ...


class DocumentStore(Protocol):
    def put_pdf(self, *, tenant_id: str, conversation_id: str, filename: str, data: bytes) -> str:
        """Store the PDF and return a URL the channel can fetch it from."""


class LinkIssuer(Protocol):
    def issue(self, *, tenant_id: str, contact_id: str, purpose: str, ttl_s: int, base_url: str | None) -> str: ...


class DeliveryFailed(Exception):
    """An email or SMS could not be sent."""


@dataclass
class BotPorts:
    integrations: IntegrationCaller
    email: EmailSender
    sms: SmsSender
    documents: DocumentStore
    links: LinkIssuer
    llm: LlmProvider | None
    otp_pepper: bytes
    models: Mapping[str, str] = field(default_factory=dict)  # tier -> default model id


@dataclass(frozen=True)
class TurnContext:
    tenant_id: str
    conversation_id: str
    channel_id: str
    address: str  # where the channel sends (WhatsApp: the wa_id)
    now: int  # unix seconds
    contact: Mapping[str, Any] = field(default_factory=dict)  # contact_id, name, phone, email
    interactive: bool = True  # the channel has reply buttons and lists
    tier: str = "LITE"


# -- the compiled bot ----------------------------------------------------------------------------------------
@dataclass
class CompiledBot:
    definition: BotDefinition
    version: int
    keywords: KeywordMatcher | None
    interrupts: KeywordMatcher | None
    intents: IntentClassifier | None
    knowledge: KnowledgeMatrix | None
    documents: KnowledgeIndex | None


def compile_bot(definition: BotDefinition, version: int, documents: Sequence[KnowledgeDoc] = ()) -> CompiledBot:
    """Train the NLU of one bot version (done once per version and cached by the caller)."""
    language = definition.language if definition.language in ("es", "en") else "es"
    keyword_map = {f"t{i}": t.keywords for i, t in enumerate(definition.triggers) if t.keywords}
    interrupt_map = {f"t{i}": t.keywords for i, t in enumerate(definition.triggers) if t.keywords and t.interrupts}
    knowledge = [(k.id, k.questions, k.answer) for k in definition.knowledge]
    docs = [*documents, *(KnowledgeDoc(id=k.id, title=k.questions[0], text=f"{k.questions[0]}\n{k.answer}",
                                       source="knowledge") for k in definition.knowledge)]
    return CompiledBot(
        definition=definition, version=version,
        keywords=KeywordMatcher(keyword_map, language) if keyword_map else None,
        interrupts=KeywordMatcher(interrupt_map, language) if interrupt_map else None,
        intents=IntentClassifier.train(definition.intents, language) if definition.intents else None,
        knowledge=KnowledgeMatrix(knowledge, language) if knowledge else None,
        documents=KnowledgeIndex.build(docs, language=language) if docs and definition.ai else None,
    )


# -- the engine ----------------------------------------------------------------------------------------------
class _Stop(Exception):
    """Ends the run loop early (a session that ended)."""


class BotEngine:
    def __init__(self, ports: BotPorts) -> None:
        self._ports = ports

    def new_session(self, bot: CompiledBot, ctx: TurnContext, session_id: str) -> SessionState:
        return SessionState(session_id=session_id, bot_id=bot.definition.id, version=bot.version,
                            started_at=ctx.now, last_activity_at=ctx.now)

    def turn(self, bot: CompiledBot, state: SessionState, turn: TurnInput, ctx: TurnContext) -> TurnResult:
        run = _Run(self._ports, bot, state, ctx)
        state.turns += 1
        state.last_activity_at = ctx.now
        run.result.generation = "rules"
        with contextlib.suppress(_Stop):
            run.receive(turn)
        return run.result

    def timeout(self, bot: CompiledBot, state: SessionState, ctx: TurnContext) -> TurnResult:
        run = _Run(self._ports, bot, state, ctx)
        state.turns += 1  # a turn the bot takes itself: its replies get ids of their own
        if bot.definition.messages.timeout:
            run.say(bot.definition.messages.timeout)
        with contextlib.suppress(_Stop):
            run.end("timeout")
        return run.result


class _Run:
    """One turn's execution: the state is mutated in place and the result collects what to send."""

    def __init__(self, ports: BotPorts, bot: CompiledBot, state: SessionState, ctx: TurnContext) -> None:
        self.ports, self.bot, self.state, self.ctx = ports, bot, state, ctx
        self.d = bot.definition
        self.result = TurnResult(state=state)
        self.steps = 0
        self.language = self.d.language if self.d.language in ("es", "en") else "es"

    # -- output helpers ------------------------------------------------------------------------------------
    def context(self, **extra: Any) -> dict[str, Any]:
        # bare names resolve in `vars` first (shared.services.templating.lookup)
        return {"vars": self.state.vars, "contact": dict(self.ctx.contact), "bot": {"name": self.d.name}, **extra}

    def fill(self, template: str, **extra: Any) -> str:
        try:
            return render(template, self.context(**extra))
        except TemplateError as exc:
            self.result.notes.append(f"template:{exc}")
            return re.sub(r"\{\{[^}]*\}\}", "", template).strip()

    def say(self, template: str, **extra: Any) -> None:
        text = self.fill(template, **extra)
        if text:
            self.result.replies.append(TextContent(body=text[:4096]))

    def send(self, content: OutboundContent) -> None:
        self.result.replies.append(content)

    def end(self, reason: str, *, close: bool = False) -> NoReturn:
        self.state.status = "ended"
        self.state.end_reason = reason
        self.state.node = None
        self.result.ended = reason
        self.result.close_conversation = close
        raise _Stop

    # -- receiving a turn ------------------------------------------------------------------------------------
    def receive(self, turn: TurnInput) -> None:
        text = self._turn_text(turn)
        waiting = self.state.node
        item = self._menu_item(turn, text)
        if item is not None:  # the persistent menu works from anywhere, even while a question waits
            self.result.generation = "rules"
            self.state.attempts = 0
            self._goto(self.d.start, item.to)
            return
        if waiting is not None and self.bot.interrupts is not None and text:
            hit = self.bot.interrupts.match(text)
            if hit is not None:
                self.result.generation = "keywords"
                self._goto_trigger(int(hit.label[1:]))
                return
        if turn.start_flow and self.state.turns == 1 and turn.start_flow in self.d.flows:
            # the reply to a broadcast that names a flow: the new session starts there
            self.enter(turn.start_flow, self.d.flows[turn.start_flow].start)
            return
        if waiting is None:
            if self.state.clarify and self._clarified(turn, text):
                return
            self.state.clarify = None
            if self.state.turns == 1 and not text and not turn.reply_id:
                self.enter(self.d.start, self.d.flows[self.d.start].start)
                return
            if not self.route(text or "", first=self.state.turns == 1):
                self.enter(self.d.start, self.d.flows[self.d.start].start)
            return
        flow = self.state.flow or self.d.start
        node = self.d.flows[flow].nodes[waiting]
        self.answer(flow, waiting, node, turn, text)

    def _menu_item(self, turn: TurnInput, text: str | None) -> MenuItem | None:
        """A persistent-menu tap (postback "menu:<to>") or a Telegram command ("/saldo", "/saldo@bot")."""
        if turn.reply_id and turn.reply_id.startswith(MENU_PAYLOAD_PREFIX):
            to = turn.reply_id[len(MENU_PAYLOAD_PREFIX):]
            return next((i for i in self.d.menu if i.to == to), None)
        if text and text.startswith("/"):
            word = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
            return next((i for i in self.d.menu if menu_command(i) == word), None)
        return None

    def _turn_text(self, turn: TurnInput) -> str | None:
        parts = [turn.text] if turn.text else []
        for media in turn.media:
            if media.get("transcript"):
                parts.append(str(media["transcript"]))
        return "\n".join(parts) if parts else None

    def route(self, text: str, *, first: bool = False, quiet: bool = False) -> bool:
        """Free text: triggers, intents, knowledge, the assistant. True when something took the turn.
        `quiet`: the caller has its own answer when nothing matches (a menu re-asks), so no fallback text."""
        if not text.strip():
            return False
        if self.bot.keywords is not None:
            hit = self.bot.keywords.match(text)
            if hit is not None:
                self.result.generation = "keywords"
                self._goto_trigger(int(hit.label[1:]))
                return True
        if self.bot.intents is not None:
            decision = decide(self.bot.intents.classify(text), threshold=self.d.settings.nlu.threshold,
                              margin=self.d.settings.nlu.margin)
            targets = self._intent_targets(decision)
            if decision.kind == "match" and targets:
                self.result.generation = "intents"
                self._goto(self.d.start, targets[0])
                return True
            if decision.kind == "clarify" and len(targets) == 2 and targets[0] != targets[1]:
                self.result.generation = "intents"
                self._ask_clarify(targets, decision)
                return True
        if self.bot.knowledge is not None:
            decision, answer = self.bot.knowledge.answer(text, threshold=self.d.settings.nlu.threshold,
                                                         margin=self.d.settings.nlu.margin)
            if decision.kind == "match" and answer:
                self.result.generation = "knowledge"
                self.say(answer)
                return True
        if self.d.ai is not None and self.d.ai.fallback and self.ports.llm is not None:
            self.result.generation = "generative"
            self._generative(text, None)
            return True
        if not first and not quiet:
            self.result.generation = "fallback"
            self.say(self.d.messages.fallback)
        return False

    def _intent_targets(self, decision: Decision) -> list[str]:
        by_intent = {t.intent: t.to for t in self.d.triggers if t.intent}
        labels = [decision.label] if decision.kind == "match" else [c.label for c in decision.candidates[:2]]
        return [by_intent[label] for label in labels if label in by_intent]

    def _goto_trigger(self, index: int) -> None:
        self.state.attempts = 0
        self._goto(self.d.start, self.d.triggers[index].to)

    def _ask_clarify(self, targets: list[str], decision: Decision) -> None:
        titles = [self._title_of(t) for t in targets]
        self.state.clarify = targets
        question = self.fill(self.d.messages.clarify, option_1=titles[0], option_2=titles[1])
        if self.ctx.interactive:
            self.send(ButtonsContent(body=question, buttons=[
                ReplyButton(id=f"clarify-{i}", title=title[:20]) for i, title in enumerate(titles)]))
        else:
            self.say(f"{question}\n1. {titles[0]}\n2. {titles[1]}")

    def _title_of(self, target: str) -> str:
        flow_id = target.split(".")[0]
        flow = self.d.flows.get(flow_id)
        return (flow.description if flow and flow.description else flow_id.replace("_", " ").capitalize())[:20]

    def _clarified(self, turn: TurnInput, text: str | None) -> bool:
        targets = self.state.clarify or []
        choice: int | None = None
        if turn.reply_id and turn.reply_id.startswith("clarify-"):
            choice = int(turn.reply_id.split("-")[1])
        elif text and fold(text) in ("1", "2"):
            choice = int(fold(text)) - 1
        elif text:
            folded = fold(text)
            for i, target in enumerate(targets):
                if folded and folded == fold(self._title_of(target)):
                    choice = i
        self.state.clarify = None
        if choice is None or choice >= len(targets):
            return False
        self.result.generation = "intents"
        self._goto(self.d.start, targets[choice])
        return True

    # -- moving between nodes --------------------------------------------------------------------------------
    def _goto(self, flow: str, target: str) -> None:
        resolved = resolve_target(self.d, flow, target)
        if resolved is None:  # validated at load time; only a corrupted session could get here
            self.result.notes.append(f"unknown_target:{target}")
            self.end("error")
        self.enter(*resolved)

    def enter(self, flow: str, node_id: str) -> None:
        """Run nodes from here until one waits for the customer or the session ends."""
        while True:
            self.steps += 1
            if self.steps > MAX_STEPS:
                self.result.notes.append("loop")
                self.say(self.d.messages.error)
                self.end("error")
            self.state.flow, self.state.node = flow, node_id
            node = self.d.flows[flow].nodes[node_id]
            nxt = self.execute(flow, node_id, node)
            if nxt is None:
                return  # waiting for an answer (or ended by raising _Stop)
            resolved = resolve_target(self.d, flow, nxt)
            if resolved is None:
                self.result.notes.append(f"unknown_target:{nxt}")
                self.end("error")
            flow, node_id = resolved

    def _after(self, flow: str, node: Any) -> str:
        """The node's `next`; a node without one ends the session as solved."""
        if node.next is None:
            self.state.node = None
            self.end("solved")
        return str(node.next)

    def execute(self, flow: str, node_id: str, node: Any) -> str | None:
        if isinstance(node, MessageNode):
            if node.media:
                self.send(MediaContent(type=node.media.type, link=self.fill(node.media.url),
                                       caption=self.fill(node.media.caption) if node.media.caption else None,
                                       filename=node.media.filename))
            if node.text:
                self.say(node.text)
            return self._after(flow, node)
        if isinstance(node, MenuNode):
            self.state.attempts = 0
            self._show_menu(node)
            return None
        if isinstance(node, CollectNode):
            if node.skip_if_set and self.state.vars.get(node.var) not in (None, ""):
                return self._after(flow, node)
            self.state.attempts = 0
            self.say(node.prompt)
            return None
        if isinstance(node, ConditionNode):
            for branch in node.branches:
                if self._holds(branch.when):
                    return branch.next
            return node.default
        if isinstance(node, SetNode):
            for name, value in node.values.items():
                self.state.vars[name] = self._value(value)
            return self._after(flow, node)
        if isinstance(node, IntegrationNode):
            return self._integration(flow, node_id, node)
        if isinstance(node, EmailNode):
            return self._email(flow, node)
        if isinstance(node, HandoffNode):
            self._handoff(team=node.team, skills=node.skills, priority=node.priority, text=node.text,
                          summary=node.summary, reason="flow")
        if isinstance(node, OtpNode):
            return self._otp_send(flow, node)
        if isinstance(node, DocumentNode):
            return self._document(flow, node)
        if isinstance(node, LinkNode):
            return self._link(flow, node)
        if isinstance(node, CloseNode):
            if node.text:
                self.say(node.text)
            self.end("solved", close=node.close_conversation)
        if isinstance(node, JumpNode):
            return node.to
        if isinstance(node, AiNode):
            self.state.ai_turns = 0
            if node.text:
                self.say(node.text)
            return None
        raise AssertionError(f"unknown node type {type(node).__name__}")

    # -- answers to waiting nodes ----------------------------------------------------------------------------
    def answer(self, flow: str, node_id: str, node: Any, turn: TurnInput, text: str | None) -> None:
        if isinstance(node, MenuNode):
            option = self._menu_choice(node, turn, text)
            if option is not None:
                if node.var:
                    self.state.vars[node.var] = option.id
                self.state.attempts = 0
                self._goto(flow, option.next)
                return
            if node.use_nlu and text and self.route(text, quiet=True):
                return
            self._retry(flow, node, node.invalid_text or self.d.messages.invalid, lambda: self._show_menu(node))
            return
        if isinstance(node, CollectNode):
            result = validate_slot(node.slot, text, [dict(m) for m in turn.media], pattern=node.pattern,
                                   minimum=node.min, maximum=node.max, min_length=node.min_length,
                                   max_length=node.max_length, choices=node.choices, country=node.country)
            if result.ok:
                self.state.vars[node.var] = result.value
                if node.slot in ("image", "file") and isinstance(result.value, dict):
                    self.state.files.append({**result.value, "slot": node.var})
                self.state.attempts = 0
                self._goto(flow, self._after(flow, node))
                return
            self.state.vars["invalid_reason"] = result.reason
            self._retry(flow, node, node.invalid_text or self.d.messages.invalid, lambda: None)
            return
        if isinstance(node, OtpNode):
            self._otp_check(flow, node, text)
            return
        if isinstance(node, AiNode):
            self.result.generation = "generative"
            self.state.ai_turns += 1
            if self.state.ai_turns > node.max_turns:
                self._handoff_now("ai_max_turns")
            self._generative(text or "", node)
            return
        raise AssertionError(f"node {node_id} does not wait for answers")

    def _retry(self, flow: str, node: Any, invalid: str, reprompt: Callable[[], None]) -> None:
        self.state.attempts += 1
        max_attempts = getattr(node, "max_attempts", self.d.settings.max_attempts)
        if self.state.attempts >= max_attempts:
            self.state.attempts = 0
            self.result.notes.append("max_attempts")
            if node.on_fail:
                self._goto(flow, node.on_fail)
                return
            self._handoff_now("max_attempts")
        self.say(invalid)
        reprompt()

    def _titles(self, node: MenuNode) -> list[tuple[Any, str]]:
        """Options with their titles rendered (titles may be templates, e.g. slots from an integration);
        an option whose title renders empty is not offered."""
        out = []
        for option in node.options:
            title = self.fill(option.title) if "{{" in option.title else option.title
            if title:
                out.append((option, title))
        return out

    def _show_menu(self, node: MenuNode) -> None:
        text = self.fill(node.text)
        options = self._titles(node)
        style = node.style
        if style == "auto":
            if not self.ctx.interactive:
                style = "text"
            elif len(options) <= 3 and all(len(t) <= 20 for _, t in options):
                style = "buttons"
            elif all(len(t) <= 24 for _, t in options):
                style = "list"
            else:
                style = "text"
        if style in ("buttons", "list") and not self.ctx.interactive:
            style = "text"
        if style == "buttons" and len(options) <= 3:
            self.send(ButtonsContent(body=text[:1024], buttons=[ReplyButton(id=o.id, title=t[:20])
                                                                for o, t in options]))
        elif style in ("buttons", "list"):
            self.send(ListContent(body=text, button=node.list_button, sections=[ListSection(rows=[
                ListRow(id=o.id, title=t[:24], description=o.description) for o, t in options])]))
        else:
            lines = [text, ""] + [f"{i}. {t}" for i, (_, t) in enumerate(options, start=1)]
            self.result.replies.append(TextContent(body="\n".join(lines)[:4096]))

    def _menu_choice(self, node: MenuNode, turn: TurnInput, text: str | None) -> Any:
        if turn.reply_id:
            picked = next((o for o in node.options if o.id == turn.reply_id), None)
            if picked is not None:
                return picked
        if not text:
            return None
        options = self._titles(node)
        folded = fold(text)
        number = re.fullmatch(r"(?:opcion\s*)?(\d{1,2})", folded)
        if number and 1 <= int(number.group(1)) <= len(options):
            return options[int(number.group(1)) - 1][0]
        for option, title in options:
            if folded == fold(title) or folded == fold(option.id.replace("_", " ")):
                return option
        matcher = KeywordMatcher({o.id: [t, *o.keywords] for o, t in options}, self.language)
        hit = matcher.match(text)
        return next((o for o, _ in options if hit and o.id == hit.label), None)

    # -- conditions and values -------------------------------------------------------------------------------
    def _value(self, value: Any) -> Any:
        try:
            return render_value(value, self.context())
        except TemplateError as exc:
            self.result.notes.append(f"template:{exc}")
            return None

    def _lookup(self, path: str) -> Any:
        value = lookup(path, self.context())
        return None if value is MISSING else value

    def _holds(self, condition: Any) -> bool:
        if hasattr(condition, "all"):
            return all(self._holds(c) for c in condition.all)
        if hasattr(condition, "any"):
            return any(self._holds(c) for c in condition.any)
        if hasattr(condition, "not_"):
            return not self._holds(condition.not_)
        assert isinstance(condition, Compare)
        left = self._lookup(condition.var)
        op = condition.op
        if op == "exists":
            return left not in (None, "", [])
        if op == "not_exists":
            return left in (None, "", [])
        right = self._value(condition.value)
        if op in ("gt", "gte", "lt", "lte"):
            a, b = _number(left), _number(right)
            if a is None or b is None:
                return False
            return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
        if op in ("eq", "ne"):
            same = _loosely_equal(left, right)
            return same if op == "eq" else not same
        if op in ("in", "not_in"):
            items = right if isinstance(right, list) else [right]
            inside = any(_loosely_equal(left, item) for item in items)
            return inside if op == "in" else not inside
        if op == "contains":
            if isinstance(left, list):
                return any(_loosely_equal(item, right) for item in left)
            return isinstance(left, str) and fold(str(right)) in fold(left)
        if op == "matches":
            return left is not None and re.search(str(right), str(left)) is not None
        return False

    # -- side effects ----------------------------------------------------------------------------------------
    def _integration(self, flow: str, node_id: str, node: IntegrationNode) -> str | None:
        spec = self.d.integration(node.integration)
        inputs = {k: self._value(v) for k, v in node.inputs.items()}
        result = self.ports.integrations.call(self.ctx.tenant_id, spec, variables=self.state.vars, inputs=inputs,
                                              contact=self.ctx.contact)
        self.state.vars.pop("integration_error", None)
        if result.ok:
            self.state.vars.update(result.outputs)
            return self._after(flow, node)
        self.state.vars["integration_error"] = result.error
        self.result.notes.append(f"integration:{spec.name}:{result.error}")
        if node.on_error:
            return node.on_error
        self.say(self.d.messages.error)
        self._handoff_now(f"integration_failed:{spec.name}")
        return None

    def _email(self, flow: str, node: EmailNode) -> str | None:
        attachments = [f for f in self.state.files if f.get("s3_key")] if node.attach_files else []
        try:
            self.ports.email.send(tenant_id=self.ctx.tenant_id, to=self.fill(node.to), subject=self.fill(node.subject),
                                  body=self.fill(node.body), sender=self.d.settings.email_from,
                                  attachments=attachments)
        except DeliveryFailed as exc:
            self.result.notes.append(f"email_failed:{exc}")
            if node.on_error:
                return node.on_error
            self.say(self.d.messages.error)
            self._handoff_now("email_failed")
        return self._after(flow, node)

    def _handoff(self, *, team: str, skills: Sequence[str], priority: str, text: str | None,
                 summary: str | None, reason: str) -> NoReturn:
        data = {k: v for k, v in self.state.vars.items() if not k.startswith("_") and k != "invalid_reason"
                and not isinstance(v, dict)}
        default_summary = "\n".join([f"Bot: {self.d.name}", f"Motivo: {reason}"]
                                    + [f"{k}: {v}" for k, v in sorted(data.items())])
        self.result.handoff = HandoffRequest(team=team, skills=tuple(skills), priority=priority,
                                             summary=self.fill(summary) if summary else default_summary,
                                             reason=reason, data=data)
        self.say(self.d.messages.handoff if text is None else text)
        self.end("handoff")

    def _otp_destination(self, node: OtpNode) -> str | None:
        if node.to:
            value = self.fill(node.to)
            return value or None
        if node.channel == "whatsapp":
            return self.ctx.address
        key = "email" if node.channel == "email" else "phone"
        found = self.ctx.contact.get(key)
        return str(found) if found else None

    def _otp_send(self, flow: str, node: OtpNode) -> str | None:
        destination = self._otp_destination(node)
        if destination is None:
            self.result.notes.append("otp_no_destination")
            return node.on_fail or self._handoff_now("otp_no_destination")
        code, state = otp_codes.issue(length=node.length, ttl_s=node.ttl_s, max_attempts=node.max_attempts,
                                      now=self.ctx.now, pepper=self._pepper())
        self.state.otp = state.to_dict()
        minutes = max(1, node.ttl_s // 60)
        try:
            if node.channel == "whatsapp":
                self.send(TemplateContent(name=node.template, language=node.template_language, components=[
                    {"type": "body", "parameters": [{"type": "text", "text": code}]},
                    {"type": "button", "sub_type": "url", "index": "0",
                     "parameters": [{"type": "text", "text": code}]}]))
            elif node.channel == "sms":
                self.ports.sms.send(tenant_id=self.ctx.tenant_id, to=destination,
                                    text=self.fill(self.d.messages.otp_sms, code=code, minutes=minutes))
            else:
                self.ports.email.send(tenant_id=self.ctx.tenant_id, to=destination, subject=self.d.name,
                                      body=self.fill(self.d.messages.otp_sms, code=code, minutes=minutes),
                                      sender=self.d.settings.email_from)
        except DeliveryFailed as exc:
            self.result.notes.append(f"otp_delivery_failed:{exc}")
            self.state.otp = None
            return node.on_fail or self._handoff_now("otp_delivery_failed")
        self.say(node.prompt, minutes=minutes)
        return None

    def _handoff_now(self, reason: str, *, text: str | None = None) -> NoReturn:
        """Hand off to the bot's default team (no node said which), with the default handoff text."""
        self._handoff(team=self.d.settings.team, skills=[], priority="normal", text=text, summary=None, reason=reason)

    def _pepper(self) -> bytes:
        return hashlib.sha256(self.ports.otp_pepper + self.ctx.conversation_id.encode()).digest()

    def _otp_check(self, flow: str, node: OtpNode, text: str | None) -> None:
        if not self.state.otp:
            self._goto(flow, self.state.node or flow)
            return
        check, new_state = otp_codes.check(otp_codes.OtpState.from_dict(self.state.otp), text or "",
                                           now=self.ctx.now, pepper=self._pepper())
        self.state.otp = new_state.to_dict()
        if check.kind == "ok":
            self.state.otp = None
            self.state.vars["identity_verified"] = True
            self._goto(flow, self._after(flow, node))
            return
        if check.kind == "wrong" and check.attempts_left > 0:
            self.say(node.invalid_text or self.d.messages.invalid)
            return
        self.state.otp = None
        self.state.vars["identity_verified"] = False
        if check.kind == "expired" and node.expired_text:
            self.say(node.expired_text)
        if node.on_fail:
            self._goto(flow, node.on_fail)
            return
        self._handoff_now(f"otp_{check.kind}")

    def _document(self, flow: str, node: DocumentNode) -> str | None:
        lines = self.fill(node.body).splitlines()
        data = render_pdf(title=self.fill(node.title), lines=lines, footer=self.d.name)
        filename = self.fill(node.filename)
        url = self.ports.documents.put_pdf(tenant_id=self.ctx.tenant_id, conversation_id=self.ctx.conversation_id,
                                           filename=filename, data=data)
        self.send(MediaContent(type="document", link=url, filename=filename,
                               caption=self.fill(node.caption) if node.caption else None))
        return self._after(flow, node)

    def _link(self, flow: str, node: LinkNode) -> str | None:
        contact_id = str(self.ctx.contact.get("contact_id") or self.ctx.address)
        url = self.ports.links.issue(tenant_id=self.ctx.tenant_id, contact_id=contact_id, purpose=node.purpose,
                                     ttl_s=node.ttl_s, base_url=self.d.settings.link_base_url)
        self.say(node.text, link=url)
        return self._after(flow, node)

    # -- generative ------------------------------------------------------------------------------------------
    def _generative(self, text: str, node: AiNode | None) -> None:
        ai = self.d.ai
        if ai is None or self.ports.llm is None:
            self.say(self.d.messages.fallback)
            return
        names = list(dict.fromkeys([*ai.tools, *(node.tools if node else [])]))
        specs = {name: self.d.integration(name) for name in names}
        tools = [ToolSpec(name=s.name, description=s.description, input_schema=tool_schema(s))
                 for s in specs.values()]

        def call_tool(name: str, args: dict[str, Any]) -> ToolOutcome:
            spec = specs.get(name)
            if spec is None:
                return ToolOutcome(ok=False, data={"error": "unknown_tool"})
            result = self.ports.integrations.call(self.ctx.tenant_id, spec, variables=self.state.vars,
                                                  inputs=args, contact=self.ctx.contact)
            if result.ok:
                self.state.vars.update(result.outputs)
                data = result.data if isinstance(result.data, dict) else {"result": result.data}
                return ToolOutcome(ok=True, data=data)
            return ToolOutcome(ok=False, data={"error": result.error})

        model_id = ai.models.get(self.ctx.tier) or self.ports.models.get(self.ctx.tier)  # type: ignore[call-overload]
        if not model_id:
            self.result.notes.append("no_model")
            self._handoff_now("no_model")
            return
        instructions = "\n\n".join(p for p in (ai.instructions, node.instructions if node else None) if p)
        agent = GenerativeAgent(self.ports.llm, max_output_tokens=ai.max_tokens)
        history = [message_from_dict(m) for m in self.state.ai_history]
        outcome = agent.run_turn(model_id=model_id, instructions=instructions, history=history, user_text=text,
                                 tools=tools, call_tool=call_tool,
                                 knowledge=self.bot.documents if (node is None or node.use_knowledge) else None,
                                 token_budget=ai.token_budget,
                                 min_knowledge_confidence=ai.min_knowledge_confidence,
                                 pii_mapping=self.state.ai_pii)
        self.state.ai_history = [message_to_dict(m) for m in outcome.history]
        self.state.ai_pii = dict(outcome.pii_mapping)
        self.state.tokens_in += outcome.usage.input_tokens
        self.state.tokens_out += outcome.usage.output_tokens
        self.state.ai_answers += 1
        self.state.llm_tier = self.ctx.tier
        self.result.usage.append(Usage(kind="llm", model=model_id, input_tokens=outcome.usage.input_tokens,
                                       output_tokens=outcome.usage.output_tokens))
        if outcome.reply_text:
            self.say_plain(outcome.reply_text)
        if outcome.handoff:
            target = node.on_handoff if node else None
            if target:
                self._goto(self.state.flow or self.d.start, target)
                return
            self._handoff_now(f"ai:{outcome.handoff_reason}", text="" if outcome.reply_text else None)
        if outcome.finished:
            if node and node.on_finish:
                self._goto(self.state.flow or self.d.start, node.on_finish)
                return
            self.end("solved")

    def say_plain(self, text: str) -> None:
        if text.strip():
            self.result.replies.append(TextContent(body=text.strip()[:4096]))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "."))
        except ValueError:
            return None
    return None


def _loosely_equal(left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    if isinstance(left, str) and isinstance(right, str):
        return fold(left) == fold(right)
    return bool(left == right)
