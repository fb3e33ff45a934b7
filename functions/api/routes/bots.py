"""/v1/bots: upload bot definitions (versions), activate them on channels; a conversation's bot: look, pause,
resume; verify a self-service link the bot sent."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from functions.api import deps
from shared.http.context import require
from shared.services.bots import (
    BotList,
    BotSessionView,
    BotUpload,
    BotVersionView,
    BotView,
    LinkClaimsView,
    LinkVerifyInput,
    PauseInput,
    ValidationReport,
    VersionList,
)
from shared.services.channel_menus import MenuPublished

router = APIGatewayHttpRouter()
TAGS = ["Bots"]


@router.post("/v1/channels/<channel_id>/menu", tags=TAGS, summary="Publish the bot's persistent menu",
             description="The `menu` of the bot active on the channel becomes the Messenger/Instagram persistent "
                         "menu (with a Get Started button) or the Telegram bot's commands. Publish again after "
                         "activating a version with another menu; an empty menu clears it.")
def publish_menu(channel_id: str) -> MenuPublished:
    who = require(router, "bots:write")
    return deps.channel_menus().publish(who.tenant_id or "", channel_id)


@router.post("/v1/bots", tags=TAGS, status_code=201, summary="Upload a bot definition (a new version)",
             description="YAML or JSON text in `source` (errors name the line) or a JSON object in `definition`. "
                         "The bot id comes from the definition; uploading the same text again creates no version. "
                         "With `activate` (default) the version starts answering its channels at once.")
def upload_bot(body: BotUpload) -> BotVersionView:
    who = require(router, "bots:write")
    return deps.bots().upload(who.tenant_id or "", body, actor=who.principal_id)


@router.post("/v1/bots/validate", tags=TAGS, summary="Check a bot definition without storing it")
def validate_bot(body: BotUpload) -> ValidationReport:
    require(router, "bots:read")
    return deps.bots().validate(body)


@router.get("/v1/bots", tags=TAGS, summary="List bots")
def list_bots() -> BotList:
    who = require(router, "bots:read")
    return deps.bots().list(who.tenant_id or "")


@router.get("/v1/bots/<bot_id>", tags=TAGS, summary="Get a bot")
def get_bot(bot_id: str) -> BotView:
    who = require(router, "bots:read")
    return deps.bots().get(who.tenant_id or "", bot_id)


@router.get("/v1/bots/<bot_id>/versions", tags=TAGS, summary="List a bot's versions, newest first")
def list_versions(bot_id: str) -> VersionList:
    who = require(router, "bots:read")
    return deps.bots().versions(who.tenant_id or "", bot_id)


@router.get("/v1/bots/<bot_id>/versions/<version>", tags=TAGS, summary="Get one version with its source")
def get_version(bot_id: str, version: int) -> BotVersionView:
    who = require(router, "bots:read")
    return deps.bots().version(who.tenant_id or "", bot_id, version)


@router.post("/v1/bots/<bot_id>/versions/<version>/activate", tags=TAGS,
             summary="Make a version the one that answers (roll forward or back)")
def activate_version(bot_id: str, version: int) -> BotView:
    who = require(router, "bots:write")
    return deps.bots().activate(who.tenant_id or "", bot_id, version)


@router.post("/v1/bots/<bot_id>/deactivate", tags=TAGS, summary="Stop the bot answering on its channels")
def deactivate_bot(bot_id: str) -> BotView:
    who = require(router, "bots:write")
    return deps.bots().deactivate(who.tenant_id or "", bot_id)


@router.get("/v1/conversations/<conversation_id>/bot", tags=TAGS, summary="The bot session of a conversation")
def get_session(conversation_id: str) -> BotSessionView:
    who = require(router, "conversations:read")
    return deps.bots().session(who.tenant_id or "", conversation_id)


@router.post("/v1/conversations/<conversation_id>/bot/pause", tags=TAGS,
             summary="Silence the bot in this conversation (an agent takes over)")
def pause_bot(conversation_id: str, body: PauseInput) -> BotSessionView:
    who = require(router, "conversations:write")
    return deps.bots().pause(who.tenant_id or "", conversation_id, body.reason)


@router.post("/v1/conversations/<conversation_id>/bot/resume", tags=TAGS,
             summary="Let the bot answer again in this conversation")
def resume_bot(conversation_id: str) -> BotSessionView:
    who = require(router, "conversations:write")
    return deps.bots().resume(who.tenant_id or "", conversation_id)


@router.post("/v1/links/verify", tags=TAGS, summary="Verify a self-service link token the bot sent")
def verify_link(body: LinkVerifyInput) -> LinkClaimsView:
    who = require(router, "contacts:read")
    return deps.bots().verify_link(who.tenant_id or "", body.token)
