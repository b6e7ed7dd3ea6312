"""A Google Calendar as a meeting source: `events.list` with `singleEvents=true` and sync tokens.

Recurring meetings. `singleEvents=true` expands series into instances (each with its
own id, `<series id>_<UTC start>`), so a recurring meeting counts at each occurrence,
exceptions and cancelled occurrences included. Google allows `singleEvents` with a
`syncToken` (it is not among the parameters that must not be combined with one, and
Google's own sync guide shows `singleEvents=true&syncToken=…`); every other parameter
of an incremental request repeats the first one, as the reference asks. Deltas are then
in instance form too: a changed series comes back as all its instances.

Window of the first sync, and why there is no `timeMax`. A `syncToken` cannot be
combined with `timeMin`, `timeMax`, `orderBy`, `q`, `updatedMin` or `iCalUID` (400), and
the deltas it yields cover events anywhere in time, not just inside the first window.
A first sync bounded by `timeMax` would therefore never learn about events beyond it
that never change afterwards — a meeting booked three months out before syncd started
would be missing when it finally happens. So the first sync lists from `timeMin` =
now − lookback with no upper bound (Google expands open-ended series to a horizon of
its own), and the sync-token deltas cover everything changed after it, including
events beyond `until`. The price is rows for far-future instances of open-ended series;
rows are small, and future meetings never count before they start.

Later syncs send only `syncToken` (+ the repeated `singleEvents`, `maxResults`);
a no-change sync is one `events.list` call. Cancelled items in deltas (minimal: Google
guarantees only id and status) delete their row. A delta item that starts before the
look-back and is not stored is skipped, as the first sync would have.

410 Gone (token expired or invalidated) raises CursorInvalid: the engine drops the
cursor and syncs fully once. A full listing tags rows with a generation and commits
page by page (cursor = next page token, so an interrupted listing resumes); its last
page prunes rows the listing did not see, so a resync neither duplicates nor keeps
deleted events — rows older than the look-back at that time go, as on a fresh start.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, tzinfo
from typing import Any

from syncd.addresses import normalize
from syncd.errors import CursorInvalid
from syncd.google.client import GoogleSession
from syncd.google.event_time import event_time, zone
from syncd.google.failures import GoogleApiError
from syncd.records import Attendee, Batch, Meeting, display_names
from syncd.sources.base import SyncContext

log = logging.getLogger("syncd.sources.google_calendar")

SCOPE = "events"
PAGE_SIZE = 2500  # Google's maximum for events.list


def meeting_record(event: dict[str, Any], tz: tzinfo) -> Meeting | None:
    """A Google event → Meeting (None when it has no usable times)."""
    start = event_time(event.get("start"), tz)
    end = event_time(event.get("end"), tz)
    if start is None or end is None:
        return None
    attendees = []
    names: list[tuple[str | None, str | None]] = []
    for item in event.get("attendees") or []:
        address = normalize(str(item.get("email") or ""))
        if not address:
            continue
        names.append((address, _display_name(item)))
        attendees.append(
            Attendee(
                address=address,
                response=str(item.get("responseStatus") or "needsAction"),
                is_resource=bool(item.get("resource")),
                is_self=bool(item.get("self")),
            )
        )
    organizer_item = event.get("organizer") or {}
    organizer = normalize(str(organizer_item.get("email") or "")) or None
    names.append((organizer, _display_name(organizer_item)))
    return Meeting(
        item_id=str(event["id"]),
        start=start[0],
        end=max(end[0], start[0]),
        attendees=tuple(attendees),
        organizer=organizer,
        cancelled=event.get("status") == "cancelled",
        all_day=start[1],
        transparent=event.get("transparency") == "transparent",
        title=event.get("summary") or None,
        names=display_names(names),
    )


def _display_name(person: dict[str, Any]) -> str | None:
    """Google's `displayName` of an attendee or the organiser, when the event carries one."""
    name = person.get("displayName")
    return str(name) if name else None


def own_addresses_of(event: dict[str, Any]) -> set[str]:
    """Addresses Google marks as the calendar's owner (`self`) on this event."""
    found = set()
    for item in [event.get("organizer") or {}, event.get("creator") or {}, *(event.get("attendees") or [])]:
        if item.get("self"):
            address = normalize(str(item.get("email") or ""))
            if address:
                found.add(address)
    return found


class GoogleCalendarSource:
    kind = "google_calendar"

    def __init__(self, session: GoogleSession, calendar_id: str, *, page_size: int = PAGE_SIZE, name: str = ""):
        self.session = session
        self.calendar_id = calendar_id
        self.page_size = page_size
        self.name = name or f"google_calendar:{calendar_id}"

    def sync(self, cursor: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]:
        cursor = cursor or {}
        if cursor.get("sync_token"):
            yield from self._incremental(cursor, context)
        else:
            yield from self._full(cursor if cursor.get("phase") == "full" else None, context)

    # ---------------------------------------------------------------------------------

    def _list(self, **params: Any) -> dict[str, Any]:
        request = (
            self.session.calendar()
            .events()
            .list(calendarId=self.calendar_id, singleEvents=True, maxResults=self.page_size, **params)
        )
        try:
            return self.session.execute(request, "calendar", "events")
        except GoogleApiError as error:
            if error.status == 410:
                raise CursorInvalid("Google Calendar no longer accepts the stored sync position") from None
            if error.status == 400 and ("syncToken" in params or "pageToken" in params):
                raise CursorInvalid("Google Calendar refused the stored sync position") from None
            if error.status == 404:
                raise GoogleApiError(
                    "Google Calendar: no such calendar for this account (404)", 404, error.reason
                ) from None
            raise

    def _own(self, state: dict[str, Any], events: list[dict[str, Any]]) -> list[str] | None:
        """The account's own addresses seen on the primary calendar (`self`), if new ones; they
        are added to `state["own"]`, which the cursor carries so a later page or sync knows them."""
        if self.calendar_id != "primary":
            return None
        known = set(state.get("own") or [])
        found = set(known)
        for event in events:
            found |= own_addresses_of(event)
        if found == known:
            return None
        state["own"] = sorted(found)
        return state["own"]

    def _full(self, resume: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]:
        if resume:
            generation = resume["generation"]
            time_min = resume["time_min"]
            page_token = resume.get("page_token")
            own = list(resume.get("own") or [])
        else:
            generation = uuid.uuid4().hex
            time_min = context.since.astimezone(UTC).isoformat().replace("+00:00", "Z")
            page_token = None
            own = []
        state: dict[str, Any] = {"own": own}
        while True:
            params: dict[str, Any] = {"timeMin": time_min}
            if page_token:
                params["pageToken"] = page_token
            response = self._list(**params)
            tz = zone(response.get("timeZone"), context.tz)
            items = response.get("items") or []
            records = []
            for event in items:
                if event.get("status") == "cancelled":
                    continue
                record = meeting_record(event, tz)
                if record is not None:
                    records.append(record)
            own_addresses = self._own(state, items)
            page_token = response.get("nextPageToken")
            if page_token:
                cursor = {
                    "phase": "full",
                    "generation": generation,
                    "time_min": time_min,
                    "page_token": page_token,
                    "own": state["own"],
                }
                yield Batch(
                    upserts=records, cursor=cursor, scope=SCOPE, generation=generation, own_addresses=own_addresses
                )
                continue
            sync_token = response.get("nextSyncToken")
            if not sync_token:
                log.warning("%s: Google sent no sync token; the next sync lists fully again", self.name)
            final_cursor = {"sync_token": sync_token, "own": state["own"]} if sync_token else None
            yield Batch(
                upserts=records,
                cursor=final_cursor,
                scope=SCOPE,
                generation=generation,
                prune=True,
                own_addresses=own_addresses,
            )
            return

    def _incremental(self, cursor: dict[str, Any], context: SyncContext) -> Iterator[Batch]:
        sync_token = cursor["sync_token"]
        state: dict[str, Any] = {"own": list(cursor.get("own") or [])}
        page_token = None
        known: set[str] | None = None
        while True:
            params: dict[str, Any] = {"syncToken": sync_token}
            if page_token:
                params["pageToken"] = page_token
            response = self._list(**params)
            tz = zone(response.get("timeZone"), context.tz)
            items = response.get("items") or []
            upserts, deletes = [], []
            for event in items:
                if event.get("status") == "cancelled":
                    deletes.append(str(event["id"]))
                    continue
                record = meeting_record(event, tz)
                if record is None:
                    deletes.append(str(event["id"]))
                    continue
                if record.end < context.since:
                    if known is None:
                        known = context.known_ids(SCOPE)
                    if record.item_id not in known:
                        continue
                upserts.append(record)
            own_addresses = self._own(state, items)
            page_token = response.get("nextPageToken")
            # Mid-delta: keep the old token (a resumed delta is replayed; upserts are idempotent).
            token = sync_token if page_token else response.get("nextSyncToken") or sync_token
            yield Batch(
                upserts=upserts,
                deletes=deletes,
                cursor={"sync_token": token, "own": state["own"]},
                scope=SCOPE,
                own_addresses=own_addresses,
            )
            if not page_token:
                return
