"""Listing Gmail message ids ahead of the metadata fetch, and single paced Gmail calls.

`PageLister` runs in its own thread at most `LOOKAHEAD_PAGES` pages ahead of the
fetching, handing each page to the `MetadataFetcher` as a gated group.
"""

from __future__ import annotations

import threading
from typing import Any

from syncd.google.client import GoogleSession
from syncd.google.failures import GoogleApiError, Transient
from syncd.google.gmail_fetch import MetadataFetcher
from syncd.google.pacing import AdaptiveRate
from syncd.sources.base import CursorInvalid

LIST_UNITS = 5
LIST_PAGE = 500
LOOKAHEAD_PAGES = 2


def paced_execute(session: GoogleSession, pacer: AdaptiveRate, request: Any, units: int, what: str) -> Any:
    """One request through the pacer, retried on the session's policy; a 429 slows the pacer down."""

    def attempt() -> Any:
        pacer.acquire(units)
        result = session.execute_once(request, "gmail")
        pacer.accepted_units(units)
        return result

    def slow_down(transient: Transient) -> None:
        if transient.rate_limited:
            pacer.limited(transient.retry_after)

    return session.call(attempt, f"Gmail {what}", on_transient=slow_down)


class PageLister(threading.Thread):
    """Lists message ids ahead of the fetching (at most LOOKAHEAD_PAGES pages ahead)."""

    def __init__(
        self,
        session: GoogleSession,
        pacer: AdaptiveRate,
        fetcher: MetadataFetcher,
        page_token: str | None,
        since_ms: int,
        page_size: int = LIST_PAGE,
    ):
        super().__init__(name="gmail-list", daemon=True)
        self.page_size = page_size
        self.session = session
        self.pacer = pacer
        self.fetcher = fetcher
        self.page_token = page_token
        self.since_ms = since_ms
        self.cv = threading.Condition()
        self.pages_listed: list[tuple[list[str], str | None]] = []
        self.consumed = 0
        self.finished = False
        self.stopped_at: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            gmail = self.session.gmail()
            token = self.page_token
            while True:
                with self.cv:
                    while (
                        len(self.pages_listed) - self.consumed >= LOOKAHEAD_PAGES
                        and self.stopped_at is None
                        and self.fetcher.cancelled_after is None
                    ):
                        self.cv.wait(0.05)
                    if self.stopped_at is not None or self.fetcher.cancelled_after is not None:
                        break
                request = gmail.users().messages().list(userId="me", maxResults=self.page_size, pageToken=token)
                try:
                    response = paced_execute(self.session, self.pacer, request, LIST_UNITS, "listing")
                except GoogleApiError as error:
                    if error.status == 400 and token:
                        raise CursorInvalid("Gmail no longer accepts the stored listing position") from None
                    raise
                ids = [item["id"] for item in response.get("messages") or []]
                token = response.get("nextPageToken")
                with self.cv:
                    if self.stopped_at is not None:
                        break
                    group = len(self.pages_listed)
                    self.pages_listed.append((ids, token))
                    self.fetcher.submit(group, ids, gated=True)
                    self.cv.notify_all()
                if not token or not ids:
                    break
        except BaseException as error:
            self.error = error
            self.fetcher._fail(error)
        finally:
            with self.cv:
                self.finished = True
                self.cv.notify_all()

    def page(self, group: int) -> tuple[list[str], str | None] | None:
        with self.cv:
            while len(self.pages_listed) <= group and not self.finished:
                self.cv.wait(0.5)
            if self.error is not None:
                raise self.error
            if len(self.pages_listed) <= group:
                return None
            self.consumed = group + 1
            self.cv.notify_all()
            return self.pages_listed[group]

    def stop(self, group: int) -> None:
        with self.cv:
            if self.stopped_at is None or (group >= 0 and group < self.stopped_at):
                self.stopped_at = group if group >= 0 else len(self.pages_listed)
            self.cv.notify_all()
