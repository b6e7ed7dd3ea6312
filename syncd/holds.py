"""The hold lifecycle: reconcile the sink with what syncd booked, plan, then apply.

The store remembers every hold syncd booked or removed, so a hold that vanished from
the sink without syncd removing it is known to be the user's doing (deleted → snooze
the contact for a cadence; moved → leave it where they put it). Writes go to the store
before the sink ("pending", "removed"), so a crash between the two is repaired on the
next run instead of booking twice or resurrecting a removed hold.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo

from syncd.cold import ContactStatus, cold_list
from syncd.config import Config
from syncd.contacts import Contact, set_snooze, upcoming_meeting_contacts
from syncd.planner import Candidate, ExistingHold, HoldRules, Interval, NewHold, Plan, Removal, hold_event_id, plan
from syncd.sinks import make_sink
from syncd.sinks.base import HoldGone, HoldSink, SinkError, SinkHold
from syncd.store import Store, dt, ts
from syncd.touches import user_declined

log = logging.getLogger("syncd.holds")

BOOKED = "booked"
PENDING = "pending"
REMOVED = "removed"  # removed by syncd
DELETED = "deleted_by_user"
PAST = "past"


@dataclass(frozen=True)
class StoredHold:
    event_id: str
    contact_id: str
    sink: str
    start: datetime
    end: datetime
    cycle: datetime | None
    state: str


@dataclass
class HoldOutcome:
    blocked: str | None = None
    plan: Plan | None = None
    created: list[NewHold] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    user_deleted: list[str] = field(default_factory=list)
    user_moved: list[str] = field(default_factory=list)
    dry_run: bool = False
    names: dict[str, str] = field(default_factory=dict)
    sink_failed: bool = False

    @property
    def failed(self) -> bool:
        """The hold calendar could not be read or written: worth exit code 1."""
        return self.sink_failed or bool(self.errors)

    @property
    def changed(self) -> bool:
        return bool(self.plan and (self.plan.create or self.plan.remove)) or bool(self.user_deleted or self.errors)

    def summary(self, tz: tzinfo) -> str:
        if self.blocked:
            return f"no holds booked: {self.blocked}"
        assert self.plan is not None
        verb = "would book" if self.dry_run else "booked"
        lines = [
            f"{verb} {len(self.plan.create)} hold(s), {'would remove' if self.dry_run else 'removed'} {len(self.plan.remove)}"
        ]
        for hold in self.plan.create:
            lines.append(
                f"  + {hold.start.astimezone(tz):%a %Y-%m-%d %H:%M}–{hold.end.astimezone(tz):%H:%M}  {hold.name}  ({hold.reason})"
            )
        for removal in self.plan.remove:
            lines.append(
                f"  - {removal.hold.start.astimezone(tz):%a %Y-%m-%d %H:%M}  {self.names.get(removal.hold.contact_id, removal.hold.contact_id)}  ({removal.reason})"
            )
        for skip in self.plan.skipped:
            lines.append(f"  · {self.names.get(skip.contact_id, skip.contact_id)}: {skip.reason}")
        for contact_id in self.user_deleted:
            lines.append(f"  · {self.names.get(contact_id, contact_id)}: you deleted their hold, snoozed for a cadence")
        for error in self.errors:
            lines.append(f"  ! {error}")
        return "\n".join(lines)


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


def stored_holds(store: Store, sink: str | None = None, states: tuple[str, ...] = (BOOKED,)) -> list[StoredHold]:
    query = f"SELECT event_id, contact_id, sink, start, end, cycle, state FROM holds WHERE state IN ({','.join('?' * len(states))})"
    params: list = list(states)
    if sink is not None:
        query += " AND sink = ?"
        params.append(sink)
    rows = store.connection.execute(query + " ORDER BY start, event_id", params).fetchall()
    return [StoredHold(row[0], row[1], row[2], dt(row[3]), dt(row[4]), dt(row[5]), row[6]) for row in rows]


def upcoming_holds(store: Store, now: datetime) -> list[StoredHold]:
    return [hold for hold in stored_holds(store) if hold.end > now]


def hold_text(config: Config, contact: Contact, status: ContactStatus, tz: tzinfo) -> tuple[str, str]:
    """Title from the template; the description says when and how you last spoke."""
    title = config.holds.title.format_map({"name": contact.name, "first_name": contact.first_name})
    touch = status.last_touch
    if touch is None:
        last = "You have no meeting or direct mail with them on record."
    else:
        how = {"meeting": "met", "email": "exchanged mail", "manual": "were in touch (logged by hand)"}[touch.kind]
        last = f"You last {how} on {touch.at.astimezone(tz):%A %Y-%m-%d}."
    tier = contact.tier or config.tiers.default
    lines = [
        f"Time to reach out to {contact.name} <{contact.email}>.",
        last,
        f"Rhythm: {tier}, every {status.cadence_days} days.",
    ]
    if contact.notes:
        lines.append(f"Notes: {contact.notes}")
    lines.append("Booked by syncd; delete this event and syncd will not nag about them for a while.")
    return title, "\n".join(lines)


def _set_state(store: Store, event_id: str, state: str, now: datetime, reason: str = "") -> None:
    store.connection.execute(
        "UPDATE holds SET state = ?, closed_at = ?, reason = ? WHERE event_id = ?", (state, ts(now), reason, event_id)
    )


def reconcile(
    store: Store, sink: HoldSink, statuses: dict[str, ContactStatus], now: datetime
) -> tuple[list[str], list[str]]:
    """Bring the store in line with what the user did to the sink since the last run.

    A hold that is over, or that the user deleted or declined, lets its contact rest for
    a cadence: the nudge was seen, and nagging again next week would be noise.
    """
    present = {hold.event_id: hold for hold in sink.list_holds()}
    deleted: list[str] = []
    moved: list[str] = []
    known = {hold.event_id: hold for hold in stored_holds(store, sink.name, (BOOKED, PENDING, REMOVED, DELETED, PAST))}
    for hold in known.values():
        with store.transaction():
            change = _reconcile_one(store, sink, hold, present.get(hold.event_id), statuses, now)
        if change == DELETED:
            deleted.append(hold.contact_id)
        elif change == "moved":
            moved.append(hold.contact_id)
    for event_id, in_sink in present.items():
        if event_id not in known and in_sink.contact_id in statuses:
            with store.transaction():
                _adopt(store, sink.name, in_sink, statuses[in_sink.contact_id], now)
    return deleted, moved


def _reconcile_one(
    store: Store,
    sink: HoldSink,
    hold: StoredHold,
    in_sink: SinkHold | None,
    statuses: dict[str, ContactStatus],
    now: datetime,
) -> str | None:
    """One stored hold against what the sink has now; returns what the user did, if anything."""
    if hold.state == PENDING:
        if in_sink is None:
            store.connection.execute("DELETE FROM holds WHERE event_id = ?", (hold.event_id,))
        else:
            _mark_booked(store, in_sink)
        return None
    if hold.state == REMOVED and in_sink is not None:
        sink.remove(hold.event_id)
    if hold.state != BOOKED:
        return None
    if in_sink is not None and (in_sink.start, in_sink.end) != (hold.start, hold.end) and not in_sink.declined:
        store.connection.execute(
            "UPDATE holds SET start = ?, end = ? WHERE event_id = ?",
            (ts(in_sink.start), ts(in_sink.end), hold.event_id),
        )
        if in_sink.end <= now:
            _close(store, hold, PAST, "over", statuses, now)
        return "moved"
    if hold.end <= now:
        _close(store, hold, PAST, "over", statuses, now)
        return None
    if in_sink is None or in_sink.declined:
        _close(store, hold, DELETED, "declined by you" if in_sink else "deleted by you", statuses, now)
        return DELETED
    return None


def _close(
    store: Store, hold: StoredHold, state: str, reason: str, statuses: dict[str, ContactStatus], now: datetime
) -> None:
    _set_state(store, hold.event_id, state, now, reason)
    status = statuses.get(hold.contact_id)
    untouched_since = status is not None and _last_touch_at(status) == hold.cycle
    if untouched_since:
        rest_until = (hold.end if state == PAST else now) + timedelta(days=status.cadence_days)
        current = status.contact.snoozed_until
        if current is None or current < rest_until:
            set_snooze(store, hold.contact_id, rest_until)


def attempts(store: Store, contact_id: str, cycle: datetime | None) -> int:
    """Earlier holds of this cycle that were deleted or went by: the next one needs a fresh id."""
    row = store.connection.execute(
        "SELECT COUNT(*) FROM holds WHERE contact_id = ? AND cycle IS ? AND state IN (?, ?)",
        (contact_id, ts(cycle), DELETED, PAST),
    ).fetchone()
    return row[0]


def _mark_booked(store: Store, hold: SinkHold) -> None:
    store.connection.execute(
        "UPDATE holds SET state = ?, start = ?, end = ? WHERE event_id = ?",
        (BOOKED, ts(hold.start), ts(hold.end), hold.event_id),
    )


def _adopt(store: Store, sink: str, hold: SinkHold, status: ContactStatus, now: datetime) -> None:
    """A marked hold the store does not know (the store was lost or reset): take it back.

    Its id tells whether it belongs to the contact's current cycle; if not, the contact
    was touched since, and the planner will treat it as such.
    """
    current = status.last_touch.at if status.last_touch else None
    cycle = current if hold_event_id(hold.contact_id, current) == hold.event_id else None
    store.connection.execute(
        "INSERT OR REPLACE INTO holds(event_id, contact_id, sink, start, end, cycle, state, created_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (hold.event_id, hold.contact_id, sink, ts(hold.start), ts(hold.end), ts(cycle), BOOKED, ts(now), "adopted"),
    )


def busy_and_blocked(
    store: Store, config: Config, sink: HoldSink, now: datetime, until: datetime
) -> tuple[list[Interval], set[date]]:
    """Busy time from synced calendars and the sink; all-day opaque events block whole days."""
    from syncd.engine import touch_rules

    rules = touch_rules(config, store)
    busy: list[Interval] = []
    blocked: set[date] = set()
    # syncd's own holds, synced back from a hold calendar that is also a source, are not busy
    # time here: the planner counts the kept ones itself, and a removed one frees its slot.
    own_holds = {row[0] for row in store.connection.execute("SELECT event_id FROM holds")}
    for meeting in store.meetings_between(now, until):
        if meeting.cancelled or meeting.transparent or user_declined(meeting, rules.own_addresses):
            continue
        if meeting.item_id in own_holds:
            continue
        if meeting.all_day:
            day = meeting.start.astimezone(config.tz).date()
            last = (meeting.end - timedelta(seconds=1)).astimezone(config.tz).date()
            while day <= last:
                blocked.add(day)
                day += timedelta(days=1)
        else:
            busy.append(Interval(meeting.start, meeting.end))
    busy.extend(sink.busy(now, until))
    return busy, blocked


def plan_holds(
    config: Config,
    store: Store,
    load_statuses: Callable[[], list[ContactStatus]],
    health_problems: list[str],
    now: datetime,
    dry_run: bool = False,
) -> HoldOutcome:
    """Reconcile, plan and apply; statuses are loaded again after reconciling, which may snooze."""
    statuses = load_statuses()
    outcome = HoldOutcome(dry_run=dry_run, names={status.contact.id: status.contact.name for status in statuses})
    if not config.holds.enabled:
        outcome.blocked = "holds are disabled ([holds] enabled = false)"
        return outcome
    if health_problems:
        outcome.blocked = "the sync is not healthy, so holds would be booked from stale data: " + "; ".join(
            health_problems
        )
        return outcome
    try:
        sink = make_sink(config.hold_sink, config=config, store=store, clock=lambda: now)
        if not dry_run:
            outcome.user_deleted, outcome.user_moved = reconcile(
                store, sink, {status.contact.id: status for status in statuses}, now
            )
            statuses = load_statuses()
        rules = hold_rules(config)
        until = now + rules.horizon
        busy, blocked = busy_and_blocked(store, config, sink, now, until + timedelta(days=1))
    except SinkError as error:
        outcome.blocked = f"cannot read the hold calendar: {error}"
        outcome.sink_failed = True
        return outcome
    by_id = {status.contact.id: status for status in statuses}
    cold = cold_list(statuses)
    meeting_soon = upcoming_meeting_contacts(store, now, until)
    candidates = [
        Candidate(
            contact_id=status.contact.id,
            name=status.contact.name,
            last_touch_at=status.last_touch.at if status.last_touch else None,
            cadence_days=status.cadence_days,
            snoozed_until=status.contact.snoozed_until,
            ignore=status.contact.ignore,
            has_upcoming_meeting=status.contact.id in meeting_soon,
            attempt=attempts(store, status.contact.id, _last_touch_at(status)),
        )
        for status in cold
    ]

    def existing() -> list[ExistingHold]:
        return [
            ExistingHold(
                contact_id=hold.contact_id,
                event_id=hold.event_id,
                start=hold.start,
                end=hold.end,
                cycle=hold.cycle,
                contact_last_touch_at=_last_touch_at(by_id.get(hold.contact_id)),
            )
            for hold in stored_holds(store, sink.name, (BOOKED, PAST))
            if hold.contact_id in by_id
        ]

    outcome.plan = plan(candidates, busy, blocked, existing(), rules, config.tz, now)
    if not dry_run and outcome.plan.remove:
        # Remove first, then plan the new holds on fresh busy time: the slot of a removed
        # hold is free again, as it would be for a run after a crash right after removing.
        removals = outcome.plan.remove
        _remove(store, sink, removals, outcome, now)
        try:
            busy, blocked = busy_and_blocked(store, config, sink, now, until + timedelta(days=1))
        except SinkError as error:
            outcome.errors.append(f"no holds booked: cannot read the hold calendar: {error}")
            outcome.plan = Plan(remove=removals)
            return outcome
        outcome.plan = plan(candidates, busy, blocked, existing(), rules, config.tz, now)
        _apply(store, sink, config, outcome, by_id, now)  # the removed holds are no longer "existing"
        outcome.plan.remove = removals + outcome.plan.remove
        return outcome
    if not dry_run:
        _apply(store, sink, config, outcome, by_id, now)
    return outcome


def _last_touch_at(status: ContactStatus | None) -> datetime | None:
    return status.last_touch.at if status and status.last_touch else None


def _remove(store: Store, sink: HoldSink, removals: list[Removal], outcome: HoldOutcome, now: datetime) -> None:
    """Removals: the store's state first (REMOVED), then the sink."""
    for removal in removals:
        with store.transaction():
            _set_state(store, removal.hold.event_id, REMOVED, now, removal.reason)
        try:
            sink.remove(removal.hold.event_id)
        except SinkError as error:
            outcome.errors.append(f"could not remove a hold (will retry): {error}")


def _apply(
    store: Store, sink: HoldSink, config: Config, outcome: HoldOutcome, by_id: dict[str, ContactStatus], now: datetime
) -> None:
    assert outcome.plan is not None
    _remove(store, sink, outcome.plan.remove, outcome, now)
    for hold in outcome.plan.create:
        status = by_id[hold.contact_id]
        title, description = hold_text(config, status.contact, status, config.tz)
        with store.transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO holds(event_id, contact_id, sink, start, end, cycle, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    hold.event_id,
                    hold.contact_id,
                    sink.name,
                    ts(hold.start),
                    ts(hold.end),
                    ts(hold.cycle),
                    PENDING,
                    ts(now),
                ),
            )
        try:
            written = sink.create(hold, title, description)
        except HoldGone:
            with store.transaction():
                stored = StoredHold(
                    hold.event_id, hold.contact_id, sink.name, hold.start, hold.end, hold.cycle, PENDING
                )
                _close(store, stored, DELETED, "deleted by you", by_id, now)
            outcome.user_deleted.append(hold.contact_id)
        except SinkError as error:
            with store.transaction() as connection:
                connection.execute("DELETE FROM holds WHERE event_id = ? AND state = ?", (hold.event_id, PENDING))
            outcome.errors.append(f"could not book a hold for {status.contact.name}: {error}")
        else:
            with store.transaction():
                _mark_booked(store, written)
            outcome.created.append(hold)
