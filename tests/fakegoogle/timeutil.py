"""Time parsing/formatting and recurrence expansion for the fake Calendar.

Why a real RRULE engine (dateutil, already a dependency of icalendar): syncd
sees recurring meetings through `singleEvents=true`; the fake must produce the
same instance ids (`<master>_<UTC start>`), wall-clock times across DST and
COUNT/UNTIL/INTERVAL/BYDAY/EXDATE handling as Google, or the tests would pass
against a calendar that does not exist.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, UTC
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from .errors import bad_request

UTC = UTC
MAX_INSTANCES = 3000  # safety cap per series and query
HORIZON = timedelta(days=730)  # open-ended series expand this far past "now"


def parse_rfc3339(value: str, what: str = "timestamp") -> datetime:
    """Google requires an offset on timeMin/timeMax; so does the fake."""
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise bad_request(f"Bad Request: invalid {what} {value!r}", "badRequest") from None
    if dt.tzinfo is None:
        raise bad_request(f"Bad Request: {what} needs a time zone offset", "badRequest")
    return dt


def format_utc(dt: datetime, millis: bool = False) -> str:
    dt = dt.astimezone(UTC)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def zone(name: str | None, default=UTC):
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except Exception:
        raise bad_request(f"Invalid time zone definition: {name}") from None


def event_time(t: dict, cal_tz, what: str = "start") -> datetime:
    """An event's start/end ({dateTime[,timeZone]} or {date}) as an aware datetime."""
    if not isinstance(t, dict):
        raise bad_request(f"Missing {what} time.", "required")
    if t.get("dateTime"):
        try:
            dt = datetime.fromisoformat(t["dateTime"])
        except ValueError:
            raise bad_request(f"Invalid {what} time.") from None
        if dt.tzinfo is None:
            if not t.get("timeZone"):
                raise bad_request(f"Missing time zone definition for {what} time.", "required")
            dt = dt.replace(tzinfo=zone(t["timeZone"]))
        return dt
    if t.get("date"):
        try:
            d = date.fromisoformat(t["date"])
        except ValueError:
            raise bad_request(f"Invalid {what} time.") from None
        return datetime.combine(d, time(), cal_tz)
    raise bad_request(f"Missing {what} time.", "required")


def is_all_day(ev: dict) -> bool:
    return "date" in (ev.get("start") or {})


def instance_suffix(start: datetime, all_day: bool) -> str:
    """Google's instance id suffix: `YYYYMMDD` (all-day) or UTC `YYYYMMDDTHHMMSSZ`."""
    if all_day:
        return start.strftime("%Y%m%d")
    return start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fix_until(line: str, aware: bool) -> str:
    """dateutil insists UNTIL is UTC when DTSTART is aware; Google accepts a date."""
    if not aware:
        return re.sub(r"UNTIL=(\d{8})T(\d{6})Z", r"UNTIL=\1T\2", line)
    m = re.search(r"UNTIL=(\d{8})(T\d{6})?(Z?)", line)
    if m and not m.group(3):
        return line.replace(m.group(0), f"UNTIL={m.group(1)}T235959Z")
    return line


def occurrences(master: dict, cal_tz, lo: datetime | None, hi: datetime | None, now: datetime):
    """Start datetimes of a recurring master's occurrences overlapping [lo, hi).

    Yields (start, end) pairs; times keep the master's wall clock in its own
    time zone (so a 10:00 weekly meeting stays at 10:00 across DST).
    """
    all_day = is_all_day(master)
    start = event_time(master["start"], cal_tz)
    end = event_time(master["end"], cal_tz, "end")
    duration = end - start
    if all_day:
        dtstart = start.replace(tzinfo=None)
    else:
        tzname = master["start"].get("timeZone")
        dtstart = start.astimezone(zone(tzname)) if tzname else start
    lines = [
        _fix_until(r, not all_day)
        for r in master.get("recurrence") or []
        if r.split(":")[0].split(";")[0] in ("RRULE", "EXRULE", "RDATE", "EXDATE")
    ]
    if not lines:  # not actually recurring: one occurrence
        if (lo is None or end > lo) and (hi is None or start < hi):
            yield start, end
        return
    try:
        rule = rrulestr("\n".join(lines), dtstart=dtstart, forceset=True)
    except (ValueError, TypeError) as exc:
        raise bad_request(f"Invalid recurrence rule: {exc}") from None
    stop = hi if hi is not None else now + HORIZON
    for occ in islice(rule, MAX_INSTANCES):
        s = occ.replace(tzinfo=cal_tz) if all_day else occ
        if s >= stop:
            break
        e = s + duration
        if lo is not None and e <= lo:
            continue
        yield s, e
