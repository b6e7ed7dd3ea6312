"""The Google Calendar hold sink (``google:CALENDAR_ID``, ``google:ACCOUNT/CALENDAR_ID``): holds as calendar events.

What Google does, and so what this sink relies on (DESIGN.md "Holds", "Google specifics"):

* **Deterministic ids.** ``events.insert`` accepts a client-chosen ``id`` (base32hex
  ``a-v0-9``, 5–1024 characters, unique per calendar); the planner derives it from
  (contact, cycle, attempt).  Google keeps deleted events (``status: "cancelled"``), so
  inserting an id that was ever used answers **409** — whether the event is alive (our
  own earlier insert whose answer was lost: a retried run) or deleted (the user deleted
  this very hold).  On 409 the sink reads the event: alive and marked → that is the hold,
  returned as is (no duplicate); cancelled or gone → :class:`HoldGone` (the lifecycle
  snoozes the contact and never resurrects the hold).
* **The marker.** Every hold carries ``extendedProperties.private`` =
  ``{"syncd": "hold", "contact": <contact id>}`` (private properties belong to this
  calendar's copy of the event; keys ≤ 44 characters).  ``list_holds`` finds holds with
  ``privateExtendedProperty=syncd=hold`` and ``remove`` reads the event first and deletes
  it only when it carries the marker: an event syncd did not write is never changed.
* **The user's own event.** No attendees, ``sendUpdates=none`` (no mail to anyone),
  ``transparency=opaque`` (it is busy time), ``visibility=private`` (it names a person),
  default reminders (so the nudge actually pops up).
* **Free/busy.** ``freebusy.query`` over the synced calendars plus the hold calendar, at
  most 50 calendars per query (Google's ``calendarExpansionMax`` ceiling) and at most
  :data:`MAX_RANGE` per query (Google rejects long ranges with 400 ``timeRangeTooLong``;
  the limit is undocumented, public reports range from about a month to 90 days).  A
  calendar that answers with errors fails the whole call: booking around busy time we
  could not see would double-book the user, so the lifecycle books nothing instead.

Errors become :class:`SinkError` with one human line naming the sink and what failed;
Google's own error texts (which may name the account) are never passed on, and
authorisation problems say to run ``syncd auth``.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from syncd.config_types import Config
from syncd.errors import NeedsAuth, SourceError
from syncd.google.client import GoogleSession
from syncd.google.event_time import event_time, parse_instant, rfc3339
from syncd.google.failures import GoogleApiError
from syncd.intervals import merge_intervals
from syncd.planner import Interval, NewHold
from syncd.sinks.base import HoldGone, SinkError, SinkHold, SinkSpecError

__all__ = ["GoogleHoldSink", "MARKER_KEY", "MARKER_VALUE", "CONTACT_KEY", "MAX_RANGE", "MAX_CALENDARS"]

log = logging.getLogger("syncd.sinks.google")

MARKER_KEY = "syncd"
MARKER_VALUE = "hold"
CONTACT_KEY = "contact"
MAX_CALENDARS = 50  # freebusy.query: calendarExpansionMax "Maximum value is 50"
MAX_RANGE = timedelta(days=60)  # freebusy.query: longer ranges risk 400 timeRangeTooLong
LIST_LOOKBACK = timedelta(days=30)  # list_holds sees holds that ended at most this long ago
PAGE_SIZE = 250
EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
MAX_PROPERTY_VALUE = 1024


class GoogleHoldSink:
    """Holds in one Google calendar; see the module docstring for the guarantees."""

    def __init__(
        self,
        calendar_id: str,
        session: GoogleSession,
        *,
        busy_calendars: Iterable[str] = (),
        tz: tzinfo | None = None,
        clock: Callable[[], datetime] | None = None,
        page_size: int = PAGE_SIZE,
        max_range: timedelta = MAX_RANGE,
        list_lookback: timedelta = LIST_LOOKBACK,
        account: str | None = None,
    ) -> None:
        """``busy_calendars``: the synced calendars whose free/busy counts (the hold calendar
        is always added); ``tz`` names the zone holds are written in; ``clock`` is "now";
        ``account`` is named in the sink's name when several Google accounts are configured."""
        if not calendar_id:
            raise SinkError("google: no calendar id")
        self.calendar_id = calendar_id
        self.name = f"google:{account}/{calendar_id}" if account else f"google:{calendar_id}"
        # Messages name the sink, but never by an address (a calendar id or an account may be one).
        self._where = self.name if "@" not in self.name else "google: the hold calendar"
        self._session = session
        self._busy_calendars = list(dict.fromkeys([*busy_calendars, calendar_id]))
        self._tz = tz
        self._clock = clock or (lambda: datetime.now(UTC))
        self._page_size = page_size
        self._max_range = max_range
        self._list_lookback = list_lookback

    @classmethod
    def from_config(
        cls, calendar_id: str, config: Config, *, tz: tzinfo | None = None, clock: Callable[[], datetime] | None = None
    ) -> GoogleHoldSink:
        """The sink for ``[holds] sink = "google:ID"`` (or ``"google:ACCOUNT/ID"`` with several
        accounts): that account's credentials, endpoint and calendars."""
        from syncd.google.accounts import several_accounts, split_calendar
        from syncd.google.client import session_for

        google, calendar = split_calendar(config, calendar_id)
        if google is None:
            raise SinkSpecError(
                f"hold sink 'google:{calendar_id}': several Google accounts are configured; "
                "name the account of the hold calendar: google:ACCOUNT/CALENDAR_ID"
            )
        return cls(
            calendar,
            session_for(config, google=google),
            busy_calendars=list(google.calendars or []),
            tz=tz or config.tz,
            clock=clock,
            account=google.account if several_accounts(config) else None,
        )

    # ------------------------------------------------------------------ reading

    def list_holds(self) -> list[SinkHold]:
        """Marked events from ``now - list_lookback`` on; a recurring hold counts once."""
        since = self._clock().astimezone(UTC) - self._list_lookback
        now = self._clock()
        by_id: dict[str, SinkHold] = {}
        for event in self._list_events(
            privateExtendedProperty=f"{MARKER_KEY}={MARKER_VALUE}", singleEvents=True, timeMin=rfc3339(since)
        ):
            if event.get("status") == "cancelled" or not _is_ours(event):
                continue
            hold = self._sink_hold(event)
            if hold is None:
                continue
            # An instance of a hold the user made recurring stands for its series: the id
            # syncd wrote is the series id; report the next instance (else the last one).
            key = event.get("recurringEventId") or hold.event_id
            if key != hold.event_id:
                hold = SinkHold(key, hold.contact_id, hold.start, hold.end, hold.title, hold.declined)
            seen = by_id.get(key)
            if seen is None or (seen.end <= now and hold.start > seen.start):
                by_id[key] = hold
        return sorted(by_id.values(), key=lambda h: (h.start, h.event_id))

    def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """Busy time in every synced calendar and the hold calendar; SinkError if any is unreadable."""
        if end <= start:
            return []
        out: list[Interval] = []
        for lo, hi in _ranges(start.astimezone(UTC), end.astimezone(UTC), self._max_range):
            for chunk in _chunks(self._busy_calendars, MAX_CALENDARS):
                body = {"timeMin": rfc3339(lo), "timeMax": rfc3339(hi), "items": [{"id": c} for c in chunk]}

                def query(service: Any, body: dict[str, Any] = body) -> Any:
                    return service.freebusy().query(body=body)

                answer = self._call("read free/busy", query)
                calendars = answer.get("calendars") or {}
                for calendar_id in chunk:
                    out += self._busy_of(calendar_id, calendars.get(calendar_id))
        return merge_intervals(out)  # periods split across ranges are joined again

    def _busy_of(self, calendar_id: str, entry: dict[str, Any] | None) -> list[Interval]:
        """One calendar's busy periods from a free/busy answer. A calendar Google left out or
        answered with errors fails the whole call: booking around busy time that could not be
        seen would double-book the user."""
        if entry is None:
            raise SinkError(
                f"{self._where}: free/busy: Google Calendar sent nothing for {self._label(calendar_id)}; "
                "booking nothing"
            )
        errors = entry.get("errors") or []
        if errors:
            reason = next((str(e.get("reason")) for e in errors if isinstance(e, dict) and e.get("reason")), "error")
            raise SinkError(
                f"{self._where}: free/busy of {self._label(calendar_id)} is unavailable ({reason}); booking nothing"
            )
        busy = []
        for item in entry.get("busy") or []:
            try:
                start, end = parse_instant(item["start"]), parse_instant(item["end"])
            except (KeyError, TypeError, ValueError):
                raise SinkError(f"{self._where}: free/busy: Google Calendar sent an unreadable busy period") from None
            if start < end:
                busy.append(Interval(start, end))
        return busy

    # ------------------------------------------------------------------ writing

    def create(self, hold: NewHold, title: str, description: str) -> SinkHold:
        """Insert the hold under its deterministic id; a 409 is resolved by reading that id."""
        body = self._event_body(hold, title, description)
        try:
            event = self._call(
                "book a hold",
                lambda service: service.events().insert(calendarId=self.calendar_id, body=body, sendUpdates="none"),
                passthrough=(409,),
            )
        except GoogleApiError:
            event = self._resolve_conflict(hold.event_id)
        held = self._sink_hold(event)
        if held is None:
            raise SinkError(
                f"{self._where}: Google Calendar answered the booking of hold {hold.event_id} with an unreadable event"
            )
        return held

    def remove(self, event_id: str) -> None:
        """Delete one of syncd's holds; an unmarked, absent or already deleted event is left alone."""
        event = self._get(event_id)
        if event is None or event.get("status") == "cancelled":
            return
        if not _is_ours(event):
            log.warning("%s: event %s carries no syncd marker; not removing it", self._where, event_id)
            return
        with contextlib.suppress(GoogleApiError):  # gone meanwhile: what we wanted
            self._call(
                "remove a hold",
                lambda service: service.events().delete(
                    calendarId=self.calendar_id, eventId=event_id, sendUpdates="none"
                ),
                passthrough=(404, 410),
            )

    # ------------------------------------------------------------------ internals

    def _resolve_conflict(self, event_id: str) -> dict:
        """409 on insert: the id was used before. Ours and alive → it; deleted → HoldGone."""
        event = self._get(event_id)
        if event is None or event.get("status") == "cancelled":
            raise HoldGone(f"{self._where}: hold {event_id} was deleted in Google Calendar")
        if not _is_ours(event):
            raise SinkError(
                f"{self._where}: event id {event_id} belongs to an event syncd did not write; not touching it"
            )
        return event

    def _get(self, event_id: str) -> dict | None:
        try:
            return self._call(
                "read a hold",
                lambda service: service.events().get(calendarId=self.calendar_id, eventId=event_id),
                passthrough=(404, 410),
            )
        except GoogleApiError:
            return None

    def _list_events(self, **query: Any) -> Iterator[dict]:
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            params = dict(query, calendarId=self.calendar_id, maxResults=self._page_size)
            if token:
                params["pageToken"] = token

            def list_page(service: Any, params: dict[str, Any] = params) -> Any:
                return service.events().list(**params)

            page = self._call("list holds", list_page)
            yield from (item for item in page.get("items") or [] if isinstance(item, dict))
            token = page.get("nextPageToken")
            if not token:
                return
            if token in seen_tokens:
                raise SinkError(f"{self._where}: list holds: Google Calendar repeated a page token")
            seen_tokens.add(token)

    def _service(self) -> Any:
        try:
            return self._session.calendar()
        except NeedsAuth as error:
            raise SinkError(f"{self._where}: cannot use Google Calendar: {error}") from None

    def _call(self, what: str, make: Callable[[Any], Any], passthrough: tuple[int, ...] = ()) -> Any:
        """Build and execute one request; GoogleApiError with a status in ``passthrough`` is re-raised."""
        request = make(self._service())
        try:
            answer = self._session.execute(request, "calendar", what)
        except NeedsAuth as error:
            raise SinkError(f"{self._where}: cannot {what}: {error}") from None
        except GoogleApiError as error:
            if error.status in passthrough:
                raise
            raise SinkError(f"{self._where}: cannot {what}: {error}") from None
        except SourceError as error:
            raise SinkError(f"{self._where}: cannot {what}: {error}") from None
        return answer if isinstance(answer, dict) else {}

    def _label(self, calendar_id: str) -> str:
        """A calendar as error messages name it: ids that are addresses by their place in the list."""
        if "@" not in calendar_id:
            return f"calendar {calendar_id!r}"
        if calendar_id == self.calendar_id:
            return "the hold calendar"
        return f"calendar #{self._busy_calendars.index(calendar_id) + 1} of [sources.google] calendars"

    def _when(self, moment: datetime) -> dict[str, str]:
        tz = self._tz
        name = getattr(tz, "key", None)
        if tz is None or not name:
            return {"dateTime": rfc3339(moment)}
        return {"dateTime": moment.astimezone(tz).isoformat(), "timeZone": name}

    def _event_body(self, hold: NewHold, title: str, description: str) -> dict[str, Any]:
        if not EVENT_ID.fullmatch(hold.event_id or ""):
            raise SinkError(f"{self._where}: hold id {hold.event_id!r} is not a valid Google Calendar event id")
        if not hold.contact_id or len(hold.contact_id) > MAX_PROPERTY_VALUE:
            raise SinkError(f"{self._where}: contact id of hold {hold.event_id} cannot be stored in Google Calendar")
        return {
            "id": hold.event_id,
            "summary": title,
            "description": description,
            "start": self._when(hold.start),
            "end": self._when(hold.end),
            "transparency": "opaque",
            "visibility": "private",
            "reminders": {"useDefault": True},
            "extendedProperties": {"private": {MARKER_KEY: MARKER_VALUE, CONTACT_KEY: hold.contact_id}},
        }

    def _event_time(self, value: Any) -> datetime | None:
        """A hold's start or end in UTC; an all-day date starts at midnight in the holds' zone."""
        found = event_time(value, self._tz or UTC)
        return found[0] if found else None

    def _sink_hold(self, event: dict) -> SinkHold | None:
        start, end = self._event_time(event.get("start")), self._event_time(event.get("end"))
        event_id = event.get("id")
        if start is None or end is None or not isinstance(event_id, str):
            return None
        private = (event.get("extendedProperties") or {}).get("private") or {}
        return SinkHold(
            event_id,
            str(private.get(CONTACT_KEY, "")),
            start,
            max(start, end),
            str(event.get("summary", "")),
            _declined(event),
        )


# --------------------------------------------------------------------------- helpers


def _is_ours(event: dict) -> bool:
    private = (event.get("extendedProperties") or {}).get("private") or {}
    return private.get(MARKER_KEY) == MARKER_VALUE


def _declined(event: dict) -> bool:
    """The user declined their own hold (possible once they added guests to it)."""
    for attendee in event.get("attendees") or []:
        if isinstance(attendee, dict) and attendee.get("self"):
            return attendee.get("responseStatus") == "declined"
    return False


def _ranges(start: datetime, end: datetime, step: timedelta) -> Iterator[tuple[datetime, datetime]]:
    lo = start
    while lo < end:
        hi = min(end, lo + step)
        yield lo, hi
        lo = hi


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
