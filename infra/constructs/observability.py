"""Dashboard and alarms: queue backlog, dead letters, function errors, API 5xx and business metrics."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.app_function import METRICS_NAMESPACE

# Business metrics the functions emit through Powertools (dimension "service" = function name).
BUSINESS_METRICS = ("WebhookQuarantined", "MessagesStored", "DuplicateMessages", "SendFailed", "SendRefused")
FIVE_MINUTES = Duration.minutes(5)
MAX_QUEUE_AGE_S = 300
SEND_FAILED_THRESHOLD = 5
SEND_FAILED_SERVICE = "outbound_sender"


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
    ) -> None:
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
            self._alarm(
                f"{name}-queue-age",
                queue.metric_approximate_age_of_oldest_message(statistic="Maximum", period=Duration.minutes(1)),
                threshold=MAX_QUEUE_AGE_S,
                comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"The oldest message in the {name} queue is older than {MAX_QUEUE_AGE_S}s",
            )
        api_5xx = http_api.metric_server_error(statistic="Sum", period=FIVE_MINUTES)
        self._alarm(
            "api-5xx",
            api_5xx,
            threshold=1,
            comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description="The HTTP API answered with a 5xx",
        )
        self._alarm(
            "send-failed",
            _business_metric("SendFailed", SEND_FAILED_SERVICE),
            threshold=SEND_FAILED_THRESHOLD,
            comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            description=f"At least {SEND_FAILED_THRESHOLD} outbound sends failed in 5 minutes",
        )

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
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24),
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cw.IMetric,
        *,
        threshold: float,
        comparison: cw.ComparisonOperator,
        description: str,
    ) -> None:
        alarm = cw.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.alarm_topic))
        self.alarms.append(alarm)


def _business_metric(name: str, service: str) -> cw.Metric:
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service},
        statistic="Sum",
        period=FIVE_MINUTES,
    )
