"""Tenants own channels; a channel carries the provider ids and a reference to its secrets."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# The providers a channel can be; every model that names a provider uses this one list.
ChannelKind = Literal["whatsapp", "telegram", "messenger", "instagram", "sms", "webchat", "email"]


class PrechatField(BaseModel):
    """One field of the web chat's optional pre-chat form (what the visitor types is unverified)."""

    model_config = ConfigDict(frozen=True)

    name: Literal["name", "email", "phone"]
    label: str = Field(min_length=1, max_length=40)
    required: bool = False


class WebChatSettings(BaseModel):
    """How the web chat widget looks and whom it admits."""

    model_config = ConfigDict(frozen=True)

    title: str = Field(default="Chatea con nosotros", min_length=1, max_length=60)
    greeting: str | None = Field(default="¡Hola! 👋 ¿En qué podemos ayudarte?", max_length=500)
    color: str = Field(default="#0b6e4f", pattern=r"^#[0-9a-fA-F]{6}$")
    prechat_fields: tuple[PrechatField, ...] = Field(default=(), max_length=3)
    # Pages allowed to open sessions (scheme://host[:port]); empty admits any page.
    allowed_origins: tuple[str, ...] = Field(default=(), max_length=20)
    # Only visitors the site signed in (user_id + user_hash) may chat.
    identity_required: bool = False


class EmailSettings(BaseModel):
    """The email channel's sender identity (the address itself is `phone_number_id`)."""

    model_config = ConfigDict(frozen=True)

    display_name: str | None = Field(default=None, max_length=80)
    signature: str | None = Field(default=None, max_length=1000)


class Channel(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    channel_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    kind: ChannelKind = "whatsapp"
    # The provider's id of the account messages go through: WhatsApp's phone number id, Telegram's bot id, the
    # Facebook Page id (Messenger) or the Instagram professional account id (Instagram), the SMS number, the email
    # channel's address (lower case), the web chat channel's own id.
    phone_number_id: str = Field(min_length=1)
    waba_id: str | None = None  # the provider's business account: WhatsApp's WABA id, Twilio's Account SID
    display_phone_number: str | None = None
    # The public username people reach the channel by: the Telegram bot's, the Instagram account's, the Facebook
    # Page's (optional there: m.me also takes the Page id). Click-to-chat links and QR codes use it.
    handle: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.]+$")
    secret_name: str = Field(min_length=1)
    # SMS: where Twilio posts the status callbacks of what we send (the channel's webhook URL, as onboarding saw it)
    callback_url: str | None = None
    webchat: WebChatSettings | None = None  # kind webchat
    email: EmailSettings | None = None  # kind email
    enabled: bool = True
    # Closing the loop before the bot engine exists: a fixed reply to each new inbound message.
    auto_reply_text: str | None = None

    def webhook_url(self, base_url: str) -> str:
        """Where Meta must post this channel's webhooks (the ingest route of infra/topology.py)."""
        return f"{base_url}/webhooks/{self.kind}/{self.channel_id}"


class ChannelSecrets(BaseModel):
    """WhatsApp: Meta's app secret (webhook HMAC), the verify token (GET handshake), the access token (sends).
    Telegram: the webhook's secret_token as `verify_token` (and `app_secret`), the bot token as `access_token`.
    Messenger and Instagram: as WhatsApp, with the Page access token as `access_token`.
    SMS (Twilio): the Auth Token in all three (it signs webhooks and, with the Account SID, authenticates sends).
    Web chat: `app_secret` is the identity secret the site's server signs visitor ids with (HMAC-SHA256),
    `verify_token` signs our visitor session tokens (never leaves the platform); `access_token` is unused.
    Email: none is used (SES authenticates with the function's role); random values fill them."""

    model_config = ConfigDict(frozen=True)

    app_secret: SecretStr
    verify_token: SecretStr
    access_token: SecretStr
