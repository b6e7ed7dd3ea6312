"""The hold planner: which coffee holds to book and which to take back.

It is pure on purpose: plain data and an explicit ``now`` in, a :class:`Plan` out, no
I/O and no global clock.  That makes every rule of the design ("Holds" in DESIGN.md)
testable on its own, makes ``--now`` trivially honoured, and makes a repeated run
idempotent: the same input gives the same plan, and replanning with the plan's holds
added to ``existing`` books nothing more.  The time model of candidate starts is in
:mod:`syncd.slots`.
"""

from __future__ import annotations

import base64
import hashlib
from bisect import bisect_left
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo, UTC

from syncd.intervals import Interval, merge_intervals
from syncd.slots import grid_starts
from syncd.timeutil import format_duration
from syncd.windows import Window, parse_window

__all__ = [
    "Window",
    "parse_window",
    "HoldRules",
    "Interval",
    "Candidate",
    "ExistingHold",
    "NewHold",
    "Removal",
    "SinkHold",
    "Skip",
    "Plan",
    "hold_event_id",
    "plan",
]


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
class SinkHold:
    """A hold as a sink has it now (after whatever the user did to it in their calendar)."""

    event_id: str
    contact_id: str
    start: datetime
    end: datetime
    title: str = ""
    declined: bool = False


@dataclass(frozen=True)
class Removal:
    hold: ExistingHold
    reason: str


@dataclass(frozen=True)
class Skip:
    """A contact passed over: `reason` in words for the user, `code` as `syncd why` names it.

    Codes are `why`'s hold reasons (DESIGN "Living with it"): ignored, snoozed (also a contact
    whose cycle already had a hold: they rest until a new touch), upcoming_meeting,
    limits_reached, no_free_slot.
    """

    contact_id: str
    reason: str
    code: str = "no_free_slot"


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


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be time-zone aware, got {moment!r}")
    return moment.astimezone(UTC)


def _week(day: date) -> tuple[int, int]:
    iso = day.isocalendar()
    return (iso[0], iso[1])


def _overlaps(start: datetime, end: datetime, busy: list[tuple[datetime, datetime]], buffer: timedelta) -> bool:
    return any(start < busy_end + buffer and busy_start - buffer < end for busy_start, busy_end in busy)


# --------------------------------------------------------------------------- plan


def plan(
    candidates: Sequence[Candidate],
    busy: Sequence[Interval],
    blocked_days: Collection[date],
    existing: Sequence[ExistingHold],
    rules: HoldRules,
    tz: tzinfo,
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
            result.remove.append(Removal(h, f"touched on {last.astimezone(tz).date().isoformat()}"))
        else:
            kept.append((h, start, end))

    # 2. What is already taken: busy time, kept holds, and the per-day/week counts.
    static_busy = merge_intervals(
        [Interval(_utc(b.start, "busy start"), _utc(b.end, "busy end")) for b in busy]
        + [Interval(start, end) for _, start, end in kept],
        rules.buffer,
    )
    per_day: Counter[date] = Counter()
    per_week: Counter[tuple[int, int]] = Counter()
    for _, start, _ in kept:
        d = start.astimezone(tz).date()
        per_day[d] += 1
        per_week[_week(d)] += 1
    used_ids = {h.event_id for h in existing}
    future_hold: dict[str, datetime] = {}
    for h, start, end in sorted(kept, key=lambda k: (k[1], k[0].event_id)):
        if end > now:
            future_hold.setdefault(h.contact_id, start)

    # 3. Slots that satisfy the static rules, in time order.
    busy_starts = [span.start for span in static_busy]
    slots = []
    earliest, latest_end = now + rules.lead_time, now + rules.horizon
    for s in grid_starts(rules.windows, rules.duration, tz, earliest, latest_end, set(blocked_days)):
        e = s + rules.duration
        i = bisect_left(busy_starts, e)  # merged spans are disjoint: only span i-1 can overlap
        if i == 0 or static_busy[i - 1].end <= s:
            slots.append(s)

    planned: list[tuple[datetime, datetime]] = []
    horizon_text = format_duration(rules.horizon)
    no_slot: Skip | None = None  # once nothing fits, nothing fits for anyone after either

    for c in candidates:
        if c.ignore:
            result.skipped.append(Skip(c.contact_id, "ignored", "ignored"))
            continue
        if c.snoozed_until is not None and _utc(c.snoozed_until, "snoozed_until") > now:
            until = c.snoozed_until.astimezone(tz).date().isoformat()
            result.skipped.append(Skip(c.contact_id, f"snoozed until {until}", "snoozed"))
            continue
        if c.has_upcoming_meeting:
            result.skipped.append(Skip(c.contact_id, f"already meeting you within {horizon_text}", "upcoming_meeting"))
            continue
        if c.contact_id in future_hold:
            when = future_hold[c.contact_id].astimezone(tz)
            result.skipped.append(Skip(c.contact_id, f"already has a hold on {when:%Y-%m-%d %H:%M}"))
            continue
        event_id = hold_event_id(c.contact_id, c.last_touch_at, c.attempt)
        if event_id in used_ids:
            result.skipped.append(Skip(c.contact_id, "already had a hold since the last touch", "snoozed"))
            continue
        if no_slot is not None:
            result.skipped.append(Skip(c.contact_id, no_slot.reason, no_slot.code))
            continue

        chosen: datetime | None = None
        why: set[str] = set()
        for s in slots:
            d = s.astimezone(tz).date()
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
            no_slot = _no_slot(c.contact_id, why, rules, horizon_text)
            result.skipped.append(no_slot)
            continue

        end = chosen + rules.duration
        if c.last_touch_at is None:
            reason = "never touched"
        else:
            reason = f"last touch {c.last_touch_at.astimezone(tz).date().isoformat()}, cadence {c.cadence_days} days"
        result.create.append(NewHold(c.contact_id, c.name, event_id, chosen, end, c.last_touch_at, reason))
        planned.append((chosen, end))
        future_hold[c.contact_id] = chosen
        used_ids.add(event_id)
        d = chosen.astimezone(tz).date()
        per_day[d] += 1
        per_week[_week(d)] += 1
    return result


def _no_slot(contact_id: str, why: set[str], rules: HoldRules, horizon_text: str) -> Skip:
    """Say why nothing fits, naming the limit when a limit is the only obstacle."""
    if why == {"week"}:
        text = f"per-week limit of {rules.per_week} reached in every week with a free slot within {horizon_text}"
        return Skip(contact_id, text, "limits_reached")
    if why == {"day"}:
        text = f"per-day limit of {rules.per_day} reached on every day with a free slot within {horizon_text}"
        return Skip(contact_id, text, "limits_reached")
    if why == {"day", "week"}:
        text = (
            f"per-day ({rules.per_day}) and per-week ({rules.per_week}) limits reached "
            f"on every free slot within {horizon_text}"
        )
        return Skip(contact_id, text, "limits_reached")
    if why - {"busy"}:
        text = (
            f"no free slot in the windows within {horizon_text}: the rest is at the per-day ({rules.per_day}) "
            f"or per-week ({rules.per_week}) limit"
        )
        return Skip(contact_id, text, "no_free_slot")
    return Skip(contact_id, f"no free slot in the windows within {horizon_text}", "no_free_slot")
