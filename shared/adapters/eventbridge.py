"""EventBridge publisher: detail-type is the event class name; PutEvents in chunks of 10; failures raise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.models.events import TenantEvent
from shared.topology_names import EVENT_SOURCE


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, events: Sequence[TenantEvent]) -> None:
        for start in range(0, len(events), 10):
            chunk = events[start:start + 10]
            response = self._client.put_events(Entries=[
                {"Source": EVENT_SOURCE, "DetailType": e.detail_type, "Detail": e.model_dump_json(),
                 "EventBusName": self._bus} for e in chunk])
            if response.get("FailedEntryCount"):
                raise RuntimeError(f"{response['FailedEntryCount']} events were not published")
