"""One suite every hold sink must pass (the pattern of vdirsyncer's StorageTests).

A subclass provides a `world` fixture: the sink under test plus the edits a person makes
in their calendar app to the sink's backing data (a file, a fake Google account, memory):
add an event of their own, move or delete a hold, and read an event back. The tests use
only the sink's interface and those edits, so every sink is held to the same promises:
idempotent create, only syncd's holds listed and removed, the user's moves and deletions
seen, holds are busy time, titles and descriptions kept as written.
"""

from __future__ import annotations

from datetime import datetime, timedelta, UTC
from typing import Protocol

import pytest

from syncd.planner import NewHold, hold_event_id
from syncd.sinks.base import HoldGone, HoldSink, SinkHold

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # a Tuesday morning, after NOW
CYCLE = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
USER_EVENT = "mine0000dentist"  # valid as a Google event id and as an ICS UID


class SinkWorld(Protocol):
    sink: HoldSink
    keeps_deleted: bool  # re-creating a deleted hold's id raises HoldGone (Google keeps deleted events)

    def add_event(self, event_id: str, start: datetime, end: datetime) -> None: ...
    def move(self, event_id: str, start: datetime, end: datetime) -> None: ...
    def delete(self, event_id: str) -> None: ...
    def has_event(self, event_id: str) -> bool: ...
    def description(self, event_id: str) -> str: ...


def new_hold(contact: str = "ada-lovelace", start: datetime = T0, minutes: int = 30) -> NewHold:
    return NewHold(
        contact,
        contact.replace("-", " ").title(),
        hold_event_id(contact, CYCLE),
        start,
        start + timedelta(minutes=minutes),
        CYCLE,
        "overdue",
    )


class SinkContract:
    """Subclasses define the `world` fixture (with its clock at NOW); everything else is shared."""

    def test_is_a_hold_sink_with_a_name(self, world: SinkWorld):
        assert isinstance(world.sink, HoldSink) and world.sink.name

    def test_create_then_list(self, world: SinkWorld):
        hold = new_hold()
        written = world.sink.create(hold, "Coffee with Ada Lovelace", "Time to reach out.")
        expected = SinkHold(hold.event_id, "ada-lovelace", hold.start, hold.end, "Coffee with Ada Lovelace")
        assert written == expected
        assert world.sink.list_holds() == [expected]

    def test_create_twice_gives_one_event(self, world: SinkWorld):
        first = world.sink.create(new_hold(), "Coffee", "")
        again = world.sink.create(new_hold(), "Coffee", "")
        assert again == first
        assert world.sink.list_holds() == [first]

    def test_list_holds_returns_only_syncds_holds(self, world: SinkWorld):
        ada, bob = new_hold("ada-lovelace"), new_hold("bob-stone", T0 + timedelta(days=1))
        world.sink.create(ada, "Coffee", "")
        world.sink.create(bob, "Coffee", "")
        world.add_event(USER_EVENT, T0 + timedelta(hours=3), T0 + timedelta(hours=4))
        listed = world.sink.list_holds()
        assert [(h.event_id, h.contact_id) for h in listed] == [
            (ada.event_id, "ada-lovelace"),
            (bob.event_id, "bob-stone"),
        ]

    def test_remove_removes_only_marked_events_and_is_idempotent(self, world: SinkWorld):
        hold = new_hold()
        world.sink.create(hold, "Coffee", "")
        world.add_event(USER_EVENT, T0 + timedelta(hours=2), T0 + timedelta(hours=3))
        world.sink.remove(hold.event_id)
        world.sink.remove(USER_EVENT)  # not syncd's: left alone
        world.sink.remove("neverexisted0001")  # absent: nothing to do
        world.sink.remove(hold.event_id)  # already removed: nothing to do
        assert world.sink.list_holds() == []
        assert world.has_event(USER_EVENT) and not world.has_event(hold.event_id)

    def test_a_moved_hold_is_listed_at_its_new_time(self, world: SinkWorld):
        hold = new_hold()
        world.sink.create(hold, "Coffee", "")
        start, end = T0 + timedelta(days=2, hours=5), T0 + timedelta(days=2, hours=5, minutes=45)
        world.move(hold.event_id, start, end)
        (listed,) = world.sink.list_holds()
        assert (listed.event_id, listed.start, listed.end, listed.declined) == (hold.event_id, start, end, False)
        # creating it again (a retried run) keeps the user's time
        again = world.sink.create(hold, "Coffee", "")
        assert (again.start, again.end) == (start, end)
        assert len(world.sink.list_holds()) == 1

    def test_a_deleted_hold_is_absent_and_never_resurrected_where_deletions_are_kept(self, world: SinkWorld):
        hold = new_hold()
        world.sink.create(hold, "Coffee", "")
        world.delete(hold.event_id)
        assert world.sink.list_holds() == []
        if world.keeps_deleted:
            with pytest.raises(HoldGone) as caught:
                world.sink.create(hold, "Coffee", "")
            assert "\n" not in str(caught.value)
            assert world.sink.list_holds() == []
        else:
            world.sink.create(hold, "Coffee", "")
            assert [h.event_id for h in world.sink.list_holds()] == [hold.event_id]

    def test_busy_includes_holds(self, world: SinkWorld):
        hold = new_hold()
        world.sink.create(hold, "Coffee", "")
        busy = world.sink.busy(NOW, NOW + timedelta(days=14))
        assert any(b.start <= hold.start and hold.end <= b.end for b in busy), busy
        world.sink.remove(hold.event_id)
        busy = world.sink.busy(NOW, NOW + timedelta(days=14))
        assert not any(b.start < hold.end and hold.start < b.end for b in busy), busy

    def test_titles_and_descriptions_round_trip(self, world: SinkWorld):
        hold = new_hold()
        title = "Coffee with Zoë O'Brien, at last; 50% more"
        description = 'Time to reach out to Zoë <zoe@example.com>.\nNotes: likes "tea", not coffee; \\ backslash'
        world.sink.create(hold, title, description)
        (listed,) = world.sink.list_holds()
        assert listed.title == title
        assert world.description(hold.event_id) == description
