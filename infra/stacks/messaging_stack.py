"""The messaging platform: composes the constructs from infra/topology.py and wires least-privilege grants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, CfnElement, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.app_function import AppFunction, FunctionPackage
from infra.constructs.data import QUARANTINE_PREFIX, Data
from infra.constructs.messaging import Messaging
from infra.constructs.observability import Observability
from infra.constructs.workers import Workers
from infra.topology import FUNCTIONS, QUEUES, ROUTES, RULES, TABLE
from shared.topology_names import EVENT_SOURCE


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


class MessagingStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, code_dir: Path, layer_dir: Path, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        secret_prefix = self.node.get_context("secret_prefix")

        self.data = Data(self, "Data", table=TABLE)
        self.messaging = Messaging(
            self,
            "Messaging",
            queues=QUEUES,
            rules=RULES,
            event_source=EVENT_SOURCE,
            bus_name=self.node.get_context("bus_name"),
        )

        package = FunctionPackage(self, "Package", code_dir=code_dir, layer_dir=layer_dir)
        environment = {
            "TABLE_NAME": self.data.table.table_name,
            "BUS_NAME": self.messaging.bus.event_bus_name,
            "MEDIA_BUCKET": self.data.media_bucket.bucket_name,
            "SECRET_PREFIX": secret_prefix,
            "GRAPH_BASE_URL": self.node.get_context("graph_base_url"),
            "GRAPH_API_VERSION": self.node.get_context("graph_api_version"),
            **{spec.env_var: self.messaging.queues[spec.name].queue_url for spec in QUEUES},
        }
        self.app_functions = {
            spec.name: AppFunction(self, _pascal(spec.name), spec=spec, package=package, environment=environment)
            for spec in FUNCTIONS
        }
        self.functions = {name: app_fn.function for name, app_fn in self.app_functions.items()}

        self.api = Api(self, "Api", routes=ROUTES, functions=self.functions, api_name=f"{self.stack_name}-api")
        Workers(self, "Workers", queues=QUEUES, queues_by_name=self.messaging.queues, functions=self.functions)
        self._grant_access(secret_prefix)
        self.observability = Observability(
            self,
            "Observability",
            queues=self.messaging.queues,
            dead_letter_queues={**self.messaging.dead_letter_queues, "events": self.messaging.events_dlq},
            functions=self.functions,
            http_api=self.api.http_api,
        )
        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the HTTP API")

    def _grant_access(self, secret_prefix: str) -> None:
        """Each function gets only what its handler uses; consumers get their queue from the event source.

        Every wildcard the grants produce is explained next to the grant with a cdk-nag suppression scoped
        (appliesTo) to exactly that wildcard, so a new one still fails the nag check.
        """
        table, bucket, bus = self.data.table, self.data.media_bucket, self.messaging.bus
        queues, fn = self.messaging.queues, self.functions
        secrets_arn = self.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{secret_prefix}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        read_channel_secrets = iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secrets_arn])
        table_arn, bucket_arn = self._arn_ref(table), self._arn_ref(bucket)
        table_indexes = _wildcard(
            f"Resource::{table_arn}/index/*",
            reason="Table grants include this table's GSIs (<table>/index/*: gsi1 thread timeline, gsi2 wamid "
            "lookup) so Query can use them; no other table is reachable.",
        )
        channel_secrets = _wildcard(
            f"Resource::{secrets_arn}",
            reason=f"Channel secrets are created per tenant and channel at runtime as {secret_prefix}/<tenant>/"
            "<channel> (plus the random suffix Secrets Manager appends), so only the name prefix is known; "
            "GetSecretValue is the only action.",
        )

        webhook = fn["whatsapp_webhook"]
        table.grant(webhook, "dynamodb:GetItem", "dynamodb:PutItem")  # channel lookup, quarantine record
        webhook.add_to_role_policy(read_channel_secrets)  # app secret for the HMAC signature check
        queues["inbound"].grant_send_messages(webhook)
        bucket.grant_put(webhook, f"{QUARANTINE_PREFIX}*")
        _explain(
            webhook,
            table_indexes,
            channel_secrets,
            _wildcard(
                "Action::s3:Abort*",
                f"Resource::{bucket_arn}/{QUARANTINE_PREFIX}*",
                reason="grant_put on the media bucket limited to the quarantine/ prefix: PutObject for rejected "
                "webhooks, Abort* to clean up its own failed multipart uploads.",
            ),
        )

        inbound = fn["inbound_processor"]
        table.grant_read_write_data(inbound)
        bus.grant_put_events_to(inbound)
        _explain(inbound, table_indexes)

        auto_reply = fn["auto_reply"]
        table.grant_read_data(auto_reply)
        queues["outbound"].grant_send_messages(auto_reply)
        _explain(auto_reply, table_indexes)

        sender = fn["outbound_sender"]
        table.grant_read_write_data(sender)
        sender.add_to_role_policy(read_channel_secrets)  # channel access token for the Graph API
        bus.grant_put_events_to(sender)
        # Backoff between Graph API retries changes the visibility of the outbound message (the event source
        # grants it too; stated here because the sender depends on it).
        queues["outbound"].grant(sender, "sqs:ChangeMessageVisibility")
        _explain(sender, table_indexes, channel_secrets)

        media = fn["media_fetcher"]
        table.grant_read_write_data(media)
        media.add_to_role_policy(read_channel_secrets)
        bucket.grant_read_write(media)
        bus.grant_put_events_to(media)
        _explain(
            media,
            table_indexes,
            channel_secrets,
            _wildcard(
                "Action::s3:Abort*",
                "Action::s3:DeleteObject*",
                "Action::s3:GetBucket*",
                "Action::s3:GetObject*",
                "Action::s3:List*",
                f"Resource::{bucket_arn}/*",
                reason="grant_read_write on the one media bucket: media objects are keyed by tenant and media id "
                "at runtime, and the grant's action groups (GetObject*, List*, ...) only reach this bucket.",
            ),
        )

    def _arn_ref(self, construct: Construct) -> str:
        """How cdk-nag spells a resource's Arn attribute in findings: <LogicalId.Arn>."""
        default_child = construct.node.default_child
        assert isinstance(default_child, CfnElement)
        return f"<{self.get_logical_id(default_child)}.Arn>"


def _wildcard(*applies_to: str, reason: str) -> NagPackSuppression:
    return NagPackSuppression(id="AwsSolutions-IAM5", reason=reason, applies_to=list(applies_to))


def _explain(function: lambda_.IFunction, *suppressions: NagPackSuppression) -> None:
    assert function.role is not None
    NagSuppressions.add_resource_suppressions(function.role, list(suppressions), apply_to_children=True)
