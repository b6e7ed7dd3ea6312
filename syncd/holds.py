"""The hold lifecycle, carried out: reconcile the store with the sink, plan, then apply.

:mod:`syncd.lifecycle` decides, :mod:`syncd.holds_store` holds the SQL; this module
reads what both need and applies the decisions.  Writes go to the store before the sink
("pending", "removed"), and every state change is its own transaction, so a crash
between the two is repaired on the next run instead of booking twice or resurrecting a
removed hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from syncd import holds_store
from syncd.cold import ContactStatus, cold_list
from syncd.config import Config
from syncd.errors import UsageError
from syncd.contacts_store import contact_name, set_snooze, upcoming_meeting_contacts
from syncd.lifecycle import (
    ALL_STATES,
    BOOKED,
    DELETED,
    PAST,
    PENDING,
    REMOVED,
    Adopt,
    Change,
    Close,
    Confirm,
    Forget,
    Move,
    RemoveAgain,
    StoredHold,
    busy_from_meetings,
    candidates,
    classify,
    close,
    existing_holds,
    last_touch_at,
    rest_from,
)
from syncd.hold_outcome import HoldOutcome, hold_text
from syncd.intervals import Interval
from syncd.rules import touch_rules
from syncd.planner import ExistingHold, HoldRules, NewHold, Plan, Removal, plan
from syncd.sinks import make_sink
from syncd.sinks.base import HoldGone, HoldSink, SinkError
from syncd.store import Store

__all__ = [
    "HoldOutcome",
    "StoredHold",
    "Withdrawal",
    "cancel",
    "hold_rules",
    "plan_holds",
    "reconcile",
    "upcoming_holds",
    "withdraw",
]


def hold_rules(config: Config) -> HoldRules:
    holds = config.holds
    return HoldRules(
        windows=holds.windows,
        duration=holds.duration,
        lead_time=holds.lead_time,
        horizon=holds.horizon,
        buffer=holds.buffer,
        per_day=holds.per_day,
        per_week=holds.per_week,
        remove_when_touched=holds.remove_when_touched,
    )


def _configured_sink(config: Config, now: datetime) -> HoldSink:
    """The configured `[holds] sink`; it stamps what it writes with the run's `now` (so `--now` is honoured)."""
    return make_sink(config.hold_sink or "", config=config, clock=lambda: now)


def upcoming_holds(store: Store, now: datetime) -> list[StoredHold]:
    return [hold for hold in holds_store.stored_holds(store) if hold.end > now]


def reconcile(
    store: Store, sink: HoldSink, statuses: Mapping[str, ContactStatus], now: datetime
) -> tuple[list[str], list[str]]:
    """Bring the store in line with what the user did to the sink since the last run.

    Returns the contacts whose hold the user deleted or declined, and those whose hold
    they moved.
    """
    stored = holds_store.stored_holds(store, sink.name, ALL_STATES)
    decided = classify(stored, sink.list_holds(), statuses, now)
    for change in decided.changes:
        with store.transaction():
            _apply_change(store, sink, change, now)
    return decided.deleted, decided.moved


def _apply_change(store: Store, sink: HoldSink, change: Change, now: datetime) -> None:
    if isinstance(change, Forget):
        holds_store.delete(store, change.event_id)
    elif isinstance(change, Confirm):
        holds_store.mark_booked(store, change.hold)
    elif isinstance(change, RemoveAgain):
        sink.remove(change.event_id)
    elif isinstance(change, Move):
        holds_store.set_times(store, change.hold.event_id, change.start, change.end)
        if change.close is not None:
            _close(store, change.close, now)
    elif isinstance(change, Close):
        _close(store, change, now)
    elif isinstance(change, Adopt):
        hold = change.hold
        adopted = StoredHold(hold.event_id, hold.contact_id, sink.name, hold.start, hold.end, change.cycle, BOOKED)
        holds_store.insert(store, adopted, now, reason="adopted")


def _close(store: Store, change: Close, now: datetime) -> None:
    holds_store.set_state(store, change.hold.event_id, change.state, now, change.reason)
    if change.snooze_until is not None:
        set_snooze(store, change.hold.contact_id, change.snooze_until)


def busy_and_blocked(
    store: Store, config: Config, sink: HoldSink, now: datetime, until: datetime
) -> tuple[list[Interval], set[date]]:
    """Busy time from synced calendars and the sink; all-day opaque events block whole days."""
    own_addresses = touch_rules(config, store).own_addresses
    meetings = store.meetings_between(now, until)
    busy, blocked = busy_from_meetings(meetings, holds_store.all_event_ids(store), own_addresses, config.tz)
    busy.extend(sink.busy(now, until))
    return busy, blocked


def plan_holds(
    config: Config,
    store: Store,
    load_statuses: Callable[[], list[ContactStatus]],
    health_problems: list[str],
    now: datetime,
    dry_run: bool = False,
    sink: HoldSink | None = None,
) -> HoldOutcome:
    """Reconcile, plan and apply; statuses are loaded again after reconciling, which may snooze.

    ``sink`` replaces the configured ``[holds] sink`` (tests and previews pass an in-memory one).
    """
    statuses = load_statuses()
    outcome = HoldOutcome(dry_run=dry_run, names={status.contact.id: status.contact.name for status in statuses})
    if not config.holds.enabled:
        outcome.blocked = "holds are disabled ([holds] enabled = false)"
        return outcome
    if health_problems:
        problems = "; ".join(health_problems)
        outcome.blocked = f"the sync is not healthy, so holds would be booked from stale data: {problems}"
        return outcome
    rules = hold_rules(config)
    until = now + rules.horizon
    try:
        target = sink if sink is not None else _configured_sink(config, now)
        if not dry_run:
            outcome.user_deleted, outcome.user_moved = reconcile(
                store, target, {status.contact.id: status for status in statuses}, now
            )
            statuses = load_statuses()
        busy, blocked = busy_and_blocked(store, config, target, now, until + timedelta(days=1))
    except SinkError as error:
        outcome.blocked = f"cannot read the hold calendar: {error}"
        outcome.sink_failed = True
        return outcome
    by_id = {status.contact.id: status for status in statuses}
    unwanted = _unwanted_holds(holds_store.stored_holds(store, target.name), by_id, now)
    for removal in unwanted:  # archived contacts are not among the statuses: name them for the summary
        contact_id = removal.hold.contact_id
        outcome.names.setdefault(contact_id, contact_name(store, contact_id) or contact_id)
    cold = cold_list(statuses)
    attempts = {
        status.contact.id: holds_store.closed_count(store, status.contact.id, last_touch_at(status)) for status in cold
    }
    wanted = candidates(cold, upcoming_meeting_contacts(store, now, until), attempts)

    def replan(busy: list[Interval], blocked: set[date]) -> Plan:
        existing = existing_holds(holds_store.stored_holds(store, target.name, (BOOKED, PAST)), by_id)
        return plan(wanted, busy, blocked, existing, rules, config.tz, now)

    outcome.plan = replan(busy, blocked)
    gone = {removal.hold.event_id for removal in unwanted}
    removals = unwanted + [removal for removal in outcome.plan.remove if removal.hold.event_id not in gone]
    if dry_run:
        outcome.plan.remove = removals
        return outcome
    if removals:
        # Remove first, then plan the new holds on fresh busy time: the slot of a removed
        # hold is free again, as it would be for a run after a crash right after removing.
        _remove(store, target, removals, outcome, now)
        try:
            busy, blocked = busy_and_blocked(store, config, target, now, until + timedelta(days=1))
        except SinkError as error:
            outcome.errors.append(f"no holds booked: cannot read the hold calendar: {error}")
            outcome.plan = Plan(remove=removals)
            return outcome
        outcome.plan = replan(busy, blocked)  # the removed holds are no longer "existing"
    _remove(store, target, outcome.plan.remove, outcome, now)
    for hold in outcome.plan.create:
        _book(store, target, config, hold, outcome, by_id, now)
    outcome.plan.remove = removals + outcome.plan.remove
    return outcome


def _unwanted_holds(booked: list[StoredHold], by_id: Mapping[str, ContactStatus], now: datetime) -> list[Removal]:
    """Future holds of contacts who want none any more: archived, removed or ignored.

    `contacts remove`, `--ignore` and `snooze` take their hold out at once; this catches
    what changed through a contacts file, or a calendar that could not be reached then.
    """
    removals = []
    for hold in booked:
        status = by_id.get(hold.contact_id)
        if hold.end <= now or (status is not None and not status.contact.ignore):
            continue
        reason = "ignored" if status is not None else "archived, or no longer a contact"
        existing = ExistingHold(hold.contact_id, hold.event_id, hold.start, hold.end, hold.cycle, None)
        removals.append(Removal(existing, reason))
    return removals


@dataclass
class Withdrawal:
    """The holds taken out for one contact, and what the calendar said if it failed."""

    holds: list[StoredHold] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def withdraw(
    config: Config, store: Store, contact_id: str, reason: str, now: datetime, sink: HoldSink | None = None
) -> Withdrawal:
    """Take the contact's upcoming holds out of the calendar now (snooze, ignore, remove, cancel).

    Recorded as removed by syncd before the calendar is asked, so the hold never counts as
    one the user deleted, and a calendar that fails now is asked again on the next run.
    """
    result = Withdrawal(
        [
            hold
            for hold in holds_store.stored_holds(store, None, (BOOKED, PENDING))
            if hold.contact_id == contact_id and hold.end > now
        ]
    )
    if not result.holds:
        return result
    with store.transaction():
        for hold in result.holds:
            holds_store.set_state(store, hold.event_id, REMOVED, now, reason)
    try:
        target = sink if sink is not None else _configured_sink(config, now)
        for hold in result.holds:
            if hold.sink == target.name:
                target.remove(hold.event_id)
    except SinkError as error:
        result.errors.append(f"could not remove the hold from the calendar now (the next sync retries): {error}")
    return result


def cancel(
    config: Config, store: Store, status: ContactStatus, now: datetime, sink: HoldSink | None = None
) -> Withdrawal:
    """`holds cancel`: as deleting the hold in the calendar does, the contact rests for a cadence."""
    result = withdraw(config, store, status.contact.id, "cancelled by you", now, sink)
    if not result.holds:
        raise UsageError(f"{status.contact.name} has no upcoming hold (to rest them anyway: `syncd snooze`)")
    rest_until = rest_from(status, now)
    if rest_until is not None:
        with store.transaction():
            set_snooze(store, status.contact.id, rest_until)
    return result


def _remove(store: Store, sink: HoldSink, removals: list[Removal], outcome: HoldOutcome, now: datetime) -> None:
    """Removals: the store's state first (REMOVED), then the sink."""
    for removal in removals:
        with store.transaction():
            holds_store.set_state(store, removal.hold.event_id, REMOVED, now, removal.reason)
        try:
            sink.remove(removal.hold.event_id)
        except SinkError as error:
            outcome.errors.append(f"could not remove a hold (will retry): {error}")


def _book(
    store: Store,
    sink: HoldSink,
    config: Config,
    hold: NewHold,
    outcome: HoldOutcome,
    by_id: Mapping[str, ContactStatus],
    now: datetime,
) -> None:
    """One new hold: pending in the store, then the sink, then booked (or undone, or the user's deletion)."""
    status = by_id[hold.contact_id]
    title, description = hold_text(config.holds.title, config.tiers.default, status.contact, status, config.tz)
    pending = StoredHold(hold.event_id, hold.contact_id, sink.name, hold.start, hold.end, hold.cycle, PENDING)
    with store.transaction():
        holds_store.insert(store, pending, now)
    try:
        written = sink.create(hold, title, description)
    except HoldGone:
        with store.transaction():
            _close(store, close(pending, DELETED, "deleted by you", status, now), now)
        outcome.user_deleted.append(hold.contact_id)
    except SinkError as error:
        with store.transaction():
            holds_store.delete_pending(store, hold.event_id)
        outcome.errors.append(f"could not book a hold for {status.contact.name}: {error}")
    else:
        with store.transaction():
            holds_store.mark_booked(store, written)
        outcome.created.append(hold)
