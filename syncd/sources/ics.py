"""ICS files and vdir folders as a calendar source.

Each file is re-read only when its size or mtime changed, and a re-read replaces
everything that file contributed (a batch scoped to the file, pruned by generation),
so edited, moved and deleted events follow the file exactly. An event the libraries
cannot handle (year 9999, DURATION:P9999999W) is skipped and counted, never the file;
a file that suddenly holds no event at all is refused by the store until accepted.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Iterator

from syncd.addresses import normalize
from syncd.errors import first_line
from syncd.records import Attendee, Batch, Meeting, display_names
from syncd.sources.base import SourceError, SyncContext, display_path, file_signature, log
from syncd.sources.ics_series import as_datetime, as_list, drop_runaway_series

if TYPE_CHECKING:  # the libraries load when a file is parsed, not when `status` lists this source
    import icalendar

REEXPAND_EVERY = timedelta(days=7)

# Series that would expand past the limits in ics_series are skipped (and counted); a file
# whose events still add up to more than this is rejected.
MAX_FILE_OCCURRENCES = 500_000


@dataclass
class CalendarRead:
    """What one file gave: its meetings, how many events it holds, how many were skipped."""

    meetings: list[Meeting]
    events: int  # readable VEVENTs, skipped ones not included: 0 means the file reads empty
    skipped: int  # events (by UID) that could not be read or expanded; the rest still count


@dataclass
class _Tally:
    readable: int = 0
    skipped: set[str | int] = field(default_factory=set)
    broken: int = 0  # events with no usable DTSTART, DTEND, RRULE or RECURRENCE-ID
    example: str = ""

    def skip(self, event: Any, reason: str) -> None:
        """One bad event costs that event (a series with its exceptions counts once): counted,
        and logged once at debug with its UID."""
        uid = str(event.get("UID") or "")
        key: str | int = uid or id(event)
        if key not in self.skipped:
            self.skipped.add(key)
            self.example = self.example or f"{uid or '(no UID)'}: {reason}"
            log.debug("skipping event %s: %s", (uid or "(no UID)")[:200], reason)


class IcsSource:
    kind = "ics"

    def __init__(self, path: Path):
        self.path = path
        self.name = f"ics:{display_path(path)}"

    def _files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted(child for child in self.path.rglob("*.ics") if child.is_file())
        if self.path.is_file():
            return [self.path]
        raise SourceError(f"{display_path(self.path)}: no such file or folder")

    def _scope(self, path: Path) -> str:
        """A file's rows are scoped by its path inside the folder (its name for a lone file)."""
        return path.name if path == self.path else str(path.relative_to(self.path))

    def sync(self, cursor: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]:
        cursor = cursor or {}
        files_seen: dict[str, list[int]] = dict(cursor.get("files", {}))
        expanded_at = cursor.get("expanded_at")
        reexpand = (
            expanded_at is None
            or context.now.timestamp() - expanded_at > REEXPAND_EVERY.total_seconds()
            or context.now.timestamp() < expanded_at
        )
        skipped: dict[str, int] = dict(cursor.get("skipped", {}))  # per file, for `status`
        if reexpand:
            files_seen = {}
            expanded_at = context.now.timestamp()

        def next_cursor() -> dict[str, Any]:
            return {"files": dict(files_seen), "expanded_at": expanded_at, "skipped": dict(skipped)}

        broken: list[str] = []
        current = {self._scope(path): path for path in self._files()}
        for scope, path in current.items():
            try:
                signature = file_signature(path)
            except OSError as error:
                broken.append(f"{display_path(path)}: {error.strerror}")
                continue
            if files_seen.get(scope) == signature:
                continue
            try:
                read = read_calendar(path.read_bytes(), context.since, context.until, context.tz)
            except (OSError, ValueError) as error:
                broken.append(f"{display_path(path)}: {error}")
                continue
            files_seen[scope] = signature
            skipped[scope] = read.skipped
            yield Batch(
                upserts=read.meetings,
                cursor=next_cursor(),
                scope=scope,
                generation=uuid.uuid4().hex,
                prune=True,
                found=read.events,
                skipped=sum(skipped.values()),
            )
        gone = [scope for scope in files_seen if scope not in current]
        for scope in gone:
            del files_seen[scope]
            skipped.pop(scope, None)
        yield Batch(upserts=[], cursor=next_cursor(), scopes=sorted(current), skipped=sum(skipped.values()))
        if broken:
            raise SourceError("cannot parse " + "; ".join(broken))


def parse_calendar(data: bytes, since: datetime, until: datetime, tz: tzinfo) -> list[Meeting]:
    """Every occurrence between `since` and `until`, exceptions applied; ValueError if unreadable."""
    return read_calendar(data, since, until, tz).meetings


def read_calendar(data: bytes, since: datetime, until: datetime, tz: tzinfo) -> CalendarRead:
    """The file's meetings and counts; ValueError if it is not a calendar or no event is readable."""
    # A big file is parsed a few hundred events at a time: icalendar's tree of a 20,000-event
    # file alone takes ~250 MB, a piece of it a few MB. Same records, same rejections.
    meetings: dict[str, Meeting] = {}
    budget = [MAX_FILE_OCCURRENCES]
    tally = _Tally()
    for piece in _pieces(data) or [data]:
        _parse_piece(piece, since, until, tz, meetings, budget, tally)
    if tally.broken and tally.readable <= 0:
        raise ValueError(f"no readable event ({_one_line(ValueError(tally.example))})")
    events = max(0, tally.readable - len(tally.skipped) + tally.broken)
    return CalendarRead(list(meetings.values()), events, len(tally.skipped))


SPLIT_ABOVE = 2 * 1024 * 1024  # bytes: smaller files are parsed whole
EVENTS_PER_PIECE = 500  # UIDs (a series with its exceptions counts once) per piece


def _pieces(data: bytes) -> Iterator[bytes] | None:
    """A big single-VCALENDAR file as several small calendars, each with the calendar's own
    properties and time zones, every VEVENT of one UID (a series and its exceptions) in the
    same piece; None (parse it whole) when the file is small or not plainly structured.
    Only byte offsets are kept while scanning, so the scan itself costs next to nothing."""
    if len(data) <= SPLIT_ABOVE or data.count(b"\r") != data.count(b"\r\n"):
        return None  # small, or lone CRs as line ends: the whole-file parser knows best
    header: list[tuple[int, int]] = []  # calendar properties and VTIMEZONEs: in every piece
    others: list[tuple[int, int]] = []  # VTODO, VJOURNAL, …: in the first piece only
    events: dict[bytes, list[tuple[int, int]]] = {}
    stack: list[bytes] = []
    block_start = 0
    uid: bytes | None = None
    closing: tuple[int, int] | None = None
    position, size = 0, len(data)
    while position < size:
        end = data.find(b"\n", position)
        end = size if end < 0 else end + 1
        start, position = position, end
        bare = data[start:end].rstrip(b"\r\n")
        upper = bare[:64].upper()
        if upper.startswith(b"BEGIN:"):
            stack.append(bare[6:].strip().upper())
            if len(stack) == 1:
                if stack[0] != b"VCALENDAR" or header:
                    return None  # not exactly one VCALENDAR: leave it to the whole-file parser
                header.append((start, end))
            elif len(stack) == 2:
                block_start, uid = start, None
        elif upper.startswith(b"END:"):
            if not stack or stack.pop() != bare[4:].strip().upper():
                return None
            if not stack:
                closing = (start, end)
            elif len(stack) == 1:
                name = bare[4:].strip().upper()
                if name == b"VEVENT":
                    events.setdefault(uid if uid is not None else b"#%d" % len(events), []).append((block_start, end))
                else:
                    (header if name == b"VTIMEZONE" else others).append((block_start, end))
        elif not stack:
            if bare.strip() or closing:
                return None  # content outside the calendar
        elif len(stack) == 1:
            header.append((start, end))
        elif len(stack) == 2 and (upper.startswith(b"UID:") or upper.startswith(b"UID;")):
            uid = bare.partition(b":")[2]
    if stack or closing is None or len(events) <= EVENTS_PER_PIECE:
        return None
    head = b"".join(data[a:b] for a, b in header)
    tail = data[closing[0] : closing[1]]
    groups = list(events.values())

    def generate() -> Iterator[bytes]:
        for first in range(0, len(groups), EVENTS_PER_PIECE):
            body = b"".join(data[a:b] for group in groups[first : first + EVENTS_PER_PIECE] for a, b in group)
            extra = b"".join(data[a:b] for a, b in others) if first == 0 else b""
            yield head + extra + body + tail

    return generate()


def _parse_piece(
    data: bytes,
    since: datetime,
    until: datetime,
    tz: tzinfo,
    meetings: dict[str, Meeting],
    budget: list[int],
    tally: _Tally,
) -> None:
    """Parse and expand one calendar (or a piece of a big one) into `meetings`."""
    import icalendar

    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except Exception as error:  # icalendar raises many types on malformed input
        raise ValueError(f"not a valid iCalendar file ({_one_line(error)})") from None
    if not calendars:
        raise ValueError("no VCALENDAR found")
    broken = [
        (event, message)
        for calendar in calendars
        for event in calendar.walk("VEVENT")
        for name, message in getattr(event, "errors", [])
        if name in ("DTSTART", "DTEND", "RRULE", "RECURRENCE-ID")
    ]
    broken += [item for calendar in calendars for item in _drop_events_without_one_start(calendar)]
    tally.readable += sum(1 for calendar in calendars for _ in calendar.walk("VEVENT")) - len(broken)
    tally.broken += len(broken)
    for event, message in broken:
        tally.skip(event, message)
    for calendar in calendars:
        occurrences, runaway = drop_runaway_series(calendar, since, until, tz)
        for event in runaway:
            tally.skip(event, "its rule repeats too often to be meetings")
        budget[0] -= int(occurrences)
        if budget[0] < 0:
            window = f"between {since:%Y-%m-%d} and {until:%Y-%m-%d}"
            raise ValueError(f"its events repeat more than {MAX_FILE_OCCURRENCES} times {window}")
        for component in _expand(calendar, since, until, tally):
            if component.name != "VEVENT":
                continue
            try:
                meeting = _meeting(component, tz)
            except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as error:
                tally.skip(component, _one_line(error))
                continue
            if meeting is not None:
                meetings.setdefault(meeting.item_id, meeting)


def _expand(calendar: icalendar.Calendar, since: datetime, until: datetime, tally: _Tally) -> list[Any]:
    """The occurrences in the window. When the library fails on the calendar (a date in year
    9999, DURATION:P9999999W overflow), each event is expanded alone so only the bad one is lost."""
    import recurring_ical_events

    try:
        return list(recurring_ical_events.of(calendar, skip_bad_series=True).between(since, until))
    except Exception:  # the library raises many types; find the event(s) it cannot handle
        pass
    zones = [child for child in calendar.subcomponents if child.name == "VTIMEZONE"]
    series: dict[str | int, list[Any]] = {}
    for child in calendar.subcomponents:
        if child.name == "VEVENT":
            series.setdefault(str(child.get("UID") or "") or id(child), []).append(child)
    occurrences: list[Any] = []
    for events in series.values():
        single = copy.copy(calendar)
        single.subcomponents = [*zones, *events]
        try:
            occurrences += recurring_ical_events.of(single, skip_bad_series=True).between(since, until)
        except Exception as error:
            tally.skip(events[0], f"cannot expand it ({_one_line(error)})")
    return occurrences


def _drop_events_without_one_start(calendar: icalendar.Calendar) -> list[tuple[Any, str]]:
    """An event with no DTSTART, or two, has no time: drop it so the rest of the file counts."""
    dropped: list[tuple[Any, str]] = []
    for component in [calendar, *calendar.walk()]:
        kept = []
        for child in component.subcomponents:
            starts = child.get("DTSTART") if child.name == "VEVENT" else None
            if child.name == "VEVENT" and (starts is None or isinstance(starts, list)):
                dropped.append((child, f"{'missing' if starts is None else 'more than one'} DTSTART"))
            else:
                kept.append(child)
        component.subcomponents[:] = kept
    return dropped


def _one_line(error: BaseException) -> str:
    if isinstance(error, KeyError) and error.args:
        return f"missing {error.args[0]}"  # str(KeyError("DTSTART")) is just "'DTSTART'"
    return first_line(error)[:200]


def _address(value: Any) -> str | None:
    text = str(value)
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return normalize(text)


def _meeting(component: icalendar.Event, tz: tzinfo) -> Meeting | None:
    start_prop = component.get("DTSTART")
    if start_prop is None:
        return None
    start_value = start_prop.dt
    all_day = not isinstance(start_value, datetime)
    end_prop = component.get("DTEND")
    if end_prop is not None:
        end_value = end_prop.dt
    elif component.get("DURATION") is not None:
        end_value = start_value + component.get("DURATION").dt
    else:
        end_value = start_value + (timedelta(days=1) if all_day else timedelta(0))
    start, end = as_datetime(start_value, tz), as_datetime(end_value, tz)
    if end < start:
        end = start
    attendees = []
    names: list[tuple[str | None, str | None]] = []
    for prop in as_list(component.get("ATTENDEE")):
        address = _address(prop)
        if address is None:
            continue
        params = getattr(prop, "params", {})
        names.append((address, _common_name(params)))
        cutype = str(params.get("CUTYPE", "INDIVIDUAL")).upper()
        partstat = str(params.get("PARTSTAT", "NEEDS-ACTION")).upper()
        attendees.append(
            Attendee(
                address=address,
                response=_RESPONSES.get(partstat, "needsAction"),
                is_resource=cutype in ("ROOM", "RESOURCE"),
            )
        )
    organizer_prop = component.get("ORGANIZER")
    organizer = _address(organizer_prop) if organizer_prop is not None else None
    if organizer is not None:
        names.append((organizer, _common_name(getattr(organizer_prop, "params", {}))))
    uid = str(component.get("UID") or "")
    if not uid:
        uid = hashlib.sha1(f"{start.isoformat()}|{component.get('SUMMARY', '')}".encode()).hexdigest()
    item_id = f"{uid}#{start.strftime('%Y%m%dT%H%M%SZ')}"
    status = str(component.get("STATUS", "")).upper()
    transparent = str(component.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT"
    summary = component.get("SUMMARY")
    return Meeting(
        item_id=item_id,
        start=start,
        end=end,
        attendees=tuple(attendees),
        organizer=organizer,
        cancelled=status == "CANCELLED",
        all_day=all_day,
        transparent=transparent,
        title=str(summary) if summary is not None else None,
        names=display_names(names),
    )


def _common_name(params: Any) -> str | None:
    """The `CN=` parameter of an ATTENDEE or ORGANIZER: the display name its calendar gave."""
    value = params.get("CN")
    return str(value) if value is not None else None


_RESPONSES = {
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
    "NEEDS-ACTION": "needsAction",
    "DELEGATED": "declined",
}
