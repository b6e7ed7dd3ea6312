"""The daemon's timing decisions as one pure function: `decide(state, now)` says what to do now and when to wake.

Everything the daemon needs to know about time lives in `TimingState`, a plain frozen
value; the loop asks `decide`, does what it says and folds the outcome back in with the
`after_*` functions. No clock is read here, so tests drive any day (DST switches
included) without waiting. Times are aware datetimes; `plan_at` is a wall-clock time in
the user's zone, found again each day, so 07:00 stays 07:00 local across a DST change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import Enum

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
RESUME_DELAY = timedelta(seconds=5)  # after a suspend/resume, give the network a moment before syncing


class Do(Enum):
    SYNC = "sync"  # the regular sync: every source not backing off
    RETRY = "retry"  # only what failed and whose backoff is over, before the regular sync
    PLAN = "plan"  # book/remove holds


@dataclass(frozen=True)
class Action:
    """One thing to do now; `reason` is logged, and DAILY marks the once-a-day plan at `plan_at`."""

    do: Do
    sources: tuple[str, ...] = ()  # SYNC/RETRY: the sources to run; empty SYNC with sources configured: all back off
    reason: str = ""


DAILY = "daily"


@dataclass(frozen=True)
class Decision:
    actions: tuple[Action, ...]
    wake_at: datetime  # when something is next due (the loop may wake earlier to look around)
    next_sync_at: datetime  # what `status` shows as the next sync


@dataclass(frozen=True)
class TimingState:
    """What the daemon remembers about time; `started_at` anchors the first daily plan."""

    sync_every: timedelta
    plan_at: time
    zone: tzinfo
    started_at: datetime
    sources: tuple[str, ...] = ()
    last_sync_at: datetime | None = None  # the last regular sync (None: sync at once)
    last_daily_plan_at: datetime | None = None
    plan_pending: bool = False  # a sync changed something: plan after it
    woke_at: datetime | None = None  # a suspend/resume or clock change was noticed then
    failures: Mapping[str, int] = field(default_factory=dict)
    retry_at: Mapping[str, datetime] = field(default_factory=dict)  # per-source backoff deadlines
    cycle_failures: int = 0  # whole cycles that failed (the store, a contacts file)
    cycle_retry_at: datetime | None = None


def backoff_delay(failures: int, sync_every: timedelta) -> timedelta:
    """Delay before retrying what failed `failures` times in a row.

    Doubles from min(sync_every, 30s) up to a cap of 32 × sync_every, at most an hour
    (never below sync_every): 15m → 30s, 1m, 2m, … 32m, 1h; 2s → 2s, 4s, … 64s.
    """
    base = min(sync_every, RETRY_BASE)
    cap = max(sync_every, min(RETRY_CAP, sync_every * 32))
    return min(base * (2 ** max(0, min(failures - 1, 30))), cap)


def next_plan_at(plan_at: time, zone: tzinfo, after: datetime) -> datetime:
    """The first `plan_at` wall-clock time in `zone` strictly after `after`, in UTC.

    Built from the local date each day, so it follows DST. A time skipped by a spring
    switch (02:30 in Berlin) resolves with the offset before the switch (03:30 local); a
    time that occurs twice in the autumn fires at its first occurrence only.
    """
    after = after.astimezone(UTC)  # aware datetimes sharing a tzinfo compare by wall time: compare in UTC
    local_day: date = after.astimezone(zone).date()
    for offset in range(3):
        day = local_day + timedelta(days=offset)
        candidate = datetime.combine(day, plan_at, tzinfo=zone).astimezone(UTC)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: one of three consecutive days has plan_at after `after`")


def regular_sync_at(state: TimingState, now: datetime) -> datetime:
    """When the regular sync is due: at once on start, `sync_every` after the last, soon after a wake-up."""
    if state.woke_at is not None:
        return state.woke_at + RESUME_DELAY
    if state.last_sync_at is None or state.last_sync_at > now:  # never synced, or the clock went back
        return now
    return state.last_sync_at + state.sync_every


def decide(state: TimingState, now: datetime) -> Decision:
    """What the daemon does at `now`, and when it should next look."""
    regular = regular_sync_at(state, now)
    daily = next_plan_at(state.plan_at, state.zone, state.last_daily_plan_at or state.started_at)
    backing_off = {name for name, at in state.retry_at.items() if at > now}
    retries = [at for at in state.retry_at.values() if at > now]
    if state.cycle_retry_at is not None and state.cycle_retry_at > now:
        retries.append(state.cycle_retry_at)
    next_sync = min([regular, *retries])

    actions: list[Action] = []
    if regular <= now:
        reason = "after waking up" if state.woke_at is not None else "scheduled"
        actions.append(Action(Do.SYNC, tuple(name for name in state.sources if name not in backing_off), reason))
    elif state.cycle_retry_at is not None and state.cycle_retry_at <= now:
        actions.append(Action(Do.RETRY, tuple(name for name in state.sources if name not in backing_off), "retry"))
    else:
        due = tuple(name for name in state.sources if name in state.retry_at and name not in backing_off)
        if due:
            actions.append(Action(Do.RETRY, due, "retry"))
    if actions:  # a plan waits for the sync: it may change what to plan
        return Decision(tuple(actions), now, now)
    if state.woke_at is not None:  # after a wake-up, plan from fresh data only
        return Decision((), next_sync, next_sync)
    if state.plan_pending:
        return Decision((Action(Do.PLAN, reason="after a sync that changed something"),), now, next_sync)
    if daily <= now:
        return Decision((Action(Do.PLAN, reason=DAILY),), now, next_sync)
    return Decision((), min(next_sync, daily), next_sync)


def after_sync(
    state: TimingState, action: Action, now: datetime, results: Mapping[str, bool], changed: bool
) -> TimingState:
    """Fold a finished sync or retry in: per-source backoff, the regular rhythm, a plan if data changed."""
    failures = dict(state.failures)
    retry_at = dict(state.retry_at)
    for name, ok in results.items():
        if ok:
            failures.pop(name, None)
            retry_at.pop(name, None)
        else:
            failures[name] = failures.get(name, 0) + 1
            retry_at[name] = now + backoff_delay(failures[name], state.sync_every)
    regular = action.do is Do.SYNC
    return replace(
        state,
        last_sync_at=now if regular else state.last_sync_at,
        woke_at=None if regular else state.woke_at,
        plan_pending=state.plan_pending or changed,
        failures=failures,
        retry_at=retry_at,
        cycle_failures=0,
        cycle_retry_at=None,
    )


def after_cycle_failure(state: TimingState, action: Action, now: datetime) -> TimingState:
    """A whole cycle failed (the store, a contacts file): retry it with a growing delay; the rhythm goes on."""
    count = state.cycle_failures + 1
    regular = action.do is Do.SYNC
    return replace(
        state,
        last_sync_at=now if regular else state.last_sync_at,
        woke_at=None if regular else state.woke_at,
        cycle_failures=count,
        cycle_retry_at=now + backoff_delay(count, state.sync_every),
    )


def after_skipped_sync(state: TimingState, action: Action, now: datetime) -> TimingState:
    """The regular sync did not run (every source backing off, or another process syncing): wait a period."""
    if action.do is not Do.SYNC:
        return state
    return replace(state, last_sync_at=now, woke_at=None)


def after_plan(state: TimingState, action: Action, now: datetime) -> TimingState:
    """Planning done (or failed; it is retried on the next occasion, not in a loop)."""
    daily = (
        action.reason == DAILY
        or next_plan_at(state.plan_at, state.zone, state.last_daily_plan_at or state.started_at) <= now
    )
    return replace(state, plan_pending=False, last_daily_plan_at=now if daily else state.last_daily_plan_at)


def after_wake(state: TimingState, now: datetime) -> TimingState:
    """The wall clock jumped (suspend/resume, a clock change): sync soon, and plan only after that sync."""
    return replace(state, woke_at=now)


def reconfigured(
    state: TimingState, sync_every: timedelta, plan_at: time, zone: tzinfo, sources: tuple[str, ...]
) -> TimingState:
    """A reloaded config: new rhythm and sources, backoff kept for the sources that remain, a sync at once."""
    return replace(
        state,
        sync_every=sync_every,
        plan_at=plan_at,
        zone=zone,
        sources=sources,
        last_sync_at=None,
        failures={name: count for name, count in state.failures.items() if name in sources},
        retry_at={name: at for name, at in state.retry_at.items() if name in sources},
    )
