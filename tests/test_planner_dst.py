"""The planner around DST switches: wall-clock windows, gaps, folds and local days (DESIGN.md: Planner)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, UTC

import pytest

from syncd.intervals import Interval
from tests.test_planner import BERLIN, NEW_YORK, cand, held, rules, run


def _weekly(tz, now):
    """One 08:30 coffee a week: returns the UTC start of the first two holds."""
    p = run([cand("a"), cand("b")], rules(per_week=1), now, tz=tz)
    return [h.start for h in p.create]


@pytest.mark.parametrize(
    "tz, now, before_utc, after_utc",
    [
        # Berlin spring forward Sun 2026-03-29: CET (+1) → CEST (+2)
        (
            BERLIN,
            datetime(2026, 3, 24, 12, tzinfo=BERLIN),
            datetime(2026, 3, 26, 7, 30, tzinfo=UTC),
            datetime(2026, 3, 31, 6, 30, tzinfo=UTC),
        ),
        # Berlin fall back Sun 2026-10-25: CEST → CET
        (
            BERLIN,
            datetime(2026, 10, 20, 12, tzinfo=BERLIN),
            datetime(2026, 10, 22, 6, 30, tzinfo=UTC),
            datetime(2026, 10, 27, 7, 30, tzinfo=UTC),
        ),
        # New York spring forward Sun 2026-03-08: EST (-5) → EDT (-4)
        (
            NEW_YORK,
            datetime(2026, 3, 3, 12, tzinfo=NEW_YORK),
            datetime(2026, 3, 5, 13, 30, tzinfo=UTC),
            datetime(2026, 3, 10, 12, 30, tzinfo=UTC),
        ),
        # New York fall back Sun 2026-11-01: EDT → EST
        (
            NEW_YORK,
            datetime(2026, 10, 27, 12, tzinfo=NEW_YORK),
            datetime(2026, 10, 29, 12, 30, tzinfo=UTC),
            datetime(2026, 11, 3, 13, 30, tzinfo=UTC),
        ),
    ],
)
def test_dst_weeks_wall_clock(tz, now, before_utc, after_utc):
    starts = _weekly(tz, now)
    assert starts == [before_utc, after_utc]
    for s in starts:
        loc = s.astimezone(tz)
        assert (loc.hour, loc.minute) == (8, 30)
        assert loc.weekday() in (1, 2, 3)


@pytest.mark.parametrize("tz, gap_day", [(BERLIN, date(2026, 3, 29)), (NEW_YORK, date(2026, 3, 8))])
def test_window_inside_spring_forward_gap_books_nothing_that_day(tz, gap_day):
    now = datetime.combine(gap_day - timedelta(days=1), time(0), tzinfo=tz)
    r = rules(windows=("Sun 02:00-03:00",), lead_time=timedelta(0), horizon=timedelta(days=9), per_week=5)
    p = run([cand("a")], r, now, tz=tz)
    [h] = p.create
    loc = h.start.astimezone(tz)
    assert loc.date() == gap_day + timedelta(days=7)
    assert (loc.hour, loc.minute) == (2, 0)
    # with only the gap day inside the horizon, nothing fits
    r = rules(windows=("Sun 02:00-03:00",), lead_time=timedelta(0), horizon=timedelta(days=2))
    p = run([cand("a")], r, now, tz=tz)
    assert p.create == [] and p.skipped[0].reason == "no free slot in the windows within 2d"


def test_spring_forward_hold_does_not_straddle_the_jump():
    # Berlin 2026-03-29 01:00-04:00 local: 01:00/01:15/01:30 CET fit (01:30-02:00 ends at the jump),
    # 01:45 would end at 03:15 CEST across the jump, 02:xx do not exist, then 03:00 CEST.
    day = date(2026, 3, 29)
    now = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    r = rules(
        windows=("Sun 01:00-04:00",),
        lead_time=timedelta(0),
        horizon=timedelta(days=2),
        buffer=0,
        per_day=10,
        per_week=10,
    )
    p = run([cand(f"c{i}") for i in range(6)], r, now, tz=BERLIN)
    got = [h.start.astimezone(UTC) for h in p.create]
    assert got == [
        datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    ]
    walls = [h.start.astimezone(BERLIN).strftime("%H:%M") for h in p.create]
    assert walls == ["01:00", "01:30", "03:00", "03:30"]
    for h in p.create:
        assert h.start.astimezone(BERLIN).date() == day
        assert h.end - h.start == timedelta(minutes=30)
    # with a busy 00:45-01:30 CET, the 01:30 CET slot (ending at the jump) is still usable
    busy = [Interval(datetime(2026, 3, 29, 0, 45, tzinfo=BERLIN), datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN))]
    p = run([cand("a")], r, now, tz=BERLIN, busy=busy)
    assert p.create[0].start == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    # and with 01:30 CET taken too, the next one is 03:00 CEST (01:45 CET would straddle the jump)
    busy.append(Interval(datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN), datetime(2026, 3, 29, 1, 45, tzinfo=BERLIN)))
    p = run([cand("a")], r, now, tz=BERLIN, busy=busy)
    assert p.create[0].start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert p.create[0].start.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"


def test_fall_back_ambiguous_hour_is_deterministic():
    # Berlin 2026-10-25: 02:00-03:00 happens twice. Both passes are slots, the earlier first;
    # 02:45 CEST would cross the change and is not used.
    now = datetime(2026, 10, 24, 12, tzinfo=BERLIN)
    r = rules(
        windows=("Sun 02:00-03:00",),
        lead_time=timedelta(0),
        horizon=timedelta(days=2),
        buffer=0,
        per_day=10,
        per_week=10,
    )
    cands = [cand(f"c{i}") for i in range(6)]
    p = run(cands, r, now, tz=BERLIN)
    assert [h.start.astimezone(UTC) for h in p.create] == [
        datetime(2026, 10, 25, 0, 0, tzinfo=UTC),  # 02:00 CEST
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # 02:00 CET
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 02:30 CET
    ]
    for h in p.create:
        loc = h.start.astimezone(BERLIN)
        assert loc.strftime("%H:%M") in ("02:00", "02:30")
    assert run(cands, r, now, tz=BERLIN) == p


def test_new_york_fall_back_ambiguous_hour():
    now = datetime(2026, 10, 31, 12, tzinfo=NEW_YORK)
    r = rules(
        windows=("Sun 01:00-02:00",),
        duration=60,
        lead_time=timedelta(0),
        horizon=timedelta(days=2),
        buffer=0,
        per_day=10,
        per_week=10,
    )
    p = run([cand("a"), cand("b"), cand("c")], r, now, tz=NEW_YORK)
    # 01:00 EDT (05:00Z) and 01:00 EST (06:00Z), both full hours on the wall clock
    assert [h.start.astimezone(UTC) for h in p.create] == [
        datetime(2026, 11, 1, 5, tzinfo=UTC),
        datetime(2026, 11, 1, 6, tzinfo=UTC),
    ]


def test_per_day_counts_local_day_across_dst():
    # Existing hold on the fall-back Sunday at 23:30 local (22:30Z) belongs to Sunday, not Monday.
    now = datetime(2026, 10, 24, 12, tzinfo=BERLIN)
    h = held("x", datetime(2026, 10, 25, 23, 30, tzinfo=BERLIN), cycle=None)
    r = rules(windows=("Mon 08:30-10:00",), lead_time=timedelta(0), per_day=1, per_week=2)
    p = run([cand("a")], r, now, tz=BERLIN, existing=[h])
    assert p.create[0].start == datetime(2026, 10, 26, 8, 30, tzinfo=BERLIN)
