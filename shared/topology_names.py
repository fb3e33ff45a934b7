"""Names shared by the runtime and the infrastructure (infra/topology.py re-exports them)."""

EVENT_SOURCE = "omnichannel.messaging"

# Domain events integrators can subscribe to with outbound webhooks (EventBridge detail-types).
WEBHOOK_EVENT_TYPES: tuple[str, ...] = (
    "MessageReceived", "MessageStatusChanged", "MessageSent", "ConversationOpened", "ConversationClosed",
    "ContactCreated", "ContactUpdated", "ContactMerged", "ContactDeleted", "HandoffRequested", "BotSessionEnded",
)
