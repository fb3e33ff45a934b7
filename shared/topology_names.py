"""Names shared by the runtime and the infrastructure (infra/topology.py re-exports them)."""

EVENT_SOURCE = "omnichannel.messaging"

# Domain events integrators can subscribe to with outbound webhooks (EventBridge detail-types).
WEBHOOK_EVENT_TYPES: tuple[str, ...] = (
    "MessageReceived", "MessageStatusChanged", "MessageSent", "ConversationOpened", "ConversationClosed",
    "ContactCreated", "ContactUpdated", "ContactMerged", "ContactDeleted", "HandoffRequested", "BotSessionEnded",
    "ConversationQueued", "ConversationOverflowed", "ConversationAssigned", "ConversationUnassigned",
    "ConversationReopened", "ConversationNoteAdded", "RoutedMessageReceived", "AgentStatusChanged",
    "AccountHealthChanged", "BroadcastStatusChanged", "CommentReceived", "QuotaThresholdReached", "CsatRecorded",
)

# What the router (contact center) reacts to, and what agents' and supervisors' clients are pushed.
ROUTING_EVENT_TYPES: tuple[str, ...] = (
    "HandoffRequested", "MessageReceived", "ConversationClosed", "ConversationUnassigned", "AgentStatusChanged",
    "AgentCapacityChanged",
)
PUSH_EVENT_TYPES: tuple[str, ...] = (
    "ConversationQueued", "ConversationOverflowed", "ConversationAssigned", "ConversationUnassigned",
    "ConversationClosed", "ConversationReopened", "ConversationNoteAdded", "RoutedMessageReceived",
    "AgentStatusChanged", "AgentNotified",
)
ROUTING_TICK = "RoutingTick"  # detail-type of the per-minute schedule (not a tenant event)
BROADCAST_TICK = "BroadcastTick"  # the broadcasts' per-minute schedule
WORKFLOW_TICK = "WorkflowTick"  # the workflows' per-minute schedule (cron triggers)
ANALYTICS_TICK = "AnalyticsTick"  # every 30 minutes: each tenant's last settled UTC day goes to the BI export
# What starts or resumes workflows (their triggers; MessageReceived also answers waiting questions).
WORKFLOW_EVENT_TYPES: tuple[str, ...] = (
    "ConversationOpened", "ConversationClosed", "ConversationAssigned", "MessageReceived", "ContactUpdated",
)
# What usage metering counts: sessions (messages, bot session ends, closes) and Meta's pricing (statuses).
USAGE_EVENT_TYPES: tuple[str, ...] = (
    "MessageReceived", "BotSessionEnded", "ConversationClosed", "MessageStatusChanged",
)
# What reports aggregate (hourly counters, conversation facts, agents' status time).
REPORT_EVENT_TYPES: tuple[str, ...] = (
    "ConversationOpened", "ConversationClosed", "ConversationReopened", "MessageReceived", "MessageSent",
    "MessageStatusChanged", "ConversationQueued", "ConversationOverflowed", "ConversationAssigned",
    "ConversationUnassigned", "BotSessionEnded", "AgentStatusChanged", "ContactCreated", "CsatRecorded",
    "BroadcastGroupSent",
)
# The platform's operational service level: a conversation waiting in a queue is assigned within this many seconds
# (the contact-center "80/60" target). The router counts AssignedWithinSla / AssignedAfterSla against it and the
# dashboard and alarm read them; campaigns keep their own sla_threshold_s for their reports.
ASSIGNMENT_SLA_S = 60
