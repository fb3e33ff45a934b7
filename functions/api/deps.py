"""Composition roots of the /v1 API: one cached service per resource. Tests clear or replace them."""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import TYPE_CHECKING

from shared import wiring
from shared.config import get_settings

if TYPE_CHECKING:
    from shared.adapters.dynamodb import DynamoChannels
    from shared.adapters.dynamodb_tenancy import DynamoTenancy
    from shared.services.bots import BotService
    from shared.services.broadcasts import BroadcastService
    from shared.services.channel_menus import ChannelMenuService
    from shared.services.comments import CommentService
    from shared.services.contact_center import ContactCenterService
    from shared.services.contacts import ContactService
    from shared.services.conversations import ConversationService
    from shared.services.costs import CostService
    from shared.services.erasure import ErasureService
    from shared.services.files import FileService
    from shared.services.jobs import JobService
    from shared.services.platform import PlatformService
    from shared.services.quotas import QuotaService
    from shared.services.report_exports import ReportExports
    from shared.services.reports import ReportAggregator
    from shared.services.segment_service import SegmentService
    from shared.services.templates import TemplateService
    from shared.services.usage import UsageMeter
    from shared.services.users import UserService
    from shared.services.webhooks import WebhookService
    from shared.services.workflows import WorkflowService


@lru_cache(maxsize=1)
def contacts() -> ContactService:
    return wiring.contact_service(get_settings())


@lru_cache(maxsize=1)
def conversations() -> ConversationService:
    return wiring.conversation_service(get_settings())


@lru_cache(maxsize=1)
def segments() -> SegmentService:
    return wiring.segment_service(get_settings())


@lru_cache(maxsize=1)
def erasure() -> ErasureService:
    return wiring.erasure_service(get_settings())


@lru_cache(maxsize=1)
def channels() -> DynamoChannels:
    return wiring.channels(get_settings())


@lru_cache(maxsize=1)
def tenancy() -> DynamoTenancy:
    """Tenants, keys and the rate-limit windows (the middleware counts every request through it)."""
    return wiring.tenancy(get_settings())


@lru_cache(maxsize=1)
def platform() -> PlatformService:
    return wiring.platform_service(get_settings())


@lru_cache(maxsize=1)
def files() -> FileService:
    return wiring.file_service(get_settings())


@lru_cache(maxsize=1)
def jobs() -> JobService:
    return wiring.job_service(get_settings())


@lru_cache(maxsize=1)
def users() -> UserService:
    return wiring.user_service(get_settings())


@lru_cache(maxsize=1)
def webhooks() -> WebhookService:
    return wiring.webhook_service(get_settings())


@lru_cache(maxsize=1)
def bots() -> BotService:
    return wiring.bot_service(get_settings())


@lru_cache(maxsize=1)
def channel_menus() -> ChannelMenuService:
    return wiring.channel_menu_service(get_settings())


@lru_cache(maxsize=1)
def comments() -> CommentService:
    return wiring.comment_service(get_settings())


@lru_cache(maxsize=1)
def contact_center() -> ContactCenterService:
    return wiring.contact_center_service(get_settings())


@lru_cache(maxsize=1)
def templates() -> TemplateService:
    return wiring.template_service(get_settings())


@lru_cache(maxsize=1)
def broadcasts() -> BroadcastService:
    return wiring.broadcast_service(get_settings())


def clear() -> None:
    """Forget every cached service (a new local stack, or a test that swaps settings)."""
    module = sys.modules[__name__]
    for name in dir(module):
        getter = getattr(module, name)
        if callable(getter) and hasattr(getter, "cache_clear"):
            getter.cache_clear()


@lru_cache(maxsize=1)
def workflows() -> WorkflowService:
    return wiring.workflow_service(get_settings())



@lru_cache(maxsize=1)
def usage() -> UsageMeter:
    return wiring.usage_meter(get_settings())


@lru_cache(maxsize=1)
def reports() -> ReportAggregator:
    return wiring.report_aggregator(get_settings())


@lru_cache(maxsize=1)
def costs() -> CostService:
    """Cost attribution over the reports aggregator's counted operations (its `month_operations`)."""
    return wiring.cost_service(reports())


@lru_cache(maxsize=1)
def report_exports() -> ReportExports:
    return wiring.report_exports(get_settings())


@lru_cache(maxsize=1)
def quotas() -> QuotaService:
    return wiring.quota_service(get_settings())
