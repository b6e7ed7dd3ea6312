"""Gmail as a message source: metadata only (the `gmail.metadata` scope), kept in sync cheaply.

First sync (no cursor, or after a 404 from history):
  1. `users.getProfile`: the account's own address (→ `Batch.own_addresses`, never a
     contact) and the mailbox `historyId`, committed *before* the listing starts, so
     whatever changes while the listing runs is picked up by the next history sync.
  2. `messages.list` (500 ids a page, newest first by internalDate; no `q` — the
     metadata scope forbids it; SPAM and TRASH are left out by Gmail unless
     `includeSpamTrash`), and `messages.get?format=metadata` with only the headers
     the touch rules read, in HTTP batches.
  3. Stops once messages are older than the look-back (`internalDate` is the touch
     time, and the listing is ordered by it), so the cost is bounded whatever the
     mailbox size: each page's newest message is fetched first, and a page that
     already begins past the look-back is not fetched any further.
  Each listing page is committed with a cursor holding the next page token, so an
  interrupted first sync resumes where it stopped. Rows carry the listing's generation
  and the last page prunes rows the listing did not see (a resync removes what vanished).

Speed: Gmail's per-user quota is 250 units/s (15,000 a minute); `messages.get` costs 5,
so metadata for 50 messages a second is the ceiling, and sequential batches leave most
of it unused. Pages are listed ahead of the fetching, a few worker threads (one
httplib2 connection each) send batches, an `AdaptiveRate` pacer holds the request rate
at the ceiling it measures from 429s (honouring Retry-After), and the batch size shrinks
when parts come back rate-limited and grows back when they do not. Failed parts are
retried individually with exponential backoff and jitter; after the retry budget the
sync fails with a one-line SourceError and the pages already committed stay.

Later syncs: `history.list` from the stored historyId — one call (2 units) when nothing
changed. messagesAdded and label changes that matter (SENT/SPAM/TRASH/DRAFT, or a known
message) fetch the message's current metadata; messagesDeleted (or a 404 on fetch)
deletes the row; drafts are never interactions. A 404 from history (historyId too old,
typically after about a week) raises CursorInvalid and the engine syncs fully again.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, UTC
from typing import Any
from collections.abc import Callable, Iterator

from syncd.addresses import parse_address_list
from syncd.errors import CursorInvalid
from syncd.google.client import MAX_BATCH, GoogleSession
from syncd.google.failures import GoogleApiError
from syncd.google.gmail_fetch import MetadataFetcher
from syncd.google.gmail_listing import LIST_PAGE, PageLister, paced_execute
from syncd.google.pacing import AdaptiveRate
from syncd.sources.progress import Progress
from syncd.records import Batch, Message, display_names
from syncd.sources.base import SyncContext
from syncd.sources.mail_headers import list_and_auto

log = logging.getLogger("syncd.sources.gmail")

KEPT_LABELS = frozenset({"SENT", "SPAM", "TRASH"})
# Label changes that alter what a stored message means (or whether it is one).
MEANINGFUL_LABELS = KEPT_LABELS | {"DRAFT"}
SCOPE = "mail"
HISTORY_PAGE = 500


def message_record(data: dict[str, Any]) -> Message | None:
    """A Gmail `format=metadata` resource → Message (None for drafts and chats)."""
    labels = set(data.get("labelIds") or [])
    if "DRAFT" in labels or "CHAT" in labels:
        return None
    headers: dict[str, list[str]] = {}
    for header in (data.get("payload") or {}).get("headers") or []:
        headers.setdefault(str(header.get("name", "")).lower(), []).append(str(header.get("value", "")))
    try:
        date = datetime.fromtimestamp(int(data["internalDate"]) / 1000, UTC)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None

    bulk, auto_submitted = list_and_auto(headers)
    named: dict[str, str] = {}

    def addresses(name: str) -> tuple[str, ...]:
        return tuple(parse_address_list(headers.get(name), named))

    return Message(
        item_id=str(data["id"]),
        date=date,
        sender=addresses("from"),
        to=addresses("to"),
        cc=addresses("cc"),
        bulk=bulk,
        auto_submitted=auto_submitted,
        labels=tuple(sorted(labels & KEPT_LABELS)),
        names=display_names(named.items()),
    )


# --- progress ----------------------------------------------------------------------


class GmailSource:
    kind = "gmail"

    def __init__(
        self,
        session: GoogleSession,
        account: str | None,
        *,
        workers: int = 4,
        pacer_factory: Callable[[], AdaptiveRate] | None = None,
        max_batch: int = MAX_BATCH,
        list_page: int = LIST_PAGE,
    ):
        self.session = session
        self.list_page = list_page
        self.account = account
        self.name = f"gmail:{account or 'me'}"
        self.workers = workers
        self.max_batch = max_batch
        self.pacer_factory = pacer_factory or AdaptiveRate
        self.stats: dict[str, Any] = {}

    def sync(self, cursor: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]:
        if cursor and cursor.get("phase") == "history" and cursor.get("history_id"):
            yield from self._history_sync(cursor, context)
        else:
            yield from self._full_sync(cursor if cursor and cursor.get("phase") == "full" else None, context)

    # first / full sync ---------------------------------------------------------------

    def _full_sync(self, resume: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]:
        pacer = self.pacer_factory()
        gmail = self.session.gmail()
        self.session.ensure_token("gmail")
        if resume:
            history_id = str(resume["history_id"])
            generation = str(resume["generation"])
            since_ms = int(resume["since_ms"])
            page_token = resume.get("page_token")
            done = int(resume.get("messages", 0))
        else:
            profile = paced_execute(self.session, pacer, gmail.users().getProfile(userId="me"), 1, "profile")
            history_id = str(profile["historyId"])
            generation = uuid.uuid4().hex
            since_ms = int(context.since.timestamp() * 1000)
            page_token = None
            done = 0
            own = [profile["emailAddress"]] if profile.get("emailAddress") else []
            # The historyId is on disk before the first id is listed.
            yield Batch(
                upserts=[],
                cursor=self._full_cursor(history_id, generation, since_ms, None, 0),
                own_addresses=own,
                scope=SCOPE,
                generation=generation,
            )
        progress = Progress(self.name, context)
        fetcher = MetadataFetcher(
            self.session, pacer, workers=self.workers, max_batch=self.max_batch, stop_before_ms=since_ms
        ).start()
        lister = PageLister(self.session, pacer, fetcher, page_token, since_ms, self.list_page)
        lister.start()
        started = time.monotonic()
        try:
            group = 0
            while True:
                page = lister.page(group)
                if page is None:  # the listing ended before this page: prune and switch to history
                    yield Batch(
                        upserts=[],
                        cursor={"phase": "history", "history_id": history_id},
                        scope=SCOPE,
                        generation=generation,
                        prune=True,
                    )
                    progress.update(done, final=True)
                    break
                ids, next_token = page
                fetched = fetcher.wait_group(group)
                records = []
                past_lookback = False
                for message_id in ids:
                    data = fetched.get(message_id)
                    if data is None:
                        continue
                    if int(data.get("internalDate", 0)) < since_ms:
                        past_lookback = True
                        continue
                    record = message_record(data)
                    if record is not None:
                        records.append(record)
                done += len(records)
                last = past_lookback or not next_token or not ids
                if last:
                    lister.stop(group)
                    fetcher.cancel_after(group)
                    cursor = {"phase": "history", "history_id": history_id}
                else:
                    cursor = self._full_cursor(history_id, generation, since_ms, next_token, done)
                yield Batch(upserts=records, cursor=cursor, scope=SCOPE, generation=generation, prune=last)
                progress.update(done, final=last)
                if last:
                    break
                group += 1
        finally:
            lister.stop(-1)
            fetcher.close()
            lister.join(timeout=5)
            self.stats = {
                "seconds": time.monotonic() - started,
                "messages": done,
                "batches": fetcher.batches,
                "rate_limited_parts": fetcher.rate_limited_parts,
                "pacer_rate": pacer.rate,
                "pacer_limited_events": pacer.limited_events,
            }

    @staticmethod
    def _full_cursor(
        history_id: str, generation: str, since_ms: int, page_token: str | None, done: int
    ) -> dict[str, Any]:
        return {
            "phase": "full",
            "history_id": history_id,
            "generation": generation,
            "since_ms": since_ms,
            "page_token": page_token,
            "messages": done,
        }

    # history sync ---------------------------------------------------------------------

    def _history_sync(self, cursor: dict[str, Any], context: SyncContext) -> Iterator[Batch]:
        gmail = self.session.gmail()
        pacer = self.pacer_factory()
        start = str(cursor["history_id"])
        page_token = None
        fetcher: MetadataFetcher | None = None
        known: set[str] | None = None
        since_ms = int(context.since.timestamp() * 1000)
        try:
            while True:
                request = (
                    gmail.users()
                    .history()
                    .list(userId="me", startHistoryId=start, maxResults=HISTORY_PAGE, pageToken=page_token)
                )
                try:
                    response = paced_execute(self.session, pacer, request, 2, "history")
                except GoogleApiError as error:
                    if error.status == 404:
                        raise CursorInvalid("Gmail history is no longer available for the stored position") from None
                    raise
                records = response.get("history") or []
                deleted: set[str] = set()
                to_fetch: dict[str, None] = {}
                for record in records:
                    for entry in record.get("messagesDeleted") or []:
                        deleted.add(entry["message"]["id"])
                    for entry in record.get("messagesAdded") or []:
                        to_fetch[entry["message"]["id"]] = None
                    for kind in ("labelsAdded", "labelsRemoved"):
                        for entry in record.get(kind) or []:
                            changed = set(entry.get("labelIds") or [])
                            message_id = entry["message"]["id"]
                            if changed & MEANINGFUL_LABELS:
                                to_fetch[message_id] = None
                            else:
                                if known is None:
                                    known = context.known_ids(None)
                                if message_id in known:
                                    to_fetch[message_id] = None
                ids = [message_id for message_id in to_fetch if message_id not in deleted]
                upserts: list[Message] = []
                deletes = set(deleted)
                if ids:
                    if fetcher is None:
                        fetcher = MetadataFetcher(
                            self.session, pacer, workers=self.workers, max_batch=self.max_batch
                        ).start()
                    fetched = fetcher.fetch_all(ids)
                    for message_id in ids:
                        data = fetched.get(message_id)
                        record = message_record(data) if data is not None else None
                        if data is None or record is None:
                            deletes.add(message_id)
                            continue
                        if int(data.get("internalDate", 0)) < since_ms:
                            if known is None:
                                known = context.known_ids(None)
                            if message_id not in known:
                                continue
                        upserts.append(record)
                page_token = response.get("nextPageToken")
                if page_token:
                    last_id = records[-1]["id"] if records else start
                    next_cursor = {"phase": "history", "history_id": str(last_id)}
                else:
                    next_cursor = {"phase": "history", "history_id": str(response.get("historyId") or start)}
                yield Batch(upserts=upserts, deletes=sorted(deletes), cursor=next_cursor, scope=SCOPE)
                if not page_token:
                    return
        finally:
            if fetcher is not None:
                fetcher.close()
