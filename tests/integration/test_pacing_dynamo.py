"""The pacer's shared state on DynamoDB (moto server): concurrent takes on one slot never over-grant, slot items
expire, a burst of cool-downs is written once, and pacers in several threads hold the rate together."""

from __future__ import annotations

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from infra.local.stack import LocalStack
from shared.adapters.dynamodb_pacing import DynamoRateSlots, control_key, slot_key
from shared.services.pacing import Pacer, slot_capacity
from tests.integration.conftest import table

pytestmark = pytest.mark.integration


def _own_table() -> Any:
    """One boto3 session per thread, as each Lambda instance has its own."""
    return boto3.session.Session().resource("dynamodb", region_name="us-east-1").Table(os.environ["TABLE_NAME"])


def _key() -> str:
    return f"T#pacing-{uuid.uuid4().hex[:8]}#100000000000001"


def _slot_now() -> int:
    return int(time.time() * 1000 // 250)


def _used(stack: LocalStack, key: str, slot: int) -> int:
    item = table(stack).get_item(Key=slot_key(key, slot), ConsistentRead=True).get("Item") or {}
    return int(item.get("used", 0))


def test_eight_threads_taking_from_one_slot_get_exactly_its_capacity(stack: LocalStack) -> None:
    # given one slot of 100 and eight workers that want far more than that
    key, slot, cap = _key(), _slot_now(), 100
    barrier = threading.Barrier(8)

    def worker(want: int) -> int:
        slots = DynamoRateSlots(_own_table())
        barrier.wait()
        total = 0
        for _ in range(cap):  # bounded: a store that over-grants must fail, not hang
            got = slots.take(key, slot, want, cap)
            total += got
            if got == 0 and _used(stack, key, slot) >= cap:
                break
        return total

    # when
    with ThreadPoolExecutor(max_workers=8) as pool:
        totals = list(pool.map(worker, [3, 5, 7, 11, 13, 2, 17, 9]))
    # then
    assert sum(totals) == cap == _used(stack, key, slot)


def test_a_take_larger_than_what_is_left_gets_the_rest(stack: LocalStack) -> None:
    slots, key = DynamoRateSlots(table(stack)), _key()
    assert slots.take(key, 1, 15, 20) == 15
    assert slots.take(key, 1, 15, 20) == 5
    assert slots.take(key, 1, 15, 20) == 0
    assert slots.take(key, 1, 5, 0) == 0
    assert _used(stack, key, 1) == 20


def test_slot_items_expire_two_minutes_after_the_slot_ends(stack: LocalStack) -> None:
    slots, key, slot = DynamoRateSlots(table(stack), slot_ms=250), _key(), _slot_now()
    slots.take(key, slot, 1, 20)
    item = table(stack).get_item(Key=slot_key(key, slot), ConsistentRead=True)["Item"]
    assert int(item["expires_at"]) == (slot + 1) * 250 // 1000 + 120
    assert slot_key(key, slot) == {"pk": f"RATE#{key}#{slot}", "sk": "SLOT"}


def test_a_cool_down_is_not_overwritten_within_a_second_or_while_it_runs(stack: LocalStack) -> None:
    # given a store whose clock the test moves
    now = [1_000_000.0]
    slots, key = DynamoRateSlots(table(stack), now_ms=lambda: now[0]), _key()
    assert slots.control(key) == (0, 1.0, 0)
    # when several throttled workers write at once
    slots.cool_down(key, 1_001_100, 0.5)
    now[0] += 500
    slots.cool_down(key, 1_001_600, 0.25)
    # then the first stands
    assert slots.control(key) == (1_001_100, 0.5, 1_000_000)
    # and a long cool-down is not replaced while it runs, even after a second
    now[0] = 1_002_000
    slots.cool_down(key, 1_060_000, 0.25)
    assert slots.control(key) == (1_060_000, 0.25, 1_002_000)
    now[0] = 1_010_000
    slots.cool_down(key, 1_011_000, 0.125)
    assert slots.control(key)[1] == 0.25
    # once it is over a new throttle is a new burst
    now[0] = 1_060_001
    slots.cool_down(key, 1_061_001, 0.125)
    assert slots.control(key) == (1_061_001, 0.125, 1_060_001)
    stored = table(stack).get_item(Key=control_key(key), ConsistentRead=True)["Item"]
    assert int(stored["factor_pm"]) == 125 and int(stored["expires_at"]) == 1_061_001 // 1000 + 86400


def test_concurrent_throttles_from_one_burst_halve_once(stack: LocalStack) -> None:
    key = _key()
    barrier = threading.Barrier(8)

    def worker(seed: int) -> None:
        pacer = Pacer(DynamoRateSlots(_own_table()), key, 80, now_ms=lambda: time.time() * 1000, sleep=time.sleep)
        barrier.wait()
        pacer.throttled()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(worker, range(8)))
    assert DynamoRateSlots(table(stack)).control(key)[1] == 0.5


def test_pacers_in_four_threads_hold_the_rate_together(stack: LocalStack) -> None:
    # given four workers on one number at 20 msg/s (5 per 250 ms slot), on the wall clock
    key, rate, seconds = _key(), 20.0, 2.0
    pacers = [Pacer(DynamoRateSlots(_own_table()), key, rate, now_ms=lambda: time.time() * 1000, sleep=time.sleep)
              for _ in range(4)]
    grants: list[int] = []
    lock = threading.Lock()
    start = time.time() * 1000
    end = start + seconds * 1000

    def worker(pacer: Pacer) -> None:
        while True:
            got = pacer.acquire(2, max_wait_s=max(0.0, (end - time.time() * 1000) / 1000))
            if got == 0:
                return
            with lock:
                grants.append(got)

    # when
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(worker, pacers))
    # then no slot granted more than it holds, and the total is the rate over the time: within the partial first
    # slot and one slot a call that began before the end may still be granted (on a busy machine)
    slots = range(int(start // 250), int(end // 250) + 2)
    for slot in slots:
        assert _used(stack, key, slot) <= slot_capacity(rate, 1.0, slot, 250) == 5
    total = sum(grants)
    assert total == sum(_used(stack, key, slot) for slot in slots)
    assert rate * seconds - 10 <= total <= rate * seconds + 10
