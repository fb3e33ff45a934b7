"""What the workflow engine owns besides its function and queue: the EventBridge Scheduler group its one-time
schedules (waits, question timeouts) live in, and the role Scheduler uses to put their messages on the queue."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class Workflows(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, queue: sqs.IQueue, group_name: str) -> None:
        super().__init__(scope, construct_id)
        self.group = scheduler.CfnScheduleGroup(self, "ScheduleGroup", name=group_name)
        stack = Stack.of(self)
        self.group_name = group_name
        # Only schedules of this group may assume the role (confused-deputy guard), and it may only send to the queue.
        self.role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": stack.format_arn(service="scheduler", resource="schedule",
                                                              resource_name=f"{group_name}/*")},
            }),
            description="EventBridge Scheduler puts workflow timers (waits, question timeouts) on the workflows queue",
        )
        queue.grant_send_messages(self.role)
        self.schedules_arn = stack.format_arn(service="scheduler", resource="schedule",
                                              resource_name=f"{group_name}/*")
