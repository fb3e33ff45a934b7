"""Queues (each with its DLQ), the EventBridge bus with its archive, the rules that feed queues, and the fixed-rate
schedules that put a message on a queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.topology import QueueSpec, RuleSpec, ScheduleSpec

DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time to notice, fix and redrive
ARCHIVE_RETENTION = Duration.days(30)
TARGET_RETRY_ATTEMPTS = 8
TARGET_MAX_EVENT_AGE = Duration.hours(24)


def _queue(scope: Construct, construct_id: str, *, name: str, fifo: bool, **props: Any) -> sqs.Queue:
    """A queue with what every queue shares: a physical name, SQS-managed SSE and TLS-only access."""
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=f"{name}.fifo" if fifo else name,
        fifo=fifo or None,  # standard queues must not carry FifoQueue: false in the template
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        **props,
    )


class Messaging(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queues: Sequence[QueueSpec],
        rules: Sequence[RuleSpec],
        event_source: str,
        bus_name: str,
        schedules: Sequence[ScheduleSpec] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = Stack.of(self).stack_name.lower()
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for spec in queues:
            dlq = _queue(
                self,
                f"{spec.name}-dlq",
                name=f"{prefix}-{spec.name}-dlq",
                fifo=spec.fifo,
                retention_period=DLQ_RETENTION,
            )
            # FIFO: content-based deduplication stays off, the producer sets MessageDeduplicationId.
            self.queues[spec.name] = _queue(
                self,
                spec.name,
                name=f"{prefix}-{spec.name}",
                fifo=spec.fifo,
                visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
                dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=spec.max_receive_count),
            )
            self.dead_letter_queues[spec.name] = dlq

        # Events EventBridge could not deliver to a rule target, after its retries.
        self.events_dlq = _queue(
            self, "events-dlq", name=f"{prefix}-events-dlq", fifo=False, retention_period=DLQ_RETENTION
        )
        NagSuppressions.add_resource_suppressions(
            self.events_dlq,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason="This queue is itself a dead-letter queue: the DeadLetterConfig of every EventBridge "
                    "rule target, which cdk-nag does not recognise (it only follows SQS redrive policies).",
                )
            ],
        )

        self.bus = events.EventBus(self, "Bus", event_bus_name=bus_name)
        self.archive = self.bus.archive(
            "Archive",
            description=f"Replayable copy of {event_source} events",
            event_pattern=events.EventPattern(source=[event_source]),
            retention=ARCHIVE_RETENTION,
        )

        for rule in rules:
            # spec.pattern() keys are EventBridge's ("detail-type"); EventPattern wants snake_case.
            pattern: dict[str, Any] = {key.replace("-", "_"): value for key, value in rule.pattern().items()}
            target = self.queues[rule.target_queue]
            if target.fifo:
                raise ValueError(f"rule {rule.name}: FIFO targets need a message group id, not supported")
            events.Rule(
                self,
                # a rule may share its name with its queue ("routing"): only such a rule takes a suffix, so the
                # logical ids of the rules already deployed stay as they are
                f"{rule.name}-rule" if rule.name in self.queues else rule.name,
                event_bus=self.bus,
                description=f"{', '.join(rule.detail_types)} -> {rule.target_queue} queue",
                event_pattern=events.EventPattern(**pattern),
                targets=[
                    targets.SqsQueue(
                        target,
                        dead_letter_queue=self.events_dlq,
                        retry_attempts=TARGET_RETRY_ATTEMPTS,
                        max_event_age=TARGET_MAX_EVENT_AGE,
                    )
                ],
            )

        # Schedules are rules on the account's default bus (EventBridge runs schedule expressions only there);
        # the target gets the spec's message as it is, shaped like an event envelope.
        self.schedules: dict[str, events.Rule] = {}
        for spec in schedules:
            if self.queues[spec.target_queue].fifo:
                raise ValueError(f"schedule {spec.name}: FIFO targets need a message group id, not supported")
            self.schedules[spec.name] = events.Rule(
                self,
                f"{spec.name}-schedule",
                description=f"Every {spec.rate_minutes} min: {spec.detail_type} -> {spec.target_queue} queue",
                schedule=events.Schedule.rate(Duration.minutes(spec.rate_minutes)),
                targets=[
                    targets.SqsQueue(
                        self.queues[spec.target_queue],
                        message=events.RuleTargetInput.from_object(spec.message()),
                        dead_letter_queue=self.events_dlq,
                        retry_attempts=TARGET_RETRY_ATTEMPTS,
                        max_event_age=TARGET_MAX_EVENT_AGE,
                    )
                ],
            )
