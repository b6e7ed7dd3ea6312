"""Fetching Gmail metadata at the per-user quota ceiling: paced, concurrent, batched.

Pages of message ids are listed ahead (`gmail_listing.PageLister`) while a few worker
threads (one httplib2 connection each) send `messages.get?format=metadata` batches
(`MetadataFetcher`); an `AdaptiveRate` pacer holds the request rate at the ceiling
measured from 429s. Failed parts are retried one by one, each on the session's
`RetryPolicy`, without blocking a worker. Kept apart from the Gmail source, which
decides what to fetch and what the answers mean.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from syncd.errors import SourceError
from syncd.google.client import MAX_BATCH, GoogleSession
from syncd.google.pacing import AdaptiveRate
from syncd.google.retry import GaveUp

METADATA_HEADERS = ["From", "To", "Cc", "Date", "List-Id", "List-Unsubscribe", "Precedence", "Auto-Submitted"]
GET_UNITS = 5
# A part answered 429 counts as a quarter of a failure: the pacer, not the retry
# budget, is what deals with a saturated quota.
RATE_LIMITED_PATIENCE = 4


# --- the concurrent fetcher -----------------------------------------------------------


@dataclass(order=True)
class _Item:
    group: int
    seq: int
    message_id: str = field(compare=False)
    attempts: int = field(default=0, compare=False)
    limited: int = field(default=0, compare=False)
    waited: float = field(default=0.0, compare=False)
    head: bool = field(default=False, compare=False)


class MetadataFetcher:
    """Fetches `format=metadata` for message ids: N threads, paced, adaptive batches.

    Ids are submitted in groups (listing pages); `wait_group(g)` returns
    {id: resource or None (gone)} once every id of group g is resolved. Items of
    earlier groups are always sent first, so pages complete in order.
    """

    def __init__(
        self,
        session: GoogleSession,
        pacer: AdaptiveRate,
        *,
        workers: int = 4,
        max_batch: int = MAX_BATCH,
        min_batch: int = 5,
        stop_before_ms: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.session = session
        self.stop_before_ms = stop_before_ms
        self.pacer = pacer
        self.workers = max(1, workers)
        self.max_batch = max(1, min(max_batch, MAX_BATCH))
        self.min_batch = max(1, min(min_batch, self.max_batch))
        self.batch_size = self.max_batch
        self.clock = clock
        self.cv = threading.Condition()
        self.ready: list[_Item] = []
        self.heads: list[_Item] = []
        self.gated: dict[int, list[_Item]] = {}
        self.delayed: list[tuple[float, int, _Item]] = []
        self.pending: dict[int, int] = {}
        self.results: dict[int, dict[str, Any]] = {}
        self.cancelled_after: int | None = None
        self.cancelled_seq = 1 << 62
        self.error: BaseException | None = None
        self.closed = False
        self.seq = itertools.count()
        self.threads: list[threading.Thread] = []
        self.batches = 0
        self.rate_limited_parts = 0

    # public -----------------------------------------------------------------------

    def start(self) -> MetadataFetcher:
        for number in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"gmail-fetch-{number}", daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def submit(self, group: int, message_ids: list[str], gated: bool = False) -> None:
        """Queue a group. `gated`: fetch its first (newest) message ahead of everything
        and hold the rest until it is back — if it is already past the look-back, the
        whole group (and every later one) is, and none of it is fetched."""
        with self.cv:
            unique = list(dict.fromkeys(message_ids))
            self.pending[group] = self.pending.get(group, 0) + len(unique)
            self.results.setdefault(group, {})
            items = [_Item(group, next(self.seq), message_id) for message_id in unique]
            if gated and len(items) > 1:
                items[0].head = True
                heapq.heappush(self.heads, items[0])
                self.gated[group] = items[1:]
            else:
                for item in items:
                    heapq.heappush(self.ready, item)
            self.cv.notify_all()

    def cancel_after(self, group: int, seq: int | None = None) -> None:
        """Drop queued work after `group` (and after item `seq` within it): past the look-back."""
        with self.cv:
            self._cancel_after(group, seq)

    def _cancel_after(self, group: int, seq: int | None = None) -> None:
        if self.cancelled_after is not None and (self.cancelled_after, self.cancelled_seq) <= (
            group,
            seq if seq is not None else 1 << 62,
        ):
            return
        self.cancelled_after = group
        self.cancelled_seq = seq if seq is not None else 1 << 62

        def keep(item: _Item) -> bool:
            return item.group < 0 or (item.group, item.seq) <= (group, self.cancelled_seq)

        dropped = [item for item in self.ready if not keep(item)] + [
            entry[2] for entry in self.delayed if not keep(entry[2])
        ]
        dropped += [item for item in self.heads if not keep(item)]
        for waiting in self.gated.values():
            dropped += [item for item in waiting if not keep(item)]
        self.gated = {key: [item for item in waiting if keep(item)] for key, waiting in self.gated.items()}
        self.heads = [item for item in self.heads if keep(item)]
        heapq.heapify(self.heads)
        self.ready = [item for item in self.ready if keep(item)]
        heapq.heapify(self.ready)
        self.delayed = [entry for entry in self.delayed if keep(entry[2])]
        heapq.heapify(self.delayed)
        for item in dropped:
            if item.group == group:  # listed after an older message: older still, never fetched
                self.results.setdefault(group, {})[item.message_id] = None
                self.pending[group] = self.pending.get(group, 0) - 1
        self.cv.notify_all()

    def wait_group(self, group: int) -> dict[str, Any]:
        with self.cv:
            while self.pending.get(group, 0) > 0 and self.error is None:
                self.cv.wait(0.5)
            if self.error is not None:
                raise self.error
            self.pending.pop(group, None)
            return self.results.pop(group, {})

    def fetch_all(self, message_ids: list[str]) -> dict[str, Any]:
        """Fetch one set of ids (history syncs) and wait for it."""
        group = -1 - next(self.seq)
        if not message_ids:
            return {}
        self.submit(group, message_ids)
        return self.wait_group(group)

    def close(self) -> None:
        with self.cv:
            self.closed = True
            self.cv.notify_all()
        for thread in self.threads:  # daemon threads: one stuck in a slow request is left to finish alone
            thread.join(timeout=5)

    # workers ------------------------------------------------------------------------

    def _take(self) -> list[_Item] | None:
        with self.cv:
            while True:
                if self.closed or self.error is not None:
                    return None
                now = self.clock()
                while self.delayed and self.delayed[0][0] <= now:
                    item = heapq.heappop(self.delayed)[2]
                    heapq.heappush(self.heads if item.head else self.ready, item)
                if self.ready or self.heads:
                    # At most about a second of quota per batch, so a slow pace never
                    # makes one caller wait long for a big batch's worth of units.
                    affordable = max(1, int(self.pacer.rate / GET_UNITS))
                    count = min(self.batch_size, affordable)
                    batch = [heapq.heappop(self.heads) for _ in range(min(count, len(self.heads)))]
                    batch += [heapq.heappop(self.ready) for _ in range(min(count - len(batch), len(self.ready)))]
                    return batch
                timeout = self.delayed[0][0] - now if self.delayed else 0.5
                self.cv.wait(max(0.001, min(timeout, 0.5)))

    def _resolve(self, item: _Item, value: Any) -> None:
        if self.cancelled_after is not None and item.group > self.cancelled_after:
            return
        self.results.setdefault(item.group, {})[item.message_id] = value
        self.pending[item.group] = self.pending.get(item.group, 0) - 1
        if item.head:
            for waiting in self.gated.pop(item.group, []):
                heapq.heappush(self.ready, waiting)

    def _work(self) -> None:
        messages = self.session.gmail().users().messages()  # building resources is slow: once
        policy = self.session.retry
        while True:
            items = self._take()
            if items is None:
                return
            try:
                self.pacer.acquire(len(items) * GET_UNITS)
                requests = [
                    (
                        item.message_id,
                        messages.get(
                            userId="me", id=item.message_id, format="metadata", metadataHeaders=METADATA_HEADERS
                        ),
                    )
                    for item in items
                ]
                outcome = self.session.run_batch("gmail", requests)
            except BaseException as error:  # NeedsAuth, an unexpected bug: stop everyone
                self._fail(error)
                return
            by_id = {item.message_id: item for item in items}
            accepted = len(outcome.ok) + sum(1 for failure in outcome.failed.values() if failure.status == 404)
            if accepted:
                self.pacer.accepted_units(accepted * GET_UNITS)
            limited = [hint for hint in outcome.retry.values() if hint.rate_limited]
            if limited:
                self.pacer.limited(max((hint.retry_after or 0.0) for hint in limited) or None)
            with self.cv:
                self.batches += 1
                self.rate_limited_parts += len(limited)
                if limited:
                    self.batch_size = max(self.min_batch, int(self.batch_size * 0.7))
                elif not outcome.retry:
                    self.batch_size = min(self.max_batch, self.batch_size + 5)
                for message_id, value in outcome.ok.items():
                    item = by_id[message_id]
                    self._resolve(item, value)
                    if (
                        self.stop_before_ms is not None
                        and item.group >= 0
                        and int(value.get("internalDate", 0)) < self.stop_before_ms
                    ):
                        self._cancel_after(item.group, item.seq)  # what is listed after it is older still
                for message_id, failure in outcome.failed.items():
                    if failure.status == 404:  # deleted since it was listed
                        self._resolve(by_id[message_id], None)
                    else:
                        self._fail(
                            SourceError(f"Gmail answered {failure.status} {failure.reason or 'error'} for a message")
                        )
                        return
                now = self.clock()
                for message_id, hint in outcome.retry.items():
                    item = by_id[message_id]
                    if hint.rate_limited:
                        item.limited += 1
                    else:
                        item.attempts += 1
                    failures = item.attempts + item.limited // RATE_LIMITED_PATIENCE
                    wait = policy.next_wait(max(failures, 1), hint, item.waited)
                    if wait is None:
                        self._fail(GaveUp.after("Gmail", hint, item.attempts + item.limited))
                        return
                    item.waited += wait
                    heapq.heappush(self.delayed, (now + wait, item.seq, item))
                self.cv.notify_all()

    def _fail(self, error: BaseException) -> None:
        with self.cv:
            if self.error is None:
                self.error = error
            self.cv.notify_all()
