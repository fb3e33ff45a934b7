"""Settings: one frozen pydantic model, read once from the environment."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    table_name: str = "omnichannel-local"
    bus_name: str = "omnichannel-local"
    media_bucket: str = "omnichannel-media-local"
    inbound_queue_url: str = ""
    outbound_queue_url: str = ""
    # Secrets Manager name prefix for channel secrets: <prefix>/<tenant_id>/<channel_id>
    secret_prefix: str = "omnichannel/channels"
    graph_base_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v23.0"
    graph_timeout_s: float = 10.0
    telegram_base_url: str = "https://api.telegram.org"  # the Bot API (the local stack points it at its emulator)
    twilio_base_url: str = "https://api.twilio.com"  # Twilio's REST API (the local stack: its emulator)
    # The public base URL providers call when it is not the API Gateway host (a custom domain): Twilio signs the
    # exact URL it requested. Empty: the request's own host.
    public_base_url: str = ""
    # Webhooks larger than this are refused with 413 (Meta documents up to 3 MB; see README).
    max_webhook_bytes: int = 1_048_576
    channel_cache_ttl_s: int = 300
    service_window_s: int = 24 * 3600
    outbound_max_attempts: int = 8
    retry_base_delay_s: int = 2
    retry_max_delay_s: int = 300
    media_max_bytes: int = 100 * 1024 * 1024
    media_allowed_mime_prefixes: tuple[str, ...] = ("image/", "audio/", "video/", "application/", "text/")
    # Plain-http hosts media may also be downloaded from: only the local stack's emulators (127.0.0.1). Empty in AWS.
    media_insecure_hosts: tuple[str, ...] = ()
    message_retention_days: int = 0  # 0 keeps messages forever; >0 sets a TTL on stored messages
    jobs_queue_url: str = ""
    # The platform operator key(s) (Secrets Manager; one key or a JSON list). Locally: local-platform-key.
    operator_secret_name: str = "omnichannel/platform/operator-keys"
    # Cognito user pool for agents and supervisors (JWT). Empty: JWTs are not accepted (API keys only).
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    cognito_issuer: str = ""  # https://cognito-idp.<region>.amazonaws.com/<pool id>; derived when empty
    api_page_max: int = 100
    # --- settings appended by feature modules below ---
    # Outbound webhooks. WEBHOOKS_ALLOW_PRIVATE_HOSTS: comma list of host:port that may use http and private
    # addresses (local tests only; never set in AWS). A str, not a tuple: from_env splits only tuple[str, ...].
    webhooks_allow_private_hosts: str = ""
    webhooks_timeout_s: float = 5.0
    webhooks_max_attempts: int = 8
    webhooks_retry_base_delay_s: int = 10
    webhooks_retry_max_delay_s: int = 900
    webhooks_max_subscriptions: int = 20
    webhooks_delivery_retention_days: int = 30
    # Files library: bytes a tenant may keep in it (uploads in progress count from the moment they are created).
    files_quota_bytes: int = 2 * 1024**3

    # Bots. BOT_COALESCE_CAP_S bounds every bot's burst window (0 answers each message at once).
    bot_turn_queue_url: str = ""
    routing_queue_url: str = ""  # the router's own queue (contact center)
    realtime_queue_url: str = ""
    # Broadcasts: the work queue, send threads per worker, how long a claimed recipient may stay 'sending'
    # before it counts as unconfirmed (longer than a worker's lifetime), and the default throughput.
    broadcasts_queue_url: str = ""
    broadcast_concurrency: int = 16
    broadcast_claim_lease_s: int = 960
    broadcast_default_mps: int = 80
    # The WebSocket API's management endpoint (https://<api>.execute-api.<region>.amazonaws.com/<stage>); pushes
    # to agents' and supervisors' connections go there. Empty: nothing is pushed.
    websocket_management_url: str = ""
    # The WebSocket API's public URL (wss://<api>.execute-api.<region>.amazonaws.com/<stage>): web chat widgets
    # connect there. Empty: widgets poll the history instead.
    websocket_public_url: str = ""
    # Email channels: SES's region (its Message-ID domain) and an optional configuration set for sending events.
    ses_region: str = "us-east-1"
    ses_configuration_set: str = ""
    bot_coalesce_cap_s: float = 10.0
    bot_secret_prefix: str = "omnichannel/bots"  # integration secrets: <prefix>/<tenant_id>/<name>
    integrations_allow_private_hosts: str = ""  # like WEBHOOKS_ALLOW_PRIVATE_HOSTS: local tests only
    bot_email_from: str = "bots@omnichannel.example"
    bot_link_secret_name: str = "omnichannel/platform/link-key"
    bot_link_base_url: str = "https://links.omnichannel.example/l"
    llm_provider: str = "bedrock"  # bedrock | openai (any OpenAI-compatible endpoint)
    llm_model_lite: str = "amazon.nova-lite-v1:0"
    llm_model_pro: str = "amazon.nova-pro-v1:0"
    llm_vision_model: str = "amazon.nova-lite-v1:0"
    openai_base_url: str = ""
    openai_secret_name: str = "omnichannel/platform/openai-key"
    # Workflows: their queue (start/resume/continue messages and trigger events), and the EventBridge Scheduler
    # group and role its one-time schedules (waits, question timeouts) put messages on that queue with.
    workflows_queue_url: str = ""
    workflows_queue_arn: str = ""
    workflow_scheduler_group: str = "omnichannel-workflows"
    workflow_scheduler_role_arn: str = ""
    # Usage: a session nobody ended ends after this long without a customer message (the next one starts anew).
    usage_session_idle_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    # Sentiment of customer messages where workflows ask for it: the offline lexicon (free, Spanish/English) or
    # Amazon Comprehend (billed per 100 characters).
    sentiment_provider: Literal["lexicon", "comprehend"] = "lexicon"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, field in cls.model_fields.items():
            raw = env.get(name.upper())
            if raw is None:
                continue
            if field.annotation == tuple[str, ...]:
                values[name] = tuple(part.strip() for part in raw.split(",") if part.strip())
            else:
                values[name] = raw
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
