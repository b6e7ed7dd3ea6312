"""How far a recurring ICS event would expand, and dropping the series that would run away.

A series is expanded by iterating its rule from DTSTART, so a rule like FREQ=SECONDLY (or
MINUTELY over months) would hang a sync and exhaust memory: one line of a subscribed
calendar could stop every later sync. These estimates find such series before expansion.
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo, UTC
from typing import TYPE_CHECKING, Any

from syncd.sources.base import log

if TYPE_CHECKING:
    import icalendar

MAX_SERIES_OCCURRENCES = 10_000  # in the expansion window: more than one an hour for a year
MAX_SERIES_STEPS = 20_000_000  # rule periods iterated from DTSTART to the window's end


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


def drop_runaway_series(
    calendar: icalendar.Calendar, since: datetime, until: datetime, tz: tzinfo
) -> tuple[float, list[Any]]:
    """Remove series that would expand past the limits: (the expected occurrences of the
    rest, the events removed)."""
    total = 0.0
    runaway: set[str] = set()
    removed: list[Any] = []
    for component in calendar.walk("VEVENT"):
        occurrences, steps = _expansion_estimate(component, since, until, tz)
        if occurrences > MAX_SERIES_OCCURRENCES or steps > MAX_SERIES_STEPS:
            uid = str(component.get("UID") or "")
            log.debug("the series %r repeats about %d times in the window", uid[:80], occurrences)
            removed.append(component)
            runaway.add(uid or f"#{id(component)}")  # exceptions share the UID; a UID-less series is itself
        else:
            total += occurrences
    if runaway:
        stack: list[icalendar.cal.Component] = [calendar]
        while stack:
            parent = stack.pop()
            parent.subcomponents[:] = [
                child
                for child in parent.subcomponents
                if not (child.name == "VEVENT" and (str(child.get("UID") or "") or f"#{id(child)}") in runaway)
            ]
            stack.extend(parent.subcomponents)
    return total, removed


def _expansion_estimate(event: Any, since: datetime, until: datetime, tz: tzinfo) -> tuple[float, float]:
    """(occurrences inside [since, until], rule periods iterated from DTSTART): generous
    upper bounds, exact enough to tell a weekly meeting from a rule that fires every minute."""
    rules = as_list(event.get("RRULE"))
    if not rules:
        return 1.0, 0.0
    try:
        start = as_datetime(event["DTSTART"].dt, tz)
    except Exception:  # unreadable DTSTART: the expansion reports it
        return 1.0, 0.0
    occurrences = steps = 0.0
    for rule in rules:
        try:
            freq = str(rule.get("FREQ")[0]).upper()
            interval = max(1, int((rule.get("INTERVAL") or [1])[0]))
            end = until
            if rule.get("UNTIL"):
                end = min(end, as_datetime(rule.get("UNTIL")[0], tz))
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


def as_datetime(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    return datetime.combine(value, time(0, 0), tzinfo=tz).astimezone(UTC)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
