"""Bots through the API: upload a definition (a new immutable version), activate it on channels, pause the bot
in one conversation, look at a session, verify a self-service link."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import Conflict, InvalidInput, NotFound
from shared.ports import BotRecord, BotRegistry, BotSessionStore, BotVersion, ChannelTaken, Clock, VersionTaken

if TYPE_CHECKING:
    from shared.services.quotas import QuotaGate


class BotUpload(BaseModel):
    """A definition as YAML/JSON text (errors point at lines) or as a JSON object (errors point at fields)."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(default=None, max_length=300_000, description="YAML or JSON text")
    format: Literal["yaml", "json"] = "yaml"
    definition: dict[str, Any] | None = Field(default=None, description="The definition as a JSON object")
    activate: bool = Field(default=True, description="Make this version the one that answers its channels")

    @model_validator(mode="after")
    def _one(self) -> BotUpload:
        if (self.source is None) == (self.definition is None):
            raise ValueError("give exactly one of source or definition")
        return self


class BotVersionView(BaseModel):
    bot_id: str
    version: int
    name: str
    checksum: str
    created_at: datetime
    created_by: str | None = None
    active: bool
    source: str | None = None
    format: str | None = None


class BotView(BaseModel):
    bot_id: str
    name: str
    latest_version: int
    active_version: int | None
    channels: list[str]
    updated_at: datetime


class BotList(BaseModel):
    items: list[BotView]


class VersionList(BaseModel):
    items: list[BotVersionView]


class ValidationReport(BaseModel):
    valid: bool
    bot_id: str | None = None
    nodes: int = 0
    flows: int = 0
    intents: int = 0


class BotSessionView(BaseModel):
    conversation_id: str
    paused: str | None = Field(description="Why the bot is silent here (handoff, agent, api); null: it talks")
    status: str | None = None
    bot_id: str | None = None
    version: int | None = None
    session_id: str | None = None
    flow: str | None = None
    node: str | None = None
    turns: int = 0
    variables: dict[str, Any] = Field(default_factory=dict)
    end_reason: str | None = None


class PauseInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Literal["api", "agent"] = "api"


class LinkVerifyInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=4000)


class LinkClaimsView(BaseModel):
    valid: bool
    reason: str | None = None
    contact_id: str | None = None
    purpose: str | None = None
    expires_at: int | None = None


class ConversationCheck(Protocol):
    def get(self, tenant_id: str, conversation_id: str) -> Any: ...


class LinkVerifier(Protocol):
    def key(self) -> bytes: ...


def _issues(exc: Any) -> list[dict[str, object]]:  # a bot_loader.DefinitionInvalid
    return [{"path": i.path, "message": i.message, **({"line": i.line} if i.line else {}),
             **({"column": i.column} if i.column else {})} for i in exc.issues]


class BotService:
    def __init__(self, *, registry: BotRegistry, sessions: BotSessionStore, conversations: ConversationCheck,
                 clock: Clock, links: LinkVerifier | None = None, quotas: QuotaGate | None = None) -> None:
        self._registry = registry
        self._sessions = sessions
        self._conversations = conversations
        self._clock = clock
        self._links = links
        self._quotas = quotas  # the plan's max_bots: a new bot (not a new version) is checked before it is stored

    def _parse(self, upload: BotUpload) -> tuple[Any, str, str]:
        # imported here: the definition schema, YAML and the NLU modules stay off the API's cold start
        from shared.services.bot_loader import DefinitionInvalid, load_definition, validate_definition

        try:
            if upload.source is not None:
                return load_definition(upload.source, upload.format), upload.source, upload.format
            assert upload.definition is not None
            source = json.dumps(upload.definition, ensure_ascii=False, indent=2)
            return validate_definition(upload.definition), source, "json"
        except DefinitionInvalid as exc:
            raise InvalidInput(f"the bot definition is invalid: {exc}", errors=_issues(exc)) from None

    def validate(self, upload: BotUpload) -> ValidationReport:
        definition, _, _ = self._parse(upload)
        return ValidationReport(valid=True, bot_id=definition.id, flows=len(definition.flows),
                                nodes=sum(len(f.nodes) for f in definition.flows.values()),
                                intents=len(definition.intents))

    def upload(self, tenant_id: str, upload: BotUpload, *, actor: str | None) -> BotVersionView:
        definition, source, fmt = self._parse(upload)
        existing = self._registry.get_bot(tenant_id, definition.id)
        checksum = hashlib.sha256(source.encode()).hexdigest()
        if existing is None and self._quotas is not None:
            self._quotas.admit(tenant_id, "bots")
        if existing is not None:
            latest = self._registry.get_version(tenant_id, definition.id, existing.latest_version)
            if latest is not None and latest.checksum == checksum:  # the same text again: no new version
                if upload.activate and existing.active_version != latest.version:
                    self._activate(tenant_id, definition.id, latest.version, definition.channels)
                return self._version_view(latest, existing.name, upload.activate or
                                          existing.active_version == latest.version)
        version = BotVersion(tenant_id=tenant_id, bot_id=definition.id,
                             version=(existing.latest_version if existing else 0) + 1, source=source, format=fmt,
                             checksum=checksum, created_at=self._clock.now(), created_by=actor)
        try:
            self._registry.put_version(version, name=definition.name, channels=definition.channels)
        except VersionTaken:  # a concurrent upload took the same version number
            raise Conflict("another version of this bot was uploaded at the same time; retry") from None
        if existing is None and self._quotas is not None:
            self._quotas.after_change(tenant_id, "bots")
        if upload.activate:
            self._activate(tenant_id, definition.id, version.version, definition.channels)
        return self._version_view(version, definition.name, upload.activate)

    def _activate(self, tenant_id: str, bot_id: str, version: int, channels: list[str]) -> None:
        if not channels:
            raise InvalidInput("the definition binds no channels: add channel ids (or '*') to `channels`")
        try:
            self._registry.activate(tenant_id, bot_id, version, channels)
        except ChannelTaken as exc:
            raise Conflict(str(exc)) from None

    def activate(self, tenant_id: str, bot_id: str, version: int) -> BotView:
        stored = self._registry.get_version(tenant_id, bot_id, version)
        if stored is None:
            raise NotFound(f"bot {bot_id} has no version {version}")
        from shared.services.bot_loader import load_version

        definition = load_version(stored)
        self._activate(tenant_id, bot_id, version, definition.channels)
        return self.get(tenant_id, bot_id)

    def deactivate(self, tenant_id: str, bot_id: str) -> BotView:
        self.get(tenant_id, bot_id)
        self._registry.deactivate(tenant_id, bot_id)
        return self.get(tenant_id, bot_id)

    def get(self, tenant_id: str, bot_id: str) -> BotView:
        record = self._registry.get_bot(tenant_id, bot_id)
        if record is None:
            raise NotFound(f"no bot {bot_id}")
        return _bot_view(record)

    def list(self, tenant_id: str) -> BotList:
        return BotList(items=[_bot_view(b) for b in self._registry.list_bots(tenant_id)])

    def versions(self, tenant_id: str, bot_id: str) -> VersionList:
        record = self._registry.get_bot(tenant_id, bot_id)
        if record is None:
            raise NotFound(f"no bot {bot_id}")
        return VersionList(items=[self._version_view(v, record.name, v.version == record.active_version,
                                                     with_source=False)
                                  for v in self._registry.list_versions(tenant_id, bot_id)])

    def version(self, tenant_id: str, bot_id: str, version: int) -> BotVersionView:
        record = self._registry.get_bot(tenant_id, bot_id)
        stored = self._registry.get_version(tenant_id, bot_id, version) if record else None
        if record is None or stored is None:
            raise NotFound(f"bot {bot_id} has no version {version}")
        return self._version_view(stored, record.name, record.active_version == version)

    @staticmethod
    def _version_view(version: BotVersion, name: str, active: bool, *, with_source: bool = True) -> BotVersionView:
        return BotVersionView(bot_id=version.bot_id, version=version.version, name=name, checksum=version.checksum,
                              created_at=version.created_at, created_by=version.created_by, active=active,
                              source=version.source if with_source else None,
                              format=version.format if with_source else None)

    # -- conversations -----------------------------------------------------------------------------------------
    def session(self, tenant_id: str, conversation_id: str) -> BotSessionView:
        self._conversations.get(tenant_id, conversation_id)  # 404 for another tenant's or an unknown id
        snapshot = self._sessions.get(tenant_id, conversation_id)
        state = (snapshot.state or {}) if snapshot else {}
        return BotSessionView(conversation_id=conversation_id, paused=snapshot.paused if snapshot else None,
                              status=state.get("status"), bot_id=state.get("bot_id"), version=state.get("version"),
                              session_id=state.get("session_id"), flow=state.get("flow"), node=state.get("node"),
                              turns=int(state.get("turns", 0)), end_reason=state.get("end_reason"),
                              variables={k: v for k, v in (state.get("vars") or {}).items() if not k.startswith("_")})

    def pause(self, tenant_id: str, conversation_id: str, reason: str) -> BotSessionView:
        self._conversations.get(tenant_id, conversation_id)
        self._sessions.set_paused(tenant_id, conversation_id, reason)
        return self.session(tenant_id, conversation_id)

    def resume(self, tenant_id: str, conversation_id: str) -> BotSessionView:
        self._conversations.get(tenant_id, conversation_id)
        self._sessions.set_paused(tenant_id, conversation_id, None)
        return self.session(tenant_id, conversation_id)

    # -- links -------------------------------------------------------------------------------------------------
    def verify_link(self, tenant_id: str, token: str) -> LinkClaimsView:
        from shared.services.links import InvalidLink, verify_link

        if self._links is None:
            raise InvalidInput("link verification is not configured")
        try:
            claims = verify_link(token, secret=self._links.key(), now=int(self._clock.now().timestamp()))
        except InvalidLink as exc:
            return LinkClaimsView(valid=False, reason=exc.reason)
        if claims.tenant_id != tenant_id:  # another tenant's link: not this caller's to read
            return LinkClaimsView(valid=False, reason="bad_signature")
        return LinkClaimsView(valid=True, contact_id=claims.contact_id, purpose=claims.purpose,
                              expires_at=claims.expires_at)


def _bot_view(record: BotRecord) -> BotView:
    return BotView(bot_id=record.bot_id, name=record.name, latest_version=record.latest_version,
                   active_version=record.active_version, channels=list(record.channels),
                   updated_at=record.updated_at)
