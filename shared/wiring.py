"""Composition: build services from settings with the AWS adapters. Handlers cache these; tests replace them.

Imports live inside each builder so that a function's cold start loads only the adapters it uses
(the webhook never imports httpx, the auto-reply never imports the Graph client or EventBridge).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING

from shared.config import Settings

if TYPE_CHECKING:
    from shared.adapters.channels import CachedChannelDirectory
    from shared.adapters.dynamodb import DynamoMessageStore
    from shared.adapters.eventbridge import EventBridgePublisher
    from shared.adapters.graph import GraphWhatsAppClient
    from shared.adapters.sqs import SqsRetryDelayer
    from shared.services.auto_reply import AutoReplyService
    from shared.services.inbound import InboundService
    from shared.services.ingest import IngestService
    from shared.services.media import MediaService
    from shared.services.outbound import SenderService


def _directory(settings: Settings) -> CachedChannelDirectory:
    from shared.adapters import aws
    from shared.adapters.channels import CachedChannelDirectory
    from shared.adapters.dynamodb import DynamoChannels

    return CachedChannelDirectory(DynamoChannels(aws.table(settings.table_name)), aws.client("secretsmanager"),
                                  ttl_s=settings.channel_cache_ttl_s)


def _store(settings: Settings) -> DynamoMessageStore:
    from shared.adapters import aws
    from shared.adapters.dynamodb import DynamoMessageStore

    return DynamoMessageStore(aws.table(settings.table_name), retention_days=settings.message_retention_days)


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
    from shared.adapters.clock import SystemClock
    from shared.services.inbound import InboundService

    return InboundService(store=_store(settings), events=_events(settings), clock=SystemClock(),
                          service_window=timedelta(seconds=settings.service_window_s))


def auto_reply_service(settings: Settings) -> AutoReplyService:
    from shared.adapters import aws
    from shared.adapters.sqs import SqsOutboundQueue
    from shared.services.auto_reply import AutoReplyService

    return AutoReplyService(directory=_directory(settings),
                            outbound=SqsOutboundQueue(aws.client("sqs"), settings.outbound_queue_url))


def sender_service(settings: Settings) -> SenderService:
    from shared.adapters.clock import SystemClock
    from shared.services.outbound import RetryPolicy, SenderService

    return SenderService(
        directory=_directory(settings), store=_store(settings), client=_graph(settings), events=_events(settings),
        clock=SystemClock(),
        retry=RetryPolicy(max_attempts=settings.outbound_max_attempts, base_delay_s=settings.retry_base_delay_s,
                          max_delay_s=settings.retry_max_delay_s),
        service_window=timedelta(seconds=settings.service_window_s))


def media_service(settings: Settings) -> MediaService:
    from shared.adapters import aws
    from shared.adapters.s3 import S3BlobStore
    from shared.services.media import MediaLimits, MediaService

    return MediaService(directory=_directory(settings), client=_graph(settings),
                        blobs=S3BlobStore(aws.client("s3"), settings.media_bucket), store=_store(settings),
                        limits=MediaLimits(max_bytes=settings.media_max_bytes,
                                           allowed_mime_prefixes=settings.media_allowed_mime_prefixes))


def retry_delayer() -> SqsRetryDelayer:
    from shared.adapters import aws
    from shared.adapters.sqs import SqsRetryDelayer

    return SqsRetryDelayer(aws.client("sqs"), os.environ.get("AWS_ENDPOINT_URL"))
