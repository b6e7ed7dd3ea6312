"""Booking windows: weekdays and a local wall-clock time range, as the user writes them in [holds] windows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from syncd.timeutil import parse_hhmm

__all__ = ["Window", "parse_window"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WINDOW_RE = re.compile(
    r"^\s*(?P<days>[A-Za-z][A-Za-z\s,\-]*?)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)
_EXPECTED = "expected 'DAYS HH:MM-HH:MM', e.g. 'Tue-Thu 08:30-10:00' or 'Mon,Wed 12:00-13:00'"


@dataclass(frozen=True)
class Window:
    """Weekdays (Mon=0 … Sun=6) and a local wall-clock time range [start, end)."""

    weekdays: frozenset[int]
    start: time
    end: time

    def __str__(self) -> str:
        days = ",".join(_DAYS[d].capitalize() for d in sorted(self.weekdays))
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M}"


def _parse_day(token: str, text: str) -> int:
    t = token.strip().lower()
    if t in _DAYS:
        return _DAYS.index(t)
    if t in _FULL_DAYS:
        return _FULL_DAYS.index(t)
    raise ValueError(f"invalid window {text!r}: unknown day {token.strip()!r} (use Mon, Tue, …, Sun); {_EXPECTED}")


def _parse_hhmm(token: str, text: str) -> time:
    """timeutil.parse_hhmm, with the error naming the whole window."""
    try:
        return parse_hhmm(token)
    except ValueError:
        raise ValueError(
            f"invalid window {text!r}: {token!r} is not a time of day (00:00-23:59); {_EXPECTED}"
        ) from None


def parse_window(text: str) -> Window:
    """Parse ``"Tue-Thu 08:30-10:00"``, ``"Mon,Wed 12:00-13:00"``, ``"Mon-Tue,Fri 09:00-10:00"``.

    Day names are case-insensitive (three-letter or full); a range may wrap the week
    (``"Fri-Mon"``).  Raises :class:`ValueError` saying what was expected, because the
    message ends up in front of the user as a configuration error.
    """
    if not isinstance(text, str):
        raise ValueError(f"invalid window {text!r}: {_EXPECTED}")
    m = _WINDOW_RE.match(text)
    if not m:
        raise ValueError(f"invalid window {text!r}: {_EXPECTED}")
    days: set[int] = set()
    for part in m["days"].split(","):
        if not part.strip():
            raise ValueError(f"invalid window {text!r}: empty day in list; {_EXPECTED}")
        if "-" in part:
            pieces = part.split("-")
            if len(pieces) != 2:
                raise ValueError(f"invalid window {text!r}: bad day range {part.strip()!r}; {_EXPECTED}")
            a, b = _parse_day(pieces[0], text), _parse_day(pieces[1], text)
            d = a
            days.add(d)
            while d != b:
                d = (d + 1) % 7
                days.add(d)
        else:
            days.add(_parse_day(part, text))
    start, end = _parse_hhmm(m["start"], text), _parse_hhmm(m["end"], text)
    if end <= start:
        raise ValueError(f"invalid window {text!r}: the end {end:%H:%M} must be after the start {start:%H:%M}")
    return Window(frozenset(days), start, end)
