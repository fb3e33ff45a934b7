"""Jobs worker (SQS `jobs`, batch size 1): contact import and export as CSV, and contact erasure.

One message names one job. A long import hands itself over before the deadline (the service queues the job
again and the next run resumes at the stored row offset); the last delivery of a failing job marks it failed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from shared.batching import process_sqs_batch
from shared.config import get_settings
from shared.observability import logger, metrics, tracer
from shared.services.jobs import JobService
from shared.wiring import job_service

MAX_RECEIVES = 3  # the jobs queue's maxReceiveCount (infra/topology.py): the last delivery gives up


class JobMessage(BaseModel):
    tenant_id: str
    job_id: str


@lru_cache(maxsize=1)
def get_service() -> JobService:
    return job_service(get_settings())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    @tracer.capture_method
    def handle_record(record: SQSRecord, attempt: int) -> None:
        message = JobMessage.model_validate_json(record.body)
        logger.append_keys(tenant_id=message.tenant_id, job_id=message.job_id)
        outcome = get_service().run(message.tenant_id, message.job_id, owner=context.aws_request_id,
                                    remaining_s=lambda: context.get_remaining_time_in_millis() / 1000,
                                    final_attempt=attempt >= MAX_RECEIVES)
        logger.info("job run", extra={"outcome": outcome, "attempt": attempt})
        metrics.add_metric(name=f"Jobs{outcome.capitalize()}", unit=MetricUnit.Count, value=1)

    return process_sqs_batch(event, context, handle_record, fifo=False)
