"""The in-memory hold sink: holds in a dict, for tests and previews that must not touch a calendar.

It keeps the promises every sink keeps (``tests/sinks/contract.py``), so the lifecycle
can be exercised in-process against it, and offers the edits a person makes in their
calendar app (add an event of their own, move, delete or decline a hold) so that tests
can play the user.  With ``keeps_deleted`` it behaves like Google Calendar, which keeps
deleted events: creating an id that was ever deleted raises :class:`HoldGone`.

It has no ``[holds] sink`` spec on purpose: a configured sink that forgets every hold
when the process ends would only confuse a user.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from syncd.intervals import Interval, merge_intervals
from syncd.planner import NewHold
from syncd.sinks.base import HoldGone, SinkError, SinkHold

__all__ = ["MemoryHoldSink"]


@dataclass(frozen=True)
class _Event:
    hold: SinkHold
    description: str
    marked: bool  # written by syncd (carries the marker)


class MemoryHoldSink:
    """Holds and the user's own events in memory; see the module docstring."""

    def __init__(self, name: str = "memory", *, keeps_deleted: bool = False) -> None:
        self.name = name
        self.keeps_deleted = keeps_deleted
        #: When set, every call raises SinkError with this message (an unreachable calendar).
        self.failure: str | None = None
        self._events: dict[str, _Event] = {}
        self._deleted: set[str] = set()

    # ------------------------------------------------------------------ the sink

    def list_holds(self) -> list[SinkHold]:
        self._check()
        holds = [event.hold for event in self._events.values() if event.marked]
        return sorted(holds, key=lambda hold: (hold.start, hold.event_id))

    def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """Every event overlapping [start, end), the holds included, except declined ones."""
        self._check()
        return merge_intervals(
            Interval(event.hold.start, event.hold.end)
            for event in self._events.values()
            if not event.hold.declined and event.hold.start < end and start < event.hold.end
        )

    def create(self, hold: NewHold, title: str, description: str) -> SinkHold:
        """Idempotent: an id already here is returned as it is now (perhaps moved by the user)."""
        self._check()
        existing = self._events.get(hold.event_id)
        if existing is not None:
            if not existing.marked:
                raise SinkError(f"{self.name}: event id {hold.event_id} belongs to an event syncd did not write")
            return existing.hold
        if self.keeps_deleted and hold.event_id in self._deleted:
            raise HoldGone(f"{self.name}: hold {hold.event_id} was deleted")
        written = SinkHold(hold.event_id, hold.contact_id, hold.start, hold.end, title)
        self._events[hold.event_id] = _Event(written, description, marked=True)
        return written

    def remove(self, event_id: str) -> None:
        """Remove one of syncd's holds; the user's own events and absent ids are left alone."""
        self._check()
        event = self._events.get(event_id)
        if event is not None and event.marked:
            self._forget(event_id)

    # ------------------------------------------------------------------ what the user does

    def add_event(self, event_id: str, start: datetime, end: datetime, title: str = "") -> None:
        """An event of the user's own (no marker): busy time, never listed or removed by syncd."""
        self._events[event_id] = _Event(SinkHold(event_id, "", start, end, title), "", marked=False)

    def move(self, event_id: str, start: datetime, end: datetime) -> None:
        event = self._events[event_id]
        self._events[event_id] = replace(event, hold=replace(event.hold, start=start, end=end))

    def decline(self, event_id: str) -> None:
        event = self._events[event_id]
        self._events[event_id] = replace(event, hold=replace(event.hold, declined=True))

    def delete(self, event_id: str) -> None:
        self._forget(event_id)

    def has_event(self, event_id: str) -> bool:
        return event_id in self._events

    def description(self, event_id: str) -> str:
        return self._events[event_id].description

    # ------------------------------------------------------------------ internals

    def _forget(self, event_id: str) -> None:
        del self._events[event_id]
        self._deleted.add(event_id)

    def _check(self) -> None:
        if self.failure is not None:
            raise SinkError(f"{self.name}: {self.failure}")
