"""Powertools logger, tracer and metrics shared by every function.

The service name comes from POWERTOOLS_SERVICE_NAME (the stack sets it to the function's name), so logs,
traces and the `service` metric dimension say which function emitted them.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "Omnichannel"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=NAMESPACE)
