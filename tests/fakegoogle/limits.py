"""Quota emulation (per-user token buckets) and fault injection.

Why: syncd must aim at Google's per-user quota ceiling and back off on 429/5xx.
Tests can only check that if the fake charges the same units per method as
Google and refuses work past the budget, and if it can fail on demand,
deterministically (seeded), so a flaky-network test is reproducible.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

# Units per call. Gmail's table is Google's published per-method quota-unit
# list (messages.get/list 5, history.list 2, getProfile 1, labels.list 1).
# Calendar publishes no per-method units; its quota is requests per minute
# per user, so every Calendar call costs 1.
GMAIL_UNITS = {
    "gmail.users.getProfile": 1,
    "gmail.users.labels.list": 1,
    "gmail.users.messages.list": 5,
    "gmail.users.messages.get": 5,
    "gmail.users.history.list": 2,
}
DEFAULT_GMAIL_UNITS = 5
CALENDAR_UNITS = 1


def units_for(api_method: str) -> int:
    if api_method.startswith("gmail."):
        return GMAIL_UNITS.get(api_method, DEFAULT_GMAIL_UNITS)
    if api_method.startswith("calendar."):
        return CALENDAR_UNITS
    return 0


class TokenBucket:
    """Refills `rate` units per second up to `rate * burst_seconds`; starts full."""

    def __init__(self, rate: float, burst_seconds: float, clock):
        self.rate = rate
        self.capacity = rate * burst_seconds
        self.tokens = self.capacity
        self.clock = clock
        self.last = clock()

    def take(self, units: float) -> float:
        """Take `units`; return 0.0 on success, else seconds until they'd be there."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= units:
            self.tokens -= units
            return 0.0
        return (units - self.tokens) / self.rate


class Quota:
    """One bucket per API (Gmail and Calendar quotas are separate at Google)."""

    def __init__(self, units_per_second: dict[str, float | None], burst_seconds: float = 1.0, clock=time.monotonic):
        self.clock = clock
        self.burst_seconds = burst_seconds
        self.lock = threading.Lock()
        self.buckets: dict[str, TokenBucket | None] = {}
        for api, rate in units_per_second.items():
            self.set_rate(api, rate)

    def set_rate(self, api: str, rate: float | None) -> None:
        with self.lock:
            self.buckets[api] = TokenBucket(rate, self.burst_seconds, self.clock) if rate else None

    def charge(self, api: str, units: int) -> float:
        """0.0 if charged, else the wait (seconds) a client would need."""
        with self.lock:
            bucket = self.buckets.get(api)
            return 0.0 if bucket is None or units == 0 else bucket.take(units)


# "reset": the connection drops before the server acts; "lost": the server acts, then the
# connection drops before the answer (a retried insert then meets its own event: 409).
FAULT_KINDS = ("500", "503", "429", "403rate", "reset", "delay", "lost")
# Kinds that make sense for one part inside a batch (a part cannot reset a socket).
STATUS_KINDS = ("500", "503", "429", "403rate")


@dataclass
class FaultRule:
    """Matches requests by path prefix / method (HTTP verb or API method name)."""

    kinds: tuple[str, ...]
    rate: float = 1.0
    remaining: int | None = None  # None: unlimited (inject); n: fail_next
    paths: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    in_batch: bool = True
    rng: random.Random = field(default_factory=random.Random)

    def matches(self, http_method: str, path: str, api_method: str, in_batch: bool) -> bool:
        if in_batch and not self.in_batch:
            return False
        if self.paths is not None and not any(path.startswith(p.lstrip("/")) for p in self.paths):
            return False
        return not (self.methods is not None and http_method not in self.methods and api_method not in self.methods)


DEFAULT_FAULT_PATHS = ("gmail/", "calendar/", "batch")


class Faults:
    """Ordered rules; one-shot `fail_next` rules are consulted before `inject` ones."""

    def __init__(self):
        self.lock = threading.Lock()
        self.once: list[FaultRule] = []
        self.random: list[FaultRule] = []
        self.log: list[tuple[str, str, str]] = []  # (kind, api_method, path)

    def pick(self, http_method: str, path: str, api_method: str, in_batch: bool) -> str | None:
        with self.lock:
            for rule in self.once:
                if rule.remaining and rule.matches(http_method, path, api_method, in_batch):
                    kind = rule.kinds[0]
                    if in_batch and kind not in STATUS_KINDS:
                        continue
                    rule.remaining -= 1
                    self.once = [r for r in self.once if r.remaining]
                    self.log.append((kind, api_method, path))
                    return kind
            for rule in self.random:
                if not rule.matches(http_method, path, api_method, in_batch):
                    continue
                kinds = [k for k in rule.kinds if not in_batch or k in STATUS_KINDS]
                # Draw both numbers every time so the sequence depends only on the seed
                # and the order of matching requests.
                hit = rule.rng.random() < rule.rate
                choice = rule.rng.choice(rule.kinds)
                if hit and kinds:
                    kind = choice if choice in kinds else kinds[0]
                    self.log.append((kind, api_method, path))
                    return kind
            return None
