"""The hold lifecycle's decisions: what each stored hold has become, given what the sink shows now.

Pure on purpose, like vdirsyncer's sync deciding its actions before doing any: the holds
syncd stored, the holds the sink has, the contacts' state and ``now`` go in; a list of
changes comes out, and :mod:`syncd.holds` applies them (store first, then the sink).
The store remembers every hold syncd booked or removed, so a hold that vanished from the
sink without syncd removing it is known to be the user's doing (deleted → the contact
rests for a cadence; moved → it stays where they put it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from syncd.cold import ContactStatus
from syncd.intervals import Interval
from syncd.planner import Candidate, ExistingHold, SinkHold, hold_event_id
from syncd.records import Meeting
from syncd.touches import user_declined

BOOKED = "booked"
PENDING = "pending"  # written to the store, not yet confirmed by the sink
REMOVED = "removed"  # removed by syncd
DELETED = "deleted_by_user"
PAST = "past"
ALL_STATES = (BOOKED, PENDING, REMOVED, DELETED, PAST)


@dataclass(frozen=True)
class StoredHold:
    """A hold as the store remembers it."""

    event_id: str
    contact_id: str
    sink: str
    start: datetime
    end: datetime
    cycle: datetime | None
    state: str


@dataclass(frozen=True)
class Forget:
    """A pending hold that never reached the sink (a crash before the write): drop its row."""

    event_id: str


@dataclass(frozen=True)
class Confirm:
    """A pending hold the sink has (a crash after the write): booked, at the sink's time."""

    hold: SinkHold


@dataclass(frozen=True)
class RemoveAgain:
    """A hold syncd removed that is still in the sink (a crash in between): remove it again."""

    event_id: str


@dataclass(frozen=True)
class Close:
    """The hold is over or the user deleted/declined it; the contact may rest until ``snooze_until``."""

    hold: StoredHold
    state: str  # PAST or DELETED
    reason: str
    snooze_until: datetime | None  # None leaves the contact's snooze as it is


@dataclass(frozen=True)
class Move:
    """The user moved the hold: keep their time (and close it when that time is over)."""

    hold: StoredHold
    start: datetime
    end: datetime
    close: Close | None


@dataclass(frozen=True)
class Adopt:
    """A marked hold the store does not know (the store was lost or reset): take it back."""

    hold: SinkHold
    cycle: datetime | None


Change = Forget | Confirm | RemoveAgain | Close | Move | Adopt


@dataclass
class Reconciliation:
    """The changes to apply, in order, and what the user did (for the summary)."""

    changes: list[Change] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # contacts whose hold the user deleted or declined
    moved: list[str] = field(default_factory=list)


def last_touch_at(status: ContactStatus | None) -> datetime | None:
    return status.last_touch.at if status and status.last_touch else None


def classify(
    stored: Sequence[StoredHold],
    in_sink: Iterable[SinkHold],
    statuses: Mapping[str, ContactStatus],
    now: datetime,
) -> Reconciliation:
    """Compare the store's holds of one sink (every state) with what that sink has now.

    A hold that is over, or that the user deleted or declined, lets its contact rest for
    a cadence: the nudge was seen, and nagging again next week would be noise.
    """
    present = {hold.event_id: hold for hold in in_sink}
    known = {hold.event_id: hold for hold in stored}
    result = Reconciliation()
    for hold in known.values():
        change = _classify_one(hold, present.get(hold.event_id), statuses.get(hold.contact_id), now)
        if change is None:
            continue
        result.changes.append(change)
        if isinstance(change, Move):
            result.moved.append(hold.contact_id)
        elif isinstance(change, Close) and change.state == DELETED:
            result.deleted.append(hold.contact_id)
    for event_id, unknown in present.items():
        if event_id not in known and unknown.contact_id in statuses:
            current = last_touch_at(statuses[unknown.contact_id])
            # Its id tells whether it belongs to the contact's current cycle; if not, the
            # contact was touched since, and the planner will treat it as such.
            cycle = current if hold_event_id(unknown.contact_id, current) == event_id else None
            result.changes.append(Adopt(unknown, cycle))
    return result


def _classify_one(
    hold: StoredHold, in_sink: SinkHold | None, status: ContactStatus | None, now: datetime
) -> Change | None:
    if hold.state == PENDING:
        return Forget(hold.event_id) if in_sink is None else Confirm(in_sink)
    if hold.state == REMOVED:
        return RemoveAgain(hold.event_id) if in_sink is not None else None
    if hold.state != BOOKED:
        return None
    if in_sink is not None and (in_sink.start, in_sink.end) != (hold.start, hold.end) and not in_sink.declined:
        over = close(hold, PAST, "over", status, now) if in_sink.end <= now else None
        return Move(hold, in_sink.start, in_sink.end, over)
    if hold.end <= now:
        return close(hold, PAST, "over", status, now)
    if in_sink is None or in_sink.declined:
        return close(hold, DELETED, "declined by you" if in_sink else "deleted by you", status, now)
    return None


def close(hold: StoredHold, state: str, reason: str, status: ContactStatus | None, now: datetime) -> Close:
    """Close a hold; its contact rests for a cadence unless touched since it was booked.

    The rest counts from the hold's end when it went by, from ``now`` when the user
    deleted it; an existing longer snooze is kept.
    """
    snooze_until = None
    if status is not None and last_touch_at(status) == hold.cycle:
        snooze_until = rest_from(status, hold.end if state == PAST else now)
    return Close(hold, state, reason, snooze_until)


def rest_from(status: ContactStatus, start: datetime) -> datetime | None:
    """The snooze that rests the contact for a cadence from ``start``; None when theirs already runs longer."""
    rest_until = start + timedelta(days=status.cadence_days)
    current = status.contact.snoozed_until
    return rest_until if current is None or current < rest_until else None


def busy_from_meetings(
    meetings: Iterable[Meeting], own_hold_ids: Collection[str], own_addresses: frozenset[str], tz: tzinfo
) -> tuple[list[Interval], set[date]]:
    """Busy time from synced meetings; all-day opaque events block whole days (out of office).

    syncd's own holds, synced back from a hold calendar that is also a source, are not
    busy time here: the planner counts the kept ones itself, and a removed one frees its slot.
    """
    busy: list[Interval] = []
    blocked: set[date] = set()
    for meeting in meetings:
        if meeting.cancelled or meeting.transparent or user_declined(meeting, own_addresses):
            continue
        if meeting.item_id.partition("#")[0] in own_hold_ids:  # ICS and CalDAV rows are `UID#start`
            continue
        if meeting.all_day:
            day = meeting.start.astimezone(tz).date()
            last = (meeting.end - timedelta(seconds=1)).astimezone(tz).date()
            while day <= last:
                blocked.add(day)
                day += timedelta(days=1)
        else:
            busy.append(Interval(meeting.start, meeting.end))
    return busy, blocked


def candidates(
    cold: Sequence[ContactStatus], meeting_soon: Collection[str], attempts: Mapping[str, int]
) -> list[Candidate]:
    """The planner's view of the cold list; ``attempts`` counts each contact's closed holds of this cycle."""
    return [
        Candidate(
            contact_id=status.contact.id,
            name=status.contact.name,
            last_touch_at=last_touch_at(status),
            cadence_days=status.cadence_days,
            snoozed_until=status.contact.snoozed_until,
            ignore=status.contact.ignore,
            has_upcoming_meeting=status.contact.id in meeting_soon,
            attempt=attempts.get(status.contact.id, 0),
        )
        for status in cold
    ]


def existing_holds(stored: Iterable[StoredHold], statuses: Mapping[str, ContactStatus]) -> list[ExistingHold]:
    """Booked and past holds of known contacts, as the planner weighs them."""
    return [
        ExistingHold(
            contact_id=hold.contact_id,
            event_id=hold.event_id,
            start=hold.start,
            end=hold.end,
            cycle=hold.cycle,
            contact_last_touch_at=last_touch_at(statuses.get(hold.contact_id)),
        )
        for hold in stored
        if hold.contact_id in statuses
    ]
