"""The platform API (/platform/v1): onboard a business without touching the database. Operator key only."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from shared.config import get_settings
from shared.errors import Forbidden
from shared.http import problems
from shared.http.context import base_url, idempotency_middleware, principal_of
from shared.models.channel import Channel
from shared.models.tenancy import ApiKey, Plan, Tenant
from shared.observability import logger, metrics, tracer
from shared.services.platform import (
    ChannelConnected,
    ChannelInput,
    EmailChannelInput,
    EmailConnected,
    KeyInput,
    KeyIssued,
    PageChannelInput,
    PlatformService,
    SmsChannelInput,
    SuspendInput,
    TelegramChannelInput,
    TenantInput,
    WebChatChannelInput,
    WebChatConnected,
)
from shared.wiring import platform_service

app = APIGatewayHttpResolver(enable_validation=True)
problems.register(app)
app.use(middlewares=[idempotency_middleware(lambda: get_settings().table_name)])


@lru_cache(maxsize=1)
def get_service() -> PlatformService:
    return platform_service(get_settings())


def _operator() -> None:
    if principal_of(app.current_event.raw_event).kind != "operator":
        raise Forbidden("the platform API takes the operator credential")


class TenantList(BaseModel):
    items: list[Tenant]


class ChannelList(BaseModel):
    items: list[Channel]


class KeyList(BaseModel):
    items: list[ApiKey]


class Usage(BaseModel):
    contacts: int
    max_contacts: int


@app.post("/platform/v1/tenants", tags=["Tenants"], responses={201: {"description": "Created"}})
def create_tenant(body: TenantInput) -> tuple[Tenant, int]:
    _operator()
    return get_service().create_tenant(body), 201


@app.get("/platform/v1/tenants", tags=["Tenants"])
def list_tenants() -> TenantList:
    _operator()
    return TenantList(items=get_service().list_tenants())


@app.get("/platform/v1/tenants/<tenant_id>", tags=["Tenants"])
def get_tenant(tenant_id: str) -> Tenant:
    _operator()
    return get_service().get_tenant(tenant_id)


@app.get("/platform/v1/tenants/<tenant_id>/usage", tags=["Tenants"])
def usage(tenant_id: str) -> Usage:
    _operator()
    return Usage(**get_service().usage(tenant_id))


@app.post("/platform/v1/tenants/<tenant_id>/suspend", tags=["Tenants"])
def suspend(tenant_id: str, body: SuspendInput) -> Tenant:
    _operator()
    return get_service().set_status(tenant_id, "suspended", body.reason)


@app.post("/platform/v1/tenants/<tenant_id>/activate", tags=["Tenants"])
def activate(tenant_id: str) -> Tenant:
    _operator()
    return get_service().set_status(tenant_id, "active")


@app.put("/platform/v1/tenants/<tenant_id>/plan", tags=["Tenants"])
def set_plan(tenant_id: str, body: Plan) -> Tenant:
    _operator()
    return get_service().set_plan(tenant_id, body)


@app.post("/platform/v1/tenants/<tenant_id>/channels", tags=["Channels"], responses={201: {"description": "Connected"}})
def connect_channel(tenant_id: str, body: ChannelInput) -> tuple[ChannelConnected, int]:
    _operator()
    return get_service().connect_channel(tenant_id, body, base_url=base_url(app.current_event.raw_event)), 201


@app.post("/platform/v1/tenants/<tenant_id>/channels/telegram", tags=["Channels"],
          responses={201: {"description": "Connected; the webhook is registered at Telegram with a secret token"}})
def connect_telegram(tenant_id: str, body: TelegramChannelInput) -> tuple[ChannelConnected, int]:
    _operator()
    return get_service().connect_telegram(tenant_id, body, base_url=base_url(app.current_event.raw_event)), 201


@app.post("/platform/v1/tenants/<tenant_id>/channels/messenger", tags=["Channels"],
          responses={201: {"description": "Connected; the app is subscribed to the Page's messaging webhooks"}})
def connect_messenger(tenant_id: str, body: PageChannelInput) -> tuple[ChannelConnected, int]:
    _operator()
    return get_service().connect_page(tenant_id, "messenger", body,
                                      base_url=base_url(app.current_event.raw_event)), 201


@app.post("/platform/v1/tenants/<tenant_id>/channels/instagram", tags=["Channels"],
          responses={201: {"description": "Connected; the linked Page is subscribed to the messaging webhooks"}})
def connect_instagram(tenant_id: str, body: PageChannelInput) -> tuple[ChannelConnected, int]:
    _operator()
    return get_service().connect_page(tenant_id, "instagram", body,
                                      base_url=base_url(app.current_event.raw_event)), 201


@app.post("/platform/v1/tenants/<tenant_id>/channels/sms", tags=["Channels"],
          responses={201: {"description": "Connected; set the webhook URL as the number's incoming-message webhook"}})
def connect_sms(tenant_id: str, body: SmsChannelInput) -> tuple[ChannelConnected, int]:
    _operator()
    return get_service().connect_sms(tenant_id, body, base_url=base_url(app.current_event.raw_event)), 201


@app.post("/platform/v1/tenants/<tenant_id>/channels/webchat", tags=["Channels"],
          responses={201: {"description": "Connected; paste embed_html into the site's pages"}})
def connect_webchat(tenant_id: str, body: WebChatChannelInput) -> tuple[WebChatConnected, int]:
    _operator()
    return get_service().connect_webchat(tenant_id, body, base_url=base_url(app.current_event.raw_event)), 201


@app.post("/platform/v1/tenants/<tenant_id>/channels/email", tags=["Channels"],
          responses={201: {"description": "Connected; add the DNS records, then mail to the address arrives"}})
def connect_email(tenant_id: str, body: EmailChannelInput) -> tuple[EmailConnected, int]:
    _operator()
    return get_service().connect_email(tenant_id, body), 201


@app.get("/platform/v1/tenants/<tenant_id>/channels", tags=["Channels"])
def list_channels(tenant_id: str) -> ChannelList:
    _operator()
    return ChannelList(items=get_service().list_channels(tenant_id))


@app.post("/platform/v1/tenants/<tenant_id>/api-keys", tags=["API keys"], responses={201: {"description": "Issued"}})
def issue_key(tenant_id: str, body: KeyInput) -> tuple[KeyIssued, int]:
    _operator()
    return get_service().issue_key(tenant_id, body), 201


@app.get("/platform/v1/tenants/<tenant_id>/api-keys", tags=["API keys"])
def list_keys(tenant_id: str) -> KeyList:
    _operator()
    return KeyList(items=get_service().list_keys(tenant_id))


@app.delete("/platform/v1/tenants/<tenant_id>/api-keys/<key_id>", tags=["API keys"])
def revoke_key(tenant_id: str, key_id: str) -> ApiKey:
    _operator()
    return get_service().revoke_key(tenant_id, key_id)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
