"""Clock, durations and time zones.

Everything in syncd takes `now` as an argument so that tests and "what if" questions
(`--now`, `SYNCD_NOW`) see one consistent clock; this module is the only place that
reads the real one.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time, timedelta, tzinfo, UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Month abbreviations (lower case) → number, as mail and IMAP dates write them: read by hand
# where `strptime` would cost more than the rest of a message's parsing.
MONTH_NUMBERS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}

_DURATION = re.compile(r"^\s*([0-9]+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Longer than any setting makes sense for, far shorter than what overflows a datetime
# when added to or taken from an instant in 1900–2999 (see parse_instant).
MAX_DURATION = timedelta(days=36500)


def parse_duration(text: str) -> timedelta:
    """Parse `90s`, `30m`, `14d`: one integer and one unit keeps config files unambiguous."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"expected a duration like 30m, 14d or 2w, got {text!r}")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"expected at most {format_duration(MAX_DURATION)} (100 years), got {text!r}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_hhmm(text: str) -> time:
    match = re.match(r"^([0-9]{1,2}):([0-9]{2})$", str(text).strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"expected a time of day like 07:00, got {text!r}")
    return time(int(match.group(1)), int(match.group(2)))


def local_timezone() -> tzinfo:
    """The machine's zone, preferring an IANA name so DST rules stay right."""
    name = os.environ.get("TZ")
    if name:
        try:
            return ZoneInfo(name.lstrip(":"))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return datetime.now().astimezone().tzinfo or UTC


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA time zone like Europe/Berlin, got {name!r}") from None


def parse_instant(text: str, tz: tzinfo, now: datetime | None = None) -> datetime:
    """A date or datetime from the user; naive values are in the user's zone.

    A bare date means midday of that day (a touch "on Tuesday"), but never later than
    `now`, so "today" works in the morning too. Given `now`, the words people type work
    as well: `today`, `yesterday` (those days), `-3d`, `-2w`, `-5h` (that long before now).
    """
    text = text.strip()
    relative = _relative(text.lower(), tz, now) if now is not None else None
    if isinstance(relative, datetime):
        return _in_range(relative, text)
    day = relative
    if day is None:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
    if day is not None:
        value = _in_range(datetime.combine(day, time(12, 0), tzinfo=tz), text)
        return min(value, now) if now is not None and day == now.astimezone(tz).date() else value
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        words = "today, yesterday, -3d, " if now is not None else ""
        raise ValueError(
            f"expected {words}an ISO-8601 date or datetime like 2026-11-20 or 2026-11-20T09:00:00+01:00, got {text!r}"
        ) from None
    return _in_range(value if value.tzinfo else value.replace(tzinfo=tz), text)


# At most four digits: 9999 weeks back from 1900 is still a datetime, then out of range (below), not an overflow.
_RELATIVE = re.compile(r"^-([0-9]{1,4})([hdw])$")


def _relative(word: str, tz: tzinfo, now: datetime) -> date | datetime | None:
    """`today`/`yesterday` as the day in the user's zone; `-3d` as the instant that long before now."""
    today = now.astimezone(tz).date()
    if word in ("today", "yesterday"):
        return today - timedelta(days=word == "yesterday")
    match = _RELATIVE.match(word)
    if match is None:
        return None
    return now - timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _in_range(value: datetime, text: str) -> datetime:
    """In UTC, and within 1900–2999: syncd adds horizons and takes lookbacks (up to 100 years)
    from these instants, which must never overflow a datetime."""
    if EARLIEST.year <= value.year <= LATEST.year:
        value = value.astimezone(UTC)
        if EARLIEST <= value <= LATEST:
            return value
    raise ValueError(f"expected a date between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}, got {text!r}")


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)


def resolve_now(option: str | None, tz: tzinfo) -> datetime:
    """`--now` wins over `SYNCD_NOW`, which wins over the real clock."""
    text, name = (option, "--now") if option else (os.environ.get("SYNCD_NOW"), "SYNCD_NOW")
    if text:
        try:
            return parse_instant(text, tz)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """UTC to the second: what the store keeps, so stored instants sort and compare as text."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


def local_iso(value: datetime | None, tz: tzinfo) -> str | None:
    """Store UTC, show local: every timestamp leaves syncd with the user's offset."""
    return None if value is None else value.astimezone(tz).isoformat()


def from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
