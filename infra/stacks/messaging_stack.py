"""The messaging platform: composes the constructs from infra/topology.py and wires least-privilege grants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.app_function import AppFunction, FunctionPackage
from infra.constructs.data import QUARANTINE_PREFIX, Data
from infra.constructs.messaging import Messaging
from infra.constructs.observability import Observability
from infra.constructs.workers import Workers
from infra.topology import EVENT_SOURCE, FUNCTIONS, QUEUES, ROUTES, RULES, TABLE


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
        """Each function gets only what its handler uses; consumers get their queue from the event source."""
        table, bucket, bus = self.data.table, self.data.media_bucket, self.messaging.bus
        queues, fn = self.messaging.queues, self.functions
        read_channel_secrets = iam.PolicyStatement(
            actions=["secretsmanager:GetSecretValue"],
            resources=[
                self.format_arn(
                    service="secretsmanager",
                    resource="secret",
                    resource_name=f"{secret_prefix}/*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )

        webhook = fn["whatsapp_webhook"]
        table.grant(webhook, "dynamodb:GetItem", "dynamodb:PutItem")  # channel lookup, quarantine record
        webhook.add_to_role_policy(read_channel_secrets)  # app secret for the HMAC signature check
        queues["inbound"].grant_send_messages(webhook)
        bucket.grant_put(webhook, f"{QUARANTINE_PREFIX}*")

        inbound = fn["inbound_processor"]
        table.grant_read_write_data(inbound)
        bus.grant_put_events_to(inbound)

        auto_reply = fn["auto_reply"]
        table.grant_read_data(auto_reply)
        queues["outbound"].grant_send_messages(auto_reply)

        sender = fn["outbound_sender"]
        table.grant_read_write_data(sender)
        sender.add_to_role_policy(read_channel_secrets)
        bus.grant_put_events_to(sender)
        # Backoff between Graph API retries is done by changing the visibility of the outbound message.
        queues["outbound"].grant(sender, "sqs:ChangeMessageVisibility")

        media = fn["media_fetcher"]
        table.grant_read_write_data(media)
        media.add_to_role_policy(read_channel_secrets)
        bucket.grant_read_write(media)
        bus.grant_put_events_to(media)


