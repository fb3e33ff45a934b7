"""Dashboard and alarms: queue backlog, dead letters, function errors, API errors and latency, business metrics,
and the operations rows: webhooks by channel, signature failures, ingest lag, send failures by error code, bot turn
latency by generation, assignment wait and service level, broadcast progress.

The functions emit through Powertools (EMF; dimension `service` = function name, plus at most one low-cardinality
dimension: channel kind, error code, generation). CloudWatch alarms cannot use SEARCH, so every alarm reads named
metrics (a percentile from a metric the function also emits without the extra dimension; a count as a sum).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.app_function import METRICS_NAMESPACE
from infra.topology import RouteSpec
from shared.topology_names import ASSIGNMENT_SLA_S

# Business metrics the functions emit through Powertools (dimension "service" = function name).
BUSINESS_METRICS = ("WebhookQuarantined", "MessagesStored", "DuplicateMessages", "SendFailed", "SendRefused")
FIVE_MINUTES = Duration.minutes(5)
# A healthy consumer takes a message within seconds; five minutes of age is a stuck or failing consumer
# (queues whose consumer runs long or delays its own messages get more: infra/stacks/messaging_stack.py).
MAX_QUEUE_AGE_S = 300
# A permanent send failure is one customer not reached; a handful in 5 minutes is a channel problem (token, quality,
# template) rather than one bad number.
SEND_FAILED_THRESHOLD = 5
SEND_FAILED_SERVICE = "outbound_sender"
ACCOUNT_HEALTH_SERVICE = "inbound_processor"  # emits AccountHealthAlerts (functions/inbound_processor/handler.py)
# What the bot engine emits (functions/bot_turn/handler.py): turns answered, and sessions handed to an agent.
BOT_METRICS = ("BotTurns", "BotSessionsEnded_handoff")
BOT_SERVICE = "bot_turn"
# The WebSocket push channel: API Gateway's per-stage metrics, and what realtime_push and ws_connect emit.
WEBSOCKET_API_METRICS = ("ConnectCount", "MessageCount", "ClientError", "IntegrationError", "ExecutionError")
REALTIME_METRICS = (("RealtimePushes", "realtime_push"), ("WebSocketConnected", "ws_connect"),
                    ("WebSocketRefused", "ws_connect"))
API_NAMESPACE = "AWS/ApiGateway"
# Authenticated API routes: p95 latency above this for LATENCY_PERIODS periods of 5 minutes alarms.
LATENCY_P95_THRESHOLD_MS = 2000
LATENCY_PERIODS = 3
# ... and so does a 4xx share above this, once there is enough traffic for a share to mean something
# (a burst of 401s is a broken integration or someone trying keys; a handful of 404s is not).
CLIENT_ERROR_RATE_PERCENT = 25
CLIENT_ERROR_MIN_REQUESTS = 50

# Webhooks (shared/http/webhooks.py): WebhookReceived and WebhookSignatureRejected with the dimension `channel`
# (the kind), and the function receiving each signed kind (tests/infra check it against the handlers).
SIGNED_WEBHOOKS = (("whatsapp", "whatsapp_webhook"), ("messenger", "page_webhook"), ("instagram", "page_webhook"),
                   ("telegram", "telegram_webhook"), ("sms", "sms_webhook"))
# A provider never signs wrongly: one rejection is a secret rotated on one side only or a probe; 10 in 5 minutes is
# a broken integration (every delivery refused, the provider retrying, then dropping) or someone forging deliveries.
SIGNATURE_REJECTED_THRESHOLD = 10
# Ingest lag (functions/inbound_processor IngestLag: webhook enqueue -> stored and published) is well under a
# second when healthy; a p95 above 30 s for 15 minutes is a backlog customers feel (bots and agents see late),
# not a cold start or one retried record.
INGEST_LAG_SERVICE = "inbound_processor"
INGEST_LAG_P95_THRESHOLD_MS = 30_000
INGEST_LAG_PERIODS = 3
# Bot turn latency (functions/bot_turn BotTurnLatency): rules answer in milliseconds and a generative turn in a few
# seconds; a p95 above 10 s for 15 minutes is a model or an integration in trouble, and customers give up.
BOT_TURN_P95_THRESHOLD_MS = 10_000
BOT_TURN_PERIODS = 3
# Service level (functions/router: AssignedWithinSla / AssignedAfterSla against ASSIGNMENT_SLA_S, a name shared
# with the runtime): below 80% of queue assignments on time over 15 minutes
# alarms, once there were at least 10 (fewer, and one late assignment moves the share by 10 points or more).
ROUTER_SERVICE = "router"
SERVICE_LEVEL_TARGET_PERCENT = 80
SERVICE_LEVEL_MIN_ASSIGNMENTS = 10
SERVICE_LEVEL_PERIOD = Duration.minutes(15)
# Broadcast progress (functions/broadcast_worker): recipients per bucket run, and broadcasts started by the tick.
BROADCAST_SERVICE = "broadcast_worker"
BROADCAST_METRICS = ("BroadcastMessagesSent", "BroadcastMessagesFailed", "BroadcastMessagesUnconfirmed",
                     "BroadcastMessagesRetryLater", "BroadcastsStarted")


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queues: Mapping[str, sqs.IQueue],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        functions: Mapping[str, lambda_.IFunction],
        http_api: apigwv2.IHttpApi,
        stage_name: str,
        api_routes: Sequence[RouteSpec] = (),
        queue_age_thresholds_s: Mapping[str, int] | None = None,
        error_alarm_functions: Sequence[str] = (),
        websocket_api: apigwv2.IWebSocketApi | None = None,
        websocket_stage_name: str = "",
    ) -> None:
        """api_routes: the routes to chart (4xx, 5xx, p95 latency); the authenticated ones also alarm.

        queue_age_thresholds_s: per queue, when its oldest message is too old (default MAX_QUEUE_AGE_S).
        error_alarm_functions: functions whose errors surface nowhere else (no queue, no API in front).
        websocket_api, websocket_stage_name: the push channel, charted (connections, messages, errors, pushes).
        """
        super().__init__(scope, construct_id)
        # Alarm notifications carry alarm names and states only; subscribe people or a chat hook to this topic.
        self.alarm_topic = sns.Topic(self, "AlarmTopic", enforce_ssl=True)
        self.alarms: list[cw.Alarm] = []

        for name, dlq in dead_letter_queues.items():
            self._alarm(
                f"{name}-dlq-not-empty",
                dlq.metric_approximate_number_of_messages_visible(statistic="Maximum", period=Duration.minutes(1)),
                threshold=1,
                comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                description=f"Messages are waiting in the {name} dead-letter queue",
            )
        for name, queue in queues.items():
            max_age_s = (queue_age_thresholds_s or {}).get(name, MAX_QUEUE_AGE_S)
            self._alarm(
                f"{name}-queue-age",
                queue.metric_approximate_age_of_oldest_message(statistic="Maximum", period=Duration.minutes(1)),
                threshold=max_age_s,
                comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"The oldest message in the {name} queue is older than {max_age_s}s",
            )
        api_5xx = http_api.metric_server_error(statistic="Sum", period=FIVE_MINUTES)
        self._alarm(
            "api-5xx",
            api_5xx,
            threshold=1,
            comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description="The HTTP API answered with a 5xx",
        )
        for route in api_routes:
            if route.auth == "none":
                continue  # public documentation: charted, not paged on
            key = f"{route.method} {route.path}"
            self._alarm(
                f"latency-p95-{_slug(route)}",
                _route_metric(http_api, stage_name, route, "Latency", statistic="p95"),
                threshold=LATENCY_P95_THRESHOLD_MS,
                comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=LATENCY_PERIODS,
                description=f"{key}: p95 latency above {LATENCY_P95_THRESHOLD_MS} ms for "
                f"{LATENCY_PERIODS * 5} minutes",
            )
            self._alarm(
                f"client-errors-{_slug(route)}",
                cw.MathExpression(
                    expression=f"IF(requests >= {CLIENT_ERROR_MIN_REQUESTS}, 100 * errors / requests, 0)",
                    using_metrics={
                        "errors": _route_metric(http_api, stage_name, route, "4xx"),
                        "requests": _route_metric(http_api, stage_name, route, "Count"),
                    },
                    label=f"{key} 4xx %",
                    period=FIVE_MINUTES,
                ),
                threshold=CLIENT_ERROR_RATE_PERCENT,
                comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"{key}: more than {CLIENT_ERROR_RATE_PERCENT}% of at least "
                f"{CLIENT_ERROR_MIN_REQUESTS} requests in 5 minutes were answered with a 4xx",
            )
        for name in error_alarm_functions:
            self._alarm(
                f"{name}-errors",
                functions[name].metric_errors(statistic="Sum", period=FIVE_MINUTES),
                threshold=1,
                comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                description=f"The {name} function failed (no queue or API in front of it reports this)",
            )
        self._alarm(
            "send-failed",
            _business_metric("SendFailed", SEND_FAILED_SERVICE),
            threshold=SEND_FAILED_THRESHOLD,
            comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description=f"At least {SEND_FAILED_THRESHOLD} outbound sends failed in 5 minutes",
        )

        self._alarm(
            "account-health",
            _business_metric("AccountHealthAlerts", ACCOUNT_HEALTH_SERVICE),
            threshold=1,
            comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description="Meta reported a warning or critical account-health change (a template paused, disabled or "
            "re-categorized, low template or number quality, an account restriction): see the channel's "
            "/v1/channels/{id}/health",
        )
        self._operations_alarms()

        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Queue depth",
                left=[q.metric_approximate_number_of_messages_visible(label=n) for n, q in queues.items()],
                width=8,
            ),
            cw.GraphWidget(
                title="Oldest message age (s)",
                left=[q.metric_approximate_age_of_oldest_message(label=n) for n, q in queues.items()],
                width=8,
            ),
            cw.GraphWidget(
                title="Dead-letter depth",
                left=[q.metric_approximate_number_of_messages_visible(label=n) for n, q in dead_letter_queues.items()],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Lambda errors",
                left=[fn.metric_errors(label=n, period=FIVE_MINUTES) for n, fn in functions.items()],
                width=8,
            ),
            cw.GraphWidget(
                title="Lambda duration p99 (ms)",
                left=[fn.metric_duration(label=n, statistic="p99", period=FIVE_MINUTES) for n, fn in functions.items()],
                width=8,
            ),
            cw.GraphWidget(title="API 5xx", left=[api_5xx], width=8),
        )
        if api_routes:
            self.dashboard.add_widgets(
                *(
                    cw.GraphWidget(
                        title=title,
                        left=[
                            _route_metric(http_api, stage_name, r, metric, statistic=statistic,
                                          label=f"{r.method} {r.path}")
                            for r in api_routes
                        ],
                        width=8,
                    )
                    for title, metric, statistic in (
                        ("API 4xx by route", "4xx", "Sum"),
                        ("API 5xx by route", "5xx", "Sum"),
                        ("API latency p95 by route (ms)", "Latency", "p95"),
                    )
                )
            )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Business metrics (all services)",
                # SEARCH shows each metric whatever service dimension emitted it.
                left=[
                    cw.MathExpression(
                        expression=f"SEARCH('{{{METRICS_NAMESPACE},service}} MetricName=\"{name}\"', 'Sum', 300)",
                        label=name,
                        period=FIVE_MINUTES,
                    )
                    for name in BUSINESS_METRICS
                ],
                width=24,
            ),
            cw.GraphWidget(
                title="Bots",
                left=[_business_metric(name, BOT_SERVICE, label=name) for name in BOT_METRICS],
                width=24,
            ),
        )
        if websocket_api is not None:
            self.dashboard.add_widgets(
                cw.GraphWidget(
                    title="WebSocket API",
                    left=[
                        cw.Metric(
                            namespace=API_NAMESPACE,
                            metric_name=name,
                            dimensions_map={"ApiId": websocket_api.api_id, "Stage": websocket_stage_name},
                            statistic="Sum",
                            period=FIVE_MINUTES,
                            label=name,
                        )
                        for name in WEBSOCKET_API_METRICS
                    ],
                    width=12,
                ),
                cw.GraphWidget(
                    title="Realtime pushes",
                    left=[_business_metric(name, service, label=name) for name, service in REALTIME_METRICS],
                    width=12,
                ),
            )
        self._operations_rows()
        self.dashboard.add_widgets(cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24))

    def _operations_alarms(self) -> None:
        self._alarm(
            "signature-rejected",
            cw.MathExpression(  # a sum over the signed channels (an alarm cannot SEARCH)
                expression=" + ".join(f"FILL(s{i}, 0)" for i in range(len(SIGNED_WEBHOOKS))),
                using_metrics={
                    f"s{i}": _business_metric("WebhookSignatureRejected", service, channel=channel)
                    for i, (channel, service) in enumerate(SIGNED_WEBHOOKS)
                },
                label="Webhook signatures rejected",
                period=FIVE_MINUTES,
            ),
            threshold=SIGNATURE_REJECTED_THRESHOLD,
            comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description=f"At least {SIGNATURE_REJECTED_THRESHOLD} webhook deliveries with a bad signature in 5 "
            "minutes: a secret rotated on one side only, or forged deliveries (dashboard: signature failures by "
            "channel)",
        )
        self._alarm(
            "ingest-lag-p95",
            _business_metric("IngestLag", INGEST_LAG_SERVICE, statistic="p95"),
            threshold=INGEST_LAG_P95_THRESHOLD_MS,
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=INGEST_LAG_PERIODS,
            description=f"Inbound messages: p95 from webhook to stored above {INGEST_LAG_P95_THRESHOLD_MS // 1000} "
            f"s for {INGEST_LAG_PERIODS * 5} minutes (see the inbound queue's depth and the inbound_processor)",
        )
        self._alarm(
            "bot-turn-latency-p95",
            _business_metric("BotTurnLatency", BOT_SERVICE, statistic="p95"),
            threshold=BOT_TURN_P95_THRESHOLD_MS,
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=BOT_TURN_PERIODS,
            description=f"Bot turns: p95 above {BOT_TURN_P95_THRESHOLD_MS // 1000} s for {BOT_TURN_PERIODS * 5} "
            "minutes (dashboard: bot turn latency by generation; a model or an integration is slow)",
        )
        self._alarm(
            "service-level",
            cw.MathExpression(
                expression=f"IF(within + after >= {SERVICE_LEVEL_MIN_ASSIGNMENTS}, "
                "100 * within / (within + after), 100)",
                using_metrics=_sla_counts(),
                label="Service level %",
                period=SERVICE_LEVEL_PERIOD,
            ),
            threshold=SERVICE_LEVEL_TARGET_PERCENT,
            comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            description=f"Fewer than {SERVICE_LEVEL_TARGET_PERCENT}% of at least {SERVICE_LEVEL_MIN_ASSIGNMENTS} "
            f"queue assignments in 15 minutes were within {ASSIGNMENT_SLA_S} s: too few agents online for the "
            "waiting conversations",
        )

    def _operations_rows(self) -> None:
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Webhooks received by channel (per 5 min)",
                left=[_search("WebhookReceived", "channel", "Sum")],
                width=12,
            ),
            cw.GraphWidget(
                title="Webhook signatures rejected by channel",
                left=[_search("WebhookSignatureRejected", "channel", "Sum")],
                left_annotations=[cw.HorizontalAnnotation(value=SIGNATURE_REJECTED_THRESHOLD, label="alarm (sum)")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Ingest lag, webhook to stored (ms)",
                left=[
                    _business_metric("IngestLag", INGEST_LAG_SERVICE, statistic=statistic, label=statistic)
                    for statistic in ("p50", "p95", "Maximum")
                ],
                left_annotations=[cw.HorizontalAnnotation(value=INGEST_LAG_P95_THRESHOLD_MS, label="alarm (p95)")],
                width=12,
            ),
            cw.GraphWidget(
                title="Send failures by error code, and refusals",
                left=[
                    _search("SendFailed", "error_code", "Sum"),
                    _business_metric("SendRefused", SEND_FAILED_SERVICE, label="refused (window, opt-out, ...)"),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Bot turn latency p95 by generation (ms)",
                left=[_search("BotTurnLatency", "generation", "p95")],
                left_annotations=[cw.HorizontalAnnotation(value=BOT_TURN_P95_THRESHOLD_MS, label="alarm (p95, all)")],
                width=12,
            ),
            cw.GraphWidget(
                title="Broadcast progress (recipients per 5 min)",
                left=[_business_metric(name, BROADCAST_SERVICE, label=name) for name in BROADCAST_METRICS],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Assignment wait in queue (s)",
                left=[
                    _business_metric("AssignmentWait", ROUTER_SERVICE, statistic=statistic, label=statistic)
                    for statistic in ("p50", "p95", "Maximum")
                ],
                left_annotations=[cw.HorizontalAnnotation(value=ASSIGNMENT_SLA_S, label="SLA")],
                width=12,
            ),
            cw.GraphWidget(
                title=f"Service level (% of queue assignments within {ASSIGNMENT_SLA_S} s)",
                left=[
                    cw.MathExpression(
                        expression="100 * within / (within + after)",
                        using_metrics=_sla_counts(),
                        label="service level %",
                        period=FIVE_MINUTES,
                    )
                ],
                right=[
                    cw.MathExpression(
                        expression="within + after", using_metrics=_sla_counts(), label="assignments",
                        period=FIVE_MINUTES,
                    )
                ],
                left_y_axis=cw.YAxisProps(min=0, max=100),
                left_annotations=[cw.HorizontalAnnotation(value=SERVICE_LEVEL_TARGET_PERCENT, label="target")],
                width=12,
            ),
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cw.IMetric,
        *,
        threshold: float,
        comparison: cw.ComparisonOperator,
        description: str,
        evaluation_periods: int = 1,
    ) -> None:
        alarm = cw.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.alarm_topic))
        self.alarms.append(alarm)


def _business_metric(
    name: str,
    service: str,
    *,
    label: str | None = None,
    statistic: str = "Sum",
    **dimensions: str,
) -> cw.Metric:
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={**dimensions, "service": service},
        statistic=statistic,
        period=FIVE_MINUTES,
        label=label,
    )


def _search(name: str, dimension: str, statistic: str) -> cw.MathExpression:
    """One line per value of `dimension` (a channel kind, an error code, a generation) of a metric, whatever
    function emitted it; for charts only (an alarm cannot use SEARCH)."""
    return cw.MathExpression(
        expression=f"SEARCH('{{{METRICS_NAMESPACE},{dimension},service}} MetricName=\"{name}\"', '{statistic}', 300)",
        label=f"${{PROP('Dim.{dimension}')}}",  # a dynamic label: the line's channel, code or generation
        period=FIVE_MINUTES,
    )


def _sla_counts() -> dict[str, cw.IMetric]:
    """Queue assignments on time and late (each math expression's own period applies to them)."""
    return {
        "within": _business_metric("AssignedWithinSla", ROUTER_SERVICE),
        "after": _business_metric("AssignedAfterSla", ROUTER_SERVICE),
    }


def _route_metric(
    http_api: apigwv2.IHttpApi,
    stage_name: str,
    route: RouteSpec,
    metric_name: str,
    *,
    statistic: str = "Sum",
    label: str | None = None,
) -> cw.Metric:
    """A route-level HTTP API metric (published because the stage has detailed metrics enabled).

    HTTP APIs publish route metrics with the dimensions ApiId, Stage, Method and Resource, where Method and
    Resource are the route key's method (ANY for an ANY route) and path.
    """
    return cw.Metric(
        namespace=API_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={
            "ApiId": http_api.api_id,
            "Stage": stage_name,
            "Method": route.method,
            "Resource": route.path,
        },
        statistic=statistic,
        period=FIVE_MINUTES,
        label=label,
    )


def _slug(route: RouteSpec) -> str:
    """A construct id for a route: 'ANY /v1/{proxy+}' -> 'any-v1-proxy'."""
    return "-".join(part for part in re.split(r"[^a-z0-9]+", f"{route.method} {route.path}".lower()) if part)
