"""Tenants own channels; a channel carries the provider ids and a reference to its secrets."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# The providers a channel can be; every model that names a provider uses this one list.
ChannelKind = Literal["whatsapp", "telegram", "messenger", "instagram", "sms"]


class Channel(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    channel_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    kind: ChannelKind = "whatsapp"
    # The provider's id of the account messages go through: WhatsApp's phone number id, Telegram's bot id, the
    # Facebook Page id (Messenger) or the Instagram professional account id (Instagram).
    phone_number_id: str = Field(min_length=1)
    waba_id: str | None = None  # the provider's business account: WhatsApp's WABA id, Twilio's Account SID
    display_phone_number: str | None = None
    # The public username people reach the channel by: the Telegram bot's, the Instagram account's, the Facebook
    # Page's (optional there: m.me also takes the Page id). Click-to-chat links and QR codes use it.
    handle: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.]+$")
    secret_name: str = Field(min_length=1)
    # SMS: where Twilio posts the status callbacks of what we send (the channel's webhook URL, as onboarding saw it)
    callback_url: str | None = None
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
    SMS (Twilio): the Auth Token in all three (it signs webhooks and, with the Account SID, authenticates sends)."""

    model_config = ConfigDict(frozen=True)

    app_secret: SecretStr
    verify_token: SecretStr
    access_token: SecretStr
