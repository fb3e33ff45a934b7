"""Workflow waits: one-time EventBridge Scheduler schedules that put a message on the workflows queue.

A wait is a schedule `at(<UTC time>)` in the workflows schedule group whose target is the workflows queue
(the message is the schedule's Input) and which deletes itself after it fires. Names are deterministic
(`<execution>-<seq>`), so a step re-run after a crash finds its schedule already there (ConflictException)
instead of creating a second one. Nothing runs while an execution waits: hours or days cost one schedule.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError


class SchedulerTimers:
    def __init__(self, client: Any, *, group: str, queue_arn: str, role_arn: str) -> None:
        self._client = client
        self._group = group
        self._queue_arn = queue_arn
        self._role_arn = role_arn

    @staticmethod
    def schedule_name(name: str) -> str:
        """Scheduler names are at most 64 characters of [0-9a-zA-Z-_.]."""
        clean = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
        return clean if len(clean) <= 64 else clean[:40] + "-" + hashlib.sha256(name.encode()).hexdigest()[:23]

    def schedule(self, name: str, at: datetime, message: dict[str, Any]) -> None:
        when = at.astimezone(UTC).replace(microsecond=0)
        try:
            self._client.create_schedule(
                Name=self.schedule_name(name), GroupName=self._group,
                ScheduleExpression=f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})", ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"}, ActionAfterCompletion="DELETE",
                Target={"Arn": self._queue_arn, "RoleArn": self._role_arn,
                        "Input": json.dumps(message, separators=(",", ":")),
                        "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}})
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConflictException":
                raise
