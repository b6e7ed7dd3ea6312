"""The hold lifecycle: the pure classify() rule by rule, then whole runs in-process on the in-memory sink.

The runs use a real SQLite store and the real planner; only the calendar is in memory,
and the tests play the user through the sink's own edit methods (move, delete, decline).
"""

from __future__ import annotations

from datetime import datetime, timedelta, UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syncd import holds_store
from syncd.app import App
from syncd.cold import contact_status
from syncd.config import parse_config
from syncd.contacts import add_manual_touch, import_entries, list_contacts
from syncd.lifecycle import (
    BOOKED,
    DELETED,
    PAST,
    PENDING,
    REMOVED,
    Adopt,
    Close,
    Confirm,
    Forget,
    Move,
    RemoveAgain,
    StoredHold,
    classify,
)
from syncd.hold_outcome import HoldOutcome
from syncd.holds import plan_holds
from syncd.models import Contact, ContactEntry, LastTouch
from syncd.planner import hold_event_id
from syncd.sinks.base import SinkHold
from syncd.sinks.memory import MemoryHoldSink
from syncd.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=BERLIN)  # a Friday
ADA_TOUCH = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
BOB_TOUCH = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 11, 24, 8, 30, tzinfo=BERLIN)
WEDNESDAY = datetime(2026, 11, 25, 8, 30, tzinfo=BERLIN)
HALF_HOUR = timedelta(minutes=30)

# --------------------------------------------------------------------------- classify, rule by rule


def status(contact_id: str = "ada", touched: datetime | None = ADA_TOUCH, snoozed_until: datetime | None = None):
    contact = Contact(contact_id, contact_id.title(), [f"{contact_id}@example.com"], snoozed_until=snoozed_until)
    touch = LastTouch(touched, "meeting", "ics", "m1") if touched else None
    return contact_status(contact, 30, touch, NOW)


def stored(state: str = BOOKED, start: datetime = TUESDAY, cycle: datetime | None = ADA_TOUCH) -> StoredHold:
    return StoredHold(hold_event_id("ada", cycle), "ada", "memory", start, start + HALF_HOUR, cycle, state)


def shown(hold: StoredHold, start: datetime | None = None, declined: bool = False) -> SinkHold:
    start = start or hold.start
    return SinkHold(hold.event_id, hold.contact_id, start, start + HALF_HOUR, "Coffee", declined)


def test_an_untouched_booked_hold_needs_nothing():
    hold = stored()
    decided = classify([hold], [shown(hold)], {"ada": status()}, NOW)
    assert decided.changes == [] and decided.deleted == [] and decided.moved == []


def test_a_pending_hold_the_sink_lacks_is_forgotten_and_one_it_has_is_confirmed():
    hold = stored(PENDING)
    assert classify([hold], [], {"ada": status()}, NOW).changes == [Forget(hold.event_id)]
    assert classify([hold], [shown(hold)], {"ada": status()}, NOW).changes == [Confirm(shown(hold))]


def test_a_hold_syncd_removed_but_still_in_the_sink_is_removed_again():
    hold = stored(REMOVED)
    assert classify([hold], [shown(hold)], {"ada": status()}, NOW).changes == [RemoveAgain(hold.event_id)]
    assert classify([hold], [], {"ada": status()}, NOW).changes == []


@pytest.mark.parametrize("state", [DELETED, PAST])
def test_closed_holds_stay_closed(state):
    hold = stored(state)
    assert classify([hold], [shown(hold, TUESDAY + timedelta(days=1))], {"ada": status()}, NOW).changes == []


def test_a_deleted_hold_rests_its_contact_for_a_cadence_from_now():
    hold = stored()
    decided = classify([hold], [], {"ada": status()}, NOW)
    assert decided.changes == [Close(hold, DELETED, "deleted by you", NOW + timedelta(days=30))]
    assert decided.deleted == ["ada"]


def test_a_declined_hold_is_classified_as_deleted():
    hold = stored()
    decided = classify([hold], [shown(hold, declined=True)], {"ada": status()}, NOW)
    assert decided.changes == [Close(hold, DELETED, "declined by you", NOW + timedelta(days=30))]
    assert decided.deleted == ["ada"]


def test_a_moved_hold_keeps_the_users_time():
    hold = stored()
    later = TUESDAY + timedelta(days=2, hours=3)
    decided = classify([hold], [shown(hold, later)], {"ada": status()}, NOW)
    assert decided.changes == [Move(hold, later, later + HALF_HOUR, None)]
    assert decided.moved == ["ada"] and decided.deleted == []


def test_a_hold_moved_into_the_past_is_moved_and_closed():
    hold = stored()
    earlier = NOW - timedelta(hours=2)
    (change,) = classify([hold], [shown(hold, earlier)], {"ada": status()}, NOW).changes
    assert isinstance(change, Move) and change.close is not None
    assert (change.close.state, change.close.reason) == (PAST, "over")


def test_a_hold_that_went_by_rests_its_contact_from_its_end():
    hold = stored(start=NOW - timedelta(days=1))
    (change,) = classify([hold], [shown(hold)], {"ada": status()}, NOW).changes
    assert change == Close(hold, PAST, "over", hold.end + timedelta(days=30))


def test_no_rest_when_touched_since_booking_or_already_snoozed_longer():
    hold = stored()
    touched_since = status(touched=NOW - timedelta(hours=1))
    assert classify([hold], [], {"ada": touched_since}, NOW).changes == [Close(hold, DELETED, "deleted by you", None)]
    longer = status(snoozed_until=NOW + timedelta(days=60))
    assert classify([hold], [], {"ada": longer}, NOW).changes == [Close(hold, DELETED, "deleted by you", None)]
    assert classify([hold], [], {}, NOW).changes == [Close(hold, DELETED, "deleted by you", None)]


def test_a_marked_hold_the_store_does_not_know_is_adopted():
    current = SinkHold(hold_event_id("ada", ADA_TOUCH), "ada", TUESDAY, TUESDAY + HALF_HOUR)
    older = SinkHold(hold_event_id("bob", BOB_TOUCH - timedelta(days=9)), "bob", WEDNESDAY, WEDNESDAY + HALF_HOUR)
    stranger = SinkHold(hold_event_id("eve", None), "eve", WEDNESDAY, WEDNESDAY + HALF_HOUR)
    statuses = {"ada": status(), "bob": status("bob", BOB_TOUCH)}
    decided = classify([], [current, older, stranger], statuses, NOW)
    # Ada's id is her current cycle's; Bob's belongs to an older cycle (touched since); Eve is no contact.
    assert decided.changes == [Adopt(current, ADA_TOUCH), Adopt(older, None)]


# --------------------------------------------------------------------------- whole runs, in-process

CONFIG = """
[user]
emails = ["me@example.com"]
timezone = "Europe/Berlin"
[holds]
per_week = 2
per_day = 1
"""


class World:
    """A store with Ada and Bob (both cold, Bob more overdue), and a hold calendar in memory."""

    def __init__(self, folder: Path, sink: MemoryHoldSink):
        self.config = parse_config(CONFIG, None)
        self.store = Store.open(folder / "syncd.db")
        self.sink = sink
        entries = [
            ContactEntry("t", ["ada@example.com"], ["ada@example.com"], name="Ada Lovelace", tier="meaningful"),
            ContactEntry("t", ["bob@example.org"], ["bob@example.org"], name="Bob Stone", tier="meaningful"),
        ]
        import_entries(self.store, entries, NOW)
        add_manual_touch(self.store, "ada-lovelace", ADA_TOUCH, "", NOW)
        add_manual_touch(self.store, "bob-stone", BOB_TOUCH, "", NOW)

    def run(self, now: datetime = NOW, dry_run: bool = False) -> HoldOutcome:
        app = App(self.config, now, _store=self.store)
        return plan_holds(self.config, self.store, app.statuses, [], now, dry_run=dry_run, sink=self.sink)

    def booked(self) -> list[tuple[str, datetime]]:
        return [(h.contact_id, h.start) for h in holds_store.stored_holds(self.store, self.sink.name)]

    def in_sink(self) -> list[tuple[str, datetime]]:
        return [(h.contact_id, h.start) for h in self.sink.list_holds()]

    def hold_of(self, contact_id: str) -> SinkHold:
        return next(h for h in self.sink.list_holds() if h.contact_id == contact_id)

    def snoozed_until(self, contact_id: str) -> datetime | None:
        return next(c.snoozed_until for c in list_contacts(self.store) if c.id == contact_id)


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path, MemoryHoldSink())
    yield w
    w.store.close()


BOTH = [("bob-stone", TUESDAY), ("ada-lovelace", WEDNESDAY)]


def test_books_the_most_overdue_first_and_a_rerun_books_nothing(world):
    outcome = world.run()
    assert [h.contact_id for h in outcome.created] == ["bob-stone", "ada-lovelace"]
    assert world.booked() == BOTH and world.in_sink() == BOTH
    again = world.run(NOW + timedelta(hours=1))
    assert again.created == [] and again.plan is not None and again.plan.create == []
    assert world.booked() == BOTH and world.in_sink() == BOTH
    ada = world.hold_of("ada-lovelace")
    assert ada.title == "Coffee with Ada Lovelace"
    assert "You last were in touch (logged by hand) on Tuesday 2026-09-01." in world.sink.description(ada.event_id)


def test_dry_run_writes_nothing(world):
    outcome = world.run(dry_run=True)
    assert outcome.plan is not None and len(outcome.plan.create) == 2
    assert "would book 2 hold(s)" in outcome.summary(BERLIN)
    assert world.booked() == [] and world.in_sink() == []


def test_a_hold_the_user_deleted_snoozes_its_contact_and_is_not_rebooked(world):
    world.run()
    world.sink.delete(world.hold_of("bob-stone").event_id)
    later = NOW + timedelta(hours=1)
    outcome = world.run(later)
    assert outcome.user_deleted == ["bob-stone"] and outcome.created == []
    assert "Bob Stone: you deleted their hold, snoozed for a cadence" in outcome.summary(BERLIN)
    assert world.snoozed_until("bob-stone") == later + timedelta(days=30)
    assert world.in_sink() == [("ada-lovelace", WEDNESDAY)]
    assert world.run(later + timedelta(hours=1)).created == []


def test_a_declined_hold_counts_as_deleted(world):
    world.run()
    world.sink.decline(world.hold_of("ada-lovelace").event_id)
    outcome = world.run(NOW + timedelta(hours=1))
    assert outcome.user_deleted == ["ada-lovelace"]
    assert world.booked() == [("bob-stone", TUESDAY)]


def test_a_hold_the_user_moved_stays_where_they_put_it(world):
    world.run()
    thursday = datetime(2026, 11, 26, 16, 0, tzinfo=BERLIN)
    world.sink.move(world.hold_of("bob-stone").event_id, thursday, thursday + HALF_HOUR)
    outcome = world.run(NOW + timedelta(hours=1))
    assert outcome.user_moved == ["bob-stone"] and outcome.created == []
    assert world.booked() == [("ada-lovelace", WEDNESDAY), ("bob-stone", thursday)]
    assert world.in_sink() == world.booked()


def test_a_touch_before_the_hold_removes_it(world):
    world.run()
    touched = NOW + timedelta(hours=3)
    add_manual_touch(world.store, "ada-lovelace", touched, "coffee after all", touched)
    outcome = world.run(touched + timedelta(minutes=5))
    assert outcome.plan is not None
    assert [(r.hold.contact_id, r.reason) for r in outcome.plan.remove] == [("ada-lovelace", "touched on 2026-11-20")]
    assert world.in_sink() == world.booked() == [("bob-stone", TUESDAY)]
    states = {h.contact_id: h.state for h in holds_store.stored_holds(world.store, states=(BOOKED, REMOVED))}
    assert states == {"bob-stone": BOOKED, "ada-lovelace": REMOVED}


def test_a_hold_that_went_by_rests_its_contact_and_the_next_cycle_books_again(world):
    world.run()
    bob = world.hold_of("bob-stone")
    after = bob.end + timedelta(hours=1)
    outcome = world.run(after)
    assert "bob-stone" not in [h.contact_id for h in outcome.created]
    assert world.snoozed_until("bob-stone") == bob.end + timedelta(days=30)
    past = holds_store.stored_holds(world.store, states=(PAST,))
    assert [h.contact_id for h in past] == ["bob-stone"]
    # A new cycle (touched again, then cold again) books a hold under a new id.
    add_manual_touch(world.store, "bob-stone", after, "", after)
    much_later = after + timedelta(days=45)
    booked = {h.contact_id: h.event_id for h in world.run(much_later).created}
    assert "bob-stone" in booked and booked["bob-stone"] != bob.event_id


def test_crash_leftovers_are_repaired(world):
    world.run()
    bob, ada = world.hold_of("bob-stone"), world.hold_of("ada-lovelace")
    touched = NOW + timedelta(hours=1)
    add_manual_touch(world.store, "bob-stone", touched, "", touched)
    # As if killed: the removal of Bob's hold (he was touched) reached the store but not
    # the sink; Ada's booking reached the store (pending) but not the sink.
    with world.store.transaction():
        holds_store.set_state(world.store, bob.event_id, REMOVED, touched, "touched on 2026-11-20")
        holds_store.set_state(world.store, ada.event_id, PENDING, NOW)
    world.sink.delete(ada.event_id)
    world.run(touched + timedelta(minutes=5))
    assert not world.sink.has_event(bob.event_id)
    # Ada's pending row was forgotten and the hold booked again, under the same id.
    assert world.hold_of("ada-lovelace").event_id == ada.event_id
    assert [(h.contact_id, h.state) for h in holds_store.stored_holds(world.store, states=(BOOKED, PENDING))] == [
        ("ada-lovelace", BOOKED)
    ]


def test_holds_of_a_lost_store_are_adopted_not_booked_twice(tmp_path, world):
    world.run()
    fresh = World(tmp_path / "fresh", world.sink)
    try:
        outcome = fresh.run(NOW + timedelta(hours=1))
        assert outcome.created == []
        assert fresh.booked() == BOTH and world.in_sink() == BOTH
    finally:
        fresh.store.close()


def test_re_creating_a_hold_google_keeps_deleted_snoozes_instead(tmp_path):
    sink = MemoryHoldSink(keeps_deleted=True)
    first = World(tmp_path / "first", sink)
    first.run()
    first.store.close()
    sink.delete(sink.list_holds()[0].event_id)  # the user deletes Bob's hold
    lost = World(tmp_path / "lost", sink)  # and the store is lost: syncd does not know the id
    try:
        outcome = lost.run(NOW + timedelta(hours=1))
        assert outcome.user_deleted == ["bob-stone"] and outcome.errors == []
        assert lost.snoozed_until("bob-stone") == NOW + timedelta(hours=1, days=30)
        assert [h.contact_id for h in holds_store.stored_holds(lost.store, states=(DELETED,))] == ["bob-stone"]
    finally:
        lost.store.close()


def test_an_unreadable_hold_calendar_books_nothing(world):
    world.sink.failure = "unreachable"
    outcome = world.run()
    assert outcome.sink_failed and outcome.failed
    assert outcome.blocked == "cannot read the hold calendar: memory: unreachable"
    assert world.booked() == []


def test_a_failed_booking_is_reported_and_leaves_no_pending_row(world):
    planned = world.run(dry_run=True).plan
    assert planned is not None
    bob = planned.create[0]
    world.sink.add_event(bob.event_id, bob.start, bob.end, "an event of the user's with that id")
    outcome = world.run()
    assert outcome.failed and len(outcome.errors) == 1
    assert outcome.errors[0].startswith("could not book a hold for Bob Stone: memory: event id")
    assert world.booked() == [("ada-lovelace", WEDNESDAY)]
    assert holds_store.stored_holds(world.store, states=(PENDING,)) == []
    summary = outcome.summary(UTC).splitlines()
    assert summary[0].startswith("booked 1 hold(s)")  # what the calendar took, not what was planned
    assert not any("Bob Stone" in line for line in summary if line.startswith("  +"))


def test_own_holds_synced_back_from_a_calendar_file_are_not_busy_time() -> None:
    """ICS and CalDAV rows are keyed `UID#start`; a hold read back is still syncd's own hold."""
    from syncd.lifecycle import busy_from_meetings
    from syncd.records import Meeting

    start = datetime(2026, 12, 8, 8, 30, tzinfo=UTC)
    hold = Meeting("0123456789abcdefghijklmnop#20261208T083000Z", start, start + timedelta(minutes=30))
    other = Meeting("dentist#20261208T100000Z", start + timedelta(hours=1), start + timedelta(hours=2))
    busy, blocked = busy_from_meetings([hold, other], {"0123456789abcdefghijklmnop"}, frozenset(), UTC)
    assert [(interval.start, interval.end) for interval in busy] == [(other.start, other.end)]
    assert blocked == set()
