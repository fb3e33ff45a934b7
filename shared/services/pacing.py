"""Send pacing for WhatsApp broadcasts: one rate per phone number, shared by every worker that sends for it.

Meta holds each business phone number to a throughput (80 messages/s by default, up to 1,000 when upgraded) and
answers 130429 when it is exceeded. A broadcast is sent by several Lambda instances at once, so the limit has to
be shared: a token bucket in the table, not in a process.

Design: time-slotted counters, not a refill-rate bucket.
  * Time is cut into fixed slots (`slot_ms`, 250 ms by default) numbered `floor(epoch_ms / slot_ms)`. Each slot
    may grant `slot_capacity(...)` tokens; a worker takes tokens from the slot it is in with ONE conditional
    update (`ADD used :n` if `used <= cap - n`, see `RateSlots.take`). Nothing refills, nothing is read first.
  * A classic refill bucket stores (tokens, last_refill) and every taker must read, compute the refill from its
    own clock and write back conditioned on what it read: two round trips, contention retries that grow with the
    number of workers, and a refill that is only as good as the agreement between the workers' clocks. A slot
    counter needs one write per grant batch; a worker whose clock is off only uses the neighbouring slot, so skew
    costs at most a slot's worth of burst, never a wrong refill.
  * Fractional rates are exact over time: slot s may grant floor(r*(s+1)*slot) - floor(r*s*slot) (in seconds), so
    1 msg/s with 250 ms slots grants 1 token every 4th slot, and 2.5 msg/s alternates 0/1 per slot. Integer
    arithmetic (rate in milli-messages/s, factor in per-mille) keeps every worker on the same capacity.
  * An exhausted slot means "sleep to the next boundary", plus a random jitter of at most 10% of a slot, so N
    workers do not wake on the same instant and hit the same item together (no spinning, no thundering herd).
  * Old slot items expire by TTL; there is nothing to clean up.

Throttling (130429). A worker that is throttled calls `Pacer.throttled()`: a shared cool-down (nobody sends until
`until_ms`; at least 1 s plus jitter, or Meta's retry-after) and the rate halved (floor 10%). A burst that throttles
many workers at once yields one halving: the cool-down is not stacked while one set less than a second ago, or
still running, exists (checked by the worker and enforced by a condition in the store). The factor then recovers
additively, +0.1 per `recover_after_ms` counted from the end of the cool-down, computed from the shared
`(until_ms, factor, set_at_ms)` so every worker agrees on it without another write. Workers re-read the control
at most every `control_every_ms`; a worker's view of a new cool-down can be that much late.

Pair rate limit (131056: too many messages to one recipient): that message waits `pair_limit_delay_s(attempt)`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

DEFAULT_RATE_MPS = 80.0
MAX_RATE_MPS = 1000.0
DEFAULT_SLOT_MS = 250
STACK_WINDOW_MS = 1000  # a cool-down set this recently is not stacked (one halving per burst)
MIN_COOL_DOWN_MS = 1000
MIN_FACTOR_PM = 100  # the factor in per-mille: never below 10% of the configured rate
RECOVERY_STEP_PM = 100  # +0.1 per recover_after_ms without a new throttle
JITTER_RATIO = 0.1  # of a slot
PAIR_LIMIT_BASE_S = 4
PAIR_LIMIT_CAP_S = 900


class RateSlots(Protocol):
    """The shared state of a pacer: per-slot counters and one control record per key (tenant-scoped by caller)."""

    def take(self, key: str, slot: int, want: int, cap: int) -> int:
        """Atomically grant up to `want` of slot `slot`'s `cap` tokens; how many were granted (0..want).

        Never grants more than `cap` in total across concurrent callers."""
        ...

    def cool_down(self, key: str, until_ms: int, factor: float) -> None:
        """Record a shared cool-down: nobody sends before `until_ms`, then the rate is multiplied by `factor` (<= 1)
        until it recovers. Not written when a cool-down was set less than a second ago or is still running."""
        ...

    def control(self, key: str) -> tuple[int, float, int]:
        """(until_ms, factor, set_at_ms); (0, 1.0, 0) when there is none."""
        ...


def slot_capacity(rate_mps: float, factor: float, slot: int, slot_ms: int) -> int:
    """Tokens slot `slot` may grant at `rate_mps` x `factor`, carrying the fractional remainder between slots."""
    return _capacity(_milli(rate_mps), _per_mille(factor), slot, slot_ms)


def pair_limit_delay_s(attempt: int) -> int:
    """How long to hold a message that got 131056 (pair rate limit) on its `attempt`-th try (>= 1): 4^attempt s,
    at most 15 minutes."""
    if attempt < 1:
        raise ValueError("attempt starts at 1")
    return min(int(PAIR_LIMIT_BASE_S ** min(attempt, 10)), PAIR_LIMIT_CAP_S)


@dataclass(frozen=True)
class Control:
    """The shared control record as integers: until_ms, factor in per-mille at set_at_ms, set_at_ms."""

    until_ms: int = 0
    factor_pm: int = 1000
    set_at_ms: int = 0

    def factor_pm_at(self, now_ms: float, recover_after_ms: int) -> int:
        """The factor in force at `now_ms`: the stored one plus the recovery since the cool-down ended."""
        if self.factor_pm >= 1000 or not self.set_at_ms:
            return 1000
        since = max(self.until_ms, self.set_at_ms)
        if now_ms <= since:
            return self.factor_pm
        steps = int((now_ms - since) // recover_after_ms)
        return min(1000, self.factor_pm + RECOVERY_STEP_PM * steps)

    def recent(self, now_ms: float) -> bool:
        """A cool-down set less than STACK_WINDOW_MS ago, or still running: a new throttle is the same burst."""
        return bool(self.set_at_ms) and (now_ms - self.set_at_ms < STACK_WINDOW_MS or now_ms < self.until_ms)


class Pacer:
    """Paces one worker's sends for one key (e.g. `T#<tenant>#<phone_number_id>`) against the shared slots."""

    def __init__(self, slots: RateSlots, key: str, rate_mps: float, *, now_ms: Callable[[], float],
                 sleep: Callable[[float], None], slot_ms: int = DEFAULT_SLOT_MS, control_every_ms: int = 1000,
                 recover_after_ms: int = 10_000, rng: random.Random | None = None) -> None:
        if not 0 < rate_mps <= MAX_RATE_MPS:
            raise ValueError(f"rate_mps must be in (0, {MAX_RATE_MPS:g}]")
        if slot_ms <= 0 or control_every_ms < 0 or recover_after_ms <= 0:
            raise ValueError("slot_ms and recover_after_ms must be positive, control_every_ms not negative")
        self._slots = slots
        self._key = key
        self._rate_milli = _milli(rate_mps)
        self._now = now_ms
        self._sleep = sleep
        self._slot_ms = slot_ms
        self._control_every_ms = control_every_ms
        self._recover_after_ms = recover_after_ms
        self._rng = rng or random.Random()  # seeded from the OS: workers differ, so their jitters do
        self._control = Control()
        self._control_read_at: float | None = None

    @property
    def key(self) -> str:
        return self._key

    def rate_mps(self) -> float:
        """The rate in force now (configured rate x the shared factor, as last read)."""
        factor_pm = self._control.factor_pm_at(self._now(), self._recover_after_ms)
        return self._rate_milli * factor_pm / 1_000_000

    def acquire(self, n: int, *, max_wait_s: float | None = None) -> int:
        """Block until at least one token is granted; how many (1..n). With `max_wait_s`, 0 instead of waiting
        past it (e.g. a cool-down longer than the Lambda has left)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        deadline = None if max_wait_s is None else self._now() + max_wait_s * 1000
        while True:
            now = self._now()
            control = self._current_control(now)
            if now < control.until_ms:
                wake = control.until_ms + self._jitter_ms()
            else:
                slot = int(now // self._slot_ms)
                cap = _capacity(self._rate_milli, control.factor_pm_at(now, self._recover_after_ms), slot,
                                self._slot_ms)
                if cap > 0:
                    granted = self._slots.take(self._key, slot, min(n, cap), cap)
                    if granted > 0:
                        return granted
                wake = (slot + 1) * self._slot_ms + self._jitter_ms()
            if deadline is not None and wake > deadline:
                return 0
            self._sleep(max(wake - now, 0.0) / 1000)

    def throttled(self, retry_after_s: float | None = None) -> None:
        """Meta answered 130429: cool everyone down and halve the rate, unless this burst already did."""
        now = self._now()
        control = self._read_control(now)
        if not control.recent(now):
            factor_pm = max(MIN_FACTOR_PM, control.factor_pm_at(now, self._recover_after_ms) // 2)
            delay_ms = max((retry_after_s or 0.0) * 1000, MIN_COOL_DOWN_MS + self._jitter_ms())
            until_ms = max(control.until_ms, math.ceil(now + delay_ms))
            self._slots.cool_down(self._key, until_ms, factor_pm / 1000)
            self._read_control(now)  # whoever won a concurrent write, adopt what is stored

    def _jitter_ms(self) -> float:
        return self._rng.uniform(0.0, JITTER_RATIO * self._slot_ms)

    def _current_control(self, now: float) -> Control:
        if self._control_read_at is None or now - self._control_read_at >= self._control_every_ms:
            return self._read_control(now)
        return self._control

    def _read_control(self, now: float) -> Control:
        until_ms, factor, set_at_ms = self._slots.control(self._key)
        self._control = Control(int(until_ms), min(1000, max(MIN_FACTOR_PM, _per_mille(factor))), int(set_at_ms))
        self._control_read_at = now
        return self._control


def _milli(rate_mps: float) -> int:
    return round(rate_mps * 1000)


def _per_mille(factor: float) -> int:
    return round(factor * 1000)


def _capacity(rate_milli: int, factor_pm: int, slot: int, slot_ms: int) -> int:
    # messages granted from epoch to the end of slot s: rate x factor x t = rate_milli x factor_pm x t_ms / 1e9
    per = rate_milli * factor_pm * slot_ms
    return (per * (slot + 1)) // 1_000_000_000 - (per * slot) // 1_000_000_000
