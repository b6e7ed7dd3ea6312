"""Google Calendar's times, read and written in one place: event start/end, instants, RFC 3339."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None, fallback: tzinfo) -> tzinfo:
    """The IANA zone Google named, or `fallback` when it named none or one this system lacks."""
    if not name:
        return fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def parse_instant(text: str) -> datetime:
    """An RFC 3339 instant with an offset (free/busy periods, `updated`) in UTC; ValueError otherwise."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("no offset")
    return moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """An aware datetime as Google's query parameters want it (`timeMin`, free/busy bounds)."""
    if moment.tzinfo is None:
        raise ValueError("time-zone aware datetime expected")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_time(value: Any, tz: tzinfo) -> tuple[datetime, bool] | None:
    """(UTC datetime, all_day) of an event's `start`/`end`, or None when unreadable.

    A `dateTime` without an offset is in the event's `timeZone` (else `tz`); an all-day
    `date` starts at midnight in `tz`, the calendar's zone.
    """
    if not isinstance(value, dict):
        return None
    if value.get("dateTime"):
        try:
            moment = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone(value.get("timeZone"), tz))
        return moment.astimezone(UTC), False
    if value.get("date"):
        try:
            day = date.fromisoformat(str(value["date"]))
        except ValueError:
            return None
        return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC), True
    return None
