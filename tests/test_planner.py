"""Explicit cases for the pure hold planner (DESIGN.md: Holds, Planner)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, UTC

import pytest
from zoneinfo import ZoneInfo

from syncd.planner import (
    Candidate,
    ExistingHold,
    HoldRules,
    Interval,
    hold_event_id,
    parse_window,
    plan,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = UTC
M = timedelta(minutes=1)


def rules(
    windows=("Tue-Thu 08:30-10:00",),
    duration=30,
    lead_time=timedelta(days=1),
    horizon=timedelta(days=14),
    buffer=15,
    per_day=1,
    per_week=1,
    remove_when_touched=True,
) -> HoldRules:
    return HoldRules(
        windows=tuple(parse_window(w) for w in windows),
        duration=timedelta(minutes=duration),
        lead_time=lead_time,
        horizon=horizon,
        buffer=timedelta(minutes=buffer),
        per_day=per_day,
        per_week=per_week,
        remove_when_touched=remove_when_touched,
    )


def cand(cid: str, last: datetime | None = None, **kw) -> Candidate:
    return Candidate(contact_id=cid, name=cid.title(), last_touch_at=last, cadence_days=30, **kw)


def local(y, mo, d, h=0, mi=0, tz=BERLIN, fold=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz, fold=fold)


def held(cid, start, minutes=30, cycle=None, last=None, event_id=None) -> ExistingHold:
    return ExistingHold(
        contact_id=cid,
        event_id=event_id or hold_event_id(cid, cycle),
        start=start,
        end=start + timedelta(minutes=minutes),
        cycle=cycle,
        contact_last_touch_at=last,
    )


def run(cands, r, now, tz=BERLIN, busy=(), blocked=(), existing=()):
    return plan(list(cands), list(busy), set(blocked), list(existing), r, tz, now)


# Monday 2026-06-01 09:00 in Berlin: a plain week, no DST anywhere near.
NOW = local(2026, 6, 1, 9)


# --------------------------------------------------------------------------- hold_event_id


def test_hold_event_id_alphabet_length_determinism():
    cycle = datetime(2026, 5, 1, 10, tzinfo=UTC)
    ids = {hold_event_id(f"c{i}", cycle) for i in range(200)} | {hold_event_id("c", None)}
    assert len(ids) == 201
    for i in ids:
        assert re.fullmatch(r"[a-v0-9]{5,1024}", i)
        assert 20 <= len(i) <= 32
    assert hold_event_id("ada", cycle) == hold_event_id("ada", cycle)
    # the same instant in another zone is the same cycle
    assert hold_event_id("ada", cycle) == hold_event_id("ada", cycle.astimezone(BERLIN))
    assert hold_event_id("ada", cycle) != hold_event_id("ada", cycle + timedelta(seconds=1))
    assert hold_event_id("ada", None) != hold_event_id("ada", cycle)
    assert hold_event_id("ada", None) == hold_event_id("ada", None)


def test_hold_event_id_rejects_naive_cycle():
    with pytest.raises(ValueError):
        hold_event_id("ada", datetime(2026, 5, 1))


# --------------------------------------------------------------------------- basics


def test_earliest_slot_in_window_and_fields():
    last = NOW - timedelta(days=45)
    p = run([cand("ada", last)], rules(), NOW)
    assert p.remove == [] and p.skipped == []
    [h] = p.create
    assert h.start == local(2026, 6, 2, 9)  # Tue; lead time pushes past Mon 09:00 → Tue 09:00
    assert h.end == local(2026, 6, 2, 9, 30)
    assert h.cycle == last
    assert h.event_id == hold_event_id("ada", last)
    assert h.name == "Ada" and h.reason


def test_window_start_used_when_lead_allows():
    p = run([cand("ada")], rules(lead_time=timedelta(hours=1)), local(2026, 6, 1, 18))
    assert p.create[0].start == local(2026, 6, 2, 8, 30)


def test_hold_never_spills_out_of_window():
    r = rules(windows=("Tue 08:30-09:15",), duration=45, per_week=5, per_day=5, buffer=0)
    p = run([cand("a"), cand("b")], r, NOW)
    assert [h.start for h in p.create] == [local(2026, 6, 9, 8, 30)]  # 2nd Tue; 1st is before lead
    assert p.skipped[0].contact_id == "b"


def test_window_off_grid_start_rounds_up_to_grid():
    r = rules(windows=("Tue 08:10-10:00",), lead_time=timedelta(0))
    p = run([cand("a")], r, NOW)
    assert p.create[0].start == local(2026, 6, 2, 8, 15)


def test_grid_is_local_quarter_hours_even_in_half_hour_zones():
    kolkata = ZoneInfo("Asia/Kolkata")
    now = datetime(2026, 6, 1, 9, 7, tzinfo=kolkata)
    p = run([cand("a")], rules(lead_time=timedelta(hours=24)), now, tz=kolkata)
    # earliest is Tue 09:07 → next grid point 09:15 local
    assert p.create[0].start == datetime(2026, 6, 2, 9, 15, tzinfo=kolkata)


def test_lead_time_is_respected_exactly():
    now = local(2026, 6, 1, 8, 30)  # Monday
    p = run([cand("a")], rules(lead_time=timedelta(days=1)), now)
    assert p.create[0].start == local(2026, 6, 2, 8, 30)  # exactly now + lead is allowed
    p = run([cand("a")], rules(lead_time=timedelta(days=1, minutes=1)), now)
    assert p.create[0].start == local(2026, 6, 2, 8, 45)


def test_horizon_boundary_end_must_fit():
    now = local(2026, 6, 1, 9)  # Monday; the only window is Tue 08:30-10:00
    r = rules(windows=("Tue 08:30-10:00",), lead_time=timedelta(0), horizon=timedelta(days=1, minutes=-30))
    # now + horizon = Tue 08:30: nothing ends by then
    p = run([cand("a")], r, now)
    assert p.create == [] and "within" in p.skipped[0].reason
    r = rules(windows=("Tue 08:30-10:00",), lead_time=timedelta(0), horizon=timedelta(days=1))
    p = run([cand("a")], r, now)  # now + horizon = Tue 09:00: the 08:30-09:00 hold ends exactly there
    assert p.create[0].start == local(2026, 6, 2, 8, 30)


def test_nothing_fits_reason():
    p = run([cand("a")], rules(windows=("Sat 08:00-09:00",), horizon=timedelta(days=4)), NOW)
    assert p.create == []
    assert p.skipped[0].reason == "no free slot in the windows within 4d"


def test_buffer_around_busy():
    busy = [Interval(local(2026, 6, 2, 8, 0), local(2026, 6, 2, 9, 0))]
    r = rules(lead_time=timedelta(0), buffer=15)
    p = run([cand("a")], r, NOW, busy=busy)
    assert p.create[0].start == local(2026, 6, 2, 9, 15)
    r = rules(lead_time=timedelta(0), buffer=0)
    p = run([cand("a")], r, NOW, busy=busy)
    assert p.create[0].start == local(2026, 6, 2, 9, 0)
    # the buffer applies before a busy interval too: 09:00-09:10 blocks 08:45-09:25
    busy = [Interval(local(2026, 6, 2, 9, 0), local(2026, 6, 2, 9, 10))]
    p = run([cand("a")], rules(lead_time=timedelta(0), buffer=15), NOW, busy=busy)
    assert p.create[0].start == local(2026, 6, 2, 9, 30)
    # 09:10-09:20 blocks 08:55-09:35: nothing left on Tuesday (09:30-10:00 starts too early)
    busy = [Interval(local(2026, 6, 2, 9, 10), local(2026, 6, 2, 9, 20))]
    p = run([cand("a")], rules(lead_time=timedelta(0), buffer=15), NOW, busy=busy)
    assert p.create[0].start == local(2026, 6, 3, 8, 30)


def test_busy_in_other_zones_and_touching_is_fine():
    busy = [Interval(datetime(2026, 6, 2, 6, 0, tzinfo=UTC), datetime(2026, 6, 2, 6, 15, tzinfo=UTC))]
    # 06:15Z = 08:15 Berlin, + 15 min buffer = 08:30: the 08:30 slot just touches
    p = run([cand("a")], rules(lead_time=timedelta(0), buffer=15), NOW, busy=busy)
    assert p.create[0].start == local(2026, 6, 2, 8, 30)


def test_planned_holds_are_busy_with_buffer():
    r = rules(lead_time=timedelta(0), per_day=5, per_week=5, buffer=15)
    p = run([cand("a"), cand("b"), cand("c")], r, NOW)
    starts = [h.start for h in p.create]
    assert starts == [local(2026, 6, 2, 8, 30), local(2026, 6, 2, 9, 15), local(2026, 6, 3, 8, 30)]


def test_per_day():
    r = rules(windows=("Tue-Thu 08:30-10:00", "Tue-Thu 12:00-13:30"), per_day=1, per_week=5, lead_time=timedelta(0))
    p = run([cand("a"), cand("b"), cand("c")], r, NOW)
    assert [h.start.date() for h in p.create] == [date(2026, 6, 2), date(2026, 6, 3), date(2026, 6, 4)]


def test_per_week_counts_existing_holds_in_iso_week_including_past():
    # A hold already happened on Monday of this week (before now): the week is full.
    past = held("old", local(2026, 6, 1, 8), cycle=None)
    r = rules(per_week=1)
    p = run([cand("a")], r, NOW, existing=[past])
    assert p.create[0].start == local(2026, 6, 9, 8, 30)  # next ISO week
    # The week's count is per ISO week Mon-Sun in the user's zone: Sunday belongs to the week before.
    sunday = held("old", local(2026, 6, 7, 20), cycle=None)
    p = run([cand("a")], r, NOW, existing=[sunday])
    assert p.create[0].start == local(2026, 6, 9, 8, 30)
    # per_week 2 with one existing → one more in this week
    p = run([cand("a"), cand("b")], rules(per_week=2), NOW, existing=[past])
    assert [h.start for h in p.create] == [local(2026, 6, 2, 9), local(2026, 6, 9, 8, 30)]


def test_per_week_reason():
    r = rules(per_week=1, horizon=timedelta(days=5))
    p = run([cand("a"), cand("b")], r, NOW)
    assert len(p.create) == 1
    assert p.skipped[0].contact_id == "b"
    assert "per-week limit of 1" in p.skipped[0].reason


def test_blocked_days():
    p = run([cand("a")], rules(lead_time=timedelta(0)), NOW, blocked={date(2026, 6, 2), date(2026, 6, 3)})
    assert p.create[0].start == local(2026, 6, 4, 8, 30)


def test_one_future_hold_per_contact():
    future = held("a", local(2026, 6, 10, 9), cycle=None)
    p = run([cand("a"), cand("b")], rules(), NOW, existing=[future])
    assert [h.contact_id for h in p.create] == ["b"]
    assert p.skipped[0].contact_id == "a" and "already has a hold" in p.skipped[0].reason
    # duplicates in the candidate list get one hold
    p = run([cand("a"), cand("a")], rules(per_week=5), NOW)
    assert len(p.create) == 1 and p.skipped[0].contact_id == "a"


def test_past_hold_of_same_cycle_is_not_rebooked_but_new_cycle_is():
    last = NOW - timedelta(days=60)
    past = held("a", local(2026, 5, 20, 9), cycle=last, last=last)
    p = run([cand("a", last)], rules(), NOW, existing=[past])
    assert p.create == [] and p.skipped[0].contact_id == "a"
    older = held("a", local(2026, 5, 20, 9), cycle=last - timedelta(days=40), last=last)
    p = run([cand("a", last)], rules(), NOW, existing=[older])
    assert len(p.create) == 1 and p.create[0].event_id != older.event_id


@pytest.mark.parametrize(
    "kw, fragment",
    [
        ({"ignore": True}, "ignored"),
        ({"snoozed_until": NOW + timedelta(days=3)}, "snoozed until 2026-06-04"),
        ({"has_upcoming_meeting": True}, "meeting"),
    ],
)
def test_skips(kw, fragment):
    p = run([cand("a", **kw), cand("b")], rules(), NOW)
    assert [h.contact_id for h in p.create] == ["b"]
    assert p.skipped[0].contact_id == "a" and fragment in p.skipped[0].reason
    assert p.create[0].start == local(2026, 6, 2, 9)  # the skipped one took nothing


def test_expired_snooze_books():
    p = run([cand("a", snoozed_until=NOW - timedelta(minutes=1))], rules(), NOW)
    assert len(p.create) == 1


def test_order_is_priority():
    p = run([cand("z"), cand("a")], rules(per_week=1), NOW)
    assert p.create[0].contact_id == "z"


# --------------------------------------------------------------------------- removals


def test_removal_on_touch():
    cycle = NOW - timedelta(days=50)
    touched = local(2026, 5, 31, 15)
    h = held("a", local(2026, 6, 3, 9), cycle=cycle, last=touched)
    p = run([], rules(), NOW, existing=[h])
    assert len(p.remove) == 1
    assert p.remove[0].hold == h and p.remove[0].reason == "touched on 2026-05-31"
    # a never-touched contact's hold (cycle None) is removed on the first touch
    h2 = held("b", local(2026, 6, 3, 12), cycle=None, last=touched)
    assert len(run([], rules(), NOW, existing=[h2]).remove) == 1


def test_no_removal_when_not_touched_since_cycle():
    cycle = NOW - timedelta(days=50)
    for last in (cycle, None, cycle - timedelta(days=1)):
        h = held("a", local(2026, 6, 3, 9), cycle=cycle, last=last)
        assert run([], rules(), NOW, existing=[h]).remove == []


def test_remove_when_touched_false_keeps_hold():
    h = held("a", local(2026, 6, 3, 9), cycle=None, last=NOW - timedelta(days=1))
    p = run([cand("a")], rules(remove_when_touched=False), NOW, existing=[h])
    assert p.remove == []
    assert p.create == []  # the kept hold is still the contact's one future hold


def test_past_holds_never_removed():
    h = held("a", NOW - timedelta(hours=2), cycle=None, last=NOW - timedelta(hours=1))
    assert run([], rules(), NOW, existing=[h]).remove == []


def test_removed_holds_free_their_slot_and_count():
    # A hold on Tue 09:00 is removed: its slot and the week's quota are free for others.
    h = held("a", local(2026, 6, 2, 9), cycle=None, last=NOW - timedelta(hours=1))
    p = run([cand("b")], rules(), NOW, existing=[h])
    assert len(p.remove) == 1
    assert p.create[0].start == local(2026, 6, 2, 9)


def test_kept_existing_holds_are_busy():
    h = held("x", local(2026, 6, 2, 8, 30), cycle=None)
    p = run([cand("b")], rules(per_week=5, per_day=5), NOW, existing=[h])
    assert p.create[0].start == local(2026, 6, 2, 9, 15)  # 08:30-09:00 + 15 min buffer


# --------------------------------------------------------------------------- determinism / idempotence


def test_deterministic_and_replan_adds_nothing():
    last = NOW - timedelta(days=90)
    cands = [cand(f"c{i}", last - timedelta(days=i)) for i in range(6)]
    r = rules(windows=("Tue-Thu 08:30-10:00", "Mon,Fri 12:00-13:00"), per_day=2, per_week=3)
    busy = [Interval(local(2026, 6, 2, 8), local(2026, 6, 2, 9))]
    p1 = run(cands, r, NOW, busy=busy)
    p2 = run(cands, r, NOW, busy=busy)
    assert p1 == p2 and len(p1.create) >= 3
    again = [ExistingHold(h.contact_id, h.event_id, h.start, h.end, h.cycle, h.cycle) for h in p1.create]
    p3 = run(cands, r, NOW, busy=busy, existing=again)
    assert p3.create == [] and p3.remove == []


def test_naive_now_rejected():
    with pytest.raises(ValueError):
        run([cand("a")], rules(), datetime(2026, 6, 1, 9))


def test_hold_in_progress_counts_as_the_contacts_hold():
    running = held("a", NOW - timedelta(minutes=10), cycle=None)
    p = run([cand("a")], rules(), NOW, existing=[running])
    assert p.create == [] and "already has a hold" in p.skipped[0].reason


def test_per_day_reason():
    r = rules(per_day=1, per_week=5, horizon=timedelta(days=5))
    p = run([cand(f"c{i}") for i in range(4)], r, NOW)
    assert len(p.create) == 3  # Tue, Wed, Thu
    assert p.skipped == [p.skipped[0]] and "per-day limit of 1" in p.skipped[0].reason
