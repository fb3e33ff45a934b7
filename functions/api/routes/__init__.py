"""Routers of the /v1 API, one module per resource. The handler includes every router listed here."""

from __future__ import annotations

from typing import Any


def routers() -> list[Any]:
    from functions.api.routes import (
        api_keys,
        bots,
        broadcasts,
        contact_center,
        contacts,
        conversations,
        costs,
        crm_config,
        files,
        jobs,
        reports,
        transcripts,
        usage,
        users,
        webhooks,
        workflows,
    )

    return [contacts.router, conversations.router, crm_config.router, api_keys.router, users.router,
            webhooks.router, files.router, jobs.router, bots.router, contact_center.router, transcripts.router,
            broadcasts.router, workflows.router, usage.router, reports.router, costs.router]
