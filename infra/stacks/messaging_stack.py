"""The messaging platform: composes the constructs from infra/topology.py and wires least-privilege grants."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, CfnElement, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.constructs.analytics import Analytics
from infra.constructs.api import Api
from infra.constructs.app_function import AppFunction, FunctionPackage
from infra.constructs.bots import Bots
from infra.constructs.console import Console
from infra.constructs.data import QUARANTINE_PREFIX, Data
from infra.constructs.email import INBOUND_EMAIL_PREFIX, EmailReceiving
from infra.constructs.identity import FederatedProvider, Identity
from infra.constructs.messaging import Messaging
from infra.constructs.observability import MAX_QUEUE_AGE_S, Observability
from infra.constructs.realtime import Realtime
from infra.constructs.workers import Workers
from infra.constructs.workflows import Workflows
from infra.topology import FUNCTIONS, QUEUES, ROUTES, RULES, SCHEDULES, TABLE, WEBSOCKET_ROUTES
from infra.topology import function as function_spec
from shared.config import Settings
from shared.topology_names import EVENT_SOURCE

# Children of the stack that a function's construct id must not take (the function "api" would be "Api").
_STACK_CONSTRUCT_IDS = frozenset(
    {"Data", "Messaging", "Package", "Identity", "Bots", "Api", "Workers", "Observability", "Realtime", "Console"}
)
# Prefixes of the media bucket the REST API reads and writes: the files library, import CSVs (inline or a
# presigned upload, and the rejected-rows report) and finished exports (presigned downloads).
API_OBJECT_PREFIXES = ("files/", "imports/", "exports/")
# The trigger Cognito calls while issuing tokens: it must not reference the pool it is attached to.
PRE_TOKEN_FUNCTION = "cognito_pre_token"
# Cognito user administration the api function performs for tenant admins (shared/adapters/cognito_users.py:
# invite and resend, read, role groups, enable/disable, password reset, delete), all on this stack's pool only.
USER_ADMIN_ACTIONS = (
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminListGroupsForUser",
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminRemoveUserFromGroup",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminResetUserPassword",
    "cognito-idp:AdminDeleteUser",
    "cognito-idp:ListUsers",
)
# Federation a platform operator sets up for a tenant (platform_api): create the provider, add it to the app
# client (describe, then update with every field), and delete it again when that update fails (rollback).
FEDERATION_ACTIONS = (
    "cognito-idp:CreateIdentityProvider",
    "cognito-idp:DescribeIdentityProvider",
    "cognito-idp:DeleteIdentityProvider",
    "cognito-idp:UpdateUserPoolClient",
    "cognito-idp:DescribeUserPoolClient",
)
# Prefixes of the media bucket the bot engine reads: inbound media (voice notes and images it understands,
# attachments it emails), the documents it generated, and the transcripts Transcribe wrote for it ...
BOT_READ_PREFIXES = ("media/", "bots/", "transcripts/")
# ... and writes: generated PDFs, and Transcribe's output, which Transcribe writes with the caller's permissions.
BOT_WRITE_PREFIXES = ("bots/", "transcripts/")
# The bot schedules its idle-timeout checks on its own queue with a message timer of up to the SQS maximum; the
# age of such a message counts from when it was sent, so that queue's age alarm allows for the delay on top.
SQS_MAX_DELAY_S = 900
SELF_DELAYED_QUEUES = {"bot-turn": SQS_MAX_DELAY_S, "broadcasts": SQS_MAX_DELAY_S}
# Bot settings (context key -> env var of shared/config.py Settings); absent from cdk.json, Settings' default.
BOT_CONTEXT = (
    ("bot_link_secret_name", "BOT_LINK_SECRET_NAME"),
    ("bot_secret_prefix", "BOT_SECRET_PREFIX"),
    ("openai_secret_name", "OPENAI_SECRET_NAME"),
    ("llm_model_lite", "LLM_MODEL_LITE"),
    ("llm_model_pro", "LLM_MODEL_PRO"),
    ("llm_vision_model", "LLM_VISION_MODEL"),
)
BOT_FUNCTION = "bot_turn"
# Functions that reach agents' and supervisors' WebSocket connections through the management API: pushes, the
# pong of a client's ping, and supervisors' "log the agent out" (the api closes the agent's connections).
WEBSOCKET_MANAGERS = ("realtime_push", "ws_connect", "api", "outbound_sender")  # the sender pushes to web chat
# Channel secrets the platform API creates and updates under the secret prefix (it never reads them back).
CHANNEL_SECRET_WRITE_ACTIONS = (
    "secretsmanager:CreateSecret",
    "secretsmanager:PutSecretValue",
    "secretsmanager:DescribeSecret",
    "secretsmanager:TagResource",
)


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def _function_id(name: str) -> str:
    """The construct id of a function: its PascalCase name (unchanged for the functions already deployed,
    so their logical ids stay stable), with a suffix only where it would clash with a stack construct."""
    pascal = _pascal(name)
    return f"{pascal}Function" if pascal in _STACK_CONSTRUCT_IDS else pascal


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
            schedules=SCHEDULES,
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
            spec.name: AppFunction(self, _function_id(spec.name), spec=spec, package=package, environment=environment)
            for spec in FUNCTIONS
        }
        self.functions = {name: app_fn.function for name, app_fn in self.app_functions.items()}

        operator_secret_name = self.node.get_context("operator_secret_name")
        self.identity = Identity(
            self,
            "Identity",
            pre_token_generation=self.functions[PRE_TOKEN_FUNCTION],
            operator_secret_name=operator_secret_name,
            identity_providers=[FederatedProvider.from_context(p) for p in _context_list(self, "identity_providers")],
            domain_prefix=self.node.try_get_context("cognito_domain_prefix") or None,
            callback_urls=_context_list(self, "cognito_callback_urls"),
            logout_urls=_context_list(self, "cognito_logout_urls"),
        )
        self._add_identity_environment(operator_secret_name)
        self.bot_settings = {
            env_var: str(self.node.try_get_context(key) or Settings.model_fields[key].default)
            for key, env_var in BOT_CONTEXT
        }
        self.bots = Bots(self, "Bots", link_secret_name=self.bot_settings["BOT_LINK_SECRET_NAME"])
        for key, value in self.bot_settings.items():
            self.functions[BOT_FUNCTION].add_environment(key, value)
        # The api verifies the links a bot signed (and may issue them for agents).
        self.functions["api"].add_environment("BOT_LINK_SECRET_NAME", self.bot_settings["BOT_LINK_SECRET_NAME"])

        self.api = Api(
            self,
            "Api",
            routes=ROUTES,
            functions=self.functions,
            api_name=f"{self.stack_name}-api",
            authorizer_function=self.functions["authorizer"],
        )
        Workers(self, "Workers", queues=QUEUES, queues_by_name=self.messaging.queues, functions=self.functions)
        self.realtime = Realtime(
            self,
            "Realtime",
            routes=WEBSOCKET_ROUTES,
            functions=self.functions,
            api_name=f"{self.stack_name}-ws",
            # false when the account's API Gateway settings already name a CloudWatch role (see realtime.py)
            account_logging_role=_context_flag(self, "apigateway_cloudwatch_role", default=True),
        )
        for name in WEBSOCKET_MANAGERS:
            self.functions[name].add_environment("WEBSOCKET_MANAGEMENT_URL", self.realtime.management_url)
        self.functions["webchat_api"].add_environment("WEBSOCKET_PUBLIC_URL", self.realtime.url)
        self.email = EmailReceiving(self, "Email", bucket=self.data.media_bucket, queue=self.messaging.queues["email"])
        self.workflows = Workflows(self, "WorkflowTimers", queue=self.messaging.queues["workflows"],
                                   group_name=f"{self.stack_name}-workflows")
        workflow_env = {
            "WORKFLOWS_QUEUE_ARN": self.messaging.queues["workflows"].queue_arn,
            "WORKFLOW_SCHEDULER_GROUP": self.workflows.group_name,
            "WORKFLOW_SCHEDULER_ROLE_ARN": self.workflows.role.role_arn,
            "BOT_LINK_SECRET_NAME": self.bot_settings["BOT_LINK_SECRET_NAME"],
            "BOT_SECRET_PREFIX": self.bot_settings["BOT_SECRET_PREFIX"],
        }
        for name in ("workflows", "workflow_webhook", "api"):
            for key, value in workflow_env.items():
                self.functions[name].add_environment(key, value)
        # context `sentiment_provider`: lexicon (offline, default) or comprehend (workflows' message.sentiment)
        self.sentiment_provider = str(self.node.try_get_context("sentiment_provider") or
                                      Settings.model_fields["sentiment_provider"].default)
        for name in ("workflows", "reports"):
            self.functions[name].add_environment("SENTIMENT_PROVIDER", self.sentiment_provider)
        self.analytics = Analytics(self, "Analytics", bucket=self.data.media_bucket,
                                   database_name=re.sub(r"[^a-z0-9_]", "_", f"{self.stack_name.lower()}_analytics"))
        # The agent console (infra/console/) on S3 + CloudFront; the REST API is /v1/* on the same origin.
        self.console = Console(
            self,
            "Console",
            http_stage=self.api.stage,
            websocket_stage=self.realtime.stage,
            user_pool_client=self.identity.client,
            access_log_bucket=self.data.access_log_bucket,
            stage=self.stack_name,
            upload_bucket=self.data.media_bucket,
        )
        # The console PUTs files (attachments, import CSVs) to the API's pre-signed URLs on the media bucket, so the
        # browser's preflight needs a CORS answer. Any origin: the pre-signed URL is the authorization (whoever holds
        # one can PUT with any HTTP client), and naming the console's origin here would be a dependency cycle (its
        # CSP names this bucket). Only PUT with Content-Type, what presign_put signs; downloads are plain links.
        self.data.media_bucket.add_cors_rule(
            allowed_methods=[s3.HttpMethods.PUT],
            allowed_origins=["*"],
            allowed_headers=["content-type"],
            max_age=3600,
        )
        self._grant_access(secret_prefix)
        # Errors of a function behind a queue end in its DLQ (alarmed), behind the API in a 5xx (alarmed, the
        # authorizer included); only the functions behind neither need an alarm of their own (ws_connect among
        # them: a WebSocket API reports a failed route to its client only).
        behind_queue_or_api = {q.consumer for q in QUEUES} | {r.function for r in ROUTES} | {"authorizer"}
        self.observability = Observability(
            self,
            "Observability",
            queues=self.messaging.queues,
            dead_letter_queues={**self.messaging.dead_letter_queues, "events": self.messaging.events_dlq},
            functions=self.functions,
            http_api=self.api.http_api,
            stage_name=self.api.stage.stage_name,
            api_routes=[r for r in ROUTES if r.path.startswith(("/v1/", "/platform/v1/"))],
            # A queue whose consumer may run for minutes (jobs: 300 s) holds a healthy message longer, and one
            # its consumer schedules delayed messages on (bot-turn) holds them for that delay on top.
            queue_age_thresholds_s={
                q.name: max(MAX_QUEUE_AGE_S, 2 * function_spec(q.consumer).timeout_s)
                + SELF_DELAYED_QUEUES.get(q.name, 0)
                for q in QUEUES
            },
            error_alarm_functions=[f.name for f in FUNCTIONS if f.name not in behind_queue_or_api],
            websocket_api=self.realtime.api,
            websocket_stage_name=self.realtime.stage.stage_name,
        )
        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the HTTP API")
        CfnOutput(self, "WebSocketUrl", value=self.realtime.url,
                  description="Agents' and supervisors' push channel: connect with ?token=<ID token or API key>")
        CfnOutput(self, "EmailReceiptRuleSet", value=self.email.rule_set.receipt_rule_set_name,
                  description="Activate once: aws ses set-active-receipt-rule-set --rule-set-name <this>")
        CfnOutput(self, "UserPoolId", value=self.identity.user_pool.user_pool_id,
                  description="Cognito user pool of agents and supervisors")
        CfnOutput(self, "UserPoolClientId", value=self.identity.client.user_pool_client_id,
                  description="App client of the agent console (public: SRP and USER_PASSWORD_AUTH)")
        CfnOutput(self, "ConsoleUrl", value=self.console.url,
                  description="The agent console (CloudFront): sign in with a Cognito user of the pool")
        CfnOutput(self, "OperatorSecretName", value=operator_secret_name,
                  description="Secrets Manager secret holding the platform operator key(s); read it, never log it")
        CfnOutput(self, "BotLinkSecretName", value=self.bot_settings["BOT_LINK_SECRET_NAME"],
                  description="Secrets Manager secret holding the HMAC key of the bots' signed links; never log it")

    def _add_identity_environment(self, operator_secret_name: str) -> None:
        """Cognito settings for every function but the pre-token trigger; the operator secret for the authorizer.

        The pre-token trigger is attached to the user pool (the pool references the function), so the function
        cannot reference the pool back (its id, client id or issuer) without a circular dependency. It needs
        none of them: Cognito passes the pool id and the user's attributes in every event, and the trigger
        reads federated providers' tenants from the table.
        """
        identity = self.identity
        cognito_env = {
            "USER_POOL_ID": identity.user_pool.user_pool_id,
            "USER_POOL_CLIENT_ID": identity.client.user_pool_client_id,
            "COGNITO_ISSUER": identity.issuer,
        }
        for name, function in self.functions.items():
            if name != PRE_TOKEN_FUNCTION:
                for key, value in cognito_env.items():
                    function.add_environment(key, value)
        self.functions["authorizer"].add_environment("OPERATOR_SECRET_NAME", operator_secret_name)

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

        for name in ("whatsapp_webhook", "telegram_webhook", "page_webhook", "sms_webhook"):
            webhook = fn[name]
            table.grant(webhook, "dynamodb:GetItem", "dynamodb:PutItem")  # channel lookup, quarantine record
            webhook.add_to_role_policy(read_channel_secrets)  # app secret (HMAC) / secret token to check
            queues["inbound"].grant_send_messages(webhook)
            bucket.grant_put(webhook, f"{QUARANTINE_PREFIX}*")
            _explain(
                webhook,
                table_indexes,
                channel_secrets,
                _wildcard(
                    "Action::s3:Abort*",
                    f"Resource::{bucket_arn}/{QUARANTINE_PREFIX}*",
                    reason="grant_put on the media bucket limited to the quarantine/ prefix: PutObject for "
                    "rejected webhooks, Abort* to clean up its own failed multipart uploads.",
                ),
            )

        inbound = fn["inbound_processor"]
        table.grant_read_write_data(inbound)
        bus.grant_put_events_to(inbound)
        _explain(inbound, table_indexes)

        self._grant_bot_turn(table_indexes=table_indexes, bucket_arn=bucket_arn)

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

        self._grant_channels(table_indexes, channel_secrets, read_channel_secrets, bucket_arn)

        operator_secret = self.identity.operator_secret
        user_pool = self.identity.user_pool

        authorizer = fn["authorizer"]
        # Key and tenant lookups by primary key, and the key's last-used timestamp (at most once a minute).
        table.grant(authorizer, "dynamodb:GetItem", "dynamodb:UpdateItem")
        authorizer.add_to_role_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[operator_secret.secret_arn])
        )
        _explain(authorizer, table_indexes)

        api = fn["api"]
        table.grant_read_write_data(api)  # includes Query on the GSIs, TransactWriteItems and ConditionCheck
        api.add_to_role_policy(  # verifies the signed links bots send (the key's exact ARN: no wildcard)
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[self.bots.link_secret.secret_arn])
        )
        bus.grant_put_events_to(api)
        queues["outbound"].grant_send_messages(api)  # messages sent through the API
        queues["jobs"].grant_send_messages(api)  # imports, exports and erasure run in jobs_worker
        queues["jobs"].grant_send_messages(fn["jobs_worker"])  # a long import re-queues itself
        for prefix in API_OBJECT_PREFIXES:
            # Presigned URLs act with the signer's permissions, so the role needs what the URL's holder may do.
            bucket.grant_read_write(api, f"{prefix}*")
        user_pool.grant(api, *USER_ADMIN_ACTIONS)
        _explain(
            api,
            table_indexes,
            _wildcard(
                "Action::s3:Abort*",
                "Action::s3:DeleteObject*",
                "Action::s3:GetBucket*",
                "Action::s3:GetObject*",
                "Action::s3:List*",
                *(f"Resource::{bucket_arn}/{prefix}*" for prefix in API_OBJECT_PREFIXES),
                reason="grant_read_write on the media bucket limited to the files/ (files library), imports/ "
                "(import CSVs) and exports/ (finished exports) prefixes: objects are keyed by tenant and id at "
                "runtime, and the grant's action groups (GetObject*, List*, ...) reach nothing else.",
            ),
        )

        platform = fn["platform_api"]
        table.grant_read_write_data(platform)
        platform.add_to_role_policy(
            iam.PolicyStatement(actions=list(CHANNEL_SECRET_WRITE_ACTIONS), resources=[secrets_arn])
        )
        user_pool.grant(platform, *FEDERATION_ACTIONS)
        email_identities = self.format_arn(service="ses", resource="identity", resource_name="*")
        platform.add_to_role_policy(iam.PolicyStatement(
            actions=["ses:CreateEmailIdentity", "ses:GetEmailIdentity"], resources=[email_identities]))
        _explain(
            platform,
            table_indexes,
            _wildcard(
                f"Resource::{email_identities}",
                reason="Connecting an email channel creates (or reads) the SES identity of the tenant's domain, "
                "known only at runtime; only these two actions.",
            ),
            _wildcard(
                f"Resource::{secrets_arn}",
                reason=f"The platform API creates and updates channel secrets as {secret_prefix}/<tenant>/<channel> "
                "(plus the random suffix Secrets Manager appends), so only the name prefix is known; it can "
                "create, update, describe and tag them but not read their values.",
            ),
        )

        jobs = fn["jobs_worker"]
        table.grant_read_write_data(jobs)
        bucket.grant_read_write(jobs)  # imports and exports, and erasure of a contact's media
        bus.grant_put_events_to(jobs)
        _explain(
            jobs,
            table_indexes,
            _wildcard(
                "Action::s3:Abort*",
                "Action::s3:DeleteObject*",
                "Action::s3:GetBucket*",
                "Action::s3:GetObject*",
                "Action::s3:List*",
                f"Resource::{bucket_arn}/*",
                reason="grant_read_write on the one media bucket: jobs read imports, write exports and erase a "
                "contact's media (every version: DeleteObject* includes DeleteObjectVersion), keyed by tenant at "
                "runtime; the grant's action groups only reach this bucket.",
            ),
        )

        dispatcher = fn["webhook_dispatcher"]
        # Subscriptions, delivery attempts and signing secrets live in the table; deliveries go to external
        # HTTPS URLs over the internet, so the function has no VPC and no other AWS access.
        table.grant_read_write_data(dispatcher)
        _explain(dispatcher, table_indexes)

        meter = fn["usage_meter"]
        # Session marks, pricing markers, CBP windows and the monthly counters (transactions of Put + Update);
        # markers and windows expire by TTL. Quotas: the tenant's plan (GetItem), the month's sessions (Query), the
        # alert markers (conditional Put; Delete only releases a marker whose alert could not be published) and
        # the QuotaThresholdReached event on the bus.
        table.grant(meter, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query",
                    "dynamodb:DeleteItem")
        bus.grant_put_events_to(meter)
        _explain(meter, table_indexes)

        reports = fn["reports"]
        # Markers, conversation facts and their closed-day rows (deleted on reopen), threads, agents' marks and
        # timelines, hourly counters (transactions of Put + Update + Delete); campaigns are read for their hours.
        table.grant(reports, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                    "dynamodb:Query")
        bucket.grant_put(reports, "analytics/*")  # the BI export's daily files
        _explain(reports, table_indexes, _wildcard(
            "Action::s3:Abort*", f"Resource::{bucket_arn}/analytics/*",
            reason="grant_put limited to the analytics/ prefix: the BI export's files are keyed by table, tenant and "
            "day at runtime (analytics/<table>/tenant_id=<t>/dt=<day>/)."))

        pre_token = fn[PRE_TOKEN_FUNCTION]
        table.grant_read_data(pre_token)  # the user's tenant and roles
        _explain(pre_token, table_indexes)

        self._grant_contact_center(table_indexes)
        self._grant_workflows(table_indexes)
        self._grant_broadcasts(table_indexes, channel_secrets, read_channel_secrets, bucket_arn)

    def _grant_broadcasts(self, table_indexes: NagPackSuppression, channel_secrets: NagPackSuppression,
                          read_channel_secrets: iam.PolicyStatement, bucket_arn: str) -> None:
        """Templates (the API syncs and submits them with the channel's token) and the broadcast worker."""
        table, bus, fn, queues, bucket = (self.data.table, self.messaging.bus, self.functions,
                                          self.messaging.queues, self.data.media_bucket)
        api = fn["api"]
        api.add_to_role_policy(read_channel_secrets)  # template sync, create and delete at Meta
        queues["broadcasts"].grant_send_messages(api)  # prepare, start, resume, retry
        _explain(api, channel_secrets)

        worker = fn["broadcast_worker"]
        table.grant_read_write_data(worker)  # recipients, claims and counters in transactions; the rate slots
        worker.add_to_role_policy(read_channel_secrets)  # the channel's token for the Graph API
        bus.grant_put_events_to(worker)
        queues["broadcasts"].grant_send_messages(worker)  # buckets, continuations and retries
        bucket.grant_read(worker, "files/*")  # uploaded audience lists (files library)
        _explain(
            worker,
            table_indexes,
            channel_secrets,
            _wildcard(
                "Action::s3:GetBucket*",
                "Action::s3:GetObject*",
                "Action::s3:List*",
                f"Resource::{bucket_arn}/files/*",
                reason="grant_read on the media bucket limited to the files/ prefix: audience lists uploaded "
                "through the files API, keyed by tenant and file id at runtime.",
            ),
        )

    def _grant_channels(self, table_indexes: NagPackSuppression, channel_secrets: NagPackSuppression,
                        read_channel_secrets: iam.PolicyStatement, bucket_arn: str) -> None:
        """Web chat's public API and visitors' connections, the email processor and the sender's SES sends."""
        table, bucket, queues, fn = self.data.table, self.data.media_bucket, self.messaging.queues, self.functions
        webchat = fn["webchat_api"]
        table.grant_read_data(webchat)  # the channel, the visitor's thread timeline (gsi1), one message
        webchat.add_to_role_policy(read_channel_secrets)  # the channel's token key and identity secret
        queues["inbound"].grant_send_messages(webchat)
        _explain(webchat, table_indexes, channel_secrets)
        fn["ws_connect"].add_to_role_policy(read_channel_secrets)  # visitors' session tokens
        _explain(fn["ws_connect"], channel_secrets)

        email = fn["email_processor"]
        table.grant_read_write_data(email)  # channels by address, Message-ID threading items
        bucket.grant_read(email, f"{INBOUND_EMAIL_PREFIX}*")
        bucket.grant_put(email, "media/*")  # attachments, beside every channel's media
        queues["inbound"].grant_send_messages(email)
        _explain(email, table_indexes, _wildcard(
            "Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*", "Action::s3:Abort*",
            f"Resource::{bucket_arn}/{INBOUND_EMAIL_PREFIX}*", f"Resource::{bucket_arn}/media/*",
            reason="Read the raw messages SES stored under inbound-email/ (keys are SES message ids) and write "
            "their attachments under media/ (keys by tenant and message at runtime); nothing else of the bucket."))

        sender = fn["outbound_sender"]
        identities = self.format_arn(service="ses", resource="identity", resource_name="*")
        sets = self.format_arn(service="ses", resource="configuration-set", resource_name="*")
        sender.add_to_role_policy(iam.PolicyStatement(actions=["ses:SendEmail"],  # SES v2 SendEmail, raw content too
                                                      resources=[identities, sets]))
        _explain(sender, _wildcard(
            f"Resource::{identities}", f"Resource::{sets}",
            reason="Email channels are connected at runtime with the tenant's own verified domain or address, so "
            "the sender may send from any verified SES identity of this account (and name a configuration set); "
            "SES itself refuses unverified ones."))

    def _grant_contact_center(self, table_indexes: NagPackSuppression) -> None:
        """The router (routing, the waiting queues, agents' presence) and the WebSocket push channel."""
        table, bus, fn = self.data.table, self.messaging.bus, self.functions

        router = fn["router"]
        # Campaigns, presence, queue entries and conversations change in TransactWriteItems with conditions.
        table.grant_read_write_data(router)
        bus.grant_put_events_to(router)  # ConversationQueued/Assigned/..., AgentStatusChanged
        self.messaging.queues["outbound"].grant_send_messages(router)  # the campaigns' messages to customers
        _explain(router, table_indexes)

        # how cdk-nag spells the grant's resource: the API id (a Ref) as <LogicalId>
        connections_arn = self.format_arn(service="execute-api", resource=f"<{self._logical_id(self.realtime.api)}>")
        manage_connections = _wildcard(
            f"Resource::{connections_arn}/{self.realtime.stage.stage_name}/*/@connections/*",
            reason="execute-api:ManageConnections on this WebSocket API's stage only: connection ids are issued by "
            "API Gateway at runtime (POST/GET/DELETE @connections/<id>), so the id and method are wildcards.",
        )
        for name in WEBSOCKET_MANAGERS:
            self.realtime.grant_manage_connections(fn[name])

        push = fn["realtime_push"]
        table.grant_read_data(push)  # the tenant's connections (Query) and campaigns' members (GetItem)
        table.grant(push, "dynamodb:DeleteItem")  # connections the management API reports gone
        _explain(push, table_indexes, manage_connections)

        ws = fn["ws_connect"]
        # Tenant credentials only (the operator secret is never read on /v1): key and tenant lookups, the key's
        # last-used time; the connection and its lookup item (TransactWriteItems of two puts), and their deletion.
        table.grant(ws, "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
        _explain(ws, table_indexes, manage_connections)

        _explain(fn["api"], manage_connections)
        _explain(fn["outbound_sender"], manage_connections)  # web chat: the visitor's open widgets

    def _grant_workflows(self, table_indexes: NagPackSuppression) -> None:
        """The workflow engine (shared/wiring.py workflow_service) acts through the platform's services: the table
        (definitions, executions, contacts, conversations, routing), events, the outbound and its own queue, its
        Scheduler group (waits), the link key (webhook URLs), integration secrets (HTTP steps) and SES (emails).
        The public webhook only reads the workflow and enqueues; the api also enqueues manual runs."""
        table, bus, queues = self.data.table, self.messaging.bus, self.messaging.queues
        engine, hook, api = self.functions["workflows"], self.functions["workflow_webhook"], self.functions["api"]
        table.grant_read_write_data(engine)
        bus.grant_put_events_to(engine)
        queues["outbound"].grant_send_messages(engine)
        queues["workflows"].grant_send_messages(engine)  # continuations, trigger-another-workflow, cron fan-out
        engine.add_to_role_policy(iam.PolicyStatement(actions=["scheduler:CreateSchedule"],
                                                      resources=[self.workflows.schedules_arn]))
        engine.add_to_role_policy(iam.PolicyStatement(actions=["iam:PassRole"],
                                                      resources=[self.workflows.role.role_arn]))
        bot_secrets_arn = self._secret_arn(f"{self.bot_settings['BOT_SECRET_PREFIX']}/*")
        engine.add_to_role_policy(iam.PolicyStatement(
            actions=["secretsmanager:GetSecretValue"], resources=[bot_secrets_arn, self.bots.link_secret.secret_arn]))
        ses_identities = self.format_arn(service="ses", resource="identity", resource_name="*")
        engine.add_to_role_policy(iam.PolicyStatement(actions=["ses:SendRawEmail"], resources=[ses_identities]))
        if self.sentiment_provider == "comprehend":
            for scorer in (engine, self.functions["reports"]):  # workflows' conditions, reports' per-message score
                scorer.add_to_role_policy(iam.PolicyStatement(
                    actions=["comprehend:DetectSentiment", "comprehend:BatchDetectSentiment"], resources=["*"]))
                _explain(scorer, _wildcard("Resource::*", reason="comprehend:DetectSentiment/BatchDetectSentiment "
                                           "act on text, not on a resource: they accept no resource ARN "
                                           "(only granted with the context sentiment_provider=comprehend)."))
        _explain(
            engine,
            table_indexes,
            _wildcard(
                f"Resource::{self.workflows.schedules_arn}",
                reason="One-time schedules are created per execution and step at runtime, named <execution>-<seq>, "
                "only inside this stack's workflows schedule group; CreateSchedule is the only action.",
            ),
            _wildcard(
                f"Resource::{bot_secrets_arn}",
                reason=f"HTTP steps read integration secrets created per tenant at runtime as "
                f"{self.bot_settings['BOT_SECRET_PREFIX']}/<tenant>/<name>; GetSecretValue only.",
            ),
            _wildcard(
                f"Resource::{ses_identities}",
                reason="Send-email steps send from the platform's verified sender identity, known at runtime; "
                "SendRawEmail only, only identities of this account and region.",
            ),
        )
        # the workflow of the hook, and the contact it names (identity lookups Query the table)
        table.grant(hook, "dynamodb:GetItem", "dynamodb:Query")
        queues["workflows"].grant_send_messages(hook)
        hook.add_to_role_policy(iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"],
                                                    resources=[self.bots.link_secret.secret_arn]))
        _explain(hook, table_indexes)
        queues["workflows"].grant_send_messages(api)  # manual runs

    def _grant_bot_turn(self, *, table_indexes: NagPackSuppression, bucket_arn: str) -> None:
        """The bot engine (shared/wiring.py bot_runtime): sessions and logs in the table, replies to the outbound
        queue, its own idle-timeout checks, events, media and documents in S3, integration and link secrets, and
        the AI and delivery services a bot may use (Bedrock, Transcribe, SES, SNS)."""
        table, bucket, bus = self.data.table, self.data.media_bucket, self.messaging.bus
        bot, own_queue = self.functions[BOT_FUNCTION], self.messaging.queues["bot-turn"]
        settings = self.bot_settings

        # Sessions and pending turns (conditional writes, TransactWriteItems), logs, version bindings (BatchGetItem),
        # contacts read, and conversations closed by a bot.
        table.grant_read_write_data(bot)
        bus.grant_put_events_to(bot)  # HandoffRequested, BotSessionEnded, ConversationClosed
        self.messaging.queues["outbound"].grant_send_messages(bot)  # the bot's replies
        # Idle-timeout checks the bot schedules to itself (message timers); coalescing and backoff stretch the
        # visibility of a record instead of re-sending it (the event source grants that too; stated here because
        # the bot depends on it).
        own_queue.grant_send_messages(bot)
        own_queue.grant(bot, "sqs:ChangeMessageVisibility")

        bot.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{p}*") for p in BOT_READ_PREFIXES]
            )
        )
        bot.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{p}*") for p in BOT_WRITE_PREFIXES]
            )
        )

        bot_secrets_arn = self._secret_arn(f"{settings['BOT_SECRET_PREFIX']}/*")
        # One named secret: Secrets Manager appends "-" and six random characters to the name in its ARN, matched
        # by exactly six "?" (no "*": a secret named openai-key-other stays out of reach).
        openai_secret_arn = self._secret_arn(f"{settings['OPENAI_SECRET_NAME']}-??????")
        bot.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[bot_secrets_arn, self.bots.link_secret.secret_arn, openai_secret_arn],
            )
        )

        # Converse is authorized by bedrock:InvokeModel. Models in this region directly or through an inference
        # profile of this account; a cross-region profile routes to the same model in other regions, which is
        # allowed only through such a profile (requests that name a model directly carry no profile ARN).
        foundation_models = self.format_arn(service="bedrock", account="", resource="foundation-model",
                                            resource_name="*")
        inference_profiles = self.format_arn(service="bedrock", resource="inference-profile", resource_name="*")
        routed_models = self.format_arn(service="bedrock", region="*", account="", resource="foundation-model",
                                        resource_name="*")
        bot.add_to_role_policy(
            iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[foundation_models, inference_profiles])
        )
        bot.add_to_role_policy(
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel"],
                resources=[routed_models],
                conditions={"StringLike": {"bedrock:InferenceProfileArn": inference_profiles}},
            )
        )
        # Voice notes: batch transcription jobs; Transcribe reads the audio and writes the transcript to the media
        # bucket with this role's permissions (media/* read, transcripts/* write above).
        bot.add_to_role_policy(
            iam.PolicyStatement(
                actions=["transcribe:StartTranscriptionJob", "transcribe:GetTranscriptionJob"], resources=["*"]
            )
        )
        ses_identities = self.format_arn(service="ses", resource="identity", resource_name="*")
        bot.add_to_role_policy(iam.PolicyStatement(actions=["ses:SendRawEmail"], resources=[ses_identities]))
        bot.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))  # SMS to a number

        _explain(
            bot,
            table_indexes,
            _wildcard(
                *(f"Resource::{bucket_arn}/{p}*" for p in sorted(set(BOT_READ_PREFIXES) | set(BOT_WRITE_PREFIXES))),
                reason="Object keys carry tenant and ids known only at runtime: GetObject on media/ (inbound voice "
                "notes, images, attachments), bots/ and transcripts/; PutObject only on bots/ (generated PDFs) and "
                "transcripts/ (Transcribe writes its output with the caller's permissions). No List, no Delete.",
            ),
            _wildcard(
                f"Resource::{bot_secrets_arn}",
                reason=f"Integration secrets are created per tenant at runtime as {settings['BOT_SECRET_PREFIX']}/"
                "<tenant>/<name> (plus the random suffix Secrets Manager appends), so only the name prefix is "
                "known; GetSecretValue is the only action.",
            ),
            _wildcard(
                f"Resource::{foundation_models}",
                f"Resource::{inference_profiles}",
                f"Resource::{routed_models}",
                reason="Model ids are per-bot and per-tenant configuration (lite, pro, vision or a bot's own model), "
                "so no model list is known at deploy time. InvokeModel only; other regions' models only through an "
                "inference profile of this account (bedrock:InferenceProfileArn condition).",
            ),
            _wildcard(
                f"Resource::{ses_identities}",
                reason="Bots email from the sender each tenant configured, an SES identity verified in this account "
                "at runtime; SendRawEmail only, and only from identities of this account and region.",
            ),
            _wildcard(
                "Resource::*",
                reason="transcribe:StartTranscriptionJob/GetTranscriptionJob (job names are generated per voice "
                "note) and sns:Publish to a phone number (SMS has no topic ARN) are only authorized with Resource *.",
            ),
        )

    def _secret_arn(self, resource_name: str) -> str:
        return self.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=resource_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _logical_id(self, construct: Construct) -> str:
        default_child = construct.node.default_child
        assert isinstance(default_child, CfnElement)
        return self.get_logical_id(default_child)

    def _arn_ref(self, construct: Construct) -> str:
        """How cdk-nag spells a resource's Arn attribute in findings: <LogicalId.Arn>."""
        return f"<{self._logical_id(construct)}.Arn>"


def _context_list(scope: Construct, key: str) -> list[Any]:
    """A list-valued context entry; `-c key='[...]'` on the command line arrives as a JSON string."""
    value = scope.node.try_get_context(key) or []
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list):
        raise ValueError(f"context {key} must be a list, got {value!r}")
    return value


def _context_flag(scope: Construct, key: str, *, default: bool) -> bool:
    """A boolean context entry; `-c key=false` on the command line arrives as a string."""
    value = scope.node.try_get_context(key)
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "")
    return bool(value)


def _wildcard(*applies_to: str, reason: str) -> NagPackSuppression:
    return NagPackSuppression(id="AwsSolutions-IAM5", reason=reason, applies_to=list(applies_to))


def _explain(function: lambda_.IFunction, *suppressions: NagPackSuppression) -> None:
    assert function.role is not None
    NagSuppressions.add_resource_suppressions(function.role, list(suppressions), apply_to_children=True)
