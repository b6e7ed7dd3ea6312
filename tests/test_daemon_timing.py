"""The daemon's timing as a pure function: `decide(state, now)` on explicit days (DST switches included) and properties.

A small simulator walks `decide` from wake-up to wake-up and folds each action back in
the way the daemon does, so weeks of daemon life take milliseconds and nothing waits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.daemon.timing import (
    RESUME_DELAY,
    Action,
    Do,
    TimingState,
    after_cycle_failure,
    after_plan,
    after_sync,
    after_wake,
    backoff_delay,
    decide,
    next_plan_at,
    reconfigured,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SOURCES = ("ics:cal", "mbox:sent")

Outcome = Callable[[Action, datetime], Mapping[str, bool]]


def state(**overrides: Any) -> TimingState:
    base = TimingState(
        sync_every=timedelta(minutes=15), plan_at=time(7, 0), zone=UTC, started_at=START, sources=SOURCES
    )
    return replace(base, **overrides)


def all_ok(action: Action, now: datetime) -> Mapping[str, bool]:
    return {name: True for name in action.sources}


def simulate(
    timing: TimingState, until: datetime, outcome: Outcome = all_ok, changed: bool = False
) -> tuple[TimingState, list[tuple[datetime, Action]]]:
    """Walk decide → act → fold back in, from wake-up to wake-up, as the daemon's loop does."""
    now = timing.started_at
    done: list[tuple[datetime, Action]] = []
    for _ in range(100_000):
        decision = decide(timing, now)
        assert decision.wake_at >= now and decision.next_sync_at >= now
        if not decision.actions:
            if decision.wake_at > until:
                return timing, done
            assert decision.wake_at > now, "no action and no later wake-up: the loop would spin"
            now = decision.wake_at
            continue
        for action in decision.actions:
            done.append((now, action))
            if action.do is Do.PLAN:
                timing = after_plan(timing, action, now)
            else:
                timing = after_sync(timing, action, now, outcome(action, now), changed)
    raise AssertionError("the simulation did not reach its end")


def plans(done: list[tuple[datetime, Action]], reason: str = "daily") -> list[datetime]:
    return [at for at, action in done if action.do is Do.PLAN and action.reason == reason]


# --- the regular rhythm -----------------------------------------------------------------------


def test_first_sync_at_once_then_every_sync_every() -> None:
    first = decide(state(), START)
    assert first.actions == (Action(Do.SYNC, SOURCES, "scheduled"),)
    _, done = simulate(state(), START + timedelta(hours=1, minutes=1))
    syncs = [at for at, action in done if action.do is Do.SYNC]
    assert syncs == [START + timedelta(minutes=15 * n) for n in range(5)]
    after = after_sync(state(), first.actions[0], START, {name: True for name in SOURCES}, changed=False)
    later = decide(after, START + timedelta(minutes=1))
    assert later.actions == () and later.next_sync_at == START + timedelta(minutes=15)
    assert later.wake_at == START + timedelta(minutes=15)


def test_a_sync_that_changed_something_is_followed_by_one_plan_and_a_quiet_one_by_none() -> None:
    _, quiet = simulate(state(), START + timedelta(hours=1))
    assert plans(quiet, "after a sync that changed something") == []
    _, busy = simulate(state(), START + timedelta(hours=1), changed=True)
    after_change = plans(busy, "after a sync that changed something")
    assert after_change == [START + timedelta(minutes=15 * n) for n in range(5)]
    # the plan always comes after its sync, at the same instant
    for at in after_change:
        kinds = [action.do for when, action in busy if when == at]
        assert kinds == [Do.SYNC, Do.PLAN]


def test_the_clock_set_back_syncs_at_once_instead_of_waiting_for_the_old_time() -> None:
    synced = after_sync(state(), Action(Do.SYNC, SOURCES), START, {}, changed=False)
    back = START - timedelta(hours=2)
    assert decide(synced, back).actions[0].do is Do.SYNC


# --- plan_at in the user's zone, across DST ------------------------------------------------------


def test_next_plan_at_keeps_local_wall_time_across_berlin_switches() -> None:
    # spring forward: Sunday 29 March 2026, 02:00 CET → 03:00 CEST
    saturday = next_plan_at(time(7), BERLIN, datetime(2026, 3, 28, 0, 0, tzinfo=UTC))
    sunday = next_plan_at(time(7), BERLIN, saturday)
    assert saturday.astimezone(UTC) == datetime(2026, 3, 28, 6, 0, tzinfo=UTC)  # 07:00 CET
    assert sunday.astimezone(UTC) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)  # 07:00 CEST
    assert sunday.astimezone(BERLIN).strftime("%H:%M") == "07:00"
    assert sunday - saturday == timedelta(hours=23)
    # fall back: Sunday 25 October 2026, 03:00 CEST → 02:00 CET
    saturday = next_plan_at(time(7), BERLIN, datetime(2026, 10, 24, 0, 0, tzinfo=UTC))
    sunday = next_plan_at(time(7), BERLIN, saturday)
    assert saturday.astimezone(UTC) == datetime(2026, 10, 24, 5, 0, tzinfo=UTC)
    assert sunday.astimezone(UTC) == datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
    assert sunday - saturday == timedelta(hours=25)


def test_next_plan_at_keeps_local_wall_time_across_new_york_switches() -> None:
    # spring forward: Sunday 8 March 2026; fall back: Sunday 1 November 2026
    saturday = next_plan_at(time(7), NEW_YORK, datetime(2026, 3, 7, 0, 0, tzinfo=UTC))
    sunday = next_plan_at(time(7), NEW_YORK, saturday)
    assert saturday.astimezone(UTC) == datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    assert sunday.astimezone(UTC) == datetime(2026, 3, 8, 11, 0, tzinfo=UTC)
    november = next_plan_at(time(7), NEW_YORK, datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    assert november.astimezone(UTC) == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_plan_at_inside_the_spring_gap_or_the_autumn_fold_fires_once_that_day() -> None:
    gap = next_plan_at(time(2, 30), BERLIN, datetime(2026, 3, 29, 0, 0, tzinfo=UTC))
    assert gap.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST, the hour that exists
    fold = next_plan_at(time(2, 30), BERLIN, datetime(2026, 10, 25, 0, 0, tzinfo=UTC))
    assert fold.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30
    assert next_plan_at(time(2, 30), BERLIN, fold).astimezone(UTC) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_daemon_plans_daily_at_seven_local_through_a_berlin_and_a_new_york_switch_week() -> None:
    for zone, start in (
        (BERLIN, datetime(2026, 3, 26, 12, 0, tzinfo=UTC)),
        (BERLIN, datetime(2026, 10, 22, 12, 0, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 3, 5, 12, 0, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 10, 29, 12, 0, tzinfo=UTC)),
    ):
        _, done = simulate(state(zone=zone, started_at=start), start + timedelta(days=7))
        daily = plans(done)
        assert len(daily) == 7, (zone, daily)
        assert {at.astimezone(zone).strftime("%H:%M") for at in daily} == {"07:00"}, (zone, daily)
        assert len({at.astimezone(zone).date() for at in daily}) == 7


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    zone=st.sampled_from([BERLIN, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kolkata"), UTC]),
    plan_minute=st.integers(0, 24 * 60 - 1),
    start=st.datetimes(datetime(2026, 1, 1), datetime(2027, 1, 1), timezones=st.just(UTC)),
    every_minutes=st.integers(10, 240),
)
def test_one_daily_plan_per_local_day_exactly_at_plan_at(zone, plan_minute, start, every_minutes) -> None:
    plan_at = time(plan_minute // 60, plan_minute % 60)
    timing = state(zone=zone, started_at=start, plan_at=plan_at, sync_every=timedelta(minutes=every_minutes))
    _, done = simulate(timing, start + timedelta(days=4))
    expected, at = [], start
    while (at := next_plan_at(plan_at, zone, at)) <= start + timedelta(days=4):
        expected.append(at)
    assert plans(done) == expected  # every occurrence of plan_at, exactly then, once
    days = [at.astimezone(zone).date() for at in expected]
    assert len(days) == len(set(days)) and 3 <= len(days) <= 5


# --- failures and backoff -------------------------------------------------------------------------


def test_backoff_grows_to_a_cap() -> None:
    every = timedelta(minutes=15)
    delays = [backoff_delay(n, every) for n in range(1, 10)]
    assert delays[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert delays == sorted(delays)
    assert delays[-1] == timedelta(hours=1)
    assert backoff_delay(1000, every) == timedelta(hours=1)
    short = [backoff_delay(n, timedelta(seconds=2)) for n in range(1, 9)]
    assert [d.total_seconds() for d in short] == [2, 4, 8, 16, 32, 64, 64, 64]
    assert backoff_delay(20, timedelta(hours=6)) == timedelta(hours=6)  # the cap is never below sync_every


def test_a_failing_source_is_retried_alone_before_the_regular_sync_with_growing_delays() -> None:
    def ics_fails(action: Action, now: datetime) -> Mapping[str, bool]:
        return {name: name != "ics:cal" for name in action.sources}

    timing = state(sync_every=timedelta(hours=1))
    final, done = simulate(timing, START + timedelta(hours=3), outcome=ics_fails)
    retries = [(at, action.sources) for at, action in done if action.do is Do.RETRY]
    assert all(sources == ("ics:cal",) for _, sources in retries)
    gaps = [b - a for (a, _), (b, _) in zip([(START, ())] + retries, retries, strict=False)]
    assert gaps[:4] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    regular = [(at, action.sources) for at, action in done if action.do is Do.SYNC]
    assert [at for at, _ in regular] == [START + timedelta(hours=n) for n in range(4)]
    # a regular sync that finds the source backing off leaves it to its own retry
    assert all(sources in (SOURCES, ("mbox:sent",)) for _, sources in regular)
    assert final.failures["ics:cal"] > 5 and "mbox:sent" not in final.failures
    assert final.retry_at["ics:cal"] - START <= timedelta(hours=3) + timedelta(hours=1)


def test_when_every_source_backs_off_the_regular_sync_runs_nothing() -> None:
    now = START + timedelta(hours=1)
    timing = state(
        last_sync_at=START, retry_at={name: now + timedelta(minutes=5) for name in SOURCES}, failures={"ics:cal": 3}
    )
    assert decide(timing, now).actions == (Action(Do.SYNC, (), "scheduled"),)
    assert decide(timing, now).next_sync_at == now


def test_a_recovered_source_leaves_backoff() -> None:
    failed = after_sync(state(), Action(Do.SYNC, SOURCES), START, {"ics:cal": False, "mbox:sent": True}, False)
    assert failed.failures == {"ics:cal": 1} and failed.retry_at == {"ics:cal": START + timedelta(seconds=30)}
    retry = decide(failed, START + timedelta(seconds=30))
    assert retry.actions == (Action(Do.RETRY, ("ics:cal",), "retry"),)
    recovered = after_sync(failed, retry.actions[0], START + timedelta(seconds=30), {"ics:cal": True}, False)
    assert recovered.failures == {} and recovered.retry_at == {}
    assert recovered.last_sync_at == START  # a retry does not move the regular rhythm


def test_a_failed_cycle_is_retried_whole_with_growing_delays_and_the_rhythm_goes_on() -> None:
    first = Action(Do.SYNC, SOURCES, "scheduled")
    timing = after_cycle_failure(state(), first, START)
    assert timing.cycle_retry_at == START + timedelta(seconds=30)
    retry = decide(timing, START + timedelta(seconds=30))
    assert retry.actions == (Action(Do.RETRY, SOURCES, "retry"),)
    timing = after_cycle_failure(timing, retry.actions[0], START + timedelta(seconds=30))
    assert timing.cycle_retry_at == START + timedelta(seconds=90) and timing.last_sync_at == START
    ok = after_sync(timing, retry.actions[0], START + timedelta(seconds=90), {name: True for name in SOURCES}, False)
    assert ok.cycle_failures == 0 and ok.cycle_retry_at is None
    assert decide(ok, START + timedelta(minutes=15)).actions[0].do is Do.SYNC


# --- suspend/resume and reloads -----------------------------------------------------------------


def test_after_a_wake_up_it_syncs_soon_and_plans_only_after_that_sync() -> None:
    synced = after_sync(state(), Action(Do.SYNC, SOURCES), START, {name: True for name in SOURCES}, False)
    woke = START + timedelta(hours=20)  # slept through 07:00
    timing = after_wake(synced, woke)
    first = decide(timing, woke)
    assert first.actions == () and first.wake_at == woke + RESUME_DELAY  # the network gets a moment
    sync = decide(timing, woke + RESUME_DELAY)
    assert sync.actions == (Action(Do.SYNC, SOURCES, "after waking up"),)
    timing = after_sync(timing, sync.actions[0], woke + RESUME_DELAY, {name: True for name in SOURCES}, False)
    assert timing.woke_at is None
    assert decide(timing, woke + RESUME_DELAY).actions == (Action(Do.PLAN, reason="daily"),)


def test_a_reloaded_config_syncs_at_once_keeps_backoff_of_kept_sources_and_drops_the_rest() -> None:
    timing = state(
        last_sync_at=START,
        failures={"ics:cal": 2, "mbox:sent": 1},
        retry_at={"ics:cal": START + timedelta(minutes=1), "mbox:sent": START + timedelta(minutes=1)},
    )
    sources = ("ics:cal", "maildir:new")
    reloaded = reconfigured(timing, timedelta(minutes=5), time(8, 30), BERLIN, sources)
    assert reloaded.failures == {"ics:cal": 2} and set(reloaded.retry_at) == {"ics:cal"}
    decision = decide(reloaded, START + timedelta(seconds=1))
    assert decision.actions == (Action(Do.SYNC, ("maildir:new",), "scheduled"),)
    assert next_plan_at(reloaded.plan_at, reloaded.zone, START).astimezone(BERLIN).strftime("%H:%M") == "08:30"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    offsets=st.lists(st.integers(0, 3 * 24 * 3600), min_size=1, max_size=6),
    failures=st.dictionaries(st.sampled_from(SOURCES), st.integers(1, 12), max_size=2),
    pending=st.booleans(),
    now_offset=st.integers(0, 4 * 24 * 3600),
)
def test_every_action_moves_its_deadline_past_now(offsets, failures, pending, now_offset) -> None:
    """The loop acts until nothing is due: each fold-back must leave the same action not due at the same instant."""
    at = [START + timedelta(seconds=offset) for offset in offsets]
    timing = state(
        last_sync_at=at[0],
        last_daily_plan_at=at[-1] if len(at) > 1 else None,
        failures=failures,
        retry_at={name: at[min(index, len(at) - 1)] for index, name in enumerate(failures)},
        plan_pending=pending,
    )
    now = START + timedelta(seconds=now_offset)
    for _ in range(6):
        decision = decide(timing, now)
        if not decision.actions:
            assert decision.wake_at > now
            return
        for action in decision.actions:
            if action.do is Do.PLAN:
                timing = after_plan(timing, action, now)
            else:
                timing = after_sync(timing, action, now, {name: False for name in action.sources}, False)
    raise AssertionError("decide kept asking for actions at one instant")
