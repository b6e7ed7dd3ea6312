"""The network at a glance, as plain data: warmth per contact, touches per ISO week, tiers and the rhythm kept.

Pure functions of contact statuses, touch times (epoch seconds) and `now`; the terminal,
the HTML page and `report --json` all draw from one :class:`NetworkReport`, so they can
never disagree. Weeks are ISO weeks (Monday to Sunday) in the user's time zone.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import groupby
from operator import itemgetter
from typing import Any

from syncd.cold import SECONDS_PER_DAY, ContactStatus
from syncd.timeutil import local_iso

RHYTHM_WEEKS = 12


# One week's touches with a contact: (contact id, week column, meetings, messages); the
# column indexes NetworkReport.weeks. A plain tuple: a year of 5,000 contacts makes ~100,000.
WeekTouches = tuple[str, int, int, int]


@dataclass(slots=True)  # not frozen: a frozen dataclass pays a setattr per field, 5,000 times
class ContactWarmth:
    status: ContactStatus
    tier: str
    days_since_touch: int | None  # whole days; None when never touched
    cold_at: datetime | None  # when the cadence ran out, for a contact touched once and now cold
    hold_start: datetime | None  # the upcoming hold, if one is booked
    weeks: tuple[WeekTouches, ...]  # only the weeks with touches, oldest first

    @property
    def warm(self) -> bool:
        return not self.status.cold


@dataclass(frozen=True)
class RhythmWeek:
    week: str
    coffees: int
    target: int

    @property
    def kept(self) -> bool:
        return self.coffees >= self.target


@dataclass(frozen=True)
class TierSummary:
    tier: str
    count: int
    warm: int


@dataclass(frozen=True)
class UpcomingHold:
    contact_id: str
    name: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class NetworkReport:
    generated_at: datetime
    tz: tzinfo
    weeks: tuple[str, ...]  # the chart's columns over the look-back, oldest first
    chart_start: datetime  # local Monday 00:00 of the first column
    contacts: tuple[ContactWarmth, ...]  # non-ignored, grouped by tier, by name within a tier
    tiers: tuple[TierSummary, ...]
    rhythm: tuple[RhythmWeek, ...]  # the last RHYTHM_WEEKS weeks, this one last
    holds: tuple[UpcomingHold, ...]

    @cached_property
    def cold(self) -> list[ContactWarmth]:
        """Cold contacts, never-touched first, then most overdue against their cadence."""
        cold = [row for row in self.contacts if row.status.cold]
        return sorted(cold, key=lambda row: (row.status.last_touch is not None, -row.status.overdue_ratio))


def iso_week(moment: datetime, tz: tzinfo) -> str:
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def week_starts(now: datetime, tz: tzinfo, count: int) -> list[datetime]:
    """Local Mondays 00:00 of the last `count` ISO weeks, this week's last."""
    monday = now.astimezone(tz).date() - timedelta(days=now.astimezone(tz).weekday())
    return [_midnight(monday - timedelta(weeks=back), tz) for back in range(count - 1, -1, -1)]


def weeks_since(start: datetime, now: datetime, tz: tzinfo) -> int:
    """How many ISO weeks, this one included, reach back to the week of `start`."""
    first = start.astimezone(tz).date()
    last = now.astimezone(tz).date()
    return (last - timedelta(days=last.weekday()) - (first - timedelta(days=first.weekday()))).days // 7 + 1


def offset_schedule(start: datetime, end: datetime, tz: tzinfo) -> list[tuple[int, int]]:
    """The zone's UTC offsets over [start, end]: (epoch second from which it applies, offset in seconds), in order.

    Lets SQL turn an epoch into the user's wall-clock time exactly (a CASE over a few
    changes), so touches are put into local weeks without building a datetime per touch.
    Found by stepping a day at a time and bisecting each change to the second.
    """
    first, last = int(start.timestamp()), int(end.timestamp())
    schedule = [(first, _offset(first, tz))]
    day = first
    while day < last:
        following = min(day + SECONDS_PER_DAY, last)
        if _offset(following, tz) != schedule[-1][1]:
            low, high = day, following  # the offset at `low` is the old one, at `high` the new one
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if _offset(middle, tz) == schedule[-1][1] else (low, middle)
            schedule.append((high, _offset(high, tz)))
        day = following
    return schedule


def touches_by_week(rows: Iterable[tuple[str, int, int, int]], weeks: int) -> dict[str, tuple[WeekTouches, ...]]:
    """(contact id, week column, meetings, messages) rows, summed per contact and week, oldest week first.

    Rows come in runs of one contact with their weeks rising (as the store's query gives
    them); a contact may have several runs. Columns outside `weeks` are left out. A run
    becomes the contact's weeks as it is, one tuple per contact rather than one object
    per week, which keeps a year of 5,000 contacts (~100,000 rows) cheap.
    """
    grouped: dict[str, tuple[WeekTouches, ...]] = {}
    for contact_id, run in groupby(rows, key=itemgetter(0)):
        found = tuple(run)
        if found[0][1] < 0 or found[-1][1] >= weeks:
            found = tuple(row for row in found if 0 <= row[1] < weeks)
        if contact_id in grouped:
            found = _summed([*grouped[contact_id], *found])
        if found:
            grouped[contact_id] = found
    return grouped


def _summed(rows: list[WeekTouches]) -> tuple[WeekTouches, ...]:
    rows.sort(key=itemgetter(1))
    merged = [rows[0]]
    for contact_id, column, meetings, messages in rows[1:]:
        last = merged[-1]
        if column == last[1]:
            merged[-1] = (contact_id, column, last[2] + meetings, last[3] + messages)
        else:
            merged.append((contact_id, column, meetings, messages))
    return tuple(merged)


def rhythm(
    meetings_by_week: Mapping[int, int],
    meetings_of: Iterable[tuple[str, int]],
    holds_gone_by: Iterable[tuple[str, int]],
    starts: Sequence[datetime],
    tz: tzinfo,
    per_week: int,
) -> tuple[RhythmWeek, ...]:
    """Coffees per week: meetings with contacts, and holds that stayed in the calendar until they ended.

    `meetings_by_week` counts each meeting once per week column (one with three contacts is
    one coffee); `meetings_of` gives (contact id, start) of the meetings with the contacts
    whose holds went by, because a hold and a meeting with the same contact on the same day
    are one coffee (the hold turned into an invitation).
    """
    bounds = [int(start.timestamp()) for start in starts]
    coffees = [meetings_by_week.get(column, 0) for column in range(len(starts))]
    met_on = {(contact_id, _local_date(at, tz)) for contact_id, at in meetings_of}
    for contact_id, start in holds_gone_by:
        column = bisect_right(bounds, start) - 1
        if column >= 0 and (contact_id, _local_date(start, tz)) not in met_on:
            coffees[column] += 1
    return tuple(
        RhythmWeek(iso_week(week_start, tz), count, per_week) for week_start, count in zip(starts, coffees, strict=True)
    )


def tier_summaries(rows: Sequence[ContactWarmth], tier_order: Sequence[str]) -> tuple[TierSummary, ...]:
    """Every known tier with its count and how many are warm; a tier nobody is in shows 0."""
    count = Counter(row.tier for row in rows)
    warm = Counter(row.tier for row in rows if row.warm)
    order = list(tier_order) + sorted(set(count) - set(tier_order))
    return tuple(TierSummary(tier, count[tier], warm[tier]) for tier in order)


def build_report(
    statuses: Iterable[ContactStatus],
    tier_of: Callable[[ContactStatus], str],
    tier_order: Sequence[str],
    weekly: dict[str, tuple[WeekTouches, ...]],
    chart_weeks: Sequence[datetime],
    rhythm_weeks: tuple[RhythmWeek, ...],
    holds: Sequence[UpcomingHold],
    now: datetime,
    tz: tzinfo,
) -> NetworkReport:
    """The report as of `now`: every contact not ignored, by tier (in `tier_order`) and name, with its weeks."""
    hold_start = {}
    for hold in sorted(holds, key=lambda item: item.start, reverse=True):
        hold_start[hold.contact_id] = hold.start  # the earliest wins
    rank = {tier: position for position, tier in enumerate(tier_order)}
    rows = [
        _warmth(status, tier_of(status), weekly.get(status.contact.id, ()), hold_start.get(status.contact.id), now)
        for status in statuses
        if not status.contact.ignore
    ]
    rows.sort(key=lambda row: (rank.get(row.tier, len(rank)), row.tier, row.status.contact.name.casefold()))
    return NetworkReport(
        generated_at=now,
        tz=tz,
        weeks=tuple(iso_week(start, tz) for start in chart_weeks),
        chart_start=chart_weeks[0],
        contacts=tuple(rows),
        tiers=tier_summaries(rows, tier_order),
        rhythm=rhythm_weeks,
        holds=tuple(sorted(holds, key=lambda item: (item.start, item.name))),
    )


def _warmth(
    status: ContactStatus, tier: str, weeks: tuple[WeekTouches, ...], hold: datetime | None, now: datetime
) -> ContactWarmth:
    touch = status.last_touch
    days = None if touch is None else int((now - touch.at).total_seconds() // SECONDS_PER_DAY)
    cold_at = touch.at + timedelta(days=status.cadence_days) if touch is not None and status.cold else None
    return ContactWarmth(status, tier, days, cold_at, hold, weeks)


def report_json(report: NetworkReport) -> dict[str, Any]:
    """The `report --json` shape (DESIGN.md): weeks without touches are left out of touches_by_week."""
    tz = report.tz
    return {
        "contacts": [
            {
                "id": row.status.contact.id,
                "name": row.status.contact.name,
                "tier": row.tier,
                "cadence_days": row.status.cadence_days,
                "last_touch_at": local_iso(row.status.last_touch.at if row.status.last_touch else None, tz),
                "days_since_touch": row.days_since_touch,
                "cold": row.status.cold,
                "hold_start": local_iso(row.hold_start, tz),
                "touches_by_week": [
                    {"week": report.weeks[column], "meetings": meetings, "messages": messages}
                    for _, column, meetings, messages in row.weeks
                ],
            }
            for row in report.contacts
        ],
        "rhythm": [{"week": week.week, "coffees": week.coffees, "target": week.target} for week in report.rhythm],
        "generated_at": local_iso(report.generated_at, tz),
    }


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _offset(epoch: int, tz: tzinfo) -> int:
    offset = datetime.fromtimestamp(epoch, tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _local_date(epoch: int, tz: tzinfo) -> date:
    return datetime.fromtimestamp(epoch, tz).date()
