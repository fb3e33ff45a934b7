"""Powertools logger, tracer and metrics shared by every function.

The service name comes from POWERTOOLS_SERVICE_NAME (the stack sets it to the function's name), so logs,
traces and the `service` metric dimension say which function emitted them.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "Omnichannel"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=NAMESPACE)


def metric_by(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    """One metric with dimensions besides `service` (which Powertools still adds), written at once as its own EMF
    line: `metrics` holds one dimension set per flush, so a per-metric dimension cannot go through it.

    Dimensions must stay few-valued — a channel kind, a provider error code, a bot generation — never a tenant,
    channel or conversation id or a phone number: each distinct combination is a separate (billed) metric.
    """
    with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


def webhook_received(channel: str) -> None:
    """One delivery arrived from a provider, before any check: WebhookReceived by channel kind (the webhook rate).
    Here rather than in shared.http.webhooks so that email_processor and webchat_api count without its imports."""
    metric_by("WebhookReceived", MetricUnit.Count, 1, channel=channel)
