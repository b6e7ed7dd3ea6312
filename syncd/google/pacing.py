"""A client-side pacer that holds Gmail requests at the per-user quota ceiling it measures from 429s."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class AdaptiveRate:
    """A client-side pacer that finds and holds a per-user quota ceiling.

    Callers `acquire(units)` before sending work worth that many quota units; a caller
    may go when the bucket is not in deficit, and its units are then taken (the bucket
    may go negative), so the long-run rate is `rate` whatever the request sizes. The
    rate starts at `initial` units/s (Gmail's documented per-user limit is 250) and
    doubles every `probe_seconds` while nothing is rate-limited (slow start), then grows
    by `growth` per probe period. A 429 in the first `window` seconds halves the rate;
    later, a 429 sets the rate to what the server actually
    *accepted* over the last `window` seconds — at saturation that is the server's
    refill rate, i.e. the ceiling — so the pacer sits at the ceiling instead of sawing
    far below it as halving (AIMD) would. It never drops below half the highest rate the
    server has accepted during this run (`peak`, measured every probe period): 429s that
    are not about the rate (another app of the user eating the quota, a flaky proxy)
    must not spiral the pace down to a crawl while the server keeps accepting. A
    Retry-After pauses everyone until it has passed. Thread-safe; waiting callers see
    rate changes at once.
    """

    def __init__(
        self,
        initial: float = 250.0,
        *,
        minimum: float = 25.0,
        maximum: float = 1e6,
        window: float = 2.0,
        probe_seconds: float = 0.5,
        growth: float = 0.03,
        burst_seconds: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.rate = float(initial)
        self.minimum = minimum
        self.maximum = maximum
        self.window = window
        self.probe_seconds = probe_seconds
        self.growth = growth
        self.burst_seconds = burst_seconds
        self.clock = clock
        self.sleep = sleep
        self.lock = threading.Lock()
        now = clock()
        self.tokens = 0.0
        self.last_fill = now
        self.paused_until = 0.0
        self.slow_start = True
        self.accepted: list[tuple[float, float]] = []  # (time, units) of accepted work
        self.last_limited = -1e9
        self.last_probe = now
        self.started = now
        self.limited_events = 0
        self.peak = 0.0

    def acquire(self, units: float) -> None:
        while True:
            with self.lock:
                now = self.clock()
                self._probe(now)
                self.tokens = min(self.rate * self.burst_seconds, self.tokens + (now - self.last_fill) * self.rate)
                self.last_fill = now
                if now >= self.paused_until and self.tokens >= 0:
                    self.tokens -= units
                    return
                wait = max(self.paused_until - now, -self.tokens / self.rate)
            self.sleep(min(max(wait, 0.001), 0.05))

    def _measured(self, now: float) -> float:
        """Units/s the server accepted over the last `window` seconds (or since the start)."""
        span = min(self.window, max(now - self.started, 1e-3))
        return sum(units for at, units in self.accepted if at >= now - span) / span

    def _probe(self, now: float) -> None:
        if now - self.last_probe < self.probe_seconds:
            return
        self.last_probe = now
        if now - self.started >= self.window:
            self.peak = max(self.peak, self._measured(now))
        if now - self.last_limited < self.window:
            return
        factor = 2.0 if self.slow_start else 1.0 + self.growth
        self.rate = min(self.maximum, self.rate * factor)

    def accepted_units(self, units: float) -> None:
        with self.lock:
            now = self.clock()
            self.accepted.append((now, units))
            horizon = now - self.window * 2
            if len(self.accepted) > 256 and self.accepted[0][0] < horizon:
                self.accepted = [item for item in self.accepted if item[0] >= horizon]

    def limited(self, retry_after: float | None = None) -> None:
        """A request was rate-limited: fall back to the measured accepted rate."""
        with self.lock:
            now = self.clock()
            if retry_after:
                self.paused_until = max(self.paused_until, now + retry_after)
            if now - self.last_limited < self.window / 2:
                return  # one adjustment per burst of 429s
            self.limited_events += 1
            self.last_limited = now
            self.slow_start = False
            if now - self.started < self.window:
                # Too early to measure anything but latency: just halve.
                self.rate = max(self.minimum, self.rate * 0.5)
                return
            measured = self._measured(now)
            self.rate = max(self.minimum, self.peak / 2, min(self.rate * 0.95, measured or self.rate * 0.5))
