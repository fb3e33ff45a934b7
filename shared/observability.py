"""Powertools logger, tracer and metrics shared by every function (service name from POWERTOOLS_SERVICE_NAME)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "Omnichannel"

logger = Logger(service="omnichannel")
tracer = Tracer(service="omnichannel")
metrics = Metrics(namespace=NAMESPACE, service="omnichannel")
