"""Queue consumers: one SQS event source per QueueSpec on its consumer function."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.topology import QueueSpec


class Workers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queues: Sequence[QueueSpec],
        queues_by_name: Mapping[str, sqs.IQueue],
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        for spec in queues:
            # The event source also grants the consumer receive/delete/ChangeMessageVisibility on its queue.
            functions[spec.consumer].add_event_source(
                sources.SqsEventSource(
                    queues_by_name[spec.name],
                    batch_size=spec.batch_size,
                    report_batch_item_failures=True,
                    # FIFO queues reject a batching window, so it is only set when the spec asks for one.
                    max_batching_window=Duration.seconds(spec.max_batching_window_s)
                    if spec.max_batching_window_s
                    else None,
                    max_concurrency=spec.max_concurrency,
                )
            )
