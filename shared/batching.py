"""SQS batch handling shared by every consumer: Powertools partial failures, FIFO order, retry backoff."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.errors import RetryableError
from shared.observability import logger
from shared.wiring import retry_delayer

RecordHandler = Callable[[SQSRecord, int], None]


def attempt_of(record: SQSRecord) -> int:
    return int(record.attributes.approximate_receive_count or 1)


def process_sqs_batch(event: dict[str, Any], context: Any, handle: RecordHandler, *, fifo: bool) -> dict[str, Any]:
    """Run `handle(record, attempt)` per record; failures are reported per item (and, on FIFO queues,
    only the failing message group is held back so other conversations keep flowing)."""

    def record_handler(record: SQSRecord) -> None:
        try:
            handle(record, attempt_of(record))
        except RetryableError as exc:
            logger.warning("retrying record later", extra={"reason": str(exc), "delay_s": exc.delay_s,
                                                            "message_id": record.message_id})
            if exc.delay_s:
                retry_delayer().delay(record.event_source_arn, record.receipt_handle, exc.delay_s)
            raise
        except Exception:
            # Reported as a batch item failure (retried, then the DLQ); logged so the cause is visible.
            logger.exception("record failed", extra={"message_id": record.message_id})
            raise

    processor: BatchProcessor | SqsFifoPartialProcessor = (
        SqsFifoPartialProcessor(skip_group_on_error=True) if fifo else BatchProcessor(event_type=EventType.SQS))
    response: dict[str, Any] = dict(process_partial_response(event=event, record_handler=record_handler,
                                                             processor=processor, context=context))
    return response
