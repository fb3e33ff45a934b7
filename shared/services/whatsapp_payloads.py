"""Build Graph API `/messages` request bodies from outbound requests (shapes as in Meta's OpenAPI examples)."""

from __future__ import annotations

from typing import Any

from shared.models.envelopes import (
    ButtonsContent,
    ListContent,
    MarkReadContent,
    MediaContent,
    OutboundRequest,
    ReactionContent,
    TemplateContent,
    TextContent,
)


def _header(text: str | None) -> dict[str, Any]:
    return {"header": {"type": "text", "text": text}} if text else {}


def _footer(text: str | None) -> dict[str, Any]:
    return {"footer": {"text": text}} if text else {}


def build_payload(request: OutboundRequest, *, callback_data: str | None = None) -> dict[str, Any]:
    content = request.content
    if isinstance(content, MarkReadContent):
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": content.message_id}
        if content.typing_indicator:
            body["typing_indicator"] = {"type": "text"}
        return body
    payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": request.to}
    if isinstance(content, TextContent):
        payload.update(type="text", text={"body": content.body, "preview_url": content.preview_url})
    elif isinstance(content, MediaContent):
        media: dict[str, Any] = {"id": content.media_id} if content.media_id else {"link": content.link}
        if content.caption and content.type not in ("audio", "sticker"):
            media["caption"] = content.caption
        if content.filename and content.type == "document":
            media["filename"] = content.filename
        payload.update(type=content.type, **{content.type: media})
    elif isinstance(content, TemplateContent):
        template: dict[str, Any] = {"name": content.name, "language": {"code": content.language}}
        if content.components:
            template["components"] = content.components
        payload.update(type="template", template=template)
    elif isinstance(content, ButtonsContent):
        payload.update(type="interactive", interactive={
            "type": "button", **_header(content.header), "body": {"text": content.body}, **_footer(content.footer),
            "action": {"buttons": [{"type": "reply", "reply": {"id": b.id, "title": b.title}}
                                   for b in content.buttons]}})
    elif isinstance(content, ListContent):
        payload.update(type="interactive", interactive={
            "type": "list", **_header(content.header), "body": {"text": content.body}, **_footer(content.footer),
            "action": {"button": content.button, "sections": [
                {**({"title": s.title} if s.title else {}),
                 "rows": [{"id": r.id, "title": r.title, **({"description": r.description} if r.description else {})}
                          for r in s.rows]}
                for s in content.sections]}})
    elif isinstance(content, ReactionContent):
        payload.update(type="reaction", reaction={"message_id": content.message_id, "emoji": content.emoji})
    if request.reply_to and not isinstance(content, ReactionContent):
        payload["context"] = {"message_id": request.reply_to}
    if callback_data:
        payload["biz_opaque_callback_data"] = callback_data
    return payload
