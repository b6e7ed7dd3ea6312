"""The hold planner: which coffee holds to book and which to take back.

It is pure on purpose: plain data and an explicit ``now`` in, a :class:`Plan` out, no
I/O and no global clock.  That makes every rule of the design ("Holds" in DESIGN.md)
testable on its own, makes ``--now`` trivially honoured, and makes a repeated run
idempotent: the same input gives the same plan, and replanning with the plan's holds
added to ``existing`` books nothing more.

Time model.  Windows are local wall-clock times in the user's zone.  A candidate start
is a wall-clock time on a 15-minute grid; wall-clock times that do not exist (the
spring-forward gap) are skipped, and an ambiguous wall-clock time (the fall-back hour)
yields both instants, earlier first.  A hold never straddles a UTC-offset change, so
its wall-clock end is simply its wall-clock start plus its duration, and "inside the
window" means what the user reads on the clock.
"""

from __future__ import annotations

import base64
from bisect import bisect_left
import hashlib
import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, UTC
from zoneinfo import ZoneInfo

__all__ = [
    "Window",
    "parse_window",
    "HoldRules",
    "Interval",
    "Candidate",
    "ExistingHold",
    "NewHold",
    "Removal",
    "Skip",
    "Plan",
    "hold_event_id",
    "plan",
]

GRID = timedelta(minutes=15)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WINDOW_RE = re.compile(
    r"^\s*(?P<days>[A-Za-z][A-Za-z\s,\-]*?)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)
_EXPECTED = "expected 'DAYS HH:MM-HH:MM', e.g. 'Tue-Thu 08:30-10:00' or 'Mon,Wed 12:00-13:00'"


# --------------------------------------------------------------------------- windows


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
    hh, mm = token.split(":")
    h, m = int(hh), int(mm)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(f"invalid window {text!r}: {token!r} is not a time of day (00:00-23:59); {_EXPECTED}")
    return time(h, m)


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


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class HoldRules:
    """The user's booking rules ([holds] in the config), already parsed."""

    windows: tuple[Window, ...]
    duration: timedelta
    lead_time: timedelta
    horizon: timedelta
    buffer: timedelta
    per_day: int
    per_week: int
    remove_when_touched: bool = True

    def __post_init__(self) -> None:
        if self.duration <= timedelta(0):
            raise ValueError("hold duration must be positive")
        if self.buffer < timedelta(0) or self.lead_time < timedelta(0) or self.horizon < timedelta(0):
            raise ValueError("hold buffer, lead_time and horizon must not be negative")


@dataclass(frozen=True)
class Interval:
    """A busy time range [start, end), time-zone aware."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Candidate:
    """A cold contact; the caller passes them most overdue first."""

    contact_id: str
    name: str
    last_touch_at: datetime | None
    cadence_days: int
    snoozed_until: datetime | None = None
    ignore: bool = False
    has_upcoming_meeting: bool = False
    attempt: int = 0  # holds of this cycle the user deleted or let pass: each retry gets a fresh id


@dataclass(frozen=True)
class ExistingHold:
    """A hold already in a sink (as the sink reports it now: moved holds at their new time)."""

    contact_id: str
    event_id: str
    start: datetime
    end: datetime
    cycle: datetime | None
    contact_last_touch_at: datetime | None


@dataclass(frozen=True)
class NewHold:
    contact_id: str
    name: str
    event_id: str
    start: datetime
    end: datetime
    cycle: datetime | None
    reason: str


@dataclass(frozen=True)
class Removal:
    hold: ExistingHold
    reason: str


@dataclass(frozen=True)
class Skip:
    contact_id: str
    reason: str


@dataclass
class Plan:
    create: list[NewHold] = field(default_factory=list)
    remove: list[Removal] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


# --------------------------------------------------------------------------- ids


def hold_event_id(contact_id: str, cycle: datetime | None, attempt: int = 0) -> str:
    """The deterministic id of the hold for (contact, cycle, attempt).

    Lowercase base32hex (``0-9a-v``), 26 characters: valid both as a Google Calendar
    event id (which allows only that alphabet, 5–1024 chars) and as an ICS UID.  Being
    derived from the cycle, a retried run re-derives the same id (so no double booking)
    and a new touch gives a new id (so a removed hold's id is never reused).  `attempt`
    counts earlier holds of the same cycle that the user deleted or let pass, so a later
    retry never reuses the id of a deleted event (Google answers 409 for those).
    """
    if cycle is not None and cycle.tzinfo is None:
        raise ValueError("hold cycle must be time-zone aware")
    stamp = cycle.astimezone(UTC).isoformat() if cycle is not None else "never"
    suffix = f"|{attempt}" if attempt else ""
    digest = hashlib.sha256(f"{contact_id}|{stamp}{suffix}".encode()).digest()
    return base64.b32hexencode(digest).decode("ascii").lower()[:26]


# --------------------------------------------------------------------------- helpers


def _utc(dt: datetime, what: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be time-zone aware, got {dt!r}")
    return dt.astimezone(UTC)


def _human(td: timedelta) -> str:
    """'14 days', '1 day', '36 hours', '90 minutes' — for reasons shown to the user."""
    secs = int(td.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if secs >= size and secs % size == 0:
            n = secs // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{secs} seconds"


def _week(d: date) -> tuple[int, int]:
    iso = d.isocalendar()
    return (iso[0], iso[1])


def _local(dt: datetime, tz: ZoneInfo) -> datetime:
    return dt.astimezone(tz)


def _resolve(naive: datetime, tz: ZoneInfo) -> list[datetime]:
    """All UTC instants at which the local wall clock reads ``naive``: 0 (gap), 1 or 2 (fold)."""
    out: list[datetime] = []
    for fold in (0, 1):
        utc = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if utc.astimezone(tz).replace(tzinfo=None) == naive and utc not in out:
            out.append(utc)
    return sorted(out)


def _slots(
    rules: HoldRules, tz: ZoneInfo, earliest: datetime, latest_end: datetime, blocked: Collection[date]
) -> list[datetime]:
    """Every grid start (UTC) whose hold lies inside a window, after lead time, within horizon."""
    found: set[datetime] = set()
    day = _local(earliest, tz).date() - timedelta(days=1)
    last = _local(latest_end, tz).date()
    while day <= last:
        if day not in blocked:
            for w in rules.windows:
                if day.weekday() not in w.weekdays:
                    continue
                first = w.start.hour * 60 + w.start.minute
                first = -(-first // 15) * 15  # ceil to the grid
                wall = datetime.combine(day, time()) + timedelta(minutes=first)
                limit = datetime.combine(day, w.end)
                while wall + rules.duration <= limit:
                    for start in _resolve(wall, tz):
                        end = start + rules.duration
                        # never straddle an offset change: the wall-clock end is then start+duration
                        same_offset = (
                            _local(start, tz).utcoffset() == _local(end - timedelta(microseconds=1), tz).utcoffset()
                        )
                        if same_offset and start >= earliest and end <= latest_end:
                            found.add(start)
                    wall += GRID
        day += timedelta(days=1)
    return sorted(found)


def _overlaps(start: datetime, end: datetime, busy: list[tuple[datetime, datetime]], buffer: timedelta) -> bool:
    return any(start < be + buffer and bs - buffer < end for bs, be in busy)


def _merge(intervals: list[tuple[datetime, datetime]], buffer: timedelta) -> list[tuple[datetime, datetime]]:
    """UTC busy spans widened by ``buffer``, merged and sorted: for a fast static check."""
    spans = sorted((s - buffer, e + buffer) for s, e in intervals)
    merged: list[tuple[datetime, datetime]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


# --------------------------------------------------------------------------- plan


def plan(
    candidates: Sequence[Candidate],
    busy: Sequence[Interval],
    blocked_days: Collection[date],
    existing: Sequence[ExistingHold],
    rules: HoldRules,
    tz: ZoneInfo,
    now: datetime,
) -> Plan:
    """Decide which holds to create and remove.

    Candidates are served in the given order (the caller sorts most overdue first), each
    taking the earliest slot that fits every rule; holds kept and holds planned earlier in
    this plan are busy time and count toward ``per_day``/``per_week``.  See the module
    docstring for the time model and DESIGN.md "Holds" for the rules.

    All arithmetic is done in UTC: adding a timedelta to a zoneinfo datetime is wall-clock
    arithmetic, and two datetimes of the same zone compare ignoring ``fold``, both wrong
    around DST.  New holds are returned in UTC for the same reason.
    """
    now = _utc(now, "now")
    result = Plan()

    # 1. Removals: future holds whose contact was touched after the hold was booked.
    kept: list[tuple[ExistingHold, datetime, datetime]] = []
    for h in existing:
        start, end = _utc(h.start, "hold start"), _utc(h.end, "hold end")
        last = _utc(h.contact_last_touch_at, "contact_last_touch_at") if h.contact_last_touch_at is not None else None
        touched = last is not None and (h.cycle is None or last > _utc(h.cycle, "hold cycle"))
        if rules.remove_when_touched and start > now and touched:
            assert last is not None
            result.remove.append(Removal(h, f"touched on {_local(last, tz).date().isoformat()}"))
        else:
            kept.append((h, start, end))

    # 2. What is already taken: busy time, kept holds, and the per-day/week counts.
    static_busy = _merge(
        [(_utc(b.start, "busy start"), _utc(b.end, "busy end")) for b in busy]
        + [(start, end) for _, start, end in kept],
        rules.buffer,
    )
    per_day: Counter[date] = Counter()
    per_week: Counter[tuple[int, int]] = Counter()
    for _, start, _ in kept:
        d = _local(start, tz).date()
        per_day[d] += 1
        per_week[_week(d)] += 1
    used_ids = {h.event_id for h in existing}
    future_hold: dict[str, datetime] = {}
    for h, start, end in sorted(kept, key=lambda k: (k[1], k[0].event_id)):
        if end > now:
            future_hold.setdefault(h.contact_id, start)

    # 3. Slots that satisfy the static rules, in time order.
    busy_starts = [bs for bs, _ in static_busy]
    slots = []
    for s in _slots(rules, tz, now + rules.lead_time, now + rules.horizon, set(blocked_days)):
        e = s + rules.duration
        i = bisect_left(busy_starts, e)  # merged spans are disjoint: only span i-1 can overlap
        if i == 0 or static_busy[i - 1][1] <= s:
            slots.append(s)

    planned: list[tuple[datetime, datetime]] = []
    horizon_text = _human(rules.horizon)
    no_slot: str | None = None  # once nothing fits, nothing fits for anyone after either

    for c in candidates:
        if c.ignore:
            result.skipped.append(Skip(c.contact_id, "ignored"))
            continue
        if c.snoozed_until is not None and _utc(c.snoozed_until, "snoozed_until") > now:
            until = _local(c.snoozed_until, tz).date().isoformat()
            result.skipped.append(Skip(c.contact_id, f"snoozed until {until}"))
            continue
        if c.has_upcoming_meeting:
            result.skipped.append(Skip(c.contact_id, f"already meeting you within {horizon_text}"))
            continue
        if c.contact_id in future_hold:
            when = _local(future_hold[c.contact_id], tz)
            result.skipped.append(Skip(c.contact_id, f"already has a hold on {when:%Y-%m-%d %H:%M}"))
            continue
        event_id = hold_event_id(c.contact_id, c.last_touch_at, c.attempt)
        if event_id in used_ids:
            result.skipped.append(Skip(c.contact_id, "already had a hold since the last touch"))
            continue
        if no_slot is not None:
            result.skipped.append(Skip(c.contact_id, no_slot))
            continue

        chosen: datetime | None = None
        why: set[str] = set()
        for s in slots:
            d = _local(s, tz).date()
            if per_week[_week(d)] >= rules.per_week:
                why.add("week")
            elif per_day[d] >= rules.per_day:
                why.add("day")
            elif _overlaps(s, s + rules.duration, planned, rules.buffer):
                why.add("busy")
            else:
                chosen = s
                break
        if chosen is None:
            no_slot = _no_slot_reason(why, rules, horizon_text)
            result.skipped.append(Skip(c.contact_id, no_slot))
            continue

        end = chosen + rules.duration
        if c.last_touch_at is None:
            reason = "never touched"
        else:
            reason = f"last touch {_local(c.last_touch_at, tz).date().isoformat()}, cadence {c.cadence_days} days"
        result.create.append(NewHold(c.contact_id, c.name, event_id, chosen, end, c.last_touch_at, reason))
        planned.append((chosen, end))
        future_hold[c.contact_id] = chosen
        used_ids.add(event_id)
        d = _local(chosen, tz).date()
        per_day[d] += 1
        per_week[_week(d)] += 1
    return result


def _no_slot_reason(why: set[str], rules: HoldRules, horizon_text: str) -> str:
    """Say why nothing fits, naming the limit when a limit is the only obstacle."""
    if why == {"week"}:
        return f"per-week limit of {rules.per_week} reached in every week with a free slot within {horizon_text}"
    if why == {"day"}:
        return f"per-day limit of {rules.per_day} reached on every day with a free slot within {horizon_text}"
    if why == {"day", "week"}:
        return (
            f"per-day ({rules.per_day}) and per-week ({rules.per_week}) limits reached "
            f"on every free slot within {horizon_text}"
        )
    if why - {"busy"}:
        return (
            f"no free slot in the windows within {horizon_text}: the rest is at the per-day ({rules.per_day}) "
            f"or per-week ({rules.per_week}) limit"
        )
    return f"no free slot in the windows within {horizon_text}"
