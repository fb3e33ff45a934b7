"""Onboarding without touching the database: tenants, plans, channels (secrets to Secrets Manager), API keys."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from shared.errors import Conflict, InvalidInput, NotFound
from shared.models.channel import Channel, EmailSettings, WebChatSettings
from shared.models.tenancy import SCOPES, TENANT_ID, ApiKey, Plan, Scope, Tenant
from shared.ports import Clock, ProviderSendError
from shared.services.auth import key_hash, new_api_key
from shared.services.telegram_parser import SECRET_TOKEN_CHARS, valid_secret_token

CHANNEL_ID = r"^[A-Za-z0-9_-]{1,64}$"


class TenantInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=TENANT_ID, description="Lowercase letters, digits and dashes")
    name: str = Field(min_length=1, max_length=200)
    plan: Plan = Field(default_factory=Plan)


class SuspendInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class ChannelInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel_id: str | None = Field(default=None, pattern=CHANNEL_ID, description="Generated when absent")
    kind: Literal["whatsapp"] = "whatsapp"
    phone_number_id: str = Field(pattern=r"^\d{5,20}$")
    waba_id: str | None = Field(default=None, pattern=r"^\d{5,20}$")
    display_phone_number: str | None = Field(default=None, max_length=32)
    app_secret: SecretStr = Field(min_length=8, max_length=256)
    access_token: SecretStr = Field(min_length=8, max_length=4096)
    verify_token: SecretStr | None = Field(default=None, min_length=8, max_length=256,
                                           description="Generated when absent; shown once in the answer")
    auto_reply_text: str | None = Field(default=None, max_length=4096)


class TelegramChannelInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel_id: str | None = Field(default=None, pattern=CHANNEL_ID, description="Generated when absent")
    bot_token: SecretStr = Field(description="The token @BotFather issued: <bot id>:<secret>")
    secret_token: SecretStr | None = Field(
        default=None, description="The webhook's secret_token (1-256 of A-Z a-z 0-9 _ -); generated when absent")
    register_webhook: bool = Field(default=True, description="Call setWebhook with our URL and the secret token")
    auto_reply_text: str | None = Field(default=None, max_length=4096)


class PageChannelInput(BaseModel):
    """A Facebook Page (Messenger) or an Instagram professional account (Instagram) as a channel."""

    model_config = ConfigDict(extra="forbid")

    channel_id: str | None = Field(default=None, pattern=CHANNEL_ID, description="Generated when absent")
    account_id: str = Field(pattern=r"^\d{5,20}$", description="Messenger: the Page id. Instagram: the professional "
                            "account id (the `entry.id` of its webhooks)")
    page_id: str | None = Field(default=None, pattern=r"^\d{5,20}$", description="Instagram: the Facebook Page linked "
                                "to the account (its token sends); Messenger: the same as account_id")
    page_access_token: SecretStr = Field(min_length=8, max_length=4096)
    app_secret: SecretStr = Field(min_length=8, max_length=256, description="Signs the webhooks (X-Hub-Signature-256)")
    verify_token: SecretStr | None = Field(default=None, min_length=8, max_length=256,
                                           description="Generated when absent; shown once in the answer")
    subscribe: bool = Field(default=True, description="Subscribe the app to the Page's messaging webhook fields")
    username: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.]+$",
                                 description="The Page's or Instagram account's username (m.me / ig.me links)")
    auto_reply_text: str | None = Field(default=None, max_length=4096)


class SmsChannelInput(BaseModel):
    """A Twilio phone number (SMS/MMS) as a channel."""

    model_config = ConfigDict(extra="forbid")

    channel_id: str | None = Field(default=None, pattern=CHANNEL_ID, description="Generated when absent")
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$", description="The Twilio Account SID")
    auth_token: SecretStr = Field(min_length=16, max_length=128, description="Signs webhooks and authenticates sends")
    number: str = Field(pattern=r"^\+[1-9]\d{6,14}$", description="The Twilio number in E.164 (+15017122661)")
    auto_reply_text: str | None = Field(default=None, max_length=4096)


class SmsAccount(Protocol):
    def check_account(self, account_sid: str, auth_token: str) -> dict[str, Any]: ...


# The messaging webhook fields a Page is subscribed to (Instagram's come through the same Page subscription).
PAGE_FIELDS = ["messages", "messaging_postbacks", "message_deliveries", "message_reads", "message_reactions", "feed",
               "messaging_referrals", "message_echoes"]


class WebChatChannelInput(BaseModel):
    """A web chat widget for the tenant's sites."""

    model_config = ConfigDict(extra="forbid")

    channel_id: str | None = Field(default=None, pattern=CHANNEL_ID, description="Generated when absent")
    settings: WebChatSettings = Field(default_factory=WebChatSettings)
    auto_reply_text: str | None = Field(default=None, max_length=4096)


class WebChatConnected(BaseModel):
    channel: Channel
    widget_url: str
    embed_html: str = Field(description="Paste into every page (WordPress: a footer/header snippet; Shopify: "
                            "theme.liquid before </body>; Wix and Squarespace: custom code, all pages)")
    identity_secret: str = Field(description="Shown once. Your server signs signed-in customers' ids with it: "
                                 "user_hash = hex(HMAC-SHA256(identity_secret, user_id))")


class EmailChannelInput(BaseModel):
    """An email address (on a domain the tenant controls) as a channel, received and sent through SES."""

    model_config = ConfigDict(extra="forbid")

    channel_id: str | None = Field(default=None, pattern=CHANNEL_ID, description="Generated when absent")
    address: str = Field(max_length=254, pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
    settings: EmailSettings = Field(default_factory=EmailSettings)
    auto_reply_text: str | None = Field(default=None, max_length=4096)


class DnsRecord(BaseModel):
    type: str
    name: str
    value: str


class EmailConnected(BaseModel):
    channel: Channel
    dns_records: list[DnsRecord] = Field(description="Add these to the domain's DNS: DKIM (SES verifies the "
                                         "domain with them) and MX (mail for the domain reaches SES)")
    domain_verified: bool


class EmailIdentities(Protocol):
    def ensure_domain(self, domain: str) -> tuple[list[str], bool]:
        """Create the SES identity of a domain when missing; its DKIM tokens and whether it is verified."""


class ChannelConnected(BaseModel):
    channel: Channel
    webhook_url: str
    verify_token: str


class KeyInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(default_factory=lambda: list(SCOPES), min_length=1)  # type: ignore[arg-type]


class KeyIssued(BaseModel):
    key: str = Field(description="Shown once: store it now, only its hash is kept")
    api_key: ApiKey


class TenantStore(Protocol):
    def create_tenant(self, tenant: Tenant) -> bool: ...

    def get_tenant(self, tenant_id: str) -> Tenant | None: ...

    def update_tenant(self, tenant_id: str, *, status: str | None = None, reason: str | None = None,
                      plan: Plan | None = None) -> Tenant | None: ...

    def list_tenants(self) -> list[Tenant]: ...

    def contact_count(self, tenant_id: str) -> int: ...

    def put_key(self, hashed: str, key: ApiKey) -> None: ...

    def list_keys(self, tenant_id: str) -> list[ApiKey]: ...

    def revoke_key(self, tenant_id: str, key_id: str, at: datetime) -> ApiKey | None: ...


class ChannelStore(Protocol):
    def get(self, channel_id: str) -> Channel | None: ...

    def create(self, channel: Channel) -> bool: ...

    def list_for_tenant(self, tenant_id: str) -> list[Channel]: ...

    def channel_for_account(self, kind: str, account_id: str) -> Channel | None: ...


class BotApi(Protocol):
    def call(self, token: str, method: str, params: dict[str, Any]) -> Any:
        """One Telegram Bot API method; raises ProviderSendError."""


class PageSetup(Protocol):
    def page_identity(self, access_token: str) -> dict[str, Any]:
        """GET /me with a Page token: {"id", "name"}; raises ProviderSendError."""

    def subscribe_page(self, page_id: str, access_token: str, fields: list[str]) -> None: ...


class SecretWriter(Protocol):
    def put_secret(self, name: str, value: dict[str, str], *, tags: dict[str, str]) -> None: ...


class PlatformService:
    def __init__(self, *, tenants: TenantStore, channels: ChannelStore, secrets_: SecretWriter, clock: Clock,
                 secret_prefix: str, telegram: BotApi, pages: PageSetup, twilio: SmsAccount,
                 email_identities: EmailIdentities | None = None, ses_region: str = "us-east-1") -> None:
        self._email_identities = email_identities
        self._ses_region = ses_region
        self._twilio = twilio
        self._telegram = telegram
        self._pages = pages
        self._tenants = tenants
        self._channels = channels
        self._secrets = secrets_
        self._clock = clock
        self._prefix = secret_prefix.rstrip("/")

    # -- tenants -------------------------------------------------------------------------------------
    def create_tenant(self, data: TenantInput) -> Tenant:
        tenant = Tenant(tenant_id=data.tenant_id, name=data.name, plan=data.plan, created_at=self._clock.now())
        if not self._tenants.create_tenant(tenant):
            raise Conflict(f"tenant {data.tenant_id} already exists")
        return tenant

    def get_tenant(self, tenant_id: str) -> Tenant:
        tenant = self._tenants.get_tenant(tenant_id)
        if tenant is None:
            raise NotFound(f"no tenant {tenant_id}")
        return tenant

    def list_tenants(self) -> list[Tenant]:
        return self._tenants.list_tenants()

    def set_status(self, tenant_id: str, status: str, reason: str | None = None) -> Tenant:
        tenant = self._tenants.update_tenant(tenant_id, status=status, reason=reason)
        if tenant is None:
            raise NotFound(f"no tenant {tenant_id}")
        return tenant

    def set_plan(self, tenant_id: str, plan: Plan) -> Tenant:
        tenant = self._tenants.update_tenant(tenant_id, plan=plan)
        if tenant is None:
            raise NotFound(f"no tenant {tenant_id}")
        return tenant

    def usage(self, tenant_id: str) -> dict[str, int]:
        tenant = self.get_tenant(tenant_id)
        return {"contacts": self._tenants.contact_count(tenant_id), "max_contacts": tenant.plan.max_contacts}

    # -- channels ------------------------------------------------------------------------------------
    def connect_channel(self, tenant_id: str, data: ChannelInput, *, base_url: str) -> ChannelConnected:
        self.get_tenant(tenant_id)
        channel_id = self._free_channel_id(tenant_id, data.channel_id, f"wa-{data.phone_number_id[-6:]}")
        verify = data.verify_token.get_secret_value() if data.verify_token else secrets.token_urlsafe(24)
        channel = Channel(tenant_id=tenant_id, channel_id=channel_id, kind=data.kind,
                          phone_number_id=data.phone_number_id, waba_id=data.waba_id,
                          display_phone_number=data.display_phone_number,
                          secret_name=f"{self._prefix}/{tenant_id}/{channel_id}", auto_reply_text=data.auto_reply_text)
        self._store_channel(channel, {"app_secret": data.app_secret.get_secret_value(),
                                      "access_token": data.access_token.get_secret_value(), "verify_token": verify})
        return ChannelConnected(channel=channel, webhook_url=channel.webhook_url(base_url),
                                verify_token=verify)

    def connect_telegram(self, tenant_id: str, data: TelegramChannelInput, *, base_url: str) -> ChannelConnected:
        """A Telegram bot as a channel: the token is checked with getMe (so a wrong one is refused before
        anything is stored), the webhook registered with our URL and a secret token (unless told not to)."""
        self.get_tenant(tenant_id)
        token = data.bot_token.get_secret_value()
        bot_id, _, rest = token.partition(":")
        if not (bot_id.isdigit() and 5 <= len(bot_id) <= 20 and len(rest) >= 20
                and set(rest) <= SECRET_TOKEN_CHARS):
            raise InvalidInput("bot_token is not a Telegram bot token (<bot id>:<secret>)")
        secret_token = data.secret_token.get_secret_value() if data.secret_token else secrets.token_urlsafe(32)
        if not valid_secret_token(secret_token):
            raise InvalidInput("secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        channel_id = self._free_channel_id(tenant_id, data.channel_id, f"tg-{bot_id[-6:]}")
        channel = Channel(tenant_id=tenant_id, channel_id=channel_id, kind="telegram", phone_number_id=bot_id,
                          secret_name=f"{self._prefix}/{tenant_id}/{channel_id}",
                          auto_reply_text=data.auto_reply_text)
        webhook_url = channel.webhook_url(base_url)
        try:
            me = self._telegram.call(token, "getMe", {})
            username = me.get("username") if isinstance(me, dict) else None
            if isinstance(username, str) and username:
                channel = channel.model_copy(update={"handle": username})  # t.me links
            if data.register_webhook:
                self._telegram.call(token, "setWebhook", {
                    "url": webhook_url, "secret_token": secret_token,
                    "allowed_updates": ["message", "callback_query", "message_reaction"]})
        except ProviderSendError as exc:
            raise InvalidInput(f"Telegram refused the bot token or webhook: {exc.title or exc}") from exc
        self._store_channel(channel, {"app_secret": secret_token, "verify_token": secret_token,
                                      "access_token": token})
        return ChannelConnected(channel=channel, webhook_url=webhook_url, verify_token=secret_token)

    def connect_page(self, tenant_id: str, kind: Literal["messenger", "instagram"], data: PageChannelInput, *,
                     base_url: str) -> ChannelConnected:
        """A Messenger Page or Instagram account: the token must be the Page's (checked with GET /me before
        anything is stored), the app is subscribed to the Page's messaging fields (unless told not to)."""
        self.get_tenant(tenant_id)
        page_id = data.page_id or data.account_id
        if kind == "messenger" and page_id != data.account_id:
            raise InvalidInput("for Messenger, page_id is the account_id (the Page)")
        token = data.page_access_token.get_secret_value()
        tag = "fb" if kind == "messenger" else "ig"
        channel_id = self._free_channel_id(tenant_id, data.channel_id, f"{tag}-{data.account_id[-6:]}")
        verify = data.verify_token.get_secret_value() if data.verify_token else secrets.token_urlsafe(24)
        try:
            owner = self._pages.page_identity(token)
            if str(owner.get("id")) != page_id:
                raise InvalidInput(f"the access token belongs to {owner.get('id')!r}, not to Page {page_id}: use "
                                   "the Page access token")
            if data.subscribe:
                self._pages.subscribe_page(page_id, token, PAGE_FIELDS)
        except ProviderSendError as exc:
            raise InvalidInput(f"Meta refused the Page access token: {exc.title or exc}") from exc
        channel = Channel(tenant_id=tenant_id, channel_id=channel_id, kind=kind, phone_number_id=data.account_id,
                          display_phone_number=str(owner.get("name") or "") or None, handle=data.username,
                          secret_name=f"{self._prefix}/{tenant_id}/{channel_id}", auto_reply_text=data.auto_reply_text)
        self._store_channel(channel, {"app_secret": data.app_secret.get_secret_value(), "access_token": token,
                                      "verify_token": verify})
        return ChannelConnected(channel=channel, webhook_url=channel.webhook_url(base_url), verify_token=verify)

    def connect_sms(self, tenant_id: str, data: SmsChannelInput, *, base_url: str) -> ChannelConnected:
        """A Twilio number: the Account SID and Auth Token are checked with Twilio (422 with its reason, nothing
        stored, when it refuses them). Paste the webhook URL as the number's "A message comes in" webhook; status
        callbacks of what we send go to the same URL."""
        self.get_tenant(tenant_id)
        channel_id = self._free_channel_id(tenant_id, data.channel_id, f"sms-{data.number[-6:]}")
        token = data.auth_token.get_secret_value()
        try:
            account = self._twilio.check_account(data.account_sid, token)
        except ProviderSendError as exc:
            raise InvalidInput(f"Twilio refused the Account SID or Auth Token: {exc.title or exc}") from exc
        if str(account.get("status") or "active") != "active":
            raise InvalidInput(f"the Twilio account is {account.get('status')}")
        channel = Channel(tenant_id=tenant_id, channel_id=channel_id, kind="sms", phone_number_id=data.number,
                          waba_id=data.account_sid, display_phone_number=data.number,
                          secret_name=f"{self._prefix}/{tenant_id}/{channel_id}", auto_reply_text=data.auto_reply_text)
        channel = channel.model_copy(update={"callback_url": channel.webhook_url(base_url)})
        self._store_channel(channel, {"app_secret": token, "access_token": token, "verify_token": token})
        return ChannelConnected(channel=channel, webhook_url=channel.webhook_url(base_url), verify_token="")

    def connect_webchat(self, tenant_id: str, data: WebChatChannelInput, *, base_url: str) -> WebChatConnected:
        """A web chat channel: its widget URL, the one tag to paste, and the identity secret (shown once)."""
        self.get_tenant(tenant_id)
        channel_id = self._free_channel_id(tenant_id, data.channel_id, "webchat")
        identity_secret = secrets.token_urlsafe(32)
        channel = Channel(tenant_id=tenant_id, channel_id=channel_id, kind="webchat", phone_number_id=channel_id,
                          secret_name=f"{self._prefix}/{tenant_id}/{channel_id}", webchat=data.settings,
                          auto_reply_text=data.auto_reply_text)
        self._store_channel(channel, {"app_secret": identity_secret, "verify_token": secrets.token_urlsafe(32),
                                      "access_token": secrets.token_urlsafe(16)})
        widget_url = f"{base_url}/webchat/{channel_id}/widget.js"
        return WebChatConnected(channel=channel, widget_url=widget_url, identity_secret=identity_secret,
                                embed_html=f'<script src="{widget_url}" async></script>')

    def connect_email(self, tenant_id: str, data: EmailChannelInput) -> EmailConnected:
        """An address as a channel: one channel per address platform-wide (409 when another has it); the
        domain's SES identity is created when missing, and the DNS records to add are returned."""
        self.get_tenant(tenant_id)
        address = data.address.strip().lower()
        if self._channels.channel_for_account("email", address) is not None:
            raise Conflict(f"{address} is already connected")
        local, _, domain = address.partition("@")
        channel_id = self._free_channel_id(tenant_id, data.channel_id, f"email-{local[:12]}")
        tokens, verified = self._email_identities.ensure_domain(domain) if self._email_identities else ([], False)
        channel = Channel(tenant_id=tenant_id, channel_id=channel_id, kind="email", phone_number_id=address,
                          display_phone_number=address, secret_name=f"{self._prefix}/{tenant_id}/{channel_id}",
                          email=data.settings, auto_reply_text=data.auto_reply_text)
        unused = secrets.token_urlsafe(16)
        self._store_channel(channel, {"app_secret": unused, "verify_token": unused, "access_token": unused})
        records = [DnsRecord(type="CNAME", name=f"{t}._domainkey.{domain}", value=f"{t}.dkim.amazonses.com")
                   for t in tokens]
        records.append(DnsRecord(type="MX", name=domain, value=f"10 inbound-smtp.{self._ses_region}.amazonaws.com"))
        return EmailConnected(channel=channel, dns_records=records, domain_verified=verified)

    def _free_channel_id(self, tenant_id: str, given: str | None, tag: str) -> str:
        """The given id or a generated one; refused when too long or taken, before any secret is touched (a 409
        must not overwrite a live channel's credentials)."""
        channel_id = given or f"{tenant_id}-{tag}-{secrets.token_hex(3)}"
        if len(channel_id) > 64:
            raise InvalidInput("channel_id is too long")
        if self._channels.get(channel_id) is not None:
            raise Conflict(f"channel {channel_id} already exists")
        return channel_id

    def _store_channel(self, channel: Channel, secret: dict[str, str]) -> None:
        """The secret first, so a channel item never points at a secret that does not exist."""
        self._secrets.put_secret(channel.secret_name, secret,
                                 tags={"tenant_id": channel.tenant_id, "channel_id": channel.channel_id})
        if not self._channels.create(channel):
            raise Conflict(f"channel {channel.channel_id} already exists")

    def list_channels(self, tenant_id: str) -> list[Channel]:
        self.get_tenant(tenant_id)
        return self._channels.list_for_tenant(tenant_id)

    # -- API keys ------------------------------------------------------------------------------------
    def issue_key(self, tenant_id: str, data: KeyInput, *, secret: str | None = None) -> KeyIssued:
        self.get_tenant(tenant_id)
        raw = secret or new_api_key()
        key = ApiKey(key_id=f"key_{secrets.token_hex(8)}", tenant_id=tenant_id, name=data.name,
                     scopes=tuple(dict.fromkeys(data.scopes)), hint=raw[:7] + "…", created_at=self._clock.now())
        self._tenants.put_key(key_hash(raw), key)
        return KeyIssued(key=raw, api_key=key)

    def list_keys(self, tenant_id: str) -> list[ApiKey]:
        self.get_tenant(tenant_id)
        return sorted(self._tenants.list_keys(tenant_id), key=lambda k: k.created_at)

    def revoke_key(self, tenant_id: str, key_id: str) -> ApiKey:
        key = self._tenants.revoke_key(tenant_id, key_id, self._clock.now())
        if key is None:
            raise NotFound(f"no API key {key_id}")
        return key
