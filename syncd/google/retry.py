"""The one retry rule for every Google call: backoff with jitter, Retry-After, bounded in tries and time.

`RetryPolicy.next_wait` is the whole decision (wait how long, or give up);
`call_with_retry` drives a blocking call with it, and the concurrent Gmail fetcher,
which retries single batch parts without blocking a thread, asks the same policy.
The client library's own retries are not used (`num_retries=0`): they ignore
`Retry-After`, and batch parts are never retried by the client at all.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from syncd.errors import SourceError
from syncd.google.failures import Transient

log = logging.getLogger("syncd.google")

T = TypeVar("T")
CHECK = "check the network or [sources.google] api_endpoint"


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, never shorter than a server's Retry-After.

    `attempts` bounds the tries of one call and `max_total` the seconds it spends
    waiting between them. A server that cannot be reached at all gets only
    `unreachable_attempts` tries, each wait at most `unreachable_delay`: a refused
    connection will not heal within a sync, and the local sources wait behind it.
    """

    attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 64.0
    max_total: float = 120.0
    unreachable_attempts: int = 3
    unreachable_delay: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    random: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """How long to wait before retry number `attempt + 1` (attempt counts from 0)."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        wait = self.random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def next_wait(self, failures: int, transient: Transient, waited: float = 0.0) -> float | None:
        """Seconds to wait after `failures` failed tries (the last one `transient`), or None to give up.

        `waited` is what this call has already spent waiting; a wait that would take it
        past `max_total` (a long Retry-After, say) gives up instead.
        """
        limit = self.unreachable_attempts if transient.unreachable else self.attempts
        if failures >= limit:
            return None
        wait = self.delay(failures - 1, transient.retry_after)
        if transient.unreachable:
            wait = min(wait, self.unreachable_delay)
        if waited + wait > self.max_total:
            return None
        return wait


class GaveUp(SourceError):
    """A call still failing after the retry budget; one line naming what failed and why."""

    def __init__(self, message: str, unreachable: bool = False, description: str = ""):
        super().__init__(message)
        self.unreachable = unreachable
        self.description = description

    @classmethod
    def after(cls, what: str, transient: Transient, failures: int) -> GaveUp:
        if transient.unreachable:
            message = f"{what}: {transient.description}, gave up after {failures} attempts; {CHECK}"
            return cls(message, True, transient.description)
        return cls(f"{what}: {transient.description}, still failing after {failures} attempts")

    @classmethod
    def recently(cls, what: str, description: str) -> GaveUp:
        """Google was unreachable moments ago: say so without trying again."""
        return cls(f"{what}: {description} moments ago, not tried again yet; {CHECK}", True, description)


def call_with_retry(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    what: str,
    on_transient: Callable[[Transient], None] | None = None,
) -> T:
    """`attempt()` until it returns, backing off on `Transient`; `GaveUp` past the policy's budget.

    Anything else `attempt` raises (NeedsAuth, GoogleApiError) passes through at once.
    `on_transient` sees every failure first (the Gmail pacer slows down on 429s).
    """
    failures = 0
    waited = 0.0
    while True:
        try:
            return attempt()
        except Transient as transient:
            failures += 1
            if on_transient is not None:
                on_transient(transient)
            wait = policy.next_wait(failures, transient, waited)
            if wait is None:
                raise GaveUp.after(what, transient, failures) from None
            log.debug("%s: %s; retrying in %.1fs", what, transient.description, wait)
            policy.sleep(wait)
            waited += wait
