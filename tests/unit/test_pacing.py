"""The broadcast send pacer on simulated time: shared slots never over-grant, the rate holds across workers and
for fractional rates, and a throttle burst halves the rate once, then it recovers."""

from __future__ import annotations

import math
import random
import threading
from collections import defaultdict
from fractions import Fraction

import pytest

from shared.services.pacing import (
    STACK_WINDOW_MS,
    Pacer,
    pair_limit_delay_s,
    slot_capacity,
)

KEY = "T#acme#100000000000001"
SLOT_MS = 250


class FakeClock:
    """Simulated milliseconds; `sleep` (seconds, like time.sleep) advances them."""

    def __init__(self, start_ms: float = 0.0) -> None:
        self.ms = start_ms
        self.sleeps: list[float] = []

    def now_ms(self) -> float:
        return self.ms

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.ms += seconds * 1000


class FakeSlots:
    """In-memory RateSlots with the DynamoDB adapter's semantics, safe for concurrent callers."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.used: dict[tuple[str, int], int] = defaultdict(int)
        self.caps: dict[tuple[str, int], int] = {}
        self.takes = 0
        self.controls: dict[str, tuple[int, float, int]] = {}
        self.cool_downs = 0
        self._clock = clock
        self._lock = threading.Lock()

    def take(self, key: str, slot: int, want: int, cap: int) -> int:
        with self._lock:
            self.takes += 1
            self.caps[(key, slot)] = max(cap, self.caps.get((key, slot), 0))
            granted = max(0, min(want, cap - self.used[(key, slot)]))
            self.used[(key, slot)] += granted
            return granted

    def cool_down(self, key: str, until_ms: int, factor: float) -> None:
        assert self._clock is not None
        now = int(self._clock.now_ms())
        with self._lock:
            until, _, set_at = self.controls.get(key, (0, 1.0, 0))
            if set_at and (set_at >= now - STACK_WINDOW_MS or until > now):
                return
            self.cool_downs += 1
            self.controls[key] = (until_ms, factor, now)

    def control(self, key: str) -> tuple[int, float, int]:
        with self._lock:
            return self.controls.get(key, (0, 1.0, 0))

    def granted(self, key: str = KEY, start_ms: float = 0, end_ms: float = float("inf")) -> int:
        return sum(n for (k, slot), n in self.used.items()
                   if k == key and start_ms <= slot * SLOT_MS and (slot + 1) * SLOT_MS <= end_ms)


def pacer(slots: FakeSlots, clock: FakeClock, rate: float, seed: int = 0, **kwargs: int) -> Pacer:
    return Pacer(slots, KEY, rate, now_ms=clock.now_ms, sleep=clock.sleep, slot_ms=SLOT_MS, rng=random.Random(seed),
                 **kwargs)


def drain(p: Pacer, clock: FakeClock, until_ms: float, batch: int = 50) -> dict[int, int]:
    """Acquire greedily until the clock passes until_ms; tokens by slot they were granted in."""
    grants: dict[int, int] = defaultdict(int)
    while True:
        got = p.acquire(batch)
        if clock.ms >= until_ms:
            return grants  # granted after the window: not counted (the slot store still saw it)
        grants[int(clock.ms // SLOT_MS)] += got


def test_one_pacer_at_80_per_second_sends_800_in_10_seconds_and_never_more_than_a_slot_holds() -> None:
    # given
    clock, slots = FakeClock(), FakeSlots()
    # when
    grants = drain(pacer(slots, clock, 80), clock, 10_000)
    # then
    assert 800 - 20 <= sum(grants.values()) <= 800 + 20
    assert all(n <= 20 for n in grants.values())
    assert all(slots.used[k] <= cap for k, cap in slots.caps.items())
    assert slots.takes <= 2 * 40 + 2  # one write per slot, no spinning on an exhausted slot


def test_an_exhausted_slot_sleeps_to_the_next_boundary_with_at_most_ten_percent_jitter() -> None:
    clock, slots = FakeClock(), FakeSlots()
    p = pacer(slots, clock, 80)
    assert p.acquire(20) == 20 and clock.ms == 0
    assert p.acquire(1) == 1
    assert SLOT_MS <= clock.ms <= SLOT_MS * 1.1
    assert len(clock.sleeps) == 1


def test_workers_jitter_differently_so_they_do_not_wake_on_the_same_instant() -> None:
    wakes = []
    for seed in range(4):
        clock, slots = FakeClock(), FakeSlots()
        slots.used[(KEY, 0)] = 20
        pacer(slots, clock, 80, seed=seed).acquire(1)
        wakes.append(clock.ms)
    assert len(set(wakes)) == 4
    assert all(SLOT_MS <= w <= SLOT_MS * 1.1 for w in wakes)


def test_four_workers_sharing_a_number_hold_80_per_second_together() -> None:
    # given four workers (their own clocks, as Lambdas are) on one shared store, each greedy
    slots = FakeSlots()
    clocks = [FakeClock() for _ in range(4)]
    pacers = [pacer(slots, clocks[i], 80, seed=i) for i in range(4)]
    totals = [0] * 4
    # when the worker furthest behind in time always goes next
    while True:
        i = min(range(4), key=lambda j: clocks[j].ms)
        if clocks[i].ms >= 10_000:
            break
        got = pacers[i].acquire(7)
        if clocks[i].ms < 10_000:
            totals[i] += got
    # then
    assert sum(totals) == slots.granted(end_ms=10_000) == 800
    assert all(slots.used[k] <= cap == 20 for k, cap in slots.caps.items())
    assert all(t > 0 for t in totals)


def test_concurrent_threads_on_one_store_never_over_grant() -> None:
    slots = FakeSlots()
    totals: list[int] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        clock = FakeClock()
        grants = drain(pacer(slots, clock, 80, seed=seed), clock, 10_000, batch=3)
        with lock:
            totals.append(sum(grants.values()))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(totals) == slots.granted(end_ms=10_000) == 800
    assert all(slots.used[k] <= cap for k, cap in slots.caps.items())


@pytest.mark.parametrize(("rate", "seconds"), [(1, 100), (2.5, 100), (0.3, 100), (33.3, 30)])
def test_fractional_rates_are_exact_over_time(rate: float, seconds: int) -> None:
    # given a start that is not aligned to a second (epoch-like)
    start = 1_700_000_000_123.0
    clock, slots = FakeClock(start), FakeSlots()
    end = start + seconds * 1000
    # when
    drain(pacer(slots, clock, rate), clock, end, batch=5)
    # then the whole slots inside the window granted rate x their span, carrying the remainder (less than one off)
    first, last = int(start // SLOT_MS) + 1, int(end // SLOT_MS)
    granted = slots.granted(start_ms=first * SLOT_MS, end_ms=last * SLOT_MS)
    exact = Fraction(str(rate)) * SLOT_MS / 1000
    assert granted == math.floor(exact * last) - math.floor(exact * first)
    assert abs(granted - rate * (last - first) * SLOT_MS / 1000) < 1


def test_one_per_second_grants_one_token_every_fourth_slot() -> None:
    assert [slot_capacity(1, 1.0, s, 250) for s in range(8)] == [0, 0, 0, 1, 0, 0, 0, 1]
    assert [slot_capacity(2.5, 1.0, s, 250) for s in range(8)] == [0, 1, 0, 1, 1, 0, 1, 1]  # 5 in 2 s
    assert slot_capacity(80, 0.5, 12345, 250) == 10


def test_1000_messages_per_second_is_honoured() -> None:
    clock, slots = FakeClock(), FakeSlots()
    grants = drain(pacer(slots, clock, 1000), clock, 10_000, batch=100)
    assert 10_000 - 250 <= sum(grants.values()) <= 10_000 + 250
    assert max(grants.values()) <= 250


def test_rates_outside_what_meta_allows_are_refused() -> None:
    for rate in (0, -1, 1000.5):
        with pytest.raises(ValueError):
            pacer(FakeSlots(), FakeClock(), rate)


def test_a_throttle_cools_everyone_down_for_a_second_then_halves_the_rate() -> None:
    # given two workers on one number
    clock = FakeClock(1_000_000)
    slots = FakeSlots(clock)
    a, b = pacer(slots, clock, 80, seed=1), pacer(slots, clock, 80, seed=2, control_every_ms=0)
    a.acquire(1)
    # when a is throttled
    a.throttled()
    # then b does not send before the cool-down ends, and the rate is half
    before = clock.ms
    b.acquire(1)
    assert clock.ms >= before + 1000
    until, factor, _ = slots.control(KEY)
    assert factor == 0.5 and clock.ms >= until
    assert a.rate_mps() == 40
    start = (int(clock.ms // SLOT_MS) + 1) * SLOT_MS
    drain(b, clock, start + 4000, batch=50)
    assert slots.granted(start_ms=start, end_ms=start + 4000) == 160


def test_retry_after_from_meta_is_honoured() -> None:
    clock = FakeClock(5_000)
    slots = FakeSlots(clock)
    p = pacer(slots, clock, 80)
    p.throttled(retry_after_s=30)
    p.acquire(1)
    assert clock.ms >= 35_000


def test_a_burst_of_ten_throttles_within_a_second_halves_only_once() -> None:
    # given ten workers that all see 130429 from the same burst
    clock = FakeClock(1_000_000)
    slots = FakeSlots(clock)
    workers = [pacer(slots, clock, 80, seed=i) for i in range(10)]
    for w in workers:
        w.acquire(1)
    # when
    for w in workers:
        w.throttled()
        clock.ms += 90
    # then
    assert slots.cool_downs == 1
    assert slots.control(KEY)[1] == 0.5
    assert all(w.rate_mps() == 40 for w in workers)


def test_throttles_in_separate_bursts_keep_halving_down_to_a_tenth() -> None:
    clock = FakeClock(1_000_000)
    slots = FakeSlots(clock)
    p = pacer(slots, clock, 80)
    factors = []
    for _ in range(6):
        p.throttled()
        factors.append(slots.control(KEY)[1])
        p.acquire(1)  # waits out the cool-down
        clock.ms += 1  # the next throttle comes from a later burst
    assert factors == [0.5, 0.25, 0.125, 0.1, 0.1, 0.1]
    assert slots.cool_downs == 6


def test_the_rate_recovers_additively_to_full_and_every_worker_agrees() -> None:
    # given a throttled number
    clock = FakeClock(1_000_000)
    slots = FakeSlots(clock)
    a, b = pacer(slots, clock, 80, seed=1), pacer(slots, clock, 80, seed=2)
    a.throttled()
    until = slots.control(KEY)[0]
    b.acquire(1)
    # when time passes without another throttle
    seen = []
    for step in range(7):
        clock.ms = until + step * 10_000 + 1
        seen.append((a.rate_mps(), b.rate_mps()))
    # then +0.1 every 10 s, capped at the configured rate, identical for both workers
    assert [x for x, _ in seen] == [40, 48, 56, 64, 72, 80, 80]
    assert all(x == y for x, y in seen)
    start = (int(clock.ms // SLOT_MS) + 1) * SLOT_MS
    drain(a, clock, start + 5000)
    assert slots.granted(start_ms=start, end_ms=start + 5000) == 400


def test_a_cool_down_longer_than_the_caller_can_wait_returns_zero() -> None:
    clock = FakeClock(0)
    slots = FakeSlots(clock)
    p = pacer(slots, clock, 80)
    p.throttled(retry_after_s=60)
    assert p.acquire(5, max_wait_s=10) == 0
    assert clock.ms == 0
    assert p.acquire(5) >= 1


def test_pair_limit_backoff_is_four_to_the_attempt_capped_at_fifteen_minutes() -> None:
    assert [pair_limit_delay_s(a) for a in range(1, 7)] == [4, 16, 64, 256, 900, 900]
    assert pair_limit_delay_s(1000) == 900
    with pytest.raises(ValueError):
        pair_limit_delay_s(0)
