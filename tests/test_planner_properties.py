"""Property tests for the planner: every plan respects every rule, whatever the input.

The checks here are written independently of the planner's internals (e.g. "inside a
window" is checked minute by minute on the local wall clock), so that a shared mistake is
unlikely to hide.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, UTC

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zoneinfo import ZoneInfo

from syncd.planner import Candidate, ExistingHold, HoldRules, Interval, Window, hold_event_id, plan


ZONES = [ZoneInfo(z) for z in ("Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata", "Australia/Lord_Howe")]
# Around DST switches in 2026 (Berlin 03-29/10-25, New York 03-08/11-01, Lord Howe 04-05/10-04)
ANCHORS = [
    datetime(2026, 3, 2, tzinfo=UTC),
    datetime(2026, 3, 24, tzinfo=UTC),
    datetime(2026, 4, 1, tzinfo=UTC),
    datetime(2026, 6, 10, tzinfo=UTC),
    datetime(2026, 9, 30, tzinfo=UTC),
    datetime(2026, 10, 20, tzinfo=UTC),
    datetime(2026, 10, 28, tzinfo=UTC),
]
IDS = [f"c{i}" for i in range(10)]


@st.composite
def windows(draw) -> Window:
    days = draw(st.frozensets(st.integers(0, 6), min_size=2, max_size=7))
    start = draw(st.integers(0, 23 * 60 - 15).map(lambda m: m - m % 5))
    length = draw(st.integers(15, 6 * 60).map(lambda m: 6 * 60 + 15 - m))
    end = min(start + length, 23 * 60 + 59)
    return Window(days, time(start // 60, start % 60), time(end // 60, end % 60))


@st.composite
def scenarios(draw):
    tz = draw(st.sampled_from(ZONES))
    now = draw(st.sampled_from(ANCHORS)) + timedelta(
        minutes=draw(st.integers(0, 14 * 24 * 60)), seconds=draw(st.integers(0, 59))
    )
    now = now.astimezone(draw(st.sampled_from([tz, UTC])))
    rules = HoldRules(
        windows=tuple(draw(st.lists(windows(), min_size=draw(st.sampled_from([1, 1, 1, 0])), max_size=3))),
        duration=timedelta(minutes=draw(st.sampled_from([15, 30, 45, 60, 90]))),
        lead_time=draw(st.sampled_from([timedelta(days=1), timedelta(0), timedelta(hours=1), timedelta(hours=36)])),
        horizon=draw(st.sampled_from([timedelta(days=14), timedelta(days=7), timedelta(days=21), timedelta(days=1)])),
        buffer=timedelta(minutes=draw(st.sampled_from([0, 5, 15, 30]))),
        per_day=draw(st.sampled_from([1, 2, 1, 3, 0])),
        per_week=draw(st.sampled_from([5, 2, 1, 3, 5, 0])),
        remove_when_touched=draw(st.booleans()),
    )

    def moment(lo_days: int, hi_days: int):
        return st.integers(lo_days * 24 * 60, hi_days * 24 * 60).map(lambda m: now + timedelta(minutes=m))

    busy = []
    for _ in range(draw(st.integers(0, 25))):
        s = draw(moment(-2, 22)).astimezone(draw(st.sampled_from([tz, UTC])))
        busy.append(Interval(s, s + timedelta(minutes=draw(st.integers(0, 300)))))
    blocked = set(
        draw(st.lists(st.integers(-1, 22).map(lambda d: now.astimezone(tz).date() + timedelta(days=d)), max_size=6))
    )
    touch = st.none() | moment(-200, 0)
    existing = []
    for _ in range(draw(st.integers(0, 6))):
        cid = draw(st.sampled_from(IDS))
        s = draw(moment(-10, 21))
        cycle = draw(touch)
        existing.append(
            ExistingHold(
                cid,
                hold_event_id(cid, cycle),
                s,
                s + timedelta(minutes=30),
                cycle,
                draw(st.sampled_from([cycle, None]) | touch),
            )
        )
    cands = []
    for cid in draw(st.lists(st.sampled_from(IDS), unique=True, max_size=8)):
        cands.append(
            Candidate(
                contact_id=cid,
                name=cid.upper(),
                last_touch_at=draw(touch),
                cadence_days=30,
                snoozed_until=draw(moment(-5, 5)) if draw(st.integers(0, 3)) == 3 else None,
                ignore=draw(st.integers(0, 5)) == 5,
                has_upcoming_meeting=draw(st.integers(0, 5)) == 5,
            )
        )
    return cands, busy, blocked, existing, rules, tz, now


def _inside_a_window(start: datetime, end: datetime, rules: HoldRules, tz: ZoneInfo) -> bool:
    """Every instant of [start, end) reads, on the local wall clock, a time inside one window."""
    probes = [start + timedelta(minutes=m) for m in range(int((end - start).total_seconds() // 60))]
    probes.append(end - timedelta(microseconds=1))
    local = [p.astimezone(tz) for p in probes]
    day = local[0].date()
    for w in rules.windows:
        if day.weekday() in w.weekdays and all(lt.date() == day and w.start <= lt.time() < w.end for lt in local):
            return True
    return False


def _overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime], buffer: timedelta) -> bool:
    """In UTC: adding the buffer to a zoneinfo time is wall-clock arithmetic, wrong inside a DST fold."""
    a_start, a_end, b_start, b_end = (moment.astimezone(UTC) for moment in (*a, *b))
    return a_start < b_end + buffer and b_start - buffer < a_end


def _week(d: date) -> tuple[int, int]:
    return d.isocalendar()[:2]


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow  # hundreds of generated cases: the full tier
@SETTINGS
@given(scenarios())
def test_every_hold_respects_every_rule(sc):
    _check(sc, plan(*sc))


# The nights of the 2026 DST switches, with windows around the jump and many contacts.
SWITCHES = [
    ("Europe/Berlin", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Australia/Lord_Howe", date(2026, 4, 5)),
    ("Australia/Lord_Howe", date(2026, 10, 4)),
]


@st.composite
def dst_nights(draw):
    name, day = draw(st.sampled_from(SWITCHES))
    tz = ZoneInfo(name)
    now = datetime.combine(day - timedelta(days=1), time(12), tzinfo=tz) + timedelta(
        minutes=draw(st.integers(-600, 600))
    )
    ws = []
    for _ in range(draw(st.integers(1, 2))):
        start = draw(st.integers(0, 16)) * 15
        ws.append(
            Window(
                frozenset(range(7)),
                time(start // 60, start % 60),
                time(*divmod(min(start + draw(st.integers(15, 240)), 23 * 60 + 59), 60)),
            )
        )
    rules = HoldRules(
        tuple(ws),
        timedelta(minutes=draw(st.sampled_from([15, 30, 45, 60, 90]))),
        timedelta(minutes=draw(st.sampled_from([0, 60, 90]))),
        timedelta(days=3),
        timedelta(minutes=draw(st.sampled_from([0, 15]))),
        20,
        50,
    )
    busy = []
    for _ in range(draw(st.integers(0, 5))):
        s = now + timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
        busy.append(Interval(s, s + timedelta(minutes=draw(st.integers(0, 120)))))
    cands = [Candidate(c, c, None, 30) for c in IDS]
    return cands, busy, set(), [], rules, tz, now


# Derandomised and without the example database: the same nights on every run, so a CI
# failure is reproducible and a saved failure cannot replay itself into unrelated runs.
@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(dst_nights())
def test_dst_nights(sc):
    p = plan(*sc)
    _check(sc, p)
    assert p == plan(*sc)


def _check(sc, p) -> None:
    cands, busy, blocked, existing, rules, tz, now = sc
    by_id = {c.contact_id: c for c in cands}
    removed = {r.hold.event_id for r in p.remove}
    kept = [h for h in existing if h.event_id not in removed]

    # every candidate is answered exactly once
    assert sorted([h.contact_id for h in p.create] + [s.contact_id for s in p.skipped]) == sorted(by_id)

    for h in p.create:
        c = by_id[h.contact_id]
        loc = h.start.astimezone(tz)
        assert h.end - h.start == rules.duration
        assert loc.minute % 15 == 0 and loc.second == 0 and loc.microsecond == 0
        assert _inside_a_window(h.start, h.end, rules, tz)
        # Elapsed time, not wall-clock: an aware local `now + horizon` would shift by the DST change.
        assert h.start >= now.astimezone(UTC) + rules.lead_time
        assert h.end <= now.astimezone(UTC) + rules.horizon
        assert loc.date() not in blocked
        for b in busy:
            assert not _overlap((h.start, h.end), (b.start, b.end), rules.buffer)
        for k in kept:
            assert not _overlap((h.start, h.end), (k.start, k.end), rules.buffer)
        for o in p.create:
            if o is not h:
                assert not _overlap((h.start, h.end), (o.start, o.end), rules.buffer)
        # never for ignored, snoozed or already-meeting contacts
        assert not c.ignore and not c.has_upcoming_meeting
        assert c.snoozed_until is None or c.snoozed_until <= now
        # one future hold per contact
        assert not any(k.contact_id == c.contact_id and k.end > now for k in kept)
        assert sum(1 for o in p.create if o.contact_id == c.contact_id) == 1
        assert h.cycle == c.last_touch_at and h.event_id == hold_event_id(c.contact_id, c.last_touch_at)
        assert h.event_id not in {e.event_id for e in existing}

    # limits: on every day/week that got a new hold, kept + new holds stay within the limit
    starts = [k.start for k in kept] + [h.start for h in p.create]
    days = [s.astimezone(tz).date() for s in starts]
    for h in p.create:
        d = h.start.astimezone(tz).date()
        assert days.count(d) <= rules.per_day
        assert sum(1 for x in days if _week(x) == _week(d)) <= rules.per_week

    # removals: exactly the future holds of contacts touched since their cycle, when configured
    def touched(h: ExistingHold) -> bool:
        return h.contact_last_touch_at is not None and (h.cycle is None or h.contact_last_touch_at > h.cycle)

    expected = [h for h in existing if rules.remove_when_touched and h.start > now and touched(h)]
    assert [r.hold for r in p.remove] == expected
    assert all(r.reason.startswith("touched on ") for r in p.remove)


@pytest.mark.slow  # hundreds of generated cases: the full tier
@SETTINGS
@given(scenarios())
def test_deterministic_and_replanning_adds_nothing(sc):
    cands, busy, blocked, existing, rules, tz, now = sc
    p1 = plan(cands, busy, blocked, existing, rules, tz, now)
    p2 = plan(list(cands), list(reversed(busy)), set(blocked), list(existing), rules, tz, now)
    assert p1 == p2
    again = existing + [ExistingHold(h.contact_id, h.event_id, h.start, h.end, h.cycle, h.cycle) for h in p1.create]
    p3 = plan(cands, busy, blocked, again, rules, tz, now)
    assert p3.create == []
    assert p3.remove == p1.remove
