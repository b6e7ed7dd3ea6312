"""ICS files and vdir folders as a calendar source.

Each file is re-read only when its size or mtime changed, and a re-read replaces
everything that file contributed (a batch scoped to the file, pruned by generation),
so edited, moved and deleted events follow the file exactly.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, time, timedelta, tzinfo, UTC
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import icalendar
import recurring_ical_events

from syncd.addresses import normalize
from syncd.records import Attendee, Meeting
from syncd.sources.base import SourceError, SyncContext, display_path, file_signature, log
from syncd.records import Batch

REEXPAND_EVERY = timedelta(days=7)

# Expansion limits. A series is expanded by iterating its rule from DTSTART, so a rule
# like FREQ=SECONDLY (or MINUTELY over months) would hang a sync and exhaust memory: one
# line of a subscribed calendar could stop every later sync. Series above these are
# skipped with a warning; a file whose events still add up to more is rejected.
MAX_SERIES_OCCURRENCES = 10_000  # in the expansion window: more than one an hour for a year
MAX_SERIES_STEPS = 20_000_000  # rule periods iterated from DTSTART to the window's end
MAX_FILE_OCCURRENCES = 500_000


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

    def sync(self, cursor: dict[str, Any] | None, context: SyncContext) -> Iterator[Batch]:
        cursor = cursor or {}
        files_seen: dict[str, list[int]] = dict(cursor.get("files", {}))
        expanded_at = cursor.get("expanded_at")
        reexpand = (
            expanded_at is None
            or context.now.timestamp() - expanded_at > REEXPAND_EVERY.total_seconds()
            or context.now.timestamp() < expanded_at
        )
        if reexpand:
            files_seen = {}
            expanded_at = context.now.timestamp()
        broken: list[str] = []
        current = self._files()
        for path in current:
            scope = str(path.relative_to(self.path)) if self.path.is_dir() else path.name
            try:
                signature = file_signature(path)
            except OSError as error:
                broken.append(f"{display_path(path)}: {error.strerror}")
                continue
            if files_seen.get(scope) == signature:
                continue
            try:
                meetings = parse_calendar(path.read_bytes(), context.since, context.until, context.tz)
            except (OSError, ValueError) as error:
                broken.append(f"{display_path(path)}: {error}")
                continue
            files_seen[scope] = signature
            yield Batch(
                upserts=meetings,
                cursor={"files": dict(files_seen), "expanded_at": expanded_at},
                scope=scope,
                generation=uuid.uuid4().hex,
                prune=True,
            )
        present = {str(path.relative_to(self.path)) if self.path.is_dir() else path.name for path in current}
        gone = [scope for scope in files_seen if scope not in present]
        for scope in gone:
            del files_seen[scope]
        yield Batch(upserts=[], cursor={"files": files_seen, "expanded_at": expanded_at}, drop_scopes=gone)
        if broken:
            raise SourceError("cannot parse " + "; ".join(broken))


def parse_calendar(data: bytes, since: datetime, until: datetime, tz: tzinfo) -> list[Meeting]:
    """Every occurrence between `since` and `until`, exceptions applied; ValueError if unreadable."""
    pieces = _pieces(data)
    if pieces is None:
        return _parse_piece(data, since, until, tz, {}, [MAX_FILE_OCCURRENCES], None)
    # A big file is parsed a few hundred events at a time: icalendar's tree of a 20,000-event
    # file alone takes ~250 MB, a piece of it a few MB. Same records, same rejections.
    meetings: dict[str, Meeting] = {}
    budget = [MAX_FILE_OCCURRENCES]
    counts: dict[str, Any] = {"broken": 0, "readable": 0, "example": ""}
    for piece in pieces:
        _parse_piece(piece, since, until, tz, meetings, budget, counts)
    if counts["broken"] and counts["readable"] <= 0:
        raise ValueError(f"no readable event ({_one_line(ValueError(counts['example']))})")
    if counts["broken"]:
        log.warning("skipping %d event(s) that cannot be read, e.g. %s", counts["broken"], counts["example"][:200])
    return list(meetings.values())


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
    counts: dict[str, Any] | None,
) -> list[Meeting]:
    """Parse and expand one calendar (or a piece of a big one) into `meetings`. A whole file
    (`counts` None) is checked for readable events here; pieces report into `counts`."""
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except Exception as error:  # icalendar raises many types on malformed input
        raise ValueError(f"not a valid iCalendar file ({_one_line(error)})") from None
    if not calendars:
        raise ValueError("no VCALENDAR found")
    broken = [
        f"{event.get('UID', '(no UID)')}: {message}"
        for calendar in calendars
        for event in calendar.walk("VEVENT")
        for name, message in getattr(event, "errors", [])
        if name in ("DTSTART", "DTEND", "RRULE", "RECURRENCE-ID")
    ]
    broken += [message for calendar in calendars for message in _drop_events_without_one_start(calendar)]
    readable = sum(1 for calendar in calendars for _ in calendar.walk("VEVENT")) - len(broken)
    if counts is None:
        if broken and readable <= 0:
            raise ValueError(f"no readable event ({_one_line(ValueError(broken[0]))})")
        if broken:
            log.warning("skipping %d event(s) that cannot be read, e.g. %s", len(broken), broken[0][:200])
    else:
        counts["broken"] += len(broken)
        counts["readable"] += readable
        counts["example"] = counts["example"] or (broken[0] if broken else "")
    for calendar in calendars:
        budget[0] -= _drop_runaway_series(calendar, since, until, tz)
        if budget[0] < 0:
            raise ValueError(
                f"its events repeat more than {MAX_FILE_OCCURRENCES} times between {since:%Y-%m-%d} and {until:%Y-%m-%d}"
            )
        try:
            occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).between(since, until)
        except Exception as error:
            raise ValueError(f"cannot expand its events ({_one_line(error)})") from None
        for component in occurrences:
            if component.name != "VEVENT":
                continue
            try:
                meeting = _meeting(component, tz)
            except (ValueError, TypeError, AttributeError, KeyError) as error:
                log.warning("skipping an event that cannot be read: %s", _one_line(error))
                continue
            if meeting is not None:
                meetings.setdefault(meeting.item_id, meeting)
    return list(meetings.values())


def _drop_events_without_one_start(calendar: icalendar.Calendar) -> list[str]:
    """An event with no DTSTART, or two, has no time: drop it so the rest of the file counts."""
    dropped: list[str] = []
    for component in [calendar, *calendar.walk()]:
        kept = []
        for child in component.subcomponents:
            starts = child.get("DTSTART") if child.name == "VEVENT" else None
            if child.name == "VEVENT" and (starts is None or isinstance(starts, list)):
                dropped.append(
                    f"{child.get('UID', '(no UID)')}: {'missing' if starts is None else 'more than one'} DTSTART"
                )
            else:
                kept.append(child)
        component.subcomponents[:] = kept
    return dropped


def _one_line(error: BaseException) -> str:
    if isinstance(error, KeyError) and error.args:
        return f"missing {error.args[0]}"  # str(KeyError("DTSTART")) is just "'DTSTART'"
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


_FREQ_SECONDS = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3600,
    "DAILY": 86400,
    "WEEKLY": 7 * 86400,
    "MONTHLY": 31 * 86400,
    "YEARLY": 366 * 86400,
}
_FREQ_RANK = {name: rank for rank, name in enumerate(_FREQ_SECONDS)}


def _drop_runaway_series(calendar: icalendar.Calendar, since: datetime, until: datetime, tz: tzinfo) -> int:
    """Remove series that would expand past the limits; the expected occurrences of the rest."""
    total = 0
    runaway: set[str] = set()
    for component in calendar.walk("VEVENT"):
        occurrences, steps = _expansion_estimate(component, since, until, tz)
        if occurrences > MAX_SERIES_OCCURRENCES or steps > MAX_SERIES_STEPS:
            uid = str(component.get("UID") or "")
            log.warning(
                "skipping the series %r: its rule repeats too often to be meetings (about %d occurrences)",
                uid[:80],
                occurrences,
            )
            runaway.add(uid or f"#{id(component)}")  # exceptions share the UID; a UID-less series is itself
        else:
            total += occurrences
    if runaway:
        stack = [calendar]
        while stack:
            parent = stack.pop()
            parent.subcomponents[:] = [
                child
                for child in parent.subcomponents
                if not (child.name == "VEVENT" and (str(child.get("UID") or "") or f"#{id(child)}") in runaway)
            ]
            stack.extend(parent.subcomponents)
    return total


def _expansion_estimate(event: icalendar.Event, since: datetime, until: datetime, tz: tzinfo) -> tuple[float, float]:
    """(occurrences inside [since, until], rule periods iterated from DTSTART): generous
    upper bounds, exact enough to tell a weekly meeting from a rule that fires every minute."""
    rules = _as_list(event.get("RRULE"))
    if not rules:
        return 1.0, 0.0
    try:
        start = _as_datetime(event["DTSTART"].dt, tz)
    except Exception:  # unreadable DTSTART: the expansion reports it
        return 1.0, 0.0
    occurrences = steps = 0.0
    for rule in rules:
        try:
            freq = str(rule.get("FREQ")[0]).upper()
            interval = max(1, int((rule.get("INTERVAL") or [1])[0]))
            end = until
            if rule.get("UNTIL"):
                end = min(end, _as_datetime(rule.get("UNTIL")[0], tz))
            count = int(rule.get("COUNT")[0]) if rule.get("COUNT") else None
        except Exception:  # a malformed rule: the expansion skips or reports it
            continue
        if freq not in _FREQ_SECONDS or end <= start:
            continue
        period = _FREQ_SECONDS[freq] * interval
        rule_steps = (end - start).total_seconds() / period
        per_period = _occurrences_per_period(rule, _FREQ_RANK[freq])
        window = max(0.0, (end - max(start, since)).total_seconds()) / period * per_period
        if count is not None:
            window = min(window, count)
            if not any(key.startswith("BY") for key in rule):
                rule_steps = min(rule_steps, count)
        occurrences += window
        steps += rule_steps
    return occurrences, steps


def _occurrences_per_period(rule: Any, rank: int) -> float:
    """BYxxx parts finer than FREQ multiply the occurrences of a period; coarser ones filter them."""
    factor = 1.0
    for key, unit_rank, size in (("BYSECOND", 0, 60), ("BYMINUTE", 1, 60), ("BYHOUR", 2, 24)):
        n = len(rule.get(key) or [])
        if n:
            factor *= n if unit_rank < rank else n / size
    n_month = len(rule.get("BYMONTH") or [])
    for key, size in (("BYDAY", 7), ("BYMONTHDAY", 31), ("BYYEARDAY", 366), ("BYMONTH", 12), ("BYWEEKNO", 53)):
        n = len(rule.get(key) or [])
        if not n:
            continue
        if key == "BYDAY":
            factor *= n / 7 if rank <= 3 else n * {4: 1, 5: 5, 6: 53}[rank]
        elif key == "BYMONTHDAY":
            factor *= n / 31 if rank <= 4 else n * (12 if rank == 6 and not n_month else 1)
        elif rank == 6 or (key == "BYMONTH" and rank < 6):
            factor *= n if rank == 6 else n / 12
        else:
            factor *= n / size
    return factor


def _as_datetime(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    return datetime.combine(value, time(0, 0), tzinfo=tz).astimezone(UTC)


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
    start, end = _as_datetime(start_value, tz), _as_datetime(end_value, tz)
    if end < start:
        end = start
    attendees = []
    for prop in _as_list(component.get("ATTENDEE")):
        address = _address(prop)
        if address is None:
            continue
        params = getattr(prop, "params", {})
        cutype = str(params.get("CUTYPE", "INDIVIDUAL")).upper()
        partstat = str(params.get("PARTSTAT", "NEEDS-ACTION")).upper()
        attendees.append(
            Attendee(
                address=address,
                response=_RESPONSES.get(partstat, "needsAction"),
                is_resource=cutype in ("ROOM", "RESOURCE"),
            )
        )
    organizer = _address(component.get("ORGANIZER")) if component.get("ORGANIZER") is not None else None
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
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


_RESPONSES = {
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
    "NEEDS-ACTION": "needsAction",
    "DELEGATED": "declined",
}
