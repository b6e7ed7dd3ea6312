"""The CalDAV hold sink (``caldav:NAME/CALENDAR``): holds as events in a calendar on a CalDAV server.

Each hold is one calendar object whose UID is the hold's deterministic event id and whose
href is ``<event id>.ics`` in the calendar, so a retried run finds what an earlier one
wrote. Holds are created with ``If-None-Match: *`` (the server, not a read beforehand,
decides that an existing hold is kept as it is, moved by the user or not) and removed with
``If-Match: <etag>`` (an event changed since it was read is read again, and an event
without syncd's marks is never removed). What the user did on the server (moved or
deleted a hold) shows in ``list_holds``, and the hold lifecycle treats it as on Google.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo, UTC
from typing import Any

import icalendar

from syncd.planner import Interval, NewHold
from syncd.sinks.base import CONTACT_PROP, MARKER, SinkError, SinkHold, SinkSpecError
from syncd.sinks.ics_file import PRODID, hold_event, is_hold_uid
from syncd.sources.caldav import find_calendar
from syncd.sources.caldav_dav import CaldavAccount, DavError, DavObject, DavSession
from syncd.sources.ics import parse_calendar

__all__ = ["CaldavHoldSink"]

REMOVE_TRIES = 3  # an event the user edits while syncd removes it is read again, a few times


class CaldavHoldSink:
    """Holds in one calendar of a CalDAV account; see the module docstring for the guarantees."""

    def __init__(
        self,
        account: CaldavAccount,
        calendar: str,
        *,
        tz: tzinfo | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``calendar`` is a display name or a collection URL/path of the account; ``tz`` reads
        floating times the user typed; ``clock`` stamps DTSTAMP (default: now)."""
        self.account = account
        self.calendar = calendar
        self.name = f"caldav:{account.name}/{calendar}"
        self._session = DavSession(account)
        self._tz = tz or datetime.now().astimezone().tzinfo or UTC
        self._clock = clock or (lambda: datetime.now(UTC))
        self._path: str | None = None
        self._hrefs: dict[str, str] = {}  # hold UID → href, for holds a client stored elsewhere

    # ------------------------------------------------------------------ reading

    def list_holds(self) -> list[SinkHold]:
        holds: dict[str, SinkHold] = {}
        for obj in self._all():
            for event in _events(obj):
                hold = self._hold(event)
                if hold is not None and hold.event_id not in holds:
                    holds[hold.event_id] = hold
                    self._hrefs[hold.event_id] = obj.href
        return sorted(holds.values(), key=lambda hold: (hold.start, hold.event_id))

    def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """Every opaque, not cancelled event of the calendar overlapping [start, end), holds
        included, with recurrences expanded: a hold never lands on the calendar's own events."""
        if end <= start:
            return []
        out = []
        for obj in self._all():
            if obj.data is None:
                continue
            try:
                meetings = parse_calendar(obj.data.encode("utf-8"), start, end, self._tz)
            except ValueError:
                continue  # an unreadable object is no busy time; the source reports it
            out += [
                Interval(max(m.start, start), min(m.end, end))
                for m in meetings
                if not m.cancelled and not m.transparent and m.start < end and start < m.end
            ]
        return sorted(out, key=lambda interval: (interval.start, interval.end))

    # ------------------------------------------------------------------ writing

    def create(self, hold: NewHold, title: str, description: str) -> SinkHold:
        """PUT under the hold's own href unless it exists; if it does, return it as it is there."""
        path = self._calendar_path()
        href = f"{path}{hold.event_id}.ics"
        body = self._ics(hold, title, description)
        headers = {"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"}
        response = self._call(self._session.request, "PUT", href, body, headers)
        if response.status in (200, 201, 204):
            self._hrefs[hold.event_id] = href
            return SinkHold(hold.event_id, hold.contact_id, hold.start.astimezone(UTC), hold.end.astimezone(UTC), title)
        if response.status == 412:
            existing = self._hold_at(href)
            if existing is not None:
                return existing
        raise SinkError(f"{self.name}: could not write the hold {hold.event_id} ({response.status} {response.reason})")

    def remove(self, event_id: str) -> None:
        """DELETE with If-Match on the ETag just read; absent or unmarked events are left alone."""
        path = self._calendar_path()
        for _ in range(REMOVE_TRIES):
            obj = self._fetch(self._hrefs.get(event_id) or f"{path}{event_id}.ics")
            if obj is None or not any(self._hold(event) for event in _events(obj)):
                return
            headers = {"If-Match": obj.etag} if obj.etag else {}
            response = self._call(self._session.request, "DELETE", obj.href, "", headers)
            if response.status in (200, 204, 404):
                self._hrefs.pop(event_id, None)
                return
            if response.status != 412:
                raise SinkError(f"{self.name}: could not remove the hold {event_id} ({response.status})")
        raise SinkError(f"{self.name}: the hold {event_id} kept changing while syncd removed it; will retry")

    # ------------------------------------------------------------------ internals

    def _call(self, request: Callable[..., Any], *args: Any) -> Any:
        try:
            return request(*args)
        except DavError as error:
            raise SinkError(_sink_message(self.name, error)) from None

    def _calendar_path(self) -> str:
        if self._path is None:
            calendars = self._call(self._session.calendars)
            match = find_calendar(calendars, self.calendar)
            if match is None:
                names = ", ".join(repr(info.display_name) for info in calendars) or "none"
                raise SinkError(f"{self.name}: no calendar {self.calendar!r} at {self.account.url} (found: {names})")
            self._path = match.path
        return self._path

    def _all(self) -> list[DavObject]:
        path = self._calendar_path()
        return self._call(self._session.calendar_query, path)

    def _fetch(self, href: str) -> DavObject | None:
        path = self._calendar_path()
        found = self._call(self._session.multiget, path, [href])
        return next((obj for obj in found if obj.data is not None), None)

    def _hold_at(self, href: str) -> SinkHold | None:
        obj = self._fetch(href)
        holds = [hold for hold in map(self._hold, _events(obj)) if hold is not None] if obj else []
        return holds[0] if holds else None

    def _hold(self, event: icalendar.Event) -> SinkHold | None:
        """The hold an event is, if syncd wrote it (its marker, or a UID of the holds' form)."""
        uid = str(event.get("UID", ""))
        if event.get(MARKER) is None and not is_hold_uid(uid):
            return None
        if event.get("RECURRENCE-ID") is not None:
            return None
        try:
            start_value = event.decoded("DTSTART")
            start = self._when(start_value)
            if "DTEND" in event:
                end = self._when(event.decoded("DTEND"))
            elif "DURATION" in event:
                end = start + event.decoded("DURATION")
            elif isinstance(start_value, datetime):
                end = start
            else:
                end = start + timedelta(days=1)
        except (KeyError, TypeError, ValueError) as error:
            raise SinkError(f"{self.name}: hold {uid}: cannot read its times ({error})") from None
        declined = str(event.get("STATUS", "")).upper() == "CANCELLED"
        contact = str(event.get(CONTACT_PROP, ""))
        return SinkHold(uid, contact, start, max(start, end), str(event.get("SUMMARY", "")), declined)

    def _when(self, value: date | datetime) -> datetime:
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=self._tz)).astimezone(UTC)
        return datetime.combine(value, time(), tzinfo=self._tz).astimezone(UTC)

    def _ics(self, hold: NewHold, title: str, description: str) -> str:
        calendar = icalendar.Calendar()
        calendar.add("VERSION", "2.0")
        calendar.add("PRODID", PRODID)
        calendar.add_component(hold_event(hold, title, description, self._clock(), self.name))
        return calendar.to_ical().decode("utf-8")


def _events(obj: DavObject | None) -> list[Any]:
    if obj is None or obj.data is None:
        return []
    try:
        return list(icalendar.Calendar.from_ical(obj.data).walk("VEVENT"))
    except Exception:  # icalendar raises many types on malformed input; such an object is no hold
        return []


def _sink_message(name: str, error: DavError) -> str:
    text = str(error)
    return text if text.startswith(name) else f"{name}: {text}"


def caldav_sink(spec_rest: str, accounts: list[CaldavAccount], **options: Any) -> CaldavHoldSink:
    """The sink for ``caldav:NAME/CALENDAR`` (the part after ``caldav:``); a spec naming no
    configured account is a configuration error (SinkSpecError)."""
    name, slash, calendar = (part.strip() for part in spec_rest.partition("/"))
    if not slash or not name or not calendar:
        raise SinkSpecError(
            f"hold sink 'caldav:{spec_rest}': expected 'caldav:NAME/CALENDAR', e.g. 'caldav:work/Calendar'"
        )
    account = next((account for account in accounts if account.name == name), None)
    if account is None:
        known = ", ".join(repr(account.name) for account in accounts) or "none"
        raise SinkSpecError(
            f"hold sink 'caldav:{spec_rest}': no [[sources.caldav]] table named {name!r} (found: {known})"
        )
    return CaldavHoldSink(account, calendar, **options)
