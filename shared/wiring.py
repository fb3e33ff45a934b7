"""Composition: build services from settings with the AWS adapters. Handlers cache these; tests replace them.

Imports live inside each builder so that a function's cold start loads only the adapters it uses
(the webhook never imports httpx, the bot turn never imports the Graph client).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from shared.config import Settings

if TYPE_CHECKING:

    from shared.adapters.channels import CachedChannelDirectory
    from shared.adapters.dynamodb import DynamoChannels, DynamoMessageStore
    from shared.adapters.dynamodb_crm import DynamoContactStore
    from shared.adapters.dynamodb_tenancy import DynamoTenancy
    from shared.adapters.eventbridge import EventBridgePublisher
    from shared.adapters.graph import GraphWhatsAppClient
    from shared.adapters.jwt_verifier import CognitoJwtVerifier
    from shared.adapters.sqs import SqsRetryDelayer
    from shared.models.events import TenantEvent
    from shared.ports import EventPublisher
    from shared.services.addons import ImageDescriber, Transcriber
    from shared.services.auth import Authenticator
    from shared.services.bot_runtime import BotRuntime
    from shared.services.bots import BotService
    from shared.services.broadcast_sender import BucketResult
    from shared.services.broadcast_tracking import BroadcastTracking
    from shared.services.broadcasts import BroadcastService
    from shared.services.channel_menus import ChannelMenuService
    from shared.services.comments import CommentService
    from shared.services.contact_center import ContactCenterService
    from shared.services.contacts import ContactService
    from shared.services.conversations import ConversationService
    from shared.services.costs import CostService, OperationCounts
    from shared.services.crm_link import InboundCrm
    from shared.services.email_channel import EmailDelivery, EmailIngestService
    from shared.services.erasure import ErasureService
    from shared.services.files import FileService
    from shared.services.generative import LlmProvider
    from shared.services.inbound import InboundService
    from shared.services.ingest import IngestService
    from shared.services.integrations import IntegrationRunner
    from shared.services.jobs import JobService
    from shared.services.media import MediaService
    from shared.services.outbound import SenderService
    from shared.services.platform import PlatformService
    from shared.services.quotas import QuotaService, Resource
    from shared.services.realtime import Pusher, RealtimeService
    from shared.services.report_exports import ReportExports
    from shared.services.reports import ReportAggregator
    from shared.services.routing import RoutingService
    from shared.services.segment_service import SegmentService
    from shared.services.sentiment import SentimentAnalyzer
    from shared.services.templates import TemplateService
    from shared.services.usage import UsageMeter
    from shared.services.users import UserService
    from shared.services.webchat import VisitorPush, WebChatService
    from shared.services.webhooks import WebhookService
    from shared.services.workflows import WorkflowService


def _directory(settings: Settings) -> CachedChannelDirectory:
    from shared.adapters import aws
    from shared.adapters.channels import CachedChannelDirectory
    from shared.adapters.dynamodb import DynamoChannels

    return CachedChannelDirectory(DynamoChannels(aws.table(settings.table_name)), aws.client("secretsmanager"),
                                  ttl_s=settings.channel_cache_ttl_s)


def _store(settings: Settings) -> DynamoMessageStore:
    from shared.adapters import aws
    from shared.adapters.dynamodb import DynamoMessageStore
    from shared.adapters.dynamodb_tenancy import CachedTenantPlans

    return DynamoMessageStore(aws.table(settings.table_name), retention_days=settings.message_retention_days,
                              tenant_retention_days=CachedTenantPlans(tenancy(settings)).retention_days)


def _graph(settings: Settings) -> GraphWhatsAppClient:
    from shared.adapters.graph import GraphWhatsAppClient

    return GraphWhatsAppClient(base_url=settings.graph_base_url, api_version=settings.graph_api_version,
                               timeout_s=settings.graph_timeout_s)


def _events(settings: Settings) -> EventBridgePublisher:
    from shared.adapters import aws
    from shared.adapters.eventbridge import EventBridgePublisher

    return EventBridgePublisher(aws.client("events"), settings.bus_name)


def ingest_service(settings: Settings) -> IngestService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb import DynamoQuarantineIndex
    from shared.adapters.s3 import S3BlobStore, S3Quarantine
    from shared.adapters.sqs import SqsInboundQueue
    from shared.services.ingest import IngestService

    blobs = S3BlobStore(aws.client("s3"), settings.media_bucket)
    return IngestService(
        directory=_directory(settings),
        queue=SqsInboundQueue(aws.client("sqs"), settings.inbound_queue_url),
        quarantine=S3Quarantine(blobs, DynamoQuarantineIndex(aws.table(settings.table_name))),
        clock=SystemClock(), max_body_bytes=settings.max_webhook_bytes)


def inbound_service(settings: Settings) -> InboundService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_comments import DynamoComments
    from shared.services.inbound import InboundService

    return InboundService(store=_store(settings), events=_events(settings), clock=SystemClock(),
                          service_window=timedelta(seconds=settings.service_window_s), crm=_inbound_crm(settings),
                          broadcasts=broadcast_tracking(settings),
                          health=template_service(settings, manages_meta=False),
                          comments=DynamoComments(aws.table(settings.table_name)))


def comment_service(settings: Settings) -> CommentService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_comments import DynamoComments
    from shared.adapters.sqs import SqsOutboundQueue
    from shared.services.comments import CommentService

    return CommentService(store=DynamoComments(aws.table(settings.table_name)), directory=_directory(settings),
                          outbound=SqsOutboundQueue(aws.client("sqs"), settings.outbound_queue_url),
                          clock=SystemClock())


def _inbound_crm(settings: Settings) -> InboundCrm:
    from shared.adapters import aws
    from shared.adapters.dynamodb_conversations import DynamoConversations
    from shared.services.crm_link import InboundCrm

    return InboundCrm(contacts=contact_service(settings), links=_contact_store(settings),
                      conversations=DynamoConversations(aws.table(settings.table_name)))


def _contact_store(settings: Settings) -> DynamoContactStore:
    from shared.adapters import aws
    from shared.adapters.dynamodb_crm import DynamoContactStore

    return DynamoContactStore(aws.table(settings.table_name), activity_retention_days=settings.message_retention_days)


def channels(settings: Settings) -> DynamoChannels:
    from shared.adapters import aws
    from shared.adapters.dynamodb import DynamoChannels

    return DynamoChannels(aws.table(settings.table_name))


def tenancy(settings: Settings) -> DynamoTenancy:
    from shared.adapters import aws
    from shared.adapters.dynamodb_tenancy import DynamoTenancy

    return DynamoTenancy(aws.table(settings.table_name))


def contact_service(settings: Settings) -> ContactService:
    from shared.adapters.clock import SystemClock
    from shared.services.contacts import ContactService

    return ContactService(store=_contact_store(settings), tenants=tenancy(settings), events=_events(settings),
                          clock=SystemClock(), quotas=quota_service(settings))


def conversation_service(settings: Settings) -> ConversationService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_conversations import DynamoConversations
    from shared.adapters.sqs import SqsOutboundQueue
    from shared.services.conversations import ConversationService

    table = aws.table(settings.table_name)
    return ConversationService(
        store=DynamoConversations(table), threads=_store(settings), contacts=_contact_store(settings),
        channels=channels(settings), closer=routing_service(settings),
        outbound=SqsOutboundQueue(aws.client("sqs"), settings.outbound_queue_url), clock=SystemClock(),
        service_window=timedelta(seconds=settings.service_window_s))


class _ReportingPublisher:
    """The bus publisher, telling `after` what the bus took (a function's metrics on events a service computed)."""

    def __init__(self, inner: EventPublisher, after: Callable[[Sequence[TenantEvent]], None]) -> None:
        self._inner = inner
        self._after = after

    def publish(self, events: Sequence[TenantEvent]) -> None:
        self._inner.publish(events)
        self._after(events)


def routing_service(settings: Settings, *, published: Callable[[Sequence[TenantEvent]], None] | None = None
                    ) -> RoutingService:
    """The contact center's routing (router function; the api for agents' and supervisors' operations).

    published: told of each batch of events once the bus took it (the router counts assignments and their waits).
    """
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_bots import DynamoBotControl
    from shared.adapters.dynamodb_contact_center import DynamoContactCenter
    from shared.adapters.dynamodb_conversations import DynamoConversations
    from shared.adapters.sqs import SqsOutboundQueue
    from shared.services.routing import RoutingService

    table = aws.table(settings.table_name)
    return RoutingService(
        store=DynamoContactCenter(table), conversations=DynamoConversations(table), threads=_store(settings),
        contacts=_contact_store(settings), bots=DynamoBotControl(table),
        outbound=SqsOutboundQueue(aws.client("sqs"), settings.outbound_queue_url),
        events=_events(settings) if published is None else _ReportingPublisher(_events(settings), published),
        clock=SystemClock(), service_window=timedelta(seconds=settings.service_window_s))


def contact_center_service(settings: Settings) -> ContactCenterService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_contact_center import DynamoContactCenter
    from shared.adapters.dynamodb_conversations import DynamoConversations
    from shared.adapters.dynamodb_users import DynamoUserIndex
    from shared.adapters.sqs import SqsOutboundQueue
    from shared.services.contact_center import ContactCenterService

    table = aws.table(settings.table_name)
    return ContactCenterService(
        store=DynamoContactCenter(table), routing=routing_service(settings), messages=DynamoConversations(table),
        threads=_store(settings), contacts=_contact_store(settings), users=DynamoUserIndex(table),
        outbound=SqsOutboundQueue(aws.client("sqs"), settings.outbound_queue_url), events=_events(settings),
        clock=SystemClock(), channels=_directory(settings),
        service_window=timedelta(seconds=settings.service_window_s), files=file_service(settings))


def authenticator(settings: Settings) -> Authenticator:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_tenancy import SecretOperatorKeys
    from shared.services.auth import Authenticator

    store = tenancy(settings)
    return Authenticator(keys=store, tenants=store, clock=SystemClock(), jwt=jwt_verifier(settings),
                         operators=SecretOperatorKeys(aws.client("secretsmanager"), settings.operator_secret_name))


def sender_service(settings: Settings) -> SenderService:
    from shared.adapters.clock import SystemClock
    from shared.adapters.telegram import BotApiClient
    from shared.adapters.twilio import TwilioClient
    from shared.services.outbound import RetryPolicy, SenderService

    graph = _graph(settings)
    return SenderService(
        directory=_directory(settings), store=_store(settings), client=graph, pages=graph, events=_events(settings),
        clock=SystemClock(), sms=TwilioClient(base_url=settings.twilio_base_url, timeout_s=settings.graph_timeout_s),
        telegram=BotApiClient(base_url=settings.telegram_base_url, timeout_s=settings.graph_timeout_s),
        retry=RetryPolicy(max_attempts=settings.outbound_max_attempts, base_delay_s=settings.retry_base_delay_s,
                          max_delay_s=settings.retry_max_delay_s),
        service_window=timedelta(seconds=settings.service_window_s),
        webchat=_visitor_push(settings), email=_email_delivery(settings))


def _pusher(settings: Settings) -> Pusher:
    """Posts to WebSocket connections through the API's management endpoint; without WEBSOCKET_MANAGEMENT_URL
    there is no WebSocket API, and nothing is pushed."""
    from shared.adapters.websocket import ApiGatewayPusher, management_client
    from shared.services.realtime import NoPusher

    url = settings.websocket_management_url
    return ApiGatewayPusher(management_client(url)) if url else NoPusher()


def _visitor_push(settings: Settings) -> VisitorPush:
    from shared.adapters import aws
    from shared.adapters.dynamodb_webchat import DynamoVisitorConnections
    from shared.services.webchat import VisitorPush

    return VisitorPush(DynamoVisitorConnections(aws.table(settings.table_name)), _pusher(settings))


def _email_delivery(settings: Settings) -> EmailDelivery:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.email import DynamoEmailThreads, SesRawMailer
    from shared.services.email_channel import EmailDelivery

    return EmailDelivery(threads=DynamoEmailThreads(aws.table(settings.table_name)),
                         sender=SesRawMailer(aws.client("sesv2"),
                                             configuration_set=settings.ses_configuration_set or None),
                         region=settings.ses_region, clock=SystemClock())


def webchat_service(settings: Settings) -> WebChatService:
    """The web chat's public API (webchat_api) and visitors' WebSocket connections (ws_connect)."""
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_webchat import DynamoVisitorConnections
    from shared.adapters.sqs import SqsInboundQueue
    from shared.services.webchat import WebChatService

    return WebChatService(directory=_directory(settings),
                          queue=SqsInboundQueue(aws.client("sqs"), settings.inbound_queue_url),
                          history=_store(settings),
                          connections=DynamoVisitorConnections(aws.table(settings.table_name)),
                          clock=SystemClock(), websocket_url=settings.websocket_public_url)


def email_ingest_service(settings: Settings) -> EmailIngestService:
    """SES receipt notifications (email_processor) to inbound units."""
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.email import DynamoEmailThreads, S3RawEmails
    from shared.adapters.s3 import S3BlobStore
    from shared.adapters.sqs import SqsInboundQueue
    from shared.services.email_channel import EmailIngestService

    s3 = aws.client("s3")
    return EmailIngestService(directory=_directory(settings),
                              raw=S3RawEmails(s3, S3BlobStore(s3, settings.media_bucket)),
                              threads=DynamoEmailThreads(aws.table(settings.table_name)),
                              queue=SqsInboundQueue(aws.client("sqs"), settings.inbound_queue_url),
                              clock=SystemClock())


def media_service(settings: Settings) -> MediaService:
    from shared.adapters import aws
    from shared.adapters.http_media import HttpMediaDownloader
    from shared.adapters.s3 import S3BlobStore
    from shared.adapters.telegram import BotApiClient
    from shared.services.media import MediaLimits, MediaService

    return MediaService(directory=_directory(settings), client=_graph(settings),
                        blobs=S3BlobStore(aws.client("s3"), settings.media_bucket), store=_store(settings),
                        limits=MediaLimits(max_bytes=settings.media_max_bytes,
                                           allowed_mime_prefixes=settings.media_allowed_mime_prefixes),
                        downloader=HttpMediaDownloader(timeout_s=settings.graph_timeout_s),
                        telegram=BotApiClient(base_url=settings.telegram_base_url, timeout_s=settings.graph_timeout_s),
                        telegram_base_url=settings.telegram_base_url,
                        insecure_local_hosts=settings.media_insecure_hosts)


def retry_delayer() -> SqsRetryDelayer:
    from shared.adapters import aws
    from shared.adapters.sqs import SqsRetryDelayer

    return SqsRetryDelayer(aws.client("sqs"), os.environ.get("AWS_ENDPOINT_URL"))


def segment_service(settings: Settings) -> SegmentService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_crm import DynamoSegments
    from shared.services.segment_service import SegmentService

    return SegmentService(store=DynamoSegments(aws.table(settings.table_name)), contacts=contact_service(settings),
                          clock=SystemClock())


def platform_service(settings: Settings) -> PlatformService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_tenancy import SecretsManagerWriter
    from shared.adapters.email import SesIdentities
    from shared.adapters.telegram import BotApiClient
    from shared.adapters.twilio import TwilioClient
    from shared.services.platform import PlatformService

    bot_api = BotApiClient(base_url=settings.telegram_base_url, timeout_s=settings.graph_timeout_s)
    return PlatformService(tenants=tenancy(settings), channels=channels(settings),
                           secrets_=SecretsManagerWriter(aws.client("secretsmanager")), clock=SystemClock(),
                           secret_prefix=settings.secret_prefix, telegram=bot_api, pages=_graph(settings),
                           twilio=TwilioClient(base_url=settings.twilio_base_url, timeout_s=settings.graph_timeout_s),
                           email_identities=SesIdentities(aws.client("sesv2")), ses_region=settings.ses_region)


def webhook_service(settings: Settings) -> WebhookService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_webhooks import DynamoWebhookStore
    from shared.adapters.http_webhooks import HttpxWebhookSender, resolve_host
    from shared.services.webhooks import RetryPolicy, WebhookService

    allow = frozenset(h.strip().lower() for h in settings.webhooks_allow_private_hosts.split(",") if h.strip())
    return WebhookService(
        store=DynamoWebhookStore(aws.table(settings.table_name),
                                 retention_days=settings.webhooks_delivery_retention_days),
        sender=HttpxWebhookSender(timeout_s=settings.webhooks_timeout_s), clock=SystemClock(),
        resolver=resolve_host, allow_private=allow, max_subscriptions=settings.webhooks_max_subscriptions,
        retry=RetryPolicy(max_attempts=settings.webhooks_max_attempts,
                          base_delay_s=settings.webhooks_retry_base_delay_s,
                          max_delay_s=settings.webhooks_retry_max_delay_s),
        min_time_left_s=settings.webhooks_timeout_s + 3)



def jwt_verifier(settings: Settings) -> CognitoJwtVerifier | None:
    """Agents' JWTs from the Cognito user pool; None when no pool is configured (API keys only)."""
    from shared.adapters.jwt_verifier import CognitoJwtVerifier

    if not settings.user_pool_client_id or not (settings.cognito_issuer or settings.user_pool_id):
        return None
    region = settings.user_pool_id.split("_", 1)[0] or os.environ.get("AWS_REGION", "us-east-1")
    issuer = settings.cognito_issuer or f"https://cognito-idp.{region}.amazonaws.com/{settings.user_pool_id}"
    endpoint = os.environ.get("AWS_ENDPOINT_URL")  # local (moto server) serves the pool's JWKS itself
    jwks_url = f"{endpoint.rstrip('/')}/{issuer.rsplit('/', 1)[-1]}/.well-known/jwks.json" if endpoint else None
    return CognitoJwtVerifier(issuer, settings.user_pool_client_id, jwks_url=jwks_url)


def user_service(settings: Settings) -> UserService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.cognito_users import CognitoUserDirectory
    from shared.adapters.dynamodb_users import DynamoUserIndex
    from shared.services.users import UserService

    return UserService(directory=CognitoUserDirectory(aws.client("cognito-idp"), settings.user_pool_id,
                                                      app_client_id=settings.user_pool_client_id),
                       index=DynamoUserIndex(aws.table(settings.table_name)), clock=SystemClock(),
                       configured=bool(settings.user_pool_id), quotas=_QuotasOnFirstUse(settings))



def file_service(settings: Settings) -> FileService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_files import DynamoFileStore
    from shared.adapters.s3_files import S3FileStorage
    from shared.services.files import FileService

    return FileService(store=DynamoFileStore(aws.table(settings.table_name)),
                       storage=S3FileStorage(aws.presigning_client(), settings.media_bucket),
                       clock=SystemClock(), quota_bytes=settings.files_quota_bytes)



def erasure_service(settings: Settings) -> ErasureService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_jobs import DynamoErasure, DynamoJobStore
    from shared.adapters.sqs_jobs import S3JobFiles, SqsJobQueue
    from shared.services.erasure import ErasureService

    table = aws.table(settings.table_name)
    erasure = DynamoErasure(table)
    from shared.adapters.dynamodb_bots import DynamoBotSessions

    return ErasureService(contacts=_contact_store(settings), threads=erasure, records=erasure,
                          blobs=S3JobFiles(aws.client("s3"), settings.media_bucket), jobs=DynamoJobStore(table),
                          queue=SqsJobQueue(aws.client("sqs"), settings.jobs_queue_url), events=_events(settings),
                          clock=SystemClock(), extra=(DynamoBotSessions(aws.table(settings.table_name)),))


def job_service(settings: Settings) -> JobService:
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_jobs import DynamoJobStore
    from shared.adapters.sqs_jobs import S3JobFiles, SqsJobQueue
    from shared.services.jobs import JobService

    return JobService(
        jobs=DynamoJobStore(aws.table(settings.table_name)),
        queue=SqsJobQueue(aws.client("sqs"), settings.jobs_queue_url),
        files=S3JobFiles(aws.client("s3"), settings.media_bucket, presigner=aws.presigning_client()),
        contacts=_contact_store(settings), tenants=tenancy(settings), events=_events(settings), clock=SystemClock(),
        segments=segment_service(settings), erasure=erasure_service(settings), quotas=quota_service(settings))


def bot_runtime(settings: Settings) -> BotRuntime:
    from shared.adapters import aws
    from shared.adapters.bot_delivery import (
        S3DocumentStore,
        SesEmailSender,
        SignedLinkIssuer,
        SnsSmsSender,
        SqsTimeoutScheduler,
    )
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_bots import DynamoBotRegistry, DynamoBotSessions
    from shared.adapters.dynamodb_tenancy import CachedTenantPlans
    from shared.adapters.sqs import SqsOutboundQueue
    from shared.adapters.sqs_jobs import S3JobFiles
    from shared.services.bot_engine import BotEngine, BotPorts
    from shared.services.bot_runtime import Addons, BotRuntime, BotRuntimeConfig, StoreContactCards
    from shared.services.media import media_key

    table = aws.table(settings.table_name)
    s3 = aws.client("s3")
    files = S3JobFiles(s3, settings.media_bucket, presigner=aws.presigning_client())
    links = SignedLinkIssuer(aws.client("secretsmanager"), settings.bot_link_secret_name, settings.bot_link_base_url)
    ports = BotPorts(
        integrations=_integration_runner(settings),
        email=SesEmailSender(aws.client("ses"), s3, settings.media_bucket, settings.bot_email_from),
        sms=SnsSmsSender(aws.client("sns")),
        documents=S3DocumentStore(files),
        links=links, llm=_llm(settings), otp_pepper=b"otp:" + settings.bot_link_secret_name.encode(),
        models={"LITE": settings.llm_model_lite, "PRO": settings.llm_model_pro})
    plans = CachedTenantPlans(tenancy(settings))
    contacts = StoreContactCards(_contact_store(settings))
    return BotRuntime(
        registry=DynamoBotRegistry(table), sessions=DynamoBotSessions(table), directory=_directory(settings),
        outbound=SqsOutboundQueue(aws.client("sqs"), settings.outbound_queue_url), events=_events(settings),
        engine=BotEngine(ports), clock=SystemClock(),
        scheduler=SqsTimeoutScheduler(aws.client("sqs"), settings.bot_turn_queue_url),
        contacts=contacts, closer=conversation_service(settings),
        addons=Addons(transcriber=_transcriber(settings), describer=_describer(settings),
                      blobs=files, media_key=media_key),
        config=BotRuntimeConfig(coalesce_cap_s=settings.bot_coalesce_cap_s, plans=plans.plan),
        threads=_store(settings), workflow_waits=_workflow_waits(table))


def _workflow_waits(table: object) -> Callable[[str, str, str], bool]:
    from shared.adapters.dynamodb_workflows import DynamoWorkflows

    store = DynamoWorkflows(table)
    return lambda tenant_id, channel_id, contact_key: bool(store.reply_waits(tenant_id, channel_id, contact_key))


def _llm(settings: Settings) -> LlmProvider:
    from shared.adapters import aws

    if settings.llm_provider == "openai":
        from shared.adapters.openai_compat import OpenAiCompatible

        secrets = aws.client("secretsmanager")

        def api_key() -> str:
            return str(secrets.get_secret_value(SecretId=settings.openai_secret_name)["SecretString"])

        return OpenAiCompatible(settings.openai_base_url, api_key)
    from shared.adapters.bedrock import BedrockConverse

    return BedrockConverse(aws.client("bedrock-runtime"))


def _transcriber(settings: Settings) -> Transcriber:
    from shared.adapters import aws
    from shared.adapters.transcribe import TranscribeVoice

    return TranscribeVoice(aws.client("transcribe"), settings.media_bucket, s3_client=aws.client("s3"))


def _describer(settings: Settings) -> ImageDescriber:
    from shared.adapters import aws
    from shared.adapters.bedrock import BedrockImageDescriber

    return BedrockImageDescriber(aws.client("bedrock-runtime"), settings.llm_vision_model)


def channel_menu_service(settings: Settings) -> ChannelMenuService:
    from shared.adapters import aws
    from shared.adapters.dynamodb_bots import DynamoBotRegistry
    from shared.adapters.telegram import BotApiClient
    from shared.services.channel_menus import ChannelMenuService

    return ChannelMenuService(registry=DynamoBotRegistry(aws.table(settings.table_name)),
                              directory=_directory(settings), pages=_graph(settings),
                              telegram=BotApiClient(base_url=settings.telegram_base_url,
                                                    timeout_s=settings.graph_timeout_s))


def bot_service(settings: Settings) -> BotService:
    from shared.adapters import aws
    from shared.adapters.bot_delivery import SignedLinkIssuer
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_bots import DynamoBotRegistry, DynamoBotSessions
    from shared.services.bots import BotService

    table = aws.table(settings.table_name)
    return BotService(registry=DynamoBotRegistry(table), sessions=DynamoBotSessions(table),
                      conversations=conversation_service(settings), clock=SystemClock(),
                      links=SignedLinkIssuer(aws.client("secretsmanager"), settings.bot_link_secret_name,
                                             settings.bot_link_base_url), quotas=quota_service(settings))


def realtime_service(settings: Settings) -> RealtimeService:
    """Pushes to agents' and supervisors' WebSocket connections (ws_connect, realtime_push, and the api for
    supervisors' log-outs). Without WEBSOCKET_MANAGEMENT_URL there is no WebSocket API: nothing is pushed."""
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_contact_center import DynamoContactCenter
    from shared.adapters.websocket import DynamoConnections
    from shared.services.realtime import CampaignStoreMembers, RealtimeService

    table = aws.table(settings.table_name)
    return RealtimeService(connections=DynamoConnections(table), pusher=_pusher(settings),
                           members=CampaignStoreMembers(DynamoContactCenter(table)), clock=SystemClock())


def template_service(settings: Settings, *, pauses_broadcasts: bool = True, manages_meta: bool = True
                     ) -> TemplateService:
    """The registry and account health. `manages_meta=False`: no Graph client (the inbound processor applies
    Meta's webhooks and never calls Meta); `pauses_broadcasts=False`: for the broadcast service itself."""
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_broadcasts import DynamoTemplates
    from shared.services.templates import TemplateService

    def pause(tenant_id: str, channel_id: str, name: str, language: str, reason: str) -> list[str]:
        return broadcast_service(settings).pause_using(tenant_id, channel_id, name, language, reason)

    return TemplateService(store=DynamoTemplates(aws.table(settings.table_name)),
                           graph=_graph(settings) if manages_meta else None, channels=_directory(settings),
                           events=_events(settings), clock=SystemClock(),
                           pause_broadcasts=pause if pauses_broadcasts else None,
                           default_mps=settings.broadcast_default_mps)


def broadcast_tracking(settings: Settings) -> BroadcastTracking:
    """Statuses and replies of broadcasts, for the inbound processor (the store and the CRM only)."""
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_broadcasts import DynamoBroadcasts
    from shared.services.broadcast_tracking import BroadcastTracking

    return BroadcastTracking(store=DynamoBroadcasts(aws.table(settings.table_name)),
                             contacts=contact_service(settings), clock=SystemClock())


def broadcast_service(settings: Settings, *, on_bucket: Callable[[BucketResult], None] | None = None
                      ) -> BroadcastService:
    """on_bucket: told each bucket run's counts (sent, failed, ...) once the run is over (the worker's metrics)."""
    import time

    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_broadcasts import DynamoBroadcasts
    from shared.adapters.dynamodb_pacing import DynamoRateSlots
    from shared.adapters.sqs_jobs import SqsJsonQueue
    from shared.services.broadcast_sender import BucketSender, SenderPolicy
    from shared.services.broadcasts import BroadcastService
    from shared.services.pacing import Pacer

    table = aws.table(settings.table_name)
    clock = SystemClock()
    slots = DynamoRateSlots(table)

    def pacer(key: str, rate: float) -> Pacer:
        return Pacer(slots, key, rate, now_ms=lambda: time.time() * 1000, sleep=time.sleep)

    store = DynamoBroadcasts(table)
    sender = BucketSender(store=store, graph=_graph(settings), messages=_store(settings), events=_events(settings),
                          clock=clock, policy=SenderPolicy(concurrency=settings.broadcast_concurrency,
                                                           claim_lease=timedelta(
                                                               seconds=settings.broadcast_claim_lease_s)))
    return BroadcastService(
        store=store, templates=template_service(settings, pauses_broadcasts=False),
        contacts=contact_service(settings), lookup=_contact_store(settings), segments=segment_service(settings),
        files=file_service(settings), channels=_directory(settings),
        queue=SqsJsonQueue(aws.client("sqs"), settings.broadcasts_queue_url), sender=sender, pacer=pacer,
        clock=clock, default_mps=settings.broadcast_default_mps, count_contacts=tenancy(settings).contact_count,
        events=_events(settings), on_bucket=on_bucket)


def _integration_runner(settings: Settings) -> IntegrationRunner:
    """HTTP calls to a tenant's own systems (bot integrations, workflow HTTP steps): SSRF-safe transport, secrets
    under BOT_SECRET_PREFIX."""
    from shared.adapters import aws
    from shared.adapters.http_integrations import HttpxTransport, SecretsManagerJsonReader
    from shared.services.integrations import IntegrationRunner

    allow = frozenset(h.strip() for h in settings.integrations_allow_private_hosts.split(",") if h.strip())
    return IntegrationRunner(transport=HttpxTransport(allow_private=allow),
                             secrets=SecretsManagerJsonReader(aws.client("secretsmanager")),
                             secret_prefix=settings.bot_secret_prefix)


def _hook_key(settings: Settings) -> Callable[[], bytes]:
    """The workflows' incoming-webhook URL key, derived from the platform's link key (one secret to rotate; the
    signing entry when it holds a list), read on first use."""
    import hashlib
    import hmac

    from shared.adapters import aws
    from shared.adapters.bot_delivery import SignedLinkIssuer

    link_key = SignedLinkIssuer(aws.client("secretsmanager"), settings.bot_link_secret_name, "").key
    return lru_cache(maxsize=1)(lambda: hmac.new(link_key(), b"workflow-hooks", hashlib.sha256).digest())


@lru_cache(maxsize=1)
def workflow_templates() -> dict[str, dict[str, object]]:
    import json
    from pathlib import Path

    path = Path(__file__).parent / "data" / "workflow_templates.json"
    loaded: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _conversation_sentiment(table: Any) -> Callable[[str, str], dict[str, Any] | None]:
    """The customer's sentiment so far in a conversation, from the reports' fact (messages reports scored)."""
    from shared.adapters.dynamodb_reports import DynamoReports
    from shared.services.reports import fact_sentiment

    store = DynamoReports(table)
    return lambda tenant_id, conversation_id: fact_sentiment(store.fact(tenant_id, conversation_id))


def workflow_service(settings: Settings) -> WorkflowService:
    from shared.adapters import aws
    from shared.adapters.bot_delivery import SesEmailSender
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_bots import DynamoBotControl
    from shared.adapters.dynamodb_contact_center import DynamoContactCenter
    from shared.adapters.dynamodb_conversations import DynamoConversations
    from shared.adapters.dynamodb_workflows import DynamoWorkflows
    from shared.adapters.sqs import SqsOutboundQueue
    from shared.adapters.sqs_jobs import SqsJsonQueue
    from shared.adapters.workflow_timers import SchedulerTimers
    from shared.services.workflow_actions import PlatformWorkflowActions
    from shared.services.workflows import WorkflowService

    table = aws.table(settings.table_name)
    store = DynamoWorkflows(table)
    clock = SystemClock()
    center = DynamoContactCenter(table)
    actions = PlatformWorkflowActions(
        contacts=contact_service(settings), conversations=DynamoConversations(table), threads=_store(settings),
        directory=_directory(settings),
        outbound=SqsOutboundQueue(aws.client("sqs"), settings.outbound_queue_url),
        routing=routing_service(settings), center=center, notes=center,
        events=_events(settings), bots=DynamoBotControl(table),
        mailer=SesEmailSender(aws.client("ses"), aws.client("s3"), settings.media_bucket, settings.bot_email_from),
        email_sender=settings.bot_email_from,
        # built on first use: the webhook and the api never run HTTP steps (and need not import httpx)
        integrations=lru_cache(maxsize=1)(lambda: _integration_runner(settings)),
        segments=segment_service(settings), clock=clock.now, round_robin=store.round_robin,
        sentiment=_conversation_sentiment(table))
    timers = SchedulerTimers(aws.client("scheduler"), group=settings.workflow_scheduler_group,
                             queue_arn=settings.workflows_queue_arn, role_arn=settings.workflow_scheduler_role_arn)
    return WorkflowService(store=store, actions=actions, timers=timers,
                           queue=SqsJsonQueue(aws.client("sqs"), settings.workflows_queue_url), clock=clock,
                           hook_key=_hook_key(settings), templates=workflow_templates,
                           sentiment=lambda: sentiment_analyzer(settings))


def usage_meter(settings: Settings) -> UsageMeter:
    from datetime import timedelta

    from shared.adapters import aws
    from shared.adapters.dynamodb_usage import DynamoUsage
    from shared.services.usage import UsageMeter

    return UsageMeter(DynamoUsage(aws.table(settings.table_name)),
                      idle=timedelta(hours=settings.usage_session_idle_hours), quotas=quota_service(settings))


class _QuotasOnFirstUse:
    """The quota service, built when first needed: the pre-token trigger builds the user service but never invites,
    and its cold start should not build an EventBridge client."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _service(self) -> QuotaService:
        return quota_service(self._settings)

    def admit(self, tenant_id: str, resource: Resource) -> None:
        self._service.admit(tenant_id, resource)

    def after_change(self, tenant_id: str, resource: Resource) -> None:
        self._service.after_change(tenant_id, resource)


def _count_quota_alert(event: object) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    from shared.observability import metrics

    metrics.add_metric(name="QuotaThresholdReached", unit=MetricUnit.Count, value=1)


def quota_service(settings: Settings) -> QuotaService:
    """Plans' quotas: counts, alerts at thresholds (published once) and the agent and bot refusals."""
    from shared.adapters import aws
    from shared.adapters.clock import SystemClock
    from shared.adapters.dynamodb_quotas import DynamoQuotaCounts, DynamoQuotaMarkers
    from shared.services.quotas import QuotaService

    table = aws.table(settings.table_name)
    return QuotaService(tenants=tenancy(settings), counts=DynamoQuotaCounts(table), markers=DynamoQuotaMarkers(table),
                        events=_events(settings), clock=SystemClock(), on_alert=_count_quota_alert)


def cost_service(counts: OperationCounts) -> CostService:
    """Cost attribution: `counts` (the reports aggregator's month_operations) priced with the packaged price list
    and measured profile (shared/data/)."""
    from shared.services.costs import CostProfile, CostService, PriceList

    return CostService(counts=counts, prices=PriceList.load(), profile=CostProfile.load())


def report_aggregator(settings: Settings) -> ReportAggregator:
    from shared.adapters import aws
    from shared.adapters.dynamodb_contact_center import DynamoContactCenter
    from shared.adapters.dynamodb_reports import CachedCampaignRules, DynamoReports
    from shared.services.reports import ReportAggregator

    table = aws.table(settings.table_name)
    store = DynamoReports(table)
    return ReportAggregator(store, campaigns=CachedCampaignRules(DynamoContactCenter(table)), sentiments=store,
                            analyzer=lru_cache(maxsize=1)(lambda: sentiment_analyzer(settings)))


def report_exports(settings: Settings) -> ReportExports:
    from datetime import UTC, datetime

    from shared.adapters import aws
    from shared.adapters.dynamodb_reports import DynamoReports
    from shared.adapters.sqs_jobs import S3JobFiles
    from shared.services.report_exports import ReportExports

    store = DynamoReports(aws.table(settings.table_name))
    contacts = _contact_store(settings)
    meter = lru_cache(maxsize=1)(lambda: usage_meter(settings))  # the monthly summary's usage, built on first use

    def tags(tenant_id: str, contact_id: str) -> list[str]:
        contact = contacts.get_contact(tenant_id, contact_id)
        return list(contact.tags) if contact else []

    def active_tenants() -> list[str]:
        return [t.tenant_id for t in tenancy(settings).list_tenants() if t.status == "active"]

    return ReportExports(reports=report_aggregator(settings), store=store, marks=store, tenants=active_tenants,
                         files=S3JobFiles(aws.client("s3"), settings.media_bucket, presigner=aws.presigning_client()),
                         tags=tags, clock=lambda: datetime.now(UTC),
                         usage=lambda tenant_id, month: meter().monthly(tenant_id, month))


def sentiment_analyzer(settings: Settings) -> SentimentAnalyzer:
    if settings.sentiment_provider == "comprehend":
        from shared.adapters import aws
        from shared.adapters.comprehend_sentiment import ComprehendSentiment

        return ComprehendSentiment(aws.client("comprehend"))
    from shared.adapters.lexicon_sentiment import LexiconSentiment

    return LexiconSentiment()
