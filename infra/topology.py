"""The deployable topology as data: functions, routes, queues, event rules, table and bucket.

Both the CDK app (infra/constructs/*) and the local stack (infra/local/*) are built from this one
manifest, and tests/infra/test_local_parity.py proves the synthesized template carries the same
routes, queues and subscriptions that the local stack runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.topology_names import (
    ANALYTICS_TICK,
    BROADCAST_TICK,
    PUSH_EVENT_TYPES,
    REPORT_EVENT_TYPES,
    ROUTING_EVENT_TYPES,
    ROUTING_TICK,
    USAGE_EVENT_TYPES,
    WEBHOOK_EVENT_TYPES,
    WORKFLOW_EVENT_TYPES,
    WORKFLOW_TICK,
)
from shared.topology_names import EVENT_SOURCE as EVENT_SOURCE  # one name shared with the runtime publisher


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # folder under functions/
    description: str
    memory_mb: int = 256
    timeout_s: int = 30

    @property
    def handler(self) -> str:
        return f"functions.{self.name}.handler.lambda_handler"


@dataclass(frozen=True)
class RouteSpec:
    method: str  # GET, POST, ... or ANY
    path: str  # API Gateway v2 route path, with {params} and a greedy {proxy+}
    function: str
    # none: public; tenant: the Lambda authorizer admits a tenant API key or an agent's JWT;
    # operator: the authorizer admits only the platform operator key.
    auth: str = "none"


@dataclass(frozen=True)
class QueueSpec:
    name: str  # logical name; the env var <NAME>_QUEUE_URL carries its URL
    fifo: bool
    consumer: str  # function name
    batch_size: int = 10
    max_receive_count: int = 5
    visibility_timeout_s: int = 180  # >= 6x the consumer's timeout (AWS guidance)
    # batch window is only allowed on standard queues
    max_batching_window_s: int = 0
    # at most this many concurrent consumers (event source maximum concurrency; locally, that many pollers)
    max_concurrency: int | None = None

    @property
    def env_var(self) -> str:
        return f"{self.name.upper().replace('-', '_')}_QUEUE_URL"


@dataclass(frozen=True)
class RuleSpec:
    name: str
    detail_types: tuple[str, ...]
    target_queue: str
    detail_filter: dict[str, object] = field(default_factory=dict)

    def pattern(self) -> dict[str, object]:
        pattern: dict[str, object] = {"source": [EVENT_SOURCE], "detail-type": list(self.detail_types)}
        if self.detail_filter:
            pattern["detail"] = self.detail_filter
        return pattern


@dataclass(frozen=True)
class ScheduleSpec:
    """A fixed-rate EventBridge schedule that puts one message on a queue (locally, a timer thread does)."""

    name: str
    rate_minutes: int
    target_queue: str
    detail_type: str

    def message(self) -> dict[str, object]:
        return {"detail-type": self.detail_type, "source": EVENT_SOURCE, "detail": {}}


@dataclass(frozen=True)
class WebSocketRouteSpec:
    route_key: str  # $connect, $disconnect, $default
    function: str
    authorized: bool = False  # only $connect carries an authorizer in API Gateway WebSocket APIs


@dataclass(frozen=True)
class GsiSpec:
    name: str
    pk: str
    sk: str


@dataclass(frozen=True)
class TableSpec:
    pk: str = "pk"
    sk: str = "sk"
    ttl_attribute: str = "expires_at"
    gsis: tuple[GsiSpec, ...] = ()


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("whatsapp_webhook", "Verifies and enqueues WhatsApp Cloud API webhooks", memory_mb=256, timeout_s=10),
    FunctionSpec("telegram_webhook", "Checks the secret token of Telegram updates and enqueues them", memory_mb=256,
                 timeout_s=10),
    FunctionSpec("page_webhook", "Verifies and enqueues Messenger and Instagram webhooks", memory_mb=256, timeout_s=10),
    FunctionSpec("sms_webhook", "Verifies Twilio's signature on SMS webhooks and status callbacks, enqueues them",
                 memory_mb=256, timeout_s=10),
    FunctionSpec("inbound_processor", "Normalizes inbound messages and statuses, stores them once", 512, 30),
    FunctionSpec("bot_turn", "Runs bot turns: flows, keywords, intents, generative AI; coalesces bursts", 1024, 60),
    FunctionSpec("outbound_sender", "Sends messages through the Graph API behind the 24h-window guard", 512, 30),
    FunctionSpec("media_fetcher", "Copies inbound media from the Graph API into S3", 1024, 60),
    FunctionSpec("authorizer", "Lambda authorizer: tenant API keys, agents' JWTs, the platform operator key", 256, 5),
    FunctionSpec("api", "The developer REST API (/v1): contacts, conversations, messages, CRM", 1024, 29),
    FunctionSpec("platform_api", "The platform API (/platform/v1): tenants, channels, API keys, plans", 512, 29),
    FunctionSpec("jobs_worker", "Background jobs: contact import/export and erasure", 1024, 300),
    FunctionSpec("webhook_dispatcher", "Delivers signed outbound webhooks to integrators, with retries", 256, 30),
    FunctionSpec("cognito_pre_token", "Cognito pre-token trigger: puts tenant and role claims in agents' tokens",
                 256, 5),
    FunctionSpec("router", "Contact center routing: campaigns by skills and hours, atomic capacity-aware assignment, "
                 "the FIFO waiting queue", 512, 30),
    FunctionSpec("realtime_push", "Pushes conversation, queue and agent events to agents' and supervisors' "
                 "WebSocket connections", 256, 30),
    FunctionSpec("ws_connect", "WebSocket API: authenticates $connect, records and forgets connections", 256, 10),
    FunctionSpec("webchat_api", "Web chat's public API: the widget, visitor sessions, messages in, history, read "
                 "receipts", 512, 10),
    FunctionSpec("email_processor", "Email channel: SES receipt notifications to inbound messages (verdicts, "
                 "threading, attachments)", 512, 60),
    FunctionSpec("workflows", "Workflows: triggers from domain events, the durable step engine, waits and cron "
                 "schedules", 512, 60),
    FunctionSpec("workflow_webhook", "Incoming-webhook trigger of workflows: checks the workflow's token, enqueues "
                 "the start", 256, 10),
    FunctionSpec("usage_meter", "Usage metering: sessions by channel and bot generation, Meta's per-message charges "
                 "and the 24-hour windows beside them", 256, 30),
    FunctionSpec("reports", "Reports: hourly counters per tenant, channel, campaign and agent, conversation facts "
                 "(response times, resolution, CSAT, sentiment) and agents' status time, from domain events", 512, 30),
    FunctionSpec("broadcast_worker", "Broadcasts: prepares audiences, sends buckets paced per number, the "
                 "per-minute schedule and recovery tick", 1024, 900),
)

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("GET", "/webhooks/whatsapp/{channel_id}", "whatsapp_webhook"),
    RouteSpec("POST", "/webhooks/whatsapp/{channel_id}", "whatsapp_webhook"),
    RouteSpec("POST", "/webhooks/telegram/{channel_id}", "telegram_webhook"),
    RouteSpec("POST", "/webhooks/sms/{channel_id}", "sms_webhook"),
    RouteSpec("GET", "/webhooks/messenger/{channel_id}", "page_webhook"),
    RouteSpec("POST", "/webhooks/messenger/{channel_id}", "page_webhook"),
    RouteSpec("GET", "/webhooks/instagram/{channel_id}", "page_webhook"),
    RouteSpec("POST", "/webhooks/instagram/{channel_id}", "page_webhook"),
    RouteSpec("GET", "/webchat/{channel_id}/widget.js", "webchat_api"),
    RouteSpec("GET", "/webchat/{channel_id}/config", "webchat_api"),
    RouteSpec("POST", "/webchat/{channel_id}/sessions", "webchat_api"),
    RouteSpec("GET", "/webchat/{channel_id}/messages", "webchat_api"),
    RouteSpec("POST", "/webchat/{channel_id}/messages", "webchat_api"),
    RouteSpec("POST", "/webchat/{channel_id}/read", "webchat_api"),
    RouteSpec("OPTIONS", "/webchat/{channel_id}/{proxy+}", "webchat_api"),  # CORS preflight of the widget's calls
    RouteSpec("POST", "/hooks/workflows/{workflow_id}", "workflow_webhook"),
    RouteSpec("GET", "/v1/openapi.json", "api"),
    RouteSpec("GET", "/v1/docs", "api"),
    RouteSpec("ANY", "/v1/{proxy+}", "api", auth="tenant"),
    RouteSpec("ANY", "/platform/v1/{proxy+}", "platform_api", auth="operator"),
)

QUEUES: tuple[QueueSpec, ...] = (
    # One FIFO group per tenant+contact thread: order per conversation, parallel across conversations.
    QueueSpec("inbound", fifo=True, consumer="inbound_processor", max_receive_count=5),
    QueueSpec("outbound", fifo=True, consumer="outbound_sender", max_receive_count=8),
    # Standard queue: EventBridge cannot set a per-conversation FIFO group; turns of one conversation are
    # serialized by a lease on the session instead, and bursts wait here (visibility) until they are over.
    QueueSpec("bot-turn", fifo=False, consumer="bot_turn", batch_size=10, max_receive_count=30,
              visibility_timeout_s=360),
    QueueSpec("media", fifo=False, consumer="media_fetcher", batch_size=5, max_receive_count=5,
              visibility_timeout_s=360),
    QueueSpec("jobs", fifo=False, consumer="jobs_worker", batch_size=1, max_receive_count=3,
              visibility_timeout_s=1800),
    QueueSpec("webhooks", fifo=False, consumer="webhook_dispatcher", batch_size=10, max_receive_count=10,
              max_batching_window_s=1),
    # Standard: every routing step is a conditional write or transaction, so concurrent and repeated records are
    # safe, and a FIFO group per campaign would serialize a tenant's whole contact center behind one record.
    QueueSpec("routing", fifo=False, consumer="router", batch_size=10, max_receive_count=10),
    # Pushes are best effort (a client that reconnects re-reads its state): few retries.
    QueueSpec("realtime", fifo=False, consumer="realtime_push", batch_size=10, max_receive_count=3),
    # One message = prepare a page run or send one bucket (~100 recipients). Claims make duplicates harmless;
    # pacing is shared per number in DynamoDB, so concurrency only has to cover Meta's latency.
    # SES receipt notifications (through SNS): one per received email; the processor is idempotent (Message-ID).
    QueueSpec("email", fifo=False, consumer="email_processor", batch_size=5, max_receive_count=5,
              visibility_timeout_s=360),
    # Workflows: trigger events, start/resume/continue messages and the Scheduler's timers. Standard: every step
    # commits with a conditional transaction on the execution, so duplicates and concurrency are harmless.
    QueueSpec("workflows", fifo=False, consumer="workflows", batch_size=10, max_receive_count=10,
              visibility_timeout_s=360),
    # Usage: every count is a conditional transaction (state change + counter ADDs), so duplicates and
    # concurrency are harmless; a lost race is retried on the new state.
    QueueSpec("usage", fifo=False, consumer="usage_meter", batch_size=10, max_receive_count=10),
    # Reports: the same shape as usage (a marker per event + conditional state + ADDs in one transaction).
    QueueSpec("reports", fifo=False, consumer="reports", batch_size=10, max_receive_count=10),
    QueueSpec("broadcasts", fifo=False, consumer="broadcast_worker", batch_size=1, max_receive_count=20,
              visibility_timeout_s=5400, max_concurrency=10),
)

RULES: tuple[RuleSpec, ...] = (
    RuleSpec("bot-turns", ("MessageReceived", "ConversationClosed", "BotFlowRequested"), "bot-turn"),
    RuleSpec("media-on-message", ("MessageReceived",), "media", detail_filter={"has_media": [True]}),
    RuleSpec("integrator-webhooks", WEBHOOK_EVENT_TYPES, "webhooks"),
    RuleSpec("routing", ROUTING_EVENT_TYPES, "routing"),
    RuleSpec("realtime-push", PUSH_EVENT_TYPES, "realtime"),
    RuleSpec("workflows", WORKFLOW_EVENT_TYPES, "workflows"),
    RuleSpec("usage", USAGE_EVENT_TYPES, "usage"),
    RuleSpec("reports", REPORT_EVENT_TYPES, "reports"),
)

# Once a minute the router re-checks queues that wait for opening hours, expired 24-hour windows and long chats.
SCHEDULES: tuple[ScheduleSpec, ...] = (
    ScheduleSpec("routing-tick", rate_minutes=1, target_queue="routing", detail_type=ROUTING_TICK),
    # Starts scheduled broadcasts when due and re-enqueues the work of active ones (lost messages, crashes).
    ScheduleSpec("broadcast-tick", rate_minutes=1, target_queue="broadcasts", detail_type=BROADCAST_TICK),
    # Starts cron-triggered workflows when due (one execution per workflow, minute and contact).
    ScheduleSpec("workflow-tick", rate_minutes=1, target_queue="workflows", detail_type=WORKFLOW_TICK),
    # Writes each tenant's last settled UTC day to the BI export (S3, partitioned by tenant and day), once.
    ScheduleSpec("analytics-tick", rate_minutes=30, target_queue="reports", detail_type=ANALYTICS_TICK),
)

# The agents' and supervisors' push channel (API Gateway WebSocket API); $connect is authorized by the token.
WEBSOCKET_ROUTES: tuple[WebSocketRouteSpec, ...] = (
    WebSocketRouteSpec("$connect", "ws_connect", authorized=True),
    WebSocketRouteSpec("$disconnect", "ws_connect"),
    WebSocketRouteSpec("$default", "ws_connect"),
)

TABLE = TableSpec(
    gsis=(
        GsiSpec("gsi1", "gsi1pk", "gsi1sk"),  # thread timeline: messages of one contact on one channel, by time
        GsiSpec("gsi2", "gsi2pk", "gsi2sk"),  # sparse: outbound message by wamid (statuses without callback data)
    )
)


def queue(name: str) -> QueueSpec:
    return next(q for q in QUEUES if q.name == name)


def function(name: str) -> FunctionSpec:
    return next(f for f in FUNCTIONS if f.name == name)
