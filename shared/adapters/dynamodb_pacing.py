"""DynamoDB adapter of the send pacer's shared state (shared.services.pacing.RateSlots).

  slot counter    pk=RATE#<key>#<slot>     sk=SLOT        used (tokens granted), expires_at (slot end + 120 s)
  control         pk=RATE#<key>            sk=CONTROL     until_ms, factor_pm (factor in per-mille), set_at_ms,
                                                          expires_at (a day after the cool-down)
The caller scopes the key to the tenant (`T#<tenant>#<phone_number_id>`). One partition per slot spreads the
writes of a busy number instead of heating a single item; a slot item lives for a second or less of writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb import _condition_failed
from shared.services.pacing import DEFAULT_SLOT_MS, STACK_WINDOW_MS

SLOT_TTL_S = 120
CONTROL_TTL_S = 86400


def slot_key(key: str, slot: int) -> dict[str, str]:
    return {"pk": f"RATE#{key}#{slot}", "sk": "SLOT"}


def control_key(key: str) -> dict[str, str]:
    return {"pk": f"RATE#{key}", "sk": "CONTROL"}


def _wall_ms() -> float:
    return time.time() * 1000


class DynamoRateSlots:
    """Satisfies shared.services.pacing.RateSlots. `slot_ms` must be the pacers' (it only sets the TTL); `now_ms`
    stamps a cool-down's `set_at_ms` and decides whether a recent one exists."""

    def __init__(self, table: Any, *, slot_ms: int = DEFAULT_SLOT_MS,
                 now_ms: Callable[[], float] = _wall_ms) -> None:
        self._table = table
        self._slot_ms = slot_ms
        self._now = now_ms

    def take(self, key: str, slot: int, want: int, cap: int) -> int:
        """One conditional ADD; when it fails, read what is left (consistent) and try once more for that."""
        want = min(want, cap)
        if want <= 0:
            return 0
        if self._add(key, slot, want, cap):
            return want
        item = self._table.get_item(Key=slot_key(key, slot), ConsistentRead=True,
                                    ProjectionExpression="used").get("Item") or {}
        rest = min(want, cap - int(item.get("used", 0)))
        if rest > 0 and self._add(key, slot, rest, cap):
            return rest
        return 0

    def cool_down(self, key: str, until_ms: int, factor: float) -> None:
        """Written unless a cool-down was set less than a second ago or is still running (one halving per burst)."""
        now = int(self._now())
        try:
            self._table.update_item(
                Key=control_key(key),
                UpdateExpression="SET until_ms = :until, factor_pm = :f, set_at_ms = :now, expires_at = :exp",
                ConditionExpression="attribute_not_exists(set_at_ms) OR (set_at_ms < :recent AND until_ms <= :now)",
                ExpressionAttributeValues={":until": int(until_ms), ":f": max(0, min(1000, round(factor * 1000))),
                                           ":now": now, ":recent": now - STACK_WINDOW_MS,
                                           ":exp": int(until_ms) // 1000 + CONTROL_TTL_S})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def control(self, key: str) -> tuple[int, float, int]:
        item = self._table.get_item(Key=control_key(key), ConsistentRead=True).get("Item")
        if not item:
            return 0, 1.0, 0
        return int(item.get("until_ms", 0)), int(item.get("factor_pm", 1000)) / 1000, int(item.get("set_at_ms", 0))

    def _add(self, key: str, slot: int, n: int, cap: int) -> bool:
        try:
            self._table.update_item(
                Key=slot_key(key, slot),
                UpdateExpression="ADD used :n SET expires_at = if_not_exists(expires_at, :exp)",
                ConditionExpression="attribute_not_exists(used) OR used <= :limit",
                ExpressionAttributeValues={":n": n, ":limit": cap - n,
                                           ":exp": (slot + 1) * self._slot_ms // 1000 + SLOT_TTL_S})
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True
