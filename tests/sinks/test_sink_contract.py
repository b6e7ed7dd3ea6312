"""Every hold sink against the one contract: in memory, an ICS file, the fake Google server."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from icalendar import Calendar, Component, Event

from syncd.google.client import GoogleSession
from syncd.google.retry import RetryPolicy
from syncd.sinks.google import GoogleHoldSink
from syncd.sinks.ics import IcsHoldSink
from syncd.sinks.memory import MemoryHoldSink
from tests.fakegoogle import FakeGoogle
from tests.sinks.contract import NOW, SinkContract


class MemoryWorld:
    """The in-memory sink is its own backing data: the user's edits are its methods."""

    def __init__(self, keeps_deleted: bool):
        self.sink = MemoryHoldSink(keeps_deleted=keeps_deleted)
        self.keeps_deleted = keeps_deleted

    def add_event(self, event_id: str, start: datetime, end: datetime) -> None:
        self.sink.add_event(event_id, start, end, "Dentist")

    def move(self, event_id: str, start: datetime, end: datetime) -> None:
        self.sink.move(event_id, start, end)

    def delete(self, event_id: str) -> None:
        self.sink.delete(event_id)

    def has_event(self, event_id: str) -> bool:
        return self.sink.has_event(event_id)

    def description(self, event_id: str) -> str:
        return self.sink.description(event_id)


class IcsWorld:
    """The user edits the holds file with a calendar library, as their app would."""

    keeps_deleted = False

    def __init__(self, path: Path):
        self.path = path
        self.sink = IcsHoldSink(path, tz=NOW.tzinfo, clock=lambda: NOW)

    def _edit(self, change) -> None:
        calendar = Calendar.from_ical(self.path.read_bytes()) if self.path.exists() else Calendar()
        change(calendar)
        self.path.write_bytes(calendar.to_ical())

    def _event(self, event_id: str) -> Component | None:
        if not self.path.exists():
            return None
        return next(
            (e for e in Calendar.from_ical(self.path.read_bytes()).walk("VEVENT") if str(e["UID"]) == event_id), None
        )

    def add_event(self, event_id: str, start: datetime, end: datetime) -> None:
        event = Event()
        event.add("UID", event_id)
        event.add("DTSTAMP", NOW)
        event.add("DTSTART", start)
        event.add("DTEND", end)
        event.add("SUMMARY", "Dentist")
        self._edit(lambda calendar: calendar.add_component(event))

    def move(self, event_id: str, start: datetime, end: datetime) -> None:
        def change(calendar: Calendar) -> None:
            for event in calendar.walk("VEVENT"):
                if str(event["UID"]) == event_id:
                    for prop, value in (("DTSTART", start), ("DTEND", end)):
                        del event[prop]
                        event.add(prop, value)

        self._edit(change)

    def delete(self, event_id: str) -> None:
        def change(calendar: Calendar) -> None:
            calendar.subcomponents[:] = [c for c in calendar.subcomponents if str(c.get("UID", "")) != event_id]

        self._edit(change)

    def has_event(self, event_id: str) -> bool:
        return self._event(event_id) is not None

    def description(self, event_id: str) -> str:
        event = self._event(event_id)
        assert event is not None
        return str(event.get("DESCRIPTION", ""))


class GoogleWorld:
    """The user edits their calendar in Google: the fake server's own hooks."""

    keeps_deleted = True

    def __init__(self, fake: FakeGoogle):
        self.fake = fake
        session = GoogleSession(fake.credentials(), fake.root, retry=RetryPolicy(attempts=3, sleep=lambda _: None))
        self.sink = GoogleHoldSink("primary", session, tz=NOW.tzinfo, clock=lambda: NOW)

    def add_event(self, event_id: str, start: datetime, end: datetime) -> None:
        self.fake.calendar_add_event(
            {"id": event_id, "summary": "Dentist", **self._times(start, end)},
        )

    def move(self, event_id: str, start: datetime, end: datetime) -> None:
        self.fake.calendar_update_event(event_id, self._times(start, end))

    def delete(self, event_id: str) -> None:
        self.fake.calendar_delete_event(event_id)

    def has_event(self, event_id: str) -> bool:
        return any(e["id"] == event_id for e in self.fake.calendar_events(include_cancelled=False))

    def description(self, event_id: str) -> str:
        return str(self.fake.calendar_get_event(event_id).get("description", ""))

    @staticmethod
    def _times(start: datetime, end: datetime) -> dict:
        return {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": end.isoformat()}}


class TestMemorySink(SinkContract):
    @pytest.fixture
    def world(self):
        return MemoryWorld(keeps_deleted=False)


class TestMemorySinkKeepingDeleted(SinkContract):
    @pytest.fixture
    def world(self):
        return MemoryWorld(keeps_deleted=True)


class TestIcsSink(SinkContract):
    @pytest.fixture
    def world(self, tmp_path):
        return IcsWorld(tmp_path / "holds" / "holds.ics")


class TestGoogleSink(SinkContract):
    @pytest.fixture
    def world(self):
        with FakeGoogle() as fake:
            yield GoogleWorld(fake)
