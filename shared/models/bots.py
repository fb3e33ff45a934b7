"""Bot definitions: the declarative document a tenant writes (YAML or JSON) and the engine runs.

A bot has flows of nodes (generation 1), keyword triggers (2), intents and a knowledge matrix (3) and an
optional generative assistant (4). Everything is validated here, before a version is stored: a definition
either loads completely or is refused with every problem listed by path (and line, for YAML/JSON text).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.services.integrations import IntegrationSpec
from shared.services.nlu import DEFAULT_MARGIN, DEFAULT_THRESHOLD

ID = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
Id = Annotated[str, Field(pattern=ID)]
Text = Annotated[str, Field(min_length=1, max_length=4096)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- conditions --------------------------------------------------------------------------------------------
CompareOp = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "exists", "not_exists",
                    "matches"]


class Compare(Strict):
    var: str = Field(min_length=1, max_length=128, description="A session variable (dotted paths allowed)")
    op: CompareOp = "eq"
    value: Any = None  # a literal, or a template string such as "{{limite}}"

    @model_validator(mode="after")
    def _value_needed(self) -> Compare:
        if self.op not in ("exists", "not_exists") and self.value is None:
            raise ValueError(f"operator {self.op!r} needs a value")
        if self.op == "matches" and isinstance(self.value, str):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from exc
        return self


class AllOf(Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(Strict):
    any: list[Condition] = Field(min_length=1)


class NotOf(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    not_: Condition = Field(alias="not")


Condition = Compare | AllOf | AnyOf | NotOf
for _model in (AllOf, AnyOf, NotOf):
    _model.model_rebuild()


# -- nodes -------------------------------------------------------------------------------------------------
class NodeBase(Strict):
    next: str | None = Field(default=None, description="Next node: 'node' in this flow or 'flow.node' / 'flow'")


class MediaSpec(Strict):
    type: Literal["image", "document", "video", "audio"]
    url: str = Field(min_length=1, max_length=2000)
    caption: str | None = Field(default=None, max_length=1024)
    filename: str | None = Field(default=None, max_length=240)


class ButtonSpec(Strict):
    id: Id
    title: str = Field(min_length=1, max_length=20)


class MessageNode(NodeBase):
    type: Literal["message"]
    text: str | None = Field(default=None, max_length=4096)
    media: MediaSpec | None = None

    @model_validator(mode="after")
    def _something(self) -> MessageNode:
        if not self.text and not self.media:
            raise ValueError("a message node needs text or media")
        return self


class MenuOption(Strict):
    id: Id
    title: str = Field(min_length=1, max_length=72)
    description: str | None = Field(default=None, max_length=72)
    keywords: list[str] = Field(default_factory=list, max_length=20)
    next: str = Field(min_length=1)


class MenuNode(NodeBase):
    type: Literal["menu"]
    text: Text
    options: list[MenuOption] = Field(min_length=1, max_length=10)
    style: Literal["auto", "buttons", "list", "text"] = "auto"
    list_button: str = Field(default="Ver opciones", max_length=20)
    var: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]{0,63}$")
    invalid_text: str | None = Field(default=None, max_length=1024)
    max_attempts: int = Field(default=3, ge=1, le=10)
    on_fail: str | None = None
    # At a menu, free text that matches no option is tried against the bot's triggers, intents and knowledge.
    use_nlu: bool = True

    @field_validator("options")
    @classmethod
    def _unique(cls, options: list[MenuOption]) -> list[MenuOption]:
        ids = [o.id for o in options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")
        return options


SlotType = Literal["document_id", "full_name", "email", "phone", "date", "amount", "integer", "text", "yes_no",
                   "image", "file", "choice"]


class CollectNode(NodeBase):
    type: Literal["collect"]
    var: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,63}$")
    slot: SlotType
    prompt: Text
    invalid_text: str | None = Field(default=None, max_length=1024)
    max_attempts: int = Field(default=3, ge=1, le=10)
    on_fail: str | None = None
    pattern: str | None = Field(default=None, max_length=500, description="Extra regular expression to match")
    min: float | None = None
    max: float | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1, le=4096)
    choices: list[str] = Field(default_factory=list, max_length=20)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="For phone and document_id")
    skip_if_set: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> CollectNode:
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"invalid pattern: {exc}") from exc
        if self.slot == "choice" and not self.choices:
            raise ValueError("a choice slot needs choices")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class Branch(Strict):
    when: Condition
    next: str = Field(min_length=1)


class ConditionNode(NodeBase):
    type: Literal["condition"]
    branches: list[Branch] = Field(min_length=1, max_length=20)
    default: str = Field(min_length=1, description="Where to go when no branch matches")


class IntegrationNode(NodeBase):
    type: Literal["integration"]
    integration: str = Field(min_length=1)
    inputs: dict[str, Any] = Field(default_factory=dict, description="Parameter -> value or template")
    on_error: str | None = Field(default=None, description="Where to go when the call fails; the error is in "
                                                          "{{integration_error}}")


class SetNode(NodeBase):
    type: Literal["set"]
    values: dict[str, Any] = Field(min_length=1)


class EmailNode(NodeBase):
    type: Literal["email"]
    to: str = Field(min_length=1, max_length=500)
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20000)
    attach_files: bool = Field(default=True, description="Attach the files the customer sent in this session")
    on_error: str | None = None


class HandoffNode(NodeBase):
    type: Literal["handoff"]
    team: Id
    skills: list[Id] = Field(default_factory=list, max_length=10)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    text: str | None = Field(default=None, max_length=1024, description="Said to the customer")
    summary: str | None = Field(default=None, max_length=4000,
                                description="For the agent (template); default lists the collected data")


class OtpNode(NodeBase):
    type: Literal["otp"]
    channel: Literal["whatsapp", "sms", "email"] = "whatsapp"
    to: str | None = Field(default=None, description="Destination template; default: the conversation's "
                                                    "WhatsApp number, or the contact's phone/email")
    template: str = Field(default="codigo_verificacion", max_length=512, description="WhatsApp auth template")
    template_language: str = "es"
    prompt: Text
    invalid_text: str | None = Field(default=None, max_length=1024)
    expired_text: str | None = Field(default=None, max_length=1024)
    length: int = Field(default=6, ge=4, le=8)
    ttl_s: int = Field(default=300, ge=30, le=3600)
    max_attempts: int = Field(default=3, ge=1, le=10)
    on_fail: str | None = None


class DocumentNode(NodeBase):
    type: Literal["document"]
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000, description="Template; one line per line")
    filename: str = Field(default="documento.pdf", pattern=r"^[A-Za-z0-9_\-. {}]{1,120}\.pdf$")
    caption: str | None = Field(default=None, max_length=1024)


class LinkNode(NodeBase):
    type: Literal["link"]
    purpose: Id
    text: Text = Field(description="Must contain {{link}}")
    ttl_s: int = Field(default=3600, ge=60, le=30 * 86400)

    @field_validator("text")
    @classmethod
    def _has_link(cls, text: str) -> str:
        if "{{link}}" not in text.replace(" ", ""):
            raise ValueError("the text must contain {{link}}")
        return text


class CloseNode(Strict):
    type: Literal["close"]
    text: str | None = Field(default=None, max_length=4096)
    close_conversation: bool = True


class JumpNode(Strict):
    type: Literal["jump"]
    to: str = Field(min_length=1, description="'flow' or 'flow.node'")


class AiNode(NodeBase):
    type: Literal["ai"]
    text: str | None = Field(default=None, max_length=1024, description="Said when the node is entered")
    instructions: str | None = Field(default=None, max_length=8000)
    tools: list[str] = Field(default_factory=list, max_length=20, description="Integrations offered as tools")
    use_knowledge: bool = True
    max_turns: int = Field(default=10, ge=1, le=50)
    on_handoff: str | None = None
    on_finish: str | None = None


Node = Annotated[
    MessageNode | MenuNode | CollectNode | ConditionNode | IntegrationNode | SetNode | EmailNode | HandoffNode
    | OtpNode | DocumentNode | LinkNode | CloseNode | JumpNode | AiNode,
    Field(discriminator="type"),
]
NODE_CLASSES = (MessageNode, MenuNode, CollectNode, ConditionNode, IntegrationNode, SetNode, EmailNode, HandoffNode,
                OtpNode, DocumentNode, LinkNode, CloseNode, JumpNode, AiNode)


class Flow(Strict):
    start: str = Field(min_length=1)
    description: str | None = None
    nodes: dict[Id, Node] = Field(min_length=1)


class Trigger(Strict):
    keywords: list[str] = Field(default_factory=list, max_length=50)
    intent: str | None = None
    to: str = Field(min_length=1, description="'flow' or 'flow.node'")
    interrupts: bool = Field(default=False, description="Also fires while the bot waits for an answer "
                                                        "(keywords only: intents never interrupt a question)")

    @model_validator(mode="after")
    def _something(self) -> Trigger:
        if not self.keywords and not self.intent:
            raise ValueError("a trigger needs keywords or an intent")
        return self


class MenuItem(Strict):
    """One entry of the persistent menu (Messenger/Instagram menu, Telegram commands): always there, beside the
    composer; tapping it jumps to `to` from anywhere in the conversation."""

    title: str = Field(min_length=1, max_length=30)
    to: str = Field(min_length=1, description="'flow' or 'flow.node'")
    command: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,32}$",
                                description="Telegram command (without '/'); derived from the title when absent")


MENU_PAYLOAD_PREFIX = "menu:"  # a persistent-menu postback carries "menu:<to>"


def menu_command(item: MenuItem) -> str:
    """The Telegram command of a menu item: its own, or its title folded to a-z, 0-9 and _ ("Mis deudas" ->
    "mis_deudas", "Crédito" -> "credito")."""
    if item.command:
        return item.command
    folded = unicodedata.normalize("NFKD", item.title.lower()).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_")[:32] or "menu"


class KnowledgeEntry(Strict):
    id: Id
    questions: list[str] = Field(min_length=1, max_length=50)
    answer: Text


class NluSettings(Strict):
    """Defaults tuned on training phrases (leave-one-out; see shared/services/nlu.py and BENCHMARKS.md)."""

    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=0, le=1)
    margin: float = Field(default=DEFAULT_MARGIN, ge=0, le=1)


class AiSettings(Strict):
    models: dict[Literal["LITE", "PRO"], str] = Field(default_factory=dict,
                                                      description="Model id per tier; default from settings")
    instructions: str = Field(default="", max_length=8000)
    tools: list[str] = Field(default_factory=list, max_length=20)
    token_budget: int = Field(default=4000, ge=200, le=100_000, description="Tokens per turn, all calls")
    max_tokens: int = Field(default=600, ge=50, le=4000, description="Output tokens per call")
    fallback: bool = Field(default=True, description="Answer free text nothing else understood")
    min_knowledge_confidence: float = Field(default=0.2, ge=0, le=1)


class BotSettings(Strict):
    session_timeout_s: int = Field(default=900, ge=60, le=7 * 86400)
    coalesce_window_s: float = Field(default=2.0, ge=0, le=10)
    max_attempts: int = Field(default=3, ge=1, le=10)
    nlu: NluSettings = NluSettings()
    team: str = Field(default="general", pattern=ID, description="Handoff team when a node does not say")
    link_base_url: str | None = Field(default=None, max_length=500)
    email_from: str | None = Field(default=None, max_length=320)
    voice_notes: bool = True
    images: bool = True


class BotMessages(Strict):
    fallback: str = "Disculpá, no te entendí. ¿Podés decirlo de otra forma?"
    clarify: str = "¿Te referís a {{option_1}} o a {{option_2}}?"
    invalid: str = "La respuesta no es válida. Probá de nuevo, por favor."
    timeout: str | None = "Cerramos esta conversación por inactividad. Escribinos cuando quieras."
    handoff: str = "Te comunico con una persona de nuestro equipo. En breve te responde."
    error: str = "Tuvimos un problema técnico. Probá de nuevo en unos minutos."
    otp_sms: str = "Tu código de verificación es {{code}}. Vence en {{minutes}} minutos."
    voice_unavailable: str = "No pude escuchar tu audio. ¿Podés escribirme?"


class BotDefinition(Strict):
    id: Id
    name: str = Field(min_length=1, max_length=120)
    language: Literal["es", "en", "pt"] = "es"
    description: str | None = Field(default=None, max_length=1000)
    channels: list[str] = Field(default_factory=list, max_length=50,
                                description="Channel ids this bot answers; '*' for every channel of the tenant")
    start: str = Field(min_length=1, description="The flow a new session starts in")
    settings: BotSettings = BotSettings()
    messages: BotMessages = BotMessages()
    triggers: list[Trigger] = Field(default_factory=list, max_length=200)
    menu: list[MenuItem] = Field(default_factory=list, max_length=20,
                                 description="The persistent menu on Messenger, Instagram and Telegram")
    intents: dict[Id, list[str]] = Field(default_factory=dict, max_length=200)
    knowledge: list[KnowledgeEntry] = Field(default_factory=list, max_length=2000)
    integrations: list[IntegrationSpec] = Field(default_factory=list, max_length=50)
    ai: AiSettings | None = None
    flows: dict[Id, Flow] = Field(min_length=1, max_length=200)

    @field_validator("intents")
    @classmethod
    def _examples(cls, intents: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, examples in intents.items():
            if len([e for e in examples if e.strip()]) < 2:
                raise ValueError(f"intent {name!r} needs at least 2 example phrases")
        return intents

    def node(self, flow: str, node: str) -> Any:
        return self.flows[flow].nodes[node]

    def integration(self, name: str) -> IntegrationSpec:
        return next(i for i in self.integrations if i.name == name)
