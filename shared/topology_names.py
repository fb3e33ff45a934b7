"""Names shared by the runtime and the infrastructure (infra/topology.py re-exports them)."""

EVENT_SOURCE = "omnichannel.messaging"
