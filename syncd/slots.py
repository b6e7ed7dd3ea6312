"""Candidate hold starts: the 15-minute grid of local wall-clock times inside the booking windows.

Windows are local wall-clock times in the user's zone.  A wall-clock time that does not
exist (the spring-forward gap) is skipped, and an ambiguous one (the fall-back hour)
yields both instants, earlier first.  A hold never straddles a UTC-offset change, so its
wall-clock end is simply its wall-clock start plus its duration, and "inside the window"
means what the user reads on the clock.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, time, timedelta, tzinfo, UTC

from syncd.windows import Window

__all__ = ["GRID", "grid_starts"]

GRID = timedelta(minutes=15)


def _instants(naive: datetime, tz: tzinfo) -> list[datetime]:
    """All UTC instants at which the local wall clock reads ``naive``: 0 (gap), 1 or 2 (fold)."""
    out: list[datetime] = []
    for fold in (0, 1):
        utc = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if utc.astimezone(tz).replace(tzinfo=None) == naive and utc not in out:
            out.append(utc)
    return sorted(out)


def grid_starts(
    windows: Sequence[Window],
    duration: timedelta,
    tz: tzinfo,
    earliest: datetime,
    latest_end: datetime,
    blocked: Collection[date],
) -> list[datetime]:
    """Every grid start (UTC) whose hold of ``duration`` lies inside a window, at or after
    ``earliest``, ending by ``latest_end``, on a day that is not ``blocked``."""
    found: set[datetime] = set()
    day = earliest.astimezone(tz).date() - timedelta(days=1)
    last = latest_end.astimezone(tz).date()
    while day <= last:
        if day not in blocked:
            for window in windows:
                if day.weekday() in window.weekdays:
                    found.update(_window_starts(window, day, duration, tz, earliest, latest_end))
        day += timedelta(days=1)
    return sorted(found)


def _window_starts(
    window: Window, day: date, duration: timedelta, tz: tzinfo, earliest: datetime, latest_end: datetime
) -> list[datetime]:
    first = window.start.hour * 60 + window.start.minute
    first = -(-first // 15) * 15  # ceil to the grid
    wall = datetime.combine(day, time()) + timedelta(minutes=first)
    limit = datetime.combine(day, window.end)
    out = []
    while wall + duration <= limit:
        for start in _instants(wall, tz):
            end = start + duration
            # never straddle an offset change: the wall-clock end is then start + duration
            same_offset = (
                start.astimezone(tz).utcoffset() == (end - timedelta(microseconds=1)).astimezone(tz).utcoffset()
            )
            if same_offset and start >= earliest and end <= latest_end:
                out.append(start)
        wall += GRID
    return out
